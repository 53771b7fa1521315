/**
 * A count and its noun in the right number: "1 case", "2 cases", "0 cases".
 *
 * @module
 */

/**
 * `n` and the noun, singular for exactly 1 and plural otherwise (`nouns`, by default the
 * noun with an "s"). `n` may be given already formatted ("1,024"); it is singular when it
 * reads as exactly 1.
 *
 * @example
 * ```ts
 * import { plural } from "./plural.ts";
 * plural(1, "case"); // "1 case"
 * plural(2, "case"); // "2 cases"
 * plural(0, "mismatch", "mismatches"); // "0 mismatches"
 * plural("1", "run"); // "1 run"
 * ```
 */
export function plural(n: number | string, noun: string, nouns = `${noun}s`): string {
  return `${n} ${nounFor(n, noun, nouns)}`;
}

/**
 * The noun alone, in the number `n` asks for: where the count stands apart from its noun
 * ("0 of 1 case missing").
 *
 * @example
 * ```ts
 * import { nounFor } from "./plural.ts";
 * nounFor(1, "case"); // "case"
 * nounFor(3, "series", "series"); // "series"
 * ```
 */
export function nounFor(n: number | string, noun: string, nouns = `${noun}s`): string {
  return Number(typeof n === "string" ? n.replaceAll(",", "") : n) === 1 ? noun : nouns;
}
