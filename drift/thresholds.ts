/**
 * The documented thresholds that turn differences into drift classes, and reading a
 * partial override from JSON (`--thresholds file.json`).
 *
 * Rationale of the defaults:
 * - `metricFactor` 4 and `floorFraction` 0.1: reordering a float reduction (a driver or
 *   compiler change) moves a max error by well under 2x; an error metric that grows more
 *   than 4x *and* exceeds a tenth of its tolerance is drift. The floor keeps errors that
 *   are negligible against the tolerance (f32 max abs errors ~1e-7 against atol 1e-4)
 *   from being flagged when they wobble. Crossing the tolerance (parity pass -> fail) is
 *   always drift.
 * - `alpha` 0.01 and `speedRatio` 3.0: measured on our build machine kind (2 cores,
 *   lavapipe) while other jobs shared it (load average ~4): single repetitions vary up to 5x;
 *   contention comes in bursts that move every sample of a case together, so the samples
 *   of one run are not independent of the moment it ran and the rank test is
 *   overconfident (a rerun of the same code gave p ~ 1e-5 at 1.9x, and 2.6x with p ~ 3e-5
 *   even with interleaved, pooled rounds). A speed change is flagged only when the
 *   two-sided Mann-Whitney U test is significant at 1% AND the median moved by 3x (or 1/3x);
 *   anything else is "not significant". On a quiet machine or a dedicated GPU, 1.2-1.5 is
 *   a reasonable `speedRatio` (`--thresholds`); alternate rounds (`--rounds`) to spread
 *   both sides over the same machine states. With 10 samples per side (the
 *   `baseline update` default) the smallest possible p is about 1e-5; with 3 (the `run`
 *   default) it is 0.1, so nothing is ever flagged from 3 samples.
 * - `minSamples` 5: below it the test has no power at alpha 0.01 (5 vs 5 gives p >= 0.008).
 * - Load: a side timed at a load of 6-9 a CPU moved x0.4-x156 with no change of code;
 *   above `loadPerCpu` (2) a CPU a compare says so beside its verdicts (speed_load.ts,
 *   `speed.load`).
 *
 * @module
 */
import { DriftInputError } from "./errors.ts";
import { METRIC_NAMES, type MetricName, type Thresholds } from "./types.ts";
import { parseDriftJson } from "./json_text.ts";
import { isRecord } from "../util/is_record.ts";
import { wrongFileKind } from "../adapter/file_kind.ts";
import { LOAD_PER_CPU_LIMIT } from "./speed_load.ts";

/**
 * The default thresholds (see the module doc for their rationale).
 *
 * @example
 * ```ts
 * import { DEFAULT_THRESHOLDS } from "./thresholds.ts";
 * DEFAULT_THRESHOLDS.speedRatio; // 3
 * ```
 */
export const DEFAULT_THRESHOLDS: Thresholds = Object.freeze({
  metricFactor: 4,
  floorFraction: 0.1,
  absoluteFloors: Object.freeze({
    outMaxAbs: 1e-5,
    outMaxRel: 1e-4,
    outCosDiff: 1e-9,
    outNormRel: 1e-5,
    lseMaxAbs: 1e-5,
    lseMaxRel: 1e-6,
  }),
  alpha: 0.01,
  speedRatio: 3,
  minSamples: 5,
  loadPerCpu: LOAD_PER_CPU_LIMIT,
});

/** A value as a message shows it: numbers as JavaScript prints them (Infinity, not null). */
function shown(v: unknown): string {
  return typeof v === "number" ? String(v) : JSON.stringify(v);
}

/**
 * `v` when it is a number that `ok` accepts; otherwise a DriftInputError naming the field,
 * what is valid (`valid`) and what it got.
 */
function numberField(
  where: string,
  field: string,
  v: unknown,
  ok: (n: number) => boolean,
  valid: string,
): number {
  if (typeof v !== "number" || !Number.isFinite(v) || !ok(v)) {
    throw new DriftInputError(where, `field "${field}" must be ${valid} (got ${shown(v)})`);
  }
  return v;
}

const POSITIVE = "a finite number > 0";
const isPositive = (n: number) => n > 0;

/**
 * Merge a partial thresholds object (parsed JSON) over a base, checking every field.
 * Unknown fields and bad values throw a DriftInputError naming them.
 *
 * @example
 * ```ts
 * import { DEFAULT_THRESHOLDS, mergeThresholds } from "./thresholds.ts";
 * mergeThresholds({ speedRatio: 1.2 }, { where: "t.json" }).speedRatio; // 1.2
 * mergeThresholds({}, { base: DEFAULT_THRESHOLDS }).alpha; // 0.01
 * ```
 */
export function mergeThresholds(
  partial: unknown,
  options: { base?: Thresholds; where?: string } = {},
): Thresholds {
  const base = options.base ?? DEFAULT_THRESHOLDS;
  const where = options.where ?? "thresholds";
  const other = wrongFileKind(partial, "thresholds");
  if (other !== null) throw new DriftInputError(where, other);
  if (!isRecord(partial)) throw new DriftInputError(where, "must be a JSON object");
  const known = [
    "metricFactor",
    "floorFraction",
    "absoluteFloors",
    "alpha",
    "speedRatio",
    "minSamples",
    "loadPerCpu",
  ];
  for (const k of Object.keys(partial)) {
    if (!known.includes(k)) {
      throw new DriftInputError(where, `unknown field "${k}"; valid: ${known.join(", ")}`);
    }
  }
  const floors: Record<MetricName, number> = { ...base.absoluteFloors };
  if (partial.absoluteFloors !== undefined) {
    if (!isRecord(partial.absoluteFloors)) {
      throw new DriftInputError(where, 'field "absoluteFloors" must be an object');
    }
    for (const [k, v] of Object.entries(partial.absoluteFloors)) {
      if (!(METRIC_NAMES as readonly string[]).includes(k)) {
        throw new DriftInputError(
          where,
          `unknown metric "absoluteFloors.${k}"; valid: ${METRIC_NAMES.join(", ")}`,
        );
      }
      floors[k as MetricName] = numberField(where, `absoluteFloors.${k}`, v, isPositive, POSITIVE);
    }
  }
  const pick = (
    k: keyof Thresholds,
    ok: (n: number) => boolean = isPositive,
    valid = POSITIVE,
  ): number =>
    partial[k] === undefined ? base[k] as number : numberField(where, k, partial[k], ok, valid);
  const minSamples = pick("minSamples", (n) => Number.isInteger(n) && n >= 1, "an integer >= 1");
  const speedRatio = pick("speedRatio", (n) => n > 1, "a finite number > 1");
  const metricFactor = pick("metricFactor", (n) => n >= 1, "a finite number >= 1");
  return {
    metricFactor,
    floorFraction: pick("floorFraction"),
    absoluteFloors: floors,
    alpha: pick("alpha", (n) => n > 0 && n <= 1, "a number in (0, 1]"),
    speedRatio,
    minSamples,
    loadPerCpu: partial.loadPerCpu === undefined
      ? base.loadPerCpu ?? LOAD_PER_CPU_LIMIT
      : numberField(where, "loadPerCpu", partial.loadPerCpu, isPositive, POSITIVE),
  };
}

/**
 * Read a thresholds override file (partial JSON, merged over the defaults).
 *
 * @example
 * ```ts ignore
 * import { readThresholds } from "./thresholds.ts";
 * const t = await readThresholds("drift-thresholds.json");
 * ```
 */
export async function readThresholds(path: string): Promise<Thresholds> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new DriftInputError(
      path,
      e instanceof Deno.errors.NotFound
        ? "no such file"
        : e instanceof Deno.errors.IsADirectory
        ? "is a folder, not a thresholds file (a JSON object of drift thresholds, README " +
          '"Drift, baselines and upgrades")'
        : String(e),
    );
  }
  return mergeThresholds(parseDriftJson(path, text), { where: path });
}
