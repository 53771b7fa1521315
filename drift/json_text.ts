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

/**
 * Parse `text`, the contents of `path`; a DriftInputError names the file and, for a
 * repeated key, the key, its object and where it repeats.
 *
 * @example
 * ```ts
 * import { parseDriftJson } from "./json_text.ts";
 * parseDriftJson("t.json", '{"speedRatio": 2}'); // { speedRatio: 2 }
 * // parseDriftJson("t.json", '{"speedRatio": 2, "speedRatio": 9}') throws:
 * // t.json: key "speedRatio" appears more than once in (root) (line 1, column 19): ...
 * ```
 */
export function parseDriftJson(path: string, text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new DriftInputError(path, jsonSyntaxProblem(text));
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
