/**
 * The host's load while a run or a bench times its cases: the load average (Deno.loadavg,
 * sys permission "loadavg") and the CPU count, sampled as the timed part starts and as it
 * ends. A run records it in its report.json (`hostLoad`, and a baseline made from it keeps
 * it), a bench in its report.json; a compare judges its speed verdicts by it
 * (drift/speed_load.ts).
 *
 * @module
 */
import { isRecord } from "./is_record.ts";

/** One sample of the host's load. */
export interface LoadSample {
  /** When it was taken (ISO). */
  readonly at: string;
  /** The 1-minute load average (runnable and waiting tasks, averaged over the last minute). */
  readonly load1: number;
  /** The 5-minute load average. */
  readonly load5: number;
  /** Logical CPUs (navigator.hardwareConcurrency). */
  readonly cpus: number;
}

/**
 * The host's load as the timed part of a run or a bench started and ended. A sample is null
 * when it could not be taken (`unavailable` says why: no sys permission for loadavg, or a
 * host whose load average Deno does not read, as Windows').
 */
export interface HostLoad {
  /** As the timed part started. */
  readonly start: LoadSample | null;
  /** As it ended (the last report written: a stopped run's stop). */
  readonly end: LoadSample | null;
  /** Why the samples are null; absent when they were taken. */
  readonly unavailable?: string;
}

const NO_PERMISSION = 'no sys permission for "loadavg" (--allow-sys=loadavg)';

/**
 * Sample the host's load now, or say why it cannot be (no sys permission for loadavg,
 * asked without a prompt; Windows, where Deno's load average is always 0).
 *
 * @example
 * ```ts
 * import { sampleLoad } from "./host_load.ts";
 * const s = sampleLoad();
 * typeof s === "string" ? s : s.load1 / s.cpus; // load per CPU, or why there is none
 * ```
 */
export function sampleLoad(): LoadSample | string {
  if (Deno.build.os === "windows") return "Deno reads no load average on Windows";
  let state: Deno.PermissionState;
  try {
    state = Deno.permissions.querySync({ name: "sys", kind: "loadavg" }).state;
  } catch {
    return NO_PERMISSION;
  }
  if (state !== "granted") return NO_PERMISSION;
  let avg: number[];
  try {
    avg = Deno.loadavg();
  } catch (e) {
    return `the load average could not be read (${e instanceof Error ? e.message : e})`;
  }
  const cpus = navigator.hardwareConcurrency;
  if (!(cpus >= 1) || !avg.slice(0, 2).every((v) => Number.isFinite(v) && v >= 0)) {
    return `the load average read is not one (${JSON.stringify(avg)} on ${cpus} CPUs)`;
  }
  return { at: new Date().toISOString(), load1: avg[0], load5: avg[1], cpus };
}

/**
 * A {@link HostLoad} from a start sample and an end sample (each a sample or why none).
 *
 * @example
 * ```ts
 * import { hostLoad } from "./host_load.ts";
 * hostLoad("no permission", "no permission"); // { start: null, end: null, unavailable: "no permission" }
 * ```
 */
export function hostLoad(start: LoadSample | string, end: LoadSample | string): HostLoad {
  const why = [start, end].filter((s): s is string => typeof s === "string");
  return {
    start: typeof start === "string" ? null : start,
    end: typeof end === "string" ? null : end,
    ...(why.length === 0 ? {} : { unavailable: [...new Set(why)].join("; ") }),
  };
}

/**
 * What is wrong with a recorded {@link HostLoad} (a report's or a baseline's `hostLoad`), or
 * null when it is one; `field` names it in the message.
 *
 * @example
 * ```ts
 * import { hostLoadProblem } from "./host_load.ts";
 * hostLoadProblem({ start: null, end: 3 }, "hostLoad");
 * // 'field "hostLoad.end" must be a load sample (at, load1, load5, cpus) or null (got 3)'
 * ```
 */
export function hostLoadProblem(v: unknown, field: string): string | null {
  if (!isRecord(v)) return `field "${field}" must be an object with "start" and "end" or absent`;
  for (const k of ["start", "end"] as const) {
    const s = v[k];
    if (s === null) continue;
    const ok = isRecord(s) && typeof s.at === "string" &&
      [s.load1, s.load5].every((n) => typeof n === "number" && Number.isFinite(n) && n >= 0) &&
      typeof s.cpus === "number" && Number.isInteger(s.cpus) && s.cpus >= 1;
    if (!ok) {
      return `field "${field}.${k}" must be a load sample (at, load1, load5, cpus) or null (got ${
        JSON.stringify(s)
      })`;
    }
  }
  if (v.unavailable !== undefined && typeof v.unavailable !== "string") {
    return `field "${field}.unavailable" must be a string or absent`;
  }
  return null;
}

/**
 * Of several records of the host's load (the rounds of a pooled run, the shards of a merged
 * one), the one whose highest load per CPU is highest: a run put together from parts is as
 * trustworthy as its busiest part. The first one recorded where none has a sample; undefined
 * where none is recorded.
 *
 * @example
 * ```ts
 * import { busiestLoad } from "./host_load.ts";
 * const s = (load1: number) => ({ at: "", load1, load5: load1, cpus: 2 });
 * busiestLoad([{ start: s(1), end: s(1) }, undefined, { start: s(1), end: s(9) }])?.end?.load1; // 9
 * ```
 */
export function busiestLoad(loads: readonly (HostLoad | undefined)[]): HostLoad | undefined {
  let best: HostLoad | undefined;
  let top = -Infinity;
  for (const load of loads) {
    for (const s of [load?.start, load?.end]) {
      if (s && s.load1 / s.cpus > top) [best, top] = [load, s.load1 / s.cpus];
    }
  }
  return best ?? loads.find((l) => l !== undefined);
}
