import assert from "node:assert/strict";
import { specFromFile, specFromHf, specFromMegatron } from "../adapter/config.ts";
import { PRESET_NAMES, presetSpec } from "../adapter/presets.ts";
import { plainInvFreq, ropeCosSin, ropePairs, yarnGetMscale } from "../adapter/rope.ts";
import { withParams } from "../adapter/spec.ts";

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;

Deno.test("softmax scale reproduces the published values to 6 digits", () => {
  // Published values (MLA_MATH.md): m = 0.1 * mscale_all_dim * ln(factor) + 1, s = m^2/sqrt(192).
  assert.equal(presetSpec("deepseek-v2-lite").softmaxScale.toFixed(6), "0.114721");
  assert.equal(presetSpec("deepseek-v2").softmaxScale.toFixed(6), "0.114721");
  assert.equal(presetSpec("deepseek-v3").softmaxScale.toFixed(6), "0.135234");
  assert.equal(presetSpec("kimi-k2").softmaxScale.toFixed(6), "0.130861");
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
  // Megatron's default (mla_rotary_interleaved absent = false) is rotate-half (NeoX) pairing.
  const d = specFromMegatron({
    hidden_size: 64,
    num_attention_heads: 4,
    kv_lora_rank: 32,
    qk_head_dim: 16,
    qk_pos_emb_head_dim: 8,
    v_head_dim: 16,
    rope_type: "rope",
  }, { name: "d" });
  assert.equal(d.ropePairing, "neox");
  assert.equal(d.yarn, null);
  assert.equal(d.softmaxScale, 1 / Math.sqrt(24));
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
