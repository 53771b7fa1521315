// A Chromium page that hangs outside a case hung the harness for good: start-up
// (mlaHarness.init() and the page's ready checks), a re-acquire after a device loss,
// `compile --runtime chromium` and `devices --runtime chromium` had no time limit (only
// run's cases had --case-timeout). Each such step now has one (MLA_HARNESS_CHROMIUM_TIMEOUT,
// default 120 s): past it the browser is killed, its profile removed, and the error names
// the step, the limit and what to do (exit 3). The hang here is a stopped GPU process
// (SIGSTOP), as tests/browser_hung_close_test.ts stops a browser.
// Each test stops, kills and checks only processes and profiles of the browsers it started
// itself (ownBrowsers in this process, the tree below the spawned CLI for the CLI's), never
// another module's, so it can share the suite's `deno test --parallel` process. (Until session
// 53 it ran alone: stopping every GPU process below this process, and checking that no process
// or profile of this process was left, reached the browsers of modules beside it, and once
// failed browser_lifetime_test's run with "Instance dropped".)
import assert from "node:assert/strict";
import { ChromiumTimeoutError } from "../browser/chromium.ts";
import { ChromiumGpu, chromiumTimeoutOf, measurementLimitMs } from "../browser/chromium_gpu.ts";
import { ConfigError } from "../adapter/errors.ts";
import {
  browserTestName,
  chromiumMissing,
  commandLine,
  descendants,
  failsWithin,
  ownBrowsers,
  spawnHarness,
  stillAlive,
} from "./browser_helpers.ts";

const ignore = chromiumMissing() !== null || Deno.build.os !== "linux";
const SOURCE = [{ fileName: "k.wgsl", code: "@compute @workgroup_size(1) fn main() {}" }];
/** How long a test waits for the limit's error before it fails (the hang it guards). */
const GUARD_MS = 20_000;

/**
 * Stop (SIGSTOP) every Chromium GPU process among `pids()` (a test's own browsers) as it
 * appears, until `stop()`; `release()` kills the stopped ones that are still there.
 */
function stopGpuProcesses(pids: () => number[]) {
  const stopped = new Set<number>();
  const timer = setInterval(() => {
    for (const p of pids()) {
      if (!stopped.has(p) && commandLine(p).includes("--type=gpu-process")) {
        try {
          Deno.kill(p, "SIGSTOP");
          stopped.add(p);
        } catch {
          // gone
        }
      }
    }
  }, 10);
  return {
    stopped,
    stop: () => clearInterval(timer),
    release: () => {
      clearInterval(timer);
      for (const p of stillAlive([...stopped])) {
        try {
          Deno.kill(p, "SIGKILL");
        } catch {
          // gone
        }
      }
    },
  };
}

/**
 * Every process of `pids()` (a test's own browsers) and each profile folder on their command
 * lines, polled every 50 ms until `stop()`.
 */
function watchProcesses(pids: () => number[]) {
  const seen = new Set<number>();
  const profiles = new Set<string>();
  const timer = setInterval(() => {
    for (const p of pids()) {
      if (seen.has(p)) continue;
      seen.add(p);
      const profile = /--user-data-dir=(\S+)/.exec(commandLine(p))?.[1];
      if (profile) profiles.add(profile);
    }
  }, 50);
  return { seen, profiles, stop: () => clearInterval(timer) };
}

/** Those of `profiles` that still exist. */
async function existing(profiles: Iterable<string>): Promise<string[]> {
  const left: string[] = [];
  for (const p of profiles) {
    if (await Deno.stat(p).then(() => true, () => false)) left.push(p);
  }
  return left;
}

/** The temporary profiles of a harness process (`mla-harness-chromium-<pid>-*`). */
async function profilesOf(pid: number): Promise<string[]> {
  const tmp = Deno.env.get("TMPDIR") || "/tmp";
  const found: string[] = [];
  for await (const e of Deno.readDir(tmp)) {
    if (e.name.startsWith(`mla-harness-chromium-${pid}-`)) found.push(`${tmp}/${e.name}`);
  }
  return found;
}

/** Wait up to 3 s for every process of `pids` to end; the ones left. */
async function waitGone(pids: readonly number[]): Promise<string[]> {
  let alive = stillAlive(pids);
  for (let i = 0; i < 30 && alive.length > 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    alive = stillAlive(pids);
  }
  return alive.map((p) => `${p} ${commandLine(p).slice(0, 80)}`);
}

Deno.test("MLA_HARNESS_CHROMIUM_TIMEOUT: seconds (0: no limit); anything else is a ConfigError", () => {
  assert.equal(chromiumTimeoutOf("300"), 300_000);
  assert.equal(chromiumTimeoutOf("0.5"), 500);
  assert.equal(chromiumTimeoutOf("0"), 0);
  // a positive limit rounds to 1 ms at least, never to 0 (no limit)
  assert.equal(chromiumTimeoutOf("0.0001"), 1);
  assert.equal(chromiumTimeoutOf("0.000"), 0);
  assert.equal(chromiumTimeoutOf(" "), undefined);
  assert.equal(chromiumTimeoutOf(undefined), undefined);
  for (const bad of ["2m", "-1", "1e3", "0x10", "Infinity"]) {
    assert.throws(() => chromiumTimeoutOf(bad), ConfigError, bad);
  }
});

Deno.test({
  name: browserTestName(
    "a start-up hung in mlaHarness.init() is a ChromiumTimeoutError naming the step; nothing left",
  ),
  ignore,
  fn: async () => {
    const own = ownBrowsers();
    const hang = stopGpuProcesses(own.pids);
    const seen = watchProcesses(own.pids);
    try {
      const t0 = performance.now();
      // 4 s: loading the page's script before init() took over 2 s with other browser
      // tests beside this one on 2 CPUs (the limit then named that step)
      const e = await failsWithin(
        ChromiumGpu.start({ timeoutMs: 4000, env: own.env }),
        GUARD_MS,
      );
      const took = performance.now() - t0;
      assert.ok(e instanceof ChromiumTimeoutError, String(e));
      assert.ok(hang.stopped.size > 0, "no GPU process was stopped");
      assert.equal(e.limitMs, 4000);
      assert.match(e.step, /mlaHarness\.init\(\)/);
      assert.match(
        e.message,
        /^Chromium start-up: acquiring the WebGPU adapter and device \(mlaHarness\.init\(\)\) did not finish within 4 s \(MLA_HARNESS_CHROMIUM_TIMEOUT/,
      );
      assert.match(e.message, /was killed and its profile removed\. Rerun/);
      assert.ok(took < 4000 + 8000, `took ${took} ms`);
      seen.stop();
      assert.ok(seen.profiles.size > 0, "no profile folder on a command line");
      assert.deepEqual(await waitGone([...seen.seen]), []);
      assert.deepEqual(await existing(seen.profiles), []);
    } finally {
      seen.stop();
      hang.release();
    }
  },
});

Deno.test({
  name: browserTestName(
    "a compile and a re-acquire hung in the page are ChromiumTimeoutErrors naming each step",
  ),
  ignore,
  fn: async () => {
    const own = ownBrowsers();
    const gpu = await ChromiumGpu.start({ timeoutMs: 4000, env: own.env });
    const hang = stopGpuProcesses(own.pids);
    const seen = watchProcesses(own.pids);
    try {
      // the GPU process is stopped as soon as it is seen: Tint's compile never answers
      while (hang.stopped.size === 0) await new Promise((r) => setTimeout(r, 10));
      const e = await failsWithin(gpu.compile(SOURCE), GUARD_MS);
      assert.ok(e instanceof ChromiumTimeoutError, String(e));
      assert.match(
        e.message,
        /^Chromium compile: compiling 1 WGSL source \(mlaHarness\.compile\(\)\) did not finish within 4 s/,
      );
      // what the browser printed at its start-up (sandbox, GPU probe warnings) and the
      // launching shell's "Killed" (the kill was the harness's) were quoted as its stderr
      assert.doesNotMatch(e.message, /InitializeSandbox|dbus|drmGetDevices|Killed/);
      assert.equal(gpu.lost, true, "a timed-out step loses the device");
      // a fresh browser whose GPU process hangs too: the re-acquire is bounded as well
      const r = await failsWithin(gpu.reacquire(), GUARD_MS);
      assert.ok(r instanceof ChromiumTimeoutError, String(r));
      assert.match(
        r.message,
        /^Chromium re-acquire after a device loss: acquiring the WebGPU adapter and device \(mlaHarness\.init\(\)\) did not finish within 4 s/,
      );
    } finally {
      seen.stop();
      hang.release();
      await gpu.close();
    }
    // both browsers' profiles (the first one and the re-acquire's) are gone
    assert.ok(seen.profiles.size >= 2, `profiles seen: ${[...seen.profiles].join(", ")}`);
    assert.deepEqual(await existing(seen.profiles), []);
  },
});

Deno.test({
  name: browserTestName(
    "CLI: devices --runtime chromium hung at start-up exits 3 naming the step and the variable",
  ),
  ignore,
  fn: async () => {
    // 8 s, where the in-process tests give 4: this one starts a harness process as well as the
    // browser, and on a fresh machine's loaded suite (session 56's fresh-check, GL fallback)
    // the steps before init() once took longer than 4 s (the test failed; alone it passed)
    // The hang is the test's precondition, not the harness's doing: the GPU process is
    // stopped when a 10 ms poll of the child's descendants first sees it, and on a loaded
    // machine (a fresh-check beside a CI run, session 61) the browser once acquired its device
    // first (exit 0, nothing hung). Such a start, where no GPU process was stopped, is tried
    // again, up to three times; every start where the hang took is checked in full.
    for (let attempt = 1;; attempt++) {
      const hangTook = await hungDevicesCommand();
      if (hangTook || attempt === 3) {
        assert.ok(hangTook, "the GPU process was never stopped in time, in 3 starts");
        break;
      }
    }
  },
});

/**
 * `devices --runtime chromium` with its browser's GPU process stopped as soon as it is seen:
 * false where it finished (exit 0) without a GPU process stopped (the hang did not take);
 * otherwise it must exit 3 naming the step, leaving no process or profile behind.
 */
async function hungDevicesCommand(): Promise<boolean> {
  const child = spawnHarness(["devices", "--runtime", "chromium"], {
    MLA_HARNESS_CHROMIUM_TIMEOUT: "8",
  });
  const hang = stopGpuProcesses(() => descendants(child.pid));
  let pids: number[] = [];
  const seen = setInterval(() => pids = [...new Set([...pids, ...descendants(child.pid)])], 50);
  const guard = setTimeout(() => child.kill("SIGKILL"), GUARD_MS);
  try {
    const out = await child.output();
    const stderr = new TextDecoder().decode(out.stderr);
    if (out.code === 0 && hang.stopped.size === 0) return false;
    assert.equal(out.code, 3, `exit ${out.code} (137: killed by the test's guard): ${stderr}`);
    assert.match(
      stderr,
      /Chromium start-up: acquiring the WebGPU adapter and device \(mlaHarness\.init\(\)\) did not finish within 8 s \(MLA_HARNESS_CHROMIUM_TIMEOUT/,
    );
    assert.ok(!/\n\s+at /.test(stderr), `no stack trace: ${stderr}`);
    clearInterval(seen);
    assert.deepEqual(await waitGone(pids), []);
    assert.deepEqual(await profilesOf(child.pid), []);
    return true;
  } finally {
    clearTimeout(guard);
    clearInterval(seen);
    hang.release();
  }
}

Deno.test("CLI: a bad MLA_HARNESS_CHROMIUM_TIMEOUT is exit 2 naming it, before any browser", async () => {
  const child = spawnHarness(["devices", "--runtime", "chromium"], {
    MLA_HARNESS_CHROMIUM_TIMEOUT: "2m",
  });
  const out = await child.output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 2, stderr);
  assert.match(stderr, /MLA_HARNESS_CHROMIUM_TIMEOUT: invalid environment variable/);
  assert.match(stderr, /must be a number of seconds/);
  // every command, as every MLA_HARNESS_* value: compare-runtimes read it once Deno's
  // adapter had started, and a command without a browser ignored it (exit 0)
  for (const args of [["compare-runtimes", "--out", "/nonexistent/cr"], ["devices"]]) {
    const r = await spawnHarness(args, { MLA_HARNESS_CHROMIUM_TIMEOUT: "2m" }).output();
    const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
    assert.equal(r.code, 2, text);
    assert.match(text, /^error: MLA_HARNESS_CHROMIUM_TIMEOUT: invalid environment variable/);
    assert.doesNotMatch(text, /runtime: deno/);
  }
});

// `bench --runtime chromium --reps 150` (up to 1000 allowed) was killed at 120 s, exit 3:
// the ceilings measurement in the page runs as long as its repetitions (100 took 80 s on
// SwiftShader), and it had the one limit of every step. Its limit is now per 7 repetitions.
Deno.test("measurementLimitMs: MLA_HARNESS_CHROMIUM_TIMEOUT per 7 repetitions, 0 stays 0", () => {
  assert.equal(measurementLimitMs(120_000, undefined), 120_000);
  assert.equal(measurementLimitMs(120_000, 1), 120_000);
  assert.equal(measurementLimitMs(120_000, 7), 120_000);
  assert.equal(measurementLimitMs(120_000, 8), 240_000);
  assert.equal(measurementLimitMs(120_000, 1000), 120_000 * 143);
  assert.equal(measurementLimitMs(0, 1000), 0);
});

Deno.test({
  name: browserTestName(
    "a ceilings measurement of 14 repetitions hung in the page gets twice the step limit",
  ),
  ignore,
  fn: async () => {
    const own = ownBrowsers();
    const gpu = await ChromiumGpu.start({ timeoutMs: 2000, env: own.env });
    const hang = stopGpuProcesses(own.pids);
    try {
      while (hang.stopped.size === 0) await new Promise((r) => setTimeout(r, 10));
      const e = await failsWithin(gpu.measureCeilings({ reps: 14 }), GUARD_MS);
      assert.ok(e instanceof ChromiumTimeoutError, String(e));
      assert.match(
        e.message,
        /^Chromium ceilings measurement: measuring the device's ceilings \(mlaHarness\.ceilings\(\), 14 repetitions: the limit is per 7\) did not finish within 4 s/,
      );
    } finally {
      hang.release();
      await gpu.close();
    }
  },
});
