// The runtime label ("deno (Deno Y)", "chromium ... (harness on Deno Y)") has one home,
// report/runtime_label.ts: report.html, the drift reports (HTML and Markdown) and the benchmark
// report all take it from there, so their wording cannot drift apart.
import assert from "node:assert/strict";
import { runtimeLabel } from "../report/runtime_label.ts";

const ROOT = new URL("../", import.meta.url);

Deno.test("runtimeLabel: Deno alone, a browser by name and version or as one label, inline", () => {
  const browser = { name: "chromium", version: "HeadlessChrome/156.0.8078.114" };
  assert.equal(runtimeLabel({ deno: "2.9.6" }), "deno (Deno 2.9.6)");
  assert.equal(runtimeLabel({ deno: "2.9.6", v8: "14.1" }), "deno (Deno 2.9.6, V8 14.1)");
  assert.equal(
    runtimeLabel({ deno: "2.9.6", v8: "14.1", browser }),
    "chromium (HeadlessChrome/156.0.8078.114; harness on Deno 2.9.6)",
  );
  assert.equal(
    runtimeLabel({ deno: "2.9.6", browser: "chromium HeadlessChrome/156.0.8078.114" }),
    "chromium HeadlessChrome/156.0.8078.114 (harness on Deno 2.9.6)",
  );
  assert.equal(runtimeLabel({ deno: "2.9.6", v8: "14.1" }, { inline: true }), "Deno 2.9.6");
  assert.equal(
    runtimeLabel({ deno: "2.9.6", browser: "chromium X" }, { inline: true }),
    "chromium X, harness on Deno 2.9.6",
  );
  assert.equal(
    runtimeLabel({ deno: "2.9.6", browser }, { inline: true }),
    "chromium HeadlessChrome/156.0.8078.114, harness on Deno 2.9.6",
  );
  // an empty label is no browser (the reports tested its truthiness)
  assert.equal(runtimeLabel({ deno: "2.9.6", browser: "" }), "deno (Deno 2.9.6)");
  assert.equal(runtimeLabel({ deno: "2.9.6", browser: "" }, { inline: true }), "Deno 2.9.6");
});

/** Every .ts file under `dir` (relative to the repository), tests/ and build outputs left out. */
async function sources(dir: URL, rel = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const path = rel + e.name;
    if (e.isDirectory) {
      if (e.name.startsWith(".") || ["node_modules", "out", "tests"].includes(path)) continue;
      out.push(...await sources(new URL(`${e.name}/`, dir), `${path}/`));
    } else if (e.isFile && e.name.endsWith(".ts")) out.push(path);
  }
  return out;
}

Deno.test("runtime label: no code but report/runtime_label.ts spells 'harness on Deno'", async () => {
  const spelled: string[] = [];
  for (const path of await sources(ROOT)) {
    const text = await Deno.readTextFile(new URL(path, ROOT));
    if (text.includes("harness on Deno") || text.includes("harness on `")) spelled.push(path);
  }
  assert.deepEqual(spelled, ["report/runtime_label.ts"]);
  // and each report that names the runtime takes it from there
  const users = ["report/html/run_html.ts", "drift/drift_html.ts", "drift/render.ts"];
  for (const path of [...users, "bench/bench_html.ts"]) {
    const text = await Deno.readTextFile(new URL(path, ROOT));
    assert.match(text, /runtimeLabel\(/, path);
  }
});
