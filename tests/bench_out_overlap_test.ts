/**
 * `bench --out` refuses, before the device starts, a folder whose writing would destroy
 * what is there: a `run` or `merge` output folder (bench's report.json, summary.md and
 * report.html would replace the run's) and a --reference-ceilings file that is one of the
 * files bench writes there (the quiet-moment reference replaced by this run's report).
 * Needs no GPU: each is exit 2 before the device is opened.
 */
import assert from "node:assert/strict";
import {
  benchDeviceDifferences,
  benchOptionDifferences,
  type BenchOptions,
  checkBenchOut,
  checkUnfinishedBench,
  finishedBenchReport,
  readBenchResume,
} from "../bench/out_dir.ts";
import { benchCaseId, benchMatrix } from "../bench/cases.ts";
import { OutputPathError } from "../report/output_paths.ts";
import { runCli } from "./helpers_cli.ts";

async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const e of Deno.readDir(dir)) {
    out[e.name] = await Deno.readTextFile(`${dir}/${e.name}`);
  }
  return out;
}

Deno.test("bench --out: a run's folder, or the --reference-ceilings file inside it, is exit 2 and untouched", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "mla-bench-out-" });
  try {
    // A run's folder (as `run` leaves it) and a bench folder holding the reference report.
    await Deno.mkdir(`${tmp}/run`);
    for (const f of ["run.json", "results.jsonl", "report.json", "summary.md", "report.html"]) {
      await Deno.writeTextFile(`${tmp}/run/${f}`, `${f} of a run\n`);
    }
    await Deno.mkdir(`${tmp}/merged`);
    await Deno.writeTextFile(`${tmp}/merged/results.jsonl`, "");
    await Deno.writeTextFile(`${tmp}/merged/report.json`, "{}\n");
    await Deno.mkdir(`${tmp}/bench`);
    await Deno.writeTextFile(`${tmp}/bench/report.json`, '{"reference": true}\n');
    const before = {
      run: await snapshot(`${tmp}/run`),
      merged: await snapshot(`${tmp}/merged`),
      bench: await snapshot(`${tmp}/bench`),
    };
    const bench = (args: string[]) =>
      runCli(["bench", "--matrix", "tiny", "--reps", "1", ...args], {
        DENO_WEBGPU_BACKEND: "dx12", // no adapter: reaching the device would be exit 3
      });
    const [intoRun, intoMerge, reference, referenceLinked] = await Promise.all([
      bench(["--out", `${tmp}/run`]),
      bench(["--out", `${tmp}/merged/`]),
      bench(["--out", `${tmp}/bench`, "--reference-ceilings", `${tmp}/bench/report.json`]),
      bench(["--out", `${tmp}/bench/`, "--reference-ceilings", `${tmp}/./bench//report.json`]),
    ]);
    // a file bench writes that is a folder: exit 2 naming it (an internal error with a stack
    // trace, exit 1, once the device had started)
    await Deno.mkdir(`${tmp}/busy/summary.md/x`, { recursive: true });
    const folder = await bench(["--out", `${tmp}/busy`]);
    assert.match(
      folder.stderr,
      /--out \(summary\.md\) .*summary\.md: is a folder; give a file path/,
    );
    for (const r of [intoRun, intoMerge, reference, referenceLinked, folder]) {
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.doesNotMatch(r.stderr, /internal error|at .*\.ts:\d+/);
    }
    assert.match(
      intoRun.stderr,
      /--out .*run: holds run\.json: it is the output folder of a run or a merge, whose report\.json, summary\.md and report\.html bench would replace/,
    );
    assert.match(intoMerge.stderr, /--out .*merged\/: holds results\.jsonl/);
    // an upgrade-check's folder (a run in from/, its compare.md): bench's reports were
    // written beside them, and the folder then read as one run's
    await Deno.mkdir(`${tmp}/up/from`, { recursive: true });
    await Deno.writeTextFile(`${tmp}/up/from/report.json`, "{}\n");
    await Deno.writeTextFile(`${tmp}/up/compare.md`, "# comparison\n");
    const intoUpgrade = await bench(["--out", `${tmp}/up`]);
    assert.equal(intoUpgrade.code, 2, intoUpgrade.stdout + intoUpgrade.stderr);
    assert.match(
      intoUpgrade.stderr,
      /--out .*up: holds an upgrade-check's output \(its sides' runs: .*up\/from\), beside which bench would write/,
    );
    assert.deepEqual([...Deno.readDirSync(`${tmp}/up`)].map((e) => e.name).sort(), [
      "compare.md",
      "from",
    ]);
    // said of the folder given, not of the file bench would write in it
    assert.match(
      reference.stderr,
      new RegExp(
        `--out ${tmp}/bench: bench writes report\\.json there, and that file is the ` +
          `--reference-ceilings ${tmp}/bench/report\\.json it reads: writing it would destroy`,
      ),
    );
    assert.match(
      referenceLinked.stderr,
      new RegExp(`--out ${tmp}/bench/: bench writes report\\.json there, and that file is the`),
    );
    assert.deepEqual(await snapshot(`${tmp}/run`), before.run);
    assert.deepEqual(await snapshot(`${tmp}/merged`), before.merged);
    assert.deepEqual(await snapshot(`${tmp}/bench`), before.bench);
    // A new folder, a bench folder and a reference elsewhere pass the check.
    await checkBenchOut(`${tmp}/new`);
    await checkBenchOut(`${tmp}/bench`, { referenceCeilings: `${tmp}/run/../ref.json` });
    await assert.rejects(() => checkBenchOut(`${tmp}/run`), OutputPathError);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("bench --out: a killed bench's records.jsonl (no report.json) is exit 2 and untouched; a finished bench's folder is not refused", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "mla-bench-unfinished-" });
  try {
    await Deno.mkdir(`${tmp}/killed`);
    const record = JSON.stringify({ id: "tiny decode", ms: 1.5 }) + "\n";
    await Deno.writeTextFile(`${tmp}/killed/records.jsonl`, record.repeat(3));
    const before = await snapshot(`${tmp}/killed`);
    const r = await runCli(["bench", "--matrix", "tiny", "--reps", "1", "--out", `${tmp}/killed`]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /holds records\.jsonl with 3 records and no report\.json: a bench that did not finish .*--resume runs the rest of that bench .*--force/,
    );
    assert.doesNotMatch(r.stderr, /measuring the device's ceilings/, "refused before the device");
    assert.deepEqual(await snapshot(`${tmp}/killed`), before);
    // A report.json marked interrupted (a signal stopped the bench): refused too, naming
    // --resume (a new bench truncated the records it could have finished)
    await Deno.writeTextFile(
      `${tmp}/killed/report.json`,
      JSON.stringify({ interrupted: { signal: "SIGTERM", selected: 5, notRun: ["x", "y"] } }),
    );
    await assert.rejects(
      () => checkUnfinishedBench(`${tmp}/killed`),
      /3 records and a report\.json marked interrupted: a bench that a signal stopped .*--resume/,
    );
    // A report of fewer records than bench.json's selected cases (case timeouts in a row
    // stopped the bench, which writes a report not marked interrupted): refused too; a new
    // bench replaced its records without a word where its last line had offered --resume
    await Deno.writeTextFile(
      `${tmp}/killed/report.json`,
      JSON.stringify({ records: [{ id: "a" }, { id: "b" }] }),
    );
    await Deno.writeTextFile(
      `${tmp}/killed/bench.json`,
      JSON.stringify({
        options: { cases: ["a", "b", "c", "d"], reps: 1, backends: [], modules: [] },
        device: { key: "k" },
      }),
    );
    await assert.rejects(
      () => checkUnfinishedBench(`${tmp}/killed`),
      /3 records and a report\.json of 2 of its 4 cases: a bench that stopped before its end .*--resume/,
    );
    // With its report.json the folder is a finished bench's: replaced, not refused.
    await Deno.writeTextFile(`${tmp}/killed/report.json`, "{}");
    await checkUnfinishedBench(`${tmp}/killed`);
    // a last line a kill cut in half is no record
    await Deno.rename(`${tmp}/killed/report.json`, `${tmp}/killed/old-report.json`);
    await Deno.writeTextFile(`${tmp}/killed/records.jsonl`, record.repeat(2) + '{"id": "tin');
    await assert.rejects(
      () => checkUnfinishedBench(`${tmp}/killed`),
      /holds records\.jsonl with 2 records and no report\.json/,
    );
    // An empty records.jsonl (a bench stopped before its first case) holds nothing to lose.
    await Deno.mkdir(`${tmp}/empty`);
    await Deno.writeTextFile(`${tmp}/empty/records.jsonl`, "");
    await checkUnfinishedBench(`${tmp}/empty`);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("bench --resume: keeps only the records of the same bench, naming what differs", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "mla-bench-resume-" });
  try {
    const options: BenchOptions = {
      matrix: "tiny",
      filter: null,
      cases: ["a", "b", "c"],
      backends: [],
      modules: [],
      runtime: "deno",
      reps: 2,
      warmupMs: "auto",
      replay: "auto",
    };
    const device = { key: "llvmpipe-65541-vulkan", warmupMs: 0, replay: "waited" };
    const rec = (id: string) => JSON.stringify({ id, status: "ok", ms: 1 });
    // no records: a new bench
    assert.deepEqual(await readBenchResume(tmp, options), { state: null, kept: new Map() });
    // records without bench.json (a harness before it): their bench unknown
    await Deno.writeTextFile(`${tmp}/records.jsonl`, rec("a") + "\n");
    await assert.rejects(
      () => readBenchResume(tmp, options),
      /1 record but no bench\.json \(a bench from before it was written\): which bench .*--force/,
    );
    // a bench.json that is not one: said, not a TypeError
    await Deno.writeTextFile(`${tmp}/bench.json`, JSON.stringify({ options: { reps: 2 }, device }));
    await assert.rejects(
      () => readBenchResume(tmp, options),
      /but a bench\.json that cannot be read \(not a bench\.json of this harness\)/,
    );
    await Deno.writeTextFile(`${tmp}/bench.json`, JSON.stringify({ options, device }));
    // another bench: each difference named; the same cases spelt otherwise are the same bench
    await assert.rejects(
      () => readBenchResume(tmp, { ...options, reps: 7, filter: "path=absorbed", cases: ["a"] }),
      /differs from this one in --filter \(none\) there, path=absorbed here; --reps 2 there, 7 here; --resume continues only/,
    );
    const spelt = { ...options, filter: "dtype=f32" };
    assert.equal((await readBenchResume(tmp, spelt)).kept.size, 1);
    assert.deepEqual(benchOptionDifferences(options, { ...options, backends: ["naive"] }), [
      "--backend (none) there, naive here",
    ]);
    // the warm-up as it applies on the device: auto is 0 on a cpu-class one
    assert.deepEqual(
      benchDeviceDifferences({ options, device }, { options: { ...options, warmupMs: 0 }, device }),
      [],
    );
    assert.deepEqual(
      benchDeviceDifferences({ options, device }, {
        options: { ...options, warmupMs: 5 },
        device: { ...device, warmupMs: 5 },
      }),
      ["--warmup-ms auto (0) there, 5 here"],
    );
    // a last line half written when the bench was killed is dropped; a damaged one before it,
    // or a case the bench does not select, is refused
    await Deno.writeTextFile(`${tmp}/records.jsonl`, `${rec("a")}\n${rec("b")}\n{"id":"c","st`);
    const { state, kept } = await readBenchResume(tmp, options);
    assert.deepEqual([...kept.keys()], ["a", "b"]);
    assert.deepEqual(state, { options, device });
    // a stopped bench's report.json: the load its records were timed under is kept
    const busy = { at: "2026-01-01T00:00:00.000Z", load1: 9, load5: 9, cpus: 1 };
    await Deno.writeTextFile(
      `${tmp}/report.json`,
      JSON.stringify({ hostLoad: { start: busy, end: null } }),
    );
    assert.deepEqual((await readBenchResume(tmp, options)).hostLoad, { start: busy, end: null });
    await Deno.remove(`${tmp}/report.json`);
    await Deno.writeTextFile(`${tmp}/records.jsonl`, `${rec("a")}\n{"id":\n${rec("b")}\n`);
    await assert.rejects(
      () => readBenchResume(tmp, options),
      /records\.jsonl line 2 is not JSON .*a damaged line before the last is not skipped/,
    );
    await Deno.writeTextFile(`${tmp}/records.jsonl`, `${rec("a")}\n${rec("z")}\n`);
    await assert.rejects(
      () => readBenchResume(tmp, options),
      /line 2 is of case "z", which this bench does not select/,
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

// `bench --resume` of a bench that had finished measured the ceilings again and rewrote every
// report: the fractions judged anew against this session's ceilings, and the report saying its
// records came from an earlier session "killed or stopped". Nothing is benched or rewritten now.
Deno.test("bench --resume of a finished bench leaves its reports as they are and shows them, no device started", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "mla-bench-finished-" });
  try {
    const cases = benchMatrix("tiny");
    const options: BenchOptions = {
      matrix: "tiny",
      filter: null,
      cases: cases.map(benchCaseId),
      backends: [],
      modules: [],
      runtime: "deno",
      reps: 2,
      warmupMs: "auto",
      replay: "auto",
    };
    const device = { key: "llvmpipe-65541-vulkan", warmupMs: 0, replay: "waited" };
    const records = cases.map((c) => ({ id: benchCaseId(c), case: c, status: "ok", ms: 1 }));
    await Deno.writeTextFile(`${tmp}/bench.json`, JSON.stringify({ options, device }));
    await Deno.writeTextFile(
      `${tmp}/records.jsonl`,
      records.map((r) => JSON.stringify(r)).join("\n") + "\n",
    );
    const report = JSON.stringify({ machine: { adapter: "x" }, records, targets: [] }, null, 2);
    await Deno.writeTextFile(`${tmp}/report.json`, report);
    // a report a full disk kept from being written: the resume writes them
    assert.equal(await finishedBenchReport(tmp), null);
    for (const f of ["results.csv", "summary.md", "report.html"]) {
      await Deno.writeTextFile(`${tmp}/${f}`, `${f} of the finished bench`);
    }
    assert.equal(await finishedBenchReport(tmp), report);
    const before = await snapshot(tmp);
    const r = await runCli([
      "bench",
      "--matrix",
      "tiny",
      "--reps",
      "2",
      "--out",
      tmp,
      "--resume",
      "--json",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trimEnd(), report);
    assert.match(
      r.stderr,
      /finished \(report\.json of its 2 cases\): nothing to resume; its reports are left as they are/,
    );
    assert.doesNotMatch(r.stderr, /measuring the device's ceilings/);
    assert.deepEqual(await snapshot(tmp), before);
    // the table of a report it cannot lay out (this hand-made one) names summary.md
    const table = await runCli([
      "bench",
      "--matrix",
      "tiny",
      "--reps",
      "2",
      "--out",
      tmp,
      "--resume",
    ]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /see .*summary\.md\)/);
    assert.deepEqual(await snapshot(tmp), before);
    // a report marked interrupted is no finished bench
    await Deno.writeTextFile(`${tmp}/report.json`, JSON.stringify({ records, interrupted: {} }));
    assert.equal(await finishedBenchReport(tmp), null);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

// `bench --resume` with an --out that holds no bench (a mistyped folder) began a whole new
// bench without a word; it now says nothing is resumed. (Stopped by a missing
// --reference-ceilings, read after the note and before any device starts.)
Deno.test("bench --resume of a folder without records says a new bench starts", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "mla-bench-resume-none-" });
  try {
    const r = await runCli([
      "bench",
      "--matrix",
      "tiny",
      "--out",
      `${tmp}/typo`,
      "--resume",
      "--reference-ceilings",
      `${tmp}/no-such-report.json`,
    ]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /resume: .*typo holds no records of a bench \(no records\.jsonl, or an empty one\): nothing to resume; a new bench of 2 cases starts/,
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

// `bench --title X` without --out titled nothing, without a word (only summary.md and
// report.html carry it); exit 2 before any device now, as --force and --resume without --out.
Deno.test("bench --title without --out is exit 2 naming --out; the default title needs none", async () => {
  const r = await runCli(["bench", "--matrix", "tiny", "--title", "Nightly"]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /bench: --title Nightly is only read with --out, and no --out is given/);
  assert.doesNotMatch(r.stderr, /measuring the device's ceilings/);
  // with --out the title is taken (stopped by a missing --reference-ceilings before any device)
  const tmp = await Deno.makeTempDir({ prefix: "mla-bench-title-" });
  try {
    const withOut = await runCli([
      "bench",
      "--matrix",
      "tiny",
      "--title",
      "Nightly",
      "--out",
      `${tmp}/out`,
      "--reference-ceilings",
      `${tmp}/none.json`,
    ]);
    assert.equal(withOut.code, 2);
    assert.doesNotMatch(withOut.stderr, /--title/);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
