// A Chromium process that hangs (stopped, or stuck in a driver) outlived the harness: with
// the browser itself hung, close() killed only the launching shell, leaving the browser,
// its wrapper and the profile folder; with a renderer hung, the browser exited and left
// the renderer running. The launching shell now kills the browser's whole session.
// Each test stops and kills only processes of the browser it launched itself (the tree below
// its launching shell, `browser.pid`) and reads the profile from their command lines, never
// another module's browser, so it can share the suite's `deno test --parallel` process.
// (Until session 53 it ran alone: stopping and killing the Chromium processes below this
// process reached the browsers of modules beside it, and once failed browser_lifetime_test's
// run with "Instance dropped".)
import assert from "node:assert/strict";
import { launchChromium } from "../browser/chromium.ts";
import { Page } from "../browser/page.ts";
import {
  browserTestName,
  chromiumMissing,
  commandLine,
  descendants,
  stillAlive,
} from "./browser_helpers.ts";
import { findChromium } from "../browser/chromium.ts";

const ignore = chromiumMissing() !== null || Deno.build.os !== "linux";

for (const hung of ["browser", "renderer"] as const) {
  Deno.test({
    name: browserTestName(`close() of a Chromium whose ${hung} hangs leaves no process or profile`),
    ignore,
    fn: async () => {
      const browser = await launchChromium(findChromium(undefined).path);
      const page = await Page.open(browser);
      await page.evaluate("1 + 1");
      // this browser's processes only: its launching shell and everything below it
      const pids = [browser.pid, ...descendants(browser.pid)];
      const profile = /--user-data-dir=(\S+)/.exec(pids.map(commandLine).join(" "))?.[1];
      assert.ok(profile, "no profile folder on a command line");
      const target = pids.find((p) => {
        const cmd = commandLine(p);
        return hung === "renderer"
          ? cmd.includes("--type=renderer")
          : cmd.includes("--user-data-dir=") && !/^(\S*\/)?sh /.test(cmd) &&
            !cmd.includes("--type=");
      });
      assert.ok(target !== undefined, `no ${hung} process found`);
      Deno.kill(target, "SIGSTOP");
      try {
        await browser.close();
        let alive = stillAlive(pids);
        for (let i = 0; i < 30 && alive.length > 0; i++) {
          await new Promise((r) => setTimeout(r, 100));
          alive = stillAlive(pids);
        }
        assert.deepEqual(alive.map((p) => `${p} ${commandLine(p).slice(0, 80)}`), []);
        assert.equal(await Deno.stat(profile).then(() => true, () => false), false, profile);
      } finally {
        for (const p of stillAlive(pids)) {
          try {
            Deno.kill(p, "SIGKILL");
          } catch {
            // gone
          }
        }
        await Deno.remove(profile, { recursive: true }).catch(() => {});
      }
    },
  });
}
