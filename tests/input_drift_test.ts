// Input validation of the drift commands: the fields drift reads from a report.json
// (metrics, timing, ids) and a baseline (status, metrics, ids) are checked where the file
// is loaded, a repeated case id is refused, the same run is stored once in the history,
// and an empty --fail-on is refused. Every refusal is exit 2 naming the file and field,
// without a stack trace and without writing anything.
import assert from "node:assert/strict";
import { HistoryStore, loadComparable, readBaseline } from "../drift/mod.ts";
import { parseFailOn } from "../cli/compare.ts";
import { caseResultProblem, runReportProblem } from "../report/validate.ts";
import type { CaseResult, RunReport } from "../results/types.ts";
import {
  baselineOf,
  caseResult,
  lavapipeFingerprint,
  reportOf,
  supportedCase,
} from "./drift_helpers.ts";
import { runCli, runCliInProcess } from "./helpers_cli.ts";
import { gpuTest } from "./gpu_helpers.ts";
import { currentBackend } from "../drift/device_key.ts";

const A = "preset=tiny;path=absorbed;dtype=f32;b=2;sq=1;sk=20;layout=bshd;causal=1";
const E = "preset=tiny;path=expanded;dtype=f32;b=2;sq=1;sk=20;layout=bshd;causal=1";
const COMMITTED = "baselines/llvmpipe-65541-vulkan.json";

const exists = (p: string) => Deno.stat(p).then(() => true, () => false);
const noStack = (stderr: string) => assert.ok(!/\n\s+at /.test(stderr), stderr);

/** A passing result with parity records (out and lse). */
function withParity(id: string): CaseResult {
  const side = {
    pass: true,
    checks: [],
    maxAbs: 2e-7,
    maxAbsAt: [0, 0, 0],
    maxRel: 3e-6,
    cosDiff: 1e-14,
    normRel: 1.5e-7,
    fractionPassing: 1,
    summary: "ok",
  };
  return { ...caseResult(id, 1, id.length), out: side, lse: { ...side } };
}

/** A report whose first result has `patch` applied (parsed JSON, so any value fits). */
function reportWith(patch: (r: Record<string, unknown>) => void): RunReport {
  const report = JSON.parse(JSON.stringify(reportOf([withParity(A), withParity(E)])));
  patch(report.results[0]);
  return report;
}

async function writeJson(path: string, value: unknown): Promise<string> {
  await Deno.writeTextFile(path, JSON.stringify(value));
  return path;
}

Deno.test("report validation: drift's metrics and timing must be finite numbers >= 0", () => {
  assert.equal(runReportProblem(reportWith(() => {})), null, "a good report passes");
  const cases: [(r: Record<string, unknown>) => void, RegExp][] = [
    [(r) => (r.out as Record<string, unknown>).maxAbs = "big", /field "out\.maxAbs" .*"big"/],
    [(r) => (r.lse as Record<string, unknown>).maxRel = -1, /field "lse\.maxRel" .*>= 0/],
    [(r) => (r.out as Record<string, unknown>).cosDiff = null, /field "out\.cosDiff"/],
    [(r) => (r.out as Record<string, unknown>).normRel = "x", /field "out\.normRel" .*or null/],
    [(r) => (r.out as Record<string, unknown>).pass = "yes", /field "out\.pass"/],
    [(r) => r.out = 3, /field "out" must be an object/],
    [
      (r) => (r.timing as Record<string, unknown>).samplesMs = [-1, "x", null],
      /field "timing\.samplesMs\[0\]" must be a finite number >= 0 .*got -1/,
    ],
    [
      (r) => (r.timing as Record<string, unknown>).samplesMs = [1, null],
      /field "timing\.samplesMs\[1\]" .*got null/,
    ],
    [(r) => (r.timing as Record<string, unknown>).medianMs = -5, /field "timing\.medianMs" .*-5/],
    [(r) => (r.timing as Record<string, unknown>).scope = "gpu", /field "timing\.scope"/],
    [(r) => r.backend = 7, /field "backend" must be a string/],
    [(r) => r.reasons = [{ code: 1 }], /field "reasons\[0\]"/],
    [
      (r) => r.tolerance = { out: { atol: 1e-4, maxCosDiff: -1 } },
      /field "tolerance\.out\.maxCosDiff" must be a finite number >= 0 or absent \(got -1\)/,
    ],
  ];
  for (const [patch, want] of cases) {
    const p = runReportProblem(reportWith(patch));
    assert.ok(p !== null && p.startsWith("results[0]: ") && want.test(p), String(p));
  }
  // A normRel of null is what parity records when the reference is all zeros.
  const zeroRef = reportWith((r) => (r.out as Record<string, unknown>).normRel = null);
  assert.equal(runReportProblem(zeroRef), null);
  assert.match(String(caseResultProblem({ ...withParity(A), timing: "fast" })), /"timing"/);
});

Deno.test("compare, baseline update and history --add refuse a bad report (exit 2)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const metric = await writeJson(
      `${dir}/metric.json`,
      reportWith((r) => (r.out as Record<string, unknown>).maxAbs = "big"),
    );
    await assert.rejects(loadComparable(metric), /metric\.json: results\[0\]: field "out\.maxAbs"/);
    const cmp = await runCli(["compare", COMMITTED, metric]);
    assert.equal(cmp.code, 2, cmp.stdout + cmp.stderr);
    assert.match(cmp.stderr, /metric\.json: results\[0\]: field "out\.maxAbs" must be a finite/);
    noStack(cmp.stderr);
    const timing = await writeJson(
      `${dir}/timing.json`,
      reportWith((r) => r.timing = { source: "timestamp-query", samplesMs: [1], medianMs: -5 }),
    );
    const slow = await runCli(["compare", COMMITTED, timing]);
    assert.equal(slow.code, 2, slow.stdout + slow.stderr);
    assert.match(slow.stderr, /timing\.json: results\[0\]: field "timing\.medianMs"/);
    const update = await runCli([
      "baseline",
      "update",
      "--from-report",
      metric,
      "--dir",
      `${dir}/baselines`,
    ]);
    assert.equal(update.code, 2, update.stdout + update.stderr);
    assert.match(update.stderr, /metric\.json: .*results\[0\]: field "out\.maxAbs"/);
    const written = await Array.fromAsync(Deno.readDir(`${dir}/baselines`)).catch(() => []);
    assert.deepEqual(written, [], "no baseline written");
    const good = await writeJson(`${dir}/good.json`, reportWith(() => {}));
    const add = await runCli([
      "history",
      "--db",
      `${dir}/h.sqlite`,
      "--add",
      good,
      metric,
    ]);
    assert.equal(add.code, 2, add.stdout + add.stderr);
    assert.match(add.stderr, /metric\.json: results\[0\]: field "out\.maxAbs"/);
    assert.ok(!(await exists(`${dir}/h.sqlite`)), "nothing stored, not even the good run");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("baseline validation: status, negative metrics, parity and timing are checked", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const bad: [Partial<Parameters<typeof supportedCase>[1]> | Record<string, unknown>, RegExp][] =
      [
        [{ status: "weird" }, /cases\[1\]: field "status" must be one of pass, fail, .*"weird"/],
        [
          { metrics: { ...supportedCase(E).metrics!, outMaxAbs: -1 } },
          /cases\[1\]: field "metrics\.outMaxAbs" must be a finite number >= 0 or null \(got -1\)/,
        ],
        [{ parity: { out: "yes", lse: true } }, /cases\[1\]: field "parity"/],
        // a metric missing or misspelt compared as undefined: numeric drift went unseen
        [{ metrics: {} }, /cases\[1\]: field "metrics\.outMaxAbs" is missing \(a number or null/],
        [
          { metrics: { ...supportedCase(E).metrics!, out_max_abs: 1 } },
          /cases\[1\]: field "metrics\.out_max_abs" is not a metric \(the metrics are outMaxAbs,/,
        ],
        // a reason that is not one: compare's stack trace (exit 1) before
        [
          { reasons: [null] },
          /cases\[1\]: field "reasons\[0\]" must be an object with string "code" and "message" \(got null\)/,
        ],
        [
          { timing: { ...supportedCase(E).timing!, samplesMs: [1, -3] } },
          /cases\[1\]: field "timing\.samplesMs\[1\]" must be a finite number >= 0/,
        ],
        [
          { timing: { ...supportedCase(E).timing!, medianMs: -1 } },
          /cases\[1\]: field "timing\.medianMs"/,
        ],
        // a string edited in: drift fell back to the absolute floor without a word
        [
          { tolerance: { out: { atol: "1e-4", rtol: 1e-3 }, lse: { atol: 1e-5, rtol: 1e-5 } } },
          /cases\[1\]: field "tolerance\.out\.atol" must be a finite number >= 0 or absent \(got "1e-4"\)/,
        ],
        [{ tolerance: { lse: [] } }, /cases\[1\]: field "tolerance\.lse" must be an object/],
        [{ tolerance: 0.01 }, /cases\[1\]: field "tolerance" must be an object, null or absent/],
      ];
    for (const [over, want] of bad) {
      const b = baselineOf([supportedCase(A), { ...supportedCase(E), ...over }]);
      const path = await writeJson(`${dir}/b.json`, b);
      await assert.rejects(readBaseline(path), (e: Error) => {
        assert.ok(e.message.startsWith(`${path}: `), e.message);
        assert.match(e.message, want);
        return true;
      });
    }
    const ok = await writeJson(`${dir}/ok.json`, baselineOf([supportedCase(A), supportedCase(E)]));
    assert.equal((await readBaseline(ok)).cases.length, 2);
    const path = await writeJson(
      `${dir}/status.json`,
      baselineOf([supportedCase(A), { ...supportedCase(E), status: "weird" as "pass" }]),
    );
    const cli = await runCliInProcess(["compare", path, ok]);
    assert.equal(cli.code, 2, cli.stdout + cli.stderr);
    assert.match(cli.stderr, /status\.json: cases\[1\]: field "status"/);
    noStack(cli.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a repeated case id in a baseline or a report is refused (exit 2)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const base = await writeJson(
      `${dir}/base.json`,
      baselineOf([supportedCase(A), supportedCase(E), supportedCase(A, { status: "error" })]),
    );
    const report = await writeJson(
      `${dir}/report.json`,
      reportOf([caseResult(A, 1, 1), caseResult(E, 1, 2), caseResult(E, 9, 3)]),
    );
    const good = await writeJson(`${dir}/good.json`, baselineOf([supportedCase(A)]));
    await assert.rejects(
      readBaseline(base),
      new RegExp(`base\\.json: cases\\[2\\]: id "${A.replaceAll(";", ";")}" repeats cases\\[0\\]`),
    );
    await assert.rejects(loadComparable(report), /report\.json: results\[2\]: id ".*" repeats/);
    const b = await runCliInProcess(["compare", base, good]);
    assert.equal(b.code, 2, b.stdout + b.stderr);
    assert.ok(b.stderr.includes(`base.json: cases[2]: id "${A}" repeats cases[0]`), b.stderr);
    const r = await runCli(["compare", good, report]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.ok(r.stderr.includes(`report.json: results[2]: id "${E}" repeats results[1]`), r.stderr);
    noStack(r.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("history: the same run added twice is stored once", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const db = `${dir}/h.sqlite`;
    const report = reportOf([caseResult(A, 1, 1)]);
    const store = await HistoryStore.open(db);
    try {
      const first = await store.append(report, { backend: "vulkan" });
      assert.equal(await store.append(report, { backend: "vulkan" }), first);
      assert.equal(store.findRun(report), first);
      const later = { ...report, startedAt: "2026-01-02T00:00:00.000Z" };
      assert.equal(store.findRun(later), null, "another run is not the same run");
      assert.notEqual(await store.append(later, { backend: "vulkan" }), first);
      assert.equal(store.runs().length, 2);
    } finally {
      store.close();
    }
    const file = await writeJson(`${dir}/report.json`, reportOf([caseResult(E, 1, 2)]));
    const add = await runCli(["history", "--db", db, "--add", file]);
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stderr, /appended as run 3\n/);
    // A run without results for some of its cases says so as it is added.
    const partial = await writeJson(
      `${dir}/partial.json`,
      reportOf([caseResult(A, 1, 1)], {
        matrixIds: [A, E],
        shardIds: [A, E],
        interrupted: true,
        startedAt: "2026-01-03T00:00:00.000Z",
      }),
    );
    const addPartial = await runCliInProcess([
      "history",
      "--db",
      `${dir}/p.sqlite`,
      "--add",
      partial,
    ]);
    assert.equal(addPartial.code, 0, addPartial.stderr);
    assert.match(
      addPartial.stderr,
      /appended as run 1; it has no result for 1 of its 2 cases \(interrupted\): its series gets no point/,
    );
    // nor does a case that errored (a lost device): said too, not a silent hole in its chart
    const broken = await writeJson(
      `${dir}/broken.json`,
      reportOf([{ ...caseResult(A, 1, 1), status: "error", timing: undefined }], {
        startedAt: "2026-01-04T00:00:00.000Z",
      }),
    );
    const addBroken = await runCliInProcess([
      "history",
      "--db",
      `${dir}/b.sqlite`,
      "--add",
      broken,
    ]);
    assert.equal(addBroken.code, 0, addBroken.stderr);
    assert.match(
      addBroken.stderr,
      /appended as run 1; 1 of its cases errored \(no time or error metric\): its series gets no point for this run/,
    );
    const again = await runCliInProcess(["history", "--db", db, "--add", file, file, "--json"]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /report\.json is already run 3 of .*h\.sqlite .*not added again/);
    assert.doesNotMatch(again.stderr, /appended/);
    const e = JSON.parse(again.stdout).find((s: { caseId: string }) => s.caseId === E);
    assert.equal(e.points.length, 1, "the run counts once in the series");
    // --label on a run stored already: put on it and said (it was "not added again" and the
    // label dropped without a word)
    const labelled = await runCliInProcess(["history", "--db", db, "--add", file, "--label", "n"]);
    assert.equal(labelled.code, 0, labelled.stderr);
    assert.match(
      labelled.stderr,
      /is already run 3 of .* not added again; its label is now "n" \(was none\)/,
    );
    // a label of several words is quoted, as the one it replaces
    const relabelled = await runCliInProcess([
      "history",
      "--db",
      db,
      "--add",
      file,
      "--label",
      "night 2",
    ]);
    assert.match(relabelled.stderr, /its label is now "night 2" \(was "n"\)/);
    const reopened = await HistoryStore.open(db);
    try {
      assert.equal(reopened.runs().find((r) => r.id === 3)?.label, "night 2");
    } finally {
      reopened.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--fail-on '' is refused (exit 2): none counts no class", async () => {
  assert.deepEqual(parseFailOn("none"), []);
  assert.deepEqual(parseFailOn("numeric-drift, speed-regression"), [
    "numeric-drift",
    "speed-regression",
  ]);
  for (const empty of ["", " ", ","]) {
    assert.throws(() => parseFailOn(empty), /no drift class given; .*or none to count no class/);
  }
  assert.throws(() => parseFailOn("none,new"), /"none" cannot be combined/);
  const dir = await Deno.makeTempDir();
  try {
    const base = await writeJson(`${dir}/b.json`, baselineOf([supportedCase(A)]));
    const cmp = await runCli(["compare", base, base, "--fail-on", ""]);
    assert.equal(cmp.code, 2, cmp.stdout + cmp.stderr);
    assert.match(cmp.stderr, /--fail-on.*no drift class given.*or none/);
    assert.equal(cmp.stdout, "", "no report printed");
    const none = await runCli(["compare", base, base, "--fail-on", "none"]);
    assert.equal(none.code, 0, none.stdout + none.stderr);
    assert.match(none.stdout, /classes counted as regressions: none\)/);
    const run = await runCli(["run", "--baseline", base, "--fail-on", "", "--out", `${dir}/o`]);
    assert.equal(run.code, 2, run.stdout + run.stderr);
    assert.match(run.stderr, /no drift class given/);
    assert.ok(!(await exists(`${dir}/o`)), "nothing ran");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("baseline update --from-report: an interrupted or partial run is exit 2, the old baseline kept", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const A = "preset=tiny;path=absorbed;dtype=f32;b=2;sq=1;sk=20;layout=bshd;causal=1";
    const B = A.replace("sq=1", "sq=2");
    const good = await writeJson(`${dir}/good.json`, reportOf([caseResult(A, 1, 1)]));
    const ok = await runCli(["baseline", "update", "--from-report", good, "--dir", `${dir}/b`]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.doesNotMatch(ok.stderr, /fewer than 5 timed samples/);
    // a run of --repeats 3: written, and said that its speed can never be tested (it was
    // said only before a run the update made itself)
    const r3 = caseResult(A, 1, 1);
    const three = await writeJson(
      `${dir}/three.json`,
      reportOf([{ ...r3, timing: { ...r3.timing!, samplesMs: [1, 1.1, 0.9] } }]),
    );
    const few = await runCliInProcess([
      "baseline",
      "update",
      "--from-report",
      three,
      "--dir",
      `${dir}/b3`,
    ]);
    assert.equal(few.code, 0, few.stdout + few.stderr);
    assert.match(
      few.stderr,
      /warning: 1 case of .*three\.json has fewer than 5 timed samples \(3 in preset=tiny/,
    );
    const [file] = await Array.fromAsync(Deno.readDir(`${dir}/b`));
    const before = await Deno.readTextFile(`${dir}/b/${file.name}`);
    const killed = await writeJson(
      `${dir}/killed.json`,
      reportOf([], { matrixIds: [A], shardIds: [A], interrupted: true }),
    );
    const partial = await writeJson(
      `${dir}/partial.json`,
      reportOf([caseResult(A, 1, 1)], { matrixIds: [A, B], shardIds: [A, B], missing: [B] }),
    );
    for (
      const [path, message] of [
        [
          killed,
          /killed\.json: an interrupted run with 0 results for its 1 selected case \(1 missing\)/,
        ],
        [partial, /partial\.json: a run with 1 result for its 2 selected cases \(1 missing\)/],
      ] as const
    ) {
      const r = await runCli(["baseline", "update", "--from-report", path, "--dir", `${dir}/b`]);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, message);
      assert.match(r.stderr, /no baseline written/);
      assert.equal(await Deno.readTextFile(`${dir}/b/${file.name}`), before, "the old one kept");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("baseline update: a baseline that would drop cases of this device's, or of another matrix or a planted fault, is exit 2; --replace writes it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const wide = await writeJson(`${dir}/wide.json`, reportOf([withParity(A), withParity(E)]));
    const update = (from: string, ...more: string[]) =>
      runCliInProcess(["baseline", "update", "--from-report", from, "--dir", `${dir}/b`, ...more]);
    const first = await update(wide);
    assert.equal(first.code, 0, first.stdout + first.stderr);
    const [file] = await Array.fromAsync(Deno.readDir(`${dir}/b`));
    const path = `${dir}/b/${file.name}`;
    const before = await Deno.readTextFile(path);
    // the same cases again: replaced (the documented regenerate step)
    assert.equal((await update(wide)).code, 0);
    // a narrower --filter: refused, naming what would be lost
    const narrow = await update(wide, "--filter", "path=absorbed");
    assert.equal(narrow.code, 2, narrow.stdout + narrow.stderr);
    assert.match(narrow.stderr, /holds this device's baseline \(matrix smoke, 2 cases\)/);
    assert.match(narrow.stderr, /leaves out 1 of its cases \(e\.g\. preset=tiny;path=expanded/);
    assert.match(narrow.stderr, /--replace/);
    noStack(narrow.stderr);
    // another matrix, and a planted fault's run: refused
    const other = await writeJson(
      `${dir}/other.json`,
      reportOf([withParity(A), withParity(E)], { matrix: "decode" }),
    );
    assert.match((await update(other)).stderr, /is of another matrix/);
    const planted = await writeJson(
      `${dir}/planted.json`,
      reportOf([withParity(A), withParity(E)], { plantedFault: "lse-offset" }),
    );
    const p = await update(planted, "--replace");
    assert.equal(p.code, 2, p.stdout + p.stderr);
    assert.match(p.stderr, /a run with planted fault lse-offset .*no baseline written/);
    assert.equal(await Deno.readTextFile(path), before, "nothing written");
    // a folder whose run was killed before its reports: the message says how to rebuild them
    await Deno.mkdir(`${dir}/killed`);
    await Deno.writeTextFile(`${dir}/killed/run.json`, "{}");
    const k = await update(`${dir}/killed`);
    assert.equal(k.code, 2, k.stdout + k.stderr);
    assert.match(k.stderr, /killed before writing its reports .*`merge .*killed --out .*killed`/);
    // --replace: the narrower one is written, its filter not doubled
    const replaced = await update(wide, "--filter", "path=absorbed", "--replace");
    assert.equal(replaced.code, 0, replaced.stdout + replaced.stderr);
    const b = await readBaseline(path);
    assert.deepEqual(b.scope, [A]);
    assert.equal(b.filter, "path=absorbed");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("baseline update: this device's baseline of a --backend or --backend-module is not replaced by one of other backends without --replace", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cases = [withParity(A), withParity(E)];
    const naive = await writeJson(`${dir}/naive.json`, reportOf(cases, { backend: "naive" }));
    const adapter = await writeJson(`${dir}/adapter.json`, reportOf(cases));
    const update = (from: string, ...more: string[]) =>
      runCliInProcess(["baseline", "update", "--from-report", from, "--dir", `${dir}/b`, ...more]);
    assert.equal((await update(naive)).code, 0);
    const [file] = await Array.fromAsync(Deno.readDir(`${dir}/b`));
    const path = `${dir}/b/${file.name}`;
    const before = await Deno.readTextFile(path);
    // the same cases of the adapter's kernels replaced the naive backend's baseline silently
    const other = await update(adapter);
    assert.equal(other.code, 2, other.stdout + other.stderr);
    assert.match(
      other.stderr,
      /holds this device's baseline of other backends than the new one's \(--backend naive → \(none: the adapter's choice\)\)/,
    );
    assert.match(other.stderr, /--replace .*no baseline written/);
    assert.equal(await Deno.readTextFile(path), before, "the old one kept");
    // the same backend again: replaced; --replace: written
    assert.equal((await update(naive)).code, 0);
    assert.equal((await update(adapter, "--replace")).code, 0);
    assert.equal((await readBaseline(path)).backendOverride, undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("baseline update: a file named for this device that holds another device's baseline is not written over without --replace", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cases = [withParity(A), withParity(E)];
    const run = await writeJson(`${dir}/run.json`, reportOf(cases));
    const lavapipe = lavapipeFingerprint();
    const caps = lavapipe.adapter as { adapter: Record<string, unknown> };
    const h100 = {
      ...lavapipe,
      adapter: {
        ...caps,
        adapter: {
          ...caps.adapter,
          vendor: "4318",
          description: "NVIDIA H100 80GB HBM3",
          isFallbackAdapter: false,
        },
      },
    };
    await Deno.mkdir(`${dir}/b`);
    // this device's key ends in the WebGPU backend this process picks (vulkan with lavapipe,
    // gl on a fresh machine's fallback): the report's device is lavapipe's under it
    const be = currentBackend();
    const path = `${dir}/b/llvmpipe-65541-${be}.json`;
    // copied by hand under this device's name
    await Deno.writeTextFile(
      path,
      JSON.stringify(
        baselineOf(cases.map((c) => supportedCase(c.id)), { fingerprint: h100 }),
      ),
    );
    const before = await Deno.readTextFile(path);
    const update = (...more: string[]) =>
      runCliInProcess(["baseline", "update", "--from-report", run, "--dir", `${dir}/b`, ...more]);
    const r = await update();
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        "holds the baseline of another device \\(nvidia-h100-80gb-hbm3-4318-vulkan\\), not " +
          `this one's \\(llvmpipe-65541-${be}\\).*move it to nvidia-h100-80gb-hbm3-4318-vulkan\\.json`,
      ),
    );
    assert.equal(await Deno.readTextFile(path), before, "the other device's kept");
    assert.equal((await update("--replace")).code, 0);
    // a baseline an older harness wrote for this device (its own key rules) is this device's;
    // the fixture is lavapipe's under Vulkan, so on the GL fallback it is another backend's
    if (be === "vulkan") {
      const old = new URL(
        "./fixtures/upgrade/65b857a_baselines/llvmpipe-65541-fallback-vulkan.json",
        import.meta.url,
      );
      await Deno.copyFile(old, path);
      const again = await update("--filter", "path=absorbed");
      assert.doesNotMatch(again.stderr, /another device/);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// `baseline update --from-report <run> --filter <f> --history <db>` appended the filtered
// report: a run other than the one `run --history` (or `history --add`) stored for that
// night, so the filter's cases had two points of one night in their series.
Deno.test("baseline update --from-report --filter --history: the night's run is stored once, whichever appends it first", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const run = await writeJson(`${dir}/run.json`, reportOf([withParity(A), withParity(E)]));
    const update = (db: string, dirName: string) =>
      runCli([
        "baseline",
        "update",
        "--from-report",
        run,
        "--filter",
        "path=absorbed",
        "--dir",
        `${dir}/${dirName}`,
        "--history",
        db,
      ]);
    const runsOf = async (db: string) => {
      const store = await HistoryStore.open(db);
      try {
        return store.runs().length;
      } finally {
        store.close();
      }
    };
    // the nightly order: the run appended first (run --history), then the baseline update
    const first = `${dir}/first.sqlite`;
    assert.equal((await runCli(["history", "--db", first, "--add", run])).code, 0);
    const u = await update(first, "b1");
    assert.equal(u.code, 0, u.stdout + u.stderr);
    assert.equal(await runsOf(first), 1, "the update's run is the one stored");
    // the other order: the update's append is the run, which --add then finds
    const second = `${dir}/second.sqlite`;
    assert.equal((await update(second, "b2")).code, 0);
    const add = await runCliInProcess(["history", "--db", second, "--add", run]);
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stderr, /is already run 1 of .*not added again/);
    assert.equal(await runsOf(second), 1);
    const series = await runCli(["history", "--db", second, A, "--json"]);
    assert.equal(series.code, 0, series.stderr);
    assert.equal(JSON.parse(series.stdout)[0].points.length, 1, "one point for the night");
    // the baseline itself holds the filter's cases only
    const [file] = await Array.fromAsync(Deno.readDir(`${dir}/b2`));
    assert.deepEqual((await readBaseline(`${dir}/b2/${file.name}`)).scope, [A]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("run --case-timeout: past what a timer can wait (2147483 s) is exit 2", async () => {
  const r = await runCli(["run", "--matrix", "smoke", "--case-timeout", "1e12"]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /"1e12" must be a number of seconds from 0 to 2147483/);
});

gpuTest(
  "baseline update: a baseline it would refuse to write over is refused before the matrix runs (it ran the whole matrix first)",
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      const key = (await runCli(["baseline", "key"])).stdout.trim();
      // this device's baseline of two cases, one of which the update's filter leaves out
      const wide = baselineOf([supportedCase(A), supportedCase(E)], {
        deviceKey: key,
        // the backend this device's runs record (gl on a fresh machine's fallback): else the
        // file would read as another device's baseline, refused for that first
        backend: currentBackend(),
      });
      await Deno.mkdir(`${dir}/b`);
      await Deno.writeTextFile(`${dir}/b/${key}.json`, JSON.stringify(wide));
      const r = await runCli([
        "baseline",
        "update",
        "--matrix",
        "smoke",
        "--filter",
        "preset=tiny;path=absorbed;dtype=f32;layout=bshd;sq=1",
        "--dir",
        `${dir}/b`,
        "--out",
        `${dir}/out`,
      ]);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, /leaves out 1 of its cases .*no baseline written/);
      assert.ok(!(await exists(`${dir}/out/report.json`)), "the matrix did not run");
      assert.doesNotMatch(r.stdout + r.stderr, /\[1\/\d+\]/, "no case ran");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("an upgrade-check's output folder given as one run: compare, history --add and baseline update name its sides (exit 2)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // what upgrade-check --out writes: each side's run in from/ and to/, its comparison beside
    const up = `${dir}/up`;
    for (const side of ["from", "to"]) {
      await Deno.mkdir(`${up}/${side}`, { recursive: true });
      await writeJson(`${up}/${side}/report.json`, reportOf([withParity(A)]));
    }
    await writeJson(`${up}/compare.json`, { cases: [] });
    const run = `${dir}/run`;
    await Deno.mkdir(run);
    await writeJson(`${run}/report.json`, reportOf([withParity(A)]));
    const sides = `its sides' runs are ${up}/from and ${up}/to; give one of them`;
    // as the baseline: it read "no baseline for this device (…); the folder has compare"
    const base = await runCliInProcess(["compare", up, run]);
    assert.equal(base.code, 2, base.stdout + base.stderr);
    assert.ok(
      base.stderr.includes(
        `${up}: an upgrade-check's output folder, not one run's: ${sides} ` +
          `(\`compare ${up}/from ${up}/to\` compares them)`,
      ),
      base.stderr,
    );
    // as the current side, and to history --add: "a folder without report.json"
    const current = await runCliInProcess(["compare", run, `${up}/`]);
    assert.equal(current.code, 2, current.stdout + current.stderr);
    assert.ok(current.stderr.includes(`an upgrade-check's output folder, not one run's: ${sides}`));
    const add = await runCliInProcess(["history", "--db", `${dir}/h.sqlite`, "--add", up]);
    assert.equal(add.code, 2, add.stdout + add.stderr);
    assert.ok(
      add.stderr.includes(`--add ${up}: an upgrade-check's output folder, not one run's: ${sides}`),
      add.stderr,
    );
    assert.equal(await exists(`${dir}/h.sqlite`), false, "nothing stored");
    const update = await runCliInProcess([
      "baseline",
      "update",
      "--from-report",
      up,
      "--dir",
      `${dir}/bl`,
    ]);
    assert.equal(update.code, 2, update.stdout + update.stderr);
    assert.ok(
      update.stderr.includes(`${up}: an upgrade-check's output folder, not one run's: ${sides}`),
      update.stderr,
    );
    // a check whose second side never ran: the one side there is
    await Deno.remove(`${up}/to`, { recursive: true });
    const one = await runCliInProcess(["compare", up, run]);
    assert.ok(
      one.stderr.includes(`its one side's run is ${up}/from; give that folder\n`),
      one.stderr,
    );
    // merge: it read "report.json: missing (not a run output folder, or the run never started)"
    const merged = await runCliInProcess(["merge", up, "--out", `${dir}/mm`]);
    assert.equal(merged.code, 2, merged.stdout + merged.stderr);
    assert.ok(
      merged.stderr.includes(
        `merge: ${up}: an upgrade-check's output folder, not one run's: its one side's run is`,
      ),
      merged.stderr,
    );
    assert.equal(await exists(`${dir}/mm`), false, "no --out made");
    noStack(base.stderr + current.stderr + add.stderr + update.stderr + one.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("compare of a run with itself warns that nothing could have drifted (it read No regressions)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const run = `${dir}/run`;
    await Deno.mkdir(run);
    await writeJson(`${run}/report.json`, reportOf([withParity(A), withParity(E)]));
    const same = await runCliInProcess(["compare", run, `${run}/report.json`]);
    // its verdict (exit 0) stands; it read "No regressions" without a word
    assert.equal(same.code, 0, same.stdout + same.stderr);
    assert.match(
      same.stderr,
      new RegExp(
        "warning: \\S+/run and \\S+/run/report\\.json hold the same run \\(started [^ ]+ on " +
          `llvmpipe-65541-${currentBackend()}, the same results and timing samples\\): ` +
          "nothing can have drifted",
      ),
    );
    // another run of the same cases (another start, other samples): no such word
    const other = `${dir}/other.json`;
    await writeJson(
      other,
      reportOf([withParity(A), withParity(E)], { startedAt: "2026-12-01T00:00:00.000Z" }),
    );
    const two = await runCliInProcess(["compare", run, other]);
    assert.equal(two.code, 0, two.stdout + two.stderr);
    assert.doesNotMatch(two.stderr, /same run/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
