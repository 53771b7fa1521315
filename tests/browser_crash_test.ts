// Chromium, or only its page, dies under the harness (killed, crashed, out of memory). A
// crashed page answers no pending command: a case waited for --case-timeout (600 s by
// default) and was recorded as a timeout. A killed browser read "CdpError: CDP
// Runtime.evaluate: the browser connection closed". Both now fail at once, saying what
// ended and how, and the device is lost (the runner starts a fresh browser).
// test_runner: alone (it stops and kills Chromium processes it finds below this process: in
// the suite's shared \`deno test --parallel\` process that would reach other modules' browsers,
// and once failed browser_lifetime_test's run with "Instance dropped")
import assert from "node:assert/strict";
import { ChromiumGpu } from "../browser/chromium_gpu.ts";
import {
  browserTestName,
  chromiumMissing,
  commandLine,
  descendants,
  failsWithin,
} from "./browser_helpers.ts";

const ignore = chromiumMissing() !== null || Deno.build.os !== "linux";
const SOURCE = [{ fileName: "k.wgsl", code: "@compute @workgroup_size(1) fn main() {}" }];

/** This process's Chromium processes: the renderers, or the browser itself. */
function chromiumPids(kind: "renderer" | "browser"): number[] {
  return descendants(Deno.pid).filter((p) => {
    const cmd = commandLine(p);
    if (kind === "renderer") return cmd.includes("--type=renderer");
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
    const gpu = await ChromiumGpu.start();
    try {
      assert.deepEqual(await gpu.compile(SOURCE), [{ ok: true, message: "ok" }]);
      const renderers = chromiumPids("renderer");
      assert.ok(renderers.length > 0, "no renderer process found");
      for (const p of renderers) Deno.kill(p, "SIGKILL");
      const e = await failsWithin(gpu.compile(SOURCE), 10_000);
      assert.equal(e.name, "PageCrashedError", e.message);
      assert.match(e.message, /renderer process ended .*crashed or was killed/);
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
    const gpu = await ChromiumGpu.start();
    try {
      const [browser] = chromiumPids("browser");
      assert.ok(browser !== undefined, "no browser process found");
      Deno.kill(browser, "SIGKILL");
      const e = await failsWithin(gpu.compile(SOURCE), 10_000);
      assert.equal(e.name, "ChromiumExitedError", e.message);
      assert.match(e.message, /ended while in use: it exited on signal 9 \(SIGKILL\)/);
      assert.match(e.message, /a fresh browser is started for the next case/);
      assert.equal(gpu.lost, true);
    } finally {
      await gpu.close();
    }
  },
});
