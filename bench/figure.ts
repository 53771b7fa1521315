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
 * A GFLOP/s figure as every bench output writes it (the console table and ceilings lines,
 * summary.md, report.html's tables, header and roofline labels): three significant digits
 * under 10, one decimal from 10 up, and from 10,000 a whole number with its thousands grouped
 * (an H100's FMA peak, "60,000"). One decimal alone read a lavapipe case's 0.184 and 0.161
 * GFLOP/s both as "0.2"; report.html grouped a figure from 10,000 where summary.md and the
 * console wrote it ungrouped with a decimal ("39,898" beside "39898.2"); "-" without one.
 *
 * @example
 * ```ts
 * import { benchRate } from "./figure.ts";
 * benchRate(0.161); // "0.161"
 * benchRate(185.24); // "185.2"
 * benchRate(0.0038); // "0.00380"
 * benchRate(39898.2); // "39,898"
 * ```
 */
export function benchRate(x: number | undefined): string {
  if (x !== undefined && Number.isFinite(x) && Math.abs(x) >= 1e4) {
    const whole = Math.round(Math.abs(x)).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return x < 0 ? `-${whole}` : whole;
  }
  return threeUnderTen(x, 1);
}

/**
 * A time in ms as every bench output writes it (the console table, summary.md, report.html:
 * a case's median, its spread, its submission and construction ms): three significant digits
 * under 10, two decimals from 10 up. The console and summary.md read a case's 0.360 ms as
 * "0.36" where report.html wrote "0.360", and a GPU's 0.004 ms as "0.0040" where the page
 * wrote "4.00e-3"; "-" without one.
 *
 * @example
 * ```ts
 * import { benchMs } from "./figure.ts";
 * benchMs(0.36); // "0.360"
 * benchMs(9.661); // "9.66"
 * benchMs(123.456); // "123.46"
 * ```
 */
export function benchMs(x: number | undefined): string {
  return threeUnderTen(x, 2);
}

/**
 * A GB/s figure as every bench output writes it: three significant digits under 10, two
 * decimals from 10 up. Two decimals read a small case's 0.0346 GB/s as "0.03" beside another's
 * "0.24" (a seventh of it, not an eighth), and 0.031 and 0.034 both as "0.03"; "-" without one.
 *
 * @example
 * ```ts
 * import { benchGbps } from "./figure.ts";
 * benchGbps(0.0346); // "0.0346"
 * benchGbps(0.24); // "0.240"
 * benchGbps(1890.123); // "1890.12"
 * ```
 */
export function benchGbps(x: number | undefined): string {
  return threeUnderTen(x, 2);
}

/**
 * A roofline fraction (a case's, a target's) as every bench output writes it: three decimals,
 * two significant digits where those would read as 0 ("0.00021", where report.html wrote
 * "2.10e-4"), and near 1 as many decimals as tell it from 1; "-" without one.
 *
 * @example
 * ```ts
 * import { benchFraction } from "./figure.ts";
 * benchFraction(0.1234); // "0.123"
 * benchFraction(0.00021); // "0.00021"
 * benchFraction(1.0004); // "1.0004" (above 1; not "1.000")
 * ```
 */
export function benchFraction(x: number | undefined): string {
  const fixed = benchFigure(x, 3);
  // 1 is the measured ceilings' line (above it a figure is implausible, its target not
  // judged): 1.0004 read "1.000 is above 1"; near it, as many decimals as tell it from 1
  if (x !== undefined && fixed === "1.000" && x !== 1) {
    for (let d = 4; d <= 20; d++) {
      const s = x.toFixed(d);
      if (Number(s) !== 1) return s;
    }
  }
  return fixed;
}

function threeUnderTen(x: number | undefined, digits: number): string {
  if (x === undefined) return "-";
  return x !== 0 && Number.isFinite(x) && Math.abs(x) < 10 ? x.toPrecision(3) : x.toFixed(digits);
}
