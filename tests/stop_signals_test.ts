/**
 * cli/stop_signals.ts: the first Ctrl-C stops after the current case, a second one or
 * SIGTERM at once; the signal that stopped the command is the one its exit code names.
 */
import assert from "node:assert/strict";
import { listenForStop, stopExitCode, stoppedAfterLastCase } from "../cli/stop_signals.ts";
import { EXIT_SIGHUP, EXIT_SIGINT, EXIT_SIGTERM } from "../cli/errors.ts";
import {
  listenableStopSignals,
  STOP_EXIT_CODES,
  STOP_SIGNALS,
  STOP_WHEN_STDIN_CLOSES,
} from "../util/stop_signals.ts";

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

Deno.test("util/stop_signals.ts: one list of stop signals, each exit 128 + its number, no SIGHUP on Windows", () => {
  // the numbers of POSIX (Linux, macOS): SIGHUP 1, SIGINT 2, SIGTERM 15
  assert.deepEqual(STOP_EXIT_CODES, { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 });
  assert.deepEqual([...STOP_SIGNALS].sort(), Object.keys(STOP_EXIT_CODES).sort());
  for (const s of STOP_SIGNALS) assert.equal(stopExitCode(s), STOP_EXIT_CODES[s], s);
  assert.deepEqual([EXIT_SIGINT, EXIT_SIGTERM, EXIT_SIGHUP], [130, 143, 129]);
  assert.deepEqual(listenableStopSignals("windows"), ["SIGINT", "SIGTERM"]);
  assert.deepEqual(listenableStopSignals("linux"), STOP_SIGNALS);
  // listenForStop listens for each of them, and stops on each
  for (const s of STOP_SIGNALS) {
    const f = fakeSignals();
    const stop = listenForStop({ log: () => {}, listen: f.listen });
    assert.deepEqual([...f.handlers.keys()], [...STOP_SIGNALS]);
    f.handlers.get(s)!();
    assert.equal(stop.stoppedBy(), s);
    assert.equal(stop.afterCase.aborted || stop.atOnce.aborted, true, s);
    stop.dispose();
    assert.equal(f.handlers.size, 0);
  }
});

Deno.test("listenForStop: the close of a parent pipe that began with upgrade-check's line stops at once, as SIGHUP; any other pipe's close is ignored", async () => {
  const pipe = (text: string) =>
    new ReadableStream<Uint8Array>({
      start(c) {
        if (text !== "") c.enqueue(new TextEncoder().encode(text));
        c.close();
      },
    });
  const lines: string[] = [];
  const ended = new Promise<void>((resolve) => {
    const stop = listenForStop({
      log: (l) => lines.push(l),
      listen: fakeSignals().listen,
      parent: pipe(STOP_WHEN_STDIN_CLOSES),
    });
    stop.atOnce.addEventListener("abort", () => {
      assert.deepEqual([stop.afterCase.aborted, stop.stoppedBy()], [false, "SIGHUP"]);
      stop.dispose();
      resolve();
    });
  });
  await ended;
  assert.match(lines[0], /stdin closed: the upgrade-check that started this run has ended/);
  // a CI's stdin (/dev/null, an empty pipe) or a pipe of other words: its close is not a stop
  for (const text of ["", "hello\n"]) {
    const other = listenForStop({
      log: () => {},
      listen: fakeSignals().listen,
      parent: pipe(text),
    });
    await new Promise((r) => setTimeout(r, 0));
    await new Promise((r) => setTimeout(r, 0));
    assert.equal(other.atOnce.aborted, false, JSON.stringify(text));
    other.dispose();
  }
});
