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
 * A table cell: one line (newlines folded), cut at `max` characters, with backslashes, pipes
 * and angle brackets escaped so that the row keeps its cells and nothing reads as HTML, and
 * control characters written as `\uXXXX` (an error's ANSI colour code or NUL went into
 * summary.md raw: a terminal showing the file turned red, GitHub showed nothing of it).
 *
 * @example
 * ```ts
 * import { mdCell } from "./md_text.ts";
 * mdCell("a|b <c>"); // "a\\|b &lt;c&gt;"
 * ```
 */
export function mdCell(s: string, max = 300): string {
  const one = visibleControls(s.replace(/\s*[\r\n]+\s*/g, " "));
  const cut = one.length > max ? one.slice(0, max - 1) + "…" : one;
  return cut.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/</g, "&lt;").replace(
    />/g,
    "&gt;",
  );
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

/** One line of {@link mdForTerminal}: text unescaped, code spans (CommonMark fences) kept. */
function lineForTerminal(line: string): string {
  const table = line.trimStart().startsWith("|");
  const text = (s: string) =>
    s.replace(/\\([\\|])/g, "$1").replace(/&lt;/g, "<").replace(/&gt;/g, ">");
  let out = "";
  let at = 0;
  while (at < line.length) {
    const open = line.indexOf("`", at);
    if (open < 0) break;
    const fence = /^`+/.exec(line.slice(open))![0];
    // the span closes at the next run of exactly as many backticks; none: literal backticks
    let close = -1;
    for (let i = open + fence.length; i < line.length;) {
      const run = /^`+/.exec(line.slice(i));
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
      out += text(line.slice(at, open + fence.length));
      at = open + fence.length;
      continue;
    }
    const span = line.slice(open, close + fence.length);
    out += text(line.slice(at, open)) + (table ? span.replace(/\\\|/g, "|") : span);
    at = close + fence.length;
  }
  return out + text(line.slice(at));
}
