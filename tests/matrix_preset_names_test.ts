// A preset name that no preset has (a typo, a model the harness does not know) is refused
// when the matrix loads (exit 2 naming the entry and the nearest preset), as a config path
// naming no file is: before, each of its cases ran and was "config rejected" (exit 1, read
// as a regression), and a run's results were written for a matrix that could never pass.
import assert from "node:assert/strict";
import { ConfigError } from "../adapter/errors.ts";
import { loadMatrix } from "../matrix/expand.ts";
import { unknownPresets } from "../matrix/preset_names.ts";
import { runCli } from "./helpers_cli.ts";

Deno.test("unknownPresets: names each value that is neither a preset nor a config path", () => {
  const issues = unknownPresets({
    name: "m",
    groups: [
      { axes: { preset: ["tiny", "deepseek-v2-lit"] } },
      { axes: { preset: "configs/cfg" } },
      { axes: {} },
      { axes: { preset: "kimi_k2" } },
    ],
  });
  assert.deepEqual(issues.map((i) => [i.path, i.value]), [
    ["groups[0].axes.preset[1]", "deepseek-v2-lit"],
    ["groups[3].axes.preset[0]", "kimi_k2"],
  ]);
  assert.match(issues[0].message, /did you mean "deepseek-v2-lite"\?/);
  assert.match(issues[1].message, /did you mean "kimi-k2"\?/);
});

Deno.test("CLI: run with an unknown preset name is exit 2 on load, nothing written", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla_preset_names_" });
  try {
    const matrix = `${dir}/m.json`;
    await Deno.writeTextFile(
      matrix,
      JSON.stringify({ name: "m", groups: [{ axes: { preset: ["tiny", "deepseek-v4"] } }] }),
    );
    await assert.rejects(
      () => loadMatrix(matrix),
      (e: unknown) => e instanceof ConfigError && /unknown preset/.test(e.message),
    );
    const r = await runCli(["run", "--matrix", matrix, "--out", `${dir}/out`]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /groups\[0\]\.axes\.preset\[1\]: "deepseek-v4" is neither a preset/);
    assert.equal(await Deno.stat(`${dir}/out`).then(() => true, () => false), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
