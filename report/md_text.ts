/**
 * Text inside the harness's Markdown (summary.md, compare.md): table cells and code spans
 * that show any string as it is, a case id or a path with `|`, backticks or `<` included.
 *
 * @module
 */

// C0 controls but tab, newline and carriage return (folded or kept by the callers), DEL, C1
// controls: matching control characters is the point of this expression.
// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]/g;

/**
 * Control characters written visibly as `\uXXXX`, as junit.xml writes them (report/xml.ts):
 * C0 controls but tab, newline and carriage return (which the callers fold or keep), DEL and C1
 * controls. summary.md's cells and spans and run's progress lines both write them so (an ANSI
 * colour code of a user backend's error turned the terminal red).
 *
 * @example
 * ```ts
 * import { visibleControls } from "./md_text.ts";
 * visibleControls("\x1b[31mboom\tx"); // "\\u001b[31mboom\tx"
 * ```
 */
export function visibleControls(s: string): string {
  return s.replace(CONTROL, (ch) => "\\u" + ch.charCodeAt(0).toString(16).padStart(4, "0"));
}

/**
 * The first `n` UTF-16 units of `s`, one fewer where the `n`th would leave half of a
 * surrogate pair (an emoji, a CJK extension character): cut there, the half was written as
 * U+FFFD "�" (summary.md's cells, the live progress line).
 *
 * @example
 * ```ts
 * import { cutText } from "./md_text.ts";
 * cutText("ab😀", 3); // "ab"
 * cutText("abc", 2); // "ab"
 * ```
 */
export function cutText(s: string, n: number): string {
  const code = s.charCodeAt(n - 1);
  return s.slice(0, code >= 0xd800 && code <= 0xdbff ? n - 1 : n);
}

/**
 * A table cell: one line (newlines folded), cut at `max` characters, with control characters
 * written as `\uXXXX` (an error's ANSI colour code or NUL went into summary.md raw: a terminal
 * showing the file turned red, GitHub showed nothing of it). The code spans in `s` (a message's
 * `` `devices` ``) stay code spans, as they are but for `|` escaped (GitHub's tables undo it
 * first). In the text around them what GitHub would render is escaped: backslashes, pipes (the
 * row keeps its cells), `<`, `>` and `&` (nothing reads as HTML or an entity: `&amp;` shows as
 * written), `*`, `~`, `$`, a backtick that opens no span, a `]` before `(`, and an `_` not
 * inside a word (`*em*`, `_u_`, `[x](url)`, `$x$` in an error message rendered as emphasis,
 * links, math; `snake_case` and `[0,3,17]` stay as they are). What GitHub would link or swap
 * whatever the escapes (`@name` mentions notify that person; `:tada:`, `#12`, `https://`,
 * `www.`) gets a zero-width space (`&#8203;`) after its `@`, `:`, `#` or `www`: the text reads
 * the same, nothing is linked, nobody is notified.
 *
 * @example
 * ```ts
 * import { mdCell } from "./md_text.ts";
 * mdCell("a|b <c>"); // "a\\|b &lt;c&gt;"
 * mdCell("*em* _u_ `a*b`"); // "\\*em\\* \\_u\\_ `a*b`"
 * mdCell("@octocat :tada:"); // "@&#8203;octocat :&#8203;tada:"
 * ```
 */
export function mdCell(s: string, max = 300): string {
  const one = visibleControls(s.replace(/\s*[\r\n]+\s*/g, " "));
  const cut = one.length > max ? cutText(one, max - 1) + "…" : one;
  return codeSpans(cut).map(({ text, code }) => code ? text.replace(/\|/g, "\\|") : mdText(text))
    .join("");
}

/** Text (no code span) with what GitHub renders in it escaped, as {@link mdCell} says. */
function mdText(s: string): string {
  const word = /[\p{L}\p{N}]/u;
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === "&") out += "&amp;";
    else if (ch === "<") out += "&lt;";
    else if (ch === ">") out += "&gt;";
    else if ("\\|*~$`".includes(ch)) out += "\\" + ch;
    // only "](" makes a link here (no reference is defined): "at [0,3,17]" stays as it is
    else if (ch === "]" && s[i + 1] === "(") out += "\\]";
    // what GitHub links or swaps after the Markdown is read (a backslash does not stop it):
    // a zero-width space after the sign breaks `@name` (a mention notifies that person),
    // `:tada:`, `#12` (an issue), `://` and `www.` (links)
    else if (autoLinkedAt(s, i)) out += ch + ZWSP;
    // an underscore inside a word opens and closes no emphasis (CommonMark): left as it is
    else if (ch === "_" && !(word.test(s[i - 1] ?? "") && word.test(s[i + 1] ?? ""))) {
      out += "\\_";
    } else out += ch;
  }
  return out;
}

/** A zero-width space as an entity: seen in the file, shown as nothing. */
const ZWSP = "&#8203;";

/**
 * Whether `s[i]` begins what GitHub turns into a mention, an emoji, an issue link or a link
 * in text (its filters read the rendered text, so no Markdown escape stops them): `@` before
 * a letter or digit (`@octocat`, `@org/team`, `a@b.example`), the `:` opening a shortcode
 * (`:tada:`, `:+1:`; not the digits of `12:30:45`), `#` before a digit after no word
 * character, the `:` of `://`, the last `w` of a `www.` beginning a word.
 */
function autoLinkedAt(s: string, i: number): boolean {
  const rest = s.slice(i);
  const before = s[i - 1] ?? "";
  switch (s[i]) {
    case "@":
      return /^@[\p{L}\p{N}]/u.test(rest);
    case ":":
      return rest.startsWith("://") ||
        /^:(?:[\w+-]*[a-z+-][\w+-]*|100|1234):/i.test(rest);
    case "#":
      return /^#\d/.test(rest) && !/[\p{L}\p{N}_]/u.test(before);
    case "w":
    case "W":
      return i >= 2 && /^www\./i.test(s.slice(i - 2)) &&
        !/[\p{L}\p{N}_]/u.test(s[i - 3] ?? "");
    default:
      return false;
  }
}

/**
 * `s` cut into text and code spans as CommonMark reads them: a run of backticks opens a span
 * closed by the next run of exactly as many; one that none closes is text.
 */
function codeSpans(s: string): { text: string; code: boolean }[] {
  const parts: { text: string; code: boolean }[] = [];
  let at = 0;
  let textFrom = 0;
  while (at < s.length) {
    const open = s.indexOf("`", at);
    if (open < 0) break;
    const fence = /^`+/.exec(s.slice(open))![0];
    let close = -1;
    for (let i = open + fence.length; i < s.length;) {
      const run = /^`+/.exec(s.slice(i));
      if (run === null) {
        i++;
        continue;
      }
      if (run[0].length === fence.length) {
        close = i;
        break;
      }
      i += run[0].length;
    }
    if (close < 0) {
      at = open + fence.length;
      continue;
    }
    if (open > textFrom) parts.push({ text: s.slice(textFrom, open), code: false });
    parts.push({ text: s.slice(open, close + fence.length), code: true });
    at = textFrom = close + fence.length;
  }
  if (textFrom < s.length) parts.push({ text: s.slice(textFrom), code: false });
  return parts;
}

/**
 * A code span that shows `s` to the letter (a case id copied from it matches the run's):
 * its fence is one backtick longer than the longest run of backticks inside, with a space
 * inside each end where `s` starts or ends with one. In a table (`options.table`) each `|`
 * is escaped, which GitHub's tables undo before the span is read; outside one it is left.
 * Newlines become spaces; control characters `\uXXXX`, as in {@link mdCell}.
 *
 * @example
 * ```ts
 * import { mdCode } from "./md_text.ts";
 * mdCode("a`b"); // "``a`b``"
 * mdCode("a|b", { table: true }); // "`a\\|b`"
 * ```
 */
export function mdCode(s: string, options: { table?: boolean } = {}): string {
  const one = visibleControls(s.replace(/[\r\n]+/g, " "));
  const longest = Math.max(0, ...(one.match(/`+/g) ?? []).map((r) => r.length));
  const fence = "`".repeat(longest + 1);
  const pad = one.startsWith("`") || one.endsWith("`") ? " " : "";
  const body = options.table ? one.replace(/\|/g, "\\|") : one;
  return `${fence}${pad}${body}${pad}${fence}`;
}

/**
 * Markdown the harness wrote (compare.md), as a terminal shows it: the escapes {@link mdCell}
 * and {@link mdCode} made for a Markdown renderer read back (a terminal renders none of them).
 * The angle brackets read `<` and `>` ("(> 4x ...)" read "(&gt; 4x ...)"); a pipe and a
 * backslash escaped in text read `|` and `\` (a support drift's reasons "a \| b"); a pipe
 * escaped in a table row's code span reads `|`. The rest of a code span is shown as it is.
 * The file keeps its escapes.
 *
 * @example
 * ```ts
 * import { mdCell, mdForTerminal } from "./md_text.ts";
 * mdForTerminal(`| ${mdCell("max_abs 1 → 9 (> 4x)")} |`); // "| max_abs 1 → 9 (> 4x) |"
 * mdForTerminal(`| ${mdCell("a: x | b: y")} |`); // "| a: x | b: y |"
 * ```
 */
export function mdForTerminal(md: string): string {
  return md.split("\n").map(lineForTerminal).join("\n");
}

/** The entities {@link mdCell} writes, read back. */
const ENTITIES: Readonly<Record<string, string>> = {
  "&lt;": "<",
  "&gt;": ">",
  "&amp;": "&",
  [ZWSP]: "",
};

/** One line of {@link mdForTerminal}: text unescaped, code spans (CommonMark fences) kept. */
function lineForTerminal(line: string): string {
  const table = line.trimStart().startsWith("|");
  // an escaped backtick opens no span: set aside before the spans are found
  const parts = codeSpans(line.replace(/\\`/g, "\uE000"));
  return parts.map(({ text, code }) =>
    code ? (table ? text.replace(/\\\|/g, "|") : text) : text
      .replace(/\\([\\|*_~$[\]])/g, "$1")
      .replace(/&(lt|gt|amp|#8203);/g, (e) => ENTITIES[e])
  ).join("").replace(/\uE000/g, "`");
}
