/**
 * layerFromFiles (the `layer` command as a library call) refuses options that would be
 * ignored, as the command refuses its flags: `seed` with `weights` (the file's weights replace
 * the seeded ones), `checkRows` with `check: false` (no check to bound), and a `checkRows`
 * below 1. Before, a library caller's seed and checkRows there were silently dropped.
 * Every refusal comes before anything is read (the input file does not exist here).
 */
import assert from "node:assert/strict";
import { LayerInputError } from "../weights/errors.ts";
import { layerFromFiles } from "../runner/layer_files.ts";

Deno.test("layerFromFiles: seed with weights, checkRows without a check, checkRows 0", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla-layer-options-" });
  try {
    const base = { config: "tiny", input: `${dir}/x.safetensors`, out: `${dir}/y.safetensors` };
    const cases: [Parameters<typeof layerFromFiles>[0], RegExp][] = [
      [{ ...base, weights: `${dir}/w.safetensors`, seed: 5 }, /--seed 5 seeds the random weights/],
      [{ ...base, check: false, checkRows: 8 }, /--check-rows 8 bounds the float64 reference/],
      [{ ...base, checkRows: 0 }, /--check-rows 0 must be a whole number of rows from 1/],
      [{ ...base, checkRows: 2.5 }, /--check-rows 2.5 must be a whole number/],
    ];
    for (const [options, message] of cases) {
      await assert.rejects(layerFromFiles(options), (e: unknown) => {
        assert.ok(e instanceof LayerInputError, String(e));
        assert.match(e.message, message);
        return true;
      });
    }
    // what the defaults mean is not refused: it fails on the missing input instead
    await assert.rejects(
      layerFromFiles({ ...base, check: false }),
      (e: unknown) => !(e instanceof LayerInputError && /check-rows|seed/.test(e.message)),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
