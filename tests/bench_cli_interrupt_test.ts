// `bench` stopped by a signal keeps what it measured: SIGINT finishes the current case,
// SIGTERM abandons it, and both write report.json, summary.md and the table for the cases
// that ran, marked interrupted, with the cases that did not run named (exit 130 / 143).
// The GPU machine's script (tools/gpu_machine_check.sh) stops a step at its time limit
// with SIGINT, so a bench cut short there still brings its figures back.
import assert from "node:assert/strict";
import { hasAdapter } from "../gpu/device.ts";
import { cliCommand } from "./helpers_cli.ts";
import { firstInterruptWords } from "../cli/bench.ts";

const gpu = await hasAdapter();
/**
 * Eight cases: the tiny matrix's two (seconds each) and the headline's six (V2-Lite: longer
 * on lavapipe, refused at once as too slow on the GL fallback). The signal comes when the
 * first tiny case ends, so the run always stops early.
 */
const CASES = 8;

Deno.test("bench: a Ctrl-C during the last case says the ceilings after the cases are still measured", () => {
  // it said "finishing the current case, then writing the reports", then measured the
  // ceilings after the cases (minutes at --reps 1000) before writing them
  assert.equal(
    firstInterruptWords("cases", { lastCase: true }),
    "finishing the current case, the last, then measuring the ceilings after the cases, then " +
      "writing the reports (Ctrl-C again: at once)",
  );
  assert.equal(
    firstInterruptWords("cases", { lastCase: false }),
    "finishing the current case, then writing the reports (Ctrl-C again: at once)",
  );
  assert.match(firstInterruptWords("before", { lastCase: false }), /no case will run/);
  assert.match(firstInterruptWords("after", { lastCase: true }), /^finishing the ceilings after/);
});

/** `bench <args> --out <out>` as a child process with piped output. */
function spawnBench(args: readonly string[], out: string): Deno.ChildProcess {
  return cliCommand(["bench", ...args, "--out", out]).spawn();
}

/** Start `bench`, wait until its first record is on disk, send `signal`, wait for it. */
async function interruptedBench(signal: Deno.Signal) {
  const out = await Deno.makeTempDir({ prefix: "mla_bench_int_" });
  const child = spawnBench(["--matrix", "tiny,headline", "--reps", "2"], out);
  const stream = `${out}/records.jsonl`;
  const deadline = Date.now() + 120_000;
  while ((await Deno.readTextFile(stream).catch(() => "")).trim() === "") {
    assert.ok(Date.now() < deadline, "no case ended within 120 s");
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill(signal);
  const res = await child.output();
  const dec = new TextDecoder();
  return { out, code: res.code, stdout: dec.decode(res.stdout), stderr: dec.decode(res.stderr) };
}

async function checkReports(out: string, signal: string, text: string) {
  const report = JSON.parse(await Deno.readTextFile(`${out}/report.json`));
  assert.equal(report.interrupted.signal, signal, text);
  assert.equal(report.interrupted.selected, CASES);
  const ran = report.records.length;
  assert.ok(ran >= 1 && ran < CASES, `stopped early (${ran} of ${CASES})`);
  assert.equal(report.interrupted.notRun.length, CASES - ran);
  const lines = (await Deno.readTextFile(`${out}/records.jsonl`)).trim().split("\n");
  assert.equal(lines.length, ran, "records.jsonl holds the same cases as report.json");
  const warning = new RegExp(`interrupted by ${signal}: ${ran} of ${CASES} cases ran`);
  assert.ok(report.warnings.some((w: string) => warning.test(w)), report.warnings.join("\n"));
  assert.match(await Deno.readTextFile(`${out}/summary.md`), warning);
  assert.match(text, warning, "the table says so too");
  // report.html's verdict: amber, the interruption first (it was green, counting the cases
  // that ran, the interruption a warning near the bottom)
  const html = await Deno.readTextFile(`${out}/report.html`);
  assert.match(
    html,
    new RegExp(
      `<p class="verdict warn" id="verdict">interrupted by ${signal}: ${ran} of ${CASES} ` +
        `selected cases ran, ${CASES - ran} not run; `,
    ),
  );
  // One measurement of the ceilings: the run reports at once.
  assert.equal(report.ceilings.measurements ?? 1, 1);
  await Deno.remove(out, { recursive: true });
}

Deno.test({
  name: "bench: SIGINT finishes the current case and writes the reports for what ran (exit 130)",
  ignore: !gpu,
  fn: async () => {
    const r = await interruptedBench("SIGINT");
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /interrupt: finishing the current case/);
    await checkReports(r.out, "SIGINT", r.stdout);
  },
});

Deno.test({
  name: "bench: SIGTERM abandons the current case and writes the reports for what ran (exit 143)",
  ignore: !gpu,
  fn: async () => {
    const r = await interruptedBench("SIGTERM");
    assert.equal(r.code, 143, r.stderr);
    // its last line names what finishes it
    assert.match(r.stderr, /\d+ cases? not run: the same bench with --resume \(--out .*\) benches/);
    await checkReports(r.out, "SIGTERM", r.stdout);
  },
});

Deno.test({
  name: "bench: SIGHUP (a terminal closed) stops as SIGTERM does and writes the reports (exit 129)",
  ignore: !gpu,
  fn: async () => {
    // it killed the bench at once: no report.json, summary.md or table
    const r = await interruptedBench("SIGHUP");
    assert.equal(r.code, 129, r.stderr);
    assert.match(r.stderr, /SIGHUP: abandoning the current case, writing the reports/);
    await checkReports(r.out, "SIGHUP", r.stdout);
  },
});

Deno.test({
  name: "bench: SIGTERM while the ceilings are measured ends it at once (exit 143, no report)",
  ignore: !gpu,
  fn: async () => {
    const out = await Deno.makeTempDir({ prefix: "mla_bench_int_" });
    // 1000 repetitions of every ceiling: minutes of measuring before the first case
    const child = spawnBench(["--matrix", "tiny", "--reps", "1000"], out);
    // Read stderr until the ceilings start, then signal.
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let stderr = "";
    while (!stderr.includes("measuring the device's ceilings")) {
      const { value, done } = await reader.read();
      assert.ok(!done, `bench ended before measuring: ${stderr}`);
      stderr += value;
    }
    await new Promise((r) => setTimeout(r, 500));
    child.kill("SIGTERM");
    // Before, the process went on measuring; a test that hangs is a failure too.
    const killer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    for (let r = await reader.read(); !r.done; r = await reader.read()) stderr += r.value;
    await child.stdout.cancel();
    const { code } = await child.status;
    clearTimeout(killer);
    assert.equal(code, 143, stderr);
    assert.match(
      stderr,
      /SIGTERM while measuring the device's ceilings, before any case: no report/,
    );
    // the line the signal prints says so too (it said "abandoning the current case, writing
    // the reports", and then "no report")
    assert.match(stderr, /SIGTERM: abandoning the ceiling measurement: no case has run, so no/);
    assert.doesNotMatch(stderr, /writing the reports/);
    assert.ok(!(await Deno.stat(`${out}/report.json`).then(() => true, () => false)));
    await Deno.remove(out, { recursive: true });
  },
});

Deno.test({
  name: "bench: a second Ctrl-C while the ceilings are measured ends it at once (exit 130, " +
    "no report; it went on measuring)",
  ignore: !gpu,
  fn: async () => {
    const out = await Deno.makeTempDir({ prefix: "mla_bench_int_" });
    // 1000 repetitions of every ceiling: minutes of measuring before the first case
    const child = spawnBench(["--matrix", "tiny", "--reps", "1000"], out);
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let stderr = "";
    const waitFor = async (text: string) => {
      while (!stderr.includes(text)) {
        const { value, done } = await reader.read();
        assert.ok(!done, `bench ended before "${text}": ${stderr}`);
        stderr += value;
      }
    };
    await waitFor("measuring the device's ceilings");
    child.kill("SIGINT");
    // the second once the first is seen (two signals at once may arrive as one)
    await waitFor("Ctrl-C again: at once");
    child.kill("SIGINT");
    const killer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    for (let r = await reader.read(); !r.done; r = await reader.read()) stderr += r.value;
    await child.stdout.cancel();
    const { code } = await child.status;
    clearTimeout(killer);
    assert.equal(code, 130, stderr);
    assert.match(
      stderr,
      /interrupt: finishing the ceiling measurement, then writing the reports \(no case will run; Ctrl-C again: at once\)\n/,
    );
    assert.match(stderr, /interrupt again: abandoning the ceiling measurement: no case has run/);
    assert.doesNotMatch(stderr, /the current case/);
    assert.match(
      stderr,
      /a second Ctrl-C \(SIGINT\) while measuring the device's ceilings, before any case: no report/,
    );
    assert.ok(!(await Deno.stat(`${out}/report.json`).then(() => true, () => false)));
    await Deno.remove(out, { recursive: true });
  },
});
