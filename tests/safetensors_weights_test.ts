/**
 * HF weight names of an MLA layer: expected shapes per spec, the layer prefix,
 * and the spec check that lists every missing, unexpected and mis-shaped tensor.
 */
import assert from "node:assert/strict";
import { ConfigError } from "../adapter/errors.ts";
import { presetSpec } from "../adapter/presets.ts";
import { makeLayerWeights } from "../reference/inputs.ts";
import {
  checkLayerTensors,
  expectedTensors,
  layerPrefix,
  loadLayerWeights,
} from "../weights/hf_names.ts";
import { encodeSafetensors, SafetensorsFile, type TensorToWrite } from "../weights/safetensors.ts";

const FIXTURES = new URL("./fixtures/safetensors/", import.meta.url).pathname;

Deno.test("expectedTensors: torch Linear shapes [out, in] for both q paths (V2-Lite, V3)", () => {
  const lite = expectedTensors(presetSpec("deepseek-v2-lite"));
  assert.deepEqual(lite.map((t) => [t.suffix, t.shape]), [
    ["q_proj.weight", [3072, 2048]],
    ["kv_a_proj_with_mqa.weight", [576, 2048]],
    ["kv_a_layernorm.weight", [512]],
    ["kv_b_proj.weight", [4096, 512]],
    ["o_proj.weight", [2048, 2048]],
  ]);
  const v3 = expectedTensors(presetSpec("deepseek-v3"));
  assert.deepEqual(v3.slice(0, 3).map((t) => [t.suffix, t.shape]), [
    ["q_a_proj.weight", [1536, 7168]],
    ["q_a_layernorm.weight", [1536]],
    ["q_b_proj.weight", [24576, 1536]],
  ]);
});

Deno.test("layerPrefix: --layer, a bare self_attn. prefix, the only layer, or ambiguity", () => {
  const two = ["model.layers.0.self_attn.o_proj.weight", "model.layers.1.self_attn.o_proj.weight"];
  assert.equal(layerPrefix(two, { layer: 1 }), "model.layers.1.self_attn.");
  assert.equal(layerPrefix(["self_attn.o_proj.weight"], {}), "self_attn.");
  assert.equal(
    layerPrefix(["model.layers.5.self_attn.q_proj.weight", "model.layers.6.mlp.x"], {}),
    "model.layers.5.self_attn.",
  );
  assert.throws(
    () => layerPrefix(two, { source: "w.safetensors" }),
    (e: unknown) =>
      e instanceof ConfigError &&
      /--layer: \(missing\) is needed: the file holds the attention of layers 0, 1/.test(
        e.message,
      ),
  );
});

Deno.test("layerPrefix: an index's layers are the index's, listed in runs (62 numbers were listed one by one)", () => {
  const names = [0, 1, 2, 3, 5, 7, 8, ...Array.from({ length: 52 }, (_, i) => i + 10)]
    .map((l) => `model.layers.${l}.self_attn.o_proj.weight`);
  const message = (options: { layer?: number; index?: boolean }) => {
    try {
      layerPrefix(names, { source: "i.json", ...options });
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      return e.message;
    }
    return assert.fail("no error");
  };
  assert.match(
    message({ index: true }),
    /--layer: \(missing\) is needed: the index's weight_map maps the attention of layers 0-3, 5, 7, 8, 10-61$/,
  );
  assert.match(
    message({ index: true, layer: 70 }),
    /--layer: 70 names a layer whose attention the index's weight_map does not map; it maps the attention of layers 0-3, 5, 7, 8, 10-61 \(model\.layers\.N\.self_attn\.\*\)$/,
  );
  // a single file's are the file's
  assert.match(
    message({ layer: 70 }),
    /the file does not hold; it holds the attention of layers 0-3, 5/,
  );
});

Deno.test("checkLayerTensors: the other q path's tensors name the q_lora_rank they were written for", () => {
  // A missing q_proj beside three unexpected low-rank tensors named no config field
  const p = "model.layers.0.self_attn.";
  const rest: [string, number[]][] = [
    [p + "kv_a_proj_with_mqa.weight", [40, 64]],
    [p + "kv_a_layernorm.weight", [32]],
    [p + "kv_b_proj.weight", [128, 32]],
    [p + "o_proj.weight", [64, 64]],
  ];
  const lowRank = new Map<string, readonly number[]>([
    [p + "q_a_proj.weight", [24, 64]],
    [p + "q_a_layernorm.weight", [24]],
    [p + "q_b_proj.weight", [96, 24]],
    ...rest,
  ]);
  const direct = checkLayerTensors(presetSpec("tiny"), lowRank, p); // q_lora_rank null
  assert.equal(
    direct.find((i) => i.path === p + "q_proj.weight")?.message,
    "missing: expected shape [96, 64], found none (the file holds q_a_proj.weight, " +
      "q_a_layernorm.weight, q_b_proj.weight: the low-rank q path, of a config whose " +
      "q_lora_rank is 24, and the config's q_lora_rank is null: a config of another model?)",
  );
  const qProj = new Map<string, readonly number[]>([[p + "q_proj.weight", [96, 64]], ...rest]);
  const low = checkLayerTensors(presetSpec("tiny-yarn"), qProj, p); // q_lora_rank 24
  assert.equal(
    low.find((i) => i.path === p + "q_a_proj.weight")?.message,
    "missing: expected shape [24, 64], found none (the file holds q_proj.weight: the direct q " +
      "path, of a config whose q_lora_rank is null, and the config's q_lora_rank is 24: a " +
      "config of another model?)",
  );
  // said once, on the first q tensor; a file of neither path has no such clause
  assert.equal(low.filter((i) => i.message.includes("q_lora_rank is")).length, 1);
  const none = checkLayerTensors(presetSpec("tiny"), new Map(rest), p);
  assert.equal(none[0].message, "missing: expected shape [96, 64], found none");
});

Deno.test("checkLayerTensors lists every missing, unexpected and mis-shaped tensor", () => {
  const spec = presetSpec("tiny-yarn"); // low-rank q
  const p = "model.layers.2.self_attn.";
  const shapes = new Map<string, readonly number[]>([
    [p + "q_proj.weight", [96, 64]], // unexpected on the low-rank path
    [p + "q_a_proj.weight", [24, 64]],
    [p + "q_a_layernorm.weight", [24]],
    [p + "q_b_proj.weight", [96, 24]],
    [p + "kv_a_proj_with_mqa.weight", [32, 64]], // k_pe rows missing: [40, 64] expected
    [p + "kv_b_proj.weight", [128, 32]],
    [p + "o_proj.weight", [64, 64]],
    [p + "o_proj.bias", [64]], // unexpected
    ["model.layers.2.mlp.gate_proj.weight", [8, 64]], // other module: ignored
    ["model.layers.3.self_attn.o_proj.weight", [1, 1]], // other layer: ignored
  ]);
  const issues = checkLayerTensors(spec, shapes, p);
  assert.deepEqual(issues.map((i) => [i.path, i.message.split(":")[0]]), [
    [p + "kv_a_proj_with_mqa.weight", "wrong shape"],
    [p + "kv_a_layernorm.weight", "missing"],
    [
      p + "q_proj.weight",
      "unexpected for tiny-yarn (low-rank q path); expected only q_a_proj.weight, q_a_layernorm.weight, q_b_proj.weight, kv_a_proj_with_mqa.weight, kv_a_layernorm.weight, kv_b_proj.weight, o_proj.weight",
    ],
    [
      p + "o_proj.bias",
      "unexpected for tiny-yarn (low-rank q path); expected only q_a_proj.weight, q_a_layernorm.weight, q_b_proj.weight, kv_a_proj_with_mqa.weight, kv_a_layernorm.weight, kv_b_proj.weight, o_proj.weight",
    ],
  ]);
  // the config fields the wrong dimension comes from, so a mismatch points at one
  assert.equal(
    issues[0].message,
    "wrong shape: expected [40, 64], found [32, 64]; in the config, dim 0 is kv_lora_rank 32 + " +
      "qk_rope_head_dim 8 = 40",
  );
  const norm = checkLayerTensors(spec, new Map([[p + "kv_a_layernorm.weight", [16]]]), p)
    .find((i) => i.path === p + "kv_a_layernorm.weight");
  assert.equal(
    norm?.message,
    "wrong shape: expected [32], found [16]; in the config, dim 0 is kv_lora_rank 32",
  );
  assert.equal(issues[1].message, "missing: expected shape [32], found none");
});

/** The tiny preset's tensors under prefix `p`, and a block scale beside kv_b_proj. */
function tinyWithBlockScale(p: string): Map<string, readonly number[]> {
  return new Map<string, readonly number[]>([
    [p + "q_proj.weight", [96, 64]],
    [p + "kv_a_proj_with_mqa.weight", [40, 64]],
    [p + "kv_a_layernorm.weight", [32]],
    [p + "kv_b_proj.weight", [128, 32]],
    [p + "kv_b_proj.weight_scale_inv", [1, 1]],
    [p + "o_proj.weight", [64, 64]],
  ]);
}

Deno.test("a block scale beside a weight that is not F8_E4M3 is named as such", () => {
  const spec = presetSpec("tiny");
  const p = "model.layers.0.self_attn.";
  const shapes = tinyWithBlockScale(p);
  const issues = checkLayerTensors(spec, shapes, p);
  assert.deepEqual(issues.map((i) => i.path), [p + "kv_b_proj.weight_scale_inv"]);
  assert.match(
    issues[0].message,
    /FP8 block scale, read only beside an F8_E4M3 weight, and kv_b_proj\.weight is of a dtype not given$/,
  );
  const bf16 = checkLayerTensors(spec, shapes, p, {
    dtypes: new Map([[p + "kv_b_proj.weight", "BF16"]]),
  });
  assert.match(bf16[0].message, /and kv_b_proj\.weight is BF16$/);
});

Deno.test("checkLayerTensors: every tensor of a dtype the loader cannot read, named with the readable ones", () => {
  // An F64 weight passed the shape check and then failed alone at read time with "supported:
  // F32, F16, BF16", omitting F8_E4M3; now each such tensor is an issue before any read.
  const spec = presetSpec("tiny");
  const p = "model.layers.0.self_attn.";
  const shapes = tinyWithBlockScale(p);
  const dtypes = new Map([
    [p + "q_proj.weight", "F64"],
    [p + "kv_a_proj_with_mqa.weight", "F32"],
    [p + "kv_a_layernorm.weight", "F8_E4M3"],
    [p + "kv_b_proj.weight", "F8_E4M3"],
    [p + "kv_b_proj.weight_scale_inv", "I32"],
    [p + "o_proj.weight", "BF16"],
  ]);
  const issues = checkLayerTensors(spec, shapes, p, { dtypes });
  assert.deepEqual(issues.map((i) => [i.path, i.value]), [
    [p + "q_proj.weight", "F64"],
    [p + "kv_a_layernorm.weight", "F8_E4M3"],
    [p + "kv_b_proj.weight_scale_inv", "I32"],
  ]);
  assert.equal(
    issues[0].message,
    "is a dtype the loader cannot read: a Linear weight may be F32, F16, BF16 or F8_E4M3 (with its " +
      "weight_scale_inv block scale)",
  );
  assert.equal(
    issues[1].message,
    // the block scale has its own message (below): "or block scale" here listed too few dtypes
    "is a dtype the loader cannot read: a norm weight may be F32, F16, BF16",
  );
  assert.match(
    issues[2].message,
    /^is a dtype the loader cannot read: the block scale of the F8_E4M3 weight kv_b_proj\.weight .* may be F32, F16, BF16 or F8_E8M0 \(powers of two\)$/,
  );
});

Deno.test("loadLayerWeights: a Python-written file, mixed F32/F16/BF16, other modules ignored", async () => {
  const file = await SafetensorsFile.open(`${FIXTURES}tiny_layer3.safetensors`);
  try {
    const w = await loadLayerWeights(file, presetSpec("tiny"));
    assert.equal(w.qProj?.length, 96 * 64);
    assert.equal(w.kvAProj.length, 40 * 64);
    assert.equal(w.kvANorm.length, 32);
    assert.equal(w.kvBProj.length, 128 * 32);
    assert.equal(w.oProj.length, 64 * 64);
    assert.equal(w.qAProj, undefined);
    // BF16 values have 8 significant bits: the low 16 bits of the f32 are zero.
    const bits = new Uint32Array(Float32Array.from(w.qProj!).buffer);
    assert.ok(bits.every((b) => (b & 0xffff) === 0));
    await assert.rejects(
      () => loadLayerWeights(file, presetSpec("tiny"), { layer: 4 }),
      /no such layer\n {2}--layer: 4 names a layer whose attention the file does not hold; it holds the attention of layer 3/,
    );
  } finally {
    file.close();
  }
});

Deno.test("loadLayerWeights: HF names written from generated weights read back exactly", async () => {
  const spec = presetSpec("tiny-yarn");
  const w = makeLayerWeights(spec, { seed: 4 });
  const tensors: Record<string, TensorToWrite> = {};
  for (const t of expectedTensors(spec)) {
    tensors[`model.layers.0.self_attn.${t.suffix}`] = {
      dtype: "F32",
      shape: t.shape,
      data: w[t.field]!,
    };
  }
  const file = await SafetensorsFile.fromBytes(encodeSafetensors(tensors), { source: "mem" });
  const back = await loadLayerWeights(file, spec);
  assert.deepEqual([...back.qBProj!], [...Float32Array.from(w.qBProj!)]);
  assert.deepEqual([...back.kvANorm], [...Float32Array.from(w.kvANorm)]);
});

Deno.test("loadLayerWeights: DeepSeek-V3.2's self_attn.indexer.* is passed over with a sparse config, named with a dense one", async () => {
  // a V3.2 layer was refused: each indexer tensor "unexpected", though the config is read
  const dense = presetSpec("tiny-yarn");
  const sparse = { ...dense, indexTopK: 2048 };
  const w = makeLayerWeights(dense, { seed: 7 });
  const p = "model.layers.0.self_attn.";
  const tensors: Record<string, TensorToWrite> = {};
  for (const t of expectedTensors(dense)) {
    tensors[p + t.suffix] = { dtype: "F32", shape: t.shape, data: w[t.field]! };
  }
  const idx: [string, number[]][] = [
    ["wq_b.weight", [8, 24]],
    ["wk.weight", [4, 64]],
    ["k_norm.weight", [4]],
    ["k_norm.bias", [4]],
    ["weights_proj.weight", [2, 64]],
  ];
  for (const [suffix, shape] of idx) {
    const n = shape.reduce((a, b) => a * b, 1);
    tensors[`${p}indexer.${suffix}`] = { dtype: "BF16", shape, data: new Array(n).fill(0.5) };
  }
  const file = await SafetensorsFile.fromBytes(encodeSafetensors(tensors), { source: "mem" });
  const back = await loadLayerWeights(file, sparse);
  assert.deepEqual([...back.oProj], [...Float32Array.from(w.oProj)]);
  const issues = checkLayerTensors(
    dense,
    new Map(idx.map(([s, sh]) => [`${p}indexer.${s}`, sh])),
    p,
  )
    .filter((i) => i.path.startsWith(`${p}indexer.`));
  assert.equal(issues.length, 5);
  assert.match(
    issues[0].message,
    /^unexpected for tiny-yarn .*; it is a sparse-attention indexer's weight \(DeepSeek-V3\.2's, GLM-5's\), passed over with a config of sparse attention \(index_topk, or model_type deepseek_v32 or glm_moe_dsa\), and this config is dense: a config of another model\?$/,
  );
  // only under the layer's own prefix: another layer's attention is not passed over here
  assert.deepEqual(
    checkLayerTensors(sparse, new Map([[`${p}indexer_extra.weight`, [1]]]), p)
      .filter((i) => i.message.startsWith("unexpected")).map((i) => i.path),
    [`${p}indexer_extra.weight`],
  );
});

Deno.test("loadLayerWeights: a multimodal checkpoint's language_model.model.layers.N.self_attn.* is found, a vision tower's attention beside it is not read", async () => {
  const spec = presetSpec("tiny-yarn");
  const w = makeLayerWeights(spec, { seed: 5 });
  const tensors: Record<string, TensorToWrite> = {};
  for (const t of expectedTensors(spec)) {
    tensors[`language_model.model.layers.3.self_attn.${t.suffix}`] = {
      dtype: "F32",
      shape: t.shape,
      data: w[t.field]!,
    };
  }
  // A vision tower's (not MLA) attention, also under layers.N.self_attn.
  tensors["vision_model.encoder.layers.0.self_attn.q_proj.weight"] = {
    dtype: "F32",
    shape: [4, 4],
    data: new Float32Array(16),
  };
  const file = await SafetensorsFile.fromBytes(encodeSafetensors(tensors), { source: "mm" });
  assert.equal(layerPrefix(file.tensors.keys(), {}), "language_model.model.layers.3.self_attn.");
  assert.equal(
    layerPrefix(file.tensors.keys(), { layer: 3 }),
    "language_model.model.layers.3.self_attn.",
  );
  const back = await loadLayerWeights(file, spec);
  assert.deepEqual([...back.kvBProj], [...Float32Array.from(w.kvBProj)]);
  // Two MLA models' layers in one file: not guessed.
  const two = [
    "language_model.model.layers.0.self_attn.kv_a_proj_with_mqa.weight",
    "draft.model.layers.0.self_attn.kv_a_proj_with_mqa.weight",
  ];
  assert.throws(
    () => layerPrefix(two, { source: "two.safetensors" }),
    (e: unknown) =>
      e instanceof ConfigError &&
      /MLA attention tensors under several wrappers/.test(e.message) &&
      /draft\.model\.layers\.N\.self_attn\.\*/.test(e.message),
  );
});

Deno.test("loadLayerWeights: two attention modules per layer (LongCat-Flash's self_attn.0/1) are named, not reported missing", async () => {
  const spec = presetSpec("tiny-yarn");
  const w = makeLayerWeights(spec, { seed: 6 });
  const tensors: Record<string, TensorToWrite> = {};
  for (const k of [0, 1]) {
    for (const t of expectedTensors(spec)) {
      tensors[`model.layers.2.self_attn.${k}.${t.suffix}`] = {
        dtype: "F32",
        shape: t.shape,
        data: w[t.field]!,
      };
    }
  }
  const file = await SafetensorsFile.fromBytes(encodeSafetensors(tensors), { source: "lc" });
  await assert.rejects(
    () => loadLayerWeights(file, spec),
    (e: unknown) =>
      e instanceof ConfigError && /lc: ambiguous layer/.test(e.message) &&
      /model\.layers\.2\.self_attn\.0\.\*, model\.layers\.2\.self_attn\.1\.\*/.test(e.message) &&
      /LongCat-Flash keeps two per layer/.test(e.message) &&
      /give --attention-module 0/.test(e.message),
  );
  // tests/layer_attention_module_test.ts reads each module
  const back = await loadLayerWeights(file, spec, { attentionModule: 1 });
  assert.deepEqual(back.oProj, Float32Array.from(w.oProj));
});
