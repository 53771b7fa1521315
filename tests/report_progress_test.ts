import assert from "node:assert/strict";
import {
  formatDuration,
  PROGRESS_COUNT_EVERY_MS,
  progressOptions,
  type ProgressOutput,
  ProgressReporter,
  SILENT_PROGRESS,
  toMarkdown,
} from "../report/mod.ts";
import { mixedResults, report } from "./report_util.ts";

function sink(tty: boolean): ProgressOutput & { text(): string } {
  const chunks: Uint8Array[] = [];
  return {
    writeSync(p) {
      chunks.push(p.slice());
      return p.length;
    },
    isTerminal: () => tty,
    text: () => new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c]))),
  };
}

Deno.test("progress: plain mode prints one line per case and a final line", () => {
  const out = sink(false);
  let t = 0;
  const results = mixedResults();
  const p = new ProgressReporter(5, { out, now: () => t });
  assert.equal(p.live, false);
  for (const r of results) {
    t += 1000;
    p.caseDone(r);
  }
  p.finish();
  const lines = out.text().split("\n");
  assert.equal(lines.pop(), "");
  assert.equal(lines.length, results.length + 1);
  assert.equal(lines[0], `[1/5] pass ${results[0].id}  (0.12 s)`);
  // a case of 12 ms read "(0.0 s)", as if it took no time
  const fast = sink(false);
  new ProgressReporter(1, { out: fast, now: () => 0 }).caseDone({ ...results[0], wallMs: 12 });
  assert.equal(fast.text(), `[1/1] pass ${results[0].id}  (0.012 s)\n`);
  assert.match(lines[1], /^\[2\/5\] fail preset=tiny;.* {2}\(0\.90 s\): out failed$/);
  assert.match(lines[2], /^\[3\/5\] skip /);
  assert.match(lines[3], /^\[4\/5\] error .*: device lost: <reset>$/);
  assert.equal(lines[4], "4/5 cases in 0:04: 1 pass, 1 skip, 1 fail, 1 error, 1 not run");
  assert.ok(!out.text().includes("\r"));
  assert.equal(p.failures, 2);
});

Deno.test("progress: a failure's message is one line with its control characters visible", () => {
  // a user backend's error: an ANSI colour code kept the terminal red for the rest of the run,
  // and a lone carriage return wrote the message over the case's id
  const out = sink(false);
  const [, fail] = mixedResults();
  const p = new ProgressReporter(1, { out, now: () => 0 });
  p.caseDone({ ...fail, message: "Error: \x1b[31mboom\x1b[0m\r50%\tdone\n  at x\x00" });
  assert.equal(
    out.text(),
    `[1/1] fail ${fail.id}  (0.90 s): Error: \\u001b[31mboom\\u001b[0m 50% done at x\\u0000\n`,
  );
});

Deno.test("progress: live mode rewrites one line with counts, elapsed and ETA", () => {
  const out = sink(true);
  let t = 0;
  const [pass, fail] = mixedResults();
  const p = new ProgressReporter(10, { out, now: () => t, columns: 200 });
  assert.equal(p.live, true);
  t = 2000;
  p.caseDone(pass);
  assert.equal(out.text(), `\r\x1b[K[1/10] 0 failed  0:02 elapsed  eta 0:18  ${pass.id}`);
  t = 4000;
  p.caseDone(fail);
  // The failure is printed as a line of its own above the live line.
  assert.ok(out.text().includes(`\r\x1b[K[2/10] fail ${fail.id}  (0.90 s): out failed\n`));
  assert.ok(out.text().endsWith(`[2/10] 1 failed  0:04 elapsed  eta 0:16  ${fail.id}`));
  p.finish();
  assert.ok(out.text().endsWith("\r\x1b[K2/10 cases in 0:04: 1 pass, 1 fail, 8 not run\n"));
});

Deno.test("progress: a resumed run counts the earlier cases in one line, its ETA from its own", () => {
  const out = sink(true);
  let t = 0;
  const [pass, fail, skip] = mixedResults();
  const p = new ProgressReporter(10, { out, now: () => t, columns: 200 });
  p.resumed([pass, fail]);
  assert.equal(
    out.text(),
    "resuming: 2 of 10 cases already finished (1 pass, 1 fail); 8 to run\n",
  );
  assert.equal(p.done, 2);
  assert.equal(p.failures, 1);
  t = 3000;
  p.caseDone(skip);
  // 7 cases left at the 3 s the one case this run finished took, not 1 s (3 s / 3 done)
  assert.ok(out.text().endsWith(`[3/10] 1 failed  0:03 elapsed  eta 0:21  ${skip.id}`));
  p.finish();
  assert.ok(out.text().endsWith("3/10 cases in 0:03: 1 pass, 1 skip, 1 fail, 7 not run\n"));
  const quiet = sink(false);
  new ProgressReporter(3, { out: quiet }).resumed([]);
  assert.equal(quiet.text(), "");
});

Deno.test("progress: formatDuration", () => {
  assert.equal(formatDuration(0), "0:00");
  assert.equal(formatDuration(95_000), "1:35");
  assert.equal(formatDuration(3_725_000), "1:02:05");
});

Deno.test("progress: SILENT_PROGRESS takes every write whole and is never a terminal", () => {
  // a sink that reported fewer bytes than given, or a terminal, would change what the reporter does
  const p = new ProgressReporter(2, { out: SILENT_PROGRESS });
  assert.equal(p.live, false);
  for (const r of mixedResults().slice(0, 2)) p.caseDone(r);
  p.finish();
  const bytes = new TextEncoder().encode("case line\n");
  assert.equal(SILENT_PROGRESS.writeSync(bytes), bytes.length);
  assert.equal(SILENT_PROGRESS.isTerminal(), false);
});

Deno.test("progress: failures mode prints the failures, a count line each minute and the final line", () => {
  const out = sink(true); // also on a terminal: progressOptions turns the live line off
  let t = 0;
  const results = mixedResults();
  const p = new ProgressReporter(5, { out, now: () => t, ...progressOptions("failures") });
  assert.equal(p.live, false);
  for (const r of results) {
    t += 25_000; // the count line after the 3rd case (75 s), not again before the 5th
    p.caseDone(r);
  }
  p.finish();
  const lines = out.text().split("\n");
  assert.equal(lines.pop(), "");
  assert.deepEqual(lines.map((l) => l.replace(/ preset=\S+/, " <id>")), [
    "[2/5] fail <id>  (0.90 s): out failed",
    "[3/5] 1 failed  1:15 elapsed  eta 0:50",
    "[4/5] error <id>  (0.050 s): device lost: <reset>",
    "4/5 cases in 1:40: 1 pass, 1 skip, 1 fail, 1 error, 1 not run",
  ]);
  assert.ok(!out.text().includes("\r"));
  assert.equal(PROGRESS_COUNT_EVERY_MS, 60_000);
  assert.deepEqual(progressOptions("auto"), {});
  assert.deepEqual(progressOptions("cases"), { live: false, plain: "cases" });
});

Deno.test("progress: a reader that went away (broken pipe) ends the lines, not the run", () => {
  let writes = 0;
  const gone: ProgressOutput = {
    writeSync() {
      writes++;
      throw new Deno.errors.BrokenPipe("Broken pipe (os error 32)");
    },
    isTerminal: () => false,
  };
  const p = new ProgressReporter(3, { out: gone });
  for (const r of mixedResults().slice(0, 3)) p.caseDone(r);
  p.finish();
  assert.equal(writes, 1, "one try, then silence");
  // any other write error is still an error
  const full: ProgressOutput = {
    writeSync() {
      throw new Deno.errors.PermissionDenied("no");
    },
    isTerminal: () => false,
  };
  assert.throws(
    () => new ProgressReporter(1, { out: full }).caseDone(mixedResults()[0]),
    Deno.errors.PermissionDenied,
  );
});

Deno.test("progress: a case the matrix expects to run that the device refused is 'not covered', as the last line counts it", () => {
  const out = sink(false);
  const [pass, , skip] = mixedResults();
  // refused for want of shader-f16 where the matrix expects it to run: not an expected skip
  const missed = { ...skip, id: `${skip.id};x=1`, expect: { support: "supported" as const } };
  const p = new ProgressReporter(3, { out, now: () => 0 });
  for (const r of [pass, skip, missed]) p.caseDone(r);
  p.finish();
  const lines = out.text().trimEnd().split("\n");
  assert.match(lines[1], /^\[2\/3\] skip /);
  assert.match(lines[2], /^\[3\/3\] not covered /);
  assert.equal(lines[3], "3/3 cases in 0:00: 1 pass, 1 skip, 1 not covered");
});

// A case's wall time read "(1.1 s)" on its progress line, "1.06" in summary.md's slowest
// table and "1.063" in junit.xml's time (a number CI tools read, kept at ms); a 50 ms case
// "(0.1 s)", twice its time. The console and summary.md now write it one way.
Deno.test("progress and summary.md: a case's wall time at one precision", () => {
  for (const [wallMs, text] of [[1063, "1.06"], [50, "0.050"], [12, "0.012"], [22012, "22.0"]]) {
    const r = { ...mixedResults()[0], wallMs: Number(wallMs) };
    const out = sink(false);
    new ProgressReporter(1, { out, now: () => 0 }).caseDone(r);
    assert.ok(out.text().includes(`  (${text} s)`), out.text());
    const md = toMarkdown(report([r]));
    assert.ok(md.includes(`| ${text} |`), md.slice(md.indexOf("### Slowest")));
  }
});
