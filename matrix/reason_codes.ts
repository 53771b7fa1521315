/**
 * The reason codes a matrix's `expect` may name, and the check of an `expect` entry.
 *
 * A case the adapter refuses carries reasons, each with a code (`dtype.f16-unavailable`);
 * under `auto:<path>` each candidate's codes are prefixed by its backend
 * (`wgsl-absorbed:dtype.f16-unavailable`). An `unsupported` expectation lists codes that
 * must all be among a case's reasons, so a misspelt code would never match and the case
 * would be reported unexpected for a reason nobody reads; a matrix naming one is refused.
 * The rule:
 *
 * - `supported` lists no codes (a supported case has no reasons).
 * - each code of `unsupported` is `code` or `<backend>:code`; a code in one of the
 *   harness's namespaces ({@link HARNESS_CODE_NAMESPACES}: `dtype.`, `limits.`, ...) must
 *   be one of {@link REASON_CODES}. A code in another namespace is accepted only in a group
 *   whose `backend` axis names a backend that is not bundled (a user backend, loaded with
 *   `--backend-module`, may define its own codes; docs/backends.md); elsewhere only the
 *   bundled backends answer, and they use the codes listed here.
 * - a prefix names a backend that answers for every case of the group: one of the GPU
 *   backends `auto:<path>` tries for the group's path (a group of both paths, or a prefix
 *   of the other path's backend or of cpu-reference, which auto never tries, would never
 *   match on the other cases), or, in a group with a `backend` axis, the one backend it
 *   names (a case gives only its own backend's codes).
 * - the codes of `invalid` are fragments of the error message, not reason codes: not
 *   checked here.
 *
 * The list itself is adapter/reason_codes.ts (re-exported here), where the adapter's check of
 * a user backend's answer reads it too (adapter/ may not import matrix/).
 * tests/matrix_expect_codes_test.ts holds {@link REASON_CODES} to the codes the adapter,
 * the bundled backends and the runner actually give.
 *
 * @module
 */
import { BUNDLED_BACKENDS } from "../adapter/backends.ts";
import {
  HARNESS_CODE_NAMESPACES,
  REASON_CODES,
  REASON_CODES_DOC,
} from "../adapter/reason_codes.ts";
import { closeName } from "../util/edit_distance.ts";
import type { CaseExpect } from "./types.ts";

export {
  HARNESS_CODE_NAMESPACES,
  REASON_CODE_MEANINGS,
  REASON_CODES,
  REASON_CODES_DOC,
} from "../adapter/reason_codes.ts";

/** `did you mean "X"? `, or "" for no name near enough to suggest. */
const hint = (near: string | undefined) => near === undefined ? "" : `did you mean "${near}"? `;

/** One problem of an `expect` entry: the path below `expect` and what is wrong. */
export interface ExpectProblem {
  /** Below the entry: "" (the entry itself) or `codes[i]`. */
  readonly path: string;
  /** The offending value. */
  readonly value: unknown;
  /** What is wrong and what would be valid. */
  readonly message: string;
}

/** Options of {@link expectProblems}. */
export interface ExpectProblemsOptions {
  /**
   * The values of the group's `path` axis (default: the default path, absorbed); read only
   * in a group without a `backend` axis, whose cases `auto:<path>` resolves.
   */
  readonly paths?: readonly string[];
}

/**
 * The problems of one `expect` entry (empty when it is fine): `supported` with codes, an
 * `unsupported` code that is no reason code, and a backend prefix no case of the group can
 * give (see the module's rule). `backends` are the values of the group's `backend` axis
 * ("" or absent: the bundled backends of the path).
 *
 * @example
 * ```ts
 * import { expectProblems } from "./reason_codes.ts";
 * expectProblems({ support: "unsupported", codes: ["dtype.f16-unavailabel"] }, []);
 * // [{ path: "codes[0]", value: "dtype.f16-unavailabel",
 * //    message: 'is not a reason code; did you mean "dtype.f16-unavailable"? ...' }]
 * expectProblems({ support: "unsupported", codes: ["naive.too-big"] }, ["naive"]); // []
 * expectProblems({ support: "unsupported", codes: ["wgsl-absorbed:dtype.f16-unavailable"] }, [], {
 *   paths: ["expanded"],
 * }).length; // 1: auto:expanded never tries wgsl-absorbed
 * ```
 */
export function expectProblems(
  expect: CaseExpect,
  backends: readonly string[],
  options: ExpectProblemsOptions = {},
): ExpectProblem[] {
  const codes = expect.codes ?? [];
  if (expect.support === "supported") {
    return codes.length === 0 ? [] : [{
      path: "",
      value: expect,
      message: 'says "supported" and lists reason codes: a supported case has no reasons; ' +
        'drop "codes", or say "unsupported" if the case must be refused for them',
    }];
  }
  if (expect.support !== "unsupported") return [];
  const userBackend = backends.some((b) => b !== "" && !Object.hasOwn(BUNDLED_BACKENDS, b));
  const problems: ExpectProblem[] = [];
  const bundled = Object.keys(BUNDLED_BACKENDS);
  codes.forEach((full, i) => {
    const at = full.indexOf(":");
    const prefix = at < 0 ? null : full.slice(0, at);
    const code = at < 0 ? full : full.slice(at + 1);
    const problem = (message: string) =>
      problems.push({ path: `codes[${i}]`, value: full, message });
    if (prefix !== null && !bundled.includes(prefix)) {
      problem(
        `has the prefix "${prefix}", which is no bundled backend: auto:<path> prefixes each ` +
          `candidate's codes with its id (${hint(closeName(prefix, bundled, 3))}bundled backends: ${
            bundled.join(", ")
          }); ` +
          "leave the prefix out to match a code of any backend",
      );
      return;
    }
    if (prefix !== null) {
      const never = prefixNeverAnswers(prefix, backends, options.paths ?? ["absorbed"]);
      if (never !== null) {
        problem(
          `${never}, so this code would never be among their reasons and those cases would ` +
            `be reported unexpected; leave the prefix out ("${code}" matches ` +
            "the code from whichever backend gives it)",
        );
        return;
      }
    }
    if (REASON_CODES.includes(code)) return;
    const namespace = code.includes(".") ? code.slice(0, code.indexOf(".")) : "";
    const own = !HARNESS_CODE_NAMESPACES.includes(namespace) && code !== "";
    if (userBackend && own && prefix === null) return;
    const where = `the harness's codes: ${REASON_CODES_DOC}`;
    if (code === "") {
      problem(`is empty: name a reason code (${where})`);
      return;
    }
    // only a code near it: the nearest of all ("my.code": "device.none") misled
    const near = closeName(code, REASON_CODES, 3);
    problem(
      `is not a reason code${
        near === undefined ? " " : `; ${hint(`${prefix === null ? "" : `${prefix}:`}${near}`)}`
      }(${where}${
        own && !userBackend
          ? "; a user backend's own codes are accepted in a group whose backend axis names it"
          : userBackend
          ? "; a user backend's own codes must use a namespace of its own"
          : ""
      })`,
    );
  });
  return problems;
}

/**
 * Why a bundled backend's prefix could not be given for some case of a group, or null when it
 * can be: the group's `backend` axis names another backend too, or (no such axis) the
 * backend is not one `auto:<path>` tries for each of the group's paths.
 */
function prefixNeverAnswers(
  prefix: string,
  backends: readonly string[],
  paths: readonly string[],
): string | null {
  const named = backends.filter((b) => b !== "");
  if (named.length > 0) {
    const others = named.filter((b) => b !== prefix);
    return others.length === 0 ? null : `names backend "${prefix}", but the group's backend ` +
      `axis runs cases on ${others.join(", ")}, which give only their own codes`;
  }
  const backend = BUNDLED_BACKENDS[prefix];
  if (backend.runsOn !== "gpu") {
    return `names backend "${prefix}", which auto:<path> never tries for the group's cases ` +
      "(it is the reference)";
  }
  const others = [...new Set(paths)].filter((p) => p !== backend.path);
  return others.length === 0
    ? null
    : `names backend "${prefix}" of the ${backend.path} path, which auto:${others[0]} never ` +
      `tries (the group's ${others[0]} cases run on that path's backends)`;
}
