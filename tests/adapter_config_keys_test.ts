// Keys a model's own code reads that the config reader must read the same way: transformers'
// rope_interleave and the widths its save_pretrained writes (qk_head_dim, head_dim), HF keys
// in a Megatron config, misspelt MLA keys, YaRN keys beside the plain RoPE type, a BOM.
import assert from "node:assert/strict";
import { detectConfigFormat, readConfig, specFromConfig } from "../adapter/config.ts";
import { ConfigError } from "../adapter/errors.ts";
import { specFromFile } from "../adapter/config.ts";
import { GOOD_HF, GOOD_MEGATRON } from "./config_helpers.ts";
import { presetSpec } from "../adapter/presets.ts";
import { resolve } from "../adapter/resolve.ts";
import { withParams } from "../adapter/spec.ts";
import { parseCaps } from "../adapter/caps_file.ts";

const LAVAPIPE = parseCaps(
  JSON.parse(await Deno.readTextFile("tests/fixtures/caps_lavapipe.json")),
  "caps_lavapipe.json",
);

const good = GOOD_HF;
const goodMegatron = GOOD_MEGATRON;

function issuesOf(raw: unknown, options: { format?: "hf" | "megatron" } = {}) {
  try {
    specFromConfig(raw, { name: "c.json", ...options });
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    return e.issues;
  }
  return assert.fail("expected a ConfigError");
}

// DeepSeek-V3.2, GLM-5 (glm_moe_dsa) and LongCat-Flash always rotate interleaved pairs in
// transformers, whatever rope_interleave says. Before, rope_interleave: false in such a config
// was read as NeoX halves, a pairing their code never uses. DeepSeek-V2 (deepseek_v2) too:
// DeepseekV2Config has no such key, DeepseekV2Attention rotates complex pairs (apply_rotary_emb)
// and DeepSeek-V2's modeling_deepseek.py de-interleaves q_pe/k_pe first; it was read as NeoX.
Deno.test("rope_interleave: false is refused where the model's code always interleaves", () => {
  // Kimi-K2 (kimi_k2) runs its repository's modeling_deepseek.py, which never reads the key and
  // always interleaves (was read as NeoX halves with false).
  for (
    const model_type of [
      "deepseek_v2",
      "deepseek_v32",
      "glm_moe_dsa",
      "longcat_flash",
      "kimi_k2",
      // vLLM's BailingMoeV3MLAAttention: get_rope(..., is_neox_style=False) whatever the key.
      "bailing_hybrid",
    ]
  ) {
    // LongCat-Flash's config states its latent scaling (longcatScaleIssues), a head_dim equal to
    // qk_rope_head_dim and its rope_theta (longcatWidthIssues).
    const base = model_type === "longcat_flash"
      ? { ...good, mla_scale_kv_lora: true, head_dim: good.qk_rope_head_dim, rope_theta: 1e7 }
      : good;
    const issues = issuesOf({ ...base, model_type, rope_interleave: false });
    assert.deepEqual(issues.map((i) => i.path), ["rope_interleave"], model_type);
    assert.match(issues[0].message, /always rotates interleaved pairs/);
    assert.equal(
      specFromConfig({ ...base, model_type, rope_interleave: true }, { name: "c" }).ropePairing,
      "interleaved",
    );
  }
  assert.equal(
    specFromConfig({ ...good, model_type: "deepseek_v3", rope_interleave: false }, { name: "c" })
      .ropePairing,
    "neox",
  );
});

Deno.test("rope_interleave: false is NeoX pairing, true interleaved; rope_pairing must agree", () => {
  assert.equal(
    specFromConfig({ ...good, rope_interleave: false }, { name: "c" }).ropePairing,
    "neox",
  );
  assert.equal(
    specFromConfig({ ...good, rope_interleave: true }, { name: "c" }).ropePairing,
    "interleaved",
  );
  const absent = readConfig(good, { name: "c" });
  assert.equal(absent.spec.ropePairing, "interleaved");
  assert.ok(absent.reading.defaulted.some((d) => d.field === "rope_pairing"));
  const stated = readConfig({ ...good, rope_interleave: false }, { name: "c" });
  assert.ok(!stated.reading.defaulted.some((d) => d.field === "rope_pairing"));
  // Only transformers' DeepseekV3Attention reads the key (apply_rotary_pos_emb on false);
  // DeepSeek's modeling_deepseek.py and inference/model.py, TransMLA's mla.py and vLLM's
  // deepseek_v2.py (get_rope(..., is_neox_style=False)) interleave whatever it says. Before,
  // explain said "defaulted: none" for such a config, naming no code; now the reading says
  // whose reading it follows, and that an auto_map's remote code would be run instead.
  const whose = stated.reading.defaulted.find((d) => d.field === "rope_interleave");
  assert.match(whose?.note ?? "", /^read as transformers' DeepseekV3Attention/);
  assert.match(whose?.note ?? "", /vLLM's deepseek_v2\.py \(is_neox_style=False\) never read it/);
  assert.doesNotMatch(whose?.note ?? "", /auto_map names remote code/);
  const remote = readConfig({
    ...good,
    rope_interleave: false,
    auto_map: { AutoModelForCausalLM: "modeling_deepseek.DeepseekV3ForCausalLM" },
  }, { name: "c" });
  assert.match(
    remote.reading.defaulted.find((d) => d.field === "rope_interleave")?.note ?? "",
    /auto_map names remote code, which transformers runs instead/,
  );
  for (const quiet of [{ rope_pairing: "neox" }, { rope_interleave: true }]) {
    const r = readConfig({ ...good, rope_interleave: false, ...quiet }, { name: "c" });
    assert.ok(
      !r.reading.defaulted.some((d) => d.field === "rope_interleave"),
      JSON.stringify(quiet),
    );
  }
  const chosen = readConfig({ ...good, rope_interleave: false }, {
    name: "c",
    ropePairing: "neox",
  });
  assert.ok(!chosen.reading.defaulted.some((d) => d.field === "rope_interleave"));
  // The harness key may restate it, not contradict it; the caller's override wins.
  assert.equal(
    specFromConfig({ ...good, rope_interleave: false, rope_pairing: "neox" }, { name: "c" })
      .ropePairing,
    "neox",
  );
  const clash = issuesOf({ ...good, rope_interleave: false, rope_pairing: "interleaved" });
  assert.equal(clash[0].path, "rope_pairing");
  assert.match(clash[0].message, /disagrees with rope_interleave false/);
  assert.equal(
    specFromConfig({ ...good, rope_interleave: false }, { name: "c", ropePairing: "interleaved" })
      .ropePairing,
    "interleaved",
  );
  assert.match(issuesOf({ ...good, rope_interleave: "no" })[0].message, /true or false/);
});

Deno.test("a config transformers saved (qk_head_dim, head_dim beside the HF widths) reads as HF", async () => {
  const published = JSON.parse(
    await Deno.readTextFile("matrix/bundled/configs/published/DeepSeek-V3.config.json"),
  );
  // DeepseekV3Config sets qk_head_dim = nope + rope and head_dim = rope; save_pretrained
  // writes both, with rope_interleave.
  const saved = { ...published, qk_head_dim: 192, head_dim: 64, rope_interleave: true };
  assert.equal(detectConfigFormat(saved), "hf");
  const a = specFromConfig(published, { name: "published" });
  const b = specFromConfig(saved, { name: "saved" });
  assert.equal(b.source, "hf");
  assert.equal(b.kChannels, a.kChannels);
  assert.equal(b.softmaxScale, a.softmaxScale);
  assert.deepEqual(Array.from(b.invFreq), Array.from(a.invFreq));
  assert.equal(b.ropePairing, a.ropePairing);
  // Stated widths that disagree are not what the model reads (transformers derives both
  // from the widths; GLM-5.2's config.json stores head_dim 192): named, not obeyed.
  const odd = readConfig({ ...saved, qk_head_dim: 128, head_dim: 192 }, { name: "odd" });
  assert.equal(odd.spec.kChannels, 192);
  assert.deepEqual(Array.from(odd.spec.invFreq), Array.from(a.invFreq));
  const notes = odd.reading.defaulted.filter((d) =>
    d.field === "qk_head_dim" || d.field === "head_dim"
  );
  assert.deepEqual(notes.map((d) => [d.field, d.value]), [["qk_head_dim", 192], ["head_dim", 64]]);
  assert.match(notes[1].note ?? "", /the config's 192 is not read/);
});

Deno.test("format detection: Megatron's widths alone; both namings' RoPE widths refused unless --format says", () => {
  assert.equal(detectConfigFormat(goodMegatron), "megatron");
  assert.equal(detectConfigFormat({ qk_head_dim: 16 }), "megatron");
  assert.equal(detectConfigFormat(good), "hf");
  const mixed = { ...goodMegatron, qk_rope_head_dim: 8 };
  const issues = issuesOf(mixed);
  assert.equal(issues[0].path, "qk_pos_emb_head_dim");
  assert.match(issues[0].message, /mixes the two namings.*--format hf\|megatron/);
  // Told which, the reader reads that naming.
  assert.equal(specFromConfig(mixed, { name: "m", format: "megatron" }).source, "megatron");
});

Deno.test("a Megatron config with HF RoPE keys is refused (they would be ignored for its defaults)", () => {
  const issues = issuesOf({
    ...goodMegatron,
    rope_theta: 50000,
    rope_scaling: { type: "yarn", factor: 4 },
    rope_interleave: true,
  });
  assert.deepEqual(issues.map((i) => i.path).sort(), [
    "rope_interleave",
    "rope_scaling",
    "rope_theta",
  ]);
  assert.match(issues.find((i) => i.path === "rope_theta")!.message, /reads rotary_base/);
  // Megatron's own boolean flag of that name is not a RoPE object: read as before.
  assert.equal(
    specFromConfig({ ...goodMegatron, rope_scaling: false }, { name: "m" }).source,
    "megatron",
  );
});

Deno.test("a misspelt MLA key is named with the key it is near; unrelated keys are still ignored", () => {
  const meg = issuesOf({ ...goodMegatron, rotary_scaling_factr: 4 });
  assert.equal(meg[0].path, "rotary_scaling_factr");
  assert.match(meg[0].message, /did you mean "rotary_scaling_factor"/);
  const hf = issuesOf({ ...good, rope_scalling: { type: "yarn", factor: 40 } });
  assert.equal(hf[0].path, "rope_scalling");
  assert.match(hf[0].message, /did you mean "rope_scaling"/);
  // A full model config's own keys pass (vocab_size, num_key_value_heads, moe_*, ...).
  const full = {
    ...good,
    vocab_size: 129280,
    num_key_value_heads: 4,
    num_hidden_layers: 2,
    moe_intermediate_size: 2048,
    max_position_embeddings: 163840,
    torch_dtype: "bfloat16",
    model_type: "deepseek_v3",
  };
  assert.equal(specFromConfig(full, { name: "full" }).source, "hf");
});

Deno.test('YaRN keys beside the plain RoPE type "default" are refused, not dropped', () => {
  const a = issuesOf({ ...good, rope_scaling: { type: "default", factor: 40, mscale: 0.707 } });
  assert.deepEqual(a.map((i) => i.path), ["rope_scaling.factor", "rope_scaling.mscale"]);
  assert.match(a[0].message, /not read when the RoPE type is "default".*set the type to "yarn"/);
  const b = issuesOf({ ...good, rope_parameters: { rope_type: "default", factor: 4 } });
  assert.deepEqual(b.map((i) => i.path), ["rope_parameters.factor"]);
  // The plain type alone is fine.
  assert.equal(
    specFromConfig({ ...good, rope_scaling: { type: "default" } }, { name: "c" }).yarn,
    null,
  );
});

Deno.test("a config file with a UTF-8 byte order mark is named as such", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/bom.json`;
  await Deno.writeTextFile(path, "\uFEFF" + JSON.stringify(good));
  try {
    await specFromFile(path);
    assert.fail("expected a ConfigError");
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    assert.match(e.message, /byte order mark \(BOM\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the latent norms' eps is 1e-6 under HF names whatever rms_norm_eps says (Megatron reads its own)", () => {
  // DeepSeek's and transformers' code build q_a_layernorm and kv_a_layernorm without
  // rms_norm_eps; Moonlight's config has 1e-5 (its decoder norms').
  const r = readConfig({ ...good, rms_norm_eps: 1e-5 }, { name: "moonlight-like" });
  assert.equal(r.spec.rmsNormEps, 1e-6);
  const note = r.reading.defaulted.find((d) => d.field === "rms_norm_eps");
  assert.match(
    note?.note ?? "",
    /built without it .*the config's 0\.00001 is the decoder norms' \(vLLM and SGLang build the latent norms with it/,
  );
  assert.equal(presetSpec("moonlight-16b").rmsNormEps, 1e-6);
  assert.equal(
    specFromConfig({ ...goodMegatron, layernorm_epsilon: 1e-5 }, { name: "m" }).rmsNormEps,
    1e-5,
  );
});

Deno.test("YaRN keys the models' code reads differently when absent must be stated", () => {
  const yarn = { type: "yarn", factor: 40, beta_fast: 32, beta_slow: 1 };
  const full = {
    ...yarn,
    original_max_position_embeddings: 4096,
    mscale: 0.707,
    mscale_all_dim: 0.707,
  };
  // all stated: read
  assert.ok(
    specFromConfig({ ...good, max_position_embeddings: 163840, rope_scaling: full }, { name: "c" })
      .yarn,
  );
  // no original length: DeepSeek's code takes 4096, transformers' max_position_embeddings
  const { original_max_position_embeddings: _, ...noOrig } = full;
  const a = issuesOf({ ...good, max_position_embeddings: 163840, rope_scaling: noOrig });
  assert.deepEqual(a.map((i) => i.path), ["rope_scaling.original_max_position_embeddings"]);
  assert.match(a[0].message, /4096, transformers' DeepseekV3 max_position_embeddings \(163840\)/);
  // ... unless they agree (no max_position_embeddings, or 4096)
  assert.ok(specFromConfig({ ...good, rope_scaling: noOrig }, { name: "c" }).yarn);
  assert.ok(
    specFromConfig({ ...good, max_position_embeddings: 4096, rope_scaling: noOrig }, { name: "c" })
      .yarn,
  );
  // one of mscale / mscale_all_dim: DeepSeek's ratio against transformers' m(factor)
  const { mscale_all_dim: __, ...onlyMscale } = full;
  const b = issuesOf({ ...good, rope_scaling: onlyMscale });
  assert.deepEqual(b.map((i) => i.path), ["rope_scaling.mscale"]);
  assert.match(b[0].message, /without a non-zero mscale_all_dim.*state both/);
  const { mscale: ___, ...onlyAll } = full;
  assert.deepEqual(issuesOf({ ...good, rope_scaling: onlyAll }).map((i) => i.path), [
    "rope_scaling.mscale_all_dim",
  ]);
  // neither (both codes give m(factor)), or the transformers-5 shape: read / checked alike
  const { mscale: _m, mscale_all_dim: _a, ...neither } = full;
  assert.ok(specFromConfig({ ...good, rope_scaling: neither }, { name: "c" }).yarn);
  const c = issuesOf({
    ...good,
    rope_parameters: { ...onlyMscale, rope_type: "yarn", type: undefined },
  });
  assert.deepEqual(c.map((i) => i.path), ["rope_parameters.mscale"]);
});

Deno.test("DeepSeek-V3.2's index_topk: dense MLA up to that many keys a query, refused past it", () => {
  const r = readConfig({ ...good, index_topk: 16, index_n_heads: 64, index_head_dim: 128 }, {
    name: "v32",
  });
  assert.equal(r.spec.indexTopK, 16);
  const note = r.reading.defaulted.find((d) => d.field === "index_topk");
  assert.match(note?.note ?? "", /dense MLA, the same only where a query sees at most 16 keys/);
  // the indexer keeps every key while a query sees at most 16: dense MLA is the model's
  const layout = (seqK: number) =>
    ({ kind: "bshd", batch: 2, seqQ: 2, seqK, causal: true }) as const;
  for (const backend of ["cpu-reference", "wgsl-absorbed", "wgsl-expanded-gemm"]) {
    const ok = resolve({ spec: r.spec, dtype: "f32", backend, layout: layout(16) }, LAVAPIPE);
    assert.equal(ok.kind, "plan", `${backend}: ${JSON.stringify(ok)}`);
    const past = resolve({ spec: r.spec, dtype: "f32", backend, layout: layout(17) }, LAVAPIPE);
    assert.equal(past.kind, "unsupported", backend);
    const reasons = past.kind === "unsupported" ? past.reasons : [];
    assert.ok(
      reasons.some((x) => x.code === "spec.sparse-attention" && /up to 17 keys/.test(x.message)),
      JSON.stringify(reasons),
    );
  }
  // a spec without it is dense MLA at any length; withParams keeps it
  assert.equal(presetSpec("tiny").indexTopK, undefined);
  assert.equal(withParams(r.spec, { ropePairing: "neox" }).indexTopK, 16);
});

// DeepSeek-V3.2 and GLM-5 without index_topk: transformers' DeepseekV32Config and GlmMoeDsaConfig
// (`index_topk: int = 2048`) and DeepSeek-V3.2's inference/model.py (ModelArgs.index_topk = 2048)
// attend to 2048 picked keys a query all the same. Before, such a config was read as dense MLA at
// any length (cases with 5000 keys a query "supported"); now 2048 is read, said in `defaulted`.
Deno.test("index_topk absent: deepseek_v32 and glm_moe_dsa take their code's default 2048", () => {
  const layout = (seqK: number) =>
    ({ kind: "bshd", batch: 1, seqQ: 1, seqK, causal: true }) as const;
  for (const model_type of ["deepseek_v32", "glm_moe_dsa"]) {
    const r = readConfig({ ...good, model_type }, { name: "c" });
    assert.equal(r.spec.indexTopK, 2048, model_type);
    const note = r.reading.defaulted.find((d) => d.field === "index_topk");
    assert.equal(note?.value, 2048);
    assert.match(note?.note ?? "", new RegExp(`absent: model_type ${model_type}'s default`));
    const at = (seqK: number) =>
      resolve(
        { spec: r.spec, dtype: "f32", backend: "cpu-reference", layout: layout(seqK) },
        LAVAPIPE,
      );
    assert.equal(at(2048).kind, "plan");
    assert.equal(at(2049).kind, "unsupported", model_type);
    // A stated value is read as given.
    assert.equal(
      readConfig({ ...good, model_type, index_topk: 16 }, { name: "c" }).spec.indexTopK,
      16,
    );
  }
  // Other model types stay dense without the key.
  assert.equal(
    readConfig({ ...good, model_type: "deepseek_v3" }, { name: "c" }).spec.indexTopK,
    undefined,
  );
});

// Mistral Small 4 (model_type mistral4, nested in a mistral3 wrapper's text_config), read as
// transformers' Mistral4Attention computes it: the softmax scale is 1/sqrt(nope + rope) with no
// YaRN m^2, and each query is multiplied by 1 + beta * ln(1 + floor(position / original)), which
// is 1 below `original`. Before, the published config was refused with "partial_rotary_factor
// must be 1" and "llama_4_scaling_beta is not a key MLA RoPE reads"; with those keys removed, as
// the messages advised, it was read with DeepSeek's m^2 (0.195 instead of 0.0884 for 64 + 64):
// a silent misreading.
Deno.test("mistral4: softmax without YaRN m^2, the query temperature refused past its length", () => {
  const rope = {
    type: "yarn",
    rope_type: "yarn",
    rope_theta: 10000,
    factor: 128,
    original_max_position_embeddings: 16,
    beta_fast: 32,
    beta_slow: 1,
    mscale_all_dim: 1,
    mscale: 1,
  };
  const small4 = {
    model_type: "mistral4",
    hidden_size: 64,
    num_attention_heads: 4,
    q_lora_rank: 32,
    kv_lora_rank: 32,
    qk_nope_head_dim: 8,
    qk_rope_head_dim: 8,
    v_head_dim: 16,
    head_dim: 16,
    max_position_embeddings: 1048576,
    rope_parameters: { ...rope, llama_4_scaling_beta: 0.1, partial_rotary_factor: 0.5 },
  };
  const { spec, reading } = readConfig({ model_type: "mistral3", text_config: small4 }, {
    name: "c",
  });
  assert.equal(spec.softmaxScale, 1 / Math.sqrt(16));
  assert.ok(spec.yarnM > 1.48, "YaRN's m is still the cos/sin's");
  assert.equal(spec.ropeCosSinScale, 1);
  assert.deepEqual(spec.queryTemperature, { beta: 0.1, originalMaxPositionEmbeddings: 16 });
  assert.ok(reading.defaulted.some((d) => d.field === "model_type"));
  assert.ok(!reading.defaulted.some((d) => d.field === "head_dim"), "head_dim noted as unread");
  // Below position 16 the temperature is 1: the case is the model's; past it, refused.
  const layout = (seqK: number) =>
    ({ kind: "bshd", batch: 1, seqQ: 2, seqK, causal: true }) as const;
  const at = (seqK: number) =>
    resolve({ spec, dtype: "f32", backend: "cpu-reference", layout: layout(seqK) }, LAVAPIPE);
  assert.equal(at(16).kind, "plan");
  const past = at(17);
  const reasons = past.kind === "unsupported" ? past.reasons : [];
  assert.ok(
    reasons.some((r) => r.code === "spec.query-temperature" && /position 16/.test(r.message)),
    JSON.stringify(past),
  );
  // Without the temperature: read, no refusal at any length.
  const plainBeta = readConfig({ ...small4, rope_parameters: rope }, { name: "c" }).spec;
  assert.equal(plainBeta.softmaxScale, 1 / Math.sqrt(16));
  assert.equal(plainBeta.queryTemperature, undefined);
  // DeepSeek's reading of the same RoPE keeps its m^2.
  const deepseek = readConfig({ ...small4, model_type: "deepseek_v3", rope_parameters: rope }, {
    name: "c",
  }).spec;
  assert.equal(deepseek.softmaxScale, (deepseek.yarnM * deepseek.yarnM) / Math.sqrt(16));
  // Both RoPE shapes must agree on it, as on every YaRN key.
  const { rope_theta: _theta, ...scaling } = rope;
  assert.deepEqual(
    issuesOf({
      ...small4,
      rope_scaling: { ...scaling, llama_4_scaling_beta: 0.1 },
      rope_parameters: rope,
    }).map((i) => i.path),
    ["rope_parameters.llama_4_scaling_beta"],
  );
  // llama_4_scaling_beta in another model's config: refused by name, not dropped.
  assert.deepEqual(
    issuesOf({ ...good, rope_parameters: { ...rope, llama_4_scaling_beta: 0.1 } }).map((i) =>
      i.path
    ),
    ["rope_parameters.llama_4_scaling_beta"],
  );
  // Plain RoPE with the temperature reads the original length; without it, it is required.
  const plain = {
    ...small4,
    rope_parameters: {
      rope_type: "default",
      llama_4_scaling_beta: 0.1,
      original_max_position_embeddings: 16,
    },
  };
  assert.equal(readConfig(plain, { name: "c" }).spec.queryTemperature?.beta, 0.1);
  assert.deepEqual(
    issuesOf({ ...small4, rope_parameters: { rope_type: "default", llama_4_scaling_beta: 0.1 } })
      .map((i) => i.path),
    ["rope_parameters.original_max_position_embeddings"],
  );
  // transformers' Mistral4Config.__post_init__ fills an absent or null rope_parameters with
  // YaRN factor 128, original 8192, llama_4_scaling_beta 0.1. Before, such a config was read as
  // plain RoPE (inv_freq 10000^(-2i/d), no temperature): another model. Now refused by name.
  const { rope_parameters: _rp, ...noRope } = small4;
  for (const cfg of [noRope, { ...noRope, rope_parameters: null }]) {
    const missing = issuesOf(cfg);
    assert.deepEqual(missing.map((i) => i.path), ["rope_parameters"]);
    assert.match(missing[0].message, /YaRN factor 128, original_max_position_embeddings 8192/);
  }
  assert.match(
    issuesOf({ ...noRope, rope_scaling: scaling }).find((i) => i.path === "rope_parameters")!
      .message,
    /before a transformers-4 rope_scaling is looked at/,
  );
  // another model_type without RoPE keys is plain RoPE, as before
  assert.equal(readConfig({ ...noRope, model_type: "deepseek_v3" }, { name: "c" }).spec.yarn, null);
  // partial_rotary_factor rope / (nope + rope) is Mistral 4's full rope width; another is not.
  const wrong = {
    ...small4,
    rope_parameters: { rope_type: "default", partial_rotary_factor: 1 / 3 },
  };
  assert.match(
    issuesOf(wrong).find((i) => i.path === "rope_parameters.partial_rotary_factor")!.message,
    /give 8 \/ 16 = 0\.5/,
  );
});

// vLLM's deepseek_v2.py reads `apply_yarn_scaling` inside the RoPE object: rope_type becomes
// "deepseek_yarn" when it is true or absent, "deepseek_llama_scaling" (other frequencies, and no
// m^2: the scale multiplies it in only for deepseek_yarn) when false. Before, the key was refused
// as "not a key MLA RoPE reads (it would be ignored)", wrong both ways: true is DeepSeek's YaRN,
// and false is read, not ignored. Now true is read as YaRN; false is refused with what it does.
Deno.test("apply_yarn_scaling (vLLM's switch): true reads as DeepSeek's YaRN, false is refused", () => {
  const yarn = {
    type: "yarn",
    factor: 40,
    original_max_position_embeddings: 4096,
    beta_fast: 32,
    beta_slow: 1,
    mscale: 1,
    mscale_all_dim: 1,
  };
  const plain = specFromConfig({ ...good, rope_scaling: yarn }, { name: "y" });
  const stated = specFromConfig({ ...good, rope_scaling: { ...yarn, apply_yarn_scaling: true } }, {
    name: "y",
  });
  assert.deepEqual(stated, plain);
  const off = issuesOf({ ...good, rope_scaling: { ...yarn, apply_yarn_scaling: false } });
  assert.deepEqual(off.map((i) => i.path), ["rope_scaling.apply_yarn_scaling"]);
  assert.match(off[0].message, /"deepseek_llama_scaling" frequencies with no YaRN m\^2/);
  assert.doesNotMatch(off[0].message, /it would be ignored/);
});

// vLLM's DeepseekV2Model (deepseek_v2.py, which runs deepseek_v3 among others) reads a top-level
// `llama_4_scaling` { beta, original_max_position_embeddings } (written by vLLM's Mistral
// params.json adapter for Mistral Large 3): _get_llama_4_scaling gives 1 + beta * log(1 +
// floor(positions / original)) and every query is multiplied by it, the MLA scale keeping
// deepseek_yarn's m^2. Before, the key was ignored: such a config read with no temperature,
// silently wrong for every query at position >= original. Now read as spec.queryTemperature.
Deno.test("llama_4_scaling (vLLM's top-level query temperature): read, later queries refused", () => {
  const yarn = {
    type: "yarn",
    factor: 40,
    original_max_position_embeddings: 16,
    beta_fast: 32,
    beta_slow: 1,
    mscale: 1,
    mscale_all_dim: 1,
  };
  const cfg = {
    ...good,
    model_type: "deepseek_v3",
    rope_scaling: yarn,
    llama_4_scaling: { beta: 0.1, original_max_position_embeddings: 16 },
  };
  const { spec, reading } = readConfig(cfg, { name: "l4" });
  assert.deepEqual(spec.queryTemperature, { beta: 0.1, originalMaxPositionEmbeddings: 16 });
  // deepseek_yarn keeps m^2: m = 0.1 ln 40 + 1, scale m^2 / sqrt(16 + 8).
  const m = 0.1 * Math.log(40) + 1;
  assert.ok(Math.abs(spec.softmaxScale - (m * m) / Math.sqrt(24)) < 1e-12);
  assert.match(
    reading.defaulted.find((d) => d.field === "llama_4_scaling")?.note ?? "",
    /1 \+ 0\.1 \* ln\(1 \+ floor\(position \/ 16\)\)/,
  );
  const layout = (seqK: number) =>
    ({ kind: "bshd", batch: 1, seqQ: 2, seqK, causal: true }) as const;
  const at = (seqK: number) =>
    resolve({ spec, dtype: "f32", backend: "cpu-reference", layout: layout(seqK) }, LAVAPIPE);
  assert.equal(at(16).kind, "plan");
  const past = at(17);
  assert.ok(
    past.kind === "unsupported" && past.reasons.some((r) => r.code === "spec.query-temperature"),
    JSON.stringify(past),
  );
  // beta 0 is a temperature of 1; null is none; a malformed object or a second spelling refused.
  const zero = { ...cfg, llama_4_scaling: { beta: 0, original_max_position_embeddings: 16 } };
  assert.equal(readConfig(zero, { name: "z" }).spec.queryTemperature, undefined);
  assert.equal(
    readConfig({ ...cfg, llama_4_scaling: null }, { name: "n" }).spec.queryTemperature,
    undefined,
  );
  assert.deepEqual(
    issuesOf({ ...cfg, llama_4_scaling: { beta: 0.1 } }).map((i) => i.path),
    ["llama_4_scaling.original_max_position_embeddings"],
  );
  assert.ok(
    issuesOf({ ...cfg, llama_4_scaling: { beta: 0.1, original_max_position_embeddings: 16, x: 1 } })
      .some((i) => i.path.startsWith("llama_4_scaling")),
  );
  const both = issuesOf({
    ...cfg,
    model_type: "mistral4",
    head_dim: 24,
    rope_scaling: null,
    rope_parameters: { ...yarn, type: undefined, rope_type: "yarn", llama_4_scaling_beta: 0.1 },
  });
  assert.ok(both.some((i) => i.path === "llama_4_scaling"), JSON.stringify(both));
  // A Megatron config does not read it: refused by name.
  assert.ok(
    issuesOf({
      ...GOOD_MEGATRON,
      llama_4_scaling: { beta: 0.1, original_max_position_embeddings: 16 },
    })
      .some((i) => i.path === "llama_4_scaling"),
  );
});

// openPangu V2 (vLLM's openpangu.py): learned sink keys every query attends to, sliding-window
// layers and MoME convolutions over the latents. Before, its config was read as DeepSeek's dense
// MLA with every one of these keys ignored: a silent misreading.
Deno.test("openPangu: sink keys, sliding windows and MoME are refused by name, not ignored", () => {
  const pangu = {
    ...good,
    model_type: "pangu_v2_moe",
    param_sink_number: 4,
    param_sink_with_value: true,
    swa_layers: [1, 2],
    sliding_window_list: [8, 8],
    use_mome: true,
    router_sliding_window: 4,
  };
  assert.deepEqual(issuesOf(pangu).map((i) => i.path).sort(), [
    "param_sink_number",
    "sliding_window_list",
    "swa_layers",
    "use_mome",
  ]);
  assert.match(issuesOf({ ...good, sliding_window: 4096 })[0].message, /last sliding_window keys/);
  // Unset, they change nothing and are read as absent.
  const unset = {
    ...good,
    param_sink_number: 0,
    sliding_window: null,
    swa_layers: [],
    use_mome: false,
  };
  assert.deepEqual(specFromConfig(unset, { name: "c" }), specFromConfig(good, { name: "c" }));
});

// TransMLA's Gemma 2 conversion (transmla/transformers/mla.py, MLAAttention) passes
// `attn_logit_softcapping` to its attention as softcap: each score s becomes c * tanh(s / c).
// Before, such a config was read as plain MLA, the cap ignored: another attention core.
Deno.test("attn_logit_softcapping: a cap is refused by name, none is read as absent", () => {
  const issues = issuesOf({ ...good, model_type: "gemma2mla", attn_logit_softcapping: 50 });
  assert.deepEqual(issues.map((i) => i.path), ["attn_logit_softcapping"]);
  assert.match(issues[0].message, /c \* tanh\(s \/ c\) before the softmax .* not supported/);
  for (const none of [null, 0]) {
    assert.deepEqual(
      specFromConfig({ ...good, attn_logit_softcapping: none }, { name: "c" }),
      specFromConfig(good, { name: "c" }),
    );
  }
});

// DeepSeek-V4's config.json holds q_lora_rank and qk_rope_head_dim, but its attention is
// shared-KV MQA with compressed and sliding-window branches. Before, it was refused with
// "kv_lora_rank is required" and "o_lora_rank: did you mean q_lora_rank?", or, with the MLA keys
// added, only for the "misspelt" o_lora_rank; now by its model_type, saying why.
Deno.test("deepseek_v4: refused by model_type as not MLA, not with near-miss key names", () => {
  const v4 = {
    model_type: "deepseek_v4",
    hidden_size: 64,
    num_attention_heads: 4,
    head_dim: 32,
    q_lora_rank: 16,
    qk_rope_head_dim: 8,
    o_groups: 2,
    o_lora_rank: 16,
    sliding_window: 8,
    compress_ratios: [0, 4],
  };
  for (const raw of [v4, { ...good, ...v4 }, { model_type: "deepseek_v4", o_lora_rank: 16 }]) {
    const issues = issuesOf(raw);
    assert.deepEqual(issues.map((i) => i.path), ["model_type"], JSON.stringify(issues));
    assert.match(issues[0].message, /DeepSeek-V4, whose attention is not MLA/);
  }
});

// Megatron's experimental_attention_variant "dsa" (DeepSeek's sparse attention): before, the
// key was ignored and the config read as dense MLA for any number of keys. Now dsa_indexer_topk
// is read as HF's index_topk is (cases past it refused), and other variants are refused.
Deno.test("Megatron's dsa variant and multi_latent_attention: sparse read as index_topk; not MLA refused", () => {
  const dsa = {
    ...goodMegatron,
    experimental_attention_variant: "dsa",
    dsa_indexer_topk: 16,
  };
  const { spec, reading } = readConfig(dsa, { name: "m" });
  assert.equal(spec.indexTopK, 16);
  assert.ok(reading.defaulted.some((d) => d.field === "dsa_indexer_topk"));
  const layout = (seqK: number) =>
    ({ kind: "bshd", batch: 1, seqQ: 1, seqK, causal: true }) as const;
  const at = (seqK: number) =>
    resolve({ spec, dtype: "f32", backend: "cpu-reference", layout: layout(seqK) }, LAVAPIPE);
  assert.equal(at(16).kind, "plan");
  const past = at(17);
  const reasons = past.kind === "unsupported" ? past.reasons : [];
  assert.ok(
    reasons.some((x) =>
      x.code === "spec.sparse-attention" && /dsa_indexer_topk 16/.test(x.message)
    ),
    JSON.stringify(past),
  );
  assert.deepEqual(
    issuesOf({ ...dsa, dsa_indexer_topk: undefined }).map((i) => i.path),
    ["dsa_indexer_topk"],
  );
  assert.deepEqual(
    issuesOf({ ...goodMegatron, experimental_attention_variant: "dsv4_hybrid" }).map((i) => i.path),
    ["experimental_attention_variant"],
  );
  assert.deepEqual(
    issuesOf({ ...goodMegatron, dsa_indexer_topk: 16 }).map((i) => i.path),
    ["dsa_indexer_topk"],
  );
  assert.equal(
    readConfig({ ...goodMegatron, experimental_attention_variant: null }, { name: "m" }).spec
      .indexTopK,
    undefined,
  );
  // softmax_type and window_size: TEDotProductAttention applies them to MLA's core attention
  // too (a softmax offset, a sliding window); before, both were ignored.
  assert.deepEqual(
    issuesOf({ ...goodMegatron, softmax_type: "learnable", window_size: [128, 0] })
      .map((i) => i.path).sort(),
    ["softmax_type", "window_size"],
  );
  assert.doesNotThrow(() =>
    readConfig({ ...goodMegatron, softmax_type: "vanilla", window_size: null }, { name: "m" })
  );
  assert.doesNotThrow(() => readConfig({ ...goodMegatron, window_size: [-1, 0] }, { name: "m" }));
  // multi_latent_attention false: Megatron's standard attention, not MLA (before: read as MLA)
  assert.deepEqual(
    issuesOf({ ...goodMegatron, multi_latent_attention: false }).map((i) => i.path),
    ["multi_latent_attention"],
  );
  assert.doesNotThrow(() =>
    readConfig({ ...goodMegatron, multi_latent_attention: true }, { name: "m" })
  );
});

// vLLM's openpangu.py builds OpenPanguMLAAttention from DeepSeek's key names (qk_nope_head_dim,
// kv_lora_rank, ...) for every openPangu architecture, with rope_parameters of its own: "factor":
// 1, "rope_type": "deepseek_yarn" over config.rope_theta, scaling = qk_head_dim ** -0.5; the
// config's rope_scaling is never read. Before, such a config with a YaRN rope_scaling was read
// with YaRN's frequencies and m^2: with nope 16 + rope 8 and factor 40, mscale_all_dim 1,
// m = 0.1 ln 40 + 1 = 1.368888, scale m^2 / sqrt(24) = 0.382499 where vLLM computes
// 1 / sqrt(24) = 0.204124. Huawei's omni-infer passes the object to DeepSeek's MLA: the codes
// disagree, so it is refused (as with openPangu's own names); and pangu_ultra_moe's config class
// (OpenPanguMoEConfig) defaults rope_theta to 25600000 where vLLM and this reader take 10000.
Deno.test("openPangu model_types in DeepSeek's names: a YaRN rope_scaling or no rope_theta is refused", () => {
  const yarn = {
    type: "yarn",
    factor: 40,
    original_max_position_embeddings: 4096,
    beta_fast: 32,
    beta_slow: 1,
    mscale: 1,
    mscale_all_dim: 1,
  };
  const pangu = { ...good, model_type: "pangu_ultra_moe", rope_theta: 25600000 };
  const scaled = issuesOf({ ...pangu, rope_scaling: yarn });
  assert.deepEqual(scaled.map((i) => i.path), ["rope_scaling"]);
  assert.match(
    scaled[0].message,
    /1\/sqrt\(24\) = 0\.204124, where DeepSeek's reading of the object gives m\^2 \/ sqrt\(24\) = 0\.382499/,
  );
  const t5 = issuesOf({
    ...pangu,
    rope_parameters: { ...yarn, rope_type: "yarn", type: undefined },
  });
  assert.deepEqual(t5.map((i) => i.path), ["rope_parameters"]);
  const v2 = issuesOf({ ...good, model_type: "pangu_v2_moe", rope_scaling: yarn });
  assert.deepEqual(v2.map((i) => i.path), ["rope_scaling"], "every openPangu model_type");
  const bare = issuesOf({ ...good, model_type: "pangu_ultra_moe" });
  assert.deepEqual(bare.map((i) => i.path), ["rope_theta"]);
  assert.match(bare[0].message, /OpenPanguMoEConfig\) defaults it to 25600000/);
  // As vLLM runs it: plain RoPE over the stated theta, scale 1 / sqrt(24), interleaved pairs.
  const plain = specFromConfig({ ...pangu, rope_scaling: null }, { name: "p" });
  assert.equal(plain.softmaxScale, 1 / Math.sqrt(24));
  assert.equal(plain.yarn, null);
  assert.equal(plain.ropePairing, "interleaved");
  assert.deepEqual(plain.invFreq, [0, 1, 2, 3].map((i) => Math.pow(25600000, (-2 * i) / 8)));
  assert.equal(
    specFromConfig({ ...pangu, rope_scaling: { type: "default" } }, { name: "p" }).softmaxScale,
    1 / Math.sqrt(24),
  );
});

// openPangu-Ultra-MoE names its MLA widths attention_*_dim. It was refused as "not an MLA
// config" (session < 40), then "not supported" name by name; its attention code
// (OpenPanguMoEAttention, the model's transformers-style modeling code) is DeepSeek's MLA under
// those names: softmax_scale = q_head_dim ** (-0.5) with q_head_dim = attention_qk_dim +
// attention_qk_rope_dim, plain RoPE over config.rope_theta spanning attention_qk_rope_dim, no YaRN.
// Now read so; what its codes disagree on (pairing, rope_theta's default, a rope_scaling) is asked.
Deno.test("openPangu's attention_*_dim names: read as its attention code, what its codes disagree on asked", () => {
  const pangu = {
    model_type: "pangu_ultra_moe",
    hidden_size: 64,
    num_attention_heads: 4,
    attention_q_lora_dim: 16,
    attention_kv_lora_dim: 32,
    attention_qk_dim: 16,
    attention_qk_rope_dim: 8,
    attention_v_dim: 16,
    rope_theta: 25600000,
  };
  const asked = issuesOf(pangu);
  assert.deepEqual(asked.map((i) => i.path), ["rope_pairing"]);
  assert.match(asked[0].message, /omni-infer PanguUltraMoE passes rope_is_neox_style=True/);
  const { spec, reading } = readConfig(pangu, { name: "p", ropePairing: "interleaved" });
  assert.deepEqual(
    [spec.qLoraRank, spec.kvLoraRank, spec.qkNopeHeadDim, spec.qkRopeHeadDim, spec.vHeadDim],
    [16, 32, 16, 8, 16],
  );
  // OpenPanguMoEAttention: softmax_scale = (16 + 8) ** -0.5; inv_freq_i = 25600000^(-2i/8).
  assert.equal(spec.softmaxScale, 1 / Math.sqrt(24));
  assert.equal(spec.yarn, null);
  assert.deepEqual(spec.invFreq, [0, 1, 2, 3].map((i) => Math.pow(25600000, (-2 * i) / 8)));
  assert.equal(spec.ropePairing, "interleaved");
  assert.equal(reading.defaulted[0].field, "(naming)");
  // the harness key does as --pairing
  assert.equal(
    readConfig({ ...pangu, rope_pairing: "neox" }, { name: "p" }).spec.ropePairing,
    "neox",
  );
  // a missing name, theta, a YaRN object or a null q latent: each named in openPangu's terms
  const { attention_v_dim: _v, rope_theta: _t, ...bare } = pangu;
  const bad = issuesOf({
    ...bare,
    attention_q_lora_dim: null,
    rope_pairing: "interleaved",
    rope_scaling: { type: "yarn", factor: 4 },
  });
  assert.deepEqual(bad.map((i) => i.path), [
    "attention_v_dim",
    "attention_q_lora_dim",
    "rope_theta",
    "rope_scaling",
  ]);
  assert.match(bad[0].message, /DeepSeek's v_head_dim/);
  assert.match(bad[2].message, /OpenPanguMoEConfig defaults it to 25600000/);
  // an invalid value is named by openPangu's key, not DeepSeek's
  const neg = issuesOf({ ...pangu, rope_pairing: "interleaved", attention_kv_lora_dim: -1 });
  assert.deepEqual(neg.map((i) => i.path), ["attention_kv_lora_dim"]);
});

Deno.test("partial_rotary_factor: 1 is read as the model reads it, any other value refused", () => {
  const yarn = { rope_type: "yarn", rope_theta: 10000, factor: 40, beta_fast: 32, beta_slow: 1 };
  const plain = specFromConfig({ ...good, rope_parameters: yarn, max_position_embeddings: 4096 }, {
    name: "c",
  });
  for (const where of ["inside", "top"] as const) {
    const withOne = where === "inside"
      ? {
        ...good,
        max_position_embeddings: 4096,
        rope_parameters: { ...yarn, partial_rotary_factor: 1 },
      }
      : { ...good, max_position_embeddings: 4096, rope_parameters: yarn, partial_rotary_factor: 1 };
    assert.deepEqual(specFromConfig(withOne, { name: "c" }), plain, where);
    const half = where === "inside"
      ? { ...good, rope_parameters: { ...yarn, partial_rotary_factor: 0.5 } }
      : { ...good, rope_parameters: yarn, partial_rotary_factor: 0.5 };
    const issues = issuesOf(half);
    const path = where === "inside"
      ? "rope_parameters.partial_rotary_factor"
      : "partial_rotary_factor";
    const hit = issues.find((i) => i.path === path);
    assert.ok(hit, `${where}: ${JSON.stringify(issues)}`);
    assert.match(hit.message, /must be 1 if given/);
  }
  assert.ok(
    issuesOf({ ...good, rope_scaling: { type: "yarn", factor: 4, partial_rotary_factor: "1" } })
      .some((i) => i.path === "rope_scaling.partial_rotary_factor"),
  );
});
