/**
 * tools/test_runner.ts (`deno task test`): the module split it makes on the GL fallback,
 * the summary it adds up, the exit-time abort it counts as a failure, and its two modes
 * end to end on a folder of small modules (the backend forced with DENO_WEBGPU_BACKEND,
 * so the test means the same on every machine; the "WebGPU" modules only mention it).
 */
import assert from "node:assert/strict";
import {
  addRun,
  ALONE_MARKER,
  ANSI_COLOR,
  EARLY_MARKER,
  earlyFirst,
  emptyTotal,
  formatElapsed,
  formatSummary,
  isExitAbort,
  jobCount,
  parseSummary,
  precheckFlags,
  reachesWebGpu,
  relativeImports,
  runPool,
  runsAlone,
  splitArgs,
  testModules,
} from "../tools/test_runner.ts";
import { runTool } from "./helpers_cli.ts";

Deno.test("splitArgs: existing paths are paths, the rest go to deno test; tests/ by default", () => {
  const exists = (p: string) => p === "tests/a_test.ts" || p === "tests";
  assert.deepEqual(splitArgs(["tests/a_test.ts", "--filter", "smoke"], exists), {
    paths: ["tests/a_test.ts"],
    flags: ["--filter", "smoke"],
  });
  assert.deepEqual(splitArgs(["--fail-fast"], exists), {
    paths: ["tests/"],
    flags: ["--fail-fast"],
  });
  // a flag's value is never a path, even one that exists (`--filter parity` on this repo)
  assert.deepEqual(splitArgs(["tests/a_test.ts", "--filter", "tests"], exists), {
    paths: ["tests/a_test.ts"],
    flags: ["--filter", "tests"],
  });
  assert.deepEqual(splitArgs(["--junit-path", "out/j.xml", "-c", "tests"], exists), {
    paths: ["tests/"],
    flags: ["--junit-path", "out/j.xml", "-c", "tests"],
  });
  assert.throws(
    () => splitArgs(["tests/nope_test.ts"], exists),
    /no such test file or folder: tests\/nope_test\.ts/,
  );
});

Deno.test("parseSummary reads every part of deno test's summary line; formatSummary writes it back", () => {
  const line = "ok | 5 passed (6 steps) | 0 failed | 2 ignored (5 steps) | 3 filtered out (1s)";
  const s = parseSummary(`running 1 test\n${line}\n`);
  assert.deepEqual(s, {
    ok: true,
    passed: 5,
    passedSteps: 6,
    failed: 0,
    failedSteps: 0,
    ignored: 2,
    ignoredSteps: 5,
    filteredOut: 3,
  });
  assert.equal(formatSummary(s!, 1200), line);
  const failed = parseSummary("\x1b[31mFAILED\x1b[0m | 3 passed | 1 failed (2 steps) (2s)");
  assert.equal(failed?.ok, false);
  assert.equal(failed?.failed, 1);
  assert.equal(failed?.failedSteps, 2);
  assert.equal(formatSummary(failed!, 2000), "FAILED | 3 passed | 1 failed (2 steps) (2s)");
  assert.equal(parseSummary("error: Module not found"), null);
  // The last summary counts (a module's own output may print an earlier one).
  assert.equal(parseSummary("ok | 1 passed | 0 failed\nok | 7 passed | 0 failed")?.passed, 7);
  assert.equal(formatElapsed(42), "42ms");
  assert.equal(formatElapsed(19_400), "19s");
  assert.equal(formatElapsed(380_000), "6m20s");
});

Deno.test("addRun counts an abort after an all-passed summary, and a run without a summary, as a failure", () => {
  const total = emptyTotal();
  const ok = { success: true, code: 0, signal: null };
  assert.equal(
    addRun(total, parseSummary("ok | 3 passed | 0 failed | 1 ignored (1s)"), ok, "a"),
    null,
  );
  assert.equal(
    addRun(
      total,
      parseSummary("ok | 2 passed | 0 failed (1s)"),
      { success: false, code: 134, signal: "SIGABRT" },
      "tests/b_test.ts",
    ),
    "tests/b_test.ts: deno test signal SIGABRT after all its tests passed (counted as a failure)",
  );
  // a module with a Deno.test.only: exit 1 after its tests passed, the others filtered out
  assert.equal(
    addRun(
      emptyTotal(),
      parseSummary("ok | 1 passed | 0 failed | 1 filtered out (8ms)"),
      { success: false, code: 1, signal: null },
      "tests/o_test.ts",
    ),
    "tests/o_test.ts: deno test exit 1 after all its tests passed; 1 filtered out: a " +
      "Deno.test.only (or a step's only) left in the module fails the run (counted as a failure)",
  );
  assert.equal(
    addRun(total, null, { success: false, code: 1, signal: null }, "tests/c_test.ts"),
    "tests/c_test.ts: deno test exit 1 without a summary",
  );
  assert.equal(
    addRun(total, parseSummary("FAILED | 1 passed | 2 failed (1s)"), {
      ...ok,
      success: false,
      code: 1,
    }, "d"),
    null,
  );
  assert.equal(addRun(total, null, ok, "e (everything filtered out)"), null);
  const abort = { success: false, code: 134, signal: "SIGABRT" as const };
  assert.ok(isExitAbort(abort, parseSummary("ok | 2 passed | 0 failed (1s)")));
  assert.ok(!isExitAbort(abort, parseSummary("FAILED | 1 passed | 1 failed (1s)")));
  assert.ok(!isExitAbort(abort, null));
  assert.ok(
    !isExitAbort(
      { success: false, code: 1, signal: null },
      parseSummary("ok | 2 passed | 0 failed"),
    ),
  );
  assert.equal(total.ok, false);
  assert.equal(total.passed, 6);
  assert.equal(total.failed, 4);
  assert.equal(total.ignored, 1);
});

/** A folder of modules: plain ones, ones that reach navigator.gpu directly or through an import. */
async function fixture(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "mla-test-runner-" });
  await Deno.mkdir(`${dir}/lib`);
  await Deno.writeTextFile(`${dir}/lib/gpu.ts`, "export const gpu = () => navigator.gpu;\n");
  await Deno.writeTextFile(`${dir}/lib/plain.ts`, "export const two = 2;\n");
  await Deno.writeTextFile(
    `${dir}/a_plain_test.ts`,
    'import { two } from "./lib/plain.ts";\nDeno.test("a", () => { if (two !== 2) throw new Error("x"); });\n',
  );
  await Deno.writeTextFile(`${dir}/b_plain_test.ts`, 'Deno.test("b", () => {});\n');
  await Deno.writeTextFile(
    `${dir}/c_gpu_test.ts`,
    'import { gpu } from "./lib/gpu.ts";\nDeno.test("c", () => { if (typeof gpu !== "function") throw new Error("x"); });\n',
  );
  await Deno.writeTextFile(
    `${dir}/d_gpu_test.ts`,
    '// reaches WebGPU itself: navigator.gpu\nDeno.test("d", () => {});\nDeno.test({ name: "d2", ignore: true, fn() {} });\n',
  );
  return dir;
}

Deno.test("reachesWebGpu follows local imports; testModules skips out/", async () => {
  const dir = await fixture();
  try {
    // The project's test.exclude folders (out/, .device/) are never searched.
    await Deno.mkdir(`${dir}/out`);
    await Deno.writeTextFile(`${dir}/out/z_test.ts`, 'Deno.test("never found", () => {});\n');
    assert.deepEqual(testModules([dir]).map((p) => p.slice(dir.length + 1)), [
      "a_plain_test.ts",
      "b_plain_test.ts",
      "c_gpu_test.ts",
      "d_gpu_test.ts",
    ]);
    assert.equal(reachesWebGpu(`${dir}/a_plain_test.ts`), false);
    assert.equal(reachesWebGpu(`${dir}/c_gpu_test.ts`), true);
    assert.equal(reachesWebGpu(`${dir}/d_gpu_test.ts`), true);
    assert.deepEqual(relativeImports('const m = await import("../x/y.ts");\nimport "./z.ts";'), [
      "../x/y.ts",
      "./z.ts",
    ]);
    // The suite's own GPU helpers reach WebGPU; a pure adapter test does not.
    assert.equal(reachesWebGpu("tests/gpu_helpers.ts"), true);
    assert.equal(reachesWebGpu("tests/adapter_spec_test.ts"), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** The runner (tools/test_runner.ts) over a folder, its stdout without colour codes. */
async function runRunner(backend: string, dir: string, env: Record<string, string> = {}) {
  const r = await runTool("test_runner.ts", [dir], {
    DENO_WEBGPU_BACKEND: backend,
    NO_COLOR: "1",
    ...env,
  });
  return { code: r.code, out: r.stdout.replace(ANSI_COLOR, ""), err: r.stderr };
}

Deno.test("on GL the runner gives each WebGPU module its own deno test and sums the summaries", async () => {
  const dir = await fixture();
  try {
    const r = await runRunner("gl", dir);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(
      r.out,
      /test_runner: GL fallback .*: 2 modules that can create a WebGPU device run in a deno test process each, 2 others in one/,
    );
    assert.match(r.out, /test_runner: \[1\/3\] 2 modules without WebGPU\n/);
    assert.match(r.out, /test_runner: \[2\/3\] .*c_gpu_test\.ts\n/);
    assert.match(r.out, /test_runner: \[3\/3\] .*d_gpu_test\.ts\n/);
    const lines = r.out.trim().split("\n");
    assert.match(lines.at(-1)!, /^ok \| 4 passed \| 0 failed \| 1 ignored \(\d+m?s\)$/);

    await Deno.writeTextFile(
      `${dir}/c_gpu_test.ts`,
      '// navigator.gpu\nDeno.test("c fails", () => { throw new Error("planted"); });\n',
    );
    const bad = await runRunner("gl", dir);
    assert.equal(bad.code, 1, bad.out);
    assert.match(
      bad.out.trim().split("\n").at(-1)!,
      /^FAILED \| 3 passed \| 1 failed \| 1 ignored/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("on GL one type check of every module comes first: a type error fails before any module runs", async () => {
  const dir = await fixture();
  try {
    await Deno.writeTextFile(
      `${dir}/d_gpu_test.ts`,
      '// navigator.gpu\nconst n: number = "not a number";\nDeno.test("d", () => { void n; });\n',
    );
    const r = await runRunner("gl", dir);
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.err, /TS2322/);
    assert.match(
      r.out,
      /test_runner: the type check of the 4 test modules failed \(deno test --no-run, exit 1; the errors are above\): no module was run\n/,
    );
    assert.doesNotMatch(r.out, /test_runner: \[\d+\/\d+\]/, "no module process ran");
    assert.match(r.out.trim().split("\n").at(-1)!, /^FAILED \| 0 passed \| 1 failed \(\d+m?s\)$/);
    // --no-check: the user's choice; no check first, and each process runs unchecked
    const unchecked = await runTool("test_runner.ts", [dir, "--no-check"], {
      DENO_WEBGPU_BACKEND: "gl",
      NO_COLOR: "1",
    });
    const out = unchecked.stdout.replace(ANSI_COLOR, "");
    assert.equal(unchecked.code, 0, out + unchecked.stderr);
    assert.doesNotMatch(out, /type-checked at once/);
    // d's one test (its ignored one is gone) ran, its type error unchecked
    assert.match(out.trim().split("\n").at(-1)!, /^ok \| 4 passed \| 0 failed \(/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("precheckFlags: --no-run first and --no-check after, unless the flags decide about checking", () => {
  assert.deepEqual(precheckFlags([]), { check: ["--no-run"], run: ["--no-check"] });
  assert.deepEqual(precheckFlags(["--filter", "smoke", "--fail-fast"]), {
    check: ["--no-run", "--filter", "smoke", "--fail-fast"],
    run: ["--no-check", "--filter", "smoke", "--fail-fast"],
  });
  for (
    const f of ["--no-check", "--no-check=remote", "--check", "--check=all", "--no-run", "--doc"]
  ) {
    assert.equal(precheckFlags(["--filter", "x", f]), null, f);
  }
  // a flag that only starts like one is not one
  assert.notEqual(precheckFlags(["--checked-thing"]), null);
});

Deno.test("a test path that names nothing is refused with exit 2 before any deno test runs", async () => {
  for (const backend of ["gl", "vulkan"]) {
    const r = await runRunner(backend, "tests/nope_test.ts");
    assert.equal(r.code, 2, r.out + r.err);
    assert.equal(r.out, "");
    assert.match(r.err, /^test_runner: no such test file or folder: tests\/nope_test\.ts/);
  }
});

Deno.test("a flag deno test refuses is said once, exit 2, before any module runs", async () => {
  const dir = await fixture();
  try {
    for (const backend of ["gl", "vulkan"]) {
      for (
        const [flags, said] of [
          [["--filtr", "x"], /unexpected argument '--filtr'/],
          [["--filter"], /a value is required for '--filter'/],
        ] as const
      ) {
        const r = await runTool("test_runner.ts", [dir, ...flags], {
          DENO_WEBGPU_BACKEND: backend,
          NO_COLOR: "1",
        });
        // it was "the type check of the 4 test modules failed" (GL), one failure per process
        assert.equal(r.code, 2, `${backend} ${flags.join(" ")}: ${r.stdout}${r.stderr}`);
        assert.match(r.stderr, said);
        assert.match(
          r.stderr,
          /\ntest_runner: deno test refused the arguments \(above\): no module was run\n$/,
        );
        assert.equal(r.stdout.replace(ANSI_COLOR, ""), "", "no module run, no summary");
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a folder with no test module fails on GL as on Vulkan, before any deno test runs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "test_runner_empty_" });
  try {
    await Deno.writeTextFile(`${dir}/helper.ts`, "export const x = 1;\n");
    for (const backend of ["gl", "vulkan"]) {
      const r = await runRunner(backend, dir);
      assert.equal(r.code, 1, r.out + r.err);
      assert.equal(r.out, "");
      assert.match(r.err, /^test_runner: no test modules \(\*_test\.ts\) in .*test_runner_empty_/);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("on Vulkan the runner is one deno test, its output and exit status unchanged", async () => {
  const dir = await fixture();
  try {
    const r = await runRunner("vulkan", dir);
    assert.equal(r.code, 0, r.out + r.err);
    assert.doesNotMatch(r.out, /test_runner:/);
    assert.match(r.out.trim().split("\n").at(-1)!, /^ok \| 4 passed \| 0 failed \| 1 ignored/);
    await Deno.writeTextFile(
      `${dir}/b_plain_test.ts`,
      'Deno.test("b fails", () => { throw new Error("planted"); });\n',
    );
    const bad = await runRunner("vulkan", dir);
    assert.equal(bad.code, 1, bad.out);
    assert.match(bad.out, /FAILED \| 3 passed \| 1 failed/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * Runs the runner (GL mode) over the fixture with a stand-in for deno that prints a passing
 * summary and, the first `aborts` times it is asked for c_gpu_test.ts, then kills itself with
 * SIGABRT, as the GL exit-time abort does (and says on stderr whether glibc would print its
 * message there). d_gpu_test.ts always fails.
 */
async function runAborting(aborts: number): Promise<{ code: number; out: string; err: string }> {
  const dir = await fixture();
  try {
    return await runWithFakeDeno(dir, [
      'case "$*" in',
      "  *--no-run*) ;;", // the one type check before the processes
      `  *c_gpu_test.ts*) echo "ok | 1 passed | 0 failed (1s)"; echo "fatal to stderr: $LIBC_FATAL_STDERR_" >&2; ` +
      `echo x >> "${dir}/aborted"; if [ "$(wc -l < "${dir}/aborted")" -le ${aborts} ]; then kill -ABRT $$; fi ;;`,
      '  *d_gpu_test.ts*) echo "FAILED | 0 passed | 1 failed (1s)"; exit 1 ;;',
      '  *) echo "ok | 2 passed | 0 failed (1s)" ;;',
      "esac",
    ], { DENO_WEBGPU_BACKEND: "gl" });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * The runner over a fixture folder with a shell script (these lines) standing in for deno.
 */
async function runWithFakeDeno(
  dir: string,
  script: readonly string[],
  env: Record<string, string> & { DENO_WEBGPU_BACKEND: string },
): Promise<{ code: number; out: string; err: string }> {
  const fake = `${dir}/fake_deno.sh`;
  await Deno.writeTextFile(fake, ["#!/bin/sh", ...script, ""].join("\n"));
  await Deno.chmod(fake, 0o755);
  return await runRunner(env.DENO_WEBGPU_BACKEND, dir, { ...env, TEST_RUNNER_DENO: fake });
}

const ABORTED =
  /c_gpu_test\.ts: deno test killed by SIGABRT at exit after all its tests passed \(the GL exit-time abort, libglvnd's double free: docs\/gl_exit_abort\.md\)/;

Deno.test("an abort at exit after all tests passed is run again; a failed test never is", async () => {
  const { code, out, err } = await runAborting(1);
  assert.equal(code, 1, out); // d_gpu_test.ts failed, and stays failed
  // glibc's abort message would go to stderr (passed through), not to a terminal
  assert.match(err, /^fatal to stderr: 1$/m);
  assert.match(out, new RegExp(ABORTED.source + "; running it again \\(1 of 2\\)\n"));
  assert.match(out, new RegExp(ABORTED.source + "; rerun 1 passed\n"));
  assert.equal(out.match(/running it again/g)?.length, 1, out);
  assert.match(out.trim().split("\n").at(-1)!, /^FAILED \| 3 passed \| 1 failed \(\d+m?s\)$/);
});

Deno.test("two aborts in a row: the second rerun counts; three: the module counts as failed", async () => {
  const two = await runAborting(2);
  assert.equal(two.out.match(/running it again/g)?.length, 2, two.out);
  assert.match(two.out, /; rerun 1 did not pass\n/);
  assert.match(two.out, /; rerun 2 passed\n/);
  assert.match(two.out.trim().split("\n").at(-1)!, /^FAILED \| 3 passed \| 1 failed /);
  const three = await runAborting(3);
  assert.equal(three.out.match(/running it again/g)?.length, 2, three.out);
  assert.match(three.out, /; rerun 2 did not pass\n/);
  assert.match(
    three.out,
    /c_gpu_test\.ts: deno test signal SIGABRT after all its tests passed \(counted as a failure\)/,
  );
  // c's passing test still counts as passed; its abort adds one failure to d's
  assert.match(three.out.trim().split("\n").at(-1)!, /^FAILED \| 3 passed \| 2 failed /);
});

Deno.test("jobCount: DENO_JOBS when a whole number of at least 1, else the CPUs; nonsense is refused", () => {
  assert.equal(jobCount("3", 2), 3);
  assert.equal(jobCount(" 1 ", 8), 1);
  assert.equal(jobCount(undefined, 2), 2);
  assert.equal(jobCount("", 4), 4);
  assert.equal(jobCount(undefined, 0), 1);
  assert.equal(jobCount(undefined, 64), 4, "at most 4 unless DENO_JOBS says more");
  assert.equal(jobCount("16", 64), 16);
  for (const bad of ["0", "-2", "1.5", "two"]) {
    assert.throws(
      () => jobCount(bad, 2),
      new RegExp(`DENO_JOBS must be a whole number of at least 1 \\(got "${bad}"\\)`),
    );
  }
});

Deno.test("runPool: every item once, never more than the jobs at a time, none started after stop", async () => {
  for (const jobs of [1, 2, 3]) {
    let running = 0, most = 0;
    const seen: number[] = [];
    await runPool([10, 11, 12, 13, 14], jobs, async (item, i) => {
      assert.equal(item, 10 + i);
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 5 + (i % 2) * 10));
      seen.push(i);
      running--;
    }, () => false);
    assert.deepEqual(seen.toSorted(), [0, 1, 2, 3, 4]);
    assert.equal(most, jobs, `jobs ${jobs}`);
  }
  const started: number[] = [];
  let failed = false;
  await runPool([0, 1, 2, 3, 4, 5], 2, async (i) => {
    started.push(i);
    await new Promise((r) => setTimeout(r, i === 1 ? 1 : 30));
    if (i === 1) failed = true;
  }, () => failed);
  // 0 and 1 start together; 1 fails first, and once it has, no worker takes another item
  assert.deepEqual(started, [0, 1]);
});

/**
 * The runner over the fixture with a stand-in for deno that logs its arguments and when each
 * module's process starts and ends (each lasts 0.3 s).
 */
async function runLogging(backend: string, jobs: string, alone: readonly string[] = []) {
  const dir = await fixture();
  // modules that ask to run alone (their file names), with one test each
  for (const name of alone) {
    await Deno.writeTextFile(
      `${dir}/${name}`,
      `${ALONE_MARKER} (times kernels)\n// navigator.gpu\nDeno.test("t", () => {});\n`,
    );
  }
  const log = `${dir}/calls.log`;
  try {
    const r = await runWithFakeDeno(dir, [
      `echo "start DENO_JOBS=$DENO_JOBS $*" >> "${log}"`,
      "sleep 0.3",
      `echo "end $*" >> "${log}"`,
      'echo "ok | 1 passed | 0 failed (1s)"',
    ], { DENO_WEBGPU_BACKEND: backend, DENO_JOBS: jobs });
    let calls: string[] = [];
    try {
      calls = (await Deno.readTextFile(log)).trim().split("\n");
    } catch { /* no process ran */ }
    return { ...r, calls };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The most processes that were running at once, from a start/end log. */
function mostAtOnce(calls: readonly string[]): number {
  let running = 0, most = 0;
  for (const c of calls) {
    running += c.startsWith("start ") ? 1 : -1;
    most = Math.max(most, running);
  }
  return most;
}

Deno.test("DENO_JOBS: on GL the module processes run that many at once; on Vulkan deno test gets --parallel", async () => {
  const one = await runLogging("gl", "1");
  assert.equal(one.code, 0, one.out + one.err);
  // the type check and 3 processes, start and end each
  assert.equal(one.calls.length, 8, one.calls.join("\n"));
  // first one type check of every module, alone; then processes that do not check again
  assert.match(
    one.calls[0],
    /^start DENO_JOBS=\d* test --allow-read .* --no-run \S+a_plain_test\.ts \S+b_plain_test\.ts \S+c_gpu_test\.ts \S+d_gpu_test\.ts$/,
  );
  assert.match(one.calls[1], /^end .* --no-run /);
  for (const c of one.calls.slice(2)) assert.match(c, / --no-check /);
  assert.match(
    one.out,
    /test_runner: 4 modules type-checked at once \(\d+m?s\); each process runs them with --no-check\n/,
  );
  assert.equal(mostAtOnce(one.calls), 1, one.calls.join("\n"));
  assert.match(one.out, /; 1 at once\n/);
  assert.match(one.out.trim().split("\n").at(-1)!, /^ok \| 3 passed \| 0 failed/);

  const two = await runLogging("gl", "2");
  assert.equal(two.code, 0, two.out + two.err);
  assert.equal(mostAtOnce(two.calls), 2, two.calls.join("\n"));
  assert.match(two.out, /; 2 at once\n/);
  // each process's output is printed whole after its own header
  for (const m of ["2 modules without WebGPU", "c_gpu_test.ts", "d_gpu_test.ts"]) {
    assert.match(two.out, new RegExp(`\\] [^\\n]*${m.replace(".", "\\.")}\\nok \\| 1 passed`));
  }
  assert.match(two.out.trim().split("\n").at(-1)!, /^ok \| 3 passed \| 0 failed/);

  const vk = await runLogging("vulkan", "2");
  assert.equal(vk.code, 0, vk.out + vk.err);
  assert.equal(vk.calls.length, 2);
  assert.match(vk.calls[0], /^start DENO_JOBS=2 test --allow-read .*--parallel /);

  for (const backend of ["gl", "vulkan"]) {
    const bad = await runLogging(backend, "0");
    assert.equal(bad.code, 2, bad.out + bad.err);
    assert.deepEqual(bad.calls, [], "no deno test runs");
    assert.match(
      bad.err,
      /^test_runner: DENO_JOBS must be a whole number of at least 1 \(got "0"\)/,
    );
  }
});

Deno.test("a module marked to run alone runs after all others, never beside one, on GL and Vulkan", async () => {
  assert.equal(runsAlone(`import x from "./x.ts";\n${ALONE_MARKER} (timings)\n`), true);
  assert.equal(runsAlone(`const s = "${ALONE_MARKER}";\n`), false, "only at a line's start");
  assert.equal(runsAlone('Deno.test("a", () => {});\n'), false);
  const names = ["e_timing_test.ts", "f_timing_test.ts"];
  for (const backend of ["gl", "vulkan"]) {
    const r = await runLogging(backend, "2", names);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(
      r.out,
      /test_runner: \S+e_timing_test\.ts, \S+f_timing_test\.ts run alone, after the others/,
    );
    const starts = r.calls.filter((c) => c.startsWith("start ") && !c.includes("--no-run"));
    // the last two processes are the marked modules, one each, in order
    assert.match(starts.at(-2)!, / \S+e_timing_test\.ts$/, r.calls.join("\n"));
    assert.match(starts.at(-1)!, / \S+f_timing_test\.ts$/, r.calls.join("\n"));
    for (const c of starts.slice(0, -2)) assert.doesNotMatch(c, /timing_test/);
    // nothing else runs while a marked module does: its start and end are adjacent
    for (const name of names) {
      const i = r.calls.findIndex((c) => c.startsWith("start ") && c.endsWith(name));
      assert.ok(r.calls[i + 1].startsWith("end ") && r.calls[i + 1].endsWith(name), r.calls[i + 1]);
    }
    // every process's summary is summed into the last line
    const processes = starts.length;
    assert.match(
      r.out.trim().split("\n").at(-1)!,
      new RegExp(`^ok \\| ${processes} passed \\| 0 failed`),
    );
    // on Vulkan, the unmarked modules still run in one deno test --parallel
    if (backend === "vulkan") {
      assert.equal(processes, 3, r.calls.join("\n"));
      assert.match(starts[0], /--parallel .*a_plain_test\.ts .*d_gpu_test\.ts$/);
    }
  }
});

Deno.test("a module marked early starts before the others, on GL and Vulkan", async () => {
  const src: Record<string, string> = {
    "a.ts": "",
    "m.ts": `import x from "./x.ts";\n${EARLY_MARKER} (long)\n`,
    "z.ts": `${EARLY_MARKER}\n`,
    "q.ts": `const s = "${EARLY_MARKER}";\n`, // only at a line's start
  };
  assert.deepEqual(earlyFirst(["a.ts", "m.ts", "q.ts", "z.ts"], (m) => src[m]), [
    "m.ts",
    "z.ts",
    "a.ts",
    "q.ts",
  ]);
  for (const backend of ["gl", "vulkan"]) {
    const dir = await fixture();
    await Deno.writeTextFile(
      `${dir}/z_long_test.ts`,
      `${EARLY_MARKER} (long)\n// navigator.gpu\nDeno.test("t", () => {});\n`,
    );
    const log = `${dir}/calls.log`;
    try {
      const r = await runWithFakeDeno(dir, [
        `echo "start $*" >> "${log}"`,
        'echo "ok | 1 passed | 0 failed (1s)"',
      ], { DENO_WEBGPU_BACKEND: backend, DENO_JOBS: "1" });
      assert.equal(r.code, 0, r.out + r.err);
      const starts = (await Deno.readTextFile(log)).trim().split("\n")
        .filter((c) => !c.includes("--no-run"));
      if (backend === "vulkan") {
        // one deno test over the modules, the early one first
        assert.equal(starts.length, 1, starts.join("\n"));
        assert.match(starts[0], /--parallel \S+z_long_test\.ts \S+a_plain_test\.ts /);
      } else {
        // its own process comes before every other WebGPU module's
        const gpuStarts = starts.filter((c) => /_gpu_test\.ts|z_long_test\.ts/.test(c));
        assert.match(gpuStarts[0], / \S+z_long_test\.ts$/, starts.join("\n"));
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});

Deno.test("SIGTERM to the runner stops its deno test processes and still prints the summary, exit 143", async () => {
  const dir = await Deno.makeTempDir({ prefix: "test_runner_term_" });
  try {
    const mark = `${dir}/hang.pid`;
    await Deno.writeTextFile(
      `${dir}/a_gpu_test.ts`,
      '// navigator.gpu\nDeno.test("a", () => {});\n',
    );
    await Deno.writeTextFile(
      `${dir}/b_hang_test.ts`,
      '// navigator.gpu\nDeno.test("b hangs", async () => {\n' +
        `  await Deno.writeTextFile(${JSON.stringify(mark)}, String(Deno.pid));\n` +
        "  await new Promise((r) => setTimeout(r, 60_000));\n});\n",
    );
    await Deno.writeTextFile(
      `${dir}/c_gpu_test.ts`,
      '// navigator.gpu\nDeno.test("c", () => {});\n',
    );
    for (const backend of ["gl", "vulkan"]) {
      await Deno.remove(mark).catch(() => {});
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", new URL("../tools/test_runner.ts", import.meta.url).pathname, dir],
        env: { DENO_WEBGPU_BACKEND: backend, NO_COLOR: "1", DENO_JOBS: "1" },
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const output = child.output();
      let ended = false;
      output.finally(() => ended = true);
      // the hanging test has started (it wrote its pid): stop the runner as a CI timeout would
      let pid = "";
      while (pid === "" && !ended) {
        await new Promise((r) => setTimeout(r, 100));
        pid = await Deno.readTextFile(mark).catch(() => "");
      }
      assert.notEqual(pid, "", `${backend}: the runner ended before the hanging test started`);
      child.kill("SIGTERM");
      const r = await output;
      const out = new TextDecoder().decode(r.stdout).replace(ANSI_COLOR, "");
      assert.equal(r.code, 143, `${backend}: ${out}`);
      assert.match(out, /test_runner: SIGTERM: stopping 1 running deno test process; /);
      if (backend === "gl") {
        assert.match(
          out,
          /test_runner: .*b_hang_test\.ts: deno test signal SIGTERM without a summary\n/,
        );
        assert.match(
          out,
          /test_runner: stopped by SIGTERM: 1 of the 3 deno test processes not started/,
        );
        assert.match(out.trim().split("\n").at(-1)!, /^FAILED \| 1 passed \| 1 failed \(/);
      } else {
        // one deno test over every module: its output passes through, and a stop says why no
        // summary line follows
        assert.match(
          out.trim().split("\n").at(-1)!,
          /^test_runner: stopped by SIGTERM: deno test ended without its summary/,
        );
      }
      // the hanging deno test ended with the runner, not left running on its own
      if (await Deno.stat("/proc/self").then(() => true, () => false)) {
        assert.equal(await Deno.stat(`/proc/${pid}`).then(() => true, () => false), false, backend);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SIGINT and SIGHUP to the runner stop it as SIGTERM does, exit 130 and 129 (util/stop_signals.ts)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "test_runner_stop_" });
  try {
    const mark = `${dir}/hang.pid`;
    await Deno.writeTextFile(
      `${dir}/b_hang_test.ts`,
      'Deno.test("b hangs", async () => {\n' +
        `  await Deno.writeTextFile(${JSON.stringify(mark)}, String(Deno.pid));\n` +
        "  await new Promise((r) => setTimeout(r, 60_000));\n});\n",
    );
    for (const [signal, code] of [["SIGINT", 130], ["SIGHUP", 129]] as const) {
      await Deno.remove(mark).catch(() => {});
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", new URL("../tools/test_runner.ts", import.meta.url).pathname, dir],
        env: { DENO_WEBGPU_BACKEND: "vulkan", NO_COLOR: "1", DENO_JOBS: "1" },
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const output = child.output();
      let ended = false;
      output.finally(() => ended = true);
      let pid = "";
      while (pid === "" && !ended) {
        await new Promise((r) => setTimeout(r, 100));
        pid = await Deno.readTextFile(mark).catch(() => "");
      }
      assert.notEqual(pid, "", `${signal}: the runner ended before the hanging test started`);
      child.kill(signal);
      const r = await output;
      const out = new TextDecoder().decode(r.stdout).replace(ANSI_COLOR, "");
      assert.equal(r.code, code, `${signal}: ${out}`);
      assert.match(out, new RegExp(`test_runner: ${signal}: stopping 1 running deno test process`));
      assert.match(
        out.trim().split("\n").at(-1)!,
        new RegExp(`^test_runner: stopped by ${signal}: deno test ended without its summary`),
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
