// Malformed configs and layouts: each must be rejected with a message naming the field path,
// the value found and what would be valid.
import assert from "node:assert/strict";
import { specFromConfig, specFromFile } from "../adapter/config.ts";
import { ConfigError, formatIssue } from "../adapter/errors.ts";
import { normalizeLayout } from "../adapter/layout.ts";
import { presetSpec } from "../adapter/presets.ts";
import { loadSpec } from "../adapter/source.ts";
import type { LayoutRequest } from "../adapter/types.ts";
import { classifiedWarnings, parseCaps, readCapsFile } from "../adapter/caps_file.ts";
import { configError, GOOD_HF, GOOD_MEGATRON } from "./config_helpers.ts";
import { runCli } from "./helpers_cli.ts";

const good = GOOD_HF;
const goodMegatron = GOOD_MEGATRON;

async function configErrorAsync(fn: () => Promise<unknown>): Promise<ConfigError> {
  try {
    await fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    return e;
  }
  assert.fail("expected a ConfigError");
}

const hfCases: [string, Record<string, unknown>, string][] = [
  ["odd rope dim", { ...good, qk_rope_head_dim: 63 }, "qk_rope_head_dim: 63 must be even"],
  [
    "missing latent rank",
    { ...good, kv_lora_rank: undefined },
    "kv_lora_rank: (missing) is required; expected a positive integer",
  ],
  [
    "zero heads",
    { ...good, num_attention_heads: 0 },
    "num_attention_heads: 0 must be a positive integer",
  ],
  [
    "string width",
    { ...good, hidden_size: "2048" },
    'hidden_size: "2048" must be a positive integer',
  ],
  [
    "fractional v dim",
    { ...good, v_head_dim: 12.5 },
    "v_head_dim: 12.5 must be a positive integer",
  ],
  [
    "q_lora_rank absent",
    { ...good, q_lora_rank: undefined },
    "q_lora_rank: (missing) is required; expected a positive integer, or null",
  ],
  [
    "unknown scaling type",
    { ...good, rope_scaling: { type: "linear", factor: 4 } },
    'rope_scaling.type: "linear" must be "yarn", "deepseek_yarn", "longrope" or "default"',
  ],
  [
    "scaling type absent",
    { ...good, rope_scaling: { factor: 4 } },
    'rope_scaling.type: (missing) is required (or "rope_type"): "yarn"',
  ],
  [
    "type and rope_type disagree",
    { ...good, rope_scaling: { type: "yarn", rope_type: "default", factor: 4 } },
    'rope_scaling.type: "yarn" disagrees with rope_scaling.rope_type "default"',
  ],
  [
    "yarn without factor",
    { ...good, rope_scaling: { type: "yarn" } },
    "rope_scaling.factor: (missing) is required; expected a finite number >= 1",
  ],
  [
    "transformers truncate option",
    { ...good, rope_scaling: { type: "yarn", factor: 40, truncate: false } },
    "rope_scaling.truncate: false unsupported: transformers' YaRN `truncate` option",
  ],
  [
    "transformers attention_factor option",
    { ...good, rope_parameters: { rope_type: "yarn", factor: 40, attention_factor: 1.2 } },
    "rope_parameters.attention_factor: 1.2 unsupported: transformers' YaRN `attention_factor`",
  ],
  [
    "unknown key in rope_scaling",
    { ...good, rope_scaling: { type: "yarn", factor: 40, low_freq_factor: 1 } },
    "rope_scaling.low_freq_factor: 1 is not a key MLA RoPE reads (it would be ignored); " +
    "known keys: type, rope_type, factor",
  ],
  [
    "zero beta",
    { ...good, rope_scaling: { type: "yarn", factor: 40, beta_fast: 0 } },
    "rope_scaling.beta_fast: 0 must be a positive finite number",
  ],
  [
    "negative mscale_all_dim",
    { ...good, rope_scaling: { type: "yarn", factor: 40, mscale_all_dim: -1 } },
    "rope_scaling.mscale_all_dim: -1 must be a finite number >= 0",
  ],
  [
    "theta of 1",
    { ...good, rope_theta: 1 },
    "rope_theta: 1 must be > 1 (theta^(-2i/d) must decay",
  ],
  [
    "rope_parameters without rope_type",
    { ...good, rope_parameters: { rope_theta: 50000, factor: 32 } },
    "rope_parameters.rope_type: (missing) is required;",
  ],
  [
    "rope_parameters and rope_scaling disagree",
    {
      ...good,
      rope_theta: 10000,
      rope_scaling: { type: "yarn", factor: 40, beta_fast: 32, beta_slow: 1 },
      rope_parameters: { rope_type: "yarn", rope_theta: 10000, factor: 32 },
    },
    "rope_parameters.factor: 32 disagrees with rope_scaling.factor 40 (both rope_parameters " +
    "and rope_theta/rope_scaling are present and disagree; give one shape)",
  ],
  [
    "rope_parameters and rope_theta disagree",
    { ...good, rope_theta: 10000, rope_parameters: { rope_type: "default", rope_theta: 50000 } },
    "rope_parameters.rope_theta: 50000 disagrees with rope_theta 10000",
  ],
  [
    "rope_parameters yarn but rope_scaling null",
    { ...good, rope_scaling: null, rope_parameters: { rope_type: "yarn", factor: 40 } },
    'rope_parameters.rope_type: "yarn" disagrees with rope_scaling null',
  ],
  [
    "rope dim of 1e8 (issue 16)",
    { ...good, qk_rope_head_dim: 100000000 },
    "qk_rope_head_dim: 100000000 must be at most 65536 (kernels index with u32",
  ],
  [
    "rope dim of 2e9 (issue 16)",
    { ...good, qk_rope_head_dim: 2000000000 },
    "qk_rope_head_dim: 2000000000 must be at most 65536",
  ],
  [
    "latent rank of 1e9 (issue 16)",
    { ...good, kv_lora_rank: 1e9 },
    "kv_lora_rank: 1000000000 must be at most 65536",
  ],
  [
    "q_lora_rank over the bound",
    { ...good, q_lora_rank: 70000 },
    "q_lora_rank: 70000 must be at most 65536",
  ],
  [
    "dimensions in bound, weight too large",
    { ...good, num_attention_heads: 4096, kv_lora_rank: 65536 },
    "(dimensions): 8589934592 elements in kv_b_proj [heads*(nope+v), kv_lora_rank]; one layer " +
    "weight may hold at most 536870912",
  ],
  [
    "factor below 1",
    { ...good, rope_scaling: { type: "yarn", factor: 0.5 } },
    "rope_scaling.factor: 0.5 must be >= 1",
  ],
  [
    "negative theta",
    { ...good, rope_theta: -5 },
    "rope_theta: -5 must be a positive finite number",
  ],
  [
    "bad pairing",
    { ...good, rope_pairing: "half" },
    'rope_pairing: "half" must be "interleaved" or "neox"',
  ],
];

for (const [name, raw, message] of hfCases) {
  Deno.test(`HF config rejected: ${name}`, () => {
    const e = configError(() => specFromConfig(raw, { name: "bad.json", format: "hf" }));
    assert.ok(e.message.includes(message), `message was:\n${e.message}`);
    assert.ok(e.message.startsWith("bad.json: invalid config"));
  });
}

Deno.test("HF config: every problem is listed, not just the first", () => {
  const e = configError(() =>
    specFromConfig({ ...good, qk_rope_head_dim: 7, num_attention_heads: -1 }, { name: "c" })
  );
  assert.equal(e.issues.length, 2);
  assert.deepEqual(e.issues.map((i) => i.path).sort(), ["num_attention_heads", "qk_rope_head_dim"]);
});

Deno.test("Megatron config rejected: odd qk_pos_emb_head_dim names the Megatron field", () => {
  const e = configError(() =>
    specFromConfig({ ...goodMegatron, qk_pos_emb_head_dim: 65 }, { name: "m.json" })
  );
  assert.ok(e.message.includes("qk_pos_emb_head_dim: 65 must be even"), e.message);
});

Deno.test("Megatron config rejected: non-boolean mla_rotary_interleaved", () => {
  const e = configError(() =>
    specFromConfig({ ...goodMegatron, mla_rotary_interleaved: "yes" }, { name: "m.json" })
  );
  assert.ok(e.message.includes('mla_rotary_interleaved: "yes" must be true or false'), e.message);
});

Deno.test("Megatron config rejected: dimensions are bounded as in the HF naming", () => {
  const e = configError(() =>
    specFromConfig({ ...goodMegatron, qk_pos_emb_head_dim: 100000000 }, { name: "m.json" })
  );
  assert.ok(
    e.message.includes("qk_pos_emb_head_dim: 100000000 must be at most 65536"),
    e.message,
  );
});

Deno.test("a huge rope dim fails fast (issue 16: it took 17 s and 3.3 GB)", () => {
  const t0 = performance.now();
  configError(() => specFromConfig({ ...good, qk_rope_head_dim: 100000000 }, { name: "x" }));
  assert.ok(performance.now() - t0 < 200, `took ${performance.now() - t0} ms`);
});

Deno.test("accepted as the reference code accepts them: beta_fast == beta_slow and < beta_slow", () => {
  for (const [fast, slow] of [[1, 1], [1, 2], [32, 32]]) {
    const s = specFromConfig({
      ...good,
      rope_scaling: { type: "yarn", factor: 40, beta_fast: fast, beta_slow: slow },
    }, { name: `beta ${fast}/${slow}` });
    assert.equal(s.yarn?.betaFast, fast);
    assert.equal(s.yarn?.betaSlow, slow);
    assert.ok(s.invFreq.every(Number.isFinite), `beta ${fast}/${slow}`);
  }
});

Deno.test("config rejected: JSON array instead of object", () => {
  const e = configError(() => specFromConfig([1, 2], { name: "arr.json" }));
  assert.ok(e.message.includes("(root): [1,2] must be a JSON object"), e.message);
});

Deno.test("config rejected: object with no MLA keys", () => {
  const e = configError(() => specFromConfig({ hidden_size: 4096 }, { name: "llama.json" }));
  assert.ok(e.message.includes("is not an MLA config"), e.message);
});

Deno.test("config file rejected: invalid JSON names the file", async () => {
  const path = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(path, '{"hidden_size": 64,');
  const e = await configErrorAsync(() => specFromFile(path));
  assert.ok(e.message.startsWith(`${path}: malformed config`), e.message);
  assert.ok(e.message.includes("is not valid JSON"), e.message);
  await Deno.remove(path);
});

Deno.test("config file rejected: missing file", async () => {
  const e = await configErrorAsync(() => specFromFile("/nonexistent/config.json"));
  assert.ok(e.message.includes("cannot be read"), e.message);
});

Deno.test("unknown preset lists the valid ones", async () => {
  const e = await configErrorAsync(() => loadSpec("deepseek-v4"));
  assert.ok(e.message.includes("deepseek-v2-lite, deepseek-v2, deepseek-v3"), e.message);
  assert.throws(() => presetSpec("nope"), /unknown preset/);
});

const layoutCases: [string, LayoutRequest, string][] = [
  [
    "cu_seqlens not starting at 0",
    { kind: "thd", cuSeqlensQ: [1, 5], causal: true },
    "cuSeqlensQ[0]: 1 must be 0",
  ],
  [
    "decreasing cu_seqlens",
    { kind: "thd", cuSeqlensQ: [0, 5, 3], causal: true },
    "cuSeqlensQ[2]: 3 must be >= the previous offset 5",
  ],
  [
    "single offset",
    { kind: "thd", cuSeqlensQ: [0], causal: true },
    "cuSeqlensQ: [0] must list at least two offsets",
  ],
  [
    "negative offset",
    { kind: "thd", cuSeqlensQ: [0, -2], causal: true },
    "cuSeqlensQ[1]: -2 must be a non-negative integer",
  ],
  [
    "key offsets of another length",
    { kind: "thd", cuSeqlensQ: [0, 2, 4], cuSeqlensK: [0, 4], causal: false },
    "cuSeqlensK: [0,4] must have 3 entries",
  ],
  [
    "padding too small",
    { kind: "thd", cuSeqlensQ: [0, 4, 6], cuSeqlensQPadded: [0, 3, 8], causal: true },
    "cuSeqlensQPadded[1]: 3 leaves 3 rows for sequence 0 of 4 tokens",
  ],
  [
    "cache length over capacity",
    { kind: "bshd", batch: 2, seqQ: 1, seqK: 8, kvLens: [8, 9], causal: true },
    "kvLens[1]: 9 must be an integer in [0, seqK=8]",
  ],
  [
    "kvLens of the wrong count",
    { kind: "bshd", batch: 2, seqQ: 1, seqK: 8, kvLens: [8], causal: true },
    "kvLens: [8] must list one key length per sequence (2)",
  ],
  [
    "zero batch",
    { kind: "sbhd", batch: 0, seqQ: 1, seqK: 8, causal: true },
    "batch: 0 must be an integer >= 1",
  ],
];

for (const [name, req, message] of layoutCases) {
  Deno.test(`layout rejected: ${name}`, () => {
    const e = configError(() => normalizeLayout(req));
    assert.ok(e.message.includes(message), `message was:\n${e.message}`);
  });
}

Deno.test("layout rejected: last offset must equal the token count when known", () => {
  const e = configError(() =>
    normalizeLayout({ kind: "thd", cuSeqlensQ: [0, 5, 12], causal: true }, { qRows: 13 })
  );
  assert.ok(e.message.includes("cuSeqlensQ[2]: 12 must equal the token count 13"), e.message);
});

Deno.test("caps file rejected: features not an array", async () => {
  const path = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(
    path,
    JSON.stringify({ adapter: {}, features: "shader-f16", limits: {} }),
  );
  const e = await configErrorAsync(() => readCapsFile(path));
  assert.ok(e.message.includes("features"), e.message);
  assert.ok(e.message.includes("must be an array"), e.message);
  await Deno.remove(path);
});

Deno.test("caps file rejected: a loop budget that is not a positive integer or null", async () => {
  const path = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(
    path,
    JSON.stringify({ adapter: {}, features: [], limits: {}, loopIterationBudget: -3 }),
  );
  const e = await configErrorAsync(() => readCapsFile(path));
  assert.ok(e.message.includes("loopIterationBudget"), e.message);
  await Deno.remove(path);
});

Deno.test("caps file rejected: each bad field shows the value found, not (missing)", async () => {
  const path = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(
    path,
    JSON.stringify({ adapter: {}, features: [], limits: {}, smCount: "x", webgpuBackend: 5 }),
  );
  const e = await configErrorAsync(() => readCapsFile(path));
  assert.ok(e.message.includes('smCount: "x" must be a positive integer'), e.message);
  assert.ok(
    e.message.includes('webgpuBackend: 5 must be a WebGPU backend name like "vulkan" or "gl"'),
    e.message,
  );
  await Deno.remove(path);
});

Deno.test("caps file rejected: a limit below what every WebGPU device has (explain planned 64-invocation passes on 32)", () => {
  const limits = (l: Record<string, number>) => ({ adapter: {}, features: [], limits: l });
  const e = configError(() =>
    parseCaps(
      limits({
        maxComputeWorkgroupSizeX: 32,
        maxStorageBufferBindingSize: 65536,
        minStorageBufferOffsetAlignment: 512,
      }),
      "c.json",
    )
  );
  assert.match(e.message, /^c\.json: invalid caps file/);
  assert.match(
    e.message,
    /limits\.maxComputeWorkgroupSizeX: 32 is below 128, the least a WebGPU device reports \(core WebGPU's minimum is 256\): .*matrix device profile/,
  );
  assert.match(e.message, /maxStorageBufferBindingSize: 65536 is below 134217728, the least/);
  assert.match(e.message, /minStorageBufferOffsetAlignment: 512 is above 256, WebGPU's largest/);
  // compatibility mode's 128 and wgpu's downlevel 16352 bytes read; a limit the harness
  // does not read is kept as reported; a device profile may go below (it simulates one)
  parseCaps(
    limits({
      maxComputeInvocationsPerWorkgroup: 128,
      maxComputeWorkgroupSizeX: 128,
      maxComputeWorkgroupStorageSize: 16352,
      maxTextureDimension2D: 2048,
      maxBindGroups: 1,
    }),
    "c.json",
  );
});

Deno.test("caps file rejected: a limit past 2^53 - 1 is said to be, not called 'not an integer'", () => {
  const e = configError(() =>
    parseCaps(
      { adapter: {}, features: [], limits: { maxBufferSize: 1e300, maxBindGroups: -1 } },
      "c.json",
    )
  );
  assert.match(
    e.message,
    /limits\.maxBufferSize: 1e\+300 is past 9007199254740991 \(2\^53 - 1\), the largest integer a JSON number holds exactly/,
  );
  assert.doesNotMatch(e.message, /maxBufferSize: 1e\+300 must be an integer/);
  assert.match(e.message, /limits\.maxBindGroups: -1 must be an integer >= 0 \(a WebGPU limit\)/);
});

Deno.test("layout rejected: block tables that point outside the pool, reuse a page or are short", () => {
  const e = configError(() =>
    normalizeLayout({
      kind: "bshd",
      batch: 3,
      seqQ: 1,
      seqK: 8,
      kvLens: [4, 4, 8],
      causal: true,
      paging: { pageSize: 4, numPages: 3, blockTable: [[0], [3], [0]] },
    })
  );
  assert.ok(
    e.message.includes("paging.blockTable[1][0]: 3 must be a page id in [0, 3)"),
    e.message,
  );
  assert.ok(
    e.message.includes('paging.blockTable[2]: "1 entries" needs at least 2 page ids'),
    e.message,
  );
  const f = configError(() =>
    normalizeLayout({
      kind: "bshd",
      batch: 2,
      seqQ: 1,
      seqK: 4,
      causal: true,
      paging: { pageSize: 4, numPages: 2, blockTable: [[1], [1]] },
    })
  );
  assert.ok(
    f.message.includes("paging.blockTable[1][0]: 1 page already used by blockTable[0][0]"),
    f.message,
  );
});

Deno.test("formatIssue: a case id is shown whole (its last keys tell two apart); other values cut", () => {
  const id =
    "preset=deepseek-v2-lite;path=absorbed;dtype=f32;b=2;sq=1;sk=4096;layout=bshd;causal=1";
  assert.equal(
    formatIssue({ path: "groups[3]", value: id, message: "duplicates a case of group 1" }),
    `groups[3]: ${JSON.stringify(id)} duplicates a case of group 1`,
  );
  const long = Array.from({ length: 40 }, (_, i) => i);
  assert.match(
    formatIssue({ path: "x", value: long, message: "m" }),
    /^x: \[0,1,2,.{40,}\.\.\. m$/,
  );
});

Deno.test("formatIssue: a number past float64's range is shown as Infinity, not as JSON's null", () => {
  // JSON.parse("1e400") is Infinity; the message quoted it as null, a value the file lacks
  const cfg = JSON.parse(JSON.stringify(GOOD_HF).replace(/}$/, ',"rope_theta":1e400}'));
  assert.equal(cfg.rope_theta, Infinity);
  const e = configError(() => specFromConfig(cfg, { name: "big.json", format: "hf" }));
  const line = e.issues.map(formatIssue).find((l) => l.startsWith("rope_theta:"));
  assert.equal(
    line,
    "rope_theta: Infinity (a number past float64's range, as 1e400 is) must be a positive finite number",
  );
  assert.equal(
    formatIssue({ path: "b", value: [1, -Infinity], message: "m" }),
    "b: [1,-Infinity] m",
  );
  assert.equal(
    formatIssue({ path: "x", value: -Infinity, message: "m" }),
    "x: -Infinity (a number past float64's range, as -1e400 is) m",
  );
});

Deno.test("finite keys that derive a non-finite softmax scale are refused (explain showed Infinity, its JSON null)", async () => {
  const raw = JSON.parse(
    await Deno.readTextFile(new URL("./fixtures/hf_deepseek_v2_lite_config.json", import.meta.url)),
  );
  raw.rope_scaling.mscale_all_dim = 1e308;
  const e = configError(() => specFromConfig(raw, { name: "big.json" }));
  assert.match(
    e.message,
    /\(softmax scale\): Infinity .* is what m\^2 \/ sqrt\(192\) gives with m = 3\.68\d*e\+307 \(from the YaRN factor 40, mscale 0\.707, mscale_all_dim 1e\+308\)/,
  );
  // the RoPE cos/sin scale m(factor, mscale) / m(factor, mscale_all_dim): its numerator alone
  // past float64's range, while the softmax scale stays finite
  const cs = structuredClone(raw);
  cs.rope_scaling = { ...cs.rope_scaling, factor: 1e10, mscale: 1e308, mscale_all_dim: 1 };
  const cse = configError(() => specFromConfig(cs, { name: "cs.json" }));
  assert.match(
    cse.message,
    /\(RoPE cos\/sin scale\): Infinity .* is not finite \(from the YaRN factor 10000000000, mscale 1e\+308, mscale_all_dim 1\)/,
  );
  assert.doesNotMatch(cse.message, /softmax scale/);
  // LongRoPE: the long list too, which a case with long keys switches to after reading
  const mini = JSON.parse(
    await Deno.readTextFile(new URL("./fixtures/minicpm3/tiny_longrope.json", import.meta.url)),
  );
  mini.rope_scaling.long_factor[0] = 1e-320;
  const lr = configError(() => specFromConfig(mini, { name: "mini.json" }));
  assert.match(
    lr.message,
    /rope_scaling\.long_factor\[0\]: 1e-320 gives the inverse frequency Infinity at pair 0 .*from the long_factor list/,
  );
});

Deno.test("a devices --json file whose classified block disagrees with its keys is said, naming the keys that set it", async () => {
  const path =
    new URL("../docs/gpu_machine/h100-2026-11-27/devices.json", import.meta.url).pathname;
  const raw = JSON.parse(await Deno.readTextFile(path));
  const caps = parseCaps(raw, path);
  // as devices --json writes it (the class the keys give: gpu, the table's 132 SMs): nothing
  assert.deepEqual(
    classifiedWarnings({ ...raw, classified: { kind: "gpu", smCount: 132 } }, caps),
    [],
  );
  // edited by hand: before, ignored without a word
  const lines = classifiedWarnings({ ...raw, classified: { kind: "cpu", smCount: 64 } }, caps);
  assert.equal(lines.length, 2);
  assert.match(
    lines[0],
    /classified\.kind "cpu" disagrees with the class this file's keys give \(gpu\), which is planned with: .*set the top-level "deviceClass"/,
  );
  assert.match(lines[1], /classified\.smCount 64 disagrees .*\(132\).*set the top-level "smCount"/);
  // a huge value is cut, not printed whole (a 400 KB warning line)
  const huge = classifiedWarnings({ ...raw, classified: { kind: "x".repeat(400_000) } }, caps);
  assert.equal(huge.length, 1);
  assert.match(huge[0], /^classified\.kind "x{200,}\.\.\. disagrees/);
  assert.ok(huge[0].length < 1000, `${huge[0].length} characters`);
  // through explain: a warning on stderr, the file still read (an older harness's file too)
  const dir = await Deno.makeTempDir({ prefix: "mla-classified-" });
  try {
    const edited = `${dir}/devices.json`;
    await Deno.writeTextFile(edited, JSON.stringify({ ...raw, classified: { kind: "cpu" } }));
    const r = await runCli(["explain", "tiny", "--caps", edited]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /warning: .*devices\.json: classified\.kind "cpu" disagrees/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a caps file's alignment limits must be powers of two (3 planned offsets no device takes)", async () => {
  const raw = JSON.parse(
    await Deno.readTextFile(new URL("./fixtures/caps_lavapipe.json", import.meta.url)),
  );
  const dir = await Deno.makeTempDir({ prefix: "mla-align-" });
  try {
    for (const v of [3, 48]) {
      const f = `${dir}/c${v}.json`;
      await Deno.writeTextFile(
        f,
        JSON.stringify({ ...raw, limits: { ...raw.limits, minStorageBufferOffsetAlignment: v } }),
      );
      await assert.rejects(
        () => readCapsFile(f),
        new RegExp(`minStorageBufferOffsetAlignment: ${v} must be a power of two`),
      );
    }
    assert.ok(
      await readCapsFile(new URL("./fixtures/caps_lavapipe.json", import.meta.url).pathname),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a value nested too deep for JSON.stringify is shown as such, not a stack overflow", async () => {
  // what JSON.parse reads from "[[[...]]]" 200000 deep (it parses such a file)
  let deep: unknown = [];
  for (let i = 0; i < 200000; i++) deep = [deep];
  assert.equal(
    formatIssue({ path: "(root)", value: deep, message: "must be an object" }),
    "(root): [[[... (nested too deep to show) must be an object",
  );
  // through explain --caps: exit 2 naming the file, no stack trace
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/caps.json`;
    await Deno.writeTextFile(file, "[".repeat(200000) + "]".repeat(200000));
    const r = await runCli(["explain", "tiny", "--caps", file]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /invalid caps file\n {2}\(root\): \[\[\[\.\.\. \(nested too deep to show\)/,
    );
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
