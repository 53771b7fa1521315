/**
 * Whether two runs' matrix names stand for one matrix, as merge and compare ask it of the
 * runs they join.
 *
 * @module
 */
import { basename } from "node:path";

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
  const file = (m: string) => m.endsWith(".json") || m.includes("/");
  return file(a) && file(b) && basename(a) === basename(b);
}
