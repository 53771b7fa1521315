// A matrix written in YAML was read as JSON and refused at its first line with the bundled
// matrices' names as the hint, nothing saying that a matrix file is JSON.
import assert from "node:assert/strict";
import { ConfigError } from "../adapter/errors.ts";
import { loadMatrix } from "../matrix/expand.ts";

Deno.test("loadMatrix: a .yaml matrix is told that matrix files are JSON", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla-matrix-yaml-" });
  try {
    await Deno.writeTextFile(`${dir}/m.yaml`, "name: mine\ngroups: []\n");
    await Deno.writeTextFile(`${dir}/m.json`, "name: mine\n");
    await assert.rejects(
      loadMatrix(`${dir}/m.yaml`),
      (e: unknown) =>
        e instanceof ConfigError && /is not valid JSON: .*line 1, column 1/.test(e.message) &&
        /a matrix file is JSON, not YAML: write it as JSON/.test(e.message),
    );
    // a malformed .json is told neither (the bundled names follow only a name that is no
    // file: matrix_load_refusals_test.ts)
    await assert.rejects(
      loadMatrix(`${dir}/m.json`),
      (e: unknown) =>
        e instanceof ConfigError && /is not valid JSON/.test(e.message) &&
        !/bundled matrices/.test(e.message) && !/not YAML/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
