/**
 * The result comments of JSDoc examples, checked: a statement of an example followed by a
 * comment that starts with a value (`fa2KvSplits({ ... }); // 5`, `r.kind; // "unsupported":
 * there is no device`) claims that the statement gives that value, and `tools/doc_examples.ts`
 * runs the example with the claim checked, so an example whose code no longer gives what its
 * comment says fails like one that throws. `deno test --doc` checks no such comment.
 *
 * What counts as a claim (everything else is prose and left alone):
 * - the comment after the code of a line that ends a statement (`;`, `)`, `]`, a name or a
 *   literal), whose statement is an expression, `console.log` of one value, or a `const` /
 *   `let` / `var` of one name (then the name's value is checked);
 * - its value is the longest start of the comment (cut at a space) that is a JavaScript literal
 *   expression: a number, a string, `true`, `false`, `null`, `undefined`, `NaN`, `Infinity`, an
 *   array or object of those, or arithmetic on numbers (`6 * 4 * 16`); where the comment reads
 *   `... = value`, the value after the last ` = `.
 *
 * How a value is compared ({@link claimDifference}): a number with a fraction or an exponent
 * matches what rounds to it at its last digit (`0.707` matches 0.70711), a whole number only
 * itself; a string ending in `...` is a start, one starting with `...` an end; an array matches
 * an array or typed array of the same length, element by element; an object matches an object
 * that has each of its keys with a matching value (the comment may show a few fields).
 *
 * @module
 */
import { mask, scan, type Span } from "./js_scan.ts";

/** What {@link rewriteClaims} did to an example's code. */
export interface ClaimRewrite {
  /** The code with each claim wrapped in a check, line for line the same lines. */
  code: string;
  /** Claims wrapped in a check. */
  checked: number;
}

/** The first character of a value a claim can start with. */
const VALUE_START = /^(?:-?[\d.]|["'`[{(]|(?:true|false|null|undefined|NaN|-?Infinity)\b)/;

/** Math's functions and constants, which a claim may use (`1 / sqrt(24)`). */
const MATH_NAMES = Object.getOwnPropertyNames(Math);

/**
 * The value of a claim's source: a JavaScript expression that reads no name but Math's
 * (`sqrt`, `PI`, ...) and no property. Throws when it is not one.
 *
 * @example
 * ```ts
 * import { claimValue } from "./doc_claims.ts";
 * claimValue("6 * 4 * 16"); // 384
 * claimValue("[1, { a: true }]"); // [1, { a: true }]
 * ```
 */
export function claimValue(source: string): unknown {
  if (!readsOnlyValues(source)) throw new Error(`not a value: ${source}`);
  const math = Math as unknown as Record<string, unknown>;
  return new Function(...MATH_NAMES, `"use strict"; return (${source});`)(
    ...MATH_NAMES.map((n) => math[n]),
  );
}

/** The names a claim may read: Math's, and the literals that are names. */
const CLAIM_NAMES = new Set([
  ...MATH_NAMES,
  "true",
  "false",
  "null",
  "undefined",
  "NaN",
  "Infinity",
]);

/**
 * Whether a claim's text reads no name but {@link CLAIM_NAMES} and no property: outside its
 * strings, every name is one of those or an object key (`{ count: 3 }`), and no `.` follows a
 * value (so nothing a comment says can reach `Deno` or a constructor when it is evaluated).
 */
function readsOnlyValues(text: string): boolean {
  // strings, templates' text and regexes as a plain value, comments as space
  const code = scan(text).map((sp) =>
    sp.kind === "code" ? text.slice(sp.start, sp.end) : sp.kind.endsWith("comment") ? " " : " 0 "
  ).join("");
  if (/[\w$)\]}"'`]\s*\.\s*[A-Za-z_$]/.test(code)) return false;
  for (const m of code.matchAll(/(?<![\w$])[A-Za-z_$][\w$]*/g)) {
    const key = /^\s*:/.test(code.slice(m.index + m[0].length));
    if (!CLAIM_NAMES.has(m[0]) && !key) return false;
  }
  return true;
}

/** Whether `text` is a claim's value: it starts like a literal, reads only values, evaluates. */
function evaluates(text: string): boolean {
  if (!VALUE_START.test(text) || !readsOnlyValues(text)) return false;
  try {
    claimValue(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * What may follow a value at the start of a comment for the value to be a claim: a `:`, `,` or
 * `;` and a space, or a space and a parenthesis or a dash. A value followed by a word ("16 hex
 * digits", "1 row") or an operator ("0 <= u < 1") is prose.
 */
const AFTER_VALUE = /^(?:[:,;](?:\s|$)| \(| —| - | -- )/;

/**
 * The value a result comment claims, as JavaScript source, or null when it is prose. `comment`
 * is the text after `//`.
 *
 * @example
 * ```ts
 * import { claimSource } from "./doc_claims.ts";
 * claimSource(" 32768 (lavapipe)"); // "32768"
 * claimSource(' "unsupported": there is no device'); // '"unsupported"'
 * claimSource(" (4 + 2) x 16 = 96"); // "96"
 * claimSource(" fine: the f32 case is left"); // null
 * ```
 */
export function claimSource(comment: string): string | null {
  const text = comment.trim();
  if (evaluates(text)) return text;
  // the longest start that is a value and is followed by a separator
  for (let i = text.length - 1; i > 0; i--) {
    if (!AFTER_VALUE.test(text.slice(i))) continue;
    const head = text.slice(0, i).trimEnd();
    if (evaluates(head)) return head;
  }
  // `(4 + 2) x 16 = 96`: the value after the last ` = `
  const eq = text.lastIndexOf(" = ");
  if (eq >= 0) {
    const tail = text.slice(eq + 3).trim();
    if (evaluates(tail)) return tail;
  }
  return null;
}

/** Half a unit of a number's last digit as JavaScript prints it (0 for a whole number). */
function halfUnit(claimed: number): number {
  if (Number.isInteger(claimed) || !Number.isFinite(claimed)) return 0;
  const [mantissa, exponent] = claimed.toExponential().split("e");
  const decimals = (mantissa.split(".")[1] ?? "").length;
  return 0.5 * 10 ** (Number(exponent) - decimals);
}

/** `value` for a message: strings quoted, arrays and objects as JSON-like text. */
function show(value: unknown): string {
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "string") return JSON.stringify(value);
  if (value === undefined) return "undefined";
  if (typeof value === "number") return String(value);
  try {
    return JSON.stringify(value, (_k, v) => typeof v === "bigint" ? `${v}n` : v) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * How `actual` differs from the value a comment claims (rules in the module's text), or null
 * when it matches. `path` names the place inside a nested value.
 *
 * @example
 * ```ts
 * import { claimDifference } from "./doc_claims.ts";
 * claimDifference(0.70711, 0.707); // null
 * claimDifference(3, 2); // "3, not 2"
 * claimDifference({ a: 1, b: 2 }, { a: 1 }); // null
 * claimDifference("backend x failed: ...", "backend x ..."); // null
 * claimDifference([1, 2], [1, 3]); // "[1]: 2, not 3"
 * ```
 */
export function claimDifference(actual: unknown, claimed: unknown, path = ""): string | null {
  const at = path === "" ? "" : `${path}: `;
  const not = () => `${at}${show(actual)}, not ${show(claimed)}`;
  if (typeof claimed === "number") {
    if (typeof actual !== "number") return not();
    if (Number.isNaN(claimed)) return Number.isNaN(actual) ? null : not();
    if (actual === claimed) return null;
    const tolerance = halfUnit(claimed) * (1 + 1e-9);
    return tolerance > 0 && Math.abs(actual - claimed) <= tolerance ? null : not();
  }
  if (typeof claimed === "string") {
    if (typeof actual !== "string") return not();
    // `...` (or `…`) stands for any text: the pieces between them in order, the first at the
    // start and the last at the end (an empty piece where the claim starts or ends with dots)
    const pieces = claimed.split(/\s*(?:\.\.\.|…)\s*/);
    if (pieces.length === 1) return actual === claimed ? null : not();
    const first = pieces[0];
    const last = pieces[pieces.length - 1];
    if (!actual.startsWith(first)) return not();
    let from = first.length;
    for (const p of pieces.slice(1, -1)) {
      const i = actual.indexOf(p, from);
      if (i < 0) return not();
      from = i + p.length;
    }
    return actual.length - last.length >= from && actual.endsWith(last) ? null : not();
  }
  if (Array.isArray(claimed)) {
    const list = Array.isArray(actual) || ArrayBuffer.isView(actual)
      ? Array.from(actual as ArrayLike<unknown>)
      : null;
    if (list === null) return not();
    if (list.length !== claimed.length) {
      return `${at}${list.length} elements, not ${claimed.length}: ${show(list)}`;
    }
    for (const [i, c] of claimed.entries()) {
      const d = claimDifference(list[i], c, `${path}[${i}]`);
      if (d !== null) return d;
    }
    return null;
  }
  if (claimed !== null && typeof claimed === "object") {
    if (actual === null || typeof actual !== "object") return not();
    for (const [k, c] of Object.entries(claimed)) {
      const d = claimDifference((actual as Record<string, unknown>)[k], c, `${path}.${k}`);
      if (d !== null) return d;
    }
    return null;
  }
  return Object.is(actual, claimed) ? null : not();
}

/**
 * The check a rewritten example calls: throws, naming the source line and the comment, when
 * `actual` does not match the value of the claim's `source` ({@link claimValue},
 * {@link claimDifference}); returns `actual`.
 *
 * @example
 * ```ts
 * import { checkClaim } from "./doc_claims.ts";
 * checkClaim("util/a.ts:7", "2", 1 + 1); // 2
 * ```
 */
export function checkClaim<T>(where: string, source: string, actual: T): T {
  const d = claimDifference(actual, claimValue(source));
  if (d !== null) {
    throw new Error(`${where}: the comment says ${source}, the code gives ${d}`);
  }
  return actual;
}

/**
 * `console.log` of one value in a rewritten example: checked, not printed.
 *
 * @example
 * ```ts
 * import { checkLogged } from "./doc_claims.ts";
 * checkLogged("util/a.ts:9", '"ok"', "ok"); // passes, prints nothing
 * ```
 */
export function checkLogged(where: string, source: string, value: unknown): void {
  checkClaim(where, source, value);
}

/** The characters a line's code can end a statement with, before a result comment. */
const STATEMENT_END = /[;)\]\w$"'`]$/;
/** A line that continues the statement of the line before it. */
const CONTINUES_BELOW = /^\s*(?:\.|\?\.|\?|:|&&|\|\||\?\?|[+\-*/%]\s)/;
/** A line whose statement goes on in the next line. */
const CONTINUES_ABOVE = /(?:[=+\-*/%,?:]|&&|\|\||\?\?|=>)\s*$/;

/**
 * The example's code with each result comment's claim checked (the names `__docClaim` and
 * `__docLogged` must be {@link checkClaim} and {@link checkLogged} where the code runs). No
 * line is added or removed: the check opens where the statement starts and closes where it
 * ends, and the comment is dropped. `where(i)` names line `i` (0-based) of the code for the
 * messages.
 *
 * @example
 * ```ts
 * import { rewriteClaims } from "./doc_claims.ts";
 * rewriteClaims("f(1); // 2\n", (i) => `a.ts:${i + 4}`).code;
 * // '__docClaim("a.ts:4", "2", (f(1)));\n'
 * ```
 */
export function rewriteClaims(code: string, where: (line: number) => string): ClaimRewrite {
  const spans = scan(code);
  const masked = mask(code, spans, true);
  const lineStarts = [0];
  for (let i = 0; i < code.length; i++) if (code[i] === "\n") lineStarts.push(i + 1);
  const lineOf = (offset: number) => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  const lineText = (i: number) =>
    masked.slice(lineStarts[i], (lineStarts[i + 1] ?? masked.length + 1) - 1);
  const edits: { start: number; end: number; with: string }[] = [];
  for (const comment of spans.filter((s: Span) => s.kind === "line-comment")) {
    const line = lineOf(comment.start);
    const before = masked.slice(lineStarts[line], comment.start).trimEnd();
    if (before.trim() === "" || !STATEMENT_END.test(before)) continue;
    const source = claimSource(code.slice(comment.start + 2, comment.end));
    if (source === null) continue;
    const end = lineStarts[line] + before.length - (before.endsWith(";") ? 1 : 0);
    const start = statementStart(masked, lineStarts, lineText, line, end);
    if (start === null) continue;
    const statement = masked.slice(start, end);
    const args = `${JSON.stringify(where(line))}, ${JSON.stringify(source)}`;
    const decl = /^(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*(?::[^=]+)?=[^=>]/.exec(statement);
    const drop = { start: end, end: comment.end, with: code.slice(end, comment.start).trimEnd() };
    if (decl !== null) {
      const ended = drop.with.endsWith(";") ? drop.with : `${drop.with};`;
      edits.push({ ...drop, with: `${ended} __docClaim(${args}, ${decl[1]});` });
    } else if (/^console\.log\(/.test(statement) && statement.endsWith(")")) {
      const open = "console.log(".length;
      if (topLevelCommas(statement.slice(open, -1)) > 0) continue; // which value? left alone
      edits.push({ start, end: start + open, with: `__docLogged(${args}, ` });
      edits.push(drop);
    } else if (
      /^(?:const|let|var|return|throw|if|for|while|do|switch|class|function|async\s+function|type|interface|import|export)\b|^[{}]/
        .test(statement)
    ) {
      continue;
    } else {
      edits.push({ start, end: start, with: `__docClaim(${args}, (` });
      edits.push({ start: end, end: end, with: "))" });
      edits.push(drop);
    }
  }
  edits.sort((a, b) => b.start - a.start || b.end - a.end);
  let out = code;
  let checked = 0;
  for (const e of edits) {
    out = out.slice(0, e.start) + e.with + out.slice(e.end);
    if (e.with.includes("__docClaim(") || e.with.includes("__docLogged(")) checked++;
  }
  return { code: out, checked };
}

/**
 * One walk over masked code: its bracket depth at the end (opened minus closed) and the
 * offsets, within `text`, of each `mark` character outside brackets.
 */
function brackets(text: string, mark: string): { depth: number; marks: number[] } {
  let depth = 0;
  const marks: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if ("([{".includes(ch)) depth++;
    else if (")]}".includes(ch)) depth--;
    else if (ch === mark && depth === 0) marks.push(i);
  }
  return { depth, marks };
}

/** Commas outside brackets in masked code. */
function topLevelCommas(masked: string): number {
  return brackets(masked, ",").marks.length;
}

/**
 * Where the statement that ends at `end` (on line `line`) starts: back over the lines it spans
 * (brackets closed on this line but opened above, a line that ends in an operator or a comma
 * above, a line starting with `.` or an operator below), and after the last top-level `;`.
 */
function statementStart(
  masked: string,
  lineStarts: number[],
  lineText: (i: number) => string,
  line: number,
  end: number,
): number | null {
  let first = line;
  for (;;) {
    const d = brackets(masked.slice(lineStarts[first], end), ";").depth;
    if (d > 0) return null; // an opening bracket the statement never closes: not a statement end
    const above = first > 0 ? lineText(first - 1).trimEnd() : "";
    const more = d < 0 ||
      (first > 0 && (CONTINUES_ABOVE.test(above) || CONTINUES_BELOW.test(lineText(first))));
    if (!more) break;
    if (first === 0) return null;
    first--;
  }
  // after the last `;` at depth 0 of the span
  const semis = brackets(masked.slice(lineStarts[first], end), ";").marks;
  let start = lineStarts[first] + (semis.length > 0 ? semis[semis.length - 1] + 1 : 0);
  while (start < end && /\s/.test(masked[start])) start++;
  return start < end ? start : null;
}
