/**
 * How bench's tables write a figure: fixed decimals, or two significant digits where those
 * decimals would read as 0.
 *
 * @module
 */

/**
 * A figure of the tables: `digits` decimals, or two significant digits for one that is not 0
 * and would read as 0 ("0.0038" GFLOP/s, not "0.0"; a roofline fraction "0.00021", not
 * "0.000"): a small case's throughput, or a fast GPU's ms, read as a zero.
 *
 * @example
 * ```ts
 * import { benchFigure } from "./figure.ts";
 * benchFigure(12.345, 1); // "12.3"
 * benchFigure(0.0038, 1); // "0.0038"
 * benchFigure(0, 3); // "0.000"
 * ```
 */
export function benchFigure(x: number | undefined, digits = 2): string {
  if (x === undefined) return "-";
  return x !== 0 && Number.isFinite(x) && Math.abs(x) < 0.5 * 10 ** -digits
    ? x.toPrecision(2)
    : x.toFixed(digits);
}

/**
 * A GFLOP/s figure as every bench output writes it (the console table, summary.md,
 * report.html): three significant digits under 10, one decimal from 10 up. One decimal alone
 * read a lavapipe case's 0.184 and 0.161 GFLOP/s both as "0.2"; "-" without one.
 *
 * @example
 * ```ts
 * import { benchRate } from "./figure.ts";
 * benchRate(0.161); // "0.161"
 * benchRate(185.24); // "185.2"
 * benchRate(0.0038); // "0.00380"
 * ```
 */
export function benchRate(x: number | undefined): string {
  if (x === undefined) return "-";
  return x !== 0 && Number.isFinite(x) && Math.abs(x) < 10 ? x.toPrecision(3) : x.toFixed(1);
}
