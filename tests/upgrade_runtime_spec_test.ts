// upgrade-check's runtime specs: a Deno version (npx), chromium or chromium:<path> (this
// Deno driving that browser), and what each side runs. The chromium-vs-same-chromium run
// (no drift) is recorded in docs/chromium_runtime.md; it takes ~20 s, so it is not here.
import assert from "node:assert/strict";
import { parseRuntimeSpec, runtimeSpecLabel } from "../drift/runtime_spec.ts";
import { denoVersionSides } from "../drift/upgrade_check.ts";

Deno.test("parseRuntimeSpec: Deno versions, chromium, chromium:<path>; anything else named", () => {
  assert.deepEqual(parseRuntimeSpec("2.9.6", "--from"), { kind: "deno", version: "2.9.6" });
  assert.deepEqual(parseRuntimeSpec("deno@2.9.6-rc.1", "--from"), {
    kind: "deno",
    version: "2.9.6-rc.1",
  });
  assert.deepEqual(parseRuntimeSpec("chromium", "--to"), { kind: "chromium", path: null });
  assert.deepEqual(parseRuntimeSpec("chromium:/opt/c b/chrome", "--to"), {
    kind: "chromium",
    path: "/opt/c b/chrome",
  });
  for (const bad of ["2.9", "deno@", "chromium:", "chrome", "deno@latest", ""]) {
    assert.throws(
      () => parseRuntimeSpec(bad, "--to"),
      /--to: .* is not a Deno version \(2\.9\.6 or deno@2\.9\.6\), chromium, or chromium:<path/,
      bad,
    );
  }
  assert.equal(runtimeSpecLabel({ kind: "chromium", path: "/x/chrome" }), "chromium /x/chrome");
});

Deno.test("upgrade-check sides: deno@X through npx, chromium through this Deno with --runtime", () => {
  const [from, to] = denoVersionSides({
    from: "deno@2.9.5",
    to: "chromium:/opt/chrome/chrome",
    matrix: "smoke",
    filter: "preset=tiny",
    repeats: 3,
    out: "/tmp/up",
    repoRoot: "/repo",
  });
  assert.equal(from.label, "deno 2.9.5");
  assert.equal(from.command, "npx");
  assert.deepEqual(from.args.slice(0, 2), ["--yes", "deno@2.9.5"]);
  assert.ok(!from.args.includes("--runtime"));
  assert.equal(to.label, "chromium /opt/chrome/chrome");
  assert.equal(to.command, Deno.execPath());
  assert.deepEqual(to.args.slice(0, 3), ["task", "harness", "run"]);
  assert.deepEqual(to.args.slice(-4), [
    "--runtime",
    "chromium",
    "--chromium",
    "/opt/chrome/chrome",
  ]);
  assert.equal(to.outDir, "/tmp/up/to");
  assert.ok(to.args.includes("/tmp/up/to"));
});
