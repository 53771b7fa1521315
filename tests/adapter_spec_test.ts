import assert from "node:assert/strict";
import {
  readHf,
  readMegatron,
  specFromFile,
  specFromHf,
  specFromMegatron,
} from "../adapter/config.ts";
import { configError, GOOD_MEGATRON } from "./config_helpers.ts";
import { PRESET_NAMES, presetSpec } from "../adapter/presets.ts";
import {
  plainInvFreq,
  ropeCosSin,
  ropePairs,
  yarnGetMscale,
  yarnInvFreq,
} from "../adapter/rope.ts";
import { withParams } from "../adapter/spec.ts";

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;

Deno.test("softmax scale reproduces the published values to 6 digits", () => {
  // Published values (MLA_MATH.md): m = 0.1 * mscale_all_dim * ln(factor) + 1, s = m^2/sqrt(192).
  assert.equal(presetSpec("deepseek-v2-lite").softmaxScale.toFixed(6), "0.114721");
  assert.equal(presetSpec("deepseek-v2").softmaxScale.toFixed(6), "0.114721");
  assert.equal(presetSpec("deepseek-v3").softmaxScale.toFixed(6), "0.135234");
  assert.equal(presetSpec("kimi-k2").softmaxScale.toFixed(6), "0.130861");
  assert.equal(presetSpec("kimi-k2-0905").softmaxScale.toFixed(6), "0.144680");
  assert.equal(presetSpec("moonlight-16b").softmaxScale.toFixed(6), "0.072169");
});

Deno.test("k/v channels are nope+rope and v, never hidden/heads", () => {
  for (const name of PRESET_NAMES) {
    const s = presetSpec(name);
    assert.equal(s.kChannels, s.qkNopeHeadDim + s.qkRopeHeadDim, name);
    assert.equal(s.vChannels, s.vHeadDim, name);
    assert.equal(s.latentCacheWidth, s.kvLoraRank + s.qkRopeHeadDim, name);
  }
  const v3 = presetSpec("deepseek-v3");
  assert.equal(v3.kChannels, 192);
  assert.notEqual(v3.kChannels, v3.hiddenSize / v3.numHeads); // 56: the Megatron #1501 trap
  assert.equal(presetSpec("deepseek-v2-lite").qPath, "direct");
  assert.equal(v3.qPath, "low-rank");
});

Deno.test("plain inverse frequencies follow theta^(-2i/d)", () => {
  const f = presetSpec("tiny").invFreq; // d = 8, theta 1e4
  assert.deepEqual(f.map((x) => Number(x.toPrecision(12))), [1, 0.1, 0.01, 0.001]);
  const m = presetSpec("moonlight-16b").invFreq; // d = 64, theta 5e4
  assert.equal(m.length, 32);
  assert.ok(Math.abs(m[1] - Math.pow(50000, -2 / 64)) < 1e-15);
});

Deno.test("YaRN inverse frequencies: extrapolated below low, interpolated above high, ramped between", () => {
  // d=64, theta 1e4, orig 4096: corr(32) = 64 ln(4096/(64 pi)) / (2 ln 1e4) = 10.47 -> low 10;
  // corr(1) = 64 ln(4096/(2 pi)) / (2 ln 1e4) = 22.51 -> high 23.
  const f = presetSpec("deepseek-v3").invFreq;
  const base = (i: number) => Math.pow(10000, (-2 * i) / 64);
  assert.ok(Math.abs(f[5] - base(5)) < 1e-15, "i=5 unchanged");
  assert.ok(Math.abs(f[10] - base(10)) < 1e-15, "i=10 (= low) unchanged");
  assert.ok(Math.abs(f[30] - base(30) / 40) < 1e-18, "i=30 divided by the factor");
  const ramp = (16 - 10) / 13;
  assert.ok(Math.abs(f[16] - (base(16) * (1 - ramp) + (base(16) / 40) * ramp)) < 1e-15);
  assert.notDeepEqual(f, plainInvFreq(64, 10000));
});

Deno.test("YaRN m factor and cos/sin scale", () => {
  assert.equal(yarnGetMscale(1, 0.707), 1);
  assert.equal(yarnGetMscale(40, 0), 1);
  assert.ok(Math.abs(yarnGetMscale(40, 1) - (0.1 * Math.log(40) + 1)) < 1e-15);
  assert.equal(presetSpec("deepseek-v3").ropeCosSinScale, 1);
  const s = specFromHf({
    hidden_size: 64,
    num_attention_heads: 4,
    q_lora_rank: null,
    kv_lora_rank: 32,
    qk_nope_head_dim: 16,
    qk_rope_head_dim: 8,
    v_head_dim: 16,
    rope_scaling: { type: "yarn", factor: 40, mscale: 1, mscale_all_dim: 0.5 },
  }, { name: "mixed" });
  assert.ok(Math.abs(s.ropeCosSinScale - yarnGetMscale(40, 1) / yarnGetMscale(40, 0.5)) < 1e-15);
});

Deno.test("HF defaults: no mscale_all_dim means no m^2 in the scale (HF semantics)", () => {
  const s = specFromHf({
    hidden_size: 64,
    num_attention_heads: 4,
    q_lora_rank: 16,
    kv_lora_rank: 32,
    qk_nope_head_dim: 16,
    qk_rope_head_dim: 8,
    v_head_dim: 16,
    rope_scaling: { type: "yarn", factor: 40 },
  }, { name: "x" });
  assert.equal(s.softmaxScale, 1 / Math.sqrt(24));
  assert.equal(s.yarn?.betaFast, 32);
});

Deno.test("HF config files: full model configs with unrelated keys", async () => {
  const v3 = await specFromFile(fixture("hf_deepseek_v3_config.json"));
  assert.equal(v3.source, "hf");
  assert.equal(v3.softmaxScale.toFixed(6), "0.135234");
  assert.equal(v3.qLoraRank, 1536);
  const lite = await specFromFile(fixture("hf_deepseek_v2_lite_config.json"));
  assert.equal(lite.softmaxScale.toFixed(6), "0.114721");
  assert.deepEqual(lite.invFreq, presetSpec("deepseek-v2-lite").invFreq);
});

Deno.test("Megatron naming: qk_head_dim is the no-position width only", async () => {
  const m = await specFromFile(fixture("megatron_v2_lite_config.json"));
  assert.equal(m.source, "megatron");
  assert.equal(m.kChannels, 192);
  assert.equal(m.qkNopeHeadDim, 128);
  assert.equal(m.softmaxScale.toFixed(6), "0.114721");
  assert.equal(m.ropePairing, "interleaved");
  assert.deepEqual(m.invFreq, presetSpec("deepseek-v2-lite").invFreq);
  // No pairing key: Megatron's MLA always rotates interleaved pairs (multi_latent_attention.py
  // passes mla_rotary_interleaved=True to apply_rotary_pos_emb).
  const d = specFromMegatron({ ...GOOD_MEGATRON, rope_type: "rope" }, { name: "d" });
  assert.equal(d.ropePairing, "interleaved");
  assert.equal(d.yarn, null);
  // rotary_scaling_factor 40 and mscale_all_dim 0 (defaults): m = 1
  assert.equal(d.softmaxScale, 1 / Math.sqrt(24));
});

/** A tiny Megatron config with every key it must state (tests/config_helpers.ts). */
const MEGATRON_TINY = GOOD_MEGATRON;

Deno.test("Megatron: today's YaRN defaults (mscale 1, mscale_all_dim 0), named with their history", () => {
  const { spec, reading } = readMegatron(MEGATRON_TINY, { name: "m" });
  // Megatron: softmax m = 0.1 * 0 * ln 40 + 1 = 1; cos/sin by m(40, 1) / m(40, 0)
  assert.equal(spec.softmaxScale, 1 / Math.sqrt(24));
  assert.ok(Math.abs(spec.ropeCosSinScale - (1 + 0.1 * Math.log(40))) < 1e-12);
  const mscale = reading.defaulted.find((f) => f.field === "mscale");
  assert.equal(mscale?.value, 1);
  assert.match(
    mscale?.note ?? "",
    /before it both defaulted to 0\.707 there .* the softmax used m\(factor, mscale\)/,
  );
  assert.equal(reading.defaulted.find((f) => f.field === "mscale_all_dim")?.value, 0);
});

Deno.test('Megatron rope_type "rope": the softmax keeps m(rotary_scaling_factor, mscale_all_dim)^2', () => {
  const m = 1 + 0.1 * 1 * Math.log(40);
  const spec = specFromMegatron({
    ...MEGATRON_TINY,
    rope_type: "rope",
    rotary_scaling_factor: 40,
    mscale_all_dim: 1,
  }, { name: "r" });
  assert.equal(spec.yarn, null);
  assert.ok(Math.abs(spec.softmaxScale - (m * m) / Math.sqrt(24)) < 1e-15, `${spec.softmaxScale}`);
  // plain RoPE frequencies, no cos/sin scale
  assert.equal(spec.ropeCosSinScale, 1);
  assert.equal(spec.invFreq[1], 1 / 10000 ** (2 / 8));
  // re-derived by withParams with the factor kept
  assert.equal(withParams(spec, { ropeTheta: 500 }).softmaxScale, spec.softmaxScale);
});

Deno.test("Megatron: keys whose MLA the harness would misread are refused, each named", () => {
  const refused: [Record<string, unknown>, RegExp][] = [
    [
      { q_lora_rank: undefined },
      /q_lora_rank: \(missing\) is required: Megatron's MLATransformerConfig defaults it to 512/,
    ],
    [
      { mla_rotary_interleaved: false },
      /mla_rotary_interleaved: false is not a Megatron config key/,
    ],
    [{ rotary_interleaved: true }, /rotary_interleaved: true is refused by Megatron with MLA/],
    // two defaults (40, and the argument's 1.0): required under YaRN
    [
      { rotary_scaling_factor: undefined },
      /rotary_scaling_factor: \(missing\) is required: Megatron's MLATransformerConfig defaults it to 40, its --rotary-scaling-factor argument to 1\.0/,
    ],
    // and normalization with the latent norms (RMSNorm in MLATransformerConfig, LayerNorm else)
    [{ qk_layernorm: true }, /normalization: \(missing\) is required with qk_layernorm/],
    // HF's pairing key: no Megatron counterpart to give
    [
      { rope_interleave: true },
      /rope_interleave: true is a Hugging Face key, which a Megatron config does not read: Megatron's MLA always rotates interleaved pairs/,
    ],
    [
      { rope_type: "rope", rotary_percent: 0.5 },
      /rotary_percent: 0\.5 unsupported: .*rotates only that share/,
    ],
    [{ normalization: "LayerNorm" }, /normalization: "LayerNorm" unsupported: .*RMSNorm/],
  ];
  for (const [over, want] of refused) {
    const raw = JSON.parse(JSON.stringify({ ...MEGATRON_TINY, ...over }));
    const e = configError(() => specFromMegatron(raw, { name: "m.json" }));
    assert.match(e.message, want);
  }
  // their accepted values: rotary_percent is read by plain RoPE only (YaRN ignores it), and
  // only a share below 1 changes anything; plain RoPE at m = 1 needs no factor
  const ok = specFromMegatron({
    ...MEGATRON_TINY,
    mla_rotary_interleaved: true,
    rotary_interleaved: false,
    rotary_percent: 0.5,
    normalization: "RMSNorm",
    qk_layernorm: true,
  }, { name: "ok" });
  assert.equal(ok.ropePairing, "interleaved");
  assert.equal(
    specFromMegatron({ ...MEGATRON_TINY, rope_type: "rope", rotary_percent: 2 }, { name: "p" })
      .yarn,
    null,
  );
  const { rotary_scaling_factor: _, ...noFactor } = MEGATRON_TINY;
  assert.equal(specFromMegatron({ ...noFactor, rope_type: "rope" }, { name: "r" }).yarnM, 1);
});

Deno.test("specs are immutable and re-derived by withParams", () => {
  const s = presetSpec("deepseek-v3");
  assert.throws(() => {
    (s as { softmaxScale: number }).softmaxScale = 1;
  }, TypeError);
  assert.ok(Object.isFrozen(s.invFreq));
  const n = withParams(s, { ropePairing: "neox" });
  assert.equal(n.ropePairing, "neox");
  assert.equal(s.ropePairing, "interleaved");
  const noYarn = withParams(s, { yarn: null });
  assert.equal(noYarn.softmaxScale.toFixed(6), "0.072169");
});

Deno.test("rope pairs and the float64 cos/sin table", () => {
  assert.deepEqual(ropePairs(8, "interleaved"), [[0, 1], [2, 3], [4, 5], [6, 7]]);
  assert.deepEqual(ropePairs(8, "neox"), [[0, 4], [1, 5], [2, 6], [3, 7]]);
  const t = ropeCosSin([1, 0.25], 2, [0, 20000]);
  assert.deepEqual(Array.from(t.slice(0, 4)), [2, 2, 0, 0]);
  assert.equal(t[4], 2 * Math.cos(20000));
  assert.equal(t[7], 2 * Math.sin(5000));
});

// Hand derivations below follow DeepSeek-V3 inference/model.py: corr(b) = d ln(L / (2 pi b)) /
// (2 ln theta); low = max(floor(corr(beta_fast)), 0); high = min(ceil(corr(beta_slow)), d - 1);
// ramp_i = clamp((i - low) / (high - low), 0, 1) with high += 0.001 when high == low;
// inv_freq_i = base_i / factor * ramp_i + base_i * (1 - ramp_i). The numbers are worked out here,
// not taken from adapter/rope.ts.

const close = (a: number, b: number, what: string) =>
  assert.ok(Math.abs(a - b) <= 1e-15 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

Deno.test("Kimi-K2 (beta_fast == beta_slow == 1): inv_freq and softmax scale by hand", () => {
  // d 64, theta 5e4, L 4096: corr(1) = 64 ln(4096 / 2pi) / (2 ln 5e4) = 19.1646, so low
  // = floor = 19 and high = ceil = 20: a one-index ramp. i <= 19 keeps theta^(-2i/64);
  // i >= 20 is divided by the factor 32.
  const s = presetSpec("kimi-k2");
  const base = (i: number) => Math.pow(50000, (-2 * i) / 64);
  assert.equal(s.invFreq.length, 32);
  for (let i = 0; i < 32; i++) {
    close(s.invFreq[i], i <= 19 ? base(i) : base(i) / 32, `kimi i=${i}`);
  }
  // m = 0.1 * 1 * ln 32 + 1 = 1.3465736; scale = m^2 / sqrt(192).
  const m = 0.1 * Math.log(32) + 1;
  close(s.softmaxScale, (m * m) / Math.sqrt(192), "kimi scale");
  assert.equal(s.ropeCosSinScale, 1); // mscale == mscale_all_dim
  // 0905: factor 64, same ramp, m = 0.1 ln 64 + 1.
  const n = presetSpec("kimi-k2-0905");
  for (const i of [0, 19, 20, 31]) {
    close(n.invFreq[i], i <= 19 ? base(i) : base(i) / 64, `0905 ${i}`);
  }
  const m64 = 0.1 * Math.log(64) + 1;
  close(n.softmaxScale, (m64 * m64) / Math.sqrt(192), "0905 scale");
});

Deno.test("tiny-kimi: Kimi's RoPE on rope 8 ramps from index 2 to 3", () => {
  // corr(1) = 8 ln(4096 / 2pi) / (2 ln 5e4) = 2.3956: low 2, high 3.
  const s = presetSpec("tiny-kimi");
  const base = (i: number) => Math.pow(50000, (-2 * i) / 8);
  [base(0), base(1), base(2), base(3) / 32].forEach((want, i) => close(s.invFreq[i], want, `${i}`));
  assert.equal(s.qPath, "low-rank");
});

Deno.test("YaRN ramp edge cases the reference accepts: high == low, and high < low", () => {
  // high == low: d 8, theta 1e4, L 2, beta 1/1: corr = 8 ln(2 / 2pi) / (2 ln 1e4) = -0.497;
  // low = max(floor, 0) = 0, high = min(ceil = -0, 7) = 0, so high becomes 0.001 and
  // ramp_i = clamp(i / 0.001, 0, 1): index 0 keeps its frequency, every other is divided.
  const eq = yarnInvFreq(8, 10000, {
    factor: 4,
    originalMaxPositionEmbeddings: 2,
    betaFast: 1,
    betaSlow: 1,
  });
  const b8 = (i: number) => Math.pow(10000, (-2 * i) / 8);
  [b8(0), b8(1) / 4, b8(2) / 4, b8(3) / 4].forEach((want, i) => close(eq[i], want, `eq ${i}`));
  // high < low (beta_fast 1 < beta_slow 32): d 64, theta 1e4, L 4096: low = floor(corr(1)) =
  // floor(22.51) = 22, high = ceil(corr(32)) = ceil(10.47) = 11; ramp_i = clamp((i - 22) / -11):
  // 1 (divided) for i <= 11, 0 (kept) for i >= 22, (22 - i) / 11 between.
  const rev = yarnInvFreq(64, 10000, {
    factor: 40,
    originalMaxPositionEmbeddings: 4096,
    betaFast: 1,
    betaSlow: 32,
  });
  const b64 = (i: number) => Math.pow(10000, (-2 * i) / 64);
  close(rev[5], b64(5) / 40, "rev 5");
  close(rev[30], b64(30), "rev 30");
  const r = 6 / 11;
  close(rev[16], (b64(16) / 40) * r + b64(16) * (1 - r), "rev 16");
});

Deno.test("transformers-5 rope_parameters: Kimi's values give the hand-derived spec", () => {
  const { spec, reading } = readHf({
    hidden_size: 64,
    num_attention_heads: 4,
    q_lora_rank: 24,
    kv_lora_rank: 32,
    qk_nope_head_dim: 16,
    qk_rope_head_dim: 8,
    v_head_dim: 16,
    rope_parameters: {
      rope_type: "yarn",
      rope_theta: 50000,
      factor: 32,
      beta_fast: 1,
      beta_slow: 1,
      mscale: 1,
      mscale_all_dim: 1,
      original_max_position_embeddings: 4096,
    },
  }, { name: "t5" });
  assert.equal(reading.ropeShape, "rope_parameters");
  const base = (i: number) => Math.pow(50000, (-2 * i) / 8);
  [base(0), base(1), base(2), base(3) / 32].forEach((w, i) => close(spec.invFreq[i], w, `t5 ${i}`));
  const m = 0.1 * Math.log(32) + 1;
  close(spec.softmaxScale, (m * m) / Math.sqrt(24), "t5 scale");
  assert.equal(spec.ropeTheta, 50000);
});

Deno.test("defaults are listed: absent mscale_all_dim becomes 0 and drops m^2", () => {
  const { spec, reading } = readHf({
    hidden_size: 64,
    num_attention_heads: 4,
    q_lora_rank: null,
    kv_lora_rank: 32,
    qk_nope_head_dim: 16,
    qk_rope_head_dim: 8,
    v_head_dim: 16,
    rope_scaling: { type: "yarn", factor: 40 },
  }, { name: "sparse" });
  assert.deepEqual(reading.defaulted.map((d) => [d.field, d.value]), [
    ["rope_theta", 10000],
    ["rope_scaling.original_max_position_embeddings", 4096],
    ["rope_scaling.beta_fast", 32],
    ["rope_scaling.beta_slow", 1],
    ["rope_scaling.mscale", 1],
    ["rope_scaling.mscale_all_dim", 0],
    ["rms_norm_eps", 1e-6],
    ["rope_pairing", "interleaved"],
  ]);
  assert.equal(spec.softmaxScale, 1 / Math.sqrt(24));
});

Deno.test("a YaRN factor that max / original positions contradict is read as given and said (transformers 4.x reads the ratio)", async () => {
  const raw = JSON.parse(
    await Deno.readTextFile(new URL("./fixtures/hf_deepseek_v3_config.json", import.meta.url)),
  );
  const trimmed = readHf({ ...raw, max_position_embeddings: 32768 }, { name: "t" });
  // DeepSeek's code and transformers 5: factor 40, as the untrimmed config
  assert.deepEqual(trimmed.spec.invFreq, readHf(raw, { name: "v3" }).spec.invFreq);
  const note = trimmed.reading.defaulted.find((d) => d.field === "rope_scaling.factor");
  assert.equal(note?.value, 40);
  assert.match(note?.note ?? "", /transformers 4\.x uses .* = 32768 \/ 4096 = 8 instead/);
  assert.ok(!readHf(raw, { name: "v3" }).reading.defaulted.some((d) => d.field.endsWith("factor")));
});
