/**
 * MiniCPM3 (model_type minicpm3) and its LongRoPE, read as the model's code reads them. The
 * expected numbers are computed here from the formulas of MiniCPM3's remote code
 * (openbmb/MiniCPM3-4B `modeling_minicpm.py`: `MiniCPMLongRoPE`, `rotate_half`,
 * `softmax_scale = q_head_dim ** -0.5`, `v_head_dim = hidden_size // num_attention_heads`)
 * and transformers' MiniCPM3 (`modular_minicpm3.py`, `modeling_rope_utils.py`
 * `_compute_longrope_parameters`), not from the code under test:
 * - inv_freq_i = 1 / (ext_i * theta^(2i/d)), ext = short_factor when the longest key
 *   sequence is at most original_max_position_embeddings, long_factor above;
 * - cos/sin x sqrt(1 + ln(max_position_embeddings / original) / ln(original));
 * - q_pe and k_pe rotated by rotate_half (halves: i with i + d/2) with emb = cat(freqs, freqs).
 * Where the two codes disagree the config is refused (exit 2), naming the field.
 */
import assert from "node:assert/strict";
import { readConfig, readConfigFile } from "../adapter/config.ts";
import { normalizeLayout } from "../adapter/layout.ts";
import { LONGROPE_FACTORS_CODE, specForLayout } from "../adapter/longrope.ts";
import { resolve } from "../adapter/resolve.ts";
import type { MlaSpec } from "../adapter/types.ts";
import { applyRope } from "../reference/rope_apply.ts";
import { caseRequest } from "../runner/case_request.ts";
import { runMatrix } from "../runner/run_matrix.ts";
import { CASE_DEFAULTS } from "../matrix/types.ts";
import { SILENT_PROGRESS } from "../report/progress.ts";
import { runCli } from "./helpers_cli.ts";
import { encodeSafetensors } from "../weights/safetensors.ts";
import { configError, GOOD_HF } from "./config_helpers.ts";
import { HAS_ADAPTER } from "./gpu_helpers.ts";

const fixture = (name: string) => new URL(`./fixtures/minicpm3/${name}`, import.meta.url).pathname;
const TINY = fixture("tiny_longrope.json");
const SCALED = fixture("tiny_longrope_scaled.json");
const SHORT = [1.0, 1.5, 3.0, 8.0];
const LONG = [1.25, 4.0, 16.0, 64.0];

async function raw(path: string): Promise<Record<string, unknown>> {
  return JSON.parse(await Deno.readTextFile(path));
}

/** MiniCPM3's inverse frequencies for rope width 8, theta 10000 and one factor list. */
function expectedInvFreq(ext: number[]): number[] {
  return ext.map((e, i) => 1 / (e * 10000 ** ((2 * i) / 8)));
}

function assertClose(got: readonly number[], want: readonly number[], what: string) {
  assert.equal(got.length, want.length, what);
  got.forEach((g, i) => assert.ok(Math.abs(g - want[i]) <= 1e-15 * Math.abs(want[i]), what));
}

Deno.test("MiniCPM3 tiny config: widths, pairing, softmax scale and short-list frequencies", async () => {
  const { spec, reading } = await readConfigFile(TINY);
  assert.equal(spec.vChannels, 64 / 4); // hidden / heads: no v_head_dim in the config
  assert.equal(spec.kChannels, 24);
  assert.equal(spec.qLoraRank, 24);
  assert.equal(spec.ropePairing, "neox");
  assert.equal(spec.yarn, null);
  assert.equal(spec.softmaxScale, 1 / Math.sqrt(24));
  assert.equal(spec.ropeCosSinScale, 1); // max positions == original
  assert.equal(spec.longrope?.factors, "short");
  assertClose(spec.invFreq, expectedInvFreq(SHORT), "short inv_freq");
  const fields = reading.defaulted.map((d) => d.field);
  for (const f of ["v_head_dim", "rope_pairing", "rope_scaling.short_factor"]) {
    assert.ok(fields.includes(f), `${f} in ${fields}`);
  }
});

Deno.test("MiniCPM3: max positions above the original length scale cos/sin by sqrt(1 + ln r / ln orig)", async () => {
  const { spec } = await readConfigFile(SCALED);
  // max 256, original 16: sqrt(1 + ln 16 / ln 16) = sqrt 2
  assert.ok(Math.abs(spec.ropeCosSinScale - Math.SQRT2) < 1e-15);
  assert.equal(spec.softmaxScale, 1 / Math.sqrt(24)); // no m^2: LongRoPE leaves the scale
  assertClose(spec.invFreq, expectedInvFreq([1, 2, 4, 8]), "inv_freq");
});

Deno.test("MiniCPM3: a case picks the factor list by its longest key sequence", async () => {
  const base = { ...CASE_DEFAULTS, preset: TINY, b: 2, sq: 1 };
  for (
    const [sk, layout, list, factors] of [
      [16, "bshd", SHORT, "short"],
      [17, "bshd", LONG, "long"],
      [20, "thd", LONG, "long"],
      [12, "thd", SHORT, "short"],
    ] as const
  ) {
    const req = await caseRequest({ ...base, sk, layout }, { seed: 1 });
    assert.equal(req.spec.longrope?.factors, factors, `sk ${sk}`);
    assertClose(req.spec.invFreq, expectedInvFreq([...list]), `sk ${sk}`);
    const r = resolve({ ...req, backend: "cpu-reference" }, null, {});
    assert.equal(r.kind, "plan", JSON.stringify(r));
    if (r.kind === "plan") {
      assertClose(r.attention.rope.invFreq, expectedInvFreq([...list]), "plan");
    }
  }
});

Deno.test("MiniCPM3: a spec with the other list than the keys call for is refused, not run", async () => {
  const { spec } = await readConfigFile(TINY);
  const req = {
    spec,
    layout: { kind: "bshd" as const, batch: 1, seqQ: 1, seqK: 20, causal: true },
    dtype: "f32" as const,
    backend: "cpu-reference" as const,
  };
  const r = resolve(req, null, {});
  assert.equal(r.kind, "unsupported");
  if (r.kind === "unsupported") {
    assert.deepEqual(r.reasons.map((x) => x.code), [LONGROPE_FACTORS_CODE]);
    assert.match(r.reasons[0].message, /long_factor/);
  }
  const chosen = specForLayout(spec, normalizeLayout(req.layout));
  assert.equal(resolve({ ...req, spec: chosen }, null, {}).kind, "plan");
});

Deno.test("MiniCPM3: the float64 reference rotates q_pe as rotate_half with cat(freqs, freqs)", async () => {
  const { spec } = await readConfigFile(SCALED);
  const x = [0.3, -1.2, 0.7, 2.0, -0.4, 1.1, 0.05, -0.9];
  const p = 13;
  const s = Math.SQRT2;
  // MiniCPM3: emb = cat(freqs, freqs), out = x * cos(emb) * s + rotate_half(x) * sin(emb) * s
  const freqs = expectedInvFreq([1, 2, 4, 8]).map((f) => f * p);
  const emb = [...freqs, ...freqs];
  const half = [...x.slice(4).map((v) => -v), ...x.slice(0, 4)];
  const want = x.map((v, i) => v * Math.cos(emb[i]) * s + half[i] * Math.sin(emb[i]) * s);
  const got = applyRope(new Float64Array(x), [p], {
    invFreq: spec.invFreq,
    pairing: spec.ropePairing,
    cosSinScale: spec.ropeCosSinScale,
  });
  got.forEach((g, i) =>
    assert.ok(Math.abs(g - want[i]) < 1e-12, `channel ${i}: ${g} vs ${want[i]}`)
  );
});

/** The tiny config with some keys replaced (undefined removes one). */
async function variant(
  top: Record<string, unknown>,
  rope: Record<string, unknown> = {},
): Promise<Record<string, unknown>> {
  const c = { ...(await raw(TINY)), ...top };
  c.rope_scaling = { ...(c.rope_scaling as Record<string, unknown>), ...rope };
  return JSON.parse(JSON.stringify(c));
}

Deno.test("MiniCPM3: where its code and transformers' disagree, or a key is unread, exit 2 by name", async () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ["no model_type", await variant({ model_type: "deepseek_v3" }), /^rope_scaling\.type$/],
    ["factor", await variant({}, { factor: 4 }), /^rope_scaling\.factor$/],
    ["mscale_all_dim", await variant({}, { mscale_all_dim: 1 }), /^rope_scaling\.mscale_all_dim$/],
    [
      "short list length",
      await variant({}, { short_factor: [1, 2] }),
      /^rope_scaling\.short_factor$/,
    ],
    ["no long list", await variant({}, { long_factor: undefined }), /^rope_scaling\.long_factor$/],
    [
      "no original length",
      await variant({}, { original_max_position_embeddings: undefined }),
      /^rope_scaling\.original_max_position_embeddings$/,
    ],
    [
      "no max positions",
      await variant({ max_position_embeddings: undefined }),
      /^max_position_embeddings$/,
    ],
    [
      "max below original",
      await variant({ max_position_embeddings: 8 }),
      /^max_position_embeddings$/,
    ],
    [
      "max above original, lists differ",
      await variant({ max_position_embeddings: 64 }),
      /^rope_scaling\.long_factor$/,
    ],
    ["v_head_dim not hidden/heads", await variant({ v_head_dim: 32 }), /^v_head_dim$/],
    ["interleaved pairs", await variant({ rope_interleave: true }), /^rope_interleave$/],
    [
      "attention_factor",
      await variant({}, { attention_factor: 1.2 }),
      /^rope_scaling\.attention_factor$/,
    ],
    ["nope beside longrope", await variant({ mla_use_nope: true }), /^mla_use_nope$/],
  ];
  for (const [what, config, path] of cases) {
    const e = configError(() => readConfig(config, { name: what }));
    assert.ok(e.issues.some((i) => path.test(i.path)), `${what}: ${JSON.stringify(e.issues)}`);
  }
  // YaRN never reads the LongRoPE lists
  const yarn = configError(() =>
    readConfig({
      ...GOOD_HF,
      rope_scaling: {
        type: "yarn",
        factor: 4,
        original_max_position_embeddings: 4096,
        short_factor: [1, 1, 1, 1],
      },
    }, { name: "yarn" })
  );
  assert.ok(yarn.issues.some((i) => i.path === "rope_scaling.short_factor"));
  // MiniCPM3 with YaRN: its modeling_minicpm.py raises "Unknown RoPE scaling type" (it builds
  // linear, dynamic or longrope) and its softmax is (nope + rope)^-0.5 whatever the RoPE. Before,
  // it was read with DeepSeek's YaRN: softmax m^2 / sqrt(24) = 0.264642 (m = 0.1 ln 4 + 1), not
  // 1/sqrt(24) = 0.204124, and YaRN frequencies. Now refused naming the type.
  for (const shape of ["rope_scaling", "rope_parameters"] as const) {
    const yarnKeys = {
      factor: 4,
      original_max_position_embeddings: 16,
      mscale: 1,
      mscale_all_dim: 1,
    };
    const mc = await raw(TINY);
    delete mc.rope_scaling;
    const obj = shape === "rope_scaling"
      ? { ...mc, rope_scaling: { type: "yarn", ...yarnKeys } }
      : { ...mc, rope_parameters: { rope_type: "yarn", rope_theta: 10000, ...yarnKeys } };
    const e = configError(() => readConfig(obj, { name: "mc-yarn" }));
    const typeKey = shape === "rope_scaling" ? "type" : "rope_type";
    assert.deepEqual(
      e.issues.map((i) => i.path),
      [`${shape}.${typeKey}`],
      JSON.stringify(e.issues),
    );
    assert.match(e.issues[0].message, /raises "Unknown RoPE scaling type"/);
  }
  // a DeepSeek-style config still needs v_head_dim
  const { v_head_dim: _, ...noV } = {
    ...(await raw(TINY)),
    v_head_dim: 16,
    model_type: "deepseek_v2",
    rope_scaling: null,
  };
  const v = configError(() => readConfig(noV, { name: "no-v" }));
  assert.ok(v.issues.some((i) => i.path === "v_head_dim" && /is required/.test(i.message)));
});

Deno.test("explain: a MiniCPM3 config prints LongRoPE; a disagreeing one exits 2 naming the field", async () => {
  const ok = await runCli(["explain", TINY, "--seq-k", "20", "--json"]);
  assert.equal(ok.code, 0, ok.stderr);
  const spec = JSON.parse(ok.stdout).spec as MlaSpec;
  assert.equal(spec.longrope?.factors, "long");
  assertClose(spec.invFreq, expectedInvFreq(LONG), "explain inv_freq");
  const text = await runCli(["explain", TINY, "--seq-k", "12"]);
  assert.match(text.stdout, /LongRoPE \(MiniCPM3\): short_factor/);
  const dir = await Deno.makeTempDir({ prefix: "minicpm3-" });
  try {
    const bad = `${dir}/bad.json`;
    await Deno.writeTextFile(bad, JSON.stringify(await variant({ max_position_embeddings: 64 })));
    const r = await runCli(["explain", bad]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /rope_scaling\.long_factor/);
    assert.match(r.stdout + r.stderr, /the two codes disagree/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "MiniCPM3 LongRoPE on the device: short and long lists, scaled cos/sin, both paths match float64",
  ignore: !HAS_ADAPTER,
  fn: async () => {
    const out = await Deno.makeTempDir({ prefix: "minicpm3-run-" });
    try {
      const report = await runMatrix({
        matrix: fixture("matrix.json"),
        out,
        repeats: 0,
        progress: SILENT_PROGRESS,
      });
      const got = report.results.map((c) => `${c.status} ${c.id}`);
      assert.equal(report.results.length, 32, got.join("\n"));
      assert.ok(report.results.every((c) => c.status === "pass"), got.join("\n"));
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test({
  name: "layer on a MiniCPM3 config: the input's length picks the list, and parity passes",
  ignore: !HAS_ADAPTER,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "minicpm3-layer-" });
    try {
      for (const [tokens, list] of [[12, "short"], [20, "long"]] as const) {
        const input = `${dir}/x${tokens}.safetensors`;
        const data = Array.from({ length: tokens * 64 }, (_, i) => Math.sin(i * 0.37) / 2);
        await Deno.writeFile(
          input,
          encodeSafetensors({ hidden_states: { dtype: "F32", shape: [1, tokens, 64], data } }),
        );
        const r = await runCli([
          "layer",
          "--config",
          fixture("tiny_longrope.json"),
          "--input",
          input,
          "--out",
          `${dir}/y${tokens}.safetensors`,
        ]);
        // 20 keys are above original_max_position_embeddings 16: the long list (it was
        // refused as spec.longrope-factors before the layer derived its spec per input)
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.match(r.stdout, new RegExp(`, LongRoPE ${list}_factor\\n`));
        assert.match(r.stdout, /parity vs float64 reference \(\d+ of \d+ rows\): PASS/);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
