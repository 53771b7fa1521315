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

// A name near no preset (a model the harness has no preset of) was told 'did you mean' the
// nearest of all ("llama-3": "kimi-k2", "qwen2": "tiny"); it is now given the list and how
// another model is named (the path of its config.json), with no suggestion.
Deno.test("unknownPresets: a name near no preset gets the list, no suggestion", () => {
  const issues = unknownPresets({
    name: "m",
    groups: [{ axes: { preset: ["llama-3", "qwen2", "kimi_k2"] } }],
  });
  for (const i of issues.slice(0, 2)) {
    assert.doesNotMatch(i.message, /did you mean/);
    assert.match(
      i.message,
      /presets: deepseek-v2-lite, .*; another model is given as the path of its config\.json/,
    );
  }
  assert.match(issues[2].message, /did you mean "kimi-k2"\? presets: /);
});
