/**
 * An option that several commands share is described alike where it means the same:
 * compare-runtimes' --chromium said "then Debian's" where the others name the file
 * (/usr/bin/chromium-headless-shell), and its --config-root left out the default that run's
 * names.
 */
import assert from "node:assert/strict";
import { buildProgram } from "../cli/program.ts";
import { COMPARE_FILES } from "../drift/after_run.ts";

const program = buildProgram({
  probeCaps: () => Promise.resolve(null),
  probeCapsStrict: () => Promise.reject(new Error("no device in this test")),
});

/** The description of `flag` in every command (and subcommand) that has it. */
function descriptions(flag: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (cmd: typeof program, path: string) => {
    for (const o of cmd.options) if (o.long === flag) out.set(path, o.description);
    for (const sub of cmd.commands) walk(sub as typeof program, `${path} ${sub.name()}`.trim());
  };
  walk(program, "");
  return out;
}

Deno.test("--chromium and --config-root read alike in every command that has them", () => {
  const chromium = descriptions("--chromium");
  assert.ok(chromium.size >= 6, [...chromium.keys()].join(", "));
  for (const [cmd, d] of chromium) {
    assert.match(d, /default: \$CHROME_PATH, then \/usr\/bin\/chromium-headless-shell\)/, cmd);
  }
  const root = descriptions("--config-root");
  assert.deepEqual([...root.keys()].sort(), [
    "baseline update",
    "compare-runtimes",
    "explain",
    "run",
    "upgrade-check",
  ]);
  assert.equal(root.get("compare-runtimes"), root.get("run"));
  assert.equal(root.get("upgrade-check"), root.get("run"));
  assert.equal(root.get("baseline update"), root.get("run"));
  assert.equal(root.get("explain"), `with --case: the run's --config-root, the ${root.get("run")}`);
});

Deno.test("bench --reps states its default once", () => {
  const bench = program.commands.find((c) => c.name() === "bench")!;
  const reps = bench.helpInformation().split(/\n(?= {2}-)/).find((l) => l.includes("--reps <n>"))!;
  assert.equal(reps.match(/default/g)?.length, 1, reps);
  assert.match(reps.replace(/\s+/g, " "), /fewer than 7 the medians .* \(default: "7"\)/);
});

Deno.test("run --baseline names every compare file it writes", () => {
  const run = program.commands.find((c) => c.name() === "run")!;
  const help = run.options.find((o) => o.long === "--baseline")!.description;
  // it said compare.md and compare.json after compare.html was added beside them
  for (const file of Object.values(COMPARE_FILES)) {
    assert.ok(help.includes(file), `${file}: ${help}`);
  }
});

Deno.test("the program's exit 3 names every command whose own help makes an unsupported case 3", () => {
  // the root said "for explain" while layer's own help (and LayerUnsupportedError) is 3 too
  const unsupported3 = program.commands.filter((c) =>
    /\b3\b[^.;]*unsupported/.test(c.description())
  )
    .map((c) => c.name());
  assert.deepEqual(unsupported3.sort(), ["explain", "layer"]);
  const clause = /and, for ([^,]+), an unsupported case/.exec(program.description())?.[1] ?? "";
  for (const name of unsupported3) assert.match(clause, new RegExp(`\\b${name}\\b`), clause);
});

Deno.test("--backend-module reads alike in every command that loads modules, and names the barrier check", () => {
  const help = descriptions("--backend-module");
  // every command that takes a user backend (compare-runtimes refused one, and baseline update
  // lacked it, until session 56)
  assert.deepEqual(
    [...help.keys()].sort(),
    ["baseline update", "bench", "compare-runtimes", "explain", "layer", "run", "upgrade-check"],
  );
  // alike but for what may be given: compare-runtimes takes a local file only (the page gets
  // it bundled), and said it took a URL
  const given = /^load a backend module \(([^)]*)\)/;
  assert.match(given.exec(help.get("compare-runtimes") ?? "")?.[1] ?? "", /a URL is exit 2/);
  assert.match(given.exec(help.get("run") ?? "")?.[1] ?? "", /or a URL under/);
  const texts = new Set([...help.values()].map((t) => t.replace(given, "")));
  assert.equal(texts.size, 1, [...texts].join("\n"));
  const [text] = texts;
  assert.match(text, /static barrier check: each finding a warning, not a failure/);
  assert.match(text, /docs\/backends\.md/);
});

Deno.test("devices and compile name their stop-signal exit codes, 130 and 143, in their help (they did not)", () => {
  for (const name of ["devices", "compile"]) {
    const cmd = program.commands.find((c) => c.name() === name)!;
    assert.match(
      cmd.description(),
      /130 when interrupted by Ctrl-C \(SIGINT\), 143 by SIGTERM/,
      name,
    );
  }
});

Deno.test("every required option says (required) in its command's help (merge --out, layer --input)", () => {
  const required: string[] = [];
  const walk = (cmd: typeof program, path: string) => {
    for (const o of cmd.options) {
      if (!o.mandatory) continue;
      required.push(`${path} ${o.long}`);
      // the help listed them as any other option: only leaving one out said so
      assert.ok(o.description.endsWith("(required)"), `${path} ${o.long}: ${o.description}`);
    }
    for (const sub of cmd.commands) walk(sub as typeof program, `${path} ${sub.name()}`.trim());
  };
  walk(program, "");
  for (const want of ["merge --out", "layer --config", "layer --input", "layer --out"]) {
    assert.ok(required.includes(want), required.join(", "));
  }
  const merge = program.commands.find((c) => c.name() === "merge")!;
  assert.match(merge.helpInformation(), /--out <dir> +merged output directory \(required\)/);
});

Deno.test("devices --help names every key its --json writes besides the caps", () => {
  const devices = program.commands.find((c) => c.name() === "devices")!;
  const help = devices.description().replace(/\s+/g, " ");
  // it named backend, classified and deviceKey; --runtime chromium writes runtime instead of
  // backend, and --measure adds ceilings and saturation
  for (const key of ["backend", "runtime", "classified", "deviceKey", "ceilings", "saturation"]) {
    assert.match(help, new RegExp(`[(:,] ?${key}[),;]`), key);
  }
});
