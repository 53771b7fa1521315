/**
 * How a run's reports write a parity figure and a case's wall time, in every output that
 * gives one (the console's progress line, summary.md, report.html, junit.xml): a figure at
 * one precision, so that a reader who finds it in two places reads the same text.
 *
 * The parity figures are the ones of a comparison's one-line summary (parity/compare.ts
 * `summarize`, which every failure message quotes): an error at two significant digits, a
 * worst element's got and want at as many as tell them apart.
 *
 * @module
 */

/**
 * An error figure (max abs, max rel, cos_diff, norm_rel) as a failure's message writes it:
 * two significant digits in scientific notation ("3.8e-1", "4e-7", "0"). report.html's
 * parity table wrote the message's "3.8e-1" as "0.3808" and junit.xml as 0.38080238983125914.
 *
 * @example
 * ```ts
 * import { errorFigure } from "./figures.ts";
 * errorFigure(0.38080238983125914); // "3.8e-1"
 * errorFigure(4e-7); // "4e-7"
 * errorFigure(0); // "0"
 * ```
 */
export function errorFigure(x: number): string {
  if (x === 0) return "0";
  if (!Number.isFinite(x)) return String(x);
  return x.toExponential(1).replace(".0e", "e").replace("e+", "e");
}

/**
 * A worst element's got and want as a failure's message writes them ("(got 0.0197, want
 * -0.142)"): as many significant digits as tell them apart, at least 3, trailing zeros
 * dropped; a value that is not a number (a non-finite one recorded as text) as it is.
 * report.html's parity table wrote them at 9 decimals ("0.019676954 / -0.142207448").
 *
 * @example
 * ```ts
 * import { gotWantFigures } from "./figures.ts";
 * gotWantFigures(0.019676954, -0.142207448); // ["0.0197", "-0.142"]
 * gotWantFigures(1.0001, 1); // ["1.0001", "1"]
 * ```
 */
export function gotWantFigures(
  got: number | string,
  want: number | string,
): [string, string] {
  if (typeof got !== "number" || typeof want !== "number") return [String(got), String(want)];
  const d = Math.abs(got - want);
  const mag = Math.max(Math.abs(got), Math.abs(want));
  let digits = 3;
  if (d > 0 && mag > 0 && Number.isFinite(d)) digits = Math.ceil(Math.log10(mag / d)) + 2;
  digits = Math.min(17, Math.max(3, digits));
  return [precise(got, digits), precise(want, digits)];
}

/**
 * A fraction of elements within tolerance as a failure's message writes it: a percentage at
 * one decimal, floored so that any failure reads below 100% ("23.0%"). junit.xml wrote the
 * message's "23.0% within tol" as "passing 0.2301025390625".
 *
 * @example
 * ```ts
 * import { percentFigure } from "./figures.ts";
 * percentFigure(0.2301025390625); // "23.0%"
 * percentFigure(0.99999); // "99.9%"
 * percentFigure(1); // "100%"
 * ```
 */
export function percentFigure(fraction: number): string {
  if (!Number.isFinite(fraction)) return String(fraction);
  if (fraction >= 1) return "100%";
  return `${(Math.floor(fraction * 1000) / 10).toFixed(1)}%`;
}

/**
 * A case's wall time in seconds, as the console's progress line, summary.md and report.html
 * write it: two significant digits under 0.1 s (a 12 ms case is "0.012", not "0.01" or, as
 * the progress line once had it, "0.0"), two decimals under 10 s, one from 10 s up. The
 * progress line wrote a case's 1063 ms as "1.1 s" where summary.md's slowest table wrote
 * "1.06", and a 12 ms one as "0.012" where the table wrote "0.01".
 *
 * @example
 * ```ts
 * import { wallSeconds } from "./figures.ts";
 * wallSeconds(1063); // "1.06"
 * wallSeconds(22012); // "22.0"
 * wallSeconds(12); // "0.012"
 * ```
 */
export function wallSeconds(ms: number): string {
  const s = ms / 1000;
  if (!Number.isFinite(s)) return String(s);
  if (s !== 0 && Math.abs(s) < 0.1) return s.toPrecision(2);
  return s.toFixed(Math.abs(s) < 10 ? 2 : 1);
}

/** toPrecision without trailing zeros: 0.1130 -> 0.113, 1.200e-7 -> 1.2e-7. */
function precise(x: number, digits: number): string {
  if (!Number.isFinite(x)) return String(x);
  const s = x.toPrecision(digits);
  const [mantissa, exponent] = s.split("e");
  const m = mantissa.includes(".") ? mantissa.replace(/\.?0+$/, "") : mantissa;
  return exponent === undefined ? m : `${m}e${exponent.replace("+", "")}`;
}
