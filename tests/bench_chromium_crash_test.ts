// `bench --runtime chromium` whose page's renderer ended while the device's ceilings were
// measured, before any case (killed, out of memory): "internal error: PageCrashedError ..."
// with a stack trace, exit 1, its message promising "a fresh browser is started for the next
// case". Now it is exit 3 (a lost device), one line saying when it happened and that there
// is no report. Kills only the renderers of the browser this test's bench started
// (ownBrowsers, as tests/browser_crash_test.ts).
import assert from "node:assert/strict";
import { exitCodeOf } from "../cli/program.ts";
import { ChromiumExitedError } from "../browser/chromium.ts";
import { PageCrashedError } from "../browser/page.ts";
import {
  browserTestName,
  chromiumMissing,
  commandLine,
  ownBrowsers,
  spawnHarness,
} from "./browser_helpers.ts";

const ignore = chromiumMissing() !== null || Deno.build.os !== "linux";

Deno.test("a browser or page that ended outside a case is exit 3, one message", () => {
  assert.equal(exitCodeOf(new PageCrashedError("renderer ended")), 3);
  assert.equal(exitCodeOf(new ChromiumExitedError("browser ended")), 3);
});

Deno.test({
  name: browserTestName(
    "bench --runtime chromium: the page killed while measuring the ceilings is exit 3, no stack",
  ),
  ignore,
  fn: async () => {
    const own = ownBrowsers();
    const out = await Deno.makeTempDir({ prefix: "bench_crash_" });
    const child = spawnHarness([
      "bench",
      "--runtime",
      "chromium",
      "--matrix",
      "tiny",
      "--reps",
      "1000",
      "--warmup-ms",
      "0",
      "--out",
      `${out}/b`,
    ], own.env);
    const dec = new TextDecoder();
    let stderr = "";
    const reader = child.stderr.getReader();
    const stdout = child.stdout.text();
    try {
      // the first ceiling measurement of 1000 repetitions runs for seconds on SwiftShader
      while (!stderr.includes("measuring the device's ceilings")) {
        const { value, done } = await reader.read();
        if (done) break;
        stderr += dec.decode(value);
      }
      assert.match(stderr, /measuring the device's ceilings/);
      let renderers: number[] = [];
      for (let i = 0; i < 50 && renderers.length === 0; i++) {
        renderers = own.pids().filter((p) => commandLine(p).includes("--type=renderer"));
        if (renderers.length === 0) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(renderers.length > 0, "no renderer process found");
      for (const p of renderers) Deno.kill(p, "SIGKILL");
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        stderr += dec.decode(value);
      }
      const status = await child.status;
      await stdout;
      assert.equal(status.code, 3, stderr);
      assert.match(
        stderr,
        /error: the device was lost while measuring its ceilings, before any case \(no report\): the Chromium page's renderer process ended/,
      );
      assert.doesNotMatch(stderr, /internal error|\n\s+at /);
    } finally {
      reader.releaseLock();
      await Deno.remove(out, { recursive: true });
    }
  },
});
