/**
 * How often `history`'s step detection (drift/step_detect.ts) flags a series of pure noise:
 * for each series length, 1000 series of independent normal values (mean 1, spread 5%, from a
 * seeded generator) and the share in which a step was flagged at the default options. A rate
 * well above alpha (0.05) means the detector finds steps in noise.
 *
 * Usage: `deno run tools/step_noise_rate.ts [lengths...]` (default 10 12 20 40).
 *
 * With `--series M`: for each length, M noise series tested at once, as `history` tests the
 * cases of one filter, and the share flagged each alone (`--correction none`) and under the
 * Benjamini-Hochberg correction `history` applies by default (drift/history.ts
 * `correctedStepOptions`); `--step` also puts a +30% step halfway through the first series and
 * says whether each way finds it.
 *
 * @module
 */
import { detectSteps } from "../drift/step_detect.ts";
import { correctedStepOptions } from "../drift/history.ts";
import { makePrng } from "../util/prng.ts";
import { toolArgs } from "./tool_args.ts";

/**
 * The share of `count` noise series of `length` values in which a step is flagged.
 *
 * @example
 * ```ts
 * import { noiseFlagRate } from "./step_noise_rate.ts";
 * noiseFlagRate(12, { count: 50 }) <= 0.2; // true
 * ```
 */
export function noiseFlagRate(length: number, options: { count?: number } = {}): number {
  const count = options.count ?? 1000;
  // util/prng.ts, the harness's one generator (until session 45 an LCG of its own, whose
  // float64 products past 2^53 were not exact)
  const rng = makePrng(length, "noise-series");
  let flagged = 0;
  for (let i = 0; i < count; i++) {
    const xs = Array.from({ length }, () => 1 + 0.05 * rng.normal());
    if (detectSteps(xs).length > 0) flagged++;
  }
  return flagged / count;
}

/** What {@link noiseFlagShares} finds in one night of many series. */
export interface NightFlags {
  /** Share of the series flagged when each is tested alone. */
  readonly alone: number;
  /** Share flagged under the Benjamini-Hochberg correction across them. */
  readonly corrected: number;
  /** With `step`: whether the stepped series is flagged alone, and corrected. */
  readonly stepFound?: { readonly alone: boolean; readonly corrected: boolean };
}

/**
 * `series` noise series of `length` values tested at once (one night's cases), flagged each
 * alone and under `history`'s default correction; with `step`, the first series gets a +30%
 * step at its middle (a real regression among the noise).
 *
 * @example
 * ```ts
 * import { noiseFlagShares } from "./step_noise_rate.ts";
 * noiseFlagShares(12, { series: 50 }).corrected <= 0.05; // true
 * ```
 */
export function noiseFlagShares(
  length: number,
  options: { readonly series?: number; readonly step?: boolean } = {},
): NightFlags {
  const count = options.series ?? 2000;
  const rng = makePrng(length, "noise-series");
  const all = Array.from(
    { length: count },
    () => Array.from({ length }, () => 1 + 0.05 * rng.normal()),
  );
  if (options.step) {
    all[0] = all[0].map((v, i) => i >= Math.floor(length / 2) ? v * 1.3 : v);
  }
  const alone = correctedStepOptions(all, { correction: "none" }).stepOptions;
  const corrected = correctedStepOptions(all).stepOptions;
  const flaggedAlone = all.map((xs) => detectSteps(xs, alone).length > 0);
  const flaggedCorrected = all.map((xs) => detectSteps(xs, corrected).length > 0);
  const share = (f: boolean[]) => f.filter(Boolean).length / count;
  return {
    alone: share(flaggedAlone),
    corrected: share(flaggedCorrected),
    ...(options.step
      ? { stepFound: { alone: flaggedAlone[0], corrected: flaggedCorrected[0] } }
      : {}),
  };
}

if (import.meta.main) {
  const usage =
    "usage: deno run -A tools/step_noise_rate.ts [--series M [--step]] [LENGTH ...]\n\n" +
    "The share of 1000 noise series of each LENGTH (default 10 12 20 40) in which " +
    "`history`'s step detection flags a step.\n" +
    "  --series M  M series of each LENGTH tested at once (one night of M cases): the share " +
    "flagged each alone and under history's Benjamini-Hochberg correction\n" +
    "  --step      with --series: a +30% step halfway through the first series; says whether " +
    "each way finds it";
  const { positionals, values } = toolArgs({
    options: { series: { type: "string" }, step: { type: "boolean" } },
    allowPositionals: true,
  }, usage);
  const series = values.series === undefined ? undefined : Number(values.series);
  if (series !== undefined && (!Number.isInteger(series) || series < 1)) {
    console.error(`step_noise_rate: --series must be an integer >= 1\n${usage}`);
    Deno.exit(2);
  }
  if (values.step && series === undefined) {
    console.error(`step_noise_rate: --step needs --series\n${usage}`);
    Deno.exit(2);
  }
  const lengths = positionals.length ? positionals.map(Number) : [10, 12, 20, 40];
  if (lengths.some((n) => !Number.isInteger(n) || n < 2)) {
    console.error(
      `step_noise_rate: each argument must be a series length, an integer >= 2\n${usage}`,
    );
    Deno.exit(2);
  }
  for (const n of lengths) {
    if (series === undefined) {
      console.log(`${n} runs: ${noiseFlagRate(n).toFixed(3)} of 1000 noise series flagged`);
      continue;
    }
    const f = noiseFlagShares(n, { series, step: values.step });
    const found = f.stepFound === undefined
      ? ""
      : `; the +30% step found alone: ${f.stepFound.alone ? "yes" : "no"}, corrected: ${
        f.stepFound.corrected ? "yes" : "no"
      }`;
    console.log(
      `${n} runs, ${series} series at once: flagged ${f.alone.toFixed(4)} each alone, ` +
        `${f.corrected.toFixed(4)} corrected (Benjamini-Hochberg)${found}`,
    );
  }
}
