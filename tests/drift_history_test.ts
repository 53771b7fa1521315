// The run history over node:sqlite: runs appended, a metric's series per case and their
// geometric mean, a slow creep flagged as a step, and the `history` command's output and
// errors; a database of an older harness (schema 1) and runs timed differently.
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { TIMING_RULES } from "../adapter/timing_scope.ts";
import {
  checkHistoryFile,
  DriftInputError,
  HISTORY_SCHEMA_VERSION,
  HistoryOverlapError,
  HistoryStore,
} from "../drift/mod.ts";
import type { CaseResult } from "../results/types.ts";
import { caseResult, lavapipeFingerprint, reportOf } from "./drift_helpers.ts";
import { runCli, runCliInProcess } from "./helpers_cli.ts";
import { pathExists } from "../util/fs.ts";
import { parity } from "./report_util.ts";

const exists = (p: string) => Deno.stat(p).then(() => true, () => false);

const A = "preset=tiny;path=absorbed;dtype=f32;b=2;sq=1;sk=20;layout=bshd;causal=1";
const E = "preset=tiny;path=expanded;dtype=f32;b=2;sq=1;sk=20;layout=bshd;causal=1";

/** A result whose timing samples spread ±1% around a median. */
function nightly(id: string, medianMs: number, seed: number): CaseResult {
  const r = caseResult(id, medianMs, seed);
  const samplesMs = r.timing!.samplesMs.map((v) => medianMs + (v - medianMs) / 20);
  return { ...r, timing: { source: "timestamp-query", samplesMs, medianMs } };
}

/** 12 nights: the absorbed case creeps 2% a night, the expanded one stays flat. */
async function creepingHistory(path: string): Promise<void> {
  const store = await HistoryStore.open(path);
  try {
    for (let night = 0; night < 12; night++) {
      const day = String(night + 1).padStart(2, "0");
      const report = reportOf([nightly(A, 1.02 ** night, night + 1), nightly(E, 1, night + 50)], {
        startedAt: `2026-01-${day}T02:00:00.000Z`,
        endedAt: `2026-01-${day}T02:01:00.000Z`,
      });
      await store.append(report, { label: "nightly", backend: "vulkan" });
    }
  } finally {
    store.close();
  }
}

Deno.test("history: runs appended, series per case, creep flagged as a step", async () => {
  const db = `${await Deno.makeTempDir()}/h/history.sqlite`;
  await creepingHistory(db);
  const store = await HistoryStore.open(db);
  try {
    const runs = store.runs();
    assert.equal(runs.length, 12);
    assert.equal(runs[0].deviceKey, "llvmpipe-65541-vulkan");
    assert.equal(runs[0].cases, 2);
    const absorbed = store.series("path=absorbed", "median_ms");
    assert.equal(absorbed.length, 1);
    assert.equal(absorbed[0].points.length, 12);
    assert.ok(absorbed[0].steps.length >= 1, "the creep is flagged");
    assert.ok(absorbed[0].steps[0].change > 0.1);
    const both = store.series(null, "median_ms");
    assert.deepEqual(both.map((s) => s.caseId), [A, E, "*"]);
    assert.deepEqual(both[1].steps, [], "the flat case has no step");
    assert.equal(store.series("path=absorbed", "out_max_abs").length, 0, "no metric recorded");
    assert.throws(() => store.series("nokey=1", "median_ms"), /filter key "nokey" is unknown/);
  } finally {
    store.close();
  }
});

Deno.test("history command: table, STEP lines, JSON, and bad input (exit 2)", async () => {
  const dir = await Deno.makeTempDir();
  const db = `${dir}/history.sqlite`;
  await creepingHistory(db);
  const r = await runCli(["history", "path=absorbed", "--db", db]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /median_ms over 12 runs/);
  assert.match(
    r.stdout,
    /STEP at run \d+ \(2026-01-\d\dT02:00:00\.000Z, Deno 2\.9\.6\): .* \(\+1\d\.\d%/,
  );
  // a creep on one Deno and one revision: nothing the runs record changed at the step
  assert.match(r.stdout, /\n {4}since run \d+: nothing the runs record changed \(/);
  const failing = await runCli(["history", "path=absorbed", "--db", db, "--fail-on-step"]);
  assert.equal(failing.code, 1);
  const json = await runCliInProcess(["history", "--db", db, "--json"]);
  assert.equal(JSON.parse(json.stdout).length, 3);

  const badFilter = await runCli(["history", "nokey=1", "--db", db]);
  assert.equal(badFilter.code, 2);
  assert.match(badFilter.stderr, /case filter: filter key "nokey" is unknown/);
  const missing = await runCliInProcess(["history", "--db", `${dir}/none.sqlite`]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /none\.sqlite: no such history database/);
  await Deno.writeTextFile(
    `${dir}/text.sqlite`,
    "this is not a database, just text long enough ".repeat(20),
  );
  const notDb = await runCliInProcess(["history", "--db", `${dir}/text.sqlite`]);
  assert.equal(notDb.code, 2);
  assert.match(notDb.stderr, /text\.sqlite: not a history database/);
  const badMetric = await runCliInProcess(["history", "--db", db, "--metric", "speed"]);
  assert.equal(badMetric.code, 2);
});

/** A SQLite file of another program: one table of its own. */
function foreignDb(path: string): void {
  const db = new DatabaseSync(path);
  db.exec("CREATE TABLE users (name TEXT); INSERT INTO users VALUES ('ada')");
  db.close();
}

Deno.test("history databases are marked; another program's SQLite file is refused untouched", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const ours = `${dir}/ours.sqlite`;
    (await HistoryStore.open(ours)).close();
    const check = new DatabaseSync(ours, { readOnly: true });
    const appId = (check.prepare("PRAGMA application_id").get() as { application_id: number })
      .application_id;
    check.close();
    assert.equal(appId, 0x4d4c4148, "application_id 'MLAH'");
    await checkHistoryFile(ours);
    await checkHistoryFile(`${dir}/not-yet.sqlite`); // created later: fine
    assert.ok(!(await exists(`${dir}/not-yet.sqlite`)), "the check creates nothing");

    const foreign = `${dir}/app.db`;
    foreignDb(foreign);
    const before = await Deno.readFile(foreign);
    for (const attempt of [() => checkHistoryFile(foreign), () => HistoryStore.open(foreign)]) {
      await assert.rejects(attempt, (e: unknown) => {
        assert.ok(e instanceof DriftInputError, String(e));
        assert.match(e.message, /app\.db: is a SQLite database of something else/);
        assert.match(e.message, /application_id 0, tables users/);
        return true;
      });
    }
    assert.deepEqual(await Deno.readFile(foreign), before, "no table was added");
    await assert.rejects(() => checkHistoryFile(dir), /is a folder/);

    // a history database written before the marker still opens, and gets marked
    const legacy = `${dir}/legacy.sqlite`;
    const l = new DatabaseSync(legacy);
    l.exec(
      "CREATE TABLE environments (id INTEGER PRIMARY KEY); CREATE TABLE runs (id INTEGER " +
        "PRIMARY KEY); CREATE TABLE case_results (run_id INTEGER, case_id TEXT, median_ms REAL, " +
        "samples_ms TEXT); PRAGMA user_version = 1",
    );
    l.close();
    (await HistoryStore.open(legacy)).close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("run --history and history --add refuse a foreign SQLite file before any work (exit 2)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const foreign = `${dir}/app.db`;
    foreignDb(foreign);
    const before = await Deno.readFile(foreign);
    const out = `${dir}/out`;
    const run = await runCli([
      "run",
      "--matrix",
      "smoke",
      "--filter",
      "preset=tiny",
      "--out",
      out,
      "--history",
      foreign,
    ]);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /app\.db: is a SQLite database of something else/);
    assert.ok(!/\n\s+at /.test(run.stderr), "no stack trace");
    assert.ok(!(await exists(`${out}/results.jsonl`)), "nothing ran: no results");
    const report = `${dir}/report.json`;
    await Deno.writeTextFile(report, JSON.stringify(reportOf([caseResult(A, 1, 1)])));
    const add = await runCliInProcess(["history", "--db", foreign, "--add", report]);
    assert.equal(add.code, 2, add.stderr);
    assert.match(add.stderr, /app\.db: is a SQLite database of something else/);
    assert.deepEqual(await Deno.readFile(foreign), before);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("history: a resumed run replaces its earlier stop (its cases once), a later run does not", async () => {
  const db = `${await Deno.makeTempDir()}/h/history.sqlite`;
  const store = await HistoryStore.open(db);
  try {
    const start = { startedAt: "2026-02-01T02:00:00.000Z" };
    const a = nightly(A, 1, 1), e = nightly(E, 2, 2);
    // The stop: A finished, E not run; stored by run --history.
    const stop = reportOf([a], {
      ...start,
      endedAt: "2026-02-01T02:00:30.000Z",
      interrupted: true,
    });
    const first = await store.append(stop, { backend: "vulkan" });
    // The resume keeps the start and A's result, and adds E.
    const resumed = reportOf([a, e], { ...start, endedAt: "2026-02-01T02:05:00.000Z" });
    assert.equal(store.findEarlierStop(resumed), first);
    assert.equal(await store.append(resumed, { backend: "vulkan" }), first);
    const runs = store.runs();
    assert.equal(runs.length, 1);
    assert.equal(runs[0].cases, 2);
    assert.equal(store.series(`path=absorbed`, "median_ms")[0].points.length, 1, "A once");
    assert.equal(store.findRun(resumed), first, "the resumed report is now the stored run");
    // Another night whose A differs is a run of its own, even at the same start.
    const other = reportOf([nightly(A, 1.5, 9), e], {
      ...start,
      endedAt: "2026-02-01T02:06:00.000Z",
    });
    assert.equal(store.findEarlierStop(other), null);
    assert.notEqual(await store.append(other, { backend: "vulkan" }), first);
    assert.equal(store.runs().length, 2);
  } finally {
    store.close();
  }
});

Deno.test("history: a resumed run that ran a lost case again replaces its earlier stop, not refused nor stored twice", async () => {
  const db = `${await Deno.makeTempDir()}/h/history.sqlite`;
  const store = await HistoryStore.open(db);
  try {
    const start = { startedAt: "2026-02-01T02:00:00.000Z" };
    const a = nightly(A, 1, 1), e = nightly(E, 2, 2);
    // the stop: A finished, E lost to a device loss (an error, which --resume runs again)
    const lost: CaseResult = {
      ...e,
      status: "error",
      message: "device lost",
      timing: undefined,
      deviceLoss: true,
      wallMs: 31.7,
    };
    const stop = reportOf([a, lost], {
      ...start,
      endedAt: "2026-02-01T02:00:30.000Z",
      interrupted: true,
      totals: { pass: 1, fail: 0, unexpected: 0, error: 1 },
    });
    const first = await store.append(stop, { backend: "vulkan" });
    // the resume keeps A, runs E again (a pass now) and the rest
    const b = nightly(`${A};x=1`, 3, 3);
    const resumed = reportOf([a, e, b], { ...start, endedAt: "2026-02-01T02:05:00.000Z" });
    assert.equal(store.findEarlierStop(resumed), first);
    const [done] = await store.appendAll([resumed], { backend: "vulkan" });
    assert.deepEqual([done.id, done.outcome], [first, "replaced"]);
    assert.equal(store.runs().length, 1);
    // a finished run whose one lost case --resume ran again (no case added): the same
    const again = { startedAt: "2026-02-02T02:00:00.000Z" };
    const night = await store.append(
      reportOf([a, lost], { ...again, totals: { pass: 1, fail: 0, unexpected: 0, error: 1 } }),
      { backend: "vulkan" },
    );
    const fixed = reportOf([a, e], { ...again, endedAt: "2026-02-02T02:09:00.000Z" });
    const [redone] = await store.appendAll([fixed], { backend: "vulkan" });
    assert.deepEqual([redone.id, redone.outcome], [night, "replaced"]);
    assert.equal(store.runs().length, 2);
  } finally {
    store.close();
  }
});

Deno.test("history: runs of two devices in one database are shown with their device, and a step is looked for within each device's runs", async () => {
  const dir = await Deno.makeTempDir();
  const db = `${dir}/h/history.sqlite`;
  const store = await HistoryStore.open(db);
  try {
    // 6 flat nights on vulkan, then 6 flat nights on gl at a third of the speed: no step
    // within either device, though the values jump between them.
    for (let night = 0; night < 12; night++) {
      const day = String(night + 1).padStart(2, "0");
      const gl = night >= 6;
      const report = reportOf([nightly(A, gl ? 3 : 1, night + 1)], {
        startedAt: `2026-03-${day}T02:00:00.000Z`,
        endedAt: `2026-03-${day}T02:01:00.000Z`,
      });
      await store.append(report, { backend: gl ? "gl" : "vulkan" });
    }
    const [series] = store.series("path=absorbed", "median_ms");
    assert.equal(series.points.length, 12);
    assert.deepEqual(series.steps, [], "a change of device is not a step");
    assert.deepEqual([...new Set(series.points.map((p) => p.deviceKey))], [
      "llvmpipe-65541-vulkan",
      "llvmpipe-65541-gl",
    ]);
  } finally {
    store.close();
  }
  const r = await runCliInProcess(["history", "path=absorbed", "--db", db]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /runs of 2 devices \(llvmpipe-65541-vulkan, llvmpipe-65541-gl\)/);
  assert.match(r.stdout, /^ {2}7 {4}2026-03-07T02:00:00\.000Z .* llvmpipe-65541-gl$/m);
  // 6 runs a device: too few for a step (8), searched within each device, none across
  assert.match(r.stdout, /too few runs to detect a step: 6 of one device, timed alike/);
  // a case filter given after --add's reports: named as such, not "no such file"
  const one = `${dir}/one.json`;
  await Deno.writeTextFile(one, JSON.stringify(reportOf([nightly(A, 1, 99)])));
  const late = await runCliInProcess(["history", "--db", db, "--add", one, "path=absorbed"]);
  assert.equal(late.code, 2, late.stdout + late.stderr);
  assert.match(
    late.stderr,
    /--add path=absorbed: not a report file or folder; it reads as a case filter/,
  );
  // a planted fault's run is not the kernels' history: refused, by history --add and run --history
  const planted = `${dir}/planted.json`;
  await Deno.writeTextFile(
    planted,
    JSON.stringify(reportOf([nightly(A, 1, 98)], { plantedFault: "lse-offset" })),
  );
  const p = await runCliInProcess(["history", "--db", db, "--add", planted]);
  assert.equal(p.code, 2, p.stdout + p.stderr);
  assert.match(p.stderr, /a run with planted fault lse-offset .*nothing added/);
  const r2 = await runCliInProcess([
    "run",
    "--filter",
    "preset=tiny",
    "--plant-fault",
    "lse-offset",
    "--history",
    db,
    "--out",
    `${dir}/never`,
  ]);
  assert.equal(r2.code, 2, r2.stdout + r2.stderr);
  assert.match(r2.stderr, /--plant-fault lse-offset with --history/);
  await Deno.remove(dir, { recursive: true });
});

/** The `--history` database 222fd31 wrote (tests/fixtures/upgrade/README.md), at `path`. */
async function restore222fd31(path: string): Promise<void> {
  const db = new DatabaseSync(path);
  try {
    db.exec(
      await Deno.readTextFile(new URL("./fixtures/upgrade/222fd31_history.sql", import.meta.url)),
    );
  } finally {
    db.close();
  }
}

Deno.test("history: a database of 222fd31 (schema 1) gets the timing columns; its runs and this harness's are timed apart, no step between them", async () => {
  const dir = await Deno.makeTempDir();
  const db = `${dir}/history.sqlite`;
  // Four runs of the expanded case by 222fd31, whose samples timed every pass (its K/V
  // expansion included): tests/fixtures/upgrade/README.md.
  await restore222fd31(db);
  const store = await HistoryStore.open(db);
  try {
    // Four nights of this harness: the attention core only, a quarter of those samples.
    for (let night = 0; night < 4; night++) {
      const r = nightly(E, 0.2, night + 1);
      const timing = { ...r.timing!, scope: "core" as const, rules: TIMING_RULES };
      await store.append(
        reportOf([{ ...r, timing }], {
          startedAt: `2026-12-07T0${night}:00:00.000Z`,
          endedAt: `2026-12-07T0${night}:01:00.000Z`,
        }),
        { backend: "vulkan" },
      );
    }
    const [s] = store.series("path=expanded", "median_ms");
    assert.equal(s.points.length, 8);
    assert.deepEqual(s.steps, [], "another scope and rules are not a step of speed");
    assert.deepEqual([...new Set(s.points.map((p) => p.timing))], [
      "timestamp-query, scope not recorded, warm-up not recorded, rules not recorded",
      "timestamp-query, scope core, warm-up 0 ms, rules 1",
    ]);
    assert.equal(store.series("path=expanded", "out_max_abs")[0].points[0].timing, undefined);
  } finally {
    store.close();
  }
  const check = new DatabaseSync(db);
  const version = (check.prepare("PRAGMA user_version").get() as { user_version: number })
    .user_version;
  assert.equal(version, HISTORY_SCHEMA_VERSION);
  const r = await runCliInProcess(["history", "path=expanded", "--db", db]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /runs timed 2 ways: steps are looked for within each/);
  assert.match(
    r.stdout,
    /rules not recorded: runs 1-4\n.*scope core, warm-up 0 ms, rules 1: runs 5-8/,
  );
  // 4 runs timed each way: too few for a step (8), not "no step change"
  assert.match(
    r.stdout,
    /too few runs to detect a step: 4 of one device, timed alike and on one input; a step needs at least 8/,
  );
  // A database of a newer harness is refused, naming both versions, and left as it is.
  check.exec("PRAGMA user_version = 3");
  check.close();
  const newer = /history schema 3; this harness reads schemas 1 to 2\): read it with that harness/;
  await assert.rejects(() => checkHistoryFile(db), newer);
  await assert.rejects(() => HistoryStore.open(db), newer);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("history: a database whose device keys an older harness computed (-fallback-) reads as this harness's one device", async () => {
  const dir = await Deno.makeTempDir();
  const db = `${dir}/history.sqlite`;
  await restore222fd31(db);
  const old = new DatabaseSync(db);
  // Before d25df28 the same fingerprint (lavapipe, isFallbackAdapter true) was keyed with
  // "-fallback" (`git show d25df28^:drift/device_key.ts`): the key such a database holds.
  old.exec("UPDATE environments SET device_key = 'llvmpipe-65541-fallback-vulkan'");
  old.close();
  const store = await HistoryStore.open(db);
  try {
    for (let night = 0; night < 4; night++) {
      const r = nightly(E, 0.2, night + 1);
      await store.append(
        reportOf([{ ...r, timing: { ...r.timing!, scope: "core", rules: TIMING_RULES } }], {
          startedAt: `2026-12-07T0${night}:00:00.000Z`,
          endedAt: `2026-12-07T0${night}:01:00.000Z`,
        }),
        { backend: "vulkan" },
      );
    }
    const [s] = store.series("path=expanded", "median_ms");
    assert.equal(s.points.length, 8);
    assert.deepEqual([...new Set(s.points.map((p) => p.deviceKey))], ["llvmpipe-65541-vulkan"]);
    assert.equal(
      store.series("path=expanded", "median_ms", { deviceKey: "llvmpipe-65541-vulkan" })[0]
        .points.length,
      8,
    );
  } finally {
    store.close();
  }
  const r = await runCliInProcess(["history", "path=expanded", "--db", db]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.doesNotMatch(r.stdout, /runs of 2 devices/);
  assert.doesNotMatch(r.stdout, /fallback/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("history: runs of a harness before the timing was recorded: a step at a change of revision says what it may be", async () => {
  const dir = await Deno.makeTempDir();
  const db = `${dir}/history.sqlite`;
  const store = await HistoryStore.open(db);
  try {
    // reports of a harness before timing.rules: 4 nights at 1 ms, then 4 at 0.25 ms on another
    // revision (the expanded path's scope moved from every pass to the core in between)
    for (let night = 0; night < 8; night++) {
      const harnessRevision = night < 4 ? "a".repeat(40) : "b".repeat(40);
      await store.append(
        reportOf([nightly(E, night < 4 ? 1 : 0.25, night + 1)], {
          fingerprint: lavapipeFingerprint({ harnessRevision }),
          startedAt: `2026-12-0${night + 1}T02:00:00.000Z`,
          endedAt: `2026-12-0${night + 1}T02:01:00.000Z`,
        }),
        { backend: "vulkan" },
      );
    }
  } finally {
    store.close();
  }
  const r = await runCliInProcess(["history", "path=expanded", "--db", db]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /STEP at run 5/);
  // what changed from the run before the step, said on the line after it
  assert.match(
    r.stdout,
    /STEP at run 5 .*\n {4}since run 4: harness revision: aaaaaaaaaa → bbbbbbbbbb\n/,
  );
  assert.match(
    r.stdout,
    /the harness revision changed here \(aaaaaaaaaaaa → bbbbbbbbbbbb\) and these runs do not record how they were timed: the step may be a change in what the harness timed/,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("history: error metrics of another input seed are kept apart: no step where the matrix's seed changed, and the text says why", async () => {
  const dir = await Deno.makeTempDir();
  const db = `${dir}/h/history.sqlite`;
  // out max abs 1e-6 on seed 7's inputs for 6 nights, then 1.4e-6 on seed 8's for 6: other
  // inputs have other errors, not a kernel change. The same values on one seed are a step.
  const withOut = (night: number, seed: number | undefined, maxAbs: number): CaseResult => ({
    ...nightly(A, 1, night + 1),
    ...(seed === undefined ? {} : { seed }),
    out: { ...parity(true), maxAbs: maxAbs * (1 + 0.01 * (night % 3)), maxRel: 1e-5 },
  });
  const fill = async (path: string, seedOf: (night: number) => number | undefined) => {
    const store = await HistoryStore.open(path);
    try {
      for (let night = 0; night < 12; night++) {
        const day = String(night + 1).padStart(2, "0");
        const report = reportOf([withOut(night, seedOf(night), night < 6 ? 1e-6 : 1.4e-6)], {
          startedAt: `2026-04-${day}T02:00:00.000Z`,
          endedAt: `2026-04-${day}T02:01:00.000Z`,
        });
        await store.append(report, { backend: "vulkan" });
      }
      return store.series("path=absorbed", "out_max_abs")[0];
    } finally {
      store.close();
    }
  };
  const twoSeeds = await fill(db, (night) => (night < 6 ? 7 : 8));
  assert.equal(twoSeeds.points.length, 12);
  assert.deepEqual(twoSeeds.steps, [], "a change of inputs is not a step");
  assert.deepEqual([...new Set(twoSeeds.points.map((p) => p.inputs))], ["seed 7", "seed 8"]);
  const oneSeed = await fill(`${dir}/h/one.sqlite`, () => 7);
  assert.equal(oneSeed.steps.length, 1, "the same move on one seed's inputs is a step");
  const r = await runCliInProcess([
    "history",
    "path=absorbed",
    "--db",
    db,
    "--metric",
    "out_max_abs",
  ]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /runs on 2 sets of inputs: steps are looked for within each/);
  assert.match(r.stdout, /^ {4}seed 7: runs 1-6$/m);
  assert.match(r.stdout, /too few runs to detect a step: 6 of one device, timed alike and on one/);
});

Deno.test("history: the mean over all matched cases is searched within each set of cases (a case added read as a +115% step)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const db = `${dir}/history.sqlite`;
    const N = "preset=tiny;path=absorbed;dtype=f32;b=2;sq=4;sk=20;layout=bshd;causal=1";
    const store = await HistoryStore.open(db);
    try {
      for (let night = 0; night < 12; night++) {
        const day = String(night + 1).padStart(2, "0");
        const results = [nightly(A, 1, night + 1), nightly(E, 1, night + 50)];
        // from night 7 the matrix has a third case, ten times slower: no case changed speed
        if (night >= 6) results.push(nightly(N, 10, night + 90));
        await store.append(
          reportOf(results, {
            startedAt: `2026-01-${day}T02:00:00.000Z`,
            endedAt: `2026-01-${day}T02:01:00.000Z`,
          }),
          { backend: "vulkan" },
        );
      }
      const mean = store.series(null, "median_ms").find((s) => s.caseId === "*")!;
      assert.equal(mean.points.length, 12);
      assert.deepEqual(mean.steps, [], "no step: the mean moved because a case joined");
      assert.equal(new Set(mean.points.map((p) => p.cases)).size, 2);
    } finally {
      store.close();
    }
    const r = await runCliInProcess(["history", "--db", db, "--fail-on-step"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      /runs of 2 sets of cases: steps are looked for within each[^\n]*\n\s+2 cases [0-9a-f]{8}: runs 1-6\n\s+3 cases [0-9a-f]{8}: runs 7-12/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("history: the mean's set of cases leaves out a case whose error metric is 0 that run (the geometric mean skips it)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const db = `${dir}/history.sqlite`;
    const withOut = (id: string, night: number, maxAbs: number): CaseResult => ({
      ...nightly(id, 1, night + 1),
      out: { ...parity(true), maxAbs, maxRel: 1e-5 },
    });
    const store = await HistoryStore.open(db);
    try {
      for (let night = 0; night < 2; night++) {
        const day = String(night + 1).padStart(2, "0");
        // E's error is exactly 0 on the first night (a bit-exact output)
        await store.append(
          reportOf([withOut(A, night, 1e-6), withOut(E, night, night === 0 ? 0 : 1e-6)], {
            startedAt: `2026-05-${day}T02:00:00.000Z`,
            endedAt: `2026-05-${day}T02:01:00.000Z`,
          }),
          { backend: "vulkan" },
        );
      }
      const mean = store.series(null, "out_max_abs").find((s) => s.caseId === "*")!;
      assert.deepEqual(mean.points.map((p) => p.cases?.split(" ").slice(0, 2).join(" ")), [
        "1 case",
        "2 cases",
      ]);
    } finally {
      store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("history: nights where every matched case's error is 0 are named as left out of the mean, not dropped unsaid", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const db = `${dir}/history.sqlite`;
    const store = await HistoryStore.open(db);
    try {
      for (let night = 0; night < 4; night++) {
        const day = String(night + 1).padStart(2, "0");
        // both cases bit-exact on the first two nights
        const maxAbs = night < 2 ? 0 : 1e-7;
        await store.append(
          reportOf(
            [A, E].map((id) => ({
              ...nightly(id, 1, night + 1),
              out: { ...parity(true), maxAbs },
            })),
            { startedAt: `2026-07-${day}T02:00:00.000Z`, endedAt: `2026-07-${day}T02:01:00.000Z` },
          ),
          { backend: "vulkan" },
        );
      }
      const mean = store.series(null, "out_max_abs").find((s) => s.caseId === "*")!;
      assert.equal(mean.points.length, 2);
      assert.deepEqual(mean.noMean, [1, 2]);
      const each = store.series(null, "out_max_abs").filter((s) => s.caseId !== "*");
      for (const s of each) assert.equal(s.points.length, 4, "a case's own series keeps them");
      assert.equal(
        store.series(null, "median_ms").find((s) => s.caseId === "*")!.noMean,
        undefined,
      );
    } finally {
      store.close();
    }
    const r = await runCliInProcess(["history", "--db", db, "--metric", "out_max_abs"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /all matched cases \(geometric mean per run\): out_max_abs over 2 runs\n {2}left out: runs 1-2, where every matched case's out_max_abs is 0 \(no geometric mean/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test('history --json: a step from 0 changes by "Infinity", not null', async () => {
  const dir = await Deno.makeTempDir();
  try {
    const db = `${dir}/history.sqlite`;
    const store = await HistoryStore.open(db);
    try {
      for (let night = 0; night < 8; night++) {
        const day = String(night + 1).padStart(2, "0");
        const maxAbs = night < 4 ? 0 : 1e-6 * (1 + night / 100);
        await store.append(
          reportOf([{ ...nightly(A, 1, night + 1), out: { ...parity(true), maxAbs } }], {
            startedAt: `2026-06-${day}T02:00:00.000Z`,
            endedAt: `2026-06-${day}T02:01:00.000Z`,
          }),
          { backend: "vulkan" },
        );
      }
    } finally {
      store.close();
    }
    const r = await runCliInProcess(["history", "--db", db, "--metric", "out_max_abs", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const [series] = JSON.parse(r.stdout);
    assert.equal(series.steps.length, 1, r.stdout);
    assert.equal(series.steps[0].change, "Infinity");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("history: a step says what the runs record changed at it (a driver, a kernel), not 'the same Deno and harness revision'", async () => {
  const dir = await Deno.makeTempDir();
  const db = `${dir}/history.sqlite`;
  const store = await HistoryStore.open(db);
  const fp = lavapipeFingerprint();
  const adapter = structuredClone(fp.adapter) as { adapter: { description: string } };
  adapter.adapter.description = "llvmpipe (LLVM 17.0.1, 256 bits)";
  const llvm17 = lavapipeFingerprint({
    adapter,
    kernelHashes: { ...fp.kernelHashes, "absorbed.wgsl": "0000000000000000" },
  });
  try {
    // 4 nights at 1 ms, then 4 at 2 ms on the same Deno and revision: a new driver, an edited
    // kernel (one device key: the driver is no part of it)
    for (let night = 0; night < 8; night++) {
      await store.append(
        reportOf([nightly(A, night < 4 ? 1 : 2, night + 1)], {
          fingerprint: night < 4 ? fp : llvm17,
          startedAt: `2026-12-0${night + 1}T02:00:00.000Z`,
          endedAt: `2026-12-0${night + 1}T02:01:00.000Z`,
        }),
        { backend: "vulkan" },
      );
    }
    const [s] = store.series(null, "median_ms");
    assert.equal(s.steps.length, 1);
    assert.equal(s.steps[0].since?.runId, 4);
  } finally {
    store.close();
  }
  const r = await runCliInProcess(["history", "--db", db]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(
    r.stdout,
    /STEP at run 5 .*\n {4}since run 4: adapter or driver: description llvmpipe \(LLVM 15\.0\.6, 256 bits\) → llvmpipe \(LLVM 17\.0\.1, 256 bits\); kernel source: absorbed\.wgsl 6a9b739d7529ea3d → 0000000000000000\n/,
  );
  const html = `${dir}/h.html`;
  assert.equal((await runCliInProcess(["history", "--db", db, "--html", html])).code, 0);
  assert.match(await Deno.readTextFile(html), /<td>run 4: adapter or driver: description llvmpipe/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("history: a step where the cases moved to another backend says so (the adapter's choice), before the environment", async () => {
  const dir = await Deno.makeTempDir();
  const db = `${dir}/history.sqlite`;
  const store = await HistoryStore.open(db);
  try {
    // 4 nights on wgsl-absorbed at 1 ms, then 4 on wgsl-absorbed-gemm at 2 ms (one Deno, one
    // revision: the adapter's rules picked the other kernel), E on wgsl-expanded throughout
    for (let night = 0; night < 8; night++) {
      const a = nightly(A, night < 4 ? 1 : 2, night + 1);
      await store.append(
        reportOf([
          { ...a, backend: night < 4 ? "wgsl-absorbed" : "wgsl-absorbed-gemm" },
          nightly(E, night < 4 ? 1 : 2, night + 20),
        ], {
          startedAt: `2026-12-0${night + 1}T02:00:00.000Z`,
          endedAt: `2026-12-0${night + 1}T02:01:00.000Z`,
        }),
        { backend: "vulkan" },
      );
    }
    const [a, e, all] = store.series(null, "median_ms");
    assert.deepEqual(a.steps[0].since, {
      runId: 4,
      changes: ["backend: wgsl-absorbed → wgsl-absorbed-gemm"],
    });
    assert.deepEqual(e.steps[0].since, { runId: 4, changes: [] });
    assert.deepEqual(all.steps[0].since?.changes, [
      "backend of 1 of 2 cases: wgsl-absorbed → wgsl-absorbed-gemm (1)",
    ]);
  } finally {
    store.close();
  }
  const r = await runCliInProcess(["history", "path=absorbed", "--db", db]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /\n {4}since run 4: backend: wgsl-absorbed → wgsl-absorbed-gemm\n/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("history: a merged run whose shards are stored (or the other way) is refused, not counted twice", async () => {
  const dir = await Deno.makeTempDir();
  const db = `${dir}/history.sqlite`;
  const [a, e] = [nightly(A, 1, 1), nightly(E, 2, 2)];
  const at = (day: string, from: string, to: string) => ({
    startedAt: `2026-12-${day}T02:${from}.000Z`,
    endedAt: `2026-12-${day}T02:${to}.000Z`,
  });
  // one night's two shards (run in parallel) and their merge, which holds their samples
  const shard1 = reportOf([a], { shard: "1/2", ...at("01", "00:00", "01:00") });
  const shard2 = reportOf([e], { shard: "2/2", ...at("01", "00:05", "01:30") });
  const merged = reportOf([a, e], at("01", "00:00", "01:30"));
  const store = await HistoryStore.open(db);
  try {
    await store.appendAll([shard1, shard2]);
    await assert.rejects(
      () => store.appendAll([merged]),
      (err: unknown) => err instanceof HistoryOverlapError && err.stored.id === 1,
    );
    assert.equal(store.runs().length, 2, "nothing of the refused call is stored");
    // another night whose samples happen to be the same (this test's fixed seeds): its own run
    const next = reportOf([a, e], at("02", "00:00", "01:30"));
    assert.equal((await store.appendAll([next]))[0].outcome, "appended");
  } finally {
    store.close();
  }
  // the command names the file, exit 2, nothing added
  await Deno.writeTextFile(`${dir}/merged.json`, JSON.stringify(merged));
  const r = await runCliInProcess(["history", "--db", db, "--add", `${dir}/merged.json`]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(
    r.stderr,
    /--add .*merged\.json: 1 of its cases has the very timing samples of stored run 1 \(started 2026-12-01T02:00:00\.000Z, shard 1\/2\)/,
  );
  // a baseline of the merged run with --history: refused before the baseline is written,
  // naming the database and the report (it was written, then the append threw unnamed)
  const b = await runCliInProcess([
    "baseline",
    "update",
    "--from-report",
    `${dir}/merged.json`,
    "--dir",
    `${dir}/baselines`,
    "--history",
    db,
  ]);
  assert.equal(b.code, 2, b.stdout + b.stderr);
  assert.match(
    b.stderr,
    /--history .*history\.sqlite: .*merged\.json: 1 of its cases has the very timing samples of stored run 1 .*no baseline written/,
  );
  assert.equal(await pathExists(`${dir}/baselines`), false, "no baseline written");
  const fresh = await HistoryStore.open(`${dir}/other.sqlite`);
  try {
    // the merged run first, then a shard: refused the same way
    await fresh.appendAll([merged]);
    await assert.rejects(() => fresh.appendAll([shard2]), HistoryOverlapError);
  } finally {
    fresh.close();
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("history: a merged run and its shard without timing samples (run --repeats 0) are told by wall times, not both stored", async () => {
  const dir = await Deno.makeTempDir();
  const db = `${dir}/history.sqlite`;
  // no timing: only the samples told them, so both were stored and each case counted twice
  const untimed = (r: CaseResult, wallMs: number): CaseResult => {
    const { timing: _, ...rest } = r;
    return { ...rest, wallMs };
  };
  const [a, e] = [untimed(nightly(A, 1, 1), 812.4), untimed(nightly(E, 2, 2), 95.1)];
  const at = (day: string, from: string, to: string) => ({
    startedAt: `2026-12-${day}T02:${from}.000Z`,
    endedAt: `2026-12-${day}T02:${to}.000Z`,
  });
  const shard1 = reportOf([a], { shard: "1/2", ...at("01", "00:00", "01:00") });
  const merged = reportOf([a, e], at("01", "00:00", "01:30"));
  const store = await HistoryStore.open(db);
  try {
    await store.appendAll([merged]);
    await assert.rejects(
      () => store.appendAll([shard1]),
      (err: unknown) =>
        err instanceof HistoryOverlapError && err.stored.id === 1 && err.stored.by === "wall",
    );
    assert.equal(store.runs().length, 1, "nothing of the refused call is stored");
    // another run of the same cases at the same time (its own wall times): its own run
    const other = reportOf([untimed(a, 790.2), untimed(e, 95.3)], at("01", "00:10", "01:20"));
    assert.equal((await store.appendAll([other]))[0].outcome, "appended");
  } finally {
    store.close();
  }
  // the command names the file and the stored run, exit 2
  await Deno.writeTextFile(`${dir}/shard1.json`, JSON.stringify(shard1));
  const r = await runCliInProcess(["history", "--db", db, "--add", `${dir}/shard1.json`]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(
    r.stderr,
    /--add .*shard1\.json: 1 of its cases has the very statuses and wall times \(the runs have no timing samples\) of stored run 1 \(started 2026-12-01T02:00:00\.000Z\)/,
  );
  // and the listing of such a database says what it has: "no median_ms values for any case"
  // was all
  const list = await runCliInProcess(["history", "--db", db]);
  assert.equal(list.code, 0, list.stdout + list.stderr);
  assert.match(
    list.stdout,
    /^no median_ms values for any case in .*: its 2 runs record none \(a run with --repeats 0 times nothing\)\n/,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("history --add of a compare-runtimes folder says what it is, nothing added; of an empty shard, that it holds no case", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // it read "a folder without report.json, not a run output folder"
    await Deno.mkdir(`${dir}/cr`);
    await Deno.writeTextFile(`${dir}/cr/compare-runtimes.jsonl`, "");
    const db = `${dir}/h.sqlite`;
    const r = await runCliInProcess(["history", "--db", db, "--add", `${dir}/cr/`]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /--add .*\/cr\/: a compare-runtimes output folder \(it holds compare-runtimes\.jsonl, no report\.json\), not a run's/,
    );
    assert.equal(await pathExists(db), false);
    // a shard the hash gave none of the selection (run exits 0): it read as any run added
    const empty = `${dir}/empty.json`;
    await Deno.writeTextFile(
      empty,
      JSON.stringify(reportOf([], { shard: "2/2", matrixIds: [A], shardIds: [] })),
    );
    const added = await runCliInProcess(["history", "--db", db, "--add", empty]);
    assert.equal(added.code, 0, added.stdout + added.stderr);
    assert.match(
      added.stderr,
      /empty\.json appended as run 1; it holds no case \(shard 2\/2 holds none of the 1 case of its matrix and filter\): no series gets a point from it\n/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("history --json: a series too short for a step says so, as the text does", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const db = `${dir}/history.sqlite`;
    const store = await HistoryStore.open(db);
    try {
      for (let night = 0; night < 5; night++) {
        const day = String(night + 1).padStart(2, "0");
        await store.append(
          reportOf([nightly(A, night < 2 ? 1 : 10, night + 1)], {
            startedAt: `2026-01-${day}T02:00:00.000Z`,
            endedAt: `2026-01-${day}T02:01:00.000Z`,
          }),
          { label: "nightly" },
        );
      }
    } finally {
      store.close();
    }
    const text = await runCliInProcess(["history", "--db", db]);
    assert.match(text.stdout, /too few runs to detect a step: 5; a step needs at least 8/);
    const json = await runCliInProcess(["history", "--db", db, "--json"]);
    assert.equal(json.code, 0, json.stderr);
    const [s] = JSON.parse(json.stdout);
    assert.deepEqual(s.steps, []);
    assert.equal(s.tooFewRuns, true, "not a finding of no step");
    assert.equal(s.runsNeeded, 8);
    const loose = await runCliInProcess(["history", "--db", db, "--json", "--alpha", "0.2"]);
    assert.equal(JSON.parse(loose.stdout)[0].runsNeeded, 6);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checkHistoryFile: a database another process holds locked is named locked, not 'not a history database'", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const db = `${dir}/history.sqlite`;
    await creepingHistory(db);
    // a writer's exclusive transaction (a second nightly job's --add, say), held past the wait
    const writer = new DatabaseSync(db);
    writer.exec("BEGIN EXCLUSIVE");
    try {
      await assert.rejects(
        () => checkHistoryFile(db, { busyTimeoutMs: 20 }),
        (e: Error) => {
          assert.ok(e instanceof DriftInputError);
          assert.doesNotMatch(e.message, /not a history database/);
          assert.match(
            e.message,
            /history\.sqlite: is locked by another process writing to it \(a run --history, baseline update --history or history --add\?\), still after 0\.02 s of waiting; try again when that write ends/,
          );
          return true;
        },
      );
    } finally {
      writer.exec("ROLLBACK");
      writer.close();
    }
    await checkHistoryFile(db, { busyTimeoutMs: 20 });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
