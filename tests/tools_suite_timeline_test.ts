// tools/suite_timeline.ts: the CPU share from /proc/stat, the module spans from deno test's
// lines, and a real run of a short command (its lines stamped in order, its exit code kept).
import assert from "node:assert/strict";
import {
  bucketBusy,
  busyPercent,
  durationSeconds,
  moduleSpans,
  moduleTestTimes,
  parseProcStat,
  runTimeline,
  summarizeTimeline,
  wholeOutputJobs,
} from "../tools/suite_timeline.ts";
import { runTool } from "./helpers_cli.ts";

const ESC = String.fromCharCode(27);

Deno.test("suite_timeline: /proc/stat's cpu line as totals; idle counts iowait; not a cpu line is null", () => {
  // user nice system idle iowait irq softirq steal guest guest_nice
  const a = parseProcStat("cpu  100 10 50 700 40 0 5 0 0 0\ncpu0 1 1 1 1 1 1 1 1 1 1\n");
  assert.deepEqual(a, { total: 905, idle: 740 });
  const b = parseProcStat("cpu  200 10 85 760 45 0 5 0 0 0\n")!;
  // 200 ticks passed, 65 of them idle or iowait: 67.5% busy
  assert.equal(busyPercent(a!, b), 67.5);
  assert.equal(busyPercent(b, b), 0);
  assert.equal(parseProcStat("cpu0 1 2 3 4 5\n"), null); // only a per-CPU line
  assert.equal(parseProcStat("cpu  1 2 x 4 5\n"), null);
  assert.equal(parseProcStat(""), null);
});

Deno.test("suite_timeline: busy share per stretch of the run", () => {
  const samples = [1, 2, 3, 29, 30, 61].map((t, i) => ({ t, busy: 10 * (i + 1) }));
  assert.deepEqual(bucketBusy(samples, 30), [
    { from: 0, busy: 25 }, // 10 20 30 40
    { from: 30, busy: 50 },
    { from: 60, busy: 60 },
  ]);
  assert.deepEqual(bucketBusy([], 30), []);
});

Deno.test("suite_timeline: module spans from deno test's lines, coloured or not, longest first", () => {
  const spans = moduleSpans([
    [0.2, "running 3 tests from ./tests/a_test.ts"],
    [0.3, `${ESC}[0m${ESC}[38;5;245m./tests/b_test.ts => ${ESC}[0mone ... ${ESC}[32mok${ESC}[0m`],
    [2, "./tests/a_test.ts => x ... ok (1s)"],
    [3, "./tests/b_test.ts => two ... ok (3s)"],
    [9, "./tests/a_test.ts => step ... inner ... ok (1s)"],
    [9.5, "ok | 5 passed | 0 failed (9s)"],
    [9.6, "some other line mentioning ./tests/c_test.ts"],
    // a module outside the working folder, as deno test prints it
    [10, "../other/d_test.ts => three ... ok (1s)"],
    [12, "../other/d_test.ts => four ... ok (1s)"],
  ]);
  // A module starts at its running line, or earlier when a result's duration says so: b's
  // test "two" ended at 3 s after 3 s; d's "three" began at 9 s.
  assert.deepEqual(spans, [
    { module: "a_test.ts", first: 0.2, last: 9 },
    { module: "b_test.ts", first: 0, last: 3 },
    { module: "d_test.ts", first: 9, last: 12 },
  ]);
});

Deno.test("suite_timeline: a --parallel module whose first result comes after a long test spans that test", () => {
  // deno test --parallel prints no running line: the smoke matrix's module printed its first
  // line when its 83 s test ended, and read as spanning 0 s (left out of the longest spans).
  const lines: [number, string][] = [
    [5, "./tests/a_test.ts => quick ... ok (1s)"],
    [40, "./tests/a_test.ts => slow ... ok (30s)"],
    [90, "./tests/smoke_test.ts => the smoke matrix passes ... ok (1m23s)"],
    [90.1, "./tests/smoke_test.ts => no drift ... ok (87ms)"],
    [91, "./tests/c_test.ts => longer than the stamp ... ok (2m)"],
  ];
  assert.deepEqual(moduleSpans(lines), [
    { module: "c_test.ts", first: 0, last: 91 }, // not before the start
    { module: "smoke_test.ts", first: 7, last: 90.1 },
    { module: "a_test.ts", first: 4, last: 40 },
  ]);
  const summary = summarizeTimeline({ code: 0, wallS: 92, samples: [], lines }, {
    bucket: 30,
    top: 2,
  });
  const at = summary.indexOf("longest module spans (first test's start to last result line, s):");
  assert.ok(at > 0, summary.join("\n"));
  assert.deepEqual(summary.slice(at + 1, at + 3), [
    "    91  c_test.ts (0-91)",
    "    83  smoke_test.ts (7-90)",
  ]);
});

Deno.test("suite_timeline: durations as deno test prints them", () => {
  assert.equal(durationSeconds("12s"), 12);
  assert.equal(durationSeconds("2m5s"), 125);
  assert.equal(durationSeconds("3m"), 180);
  assert.equal(durationSeconds("250ms"), 0.25);
  assert.equal(durationSeconds("366µs"), 0.000366);
  for (const bad of ["", "ms", "1h", "twelve", "1 s"]) {
    assert.equal(durationSeconds(bad), null, bad);
  }
});

Deno.test("suite_timeline: test time per module sums top-level results, not their steps", () => {
  const times = moduleTestTimes([
    "running 3 tests from ./tests/a_test.ts",
    `${ESC}[0m${ESC}[38;5;245m./tests/a_test.ts => ${ESC}[0mone ... ${ESC}[32mok${ESC}[0m ${ESC}[0m${ESC}[38;5;245m(1s)${ESC}[0m`,
    // a step's line: inside its test's 5 s, not counted again
    "./tests/a_test.ts => two ... f16 tiny ... ok (4s)",
    "./tests/a_test.ts => two ... ok (5s)",
    "./tests/b_test.ts => three ... FAILED (1m2s)",
    "./tests/b_test.ts => four ... ignored (0ms)",
    "./tests/c_test.ts => no time ... ok",
    "ok | 3 passed | 1 failed (1m9s)",
  ]);
  assert.deepEqual(times, [
    { module: "b_test.ts", tests: 1, seconds: 62 },
    { module: "a_test.ts", tests: 2, seconds: 6 },
  ]);
  const summary = summarizeTimeline({
    code: 0,
    wallS: 70,
    samples: [],
    lines: [[1, "./tests/a_test.ts => one ... ok (2s)"], [3, "./tests/b_test.ts => x ... ok (9s)"]],
  }, { bucket: 30, top: 1 });
  const at = summary.indexOf("most test time per module (the sum of its tests' durations, s):");
  assert.ok(at > 0, summary.join("\n"));
  assert.deepEqual(summary.slice(at + 1), ["     9  b_test.ts (1 test)"]);
});

Deno.test("suite_timeline: one module's deno test (the GL fallback's runner) gives spans and test time too", () => {
  // as tools/test_runner.ts prints a module's own deno test, one job at a time
  const lines: [number, string][] = [
    [0, "test_runner: GL fallback (DENO_WEBGPU_BACKEND=gl was set): 2 modules ...; 1 at once"],
    [1, "test_runner: [1/2] tests/a_test.ts"],
    [1.5, "running 2 tests from ./tests/a_test.ts"],
    [2, `one ... ${ESC}[32mok${ESC}[0m ${ESC}[0m${ESC}[38;5;245m(500ms)${ESC}[0m`],
    [3, "two ..."],
    [4, "  inner ... ok (1s)"],
    [6, "two ... FAILED (3s)"],
    [6.1, "skipped ... ignored (0ms)"],
    [6.2, "FAILED | 1 passed | 1 failed | 1 ignored (5s)"],
    [6.3, "test_runner: [2/2] tests/b_test.ts"],
    [6.5, "running 1 test from ./tests/b_test.ts"],
    [7, "three ... ok (500ms)"],
    [7.1, "ok | 1 passed | 0 failed (1s)"],
    [7.2, "lone ... ok (9s)"], // after a summary: no module's
  ];
  assert.deepEqual(moduleTestTimes(lines.map(([, l]) => l)), [
    { module: "a_test.ts", tests: 2, seconds: 3.5 },
    { module: "b_test.ts", tests: 1, seconds: 0.5 },
  ]);
  assert.deepEqual(moduleSpans(lines), [
    { module: "a_test.ts", first: 1.5, last: 6.1 },
    { module: "b_test.ts", first: 6.5, last: 7 },
  ]);
  assert.equal(wholeOutputJobs(lines), null);
  // two at once: each module's output came whole at its end, so no span is given
  lines[0] = [0, lines[0][1].replace("1 at once", "2 at once")];
  assert.equal(wholeOutputJobs(lines), 2);
  const summary = summarizeTimeline({ code: 1, wallS: 8, samples: [], lines }, {
    bucket: 30,
    top: 5,
  });
  assert.ok(
    summary.includes(
      "longest module spans: not measured (the GL fallback's runner ran 2 modules at once and " +
        "printed each one's output whole when it ended; DENO_JOBS=1 shows them)",
    ),
    summary.join("\n"),
  );
  assert.ok(summary.includes("     4  a_test.ts (2 tests)"), summary.join("\n"));
});

Deno.test("suite_timeline: a real command's lines are stamped in order and its exit code kept", async () => {
  const tl = await runTimeline(
    ["sh", "-c", "echo './tests/a_test.ts => x ... ok'; sleep 0.4; echo done >&2; exit 3"],
    0.1,
  );
  assert.equal(tl.code, 3);
  assert.deepEqual(tl.lines.map(([, l]) => l), ["./tests/a_test.ts => x ... ok", "done"]);
  assert.ok(tl.lines[1][0] - tl.lines[0][0] >= 0.3, JSON.stringify(tl.lines));
  assert.ok(tl.wallS >= 0.4);
  const hasProcStat = await Deno.stat("/proc/stat").then(() => true, () => false);
  // sampled every 0.1 s over at least 0.4 s
  if (hasProcStat) assert.ok(tl.samples.length >= 2, JSON.stringify(tl.samples));
  for (const s of tl.samples) assert.ok(s.busy >= 0 && s.busy <= 100, String(s.busy));
  const summary = summarizeTimeline(tl, { bucket: 30, top: 5 });
  assert.match(summary[0], /^wall: \d+\.\d s, exit 3$/);
  assert.match(summary[1], hasProcStat ? /^CPUs busy: \d+% of the run/ : /unknown/);
  assert.match(summary.join("\n"), /a_test\.ts \(0-0\)/);
});

Deno.test("suite_timeline: the command line runs the command after --, writes --out, exits with its code", async () => {
  const dir = await Deno.makeTempDir({ prefix: "suite_timeline_" });
  try {
    const r = await runTool("suite_timeline.ts", [
      "--interval",
      "0.2",
      "--out",
      dir,
      "--",
      "sh",
      "-c",
      "echo hello; sleep 0.5; exit 1",
    ]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /^hello$/m);
    assert.match(r.stdout, /^wall: [\d.]+ s, exit 1$/m);
    assert.match(await Deno.readTextFile(`${dir}/timeline.log`), /^ +\d+\.\d hello\n$/);
    assert.match(await Deno.readTextFile(`${dir}/cpu.tsv`), /^t\tbusy\n/);
    const bad = await runTool("suite_timeline.ts", ["--interval", "0"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--interval must be a number >= 0.1, got "0"/);
    assert.doesNotMatch(bad.stderr, /\n\s+at /); // a message, not a stack trace
    // an --out that cannot be a folder: said before the command runs (it would print "ran")
    await Deno.writeTextFile(`${dir}/file`, "a file\n");
    const out = await runTool("suite_timeline.ts", ["--out", `${dir}/file`, "--", "echo", "ran"]);
    assert.equal(out.code, 2, out.stderr);
    assert.match(out.stderr, /^suite_timeline: --out .*\/file: cannot make the folder: /);
    assert.doesNotMatch(out.stdout, /ran/);
    const none = await runTool("suite_timeline.ts", ["--", `${dir}/no-such-command`]);
    assert.equal(none.code, 2, none.stderr);
    assert.match(none.stderr, /^suite_timeline: cannot start .*\/no-such-command: /);
    for (const r of [out, none]) assert.doesNotMatch(r.stderr, /Uncaught|\n\s+at /);
    const unknown = await runTool("suite_timeline.ts", ["--bogus"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /usage: deno run -A tools\/suite_timeline\.ts/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
