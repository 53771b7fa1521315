// Chromium, or only its page, dies under the harness (killed, crashed, out of memory). A
// crashed page answers no pending command: a case waited for --case-timeout (600 s by
// default) and was recorded as a timeout. A killed browser read "CdpError: CDP
// Runtime.evaluate: the browser connection closed". Both now fail at once, saying what
// ended and how, and the device is lost (the runner starts a fresh browser).
// Each test kills only processes of the browser it started itself (ownBrowsers: tagged at
// launch, found with the process tree below), never another module's browser, so it can share
// the suite's `deno test --parallel` process. (Until session 53 it ran alone: killing every
// Chromium process below this process reached the browsers of modules beside it, and once
// failed browser_lifetime_test's run with "Instance dropped".)
import assert from "node:assert/strict";
import { ChromiumGpu } from "../browser/chromium_gpu.ts";
import {
  browserTestName,
  chromiumMissing,
  commandLine,
  failsWithin,
  type OwnBrowsers,
  ownBrowsers,
  runHarness,
} from "./browser_helpers.ts";

const ignore = chromiumMissing() !== null || Deno.build.os !== "linux";
const SOURCE = [{ fileName: "k.wgsl", code: "@compute @workgroup_size(1) fn main() {}" }];

/** The Chromium processes of a test's own browsers: the renderers, or the browser itself. */
function chromiumPids(own: OwnBrowsers, kind: "renderer" | "gpu" | "browser"): number[] {
  return own.pids().filter((p) => {
    const cmd = commandLine(p);
    if (kind === "renderer") return cmd.includes("--type=renderer");
    if (kind === "gpu") return cmd.includes("--type=gpu-process");
    return cmd.includes("--user-data-dir=") && !/^(\S*\/)?sh /.test(cmd) &&
      !cmd.includes("--type=");
  });
}

Deno.test({
  name: browserTestName(
    "a killed page renderer fails the call at once as PageCrashedError; reacquire recovers",
  ),
  ignore,
  fn: async () => {
    const own = ownBrowsers();
    const gpu = await ChromiumGpu.start({ env: own.env });
    try {
      assert.deepEqual(await gpu.compile(SOURCE), [{ ok: true, message: "ok" }]);
      const renderers = chromiumPids(own, "renderer");
      assert.ok(renderers.length > 0, "no renderer process found");
      for (const p of renderers) Deno.kill(p, "SIGKILL");
      const e = await failsWithin(gpu.compile(SOURCE), 10_000);
      assert.equal(e.name, "PageCrashedError", e.message);
      assert.match(e.message, /renderer process ended .*crashed or was killed/);
      assert.match(e.message, /: run, bench and compare-runtimes start a fresh browser/);
      assert.equal(gpu.lost, true);
      await gpu.reacquire();
      assert.deepEqual(await gpu.compile(SOURCE), [{ ok: true, message: "ok" }]);
    } finally {
      await gpu.close();
    }
  },
});

Deno.test({
  name: browserTestName(
    "a browser killed under the harness is a ChromiumExitedError naming the signal",
  ),
  ignore,
  fn: async () => {
    const own = ownBrowsers();
    const gpu = await ChromiumGpu.start({ env: own.env });
    try {
      const [browser] = chromiumPids(own, "browser");
      assert.ok(browser !== undefined, "no browser process found");
      Deno.kill(browser, "SIGKILL");
      const e = await failsWithin(gpu.compile(SOURCE), 10_000);
      assert.equal(e.name, "ChromiumExitedError", e.message);
      assert.match(e.message, /ended while in use: it exited on signal 9 \(SIGKILL\)/);
      // "in a run, a fresh browser is started": bench and compare-runtimes do so too
      assert.match(
        e.message,
        /; run, bench and compare-runtimes start a fresh browser for the next case/,
      );
      // what it printed at start-up (dbus, sandbox, GPU probe warnings) and the launching
      // shell's "Killed" were quoted as its stderr, as if they were the cause
      assert.doesNotMatch(e.message, /InitializeSandbox|dbus|drmGetDevices|\| Killed|: Killed/);
      assert.equal(gpu.lost, true);
    } finally {
      await gpu.close();
    }
  },
});

Deno.test({
  name: "a browser that ends during start-up is exit 3 saying so (it was an internal error)",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      // answers Browser.getVersion over the debugging pipe (fd 4), then ends before the page
      // opens: as a Chromium killed or crashed during start-up. It waits for the harness's next
      // command on fd 3 (5 s at most) before it ends: an exit right after the answer raced the
      // harness reading it, and under load read as a program that never answered
      const fake = `${dir}/chromium-dies`;
      await Deno.writeTextFile(
        fake,
        "#!/bin/sh\n" +
          `printf '%s\\000' '{"id":1,"result":{"product":"HeadlessChrome/0-test"}}' >&4\n` +
          "timeout 5 dd bs=1 count=1 <&3 >/dev/null 2>&1\n" +
          "echo 'test: ending now' >&2\nexit 0\n",
      );
      await Deno.chmod(fake, 0o755);
      const r = await runHarness(["devices", "--runtime", "chromium", "--chromium", fake]);
      assert.equal(r.code, 3, r.stderr);
      assert.match(
        r.stderr,
        /^error: Chromium \(HeadlessChrome\/0-test, .*chromium-dies\) ended during its start-up: it exited with code 0 .*; its stderr: test: ending now$/m,
      );
      assert.doesNotMatch(r.stderr, /internal error|CdpError|\n\s+at /);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: browserTestName(
    "a killed GPU process during a measurement outside a case is a DeviceLostError naming it " +
      "(bench: an internal error, AbortError: Failed to execute 'mapAsync' ..., exit 1)",
  ),
  ignore,
  fn: async () => {
    const own = ownBrowsers();
    const gpu = await ChromiumGpu.start({ env: own.env });
    try {
      const gpus = chromiumPids(own, "gpu");
      assert.ok(gpus.length > 0, "no GPU process found");
      for (const p of gpus) Deno.kill(p, "SIGKILL");
      const e = await failsWithin(gpu.measureCeilings({ reps: 1, bufferBytes: 1 << 16 }), 20_000);
      assert.equal(e.name, "DeviceLostError", `${e.name}: ${e.message}`);
      assert.match(
        e.message,
        /the Chromium page's device was lost during the ceilings measurement/,
      );
      assert.equal(gpu.lost, true);
    } finally {
      await gpu.close();
    }
  },
});
