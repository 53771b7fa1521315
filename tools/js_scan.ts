/**
 * A JavaScript/TypeScript text cut into code, comments, strings, template literals and regex
 * literals: enough for `tools/doc_examples.ts` to find an example's imports and comments, and
 * for `tools/doc_claims.ts` its result comments and statements. Not a parser.
 *
 * @module
 */

/** A stretch of source text of one kind ({@link scan}). */
export interface Span {
  /** What the stretch is. */
  kind: "code" | "line-comment" | "block-comment" | "string" | "template" | "regex";
  /** Offset of its first character. */
  start: number;
  /** Offset after its last character. */
  end: number;
}

/** Words after which a `/` starts a regex literal rather than a division. */
const REGEX_AFTER_WORD = new Set([
  "return",
  "typeof",
  "instanceof",
  "in",
  "of",
  "new",
  "delete",
  "void",
  "throw",
  "case",
  "do",
  "else",
  "yield",
  "await",
]);

/**
 * Cut a JavaScript/TypeScript text into code, comments, strings, template literals and regex
 * literals (enough to find its comments and module specifiers; not a parser).
 *
 * @example
 * ```ts
 * import { scan } from "./js_scan.ts";
 * scan('f("a"); // b').map((s) => s.kind); // ["code", "string", "code", "line-comment"]
 * ```
 */
export function scan(source: string): Span[] {
  const spans: Span[] = [];
  const braces: ("code" | "template")[] = []; // what each open `{` closes into
  let codeStart = 0;
  let prevChar = ""; // the last significant character of code (or a literal's quote)
  let prevWord = "";
  const push = (kind: Span["kind"], start: number, end: number) => {
    if (end > start) spans.push({ kind, start, end });
  };
  /** Scan a template literal's text from `from` (after "`" or "}"); returns where code resumes. */
  const template = (spanStart: number, from: number): number => {
    let j = from;
    while (j < source.length) {
      const ch = source[j];
      if (ch === "\\") j += 2;
      else if (ch === "`") {
        push("template", spanStart, j + 1);
        prevChar = "`";
        return j + 1;
      } else if (ch === "$" && source[j + 1] === "{") {
        push("template", spanStart, j + 2);
        braces.push("template");
        prevChar = "{";
        return j + 2;
      } else j++;
    }
    push("template", spanStart, source.length);
    return source.length;
  };
  let i = 0;
  while (i < source.length) {
    const c = source[i];
    const next = source[i + 1];
    let resume = -1;
    if (c === "/" && next === "/") {
      push("code", codeStart, i);
      const eol = source.indexOf("\n", i);
      resume = eol < 0 ? source.length : eol;
      push("line-comment", i, resume);
    } else if (c === "/" && next === "*") {
      push("code", codeStart, i);
      const close = source.indexOf("*/", i + 2);
      resume = close < 0 ? source.length : close + 2;
      push("block-comment", i, resume);
    } else if (c === '"' || c === "'") {
      push("code", codeStart, i);
      let j = i + 1;
      while (j < source.length && source[j] !== c && source[j] !== "\n") {
        j += source[j] === "\\" ? 2 : 1;
      }
      resume = Math.min(j + 1, source.length);
      push("string", i, resume);
      prevChar = c;
    } else if (c === "`") {
      push("code", codeStart, i);
      resume = template(i, i + 1);
    } else if (c === "}" && braces.length > 0 && braces[braces.length - 1] === "template") {
      braces.pop();
      push("code", codeStart, i);
      resume = template(i, i + 1);
    } else if (
      c === "/" && (prevChar === "" || !/[\w$)\]}"'`]/.test(prevChar) ||
        REGEX_AFTER_WORD.has(prevWord))
    ) {
      let j = i + 1;
      let inClass = false;
      while (j < source.length && source[j] !== "\n") {
        const ch = source[j];
        if (ch === "\\") j++;
        else if (ch === "[") inClass = true;
        else if (ch === "]") inClass = false;
        else if (ch === "/" && !inClass) break;
        j++;
      }
      if (j < source.length && source[j] === "/") {
        j++;
        while (j < source.length && /[a-z]/i.test(source[j])) j++;
        push("code", codeStart, i);
        push("regex", i, j);
        resume = j;
        prevChar = "/";
      }
    }
    if (resume >= 0) {
      i = resume;
      codeStart = resume;
      prevWord = "";
      continue;
    }
    if (c === "{") braces.push("code");
    else if (c === "}") braces.pop();
    if (!/\s/.test(c)) {
      if (/[\w$]/.test(c)) prevWord = /[\w$]/.test(prevChar) ? prevWord + c : c;
      else prevWord = "";
      prevChar = c;
    }
    i++;
  }
  push("code", codeStart, source.length);
  return spans;
}

/**
 * The text with comments blanked to spaces and, where `literals` is set, every literal's inside
 * blanked to `_` (a string keeps its quotes), so that regexes see only code. Newlines stay.
 *
 * @example
 * ```ts
 * import { mask, scan } from "./js_scan.ts";
 * const text = 'f("a;"); // b';
 * mask(text, scan(text), true); // 'f("__");     '
 * ```
 */
export function mask(source: string, spans: Span[], literals: boolean): string {
  let out = "";
  for (const s of spans) {
    const text = source.slice(s.start, s.end);
    if (s.kind === "code" || (!literals && !s.kind.endsWith("comment"))) out += text;
    else if (s.kind.endsWith("comment")) out += text.replace(/[^\n]/g, " ");
    else if (s.kind === "string") {
      out += text[0] + text.slice(1, -1).replace(/[^\n]/g, "_") + text.slice(-1);
    } else out += text.replace(/[^\n]/g, "_");
  }
  return out;
}
