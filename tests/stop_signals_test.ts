/**
 * cli/stop_signals.ts: the first Ctrl-C stops after the current case, a second one or
 * SIGTERM at once; the signal that stopped the command is the one its exit code names.
 */
import assert from "node:assert/strict";
import { listenForStop, stopExitCode, stoppedAfterLastCase } from "../cli/stop_signals.ts";

function fakeSignals() {
  const handlers = new Map<string, () => void>();
  return {
    handlers,
    listen: {
      add: (s: string, h: () => void) => void handlers.set(s, h),
      remove: (s: string) => void handlers.delete(s),
    },
  };
}

Deno.test("listenForStop: Ctrl-C after the case, again at once; SIGTERM at once and names the stop", () => {
  const lines: string[] = [];
  const a = fakeSignals();
  const one = listenForStop({ log: (l) => lines.push(l), listen: a.listen });
  assert.equal(one.stoppedBy(), null);
  a.handlers.get("SIGINT")!();
  assert.deepEqual([one.afterCase.aborted, one.atOnce.aborted], [true, false]);
  assert.match(lines[0], /finishing the current case.*Ctrl-C again: at once/);
  a.handlers.get("SIGTERM")!();
  assert.equal(one.atOnce.aborted, true);
  assert.equal(one.stoppedBy(), "SIGTERM", "a SIGTERM after a Ctrl-C is exit 143");
  one.dispose();
  assert.equal(a.handlers.size, 0);

  const b = fakeSignals();
  const two = listenForStop({ log: () => {}, listen: b.listen });
  b.handlers.get("SIGTERM")!();
  assert.deepEqual([two.afterCase.aborted, two.atOnce.aborted, two.stoppedBy()], [
    false,
    true,
    "SIGTERM",
  ]);
  two.dispose();

  // SIGHUP (a terminal closed): at once, as SIGTERM, exit 129
  const c = fakeSignals();
  const hupLines: string[] = [];
  const three = listenForStop({ log: (l) => hupLines.push(l), listen: c.listen });
  c.handlers.get("SIGHUP")!();
  assert.deepEqual([three.afterCase.aborted, three.atOnce.aborted, three.stoppedBy()], [
    false,
    true,
    "SIGHUP",
  ]);
  assert.match(hupLines[0], /SIGHUP: abandoning the current case, writing the reports/);
  three.dispose();
  assert.equal(c.handlers.size, 0);
  assert.equal(stopExitCode("SIGHUP"), 129);
});

Deno.test("stoppedAfterLastCase: a signal that stopped nothing is said, with its exit code", () => {
  assert.equal(stopExitCode("SIGINT"), 130);
  assert.equal(stopExitCode("SIGTERM"), 143);
  assert.equal(
    stoppedAfterLastCase("SIGINT", { cases: 3 }),
    "interrupted by SIGINT during the last case or after it: it finished, all 3 cases ran and " +
      "the reports are complete (not marked interrupted); exit 130",
  );
  assert.match(stoppedAfterLastCase("SIGTERM", { cases: 1 }), /the 1 case ran .*; exit 143$/);
});
