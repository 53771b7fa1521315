// A device lost mid-run (Chromium killed, a Deno device lost) that cannot be re-acquired
// (the browser will not start again): the run stops there with the error, and still
// writes its reports and an "interrupted" run.json. The error escaped past them: the
// folder held results.jsonl and a run.json stuck at "running", no report.json,
// summary.md or junit.xml (seen with a --chromium that starts once only, after kill -9).
import assert from "node:assert/strict";
import { readCapsFile } from "../adapter/caps_file.ts";
import type { RemoteDevice } from "../gpu/runtime.ts";
import { runMatrix } from "../runner/run_matrix.ts";
import { writeRunReports } from "../report/run_reports.ts";
import { SILENT_PROGRESS } from "../report/progress.ts";
import { ChromiumLaunchError } from "../browser/chromium.ts";
import { PASS_STUB } from "./stub_runner.ts";
import { OutputWriteError } from "../report/errors.ts";
import { exitCodeOf } from "../cli/program.ts";
import { storageFullLine } from "../cli/errors.ts";
import { hasAdapter } from "../gpu/device.ts";
import { writeTextAtomic } from "../util/fs.ts";
import type { CaseResult, RunReport } from "../results/types.ts";

const gpu = await hasAdapter();

/**
 * A device whose cases the stub runner runs: lost while `lost()` says so, re-acquired by
 * `reacquire`.
 */
async function stubDevice(
  lost: () => boolean,
  reacquire: () => Promise<void>,
): Promise<RemoteDevice> {
  const caps = await readCapsFile(new URL("./fixtures/caps_no_f16.json", import.meta.url).pathname);
  return {
    runtime: "chromium",
    caps,
    identity: { name: "b", version: "test", path: "/none", userAgent: "test", adapterInfo: {} },
    get lost() {
      return lost();
    },
    destroy: () => {},
    reacquire,
    close: () => Promise.resolve(),
    runAttention: () => Promise.reject(new Error("not run: the stub runs the cases")),
    runLayer: () => Promise.reject(new Error("not run: the stub runs the cases")),
  };
}

Deno.test("a device that cannot be re-acquired after a loss stops the run with its reports written", async () => {
  let dead = false;
  const ctx = await stubDevice(
    () => dead,
    () => Promise.reject(new ChromiumLaunchError("/x/chrome exited (code 7) before answering")),
  );
  const out = await Deno.makeTempDir({ prefix: "mla-reacquire-" });
  try {
    let n = 0;
    let lostIn = "";
    const e = await runMatrix({
      matrix: "smoke",
      filter: "preset=tiny;dtype=f32",
      out,
      repeats: 0,
      progress: SILENT_PROGRESS,
      ctx,
      writeReports: (dir, report) => writeRunReports(dir, report),
      testOnlyCaseRunner: async (c, o) => {
        if (++n === 2) {
          dead = true; // the browser dies in the second case
          lostIn = c.id;
          return { ...await PASS_STUB(c, o), status: "error", message: "ChromiumExitedError" };
        }
        return PASS_STUB(c, o);
      },
    }).then(() => null, (e: Error) => e);
    assert.ok(e instanceof ChromiumLaunchError, `expected the launch error, got ${e}`);
    assert.match(
      e.message,
      new RegExp(`^no device after the loss in ${lostIn.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} `),
    );
    assert.match(e.message, /--resume runs it again and the rest\): \/x\/chrome exited \(code 7\)/);
    const files = [...Deno.readDirSync(out)].map((f) => f.name).sort();
    for (const f of ["report.json", "summary.md", "junit.xml", "results.jsonl", "run.json"]) {
      assert.ok(files.includes(f), `${f} missing: ${files.join(", ")}`);
    }
    const state = JSON.parse(await Deno.readTextFile(`${out}/run.json`));
    assert.equal(state.state, "interrupted");
    const report = JSON.parse(await Deno.readTextFile(`${out}/report.json`));
    assert.equal(report.interrupted, true);
    assert.equal(report.results.length, 2);
    // the case the loss ended is marked for --resume; the one before it is not
    assert.deepEqual(report.results.map((r: CaseResult) => r.deviceLoss), [undefined, true]);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

/** runMatrix options of the tests below: the tiny f32 THD smoke cases, silent, reports written. */
function thdSmokeOptions(out: string) {
  return {
    matrix: "smoke",
    filter: "preset=tiny;dtype=f32;layout=thd",
    out,
    repeats: 0,
    progress: SILENT_PROGRESS,
    writeReports: (dir: string, report: RunReport) => writeRunReports(dir, report),
  };
}

Deno.test("--resume runs again the case a device loss ended, and keeps a case's own error", async () => {
  let dead = false;
  const device = (reacquire: () => Promise<void>) => stubDevice(() => dead, reacquire);
  const out = await Deno.makeTempDir({ prefix: "mla-reacquire-" });
  const options = thdSmokeOptions(out);
  try {
    let n = 0;
    let ownError = "", lostIn = "";
    const first = await runMatrix({
      ...options,
      ctx: await device(() => Promise.reject(new ChromiumLaunchError("/x/chrome exited (code 7)"))),
      testOnlyCaseRunner: async (c, o) => {
        n++;
        if (n === 1) {
          ownError = c.id; // an error of the case itself: the device is fine
          return { ...await PASS_STUB(c, o), status: "error", message: "a shader error" };
        }
        if (n === 3) {
          dead = true; // the browser dies in the third case, whose reads came back as zeros
          lostIn = c.id;
          return { ...await PASS_STUB(c, o), status: "fail", message: "out: 0% within tol" };
        }
        return PASS_STUB(c, o);
      },
    }).then(() => null, (e: Error) => e);
    assert.ok(first instanceof ChromiumLaunchError, `expected the launch error, got ${first}`);
    const lines = () =>
      Deno.readTextFileSync(`${out}/results.jsonl`).trim().split("\n").map((l) =>
        JSON.parse(l) as CaseResult
      );
    const before = lines();
    assert.deepEqual(before.map((r) => r.deviceLoss), [undefined, undefined, true]);
    dead = false;
    const ran: string[] = [];
    const report = await runMatrix({
      ...options,
      resume: true,
      ctx: await device(() => Promise.resolve()),
      testOnlyCaseRunner: (c, o) => {
        ran.push(c.id);
        return PASS_STUB(c, o);
      },
    });
    assert.equal(ran[0], lostIn, `the lost case runs first again: ${ran.join(", ")}`);
    assert.ok(!ran.includes(ownError), "a case's own error is kept, not run again");
    const after = lines();
    // one line per case: the lost case's error line went
    assert.equal(new Set(after.map((r) => r.id)).size, after.length);
    assert.equal(after.find((r) => r.id === lostIn)?.status, "pass");
    assert.equal(after.find((r) => r.id === ownError)?.status, "error");
    assert.equal(report.results.find((r) => r.id === lostIn)?.status, "pass");
    assert.equal(report.interrupted, false);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("results.jsonl's deviceLoss mark: true on an error or a failure only", async () => {
  const { caseResultProblem } = await import("../report/validate.ts");
  const line = {
    id: "a",
    status: "error",
    decision: "not-reached",
    params: {},
    expect: {},
    message: "lost",
    wallMs: 1,
  };
  assert.equal(caseResultProblem({ ...line, deviceLoss: true }), null);
  assert.match(
    caseResultProblem({ ...line, deviceLoss: "yes" }) ?? "",
    /field "deviceLoss" must be true on an error or fail result/,
  );
  assert.equal(caseResultProblem({ ...line, status: "fail", deviceLoss: true }), null);
  assert.match(
    caseResultProblem({ ...line, status: "pass", deviceLoss: true }) ?? "",
    /on status "pass"/,
  );
});

Deno.test("--resume keeps the barrier findings of the run it resumes (what its kept cases compiled)", async () => {
  const device = await stubDevice(() => false, () => Promise.resolve());
  const out = await Deno.makeTempDir({ prefix: "mla-resume-findings-" });
  const options = { ...thdSmokeOptions(out), ctx: device, backendModules: ["mine/mod.ts"] };
  try {
    const stop = new AbortController();
    await runMatrix({
      ...options,
      signal: stop.signal,
      testOnlyCaseRunner: (c, o) => {
        stop.abort(); // stopped after its first case
        return PASS_STUB(c, o);
      },
    });
    // what the first process's launches compiled (another process: not in this one's list)
    const found = {
      backend: "ghost",
      location: "gen.wgsl:3",
      labels: ["f32"],
      kind: "hazard",
      message: "write of s[i] (line 3) reaches the read of s[0] (line 3)",
    };
    const statePath = `${out}/run.json`;
    const state = JSON.parse(Deno.readTextFileSync(statePath));
    assert.equal(state.state, "interrupted");
    state.report.barrierFindings = [...state.report.barrierFindings, found];
    Deno.writeTextFileSync(statePath, JSON.stringify(state));
    const resumed = await runMatrix({ ...options, resume: true, testOnlyCaseRunner: PASS_STUB });
    assert.equal(resumed.interrupted, false);
    assert.deepEqual(resumed.barrierFindings?.filter((f) => f.backend === "ghost"), [found]);
    // started over (--force), nothing is kept: nor are its findings
    const fresh = await runMatrix({ ...options, force: true, testOnlyCaseRunner: PASS_STUB });
    assert.deepEqual(fresh.barrierFindings?.filter((f) => f.backend === "ghost"), []);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("a case past --case-timeout is marked deviceLoss, its device dropped and re-acquired, and --resume runs it again", async () => {
  let destroyed = 0, reacquired = 0;
  const ctx = await stubDevice(() => false, () => {
    reacquired++;
    return Promise.resolve();
  });
  ctx.destroy = () => {
    destroyed++;
  };
  const out = await Deno.makeTempDir({ prefix: "mla-timeout-resume-" });
  const options = thdSmokeOptions(out);
  try {
    let n = 0;
    let hungIn = "";
    const first = await runMatrix({
      ...options,
      ctx,
      caseTimeoutMs: 50,
      testOnlyCaseRunner: (c, o) => {
        if (++n === 2) {
          hungIn = c.id; // a kernel that never finishes: its promise never settles
          return new Promise<CaseResult>(() => {});
        }
        return PASS_STUB(c, o);
      },
    });
    assert.equal(destroyed, 1, "the hung case's device is dropped");
    assert.equal(reacquired, 1, "and a fresh one acquired for the next case");
    const hung = first.results.find((r) => r.id === hungIn);
    assert.equal(hung?.status, "error");
    assert.match(
      hung?.message ?? "",
      /^timed out after 0\.05 s \(--case-timeout\); the device was re-acquired/,
    );
    assert.equal(hung?.deviceLoss, true);
    // the cases after it ran, and none of them is marked
    assert.ok(first.results.length > 2);
    assert.deepEqual(first.results.filter((r) => r.deviceLoss).map((r) => r.id), [hungIn]);
    const ran: string[] = [];
    const resumed = await runMatrix({
      ...options,
      resume: true,
      ctx,
      testOnlyCaseRunner: (c, o) => {
        ran.push(c.id);
        return PASS_STUB(c, o);
      },
    });
    assert.deepEqual(ran, [hungIn], "only the timed-out case runs again");
    const lines = Deno.readTextFileSync(`${out}/results.jsonl`).trim().split("\n");
    assert.equal(lines.length, first.results.length, "one line per case");
    assert.equal(resumed.results.find((r) => r.id === hungIn)?.status, "pass");
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("a full disk under results.jsonl stops the run in one message, exit 3, and --resume runs the rest", async () => {
  const ctx = await stubDevice(() => false, () => Promise.resolve());
  const out = await Deno.makeTempDir({ prefix: "mla-disk-full-" });
  const write = Deno.FsFile.prototype.write;
  const options = {
    matrix: "smoke",
    filter: "preset=tiny;dtype=f32",
    out,
    repeats: 0,
    progress: SILENT_PROGRESS,
    ctx,
    writeReports: (dir: string, report: RunReport) => writeRunReports(dir, report),
  };
  try {
    let n = 0;
    let fullIn = "";
    const e = await runMatrix({
      ...options,
      // the caller's (run's --history): the resume ends with them
      resumeWords: ["--history", "h.sqlite"],
      testOnlyCaseRunner: (c, o) => {
        if (++n === 3) {
          // the disk fills up during the third case: every write after fails, as the OS says
          fullIn = c.id;
          Deno.FsFile.prototype.write = () =>
            Promise.reject(
              Object.assign(new Error("No space left on device (os error 28)"), {
                code: "ENOSPC",
              }),
            );
        }
        return PASS_STUB(c, o);
      },
    }).then(() => null, (e: Error) => e).finally(() => {
      Deno.FsFile.prototype.write = write;
    });
    // one message naming the file, the case and what was kept, where it was an internal error
    // with a stack trace (exit 1: read as a parity failure)
    assert.ok(e instanceof OutputWriteError, `expected OutputWriteError, got ${e?.stack}`);
    assert.equal(
      e.message,
      `${out}/results.jsonl: cannot write the result of ${fullIn}: No space left on device; ` +
        "the run stopped there and the 2 results before it are kept: free space, then run the " +
        // the run's own options (a bare --resume is refused for another filter)
        // (the stub device is a Chromium one: its resume names the runtime and browser)
        "rest with deno task harness run --matrix smoke --runtime chromium --chromium /none " +
        `--filter '${options.filter}' --repeats 0 ` +
        `--out ` +
        `${out} --resume --history h.sqlite`,
    );
    assert.equal(exitCodeOf(e), 3);
    const lines = (await Deno.readTextFile(`${out}/results.jsonl`)).trim().split("\n");
    assert.equal(lines.length, 2);
    const resumed = await runMatrix({ ...options, resume: true, testOnlyCaseRunner: PASS_STUB });
    assert.equal(resumed.interrupted, false);
    assert.equal(resumed.results.length, resumed.shardIds.length);
    assert.equal(new Set(resumed.results.map((r) => r.id)).size, resumed.shardIds.length);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("a result JSON cannot write is that case's error naming the field, not a full disk", async () => {
  const ctx = await stubDevice(() => false, () => Promise.resolve());
  const out = await Deno.makeTempDir({ prefix: "mla-unwritable-" });
  try {
    let n = 0;
    let badIn = "";
    // a backend's reason carrying a bigint: it stopped the run as a full disk (exit 3,
    // "free space, then ... --resume"), every later case not run
    const report = await runMatrix({
      matrix: "smoke",
      filter: "preset=tiny;dtype=f32",
      out,
      repeats: 0,
      progress: SILENT_PROGRESS,
      ctx,
      writeReports: (dir: string, report: RunReport) => writeRunReports(dir, report),
      testOnlyCaseRunner: async (c, o) => {
        const r = await PASS_STUB(c, o);
        if (++n !== 2) return r;
        badIn = c.id;
        const reasons = [{ code: "mine.nope", message: "no", detail: 10n }];
        return { ...r, reasons } as unknown as CaseResult;
      },
    });
    assert.equal(report.interrupted, false);
    const lines = (await Deno.readTextFile(`${out}/results.jsonl`)).trim().split("\n");
    assert.equal(lines.length, report.shardIds.length);
    const bad = report.results.find((r) => r.id === badIn);
    assert.equal(bad?.status, "error");
    assert.equal(
      bad?.message,
      "its result cannot be written to results.jsonl: reasons[0].detail: a bigint (10n), " +
        "which JSON cannot write (the case ended pass: stub)",
    );
    assert.equal(report.results.filter((r) => r.status === "pass").length, lines.length - 1);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("a full disk under the reports after every case ran names the resume that writes them", async () => {
  const ctx = await stubDevice(() => false, () => Promise.resolve());
  const out = await Deno.makeTempDir({ prefix: "mla-disk-full-" });
  const options = {
    matrix: "smoke",
    filter: "preset=tiny;dtype=f32;b=2;sq=1;layout=bshd",
    out,
    repeats: 0,
    progress: SILENT_PROGRESS,
    ctx,
    testOnlyCaseRunner: PASS_STUB,
  };
  try {
    const e = await runMatrix({
      ...options,
      writeReports: () =>
        Promise.reject(
          Object.assign(new Error(`${out}/report.json: No space left on device (os error 28)`), {
            code: "ENOSPC",
          }),
        ),
    }).then(() => null, (e: Error) => e);
    // it said "free space and run the command again", which is refused: the folder holds a
    // half-finished run
    assert.ok(e instanceof OutputWriteError, `expected OutputWriteError, got ${e?.stack}`);
    const kept = (await Deno.readTextFile(`${out}/results.jsonl`)).trim().split("\n").length;
    assert.equal(
      e.message,
      `${out}: cannot write the run's reports (${out}/report.json: No space left on device); ` +
        `its ${kept} results are kept in results.jsonl: free space, then deno task harness run ` +
        "--matrix smoke --runtime chromium --chromium /none " +
        `--filter '${options.filter}' --repeats 0 --out ${out} --resume writes ` +
        "them (running any case not run)",
    );
    assert.equal(exitCodeOf(e), 3);
    // and that resume does
    const resumed = await runMatrix({
      ...options,
      resume: true,
      writeReports: (dir: string, report: RunReport) => writeRunReports(dir, report),
    });
    assert.equal(resumed.results.length, kept);
    assert.ok((await Deno.stat(`${out}/report.json`)).isFile);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("a full disk or quota elsewhere (a bench, a merge) is exit 3, not an internal error", () => {
  const full = (code: string) => Object.assign(new Error("No space left"), { code });
  assert.equal(exitCodeOf(full("ENOSPC")), 3);
  assert.equal(exitCodeOf(full("EDQUOT")), 3);
  assert.equal(exitCodeOf(full("EIO")), null);
});

Deno.test("a full disk is one line naming the file and what to do, without Deno's words beside it", () => {
  // it read "out/run.json: No space left on device (os error 28): the disk (or a quota) is
  // full; free space and run the command again"
  const what = "the disk (or a quota) is full; free space and run the command again";
  assert.equal(
    storageFullLine("out/run.json: No space left on device (os error 28)"),
    `out/run.json: ${what}`,
  );
  assert.equal(
    storageFullLine("out/a.db: Disk quota exceeded (os error 122)"),
    `out/a.db: ${what}`,
  );
  assert.equal(storageFullLine("No space left on device (os error 28)"), what);
  // a message of the harness's own is kept whole
  assert.equal(storageFullLine("out: cannot write x"), `out: cannot write x: ${what}`);
});

for (
  const [file, said] of [
    // it named no file: "error: No space left on device (os error 28): the disk (or a quota) ..."
    [
      "run.lock",
      "run.lock: cannot take the folder's lock: the disk (or a quota) is full; free space and run the command again",
    ],
    ["run.json", "run.json: the disk (or a quota) is full; free space and run the command again"],
  ]
) {
  Deno.test({
    name: `run on a disk full under ${file}: one line naming it, exit 3`,
    ignore: !gpu,
    fn: async () => {
      const dir = await Deno.makeTempDir({ prefix: "mla-disk-full-" });
      try {
        const r = await new Deno.Command(Deno.execPath(), {
          args: [
            ...["run", "-A", new URL("./fixtures/disk_full_main.ts", import.meta.url).pathname],
            ...["run", "--filter", "preset=tiny;path=absorbed;dtype=f32;sq=1;b=2;layout=bshd"],
            ...["--repeats", "0", "--out", `${dir}/out`],
          ],
          env: { NO_COLOR: "1", MLA_TEST_FULL_FILE: file },
          stdout: "null",
          stderr: "piped",
        }).output();
        const stderr = new TextDecoder().decode(r.stderr);
        assert.equal(r.code, 3, stderr);
        assert.ok(stderr.endsWith(`error: ${dir}/out/${said}\n`), stderr);
        assert.doesNotMatch(stderr, /os error|No space left/);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}

Deno.test("a full disk under an atomic write (run.json, a report) names the file, its code kept", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla-disk-full-" });
  const write = Deno.FsFile.prototype.write;
  Deno.FsFile.prototype.write = () =>
    Promise.reject(
      Object.assign(new Error("No space left on device (os error 28)"), { code: "ENOSPC" }),
    );
  try {
    const e = await writeTextAtomic(`${dir}/run.json`, "{}\n").then(() => null, (e) => e);
    // was Deno's "No space left on device (os error 28)" alone: which output, not said
    assert.equal(e?.message, `${dir}/run.json: No space left on device (os error 28)`);
    assert.equal(exitCodeOf(e), 3);
    assert.deepEqual([...Deno.readDirSync(dir)], [], "no temp file left");
  } finally {
    Deno.FsFile.prototype.write = write;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a case past --case-timeout with a Ctrl-C pending says the run stopped there, not that it went on", async () => {
  const ctx = await stubDevice(() => false, () => Promise.resolve());
  const out = await Deno.makeTempDir({ prefix: "mla-timeout-int-" });
  try {
    const stop = new AbortController();
    const report = await runMatrix({
      ...thdSmokeOptions(out),
      ctx,
      caseTimeoutMs: 50,
      signal: stop.signal,
      testOnlyCaseRunner: () => {
        stop.abort(); // Ctrl-C during a case that hangs
        return new Promise<CaseResult>(() => {});
      },
    });
    assert.equal(report.interrupted, true);
    assert.equal(report.results.length, 1);
    assert.equal(
      report.results[0].message,
      "timed out after 0.05 s (--case-timeout); the device was re-acquired and the run " +
        "stopped here, interrupted",
    );
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
