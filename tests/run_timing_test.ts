// How `run` times a case (kernels/measure.ts): replays of the plan's timing scope after one
// checked submission, the expanded path's K/V expansion timed once apart; and how drift
// keeps samples of different scopes, warm-ups and timing rules apart.
import assert from "node:assert/strict";
import { TIMING_RULES, type TimingScope, timingScopeOf } from "../adapter/timing_scope.ts";
import { leftOutMs, outsideCoreMs, scopedMs, scopedSamples } from "../kernels/measure.ts";
import { clockTimingNote } from "../runner/run_case.ts";
import {
  baselineCase,
  baselineProblem,
  compareBaselines,
  compareSummaryLine,
  compareToMarkdown,
  notComparableText,
  poolRounds,
  readBaseline,
  speedVerdict,
} from "../drift/mod.ts";
import { DEFAULT_THRESHOLDS } from "../drift/thresholds.ts";
import { deviceClassOf } from "../adapter/device_class.ts";
import { hasAdapter, probeCaps } from "../gpu/device.ts";
import type { Timing } from "../gpu/timing.ts";
import { runMatrix } from "../runner/run_matrix.ts";
import type { CaseResult } from "../results/types.ts";
import {
  baselineOf,
  caseResult,
  reportOf,
  samples,
  supportedCase,
  timing,
} from "./drift_helpers.ts";
import { SILENT_PROGRESS } from "../report/progress.ts";

const gpu = await hasAdapter();
/** The class of this machine's device (MLA_HARNESS_DEVICE_CLASS included), or null. */
const deviceClass = gpu ? deviceClassOf(await probeCaps())?.kind ?? null : null;

const stamped = (passes: [string, number][]): Timing => ({
  source: "timestamp-query",
  totalMs: passes.reduce((s, [, ms]) => s + ms, 0),
  passes: passes.map(([name, ms]) => ({ name, ms })),
});

Deno.test("run's samples leave out a repetition whose GPU timestamps stood still or went backwards, counted and said", () => {
  // such a pass reads 0 ms (gpu/timing.ts marks it with `clock`): counted as 0 ms, the
  // median came out low with no word
  const t = (core: number, clock?: "stood still" | "went backwards"): Timing => ({
    source: "timestamp-query",
    totalMs: 40 + core,
    passes: [
      { name: "expand_kv", ms: 40 },
      { name: "expanded", ms: core, ...(clock ? { clock } : {}) },
    ],
  });
  const core = { scope: "core" as const, core: ["expanded"] };
  assert.deepEqual(scopedSamples([t(2), t(0, "stood still"), t(4), t(0, "went backwards")], core), {
    samplesMs: [2, 4],
    clockFaults: 2,
  });
  // scope "all" covers every pass; scope "core" only the core's
  const outside: Timing = {
    source: "timestamp-query",
    totalMs: 3,
    passes: [{ name: "expand_kv", ms: 0, clock: "stood still" }, { name: "expanded", ms: 3 }],
  };
  assert.deepEqual(scopedSamples([outside], core), { samplesMs: [3], clockFaults: 0 });
  assert.deepEqual(scopedSamples([outside], { scope: "all", core: ["expanded"] }), {
    samplesMs: [],
    clockFaults: 1,
  });
  // the wall clock has no per-pass clock to fail
  const wall: Timing = { source: "wall-clock", totalMs: 7, passes: [] };
  assert.deepEqual(scopedSamples([wall], core), { samplesMs: [7], clockFaults: 0 });
  assert.equal(clockTimingNote(3, 0), null);
  assert.equal(
    clockTimingNote(2, 2),
    "2 of 4 timed repetitions left out of the time: their GPU timestamps did not advance or " +
      "went backwards",
  );
  assert.equal(
    clockTimingNote(0, 3),
    "no time: all 3 timed repetitions' GPU timestamps did not advance or went backwards",
  );
  assert.match(clockTimingNote(0, 1)!, /^no time: the 1 timed repetition's GPU timestamps/);
});

Deno.test("timing scope: the expanded path times its core, the absorbed path every pass but cache construction", () => {
  assert.equal(timingScopeOf("expanded"), "core");
  assert.equal(timingScopeOf("absorbed"), "all");
  const t = stamped([["rope_k", 1], ["expand_kv", 40], ["expanded", 2], ["expanded", 3]]);
  assert.deepEqual(scopedMs([t, t], { scope: "core", core: ["expanded"] }), [5, 5]);
  assert.deepEqual(scopedMs([t], { scope: "all", core: ["expanded"] }), [46]);
  assert.equal(outsideCoreMs(t, ["expanded"]), 41);
  // Scope "all" leaves out cache construction only (the gemm path's cache texture).
  const g = stamped([["rope_k", 1], ["cache_texture", 9], ["gemm_scores", 3], ["up_proj", 2]]);
  const m = { core: ["gemm_scores"], construction: ["cache_texture"] };
  assert.equal(leftOutMs(g, { scope: "all", ...m }), 9);
  assert.equal(leftOutMs(g, { scope: "core", ...m }), 12);
  assert.equal(leftOutMs(g, { scope: "all", core: m.core, construction: [] }), null);
  // The wall clock cannot split passes: the whole replay, and no outside-core figure.
  const wall: Timing = { source: "wall-clock", totalMs: 7, passes: [] };
  assert.deepEqual(scopedMs([wall], { scope: "core", core: ["expanded"] }), [7]);
  assert.equal(outsideCoreMs(wall, ["expanded"]), null);
});

Deno.test("drift: samples of different scopes are not compared, pooled or accepted wrongly", async () => {
  const all = timing(samples(50, 10, 3))!;
  const core = { ...timing(samples(5, 10, 4))!, scope: "core" as const };
  const v = speedVerdict(all, core, DEFAULT_THRESHOLDS);
  assert.equal(v?.verdict, "not-comparable");
  assert.match(v?.note ?? "", /timing scope all → core/);
  // The same scope on both sides (absent = "all") is compared as before: a 10x speed-up.
  assert.equal(
    speedVerdict(all, { ...all, scope: "all" }, DEFAULT_THRESHOLDS)?.verdict,
    "not-significant",
  );
  assert.equal(
    speedVerdict({ ...all, scope: "core" }, core, DEFAULT_THRESHOLDS)?.verdict,
    "improvement",
  );
  // Through compareBaselines: a baseline timed every pass, a run that timed the core only.
  const report = compareBaselines(
    baselineOf([supportedCase("a", { timing: all })]),
    baselineOf([supportedCase("a", { timing: core })]),
  );
  const speed = report.cases.find((c) => c.id === "a")?.speed;
  assert.equal(speed?.verdict, "not-comparable");

  // Pooling rounds: only samples of the same scope are pooled.
  const r = (scope: TimingScope | undefined, ms: number): CaseResult => {
    const base = caseResult("x", ms, 1);
    return { ...base, timing: { ...base.timing!, ...(scope ? { scope } : {}) } };
  };
  const n = r("core", 5).timing!.samplesMs.length;
  const pooled = poolRounds([reportOf([r("core", 5)]), reportOf([r(undefined, 50)])]);
  assert.equal(pooled.results[0].timing?.samplesMs.length, n);
  const same = poolRounds([reportOf([r("core", 5)]), reportOf([r("core", 6)])]);
  assert.equal(same.results[0].timing?.samplesMs.length, 2 * n);

  // A baseline entry keeps the scope; a baseline with another scope value is refused.
  const entry = await baselineCase(r("core", 5), {});
  assert.equal(entry.timing?.scope, "core");
  const bad = baselineOf([supportedCase("a", { timing: { ...all, scope: "x" as "all" } })]);
  assert.match(baselineProblem(bad) ?? "", /timing\.scope/);
});

Deno.test("drift: a baseline entry keeps the run's warm-up; a bad one is refused", async () => {
  const base = caseResult("x", 5, 1);
  const warmed: CaseResult = { ...base, timing: { ...base.timing!, warmupMs: 500 } };
  assert.equal((await baselineCase(warmed, {})).timing?.warmupMs, 500);
  assert.equal((await baselineCase(base, {})).timing?.warmupMs, undefined, "none: absent");
  // compareBaselines: a warmed-up run against an unwarmed baseline is not compared
  const t = timing(samples(5, 10, 3))!;
  const report = compareBaselines(
    baselineOf([supportedCase("a", { timing: t })]),
    baselineOf([supportedCase("a", { timing: { ...t, warmupMs: 500 } })]),
  );
  assert.equal(report.cases.find((c) => c.id === "a")?.speed?.verdict, "not-comparable");
  const bad = baselineOf([supportedCase("a", { timing: { ...t, warmupMs: -1 } })]);
  assert.match(baselineProblem(bad) ?? "", /timing\.warmupMs/);
});

Deno.test("drift: samples of other timing rules are not compared (a baseline of 222fd31, before they were recorded)", async () => {
  // 222fd31's absorbed samples replay the cached k_pe's RoPE, which this harness times once
  // as cache construction (tests/fixtures/upgrade/README.md).
  const old = await readBaseline(
    new URL("./fixtures/upgrade/222fd31_baseline.json", import.meta.url).pathname,
  );
  const [c] = old.cases;
  assert.equal(c.timing?.rules, undefined);
  const slower = c.timing!.samplesMs.map((ms) => 4 * ms);
  const now = (rules?: number) => ({
    ...old,
    cases: [{ ...c, timing: { ...c.timing!, samplesMs: slower, ...(rules ? { rules } : {}) } }],
  });
  const report = compareBaselines(old, now(TIMING_RULES));
  const speed = report.cases[0].speed;
  assert.equal(speed?.verdict, "not-comparable", JSON.stringify(speed));
  assert.match(
    speed?.note ?? "",
    /timing rules not recorded → 1 .*no speed ratio is taken; a baseline remade by the newer harness/,
  );
  assert.equal(report.cases[0].class, "unchanged");
  assert.equal(report.speed.compared, 0, "no ratio in the geometric mean");
  // Under the same rules (here: both unrecorded) the 4x is a regression, as before.
  assert.equal(compareBaselines(old, now()).cases[0].class, "speed-regression");
  // A run records the rules; a baseline entry keeps them; a bad value is refused.
  const base = caseResult("x", 5, 1);
  const ruled: CaseResult = { ...base, timing: { ...base.timing!, rules: TIMING_RULES } };
  assert.equal((await baselineCase(ruled, {})).timing?.rules, TIMING_RULES);
  const bad = baselineOf([supportedCase("a", { timing: { ...c.timing!, rules: 0 } })]);
  assert.match(baselineProblem(bad) ?? "", /timing\.rules/);
});

Deno.test("compare says where speed was not compared and why (a baseline of 222fd31 against a run now)", async () => {
  const old = await readBaseline(
    new URL("./fixtures/upgrade/222fd31_baseline.json", import.meta.url).pathname,
  );
  const [c] = old.cases;
  const now = {
    ...old,
    cases: [{ ...c, timing: { ...c.timing!, scope: "all" as const, rules: TIMING_RULES } }],
  };
  const report = compareBaselines(old, now);
  assert.deepEqual(report.speed.notComparable?.map((g) => g.cases), [1]);
  // "0 significant regressions" alone read as a speed check that passed
  const why = /speed not compared in 1 case: timing rules not recorded → 1 \(.*\): 1/;
  assert.match(compareToMarkdown(report), why);
  assert.match(compareSummaryLine(report), why);
  assert.match(notComparableText(report), why);
  // every case compared: nothing said
  assert.equal(notComparableText(compareBaselines(old, old)), "");
  assert.doesNotMatch(compareSummaryLine(compareBaselines(old, old)), /not compared/);
});

Deno.test({
  name: "run times the expanded path's attention core, its K/V expansion once apart",
  ignore: !gpu,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const matrix = `${dir}/m.json`;
    // V2-Lite dense decode over 256 keys: expanding 256 rows to 16 heads' K and V is about
    // 400 times the attention's FLOPs, so on a cpu-class device, whose times follow the
    // FLOPs, a sample that included it could not stay below it. A GPU's times at this size
    // follow latency and occupancy (one query's 16 heads fill a few of its SMs), not FLOPs
    // (an H200: attention 1.5 ms, expansion 0.16 ms), so there only the timing's shape is
    // checked (which passes a replay holds: kernels_expanded_texture_test.ts).
    // (The GL fallback leaves V2-Lite out as too slow; tiny runs everywhere.)
    await Deno.writeTextFile(
      matrix,
      JSON.stringify({
        name: "run-timing",
        seed: 5,
        groups: [{
          axes: {
            preset: ["deepseek-v2-lite", "tiny"],
            path: ["expanded", "absorbed"],
            b: 1,
            sq: 1,
            sk: 256,
            dtype: "f32",
          },
        }],
      }),
    );
    const report = await runMatrix({
      matrix,
      out: `${dir}/out`,
      repeats: 3,
      progress: SILENT_PROGRESS,
    });
    assert.equal(report.results.length, 4);
    const ran = report.results.filter((r) => r.decision === "supported");
    assert.ok(ran.filter((r) => r.params?.preset === "tiny").length === 2, "tiny must run");
    for (const r of ran) {
      assert.equal(r.status, "pass", r.message);
      const t = r.timing;
      assert.ok(t, `${r.id}: no timing`);
      assert.equal(t.samplesMs.length, 3);
      assert.equal(t.rules, TIMING_RULES);
      if (r.params?.path === "expanded") {
        assert.equal(t.scope, "core");
        const stamped = t.source === "timestamp-query";
        assert.equal(typeof t.outsideCoreMs, stamped ? "number" : "undefined", r.id);
        if (stamped && r.params?.preset === "deepseek-v2-lite" && deviceClass === "cpu") {
          for (const s of t.samplesMs) {
            const expansion = t.outsideCoreMs ?? 0;
            assert.ok(s < expansion, `${r.id}: sample ${s} ms >= expansion ${expansion} ms`);
          }
        }
      } else {
        assert.equal(t.scope, "all");
        // Cache construction is left out and timed once: every absorbed backend has one
        // (the RoPE of the cached k_pe).
        const stamped = t.source === "timestamp-query";
        assert.equal(typeof t.outsideCoreMs, stamped ? "number" : "undefined", r.id);
      }
    }
  },
});
