// `bench --runtime chromium` on a user backend whose launch() throws: the error read
// "backend naive-launch-throws: launch() threw: ..." with the page's bundle as the place,
// and no word of the module, where the Deno runtime's names it ("(module x.ts)", as
// docs/backends.md promises). The page now registers the module under the name the user gave.
import assert from "node:assert/strict";
import { browserTestName, chromiumMissing, runHarness } from "./browser_helpers.ts";
import { BENCH_TINY_ABSORBED_ONCE } from "./helpers_cli.ts";

const ignore = chromiumMissing() !== null || Deno.build.os !== "linux";

Deno.test({
  name: browserTestName("bench --runtime chromium: a launch() that throws names its module"),
  ignore,
  fn: async () => {
    const r = await runHarness([
      ...BENCH_TINY_ABSORBED_ONCE,
      "--runtime",
      "chromium",
      "--backend-module",
      "tests/fixtures/backends/launch_throws.ts",
      "--backend",
      "naive-launch-throws",
    ]);
    assert.equal(r.code, 1, r.stderr);
    const report = JSON.parse(r.stdout);
    const [rec] = report.records;
    assert.equal(rec.status, "error");
    assert.match(
      rec.reason,
      /^backend naive-launch-throws \(module tests\/fixtures\/backends\/launch_throws\.ts\): launch\(\) threw: launch_throws: no such buffer kvcache/,
    );
  },
});
