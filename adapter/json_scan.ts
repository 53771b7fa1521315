/**
 * A small JSON scanner for what `JSON.parse` does not say: where a syntax error is
 * (line and column, without quoting the text, which may be a file that is not ours to
 * show, such as /etc/passwd), and whether an object repeats a key (`JSON.parse` keeps
 * the last one silently). Iterative, so deeply nested input cannot overflow the stack.
 *
 * @module
 */

/** A problem found in JSON text: what, and where. */
export interface JsonProblem {
  /** What is wrong, without quoting the text. */
  readonly message: string;
  /** 0-based character offset. */
  readonly offset: number;
  /** 1-based line. */
  readonly line: number;
  /** 1-based column. */
  readonly column: number;
}

/** Options of {@link scanJson}. */
export interface ScanJsonOptions {
  /** Report an object that repeats a key (default false: syntax only). */
  duplicateKeys?: boolean;
  /**
   * Report a number written with a fraction or an exponent (default false): where every number
   * must be an integer (a safetensors header's shapes and offsets), `1024.0` is not one though
   * JSON.parse reads it as 1024.
   */
  integersOnly?: boolean;
}

interface Frame {
  readonly kind: "object" | "array";
  /** Path of this container, e.g. `a.b[2]`, or "" for the root. */
  readonly path: string;
  /** Keys seen so far (objects, when duplicates are checked). */
  readonly keys: Set<string> | null;
  /** Next array index. */
  index: number;
}

class Stop {
  constructor(readonly message: string, readonly offset: number) {}
}

const WS = new Set([" ", "\t", "\n", "\r"]);
const ESCAPES = new Set(['"', "\\", "/", "b", "f", "n", "r", "t"]);
const HEX = /^[0-9a-fA-F]{4}$/;
// Anchored at lastIndex (sticky) so a number is matched where it starts, no further.
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      start = i + 1;
    }
  }
  return { line, column: offset - start + 1 };
}

// Keys are shown (they come from a file that parsed), but never at unbounded length.
const showKey = (k: string): string => {
  const s = JSON.stringify(k);
  return s.length > 60 ? `${s.slice(0, 57)}..."` : s;
};

const childPath = (parent: string, key: string | number): string =>
  typeof key === "number" ? `${parent}[${key}]` : parent ? `${parent}.${key}` : key;

/**
 * The first problem in JSON text, or null when it is valid JSON (and, with
 * `duplicateKeys`, no object repeats a key). Messages never quote the text; they
 * name what was expected, and for a repeated key, the key and the object's path.
 *
 * @example
 * ```ts
 * import { scanJson } from "./json_scan.ts";
 * scanJson('{"a": 1,}')?.message; // "expected a property name in double quotes"
 * scanJson('{"a": 1, "a": 2}', { duplicateKeys: true })?.message;
 * // 'key "a" appears more than once in (root)'
 * scanJson('{"a": [1.0]}', { integersOnly: true })?.message;
 * // "number 1.0 at a[0] is not a plain integer"'
 * ```
 */
export function scanJson(text: string, options: ScanJsonOptions = {}): JsonProblem | null {
  try {
    scan(text, options.duplicateKeys ?? false, options.integersOnly ?? false);
    return null;
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
    return { message: e.message, offset: e.offset, ...lineColumn(text, e.offset) };
  }
}

function scan(text: string, duplicates: boolean, integersOnly: boolean): void {
  let i = 0;
  const n = text.length;
  const stack: Frame[] = [];
  const skip = () => {
    while (i < n && WS.has(text[i])) i++;
  };
  const fail = (message: string): never => {
    throw new Stop(i >= n ? "unexpected end of input; " + message : message, Math.min(i, n));
  };
  // Consume a string starting at text[i] === '"'; return its decoded value when asked.
  const string = (decode: boolean): string => {
    const start = i;
    i++;
    while (true) {
      if (i >= n) fail("unterminated string");
      const c = text.charCodeAt(i);
      if (c === 34) break; // closing quote
      if (c < 0x20) fail("control character inside a string (escape it)");
      if (c === 92) { // backslash
        const e = text[i + 1];
        if (e === "u") {
          if (!HEX.test(text.slice(i + 2, i + 6))) {
            i++;
            fail("\\u must be followed by 4 hex digits");
          }
          i += 6;
          continue;
        }
        if (e === undefined || !ESCAPES.has(e)) {
          i++;
          fail('invalid escape; valid: \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX');
        }
        i += 2;
        continue;
      }
      i++;
    }
    i++;
    return decode ? JSON.parse(text.slice(start, i)) as string : "";
  };
  // Read `"key":` inside an object frame and check it against the keys seen.
  const key = (frame: Frame): string => {
    skip();
    if (text[i] !== '"') fail("expected a property name in double quotes");
    const at = i;
    const k = string(frame.keys !== null);
    if (frame.keys) {
      if (frame.keys.has(k)) {
        throw new Stop(
          `key ${showKey(k)} appears more than once in ${frame.path || "(root)"}`,
          at,
        );
      }
      frame.keys.add(k);
    }
    skip();
    if (text[i] !== ":") fail("expected ':' after a property name");
    i++;
    return k;
  };
  let path = "";
  // Each trip parses one value at i (path = its path), then closes finished containers.
  while (true) {
    skip();
    const c = text[i];
    let done = true;
    if (c === "{") {
      i++;
      const frame: Frame = { kind: "object", path, keys: duplicates ? new Set() : null, index: 0 };
      skip();
      if (text[i] === "}") i++;
      else {
        stack.push(frame);
        path = childPath(frame.path, key(frame));
        done = false;
      }
    } else if (c === "[") {
      i++;
      skip();
      if (text[i] === "]") i++;
      else {
        stack.push({ kind: "array", path, keys: null, index: 0 });
        path = childPath(path, 0);
        done = false;
      }
    } else if (c === '"') string(false);
    else if (c === "t" && text.startsWith("true", i)) i += 4;
    else if (c === "f" && text.startsWith("false", i)) i += 5;
    else if (c === "n" && text.startsWith("null", i)) i += 4;
    else if (c === "-" || (c >= "0" && c <= "9")) {
      NUMBER.lastIndex = i;
      if (!NUMBER.test(text)) fail("malformed number");
      const token = text.slice(i, NUMBER.lastIndex);
      if (integersOnly && /[.eE]/.test(token)) {
        throw new Stop(`number ${token} at ${path || "(root)"} is not a plain integer`, i);
      }
      i = NUMBER.lastIndex;
    } else fail("expected a value (object, array, string, number, true, false or null)");
    if (!done) continue;
    // A value ended: move on in the enclosing containers.
    while (true) {
      const top = stack[stack.length - 1];
      skip();
      if (!top) {
        if (i < n) fail("unexpected content after the JSON value");
        return;
      }
      if (top.kind === "object") {
        if (text[i] === ",") {
          i++;
          path = childPath(top.path, key(top));
          break;
        }
        if (text[i] === "}") {
          i++;
          stack.pop();
          continue;
        }
        fail("expected ',' or '}' after a property value");
      } else {
        if (text[i] === ",") {
          i++;
          path = childPath(top.path, ++top.index);
          break;
        }
        if (text[i] === "]") {
          i++;
          stack.pop();
          continue;
        }
        fail("expected ',' or ']' after an array element");
      }
    }
  }
}

/**
 * What is wrong with JSON text `JSON.parse` refused, for an error message: the problem and
 * where it is, never the text itself (JSON.parse's own message quotes it, control
 * characters and all).
 *
 * @example
 * ```ts
 * import { jsonSyntaxProblem } from "./json_scan.ts";
 * jsonSyntaxProblem('{"a": }'); // "not valid JSON (expected a value ... at line 1, column 7)"
 * ```
 */
export function jsonSyntaxProblem(text: string): string {
  if (text.trim() === "") return "not valid JSON (empty)";
  // a history database given where a report or baseline goes read as "expected a value at
  // line 1, column 1", naming nothing of what the file is
  if (text.startsWith("SQLite format 3\u0000")) {
    return "not valid JSON: an SQLite database file (a history database is read by " +
      "history --db and written by run --history)";
  }
  const p = scanJson(text);
  return p === null
    ? "not valid JSON"
    : `not valid JSON (${p.message} at line ${p.line}, column ${p.column})`;
}
