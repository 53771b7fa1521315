/**
 * The one race of work against a time limit, used wherever a case may hang (run's cases, bench's
 * cases, compare-runtimes' cases): the timer is always cleared, so a settled race leaves no
 * pending timer behind, and a limit of 0 means none.
 *
 * @module
 */

/** What {@link raceTimeout} resolves to when the limit came first (work never resolves to it). */
export const TIMED_OUT: unique symbol = Symbol("timed out");

/**
 * The first of `racers` to settle, or {@link TIMED_OUT} when `ms` milliseconds pass first
 * (`ms` 0: no limit). A racer that rejects first rejects the race. The timer is cleared however
 * the race ends; a racer that settles later is not waited for (attach a `catch` to work that
 * may reject after losing).
 *
 * @example
 * ```ts
 * import { raceTimeout, TIMED_OUT } from "./timeout.ts";
 * await raceTimeout(Promise.resolve(1), 1000); // 1
 * const hung = new Promise<number>(() => {});
 * (await raceTimeout(hung, 1)) === TIMED_OUT; // true
 * ```
 */
export async function raceTimeout<T>(
  racers: Promise<T> | readonly Promise<T>[],
  ms: number,
): Promise<T | typeof TIMED_OUT> {
  const all: Promise<T | typeof TIMED_OUT>[] = Array.isArray(racers) ? [...racers] : [racers];
  let timer: ReturnType<typeof setTimeout> | undefined;
  if (ms > 0) all.push(new Promise((res) => (timer = setTimeout(() => res(TIMED_OUT), ms))));
  try {
    return await Promise.race(all);
  } finally {
    clearTimeout(timer);
  }
}
