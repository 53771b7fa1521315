/**
 * JSON text of a drift input (a baseline, a run's report.json, a thresholds file) parsed
 * as the harness's other inputs are: a syntax error says where without quoting the text,
 * and an object that repeats a key is refused (`JSON.parse` keeps the last one silently:
 * a thresholds file with `speedRatio` twice, or a report whose case says `status` twice,
 * would be read as one of them without a word).
 *
 * @module
 */
import { jsonSyntaxProblem, scanJson } from "../adapter/json_scan.ts";
import { DriftInputError } from "./errors.ts";
import { jsonFileProblem } from "../report/run_state.ts";

/**
 * Parse `text`, the contents of `path`; a DriftInputError names the file and, for a
 * repeated key, the key, its object and where it repeats. With `written` (a file the harness
 * wrote: a baseline, a report.json) one that ends partway is said to be half-written.
 *
 * @example
 * ```ts
 * import { parseDriftJson } from "./json_text.ts";
 * parseDriftJson("t.json", '{"speedRatio": 2}'); // { speedRatio: 2 }
 * // parseDriftJson("t.json", '{"speedRatio": 2, "speedRatio": 9}') throws:
 * // t.json: key "speedRatio" appears more than once in (root) (line 1, column 19): ...
 * ```
 */
export function parseDriftJson(
  path: string,
  text: string,
  options: { written?: boolean } = {},
): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // a file the harness wrote (a baseline, a report.json) that ends partway is half-written,
    // as `run --resume` and merge say of run.json; "not valid JSON (unexpected end of input)"
    // read as a file edited wrongly
    throw new DriftInputError(
      path,
      options.written ? jsonFileProblem(text) : jsonSyntaxProblem(text),
    );
  }
  const dup = scanJson(text, { duplicateKeys: true });
  if (dup !== null) {
    throw new DriftInputError(
      path,
      `${dup.message} (line ${dup.line}, column ${dup.column}): JSON would keep only the ` +
        "last; remove the repeated key",
    );
  }
  return value;
}
