/**
 * MLA configs of other models than DeepSeek's, read as their models' code reads them:
 * - `mla_use_nope: true` (Kimi Linear, Kimi K3): the rope channels are carried unrotated, so
 *   the spec's inverse frequencies are all zero (every rotation the identity, in the kernels
 *   and the float64 reference alike) and the softmax scale is 1/sqrt(nope + rope). Before,
 *   the key was ignored and such a config was read with RoPE: a silent misreading.
 * - `mla_use_output_gate: true` (Kimi K3): the attention core is unchanged; a full layer is
 *   refused (spec.output-gate), since the harness's layer has no gate.
 * - `mla_scale_q_lora` / `mla_scale_kv_lora` (LongCat-Flash): the latents after their norms
 *   are multiplied by sqrt(hidden / rank); the float64 reference scales the normed latents
 *   (as the model's code does), the GPU layer bakes the factor into the norm weights (as
 *   SGLang does), so parity checks one against the other.
 * - `attention_bias: true`: a full layer is refused (spec.attention-bias).
 * - a Megatron config without `qk_layernorm` (its default false: q_layernorm and kv_layernorm
 *   are IdentityOp): a full layer is refused (spec.no-latent-norms).
 * - a multimodal wrapper's `text_config` (Kimi K3, Kimi-VL): read when the top level holds
 *   no MLA keys, its errors named under the nesting key.
 * On a device: NoPE decodes, prefills and a full layer, and latent-scaled layers, match the
 * float64 reference; the gated and the biased specs' layer cases are refused with their codes.
 */
import assert from "node:assert/strict";
import { readConfig, readConfigFile } from "../adapter/config.ts";
import { presetSpec } from "../adapter/presets.ts";
import { ATTENTION_BIAS_CODE, layerReasons, OUTPUT_GATE_CODE } from "../adapter/resolve.ts";
import { withParams } from "../adapter/spec.ts";
import { LayerUnsupportedError } from "../kernels/layer.ts";
import { applyRope, ropeParams } from "../reference/rope_apply.ts";
import { resolveLayerPlan } from "../runner/layer_plan.ts";
import { runMatrix } from "../runner/run_matrix.ts";
import { SILENT_PROGRESS } from "../report/progress.ts";
import { runCli } from "./helpers_cli.ts";
import { configError, GOOD_HF } from "./config_helpers.ts";
import { HAS_ADAPTER } from "./gpu_helpers.ts";

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;
const KIMI_LINEAR = fixture("hf_kimi_linear_like_config.json");
const CAPS = fixture("caps_lavapipe.json");

async function rawFixture(name: string): Promise<Record<string, unknown>> {
  return JSON.parse(await Deno.readTextFile(fixture(name)));
}

Deno.test("mla_use_nope: Kimi Linear's config is read without RoPE, not with rope_theta", async () => {
  const { spec, reading } = await readConfigFile(KIMI_LINEAR);
  assert.equal(spec.mlaUseNope, true);
  assert.equal(spec.invFreq.length, 32);
  assert.ok(spec.invFreq.every((f) => f === 0), "every frequency 0");
  assert.equal(spec.yarn, null);
  assert.equal(spec.ropeCosSinScale, 1);
  // Kimi's code: q_head_dim ** -0.5, with q_head_dim = nope + rope.
  assert.equal(spec.softmaxScale, 1 / Math.sqrt(128 + 64));
  assert.equal(spec.kChannels, 192);
  assert.equal(spec.latentCacheWidth, 576);
  assert.equal(spec.qPath, "direct");
  const fields = reading.defaulted.map((d) => d.field);
  assert.ok(fields.includes("mla_use_nope"), fields.join(", "));
  // Without RoPE, a defaulted rope_theta or rope_scaling is no news.
  assert.ok(!fields.includes("rope_theta") && !fields.includes("rope_scaling"), fields.join());

  // The same widths without the key (and without Kimi Linear's model_type, whose every code
  // is NoPE: see below) are RoPE'd MLA: the key is what changes the numbers.
  const raw = await rawFixture("hf_kimi_linear_like_config.json");
  delete raw.mla_use_nope;
  const roped = readConfig({ ...raw, model_type: undefined }, { name: "roped" }).spec;
  assert.equal(roped.mlaUseNope, undefined);
  assert.ok(roped.invFreq.every((f) => f > 0));
  const off = readConfig({ ...raw, model_type: undefined, mla_use_nope: false }, {
    name: "roped",
  }).spec;
  assert.deepEqual(off, roped, "false is the default");
});

// Moonshot's modeling_kimi.py (KimiMLAAttention: `assert self.use_nope`) and vLLM's
// kimi_linear.py (`assert self.use_nope is True`) run no kimi_linear config without
// mla_use_nope true, and transformers' KimiLinearAttention applies no RoPE whatever it says.
// Before, such a config was read as RoPE'd MLA, which none of them computes; now refused.
Deno.test("kimi_linear without mla_use_nope: true is refused, naming the key", async () => {
  const raw = await rawFixture("hf_kimi_linear_like_config.json");
  const { mla_use_nope: _n, ...bare } = raw;
  const absent = configError(() => readConfig(bare, { name: "k" }));
  assert.deepEqual(absent.issues.map((i) => i.path), ["mla_use_nope"]);
  assert.match(absent.issues[0].message, /^is needed with model_type kimi_linear/);
  const off = configError(() => readConfig({ ...raw, mla_use_nope: false }, { name: "k" }));
  assert.match(off.message, /mla_use_nope: false must be true with model_type kimi_linear/);
  assert.equal(readConfig(raw, { name: "k" }).spec.mlaUseNope, true);
});

// A kimi_linear config with a YaRN rope_scaling beside mla_use_nope was refused ("whether the
// model's code applies YaRN's m^2 is not known"). Every code that runs it ignores the object:
// Moonshot's modeling_kimi.py (KimiMLAAttention: `self.scaling = self.q_head_dim ** (-0.5)`, no
// rotary embedding), vLLM's kimi_linear.py (`self.scaling = self.qk_head_dim**-0.5`,
// `rotary_emb=None`), transformers' KimiLinearAttention (`self.scaling = self.qk_head_dim **
// (-0.5)`, set after DeepseekV3Attention's m^2). Now read so, and said.
Deno.test("kimi_linear with mla_use_nope and a YaRN rope_scaling: read as its code, 1/sqrt(k), no m^2", async () => {
  const raw = await rawFixture("hf_kimi_linear_like_config.json");
  const yarn = {
    type: "yarn",
    factor: 32,
    original_max_position_embeddings: 4096,
    beta_fast: 32,
    beta_slow: 1,
    mscale: 1,
    mscale_all_dim: 1,
  };
  const { spec, reading } = readConfig({ ...raw, rope_scaling: yarn }, { name: "k" });
  // q_head_dim = qk_nope_head_dim + qk_rope_head_dim = 128 + 64; scale q_head_dim ** -0.5.
  assert.equal(spec.softmaxScale, 1 / Math.sqrt(192));
  assert.equal(spec.softmaxScale.toFixed(6), "0.072169");
  assert.equal(spec.yarn, null);
  assert.equal(spec.yarnM, 1);
  assert.ok(spec.invFreq.every((f) => f === 0));
  const note = reading.defaulted.find((d) => d.field === "rope_scaling");
  // DeepSeek's yarn_get_mscale(32, 1) = 0.1 * ln(32) + 1; m^2 / sqrt(192) = 0.130861.
  const m = 0.1 * Math.log(32) + 1;
  assert.equal(((m * m) / Math.sqrt(192)).toFixed(6), "0.130861");
  assert.match(note?.note ?? "", /YaRN \(factor 32\) is not read/);
  assert.match(note?.note ?? "", /1\/sqrt\(192\) = 0\.0721688 .*m\^2 \/ sqrt\(192\) = 0\.130861/);
  assert.ok(!reading.defaulted.some((d) => d.field.startsWith("rope_scaling.")));
  // the same in transformers 5's shape
  const t5 = readConfig({
    ...raw,
    rope_parameters: { ...yarn, rope_type: "yarn", type: undefined },
  }, {
    name: "k5",
  });
  assert.equal(t5.spec.softmaxScale, 1 / Math.sqrt(192));
  // without Kimi Linear's model_type, which code is meant is not guessed
  const bare = configError(() =>
    readConfig({ ...raw, model_type: undefined, rope_scaling: yarn }, { name: "b" })
  );
  assert.match(
    bare.message,
    /mla_use_nope: true beside a YaRN rope_scaling \(factor 32\) is read only with model_type kimi_linear/,
  );
});

// A kimi_linear config with a longrope rope_scaling beside mla_use_nope was refused twice over
// ("longrope is read for minicpm3 only ... Kimi's code do not run longrope", "no model's code runs
// both"), though Kimi Linear's code ignores the object as it ignores YaRN's: Moonshot's
// configuration_kimi.py stores rope_scaling unread and its modeling_kimi.py (KimiMLAAttention)
// builds no rotary embedding, scaling by q_head_dim ** -0.5; vLLM's kimi_linear.py likewise
// (`rotary_emb=None`, `qk_head_dim**-0.5`). Now read so, and said.
Deno.test("kimi_linear with mla_use_nope and a longrope rope_scaling: read as its code, 1/sqrt(k), no LongRoPE", async () => {
  const raw = await rawFixture("hf_kimi_linear_like_config.json");
  const longrope = {
    type: "longrope",
    short_factor: Array.from({ length: 32 }, () => 1.5),
    long_factor: Array.from({ length: 32 }, () => 3),
    original_max_position_embeddings: 4096,
  };
  const { spec, reading } = readConfig({ ...raw, rope_scaling: longrope }, { name: "k" });
  // q_head_dim = 128 + 64 = 192: scale 192 ** -0.5, no cos/sin scale, no rotation.
  assert.equal(spec.softmaxScale, 1 / Math.sqrt(192));
  assert.equal(spec.longrope, undefined);
  assert.equal(spec.ropeCosSinScale, 1);
  assert.ok(spec.invFreq.every((f) => f === 0));
  const note = reading.defaulted.find((d) => d.field === "rope_scaling");
  assert.match(note?.note ?? "", /LongRoPE \(longrope\) is not read.*1\/sqrt\(192\) = 0\.0721688/);
  const t5 = readConfig({
    ...raw,
    rope_parameters: { ...longrope, rope_type: "longrope", type: undefined, rope_theta: 10000 },
  }, { name: "k5" });
  assert.equal(t5.spec.softmaxScale, 1 / Math.sqrt(192));
  assert.ok(t5.reading.defaulted.some((d) => d.field === "rope_parameters" && d.value === null));
  // without Kimi Linear's model_type, which code is meant is not guessed
  const bare = configError(() =>
    readConfig({ ...raw, model_type: undefined, rope_scaling: longrope }, { name: "b" })
  );
  assert.match(bare.message, /mla_use_nope: true beside a longrope rope_scaling is refused/);
});

// mla_use_nope is Kimi's key: DeepSeek-V3's modeling_deepseek.py and transformers'
// DeepseekV3Attention (and the other DeepSeek-family classes) never read it and rotate q_pe / k_pe
// whatever it says. Before, a deepseek_v3 config with the key was read as NoPE (inv_freq all 0,
// scale 1/sqrt(k)): another model's layer. Now refused naming the key and the code.
Deno.test("mla_use_nope under a model_type whose code never reads it is refused, naming the code", async () => {
  const raw = await rawFixture("hf_kimi_linear_like_config.json");
  for (const model_type of ["deepseek_v3", "deepseek_v2", "glm_moe_dsa", "mistral4"]) {
    const e = configError(() => readConfig({ ...raw, model_type }, { name: "c" }));
    assert.ok(e.issues.some((i) => i.path === "mla_use_nope"), model_type);
    const issue = e.issues.find((i) => i.path === "mla_use_nope")!;
    assert.match(issue.message, new RegExp(`^is not read by .*\\(model_type ${model_type}\\)`));
  }
  // one refusal, not two, beside a YaRN object
  const yarn = configError(() =>
    readConfig({
      ...raw,
      model_type: "deepseek_v3",
      rope_scaling: { type: "yarn", factor: 40, mscale: 1, mscale_all_dim: 1 },
    }, { name: "c" })
  );
  assert.deepEqual(yarn.issues.map((i) => i.path), ["mla_use_nope"]);
  // Kimi Linear's own type and no model_type read it as before
  assert.equal(readConfig(raw, { name: "c" }).spec.mlaUseNope, true);
  assert.equal(readConfig({ ...raw, model_type: undefined }, { name: "c" }).spec.mlaUseNope, true);
});

Deno.test("mla_use_nope: every rotation of the float64 reference is the identity", () => {
  const nope = withParams(presetSpec("tiny"), { mlaUseNope: true });
  const roped = presetSpec("tiny");
  const dim = 2 * nope.invFreq.length;
  const positions = [0, 1, 7, 1000, 65535];
  const x = Float64Array.from({ length: positions.length * dim }, (_, i) => Math.sin(i + 0.5));
  const params = ropeParams(nope);
  assert.deepEqual(
    applyRope(x, positions, { invFreq: params.invFreq, pairing: params.pairing }),
    x,
  );
  // and the RoPE'd twin does rotate them (the check above can fail)
  const r = ropeParams(roped);
  assert.notDeepEqual(applyRope(x, positions, { invFreq: r.invFreq, pairing: r.pairing }), x);
});

Deno.test("mla_use_nope: a non-boolean or a YaRN beside it is refused, naming the key", () => {
  const base = GOOD_HF;
  // MLA with no rope channels at all (a NoPE model may state 0): refused with the reason.
  const zero = configError(() =>
    readConfig({ ...base, qk_rope_head_dim: 0, mla_use_nope: true }, { name: "c" })
  );
  assert.match(
    zero.message,
    /qk_rope_head_dim: 0 .*MLA without rope channels, 0, is not supported/,
  );
  const typed = configError(() => readConfig({ ...base, mla_use_nope: "yes" }, { name: "c" }));
  assert.match(typed.message, /mla_use_nope.*must be true or false/);
  const yarn = configError(() =>
    readConfig({
      ...base,
      mla_use_nope: true,
      rope_scaling: {
        type: "yarn",
        factor: 40,
        original_max_position_embeddings: 4096,
        beta_fast: 32,
        beta_slow: 1,
        mscale: 1,
        mscale_all_dim: 1,
      },
    }, { name: "c" })
  );
  assert.match(yarn.message, /mla_use_nope.*YaRN rope_scaling \(factor 40\)/);
  const gate = configError(() => readConfig({ ...base, mla_use_output_gate: 1 }, { name: "c" }));
  assert.match(gate.message, /mla_use_output_gate.*must be true or false/);
});

Deno.test("text_config: a multimodal wrapper's language model is read, its errors named under it", async () => {
  const { spec, reading } = await readConfigFile(fixture("model_variants/gated_tiny.config.json"));
  assert.equal(spec.kvLoraRank, 32);
  assert.equal(spec.qLoraRank, 24);
  assert.equal(spec.mlaUseNope, true);
  assert.equal(spec.mlaOutputGate, true);
  assert.equal(reading.defaulted[0].field, "text_config");

  const raw = await rawFixture("model_variants/gated_tiny.config.json");
  const inner = raw.text_config as Record<string, unknown>;
  const bad = configError(() =>
    readConfig({ ...raw, text_config: { ...inner, kv_lora_rank: -1 } }, { name: "k3" })
  );
  assert.match(bad.message, /^k3: invalid config/);
  assert.match(bad.message, /text_config\.kv_lora_rank/);
  // MLA keys in two nestings: neither is guessed.
  const two = configError(() =>
    readConfig({ text_config: inner, language_config: inner }, {
      name: "two",
    })
  );
  assert.match(two.message, /MLA keys in both text_config and language_config/);
  // The top level's own keys are read; a nesting that says otherwise is not dropped silently.
  const top = configError(() =>
    readConfig({ ...inner, kv_lora_rank: 64, text_config: inner }, { name: "top" })
  );
  assert.match(top.message, /text_config: \["kv_lora_rank"\] are MLA keys whose values differ/);
  // DeepSeek-VL2's / DeepSeek-OCR's use_mla false: their code builds multi-head attention,
  // whatever MLA widths the file holds (was read as MLA)
  const mha = configError(() =>
    readConfig({ language_config: { ...inner, use_mla: false } }, { name: "ocr" })
  );
  assert.match(
    mha.message,
    /language_config\.use_mla: false says the model's attention is not MLA/,
  );
  assert.equal(
    readConfig({ language_config: { ...inner, use_mla: true } }, { name: "v" }).spec.kvLoraRank,
    32,
  );
});

Deno.test("text_config: keys beside it, a differing copy, or a nesting of the wrong type are refused by name", async () => {
  const raw = await rawFixture("model_variants/gated_tiny.config.json");
  const inner = raw.text_config as Record<string, unknown>;
  // A flag beside the nesting would be ignored.
  const beside = configError(() => readConfig({ ...raw, attention_bias: true }, { name: "k3" }));
  assert.match(beside.message, /attention_bias: true sits beside text_config/);
  // The same value on both sides changes nothing.
  const copy = readConfig({ ...raw, mla_use_nope: true }, { name: "k3" });
  assert.equal(copy.spec.mlaUseNope, true);
  // A full top level and a nesting that says otherwise: not guessed.
  const disagree = configError(() =>
    readConfig({ ...inner, text_config: { ...inner, num_attention_heads: 8 } }, { name: "d" })
  );
  assert.match(
    disagree.message,
    /text_config: \["num_attention_heads"\] are MLA keys whose values differ/,
  );
  for (const bad of [null, [inner], "inner"]) {
    const e = configError(() => readConfig({ model_type: "x", text_config: bad }, { name: "n" }));
    assert.match(
      e.message,
      /text_config: .* must be an object holding the language model's MLA config/,
    );
  }
  const empty = configError(() => readConfig({ text_config: {} }, { name: "n" }));
  assert.match(empty.message, /text_config: \{\} holds no MLA keys/);
  // A naming given (--format) still reads the nesting.
  const hf = readConfig(raw, { name: "k3", format: "hf" });
  assert.equal(hf.spec.mlaOutputGate, true);
});

// A wrapper that nests its language model under another key (InternVL's `llm_config` shape).
// Before, the file was called "not an MLA config" (and with --format hf every MLA key was
// "required"), naming neither the nesting nor what to do; now the key to extract is named.
Deno.test("a language model nested under another key is refused naming that key", async () => {
  const raw = await rawFixture("model_variants/gated_tiny.config.json");
  const inner = raw.text_config as Record<string, unknown>;
  const wrapper = { model_type: "internvl_chat", vision_config: { hidden_size: 8 } };
  for (const format of [undefined, "hf", "megatron"] as const) {
    const e = configError(() =>
      readConfig({ ...wrapper, llm_config: inner }, { name: "w", ...(format ? { format } : {}) })
    );
    assert.deepEqual(e.issues.map((i) => i.path), ["llm_config"], String(format));
    assert.match(e.message, /llm_config: \[.*"kv_lora_rank".*\] holds MLA keys/);
    assert.match(e.message, /read only from text_config or language_config/);
    assert.match(e.message, /save the object under llm_config as a config\.json of its own/);
  }
  // The object itself, given as its own file, is read.
  assert.equal(readConfig(inner, { name: "llm" }).spec.kvLoraRank, 32);
  // A top level with MLA keys is read as before, whatever else it nests.
  assert.equal(readConfig({ ...inner, llm_config: inner }, { name: "t" }).spec.kvLoraRank, 32);
  // One of the harness's own files is still named as such, whatever it nests.
  const caps = configError(() =>
    readConfig({ adapter: {}, features: [], limits: {}, llm_config: inner }, { name: "c" })
  );
  assert.doesNotMatch(caps.message, /holds MLA keys/);
  assert.match(caps.message, /shows /);
  // No MLA keys anywhere: still "not an MLA config".
  const none = configError(() => readConfig(wrapper, { name: "n" }));
  assert.match(none.message, /is not an MLA config/);
});

Deno.test("each naming refuses the other's variant keys; --pairing on a NoPE spec is refused", async () => {
  const meg = await rawFixture("model_variants/megatron_unnormed_tiny.config.json");
  for (
    const key of ["mla_use_nope", "attention_bias", "mla_use_output_gate", "mla_scale_kv_lora"]
  ) {
    const e = configError(() => readConfig({ ...meg, [key]: true }, { name: "m" }));
    assert.match(e.message, new RegExp(`${key}: true is a Hugging Face key with no Megatron`));
  }
  const hf = await rawFixture("model_variants/nope_tiny.config.json");
  const qkln = configError(() => readConfig({ ...hf, qk_layernorm: false }, { name: "h" }));
  assert.match(qkln.message, /qk_layernorm: false is a Megatron key/);
  const pairing = configError(() => readConfig(hf, { name: "h", ropePairing: "neox" }));
  assert.match(pairing.message, /mla_use_nope: true leaves no RoPE for the pairing neox/);
});

Deno.test("a bad MLA_HARNESS_* value is exit 2 also where it would not be applied", async () => {
  const tuning = await runCli(["explain", "tiny", "--caps", CAPS], {
    MLA_HARNESS_TUNING: "/nonexistent/tuning.json",
  });
  assert.equal(tuning.code, 2, tuning.stdout);
  assert.match(tuning.stderr, /unreadable tuning file/);
  const cls = await runCli(["explain", "tiny", "--no-device"], { MLA_HARNESS_DEVICE_CLASS: "x" });
  assert.equal(cls.code, 2);
  assert.match(cls.stderr, /MLA_HARNESS_DEVICE_CLASS: "x" must be "cpu" or "gpu"/);
  assert.doesNotMatch(tuning.stderr + cls.stderr, /\n\s+at /);
});

Deno.test("mla_use_output_gate and attention_bias: a full layer is refused with each code", () => {
  const tiny = presetSpec("tiny");
  assert.deepEqual(layerReasons(tiny), []);
  const both = withParams(tiny, { mlaOutputGate: true, attentionBias: true });
  assert.deepEqual(layerReasons(both).map((r) => r.code), [OUTPUT_GATE_CODE, ATTENTION_BIAS_CODE]);
  // The attention core's numbers are the plain spec's.
  assert.equal(both.softmaxScale, tiny.softmaxScale);
  assert.deepEqual(both.invFreq, tiny.invFreq);
  // Refused before any device is asked (no caps here).
  assert.throws(
    () =>
      resolveLayerPlan(null, {
        spec: withParams(tiny, { mlaOutputGate: true }),
        dtype: "f32",
        layout: { kind: "bshd", batch: 1, seqQ: 4, seqK: 4, causal: true },
      }),
    (e: unknown) =>
      e instanceof LayerUnsupportedError && e.reasons.length === 1 &&
      e.reasons[0].code === "spec.output-gate" && /mla_use_output_gate/.test(e.message),
  );
});

Deno.test("Megatron's qk_layernorm: absent or false is no latent norms, refused for a full layer", async () => {
  const raw = await rawFixture("model_variants/megatron_unnormed_tiny.config.json");
  const absent = readConfig(raw, { name: "m" });
  assert.equal(absent.spec.source, "megatron");
  assert.equal(absent.spec.noLatentNorms, true);
  assert.ok(absent.reading.defaulted.some((d) => d.field === "qk_layernorm" && d.value === false));
  assert.deepEqual(layerReasons(absent.spec).map((r) => r.code), ["spec.no-latent-norms"]);
  const off = readConfig({ ...raw, qk_layernorm: false }, { name: "m" }).spec;
  assert.equal(off.noLatentNorms, true);
  const on = readConfig({ ...raw, qk_layernorm: true, normalization: "RMSNorm" }, { name: "m" });
  assert.equal(on.spec.noLatentNorms, undefined);
  assert.deepEqual(layerReasons(on.spec), []);
  assert.ok(!on.reading.defaulted.some((d) => d.field === "qk_layernorm"));
  // The attention core's numbers do not depend on it.
  assert.equal(on.spec.softmaxScale, absent.spec.softmaxScale);
  const bad = configError(() => readConfig({ ...raw, qk_layernorm: "yes" }, { name: "m" }));
  assert.match(bad.message, /qk_layernorm.*must be true or false/);
  // The bundled V2-Lite Megatron config states it, as DeepSeek's MLA has the norms.
  const bundled = await readConfigFile(
    new URL("../matrix/bundled/configs/megatron_v2_lite.json", import.meta.url).pathname,
  );
  assert.equal(bundled.spec.noLatentNorms, undefined);
});

// Megatron's TransformerConfig (and --add-bias-linear) default add_bias_linear to true: MLA's
// linear_proj (its o_proj) then has a bias. Before, the key was ignored and a Megatron config
// without it was read, full layer included, as if linear_proj had no bias.
Deno.test("Megatron's add_bias_linear: absent or true is a bias on linear_proj, refused for a full layer", async () => {
  const raw = await rawFixture("model_variants/megatron_unnormed_tiny.config.json");
  const normed: Record<string, unknown> = { ...raw, qk_layernorm: true, normalization: "RMSNorm" };
  const absentRaw = { ...normed };
  delete absentRaw.add_bias_linear;
  const absent = readConfig(absentRaw, { name: "m" });
  assert.equal(absent.spec.attentionBias, true);
  assert.ok(absent.reading.defaulted.some((d) => d.field === "add_bias_linear" && d.value));
  const reasons = layerReasons(absent.spec);
  assert.deepEqual(reasons.map((r) => r.code), ["spec.attention-bias"]);
  assert.match(reasons[0].message, /add_bias_linear.*linear_proj/);
  assert.equal(
    readConfig({ ...normed, add_bias_linear: true }, { name: "m" }).spec.attentionBias,
    true,
  );
  const off = readConfig({ ...normed, add_bias_linear: false }, { name: "m" });
  assert.deepEqual(layerReasons(off.spec), []);
  // The attention core's numbers do not depend on it.
  assert.equal(off.spec.softmaxScale, absent.spec.softmaxScale);
  // The bundled V2-Lite Megatron config states false, as DeepSeek's MLA has no biases.
  const bundled = await readConfigFile(
    new URL("../matrix/bundled/configs/megatron_v2_lite.json", import.meta.url).pathname,
  );
  assert.equal(bundled.spec.attentionBias, undefined);
});

Deno.test("LongCat-Flash's latent scaling: sqrt(hidden / rank) on each latent, the attention core as without", async () => {
  const { spec, reading } = await readConfigFile(fixture("hf_longcat_flash_like_config.json"));
  assert.equal(spec.qLatentScale, 2, "sqrt(6144 / 1536)");
  assert.equal(spec.kvLatentScale, Math.sqrt(12), "sqrt(6144 / 512)");
  const fields = reading.defaulted.map((d) => d.field);
  assert.ok(fields.includes("mla_scale_q_lora") && fields.includes("mla_scale_kv_lora"));
  const raw = await rawFixture("hf_longcat_flash_like_config.json");
  // The same widths as DeepSeek's MLA (no model_type): no scaling.
  const plain = readConfig(
    { ...raw, model_type: undefined, mla_scale_q_lora: false, mla_scale_kv_lora: false },
    { name: "plain" },
  ).spec;
  assert.equal(plain.qLatentScale, undefined);
  assert.equal(plain.kvLatentScale, undefined);
  assert.equal(spec.softmaxScale, plain.softmaxScale);
  assert.deepEqual(spec.invFreq, plain.invFreq);
  // Without a low-rank q there is no q latent to scale.
  const noQ = configError(() => readConfig({ ...raw, q_lora_rank: null }, { name: "c" }));
  assert.match(noQ.message, /mla_scale_q_lora: true needs a q_lora_rank, which is null/);
  // Decided for lavapipe's caps: on the GL fallback a model-size case is unsupported (exit 3).
  const r = await runCli(["explain", fixture("hf_longcat_flash_like_config.json"), "--caps", CAPS]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /latent scaling .*q latent x 2, kv latent x 3\.4641/);
});

// transformers' LongcatFlashMLA (models/longcat_flash/modular_longcat_flash.py) multiplies q and
// the kv latent by sqrt(hidden_size / rank) unconditionally (LongcatFlashConfig has no
// mla_scale_* keys); vLLM's longcat_flash.py (FlashConfig defaults both to False) and SGLang's
// scale only where the key is true. Before, a longcat_flash config without the keys, or with
// false, was read as unscaled: vLLM's layer, not transformers'. Now the key is required as true.
Deno.test("LongCat-Flash: mla_scale_* absent or false is refused where transformers and vLLM disagree", async () => {
  const raw = await rawFixture("hf_longcat_flash_like_config.json");
  const { mla_scale_q_lora: _q, mla_scale_kv_lora: _kv, ...bare } = raw;
  const absent = configError(() => readConfig(bare, { name: "c" }));
  assert.deepEqual(absent.issues.map((i) => i.path), ["mla_scale_q_lora", "mla_scale_kv_lora"]);
  // transformers' factors, computed here from the fixture's widths: sqrt(6144 / 1536) = 2 and
  // sqrt(6144 / 512) = 3.46410.
  assert.match(absent.issues[0].message, /^is needed with model_type longcat_flash/);
  assert.match(absent.issues[0].message, /sqrt\(hidden_size \/ q_lora_rank\) = 2 /);
  assert.match(absent.issues[1].message, /sqrt\(hidden_size \/ kv_lora_rank\) = 3\.4641 /);
  const off = configError(() => readConfig({ ...raw, mla_scale_kv_lora: false }, { name: "c" }));
  assert.deepEqual(off.issues.map((i) => i.path), ["mla_scale_kv_lora"]);
  assert.match(off.issues[0].message, /^must be true with model_type longcat_flash/);
  // Without a low-rank q only the kv key is asked for; another model_type reads the keys as given.
  const noQ = { ...bare, q_lora_rank: null, mla_scale_kv_lora: true };
  assert.equal(readConfig(noQ, { name: "c" }).spec.kvLatentScale, Math.sqrt(6144 / 512));
  assert.equal(
    readConfig({ ...bare, model_type: "deepseek_v3" }, { name: "c" }).spec.qLatentScale,
    undefined,
  );
  // LongCat's keys (and Kimi K3's gate) under a DeepSeek-family model_type whose code never
  // reads them were read into the layer (the latents scaled by sqrt(hidden / rank)); refused now.
  const v3 = configError(() =>
    readConfig({ ...raw, model_type: "deepseek_v3", mla_use_output_gate: true }, { name: "c" })
  );
  assert.deepEqual(v3.issues.map((i) => i.path), [
    "mla_use_output_gate",
    "mla_scale_q_lora",
    "mla_scale_kv_lora",
  ]);
  assert.match(v3.issues[1].message, /give model_type longcat_flash, whose code reads it/);
  assert.match(v3.issues[0].message, /give model_type kimi_linear \(Kimi K3\)/);
});

// transformers' LongcatFlashConfig keeps head_dim as a field of its own (default 64, not derived
// from qk_rope_head_dim) and its rotary tables span head_dim channels, which LongcatFlashMLA
// applies to q_rot / k_rot of qk_rope_head_dim channels: they fail where the two differ; vLLM's
// longcat_flash rotates qk_rope_head_dim. It views q with the config's qk_head_dim before the
// nope/rope split (fails on any other value than nope + rope). Its rope_theta default is 1e7,
// vLLM's FlashConfig's 1e6, DeepSeek's (this reader's) 1e4. Before, all three were read (head_dim
// named as "transformers' DeepseekV3 sets head_dim to qk_rope_head_dim", which LongCat's config
// does not; no rope_theta read as 10000); now each is refused naming the fields.
Deno.test("LongCat-Flash: head_dim or qk_head_dim apart from the widths, or no rope_theta, is refused by name", async () => {
  const raw = await rawFixture("hf_longcat_flash_like_config.json");
  // the fixture (head_dim absent: 64 = qk_rope_head_dim 64; rope_theta stated) is read
  assert.equal(readConfig(raw, { name: "c" }).spec.qkRopeHeadDim, 64);
  assert.equal(readConfig({ ...raw, head_dim: 64 }, { name: "c" }).spec.qkRopeHeadDim, 64);
  const wide = configError(() => readConfig({ ...raw, head_dim: 128 }, { name: "c" }));
  assert.deepEqual(wide.issues.map((i) => i.path), ["head_dim"]);
  assert.match(wide.issues[0].message, /^differs from qk_rope_head_dim 64, .*head_dim = 128/);
  const narrow = configError(() => readConfig({ ...raw, qk_rope_head_dim: 32 }, { name: "c" }));
  assert.deepEqual(narrow.issues.map((i) => i.path), ["head_dim"]);
  assert.match(narrow.issues[0].message, /^is absent, so LongcatFlashConfig's default 64 applies/);
  assert.equal(
    readConfig({ ...raw, qk_rope_head_dim: 32, head_dim: 32 }, { name: "c" }).spec.kChannels,
    160,
  );
  const qk = configError(() => readConfig({ ...raw, qk_head_dim: 256 }, { name: "c" }));
  assert.deepEqual(qk.issues.map((i) => i.path), ["qk_head_dim"]);
  assert.match(qk.issues[0].message, /is not qk_nope_head_dim \+ qk_rope_head_dim = 192/);
  const { rope_theta: _t, ...noTheta } = raw;
  const theta = configError(() => readConfig(noTheta, { name: "c" }));
  assert.deepEqual(theta.issues.map((i) => i.path), ["rope_theta"]);
  assert.match(theta.issues[0].message, /10000000, vLLM's FlashConfig 1000000/);
  // rope_theta inside transformers 5's rope_parameters counts
  assert.equal(
    readConfig({ ...noTheta, rope_parameters: { rope_type: "default", rope_theta: 1e7 } }, {
      name: "c",
    }).spec.ropeTheta,
    1e7,
  );
  // another model_type (without LongCat's scaling keys) reads head_dim as a note, as before
  const { mla_scale_q_lora: _q, mla_scale_kv_lora: _kv, ...unscaled } = raw;
  assert.equal(
    readConfig({ ...unscaled, model_type: "deepseek_v3", head_dim: 128 }, { name: "c" }).spec
      .qkRopeHeadDim,
    64,
  );
});

// GLM-4.7-Flash (model_type glm4_moe_lite): fixture keys as vLLM's tests quote zai-org's
// config.json (tests/transformers_utils, _glm4_moe_lite_min_config). transformers'
// Glm4MoeLiteAttention is DeepseekV3Attention: scale (nope + rope)^-0.5, YaRN's m^2 only with a
// non-default RoPE type (none here); RoPE from Glm4MoeLiteRotaryEmbedding's default
// inv_freq[i] = theta^(-2i / d), d = head_dim * partial_rotary_factor with head_dim mapped to
// qk_rope_head_dim (attribute_map), pairs interleaved (rope_interleave defaults to True).
// LongCat-Flash-Lite (model_type longcat_flash_ngram): vLLM's longcat_flash_ngram.py wraps
// longcat_flash's FlashModel and builds its FlashConfig (rope_theta=1000000.0 by default) from the
// config. Before, a config without rope_theta was read with DeepSeek's 10000, inv_freq_1 =
// 10000^(-2/8) = 0.1 where vLLM's is 1000000^(-2/8) = 0.0316228; now refused naming both.
Deno.test("LongCat-Flash-Lite (longcat_flash_ngram): no rope_theta is refused, a stated one read", () => {
  const lite = { ...GOOD_HF, model_type: "longcat_flash_ngram" };
  const e = configError(() => readConfig(lite, { name: "lite" }));
  assert.deepEqual(e.issues.map((i) => i.path), ["rope_theta"]);
  assert.match(e.issues[0].message, /FlashConfig, which defaults it to 1000000/);
  const stated = readConfig({ ...lite, rope_theta: 1000000 }, { name: "lite" }).spec;
  assert.equal(stated.invFreq[1], Math.pow(1000000, -2 / 8));
  assert.equal(stated.invFreq[1].toFixed(7), "0.0316228");
});

Deno.test("GLM-4.7-Flash (glm4_moe_lite): the numbers its transformers code computes", async () => {
  const { spec, reading } = await readConfigFile(fixture("hf_glm47_flash_config.json"));
  assert.equal(spec.kChannels, 192 + 64);
  assert.equal(spec.vChannels, 256);
  assert.ok(Math.abs(spec.softmaxScale - 1 / 16) < 1e-15, String(spec.softmaxScale));
  assert.equal(spec.yarn, null);
  assert.equal(spec.ropePairing, "interleaved");
  const d = Math.trunc(64 * 1.0);
  assert.equal(spec.invFreq.length, d / 2);
  spec.invFreq.forEach((f, i) => {
    const want = 1 / 1e6 ** ((2 * i) / d);
    assert.ok(Math.abs(f - want) <= 1e-12 * want, `inv_freq[${i}] ${f} != ${want}`);
  });
  assert.ok(reading.defaulted.some((d) => d.field === "rope_pairing"));
});

// A TransMLA conversion of Qwen2.5 (fxmeng/TransMLA transmla/modify_config.py keeps the Qwen2
// config's keys and writes model_type deepseek_v3, head_dim = qk_rope_head_dim = 64, nope = v =
// the old head width, the LlamaMLA auto_map). Its MLAAttention (transmla/transformers/mla.py):
// scale qk_head_dim^-0.5, apply_rotary_pos_emb_interleave with LlamaRotaryEmbedding's
// theta^(-2i / head_dim); LlamaModel's plain causal mask. Qwen2's `sliding_window` rides along
// with `use_sliding_window: false`. Before, the file was refused ("sliding_window: 131072 makes
// the attention look only at the last sliding_window keys (openPangu's MLA ...)"), though no
// code reads the window there; now it is read, the window named as unread in `defaulted`.
Deno.test("TransMLA's Qwen2.5 config: sliding_window with use_sliding_window false is read as no window", async () => {
  const { spec, reading } = await readConfigFile(fixture("hf_transmla_qwen_like_config.json"));
  assert.equal(spec.kChannels, 128 + 64);
  assert.ok(Math.abs(spec.softmaxScale - 1 / Math.sqrt(192)) < 1e-15);
  assert.equal(spec.ropePairing, "interleaved");
  spec.invFreq.forEach((f, i) => {
    const want = 1 / 1e6 ** ((2 * i) / 64);
    assert.ok(Math.abs(f - want) <= 1e-12 * want, `inv_freq[${i}]`);
  });
  const note = reading.defaulted.find((d) => d.field === "sliding_window");
  assert.match(note?.note ?? "", /131072 is not read: use_sliding_window is false/);
  // With the switch on (or absent) the window is refused, as before.
  const raw = await rawFixture("hf_transmla_qwen_like_config.json");
  for (const on of [true, undefined]) {
    const e = configError(() => readConfig({ ...raw, use_sliding_window: on }, { name: "w" }));
    assert.deepEqual(e.issues.map((i) => i.path), ["sliding_window"]);
    // The refusal says the switch that turns the window off, not only openPangu's reading.
    assert.match(e.issues[0].message, /use_sliding_window: false, Qwen2's switch/);
  }
});

// TransMLA's MLAAttention builds q_a_layernorm / kv_a_layernorm only with qk_latent_layernorm
// (`getattr(config, "qk_latent_layernorm", True)`), and its converter writes false unless
// --use-qkv-norm. Before, the key was ignored and the full layer normalized the latents; now
// the spec says there are none and a full layer is refused, the attention core unchanged.
Deno.test("qk_latent_layernorm: false is read as no latent norms (layer refused, core unchanged)", async () => {
  const raw = await rawFixture("hf_transmla_qwen_like_config.json");
  const off = readConfig({ ...raw, qk_latent_layernorm: false }, { name: "t" });
  assert.equal(off.spec.noLatentNorms, true);
  assert.ok(off.reading.defaulted.some((d) => d.field === "qk_latent_layernorm"));
  const reasons = layerReasons(off.spec);
  assert.deepEqual(reasons.map((r) => r.code), ["spec.attention-bias", "spec.no-latent-norms"]);
  assert.match(reasons[1].message, /qk_latent_layernorm or qk_latent_norm false: no q_a_layernorm/);
  const on = readConfig(raw, { name: "t" }).spec;
  assert.equal(on.noLatentNorms, undefined);
  assert.equal(off.spec.softmaxScale, on.softmaxScale);
  assert.deepEqual(off.spec.invFreq, on.invFreq);
  // In a Megatron config it is an HF key, refused by name (Megatron's own is qk_layernorm).
  const meg = await rawFixture("model_variants/megatron_unnormed_tiny.config.json");
  const e = configError(() => readConfig({ ...meg, qk_latent_layernorm: false }, { name: "m" }));
  assert.match(e.message, /qk_latent_layernorm: false is a Hugging Face key with no Megatron/);
});

// Ling 3.0 (model_type bailing_hybrid, vLLM's bailing_moe_v3.py BailingMoeV3MLAAttention):
// gated_attention_proj_granularity_type "head_wise" / "element_wise" builds g_proj and multiplies
// the attention output by sigmoid(g_proj(x)) (per head / per channel) before `dense`; the
// config's partial_rotary_factor (0.5 in some checkpoints, the linear heads' share) is popped by
// _build_rope_parameters, the MLA rotating all qk_rope_head_dim channels; scaling is
// qk_head_dim ** -0.5 whatever the RoPE object. Before, the gate key was ignored (a full layer
// computed without the gate) and partial_rotary_factor 0.5 refused ("must be 1"); now the gate is
// read (layer refused, spec.output-gate), the factor said unread, and a YaRN object refused.
Deno.test("Ling 3.0 (bailing_hybrid): output gate read, partial_rotary_factor unread, YaRN refused", () => {
  const ling = {
    ...GOOD_HF,
    model_type: "bailing_hybrid",
    head_dim: 32,
    partial_rotary_factor: 0.5,
    rope_theta: 6000000,
    rope_interleave: true,
    gated_attention_proj_granularity_type: "head_wise",
  };
  const { spec, reading } = readConfig(ling, { name: "ling" });
  assert.equal(spec.mlaOutputGate, true);
  assert.deepEqual(layerReasons(spec).map((r) => r.code), [OUTPUT_GATE_CODE]);
  // qk_head_dim = 16 + 8 = 24: scale 24 ** -0.5; inv_freq_i = 6000000^(-2i/8) over all 8 channels.
  assert.equal(spec.softmaxScale, 1 / Math.sqrt(24));
  assert.deepEqual(spec.invFreq, [0, 1, 2, 3].map((i) => Math.pow(6000000, (-2 * i) / 8)));
  assert.equal(spec.ropePairing, "interleaved");
  const fields = reading.defaulted.map((d) => d.field);
  assert.ok(fields.includes("gated_attention_proj_granularity_type"), fields.join());
  assert.match(
    reading.defaulted.find((d) => d.field === "partial_rotary_factor")?.note ?? "",
    /0\.5 is not read by Ling's MLA/,
  );
  const element = readConfig({ ...ling, gated_attention_proj_granularity_type: "element_wise" }, {
    name: "l",
  });
  assert.equal(element.spec.mlaOutputGate, true);
  const none = readConfig({ ...ling, gated_attention_proj_granularity_type: null }, { name: "l" });
  assert.equal(none.spec.mlaOutputGate, undefined);
  const odd = configError(() =>
    readConfig({ ...ling, gated_attention_proj_granularity_type: "token_wise" }, { name: "l" })
  );
  assert.match(odd.message, /gated_attention_proj_granularity_type.*"head_wise" or "element_wise"/);
  const yarn = configError(() =>
    readConfig({
      ...ling,
      rope_scaling: { type: "yarn", factor: 4, original_max_position_embeddings: 4096 },
    }, { name: "l" })
  );
  assert.deepEqual(yarn.issues.map((i) => i.path), ["rope_scaling"]);
  assert.match(yarn.issues[0].message, /1\/sqrt\(24\) = 0\.204124 with no m\^2/);
  // Under DeepSeek's model_type the key is no key of that model: refused, not read.
  const ds = configError(() => readConfig({ ...ling, model_type: "deepseek_v3" }, { name: "d" }));
  assert.ok(ds.issues.some((i) => i.path === "gated_attention_proj_granularity_type"));
});

// BISA (fxmeng/TransMLA's BISA/examples/Youtu-LLM-2B-Base-DSA, model_type deepseek_v3) names the
// latent-norm switch qk_latent_norm: its DeepseekV3Attention deletes q_a_layernorm and
// kv_a_layernorm when the key is false (`if not config.qk_latent_norm: delattr(...)`, default
// true). Before, the key was ignored and such a config read with latent norms, which its code
// does not apply; now it is read as qk_latent_layernorm is, and a disagreement is refused.
Deno.test("qk_latent_norm (BISA's name): false is read as no latent norms; disagreeing keys refused", async () => {
  const raw = await rawFixture("hf_transmla_qwen_like_config.json");
  const { qk_latent_layernorm: _q, ...bisa } = raw;
  const off = readConfig({ ...bisa, qk_latent_norm: false }, { name: "b" });
  assert.equal(off.spec.noLatentNorms, true);
  const note = off.reading.defaulted.find((d) => d.field === "qk_latent_norm");
  assert.match(note?.note ?? "", /BISA's DeepseekV3Attention deletes q_a_layernorm/);
  assert.deepEqual(layerReasons(off.spec).map((r) => r.code), [
    "spec.attention-bias",
    "spec.no-latent-norms",
  ]);
  assert.equal(
    readConfig({ ...bisa, qk_latent_norm: true }, { name: "b" }).spec.noLatentNorms,
    undefined,
  );
  const clash = configError(() =>
    readConfig({ ...raw, qk_latent_layernorm: true, qk_latent_norm: false }, { name: "b" })
  );
  assert.deepEqual(clash.issues.map((i) => i.path), ["qk_latent_norm"]);
  assert.match(clash.message, /disagrees with qk_latent_layernorm true/);
  const typed = configError(() => readConfig({ ...bisa, qk_latent_norm: "no" }, { name: "b" }));
  assert.match(typed.message, /qk_latent_norm.*must be true or false/);
});

// TransMLA's converter wrote query_pre_attn_scalar (the source model's head width) into every
// config until June 2025, and its MLA code of then scaled the softmax by it: modeling_llamamla.py
// of May 2025 (fxmeng/TransMLA 42f205e, model_type deepseek_v3) and transmla/transformers/mla.py
// of June 2025 (bf0bb23..ea19bf5, model_type llamamla: also NeoX halves, no latent norms) set
// `self.scaling = self.config.query_pre_attn_scalar ** (-0.5)`. Since 20 June 2025 (e4cef2f) its
// mla.py scales by qk_head_dim ** -0.5, lora_qkv.py folds the old scale into q's weights, and
// modify_config.py writes qk_latent_layernorm. Before, such an older config was read with
// 1/sqrt(nope + rope) = 192^-0.5 = 0.0721688 where its code computes 128^-0.5 = 0.0883883:
// a silent misreading. Now refused naming the key; beside qk_latent_layernorm it is said unread.
Deno.test("TransMLA's query_pre_attn_scalar: refused without qk_latent_layernorm, said unread with it", async () => {
  const raw = await rawFixture("hf_transmla_qwen_like_config.json");
  const { qk_latent_layernorm: _q, ...older } = raw;
  for (const model_type of ["llamamla", "deepseek_v3"]) {
    const e = configError(() =>
      readConfig({ ...older, model_type, query_pre_attn_scalar: 128 }, { name: "old" })
    );
    assert.deepEqual(e.issues.map((i) => i.path), ["query_pre_attn_scalar"], model_type);
    // 128 ** -0.5 = 0.08838834..., (128 + 64) ** -0.5 = 0.07216878...
    assert.match(
      e.issues[0].message,
      /scale query_pre_attn_scalar\^-0\.5 \(0\.0883883 here, where .*\^-0\.5 = 0\.0721688\)/,
    );
  }
  const now = readConfig({ ...raw, query_pre_attn_scalar: 128 }, { name: "now" });
  assert.equal(now.spec.softmaxScale, 1 / Math.sqrt(192));
  const note = now.reading.defaulted.find((d) => d.field === "query_pre_attn_scalar");
  assert.match(note?.note ?? "", /the config's 128 is not read: TransMLA's converter/);
  // Without the key nothing changes (and nothing is said).
  const plain = readConfig(raw, { name: "plain" });
  assert.ok(!plain.reading.defaulted.some((d) => d.field === "query_pre_attn_scalar"));
  assert.deepEqual(plain.spec.softmaxScale, now.spec.softmaxScale);
});

Deno.test("explain on Kimi Linear's config: no RoPE, scale 1/sqrt(192), exit 0", async () => {
  const r = await runCli(["explain", KIMI_LINEAR, "--caps", CAPS]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /config read as hf; no RoPE \(mla_use_nope\)/);
  assert.match(r.stdout, /softmax scale 0\.072169 = 1 \/ sqrt\(192\)/);
  assert.doesNotMatch(r.stdout, /inv_freq \(\d+\):/, "no frequency list");
  assert.doesNotMatch(r.stdout, /rope theta/);
});

Deno.test({
  name:
    "NoPE and latent-scaled cases match the float64 reference; gated and biased layers are refused",
  ignore: !HAS_ADAPTER,
  fn: async () => {
    const out = await Deno.makeTempDir({ prefix: "mla-nope-" });
    try {
      const report = await runMatrix({
        matrix: fixture("model_variants/matrix.json"),
        out,
        repeats: 0,
        progress: SILENT_PROGRESS,
      });
      const got = report.results.map((c) => `${c.status} ${c.decision} ${c.id}`);
      assert.equal(report.results.length, 12, got.join("\n"));
      assert.equal(report.results.filter((c) => c.id.includes("latent_scaled")).length, 2);
      for (const c of report.results) {
        const layer = c.id.includes("mode=layer");
        const refused = layer && c.id.includes("gated_tiny")
          ? "spec.output-gate"
          : layer && c.id.includes("biased_tiny")
          ? "spec.attention-bias"
          : layer && c.id.includes("megatron_unnormed")
          ? "spec.no-latent-norms"
          : null;
        assert.equal(c.status, "pass", `${c.id}: ${c.message}`);
        assert.equal(c.decision, refused ? "unsupported" : "supported", c.id);
        if (refused) assert.deepEqual(c.reasons?.map((r) => r.code), [refused]);
      }
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test("explain names what the full layer refuses: the gate, the biases, the missing latent norms", async () => {
  const lines: [string, RegExp][] = [
    [
      "model_variants/gated_tiny.config.json",
      /output gate \(mla_use_output_gate or gated_attention_proj_granularity_type\).*is refused/,
    ],
    ["model_variants/biased_tiny.config.json", /attention biases \(attention_bias\).*is refused/],
    [
      "model_variants/megatron_unnormed_tiny.config.json",
      /no latent norms \(Megatron without qk_layernorm\).*is refused/,
    ],
  ];
  for (const [file, line] of lines) {
    const r = await runCli(["explain", fixture(file), "--caps", CAPS]);
    assert.equal(r.code, 0, `${file}: ${r.stderr}`);
    assert.match(r.stdout, line, file);
  }
  const plain = await runCli(["explain", "tiny", "--caps", CAPS]);
  assert.doesNotMatch(plain.stdout, /output gate|attention biases|no latent norms/);
});
