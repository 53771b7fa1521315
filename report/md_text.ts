/**
 * Text inside the harness's Markdown (summary.md, compare.md): table cells and code spans
 * that show any string as it is, a case id or a path with `|`, backticks or `<` included.
 *
 * @module
 */

/**
 * A table cell: one line (newlines folded), cut at `max` characters, with backslashes, pipes
 * and angle brackets escaped so that the row keeps its cells and nothing reads as HTML.
 *
 * @example
 * ```ts
 * import { mdCell } from "./md_text.ts";
 * mdCell("a|b <c>"); // "a\\|b &lt;c&gt;"
 * ```
 */
export function mdCell(s: string, max = 300): string {
  const one = s.replace(/\s*[\r\n]+\s*/g, " ");
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
 * Newlines become spaces.
 *
 * @example
 * ```ts
 * import { mdCode } from "./md_text.ts";
 * mdCode("a`b"); // "``a`b``"
 * mdCode("a|b", { table: true }); // "`a\\|b`"
 * ```
 */
export function mdCode(s: string, options: { table?: boolean } = {}): string {
  const one = s.replace(/[\r\n]+/g, " ");
  const longest = Math.max(0, ...(one.match(/`+/g) ?? []).map((r) => r.length));
  const fence = "`".repeat(longest + 1);
  const pad = one.startsWith("`") || one.endsWith("`") ? " " : "";
  const body = options.table ? one.replace(/\|/g, "\\|") : one;
  return `${fence}${pad}${body}${pad}${fence}`;
}

/**
 * Markdown the harness wrote (compare.md), as a terminal shows it: the angle brackets
 * {@link mdCell} escaped for a Markdown renderer read back as `<` and `>` (a terminal renders
 * no entity, so "(> 4x ...)" read "(&gt; 4x ...)"). The file keeps its escapes.
 *
 * @example
 * ```ts
 * import { mdCell, mdForTerminal } from "./md_text.ts";
 * mdForTerminal(`| ${mdCell("max_abs 1 → 9 (> 4x)")} |`); // "| max_abs 1 → 9 (> 4x) |"
 * ```
 */
export function mdForTerminal(md: string): string {
  return md.replace(/&lt;/g, "<").replace(/&gt;/g, ">");
}
