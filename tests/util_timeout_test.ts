import assert from "node:assert/strict";
import { raceTimeout, TIMED_OUT } from "../util/timeout.ts";

/**
 * Runs `fn` with setTimeout/clearTimeout wrapped, and returns how many timers it started that
 * were neither fired nor cleared when it ended (Deno's test sanitizers do not see a pending
 * timer here, so the count is checked directly).
 */
async function pendingTimersAfter(fn: () => Promise<void>): Promise<number> {
  const realSet = globalThis.setTimeout;
  const realClear = globalThis.clearTimeout;
  type Id = ReturnType<typeof setTimeout>;
  const pending = new Set<Id>();
  const set = (cb: () => void, ms?: number) => {
    const id: Id = realSet(() => {
      pending.delete(id);
      cb();
    }, ms);
    pending.add(id);
    return id;
  };
  const clear = (id?: Id) => {
    if (id !== undefined) pending.delete(id);
    realClear(id);
  };
  Object.assign(globalThis, { setTimeout: set, clearTimeout: clear });
  try {
    await fn();
  } finally {
    Object.assign(globalThis, { setTimeout: realSet, clearTimeout: realClear });
  }
  for (const id of pending) realClear(id);
  return pending.size;
}

Deno.test("raceTimeout: work that settles first is the answer, and no timer is left", async () => {
  const left = await pendingTimersAfter(async () => {
    assert.equal(await raceTimeout(Promise.resolve(7), 60_000), 7);
    assert.equal(await raceTimeout([new Promise<number>(() => {}), Promise.resolve(8)], 60_000), 8);
  });
  assert.equal(left, 0);
});

Deno.test("raceTimeout: a hung racer gives TIMED_OUT after the limit", async () => {
  const hung = new Promise<number>(() => {});
  const t0 = performance.now();
  assert.equal(await raceTimeout(hung, 30), TIMED_OUT);
  // the limit was waited for, not skipped
  assert.ok(performance.now() - t0 >= 25);
});

Deno.test("raceTimeout: 0 is no limit, and starts no timer", async () => {
  let resolve = (_: string) => {};
  const late = new Promise<string>((r) => (resolve = r));
  let started = 0;
  const realSet = globalThis.setTimeout;
  const race = (() => {
    Object.assign(globalThis, {
      setTimeout: (cb: () => void, ms?: number) => (started++, realSet(cb, ms)),
    });
    try {
      return raceTimeout(late, 0);
    } finally {
      Object.assign(globalThis, { setTimeout: realSet });
    }
  })();
  await new Promise((r) => setTimeout(r, 20));
  resolve("late");
  assert.equal(await race, "late");
  assert.equal(started, 0);
});

Deno.test("raceTimeout: a racer that rejects first rejects the race, timer cleared", async () => {
  const left = await pendingTimersAfter(async () => {
    await assert.rejects(() => raceTimeout(Promise.reject(new Error("boom")), 60_000), /boom/);
  });
  assert.equal(left, 0);
});
