/**
 * How often `history`'s step detection (drift/step_detect.ts) flags a series of pure noise:
 * for each series length, 1000 series of independent normal values (mean 1, spread 5%, from a
 * seeded generator) and the share in which a step was flagged at the default options. A rate
 * well above alpha (0.05) means the detector finds steps in noise.
 *
 * Usage: `deno run tools/step_noise_rate.ts [lengths...]` (default 10 12 20 40).
 *
 * @module
 */
import { detectSteps } from "../drift/step_detect.ts";
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

if (import.meta.main) {
  const usage = "usage: deno run -A tools/step_noise_rate.ts [LENGTH ...]\n\n" +
    "The share of 1000 noise series of each LENGTH (default 10 12 20 40) in which " +
    "`history`'s step detection flags a step.";
  const { positionals } = toolArgs({ options: {}, allowPositionals: true }, usage);
  const lengths = positionals.length ? positionals.map(Number) : [10, 12, 20, 40];
  if (lengths.some((n) => !Number.isInteger(n) || n < 2)) {
    console.error(
      `step_noise_rate: each argument must be a series length, an integer >= 2\n${usage}`,
    );
    Deno.exit(2);
  }
  for (const n of lengths) {
    console.log(`${n} runs: ${noiseFlagRate(n).toFixed(3)} of 1000 noise series flagged`);
  }
}
