/**
 * Plan tuning (adapter/plan_tuning.ts): knobs over the adapter's defaults for the GPU-shaped
 * kernels' plans, from a caps file's `tuning` or the file MLA_HARNESS_TUNING names. Each knob
 * changes the plan it names (and nothing else), a tuning at the defaults changes nothing, a
 * knob the device cannot take is an unsupported reason, bad knobs are exit 2 naming the knob
 * and its valid values, and the tuned plans still match the float64 reference on this
 * machine's adapter.
 */
import assert from "node:assert/strict";
import { MAX_CAPS_FILE_BYTES, parseCaps, readCapsFile } from "../adapter/caps_file.ts";
import { ConfigError } from "../adapter/errors.ts";
import {
  DEFAULT_TUNING,
  formatTuning,
  MAX_TUNING_FILE_BYTES,
  otherDeviceClause,
  parseTuningFile,
  parseTuningKnobs,
  readTuningFile,
  resolvedTuning,
  tuningChanges,
  tuningDeviceOf,
} from "../adapter/plan_tuning.ts";
import { presetSpec } from "../adapter/presets.ts";
import { resolve } from "../adapter/resolve.ts";
import {
  FA2_MAX_CHUNK_VEC4,
  FA2_MIN_KEYS_PER_SPLIT,
  FA2_WORKGROUPS_PER_SM,
  TILED_MAX_Q_VEC4,
  TILED_MAX_ROWS,
  TILED_MIN_KEYS_PER_SPLIT,
  TILED_WORKGROUPS_PER_SM,
} from "../adapter/tiled_plan.ts";
import type {
  DeviceCaps,
  Dtype,
  KernelVariant,
  LayoutRequest,
  PlanTuning,
} from "../adapter/types.ts";
import { environmentCapsOverrides, hasAdapter, TUNING_ENV, tuningOf } from "../gpu/device.ts";
import { parityOn, planOn } from "./backend_parity_helpers.ts";
import { H100_CAPS, LAVAPIPE_CAPS } from "./caps_fixtures.ts";
import { CAPS, gpuClassCaps, gpuTest, slowOnGlFallback } from "./gpu_helpers.ts";
import { runCli } from "./helpers_cli.ts";
import { toMarkdown as runMarkdown } from "../report/markdown.ts";
import { mixedResults, report as runReport } from "./report_util.ts";
import { formatTable, toMarkdown } from "../bench/report.ts";
import { benchFixture } from "./report_html_fixtures.ts";
import { lavapipeFingerprint } from "./drift_helpers.ts";
import { attributeEnvironment } from "../drift/attribution.ts";
import { diffFingerprints } from "../report/fingerprint_diff.ts";

const DECODE: LayoutRequest = { kind: "bshd", batch: 4, seqQ: 1, seqK: 4096, causal: true };
const PREFILL: LayoutRequest = { kind: "bshd", batch: 1, seqQ: 4096, seqK: 4096, causal: true };

/** The variant the adapter plans for V2-Lite on `caps` with `tuning` (or why it cannot). */
function variantOf(
  backend: string,
  layout: LayoutRequest,
  options: { tuning?: PlanTuning; caps?: DeviceCaps; dtype?: Dtype } = {},
): KernelVariant | string {
  const caps = options.caps ?? H100_CAPS;
  const r = resolve({
    spec: presetSpec("deepseek-v2-lite"),
    dtype: options.dtype ?? "f32",
    backend,
    layout,
  }, options.tuning === undefined ? caps : { ...caps, tuning: options.tuning });
  return r.kind === "plan" ? r.variant : r.reasons.map((x) => `${x.code}: ${x.message}`).join("; ");
}

function planned(v: KernelVariant | string): KernelVariant {
  if (typeof v === "string") throw new Error(v);
  return v;
}

Deno.test("the default tuning is tiled_plan.ts's constants, and a tuning at the defaults plans as none", () => {
  assert.deepEqual(DEFAULT_TUNING, {
    tiledMaxRows: TILED_MAX_ROWS,
    tiledMaxQVec4: TILED_MAX_Q_VEC4,
    tiledMinKeysPerSplit: TILED_MIN_KEYS_PER_SPLIT,
    tiledWorkgroupsPerSm: TILED_WORKGROUPS_PER_SM,
    tiledTier: 32768,
    fa2MaxChunkVec4: FA2_MAX_CHUNK_VEC4,
    fa2MinKeysPerSplit: FA2_MIN_KEYS_PER_SPLIT,
    fa2WorkgroupsPerSm: FA2_WORKGROUPS_PER_SM,
  });
  for (
    const [backend, layout] of [
      ["wgsl-absorbed-tiled", DECODE],
      ["wgsl-expanded-tiled", DECODE],
      ["wgsl-expanded-tiled", PREFILL],
    ] as const
  ) {
    for (const dtype of ["f32", "f16"] as const) {
      assert.deepEqual(
        variantOf(backend, layout, { tuning: { ...DEFAULT_TUNING }, dtype }),
        variantOf(backend, layout, { dtype }),
        `${backend} ${dtype}`,
      );
    }
  }
  assert.deepEqual(tuningChanges({ ...DEFAULT_TUNING }), []);
});

Deno.test("each knob changes the plan it names on an H100's caps (V2-Lite headline cases)", () => {
  const tiled = (tuning?: PlanTuning, dtype: Dtype = "f32") =>
    planned(variantOf("wgsl-absorbed-tiled", DECODE, { tuning, dtype }));
  const base = tiled();
  // The defaults, as docs/benchmarks.md describes the headline decode on 132 SMs.
  assert.deepEqual(
    [base.headsPerTile, base.kvSplits, base.workgroupSize, base.keysPerBlock, base.family],
    [16, 32, 256, 8, "absorbed-tiled-32k"],
  );
  // 8 rows: 2 head tiles x 4 sequences = 8 workgroups, 32 splits of 128 keys (the fill
  // would take 2 x 132 / 8 -> 33); with 16 keys a split at least, the 33.
  const rows8 = tiled({ tiledMaxRows: 8 });
  assert.deepEqual([rows8.headsPerTile, rows8.kvSplits], [8, 32]);
  assert.equal(tiled({ tiledMaxRows: 8, tiledMinKeysPerSplit: 16 }).kvSplits, 33);
  // 64 keys a split at least: 4096 / 64 = 64 splits (the fill would take 66).
  assert.equal(tiled({ tiledMinKeysPerSplit: 64 }).kvSplits, 64);
  // 1 workgroup an SM: 132 / 4 -> 33 splits, where splits may be as short as 16 keys.
  assert.equal(tiled({ tiledWorkgroupsPerSm: 1, tiledMinKeysPerSplit: 16 }).kvSplits, 33);
  assert.equal(tiled({ tiledWorkgroupsPerSm: 4, tiledMinKeysPerSplit: 16 }).kvSplits, 64);
  // q segments up to 32 vec4s: 128 invocations (session 33's plan).
  assert.equal(tiled({ tiledMaxQVec4: 32 }).workgroupSize, 128);
  // The 48 KiB tier: 16-key f16 tiles (f32 keeps 8: 16 keys need more than 48 KiB).
  const t48 = tiled({ tiledTier: 49152 }, "f16");
  assert.deepEqual([t48.keysPerBlock, t48.family], [16, "absorbed-tiled-48k"]);
  assert.equal(tiled(undefined, "f16").keysPerBlock, 8);
  assert.equal(tiled({ tiledTier: 49152 }).keysPerBlock, 8);
  // 16 KiB: smaller tiles.
  assert.ok(tiled({ tiledTier: 16384 }).keysPerBlock < base.keysPerBlock);

  const fa2 = (layout: LayoutRequest, tuning?: PlanTuning) =>
    planned(variantOf("wgsl-expanded-tiled", layout, { tuning }));
  assert.equal(fa2(PREFILL).chunkVec4, 16);
  assert.equal(fa2(PREFILL, { fa2MaxChunkVec4: 4 }).chunkVec4, 4);
  assert.equal(fa2(PREFILL, { fa2MaxChunkVec4: 5 }).chunkVec4, 4, "a divisor of 48 within 5");
  // The dense decode: 64 workgroups of 16-query tiles; 2 x 132 / 64 -> 5 splits by default.
  assert.equal(fa2(DECODE).kvSplits, 5);
  assert.equal(fa2(DECODE, { fa2WorkgroupsPerSm: 4 }).kvSplits, 9);
  // 4096 / 1024 = 4 splits at most.
  assert.equal(fa2(DECODE, { fa2MinKeysPerSplit: 1024 }).kvSplits, 4);
  // A tiled knob leaves the FA2 plan alone, and the reverse.
  assert.deepEqual(fa2(PREFILL, { tiledMaxRows: 8, tiledMinKeysPerSplit: 64 }), fa2(PREFILL));
  assert.deepEqual(tiled({ fa2MaxChunkVec4: 2, fa2WorkgroupsPerSm: 8 }), base);
});

Deno.test("a tier over the device's workgroup memory is unsupported, naming the knob and where it came from", () => {
  const why = variantOf("wgsl-absorbed-tiled", DECODE, {
    caps: { ...LAVAPIPE_CAPS, tuningFrom: `${TUNING_ENV}=/tmp/t.json` },
    tuning: { tiledTier: 49152 },
    dtype: "f16",
  });
  assert.equal(typeof why, "string");
  assert.match(
    why as string,
    /tuning\.tiled-tier: .*tiledTier 49152 \(MLA_HARNESS_TUNING=\/tmp\/t\.json\) is over this device's maxComputeWorkgroupStorageSize 32768/,
  );
});

Deno.test("bad knobs and files are ConfigErrors naming the knob and its valid values", () => {
  assert.deepEqual(parseTuningKnobs({ tiledMaxRows: 8 }, "x"), { tiledMaxRows: 8 });
  const cases: [unknown, RegExp][] = [
    [{ tiledMaxRows: 12 }, /tuning\.tiledMaxRows: 12 must be a power of two from 1 to 32/],
    [{ tiledMaxRows: 64 }, /tuning\.tiledMaxRows: 64 must be a power of two from 1 to 32/],
    [{ tiledMinKeysPerSplit: 8 }, /tiledMinKeysPerSplit: 8 must be an integer from 16 to 65536/],
    [{ tiledMinKeysPerSplit: 64.5 }, /must be an integer from 16 to 65536/],
    [{ tiledTier: 40000 }, /tiledTier: 40000 must be 16384, 32768 or 49152/],
    [{ fa2MaxChunkVec4: "4" }, /fa2MaxChunkVec4: "4" must be an integer from 1 to 16/],
    [{ tiledRows: 8 }, /tuning\.tiledRows: 8 unknown knob; valid: tiledMaxRows, tiledMaxQVec4/],
    [[8], /tuning: \[8\] must be an object of knobs/],
  ];
  for (const [raw, re] of cases) {
    assert.throws(() => parseTuningKnobs(raw, "caps.json"), (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      assert.match(e.message, /^caps\.json: invalid tuning/);
      assert.match(e.message, re);
      return true;
    });
  }
  assert.deepEqual(parseTuningFile({ knobs: { fa2MaxChunkVec4: 4 }, device: "H100" }, "t"), {
    fa2MaxChunkVec4: 4,
  });
  assert.throws(
    () => parseTuningFile({ tiledMaxRows: 8 }, "t.json"),
    /t\.json: .*tiledMaxRows.*unknown key; valid: format, knobs/s,
  );
  assert.throws(
    () => parseTuningFile({ format: "v2", knobs: {} }, "t.json"),
    /format.*must be "mla-harness-tuning\/1"/s,
  );
  assert.equal(resolvedTuning({ tiledMaxRows: 4 }).tiledMaxRows, 4);
  // Caps built in code skip the file checks: resolve() still refuses a bad knob.
  assert.throws(
    () => variantOf("wgsl-absorbed-tiled", DECODE, { tuning: { tiledMaxRows: 3 } }),
    /caps: invalid tuning\n.*tuning\.tiledMaxRows: 3 must be a power of two/s,
  );
  assert.equal(resolvedTuning(undefined).tiledMaxRows, TILED_MAX_ROWS);
});

Deno.test("tuning files and caps files: unreadable, not JSON and bad knobs are named; a caps file's tuning is read", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.throws(
      () => readTuningFile(`${dir}/missing.json`),
      /missing\.json: unreadable tuning file/,
    );
    await Deno.writeTextFile(`${dir}/bad.json`, "{knobs");
    assert.throws(
      () => readTuningFile(`${dir}/bad.json`),
      /bad\.json: malformed tuning file\n.*is not valid JSON/s,
    );
    // JSON.parse would keep the last of two equal keys silently.
    await Deno.writeTextFile(
      `${dir}/dup.json`,
      '{"knobs": {"tiledMaxRows": 8, "tiledMaxRows": 16}}',
    );
    assert.throws(
      () => readTuningFile(`${dir}/dup.json`),
      /dup\.json: malformed tuning file\n.*key "tiledMaxRows" appears more than once/s,
    );
    await Deno.writeTextFile(`${dir}/t.json`, JSON.stringify({ knobs: { tiledMaxRows: 8 } }));
    assert.deepEqual(readTuningFile(`${dir}/t.json`), { tiledMaxRows: 8 });
    // a tuner stopped halfway: its best so far, named as such where the tuning is named
    await Deno.writeTextFile(
      `${dir}/half.json`,
      JSON.stringify({ knobs: { tiledMaxRows: 8 }, complete: false }),
    );
    assert.match(
      tuningOf(`${dir}/half.json`)?.from ?? "",
      /^MLA_HARNESS_TUNING=.*half\.json \(incomplete: the tuner stopped before its last trial\)$/,
    );
    assert.equal(tuningOf(`${dir}/t.json`)?.from, `MLA_HARNESS_TUNING=${dir}/t.json`);
    const caps = JSON.parse(
      await Deno.readTextFile(new URL("./fixtures/caps_lavapipe.json", import.meta.url)),
    );
    await Deno.writeTextFile(
      `${dir}/caps.json`,
      JSON.stringify({ ...caps, tuning: { fa2MaxChunkVec4: 2 } }),
    );
    assert.deepEqual((await readCapsFile(`${dir}/caps.json`)).tuning, { fa2MaxChunkVec4: 2 });
    await Deno.writeTextFile(
      `${dir}/caps_bad.json`,
      JSON.stringify({ ...caps, tuning: { fa2MaxChunkVec4: 0 } }),
    );
    await assert.rejects(
      () => readCapsFile(`${dir}/caps_bad.json`),
      /caps_bad\.json: invalid tuning\n.*tuning\.fa2MaxChunkVec4: 0 must be an integer from 1 to 16/s,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** The adapter's caps as a gpu-class device gives them, with a tuning. */
const tunedGpuCaps = (tuning: PlanTuning): DeviceCaps | null =>
  CAPS === null ? null : { ...gpuClassCaps(CAPS), tuning, tuningFrom: "this test" };
const SKIP = CAPS === null
  ? "no WebGPU adapter"
  : slowOnGlFallback("a gpu-class plan's workgroup memory");

gpuTest(
  "tuned gpu-class plans match the float64 reference: fewer rows, short splits, wide q segments, narrow FA2 chunks",
  async () => {
    const decode: LayoutRequest = { kind: "bshd", batch: 2, seqQ: 2, seqK: 300, causal: true };
    const thd: LayoutRequest = {
      kind: "thd",
      cuSeqlensQ: [0, 3, 5],
      cuSeqlensK: [0, 70, 140],
      causal: true,
    };
    const cases: {
      backend: string;
      tuning: PlanTuning;
      layout: LayoutRequest;
      check: (v: KernelVariant) => void;
    }[] = [
      // tiny: 4 heads, MTP of 2 queries; 2 rows a workgroup splits the heads in two tiles.
      {
        backend: "wgsl-absorbed-tiled",
        tuning: { tiledMaxRows: 2 },
        layout: decode,
        check: (v) => assert.equal(v.headsPerTile * v.queryTile, 2),
      },
      {
        backend: "wgsl-absorbed-tiled",
        tuning: { tiledMinKeysPerSplit: 16, tiledWorkgroupsPerSm: 32 },
        layout: decode,
        check: (v) => assert.ok(v.kvSplits >= 16, `${v.kvSplits}`),
      },
      {
        backend: "wgsl-absorbed-tiled",
        tuning: { tiledMaxQVec4: 2 },
        layout: thd,
        check: (v) => assert.equal(v.workgroupSize, 128),
      },
      {
        backend: "wgsl-expanded-tiled",
        tuning: { fa2MaxChunkVec4: 2 },
        layout: thd,
        check: (v) => assert.equal(v.chunkVec4, 2),
      },
      {
        backend: "wgsl-expanded-tiled",
        tuning: { fa2MinKeysPerSplit: 32, fa2WorkgroupsPerSm: 32 },
        layout: { kind: "bshd", batch: 2, seqQ: 1, seqK: 300, causal: true },
        check: (v) => assert.ok(v.kvSplits > 1, `${v.kvSplits}`),
      },
    ];
    for (const c of cases) {
      for (const dtype of ["f32", "f16"] as const) {
        const bc = { preset: "tiny", dtype, layout: c.layout, caps: tunedGpuCaps(c.tuning) };
        const p = planOn(c.backend, bc);
        if (typeof p === "string") throw new Error(p);
        c.check(p.plan.variant);
        const untuned = planOn(c.backend, {
          ...bc,
          caps: CAPS === null ? null : gpuClassCaps(CAPS),
        });
        if (typeof untuned === "string") throw new Error(untuned);
        assert.notDeepEqual(
          p.plan.variant,
          untuned.plan.variant,
          `${JSON.stringify(c.tuning)} changes the plan`,
        );
        await parityOn(c.backend, bc);
      }
    }
    // One model-width case: V2-Lite decode in 8-row workgroups.
    await parityOn("wgsl-absorbed-tiled", {
      preset: "deepseek-v2-lite",
      dtype: "f32",
      layout: { kind: "bshd", batch: 2, seqQ: 1, seqK: 300, causal: true },
      caps: tunedGpuCaps({ tiledMaxRows: 8 }),
    });
  },
  { skip: SKIP },
);

const device = await hasAdapter();

Deno.test({
  name:
    "MLA_HARNESS_TUNING through the CLI: explain names the file and the knobs; a bad file is exit 2 naming it",
  ignore: !device,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const file = `${dir}/tuning.json`;
      await Deno.writeTextFile(
        file,
        JSON.stringify({ format: "mla-harness-tuning/1", knobs: { tiledMaxRows: 2 } }),
      );
      const env = { [TUNING_ENV]: file, MLA_HARNESS_DEVICE_CLASS: "gpu" };
      const ok = await runCli(
        ["explain", "tiny", "--batch", "2", "--seq-q", "2", "--seq-k", "40"],
        env,
      );
      assert.equal(ok.code, 0, ok.stderr);
      assert.ok(
        ok.stdout.includes(`plan tuning from ${TUNING_ENV}=${file}: tiledMaxRows 2 (default 32)`),
        ok.stdout,
      );
      // 4 heads in 2-row workgroups: 2 heads x 1 query each.
      assert.match(ok.stdout, /plan: wgsl-absorbed-tiled .*heads\/tile 2, .*queries\/tile 1/);
      const devices = await runCli(["devices"], env);
      assert.equal(devices.code, 0, devices.stderr);
      assert.ok(
        devices.stdout.includes(
          `plan tuning from ${TUNING_ENV}=${file}: tiledMaxRows 2 (default 32)`,
        ),
        devices.stdout,
      );
      // a file measured on another device: said where the tuning's source is named
      await Deno.writeTextFile(
        file,
        JSON.stringify({
          knobs: { tiledMaxRows: 2 },
          device: "NVIDIA H100 80GB HBM3 (vendor 4318, device 9008)",
        }),
      );
      const other = await runCli(["explain", "tiny"], env);
      assert.equal(other.code, 0, other.stderr);
      assert.match(
        other.stdout,
        /plan tuning from MLA_HARNESS_TUNING=\S+ \(measured on NVIDIA H100 80GB HBM3 \(vendor 4318, device 9008\), not on this device: .*\): tiledMaxRows 2/,
      );
      await Deno.writeTextFile(file, JSON.stringify({ knobs: { tiledMaxRows: 3 } }));
      const bad = await runCli(["explain", "tiny"], env);
      assert.equal(bad.code, 2, bad.stderr);
      assert.ok(bad.stderr.includes(`${file}: not a valid tuning file`), bad.stderr);
      assert.match(bad.stderr, /knobs\.tiledMaxRows: 3 must be a power of two from 1 to 32/);
      assert.doesNotMatch(bad.stderr, /\n\s+at /); // one message, no stack trace
      const missing = await runCli(["devices"], { [TUNING_ENV]: `${dir}/none.json` });
      assert.equal(missing.code, 2, missing.stderr);
      assert.match(missing.stderr, /none\.json: unreadable tuning file/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("otherDeviceClause: a tuning measured on another device is named, one measured here or nowhere is not", () => {
  const lavapipe = {
    description: "llvmpipe (LLVM 15.0.6, 256 bits)",
    vendor: "65541",
    device: "0",
  };
  assert.equal(otherDeviceClause(undefined, lavapipe), null);
  assert.equal(otherDeviceClause(tuningDeviceOf(lavapipe), lavapipe), null);
  assert.match(
    otherDeviceClause("NVIDIA H100 80GB HBM3 (vendor 4318, device 9008)", lavapipe) ?? "",
    /^\(measured on NVIDIA H100 .*, not on this device: llvmpipe \(LLVM 15\.0\.6, 256 bits\) \(vendor 65541, device 0\)/,
  );
});

Deno.test("environmentCapsOverrides (a Chromium page's caps): a tuning measured on another device says so, as under Deno", async () => {
  const file = await Deno.makeTempFile({ suffix: ".json" });
  const before = Deno.env.get(TUNING_ENV);
  try {
    await Deno.writeTextFile(
      file,
      JSON.stringify({
        knobs: { tiledMaxRows: 2 },
        device: "NVIDIA H100 80GB HBM3 (vendor 4318, device 9008)",
      }),
    );
    Deno.env.set(TUNING_ENV, file);
    // the page's adapter: before, the clause was left out (no adapter was given)
    const page = environmentCapsOverrides(LAVAPIPE_CAPS.adapter);
    assert.deepEqual(page.tuning, { tiledMaxRows: 2 });
    assert.equal(
      page.tuningFrom,
      `${TUNING_ENV}=${file} ${
        otherDeviceClause(
          "NVIDIA H100 80GB HBM3 (vendor 4318, device 9008)",
          LAVAPIPE_CAPS.adapter,
        )
      }`,
    );
    // measured on this one: nothing more
    await Deno.writeTextFile(
      file,
      JSON.stringify({ knobs: { tiledMaxRows: 2 }, device: tuningDeviceOf(LAVAPIPE_CAPS.adapter) }),
    );
    assert.equal(
      environmentCapsOverrides(LAVAPIPE_CAPS.adapter).tuningFrom,
      `${TUNING_ENV}=${file}`,
    );
  } finally {
    if (before === undefined) Deno.env.delete(TUNING_ENV);
    else Deno.env.set(TUNING_ENV, before);
    await Deno.remove(file);
  }
});

Deno.test("a run's plan tuning is in its fingerprint: compare attributes the changed plans to it", () => {
  const base = lavapipeFingerprint();
  const adapter = base.adapter as Record<string, unknown>;
  const tuned = lavapipeFingerprint({
    adapter: { ...adapter, tuning: { tiledMaxRows: 8 }, tuningFrom: "MLA_HARNESS_TUNING=t.json" },
  });
  assert.deepEqual(diffFingerprints(base, tuned), [{
    field: "tuning.knobs",
    from: null,
    to: "tiledMaxRows 8 (default 32)",
  }]);
  assert.deepEqual(attributeEnvironment(base, tuned).summary, [
    "plan tuning: none → tiledMaxRows 8 (default 32)",
  ]);
  // A tuning at the defaults plans as none does: nothing to attribute.
  const atDefaults = lavapipeFingerprint({
    adapter: { ...adapter, tuning: { ...DEFAULT_TUNING } },
  });
  assert.deepEqual(diffFingerprints(base, atDefaults), []);
});

Deno.test("a bench report names the plan tuning its cases were planned with, in the table and summary.md", () => {
  const report = benchFixture();
  assert.doesNotMatch(formatTable(report), /plan tuning/);
  assert.doesNotMatch(toMarkdown(report, { title: "t" }), /plan tuning/);
  const tuned = {
    ...report,
    machine: {
      ...report.machine,
      tuning: { tiledMinKeysPerSplit: 64 },
      tuningFrom: "MLA_HARNESS_TUNING=t.json",
    },
  };
  const line = "plan tuning from MLA_HARNESS_TUNING=t.json: tiledMinKeysPerSplit 64 (default 128)";
  assert.equal(formatTable(tuned).split("\n")[1], line);
  assert.ok(toMarkdown(tuned, { title: "t" }).includes(`spread min-max. Plans: ${line}.`));
});

Deno.test("a run's summary.md names the plan tuning in its environment", () => {
  const plain = runReport(mixedResults());
  assert.doesNotMatch(runMarkdown(plain), /Plans:/);
  const fp = plain.fingerprint;
  const tuned = runReport(mixedResults(), {
    fingerprint: {
      ...fp,
      adapter: {
        ...(fp.adapter as Record<string, unknown>),
        tuning: { tiledMaxRows: 8 },
        tuningFrom: "MLA_HARNESS_TUNING=t.json",
      },
    },
  });
  assert.match(
    runMarkdown(tuned),
    /^- Plans: plan tuning from MLA_HARNESS_TUNING=t\.json: tiledMaxRows 8 \(default 32\)$/m,
  );
});

Deno.test("--help names every MLA_HARNESS_* variable the harness task lets it read", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  const vars = [...(config.tasks.harness as string).matchAll(/MLA_HARNESS_[A-Z_]+/g)].map((m) =>
    m[0]
  );
  assert.ok(vars.includes(TUNING_ENV), vars.join(", "));
  const help = await runCli(["--help"]);
  assert.equal(help.code, 0, help.stderr);
  for (const v of vars) assert.match(help.stdout, new RegExp(`^  ${v}=`, "m"), v);
});

Deno.test("tiledTier at its default value plans as none, also on a 16 KiB device", () => {
  const small: DeviceCaps = {
    ...H100_CAPS,
    limits: { ...H100_CAPS.limits, maxComputeWorkgroupStorageSize: 16384 },
  };
  const req = {
    spec: presetSpec("deepseek-v2-lite"),
    dtype: "f32" as const,
    backend: "wgsl-absorbed-tiled",
    layout: { kind: "bshd" as const, batch: 4, seqQ: 1, seqK: 4096, causal: true },
  };
  const plain = resolve(req, small);
  const atDefault = resolve(req, { ...small, tuning: { tiledTier: 32768 } });
  assert.equal(plain.kind, "plan");
  // before: passed over wgsl-absorbed-tiled (tuning.tiled-tier: 32768 over 16384) while
  // explain said every knob was at the adapter's default
  assert.deepEqual(atDefault, plain);
  assert.equal(
    formatTuning({ tuning: { tiledTier: 32768 }, tuningFrom: "t.json" }),
    "plan tuning from t.json: every knob at the adapter's default",
  );
  assert.deepEqual(tuningChanges({ tiledTier: 16384 }), [
    "tiledTier 16384 (default the device's tier, 32768 at most)",
  ]);
});

Deno.test("a caps or tuning file far larger than one can be is refused from its size, before it is read", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const caps = `${dir}/caps.json`;
    await Deno.writeTextFile(caps, "");
    await Deno.truncate(caps, MAX_CAPS_FILE_BYTES + 1); // sparse: nothing is written
    await assert.rejects(
      () => readCapsFile(caps),
      (e: Error) =>
        e instanceof ConfigError && /oversized caps file/.test(e.message) &&
        e.message.includes(`is ${MAX_CAPS_FILE_BYTES + 1} bytes, more than a caps file can be`),
    );
    const tuning = `${dir}/tuning.json`;
    await Deno.writeTextFile(tuning, "");
    await Deno.truncate(tuning, MAX_TUNING_FILE_BYTES + 1);
    assert.throws(
      () => readTuningFile(tuning),
      (e: Error) => e instanceof ConfigError && /oversized tuning file/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** `main.ts <args>` with MLA_HARNESS_TUNING a pipe (bash's process substitution) of `json`. */
async function withTuningPipe(json: string, args: string): Promise<Deno.CommandOutput> {
  const root = new URL("../", import.meta.url).pathname;
  return await new Deno.Command("bash", {
    args: [
      "-c",
      `MLA_HARNESS_TUNING=<(printf '%s' '${json}') "${Deno.execPath()}" run -A main.ts ${args}`,
    ],
    cwd: root,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
}

Deno.test("MLA_HARNESS_TUNING=<(...): a pipe is read once, not found empty the second time the harness reads it", async () => {
  const json = JSON.stringify({ knobs: { tiledMaxRows: 8 } });
  const runs = [await withTuningPipe(json, "explain tiny --no-device")];
  // probing: the caps put together read the variable again
  if (device) runs.push(await withTuningPipe(json, "explain tiny"));
  for (const r of runs) {
    const stderr = new TextDecoder().decode(r.stderr);
    assert.doesNotMatch(stderr, /malformed tuning file|the file is empty/);
    assert.equal(r.code === 0 || r.code === 3, true, stderr);
  }
  if (device) {
    assert.match(
      new TextDecoder().decode(runs[1].stdout),
      /plan tuning from MLA_HARNESS_TUNING=\/dev\/fd\/\d+: tiledMaxRows 8 \(default 32\)/,
    );
  }
});

Deno.test("a caps file's tuning keeps where devices --json had it from: an incomplete tuner's file is still named so", () => {
  const from = `${TUNING_ENV}=t.json (incomplete: the tuner stopped before its last trial)`;
  const caps = parseCaps(
    { ...LAVAPIPE_CAPS, tuning: { tiledMaxRows: 8 }, tuningFrom: from },
    "caps.json",
  );
  assert.equal(
    formatTuning(caps),
    `plan tuning from the caps file (devices --json had it from ${from}): ` +
      "tiledMaxRows 8 (default 32)",
  );
  // a hand-written tuning: the caps file's own
  assert.equal(
    formatTuning(parseCaps({ ...LAVAPIPE_CAPS, tuning: { tiledMaxRows: 8 } }, "caps.json")),
    "plan tuning from the caps file: tiledMaxRows 8 (default 32)",
  );
});
