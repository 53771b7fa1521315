/**
 * A weights file holding both a bare `self_attn.*` set and `model.layers.N.self_attn.*`
 * tensors is refused as ambiguous (exit 2, naming both sets and `--layer`), not read
 * silently as the bare set; `--layer N` still reads the prefixed one.
 */
import assert from "node:assert/strict";
import { ConfigError } from "../adapter/errors.ts";
import { presetSpec } from "../adapter/presets.ts";
import { makeLayerWeights } from "../reference/inputs.ts";
import { expectedTensors, layerPrefix } from "../weights/hf_names.ts";
import { encodeSafetensors, type TensorToWrite } from "../weights/safetensors.ts";
import { runCli } from "./helpers_cli.ts";

const F = new URL("./fixtures/safetensors/", import.meta.url).pathname;

Deno.test("layerPrefix: bare self_attn.* and model.layers.N.self_attn.* together is ambiguous", () => {
  const both = ["self_attn.o_proj.weight", "model.layers.0.self_attn.o_proj.weight"];
  assert.throws(
    () => layerPrefix(both, { source: "w.safetensors" }),
    (e: unknown) =>
      e instanceof ConfigError &&
      /^w\.safetensors: ambiguous layer\n/.test(e.message) &&
      /--layer: \(missing\) is needed: the file holds bare self_attn\.\* tensors and model\.layers\.0\.self_attn\.\* tensors; give --layer 0 to read model\.layers\.0\.self_attn\.\*, or a file holding one set/
        .test(e.message),
  );
  // --layer chooses the prefixed set; a file with one set needs no choice
  assert.equal(layerPrefix(both, { layer: 0 }), "model.layers.0.self_attn.");
  assert.equal(layerPrefix(["self_attn.o_proj.weight"], {}), "self_attn.");
  assert.equal(
    layerPrefix(["model.layers.2.self_attn.o_proj.weight"], {}),
    "model.layers.2.self_attn.",
  );
});

Deno.test("layerPrefix: a layer of another kind of attention (Kimi Linear's KDA, a GQA model's) is named, with the MLA layers", () => {
  // --layer 0 of a hybrid file listed MLA's five tensors missing and the KDA layer's own
  // unexpected, which read like a damaged checkpoint
  const kda = ["q_proj", "k_proj", "v_proj", "f_a_proj", "o_proj"]
    .map((t) => `model.layers.0.self_attn.${t}.weight`);
  const mla = [3, 7].flatMap((l) =>
    ["q_a_proj", "kv_a_proj_with_mqa", "kv_b_proj", "o_proj"]
      .map((t) => `model.layers.${l}.self_attn.${t}.weight`)
  );
  const message = (names: string[], options: { layer?: number; index?: boolean }) => {
    try {
      layerPrefix(names, { source: "w", ...options });
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      return e.message;
    }
    return assert.fail("no error");
  };
  assert.equal(
    message([...kda, ...mla], { layer: 0 }),
    "w: not an MLA layer\n  --layer: 0 names a layer whose attention is not MLA: " +
      "model.layers.0.self_attn.* has k_proj, v_proj, f_a_proj and no kv_a_proj_with_mqa or " +
      "kv_b_proj: another kind of attention than MLA (a multi-head or grouped-query model's, or " +
      "a hybrid model's other layers: Kimi Linear's KDA, say); the file holds MLA attention in " +
      "layers 3, 7",
  );
  assert.match(
    message([...kda, ...mla], {}),
    /is needed: the file holds the attention of layers 0, 3, 7; MLA attention in layers 3, 7, another kind \(k_proj, v_proj, \.\.\.: not read\) in layer 0$/,
  );
  assert.match(
    message(kda, { index: true }),
    /\(tensors\): 5 tensors under model\.layers\.0\.self_attn\.\* \(the index's one layer\), with k_proj, v_proj, f_a_proj and no .*; the index's weight_map maps no MLA layer's attention$/,
  );
  // an MLA layer is read; one of MLA's tensors beside a k_proj (a shard's part) is not judged
  assert.equal(layerPrefix([...kda, ...mla], { layer: 3 }), "model.layers.3.self_attn.");
  assert.equal(
    layerPrefix([...kda, "model.layers.0.self_attn.kv_b_proj.weight"], {}),
    "model.layers.0.self_attn.",
  );
});

Deno.test("layerPrefix: a file with no attention tensor says so, not five tensors missing", () => {
  // (the input file given as --weights, an experts-only shard, an index of no layer): each
  // expected tensor was listed as "missing ... found none", which read like a broken file
  const refused = (names: string[], pattern: RegExp) =>
    assert.throws(
      () => layerPrefix(names, { source: "w.safetensors", layer: 0 }),
      (e: unknown) =>
        e instanceof ConfigError && /^w\.safetensors: no attention tensors\n/.test(e.message) &&
        pattern.test(e.message),
    );
  refused(
    ["hidden_states"],
    /\(tensors\): 1 tensor in the file, none an attention tensor \(none named \*layers\.N\.self_attn\.\* or self_attn\.\*\): "hidden_states"; give the file holding the layer's attention/,
  );
  refused([], /0 tensors in the file/);
  refused(
    ["a", "b", "c", "model.layers.0.mlp.experts.0.w1.weight"],
    /4 tensors in the file, .*: "a", "b", "c" and 1 more;/,
  );
  // DeepSeek's inference format (inference/convert.py) is named as such
  refused(
    ["layers.0.attn.wkv_a.weight", "layers.0.attn.wo.weight"],
    /its layers\.N\.attn\.\* names are DeepSeek's inference format \(inference\/convert\.py\): give the Hugging Face checkpoint/,
  );
  // Megatron-Core's MLA names (TE's fused norm included) are named as such, not "give the file
  // holding the layer's attention" (it holds it)
  for (
    const names of [
      ["decoder.layers.0.self_attention.linear_kv_down_proj.weight"],
      ["module.decoder.layers.3.self_attention.linear_kv_up_proj.layer_norm_weight"],
    ]
  ) {
    refused(
      names,
      /its layers\.N\.self_attention\.linear_\* names are Megatron-Core's \(linear_kv_down_proj, linear_kv_up_proj, linear_proj, \.\.\.\): the loader reads Hugging Face names/,
    );
  }
  assert.throws(
    () => layerPrefix(["decoder.layers.0.self_attention.linear_kv_down_proj.weight"], {}),
    (e: unknown) => e instanceof ConfigError && !/holding the layer's attention/.test(e.message),
  );
});

Deno.test("layer --weights with a bare and a layer-prefixed set: exit 2 naming both, no output", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla-layer-ambiguous-" });
  try {
    const spec = presetSpec("tiny");
    const tensors: Record<string, TensorToWrite> = {};
    for (const [prefix, seed] of [["self_attn.", 1], ["model.layers.0.self_attn.", 2]] as const) {
      const w = makeLayerWeights(spec, { seed });
      for (const t of expectedTensors(spec)) {
        tensors[prefix + t.suffix] = { dtype: "F32", shape: t.shape, data: w[t.field]! };
      }
    }
    const weights = `${dir}/both.safetensors`;
    await Deno.writeFile(weights, encodeSafetensors(tensors));
    const r = await runCli([
      "layer",
      "--config",
      "tiny",
      "--weights",
      weights,
      "--input",
      `${F}tiny_input_bshd.safetensors`,
      "--out",
      `${dir}/y.safetensors`,
    ]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.doesNotMatch(r.stderr, /internal error|at .*\.ts:\d+/);
    assert.match(r.stderr, /both\.safetensors: ambiguous layer/);
    assert.match(
      r.stderr,
      /bare self_attn\.\* tensors and model\.layers\.0\.self_attn\.\* tensors; give --layer 0/,
    );
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["both.safetensors"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
