/**
 * Whether two runs' matrix names stand for one matrix: on one machine (a resume, whose files
 * resolve from the same folder), and across machines (merge and compare, whose runs each
 * spelt the path from their own checkout).
 *
 * @module
 */
import { basename, resolve } from "node:path";
import { BUNDLED_MATRICES } from "./expand.ts";

// `run --matrix` reads any value but a bundled name as a file, `mm` as well as `./mm`: a
// file named without .json or a folder (`--matrix mm`, resumed as `--matrix ./mm`) was taken
// for another matrix than the same file written with a `./`
const isFile = (m: string) => !BUNDLED_MATRICES.includes(m);

/**
 * Whether two matrix names given on this machine are one matrix: the same bundled name, or
 * paths to the same file once resolved (`./m.json` and `m.json`).
 *
 * @example
 * ```ts
 * import { sameMatrixHere } from "./matrix_name.ts";
 * sameMatrixHere("./m.json", "m.json"); // true
 * sameMatrixHere("./mine", "mine"); // true: a file either way
 * sameMatrixHere("a/m.json", "b/m.json"); // false
 * ```
 */
export function sameMatrixHere(a: string, b: string): boolean {
  return (isFile(a) ? resolve(a) : a) === (isFile(b) ? resolve(b) : b);
}

/**
 * Whether two recorded matrix names are one matrix: the same bundled name, or matrix files
 * of one file name. A file's path is recorded as each run was given it (`./m.json`,
 * `/ci/runner-2/m.json`), from its own folder or checkout; the case ids tell whether the
 * files hold the same cases.
 *
 * @example
 * ```ts
 * import { sameMatrixName } from "./matrix_name.ts";
 * sameMatrixName("smoke", "smoke"); // true
 * sameMatrixName("/ci/a/nightly.json", "../b/nightly.json"); // true
 * sameMatrixName("smoke", "smoke.json"); // false
 * ```
 */
export function sameMatrixName(a: string, b: string): boolean {
  if (a === b) return true;
  return isFile(a) && isFile(b) && basename(a) === basename(b);
}
