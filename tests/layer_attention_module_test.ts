/**
 * A layer holding several attention modules (LongCat-Flash: `self_attn.0.*` and
 * `self_attn.1.*`) is read one module at a time with `--attention-module N`: the module's
 * own tensors, not the other's; without it, or with a module that is not there, exit 2
 * naming the modules; with it on a layer of one module, or without --weights, exit 2.
 */
import assert from "node:assert/strict";
import { ConfigError } from "../adapter/errors.ts";
import { presetSpec } from "../adapter/presets.ts";
import { currentBackend } from "../drift/device_key.ts";
import { makeLayerWeights } from "../reference/inputs.ts";
import { attentionPrefix, expectedTensors, loadLayerWeights } from "../weights/hf_names.ts";
import { encodeSafetensors, SafetensorsFile, type TensorToWrite } from "../weights/safetensors.ts";
import { ignoreReason, nameWithReason } from "./gpu_helpers.ts";
import { runCli } from "./helpers_cli.ts";

const F = new URL("./fixtures/safetensors/", import.meta.url).pathname;
const VK = { DENO_WEBGPU_BACKEND: currentBackend() };

/** Layer 2's tensors of `spec`, one module per seed (`self_attn.<i>.*`), or bare ones. */
function layerTensors(
  spec: ReturnType<typeof presetSpec>,
  seeds: readonly number[],
  numbered = true,
): Record<string, TensorToWrite> {
  const tensors: Record<string, TensorToWrite> = {};
  seeds.forEach((seed, i) => {
    const w = makeLayerWeights(spec, { seed });
    const prefix = `model.layers.2.self_attn.${numbered ? `${i}.` : ""}`;
    for (const t of expectedTensors(spec)) {
      tensors[prefix + t.suffix] = { dtype: "F32", shape: t.shape, data: w[t.field]! };
    }
  });
  return tensors;
}

Deno.test("attentionPrefix: one module of several is picked by index, never guessed", () => {
  const names = Object.keys(layerTensors(presetSpec("tiny"), [6, 7]));
  assert.equal(attentionPrefix(names, { attentionModule: 0 }), "model.layers.2.self_attn.0.");
  assert.equal(
    attentionPrefix(names, { attentionModule: 1, layer: 2 }),
    "model.layers.2.self_attn.1.",
  );
  const refused = (opts: { attentionModule?: number }, re: RegExp[]) =>
    assert.throws(
      () => attentionPrefix(names, { ...opts, source: "lc.safetensors" }),
      (e: unknown) => e instanceof ConfigError && re.every((r) => r.test(e.message)),
    );
  refused({}, [
    /^lc\.safetensors: ambiguous layer\n/,
    /--attention-module: \(missing\) is needed: the layer holds 2 attention modules/,
    /model\.layers\.2\.self_attn\.0\.\*, model\.layers\.2\.self_attn\.1\.\*/,
    /give --attention-module 0/,
  ]);
  refused({ attentionModule: 2 }, [
    /no such attention module/,
    /--attention-module: 2 is not in the layer.*expected one of 0, 1/,
  ]);
  // A layer of one module: the option would be ignored, so it is refused.
  const one = Object.keys(layerTensors(presetSpec("tiny"), [6], false));
  assert.equal(attentionPrefix(one, {}), "model.layers.2.self_attn.");
  assert.throws(
    () => attentionPrefix(one, { attentionModule: 0, source: "one" }),
    (e: unknown) =>
      e instanceof ConfigError &&
      /--attention-module: 0 picks one of several.*model\.layers\.2\.self_attn\.\* is one module.*drop --attention-module/
        .test(e.message),
  );
});

Deno.test("loadLayerWeights: --attention-module 1 reads module 1's tensors, not module 0's", async () => {
  const spec = presetSpec("tiny-yarn"); // low-rank q: every tensor kind
  const file = await SafetensorsFile.fromBytes(
    encodeSafetensors(layerTensors(spec, [6, 7])),
    { source: "lc" },
  );
  const w0 = makeLayerWeights(spec, { seed: 6 });
  const w1 = makeLayerWeights(spec, { seed: 7 });
  for (const [module, want, other] of [[0, w0, w1], [1, w1, w0]] as const) {
    const got = await loadLayerWeights(file, spec, { attentionModule: module });
    for (const t of expectedTensors(spec)) {
      assert.deepEqual(got[t.field], Float32Array.from(want[t.field]!), `${module} ${t.suffix}`);
      assert.notDeepEqual(got[t.field], Float32Array.from(other[t.field]!), t.suffix);
    }
  }
});

const gpuReason = ignoreReason({});
Deno.test({
  name: nameWithReason(
    "layer --attention-module: runs the picked module as a one-module file runs it; refusals exit 2",
    gpuReason,
  ),
  ignore: gpuReason !== null,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "mla-layer-module-" });
    try {
      const spec = presetSpec("tiny");
      const two = `${dir}/two.safetensors`;
      const one = `${dir}/one.safetensors`;
      await Deno.writeFile(two, encodeSafetensors(layerTensors(spec, [6, 7])));
      // module 1's weights alone, as a layer of one module
      await Deno.writeFile(one, encodeSafetensors(layerTensors(spec, [7], false)));
      const layer = (weights: string, out: string, ...more: string[]) =>
        runCli([
          "layer",
          "--config",
          "tiny",
          "--weights",
          weights,
          "--input",
          `${F}tiny_input_bshd.safetensors`,
          "--out",
          `${dir}/${out}`,
          ...more,
        ], VK);
      const picked = await layer(two, "picked.safetensors", "--attention-module", "1");
      assert.equal(picked.code, 0, picked.stdout + picked.stderr);
      assert.match(
        picked.stdout,
        /weights .*two\.safetensors \(model\.layers\.2\.self_attn\.1\.\)/,
      );
      assert.match(picked.stdout, /parity vs float64 reference \(10 of 10 rows\): PASS/);
      const alone = await layer(one, "alone.safetensors");
      assert.equal(alone.code, 0, alone.stdout + alone.stderr);
      // the same weights through the same kernels: the same tensors, bit for bit (the files'
      // metadata name their weights files, which differ)
      const tensors = async (name: string) => {
        const f = await SafetensorsFile.open(`${dir}/${name}`);
        try {
          return [await f.readBytes("output"), await f.readBytes("lse")];
        } finally {
          f.close();
        }
      };
      assert.deepEqual(await tensors("picked.safetensors"), await tensors("alone.safetensors"));

      const unpicked = await layer(two, "x.safetensors");
      assert.equal(unpicked.code, 2, unpicked.stdout + unpicked.stderr);
      assert.match(unpicked.stderr, /two\.safetensors: ambiguous layer/);
      assert.match(unpicked.stderr, /give --attention-module 0/);
      assert.doesNotMatch(unpicked.stderr, /internal error|at .*\.ts:\d+/);
      const noWeights = await runCli([
        "layer",
        "--config",
        "tiny",
        "--input",
        `${F}tiny_input_bshd.safetensors`,
        "--out",
        `${dir}/x.safetensors`,
        "--attention-module",
        "1",
      ], VK);
      assert.equal(noWeights.code, 2, noWeights.stdout + noWeights.stderr);
      assert.match(
        noWeights.stderr,
        /--attention-module 1 picks an attention module of the --weights file, and there is none/,
      );
      const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
      assert.deepEqual(names, [
        "alone.safetensors",
        "one.safetensors",
        "picked.safetensors",
        "two.safetensors",
      ]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
