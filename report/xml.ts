/**
 * XML escaping for the JUnit writer.
 *
 * @module
 */

/** Options of {@link escapeXml}. */
export interface EscapeXmlOptions {
  /**
   * Keep tab and newline characters as they are (fine in element text; default false:
   * they become character references, which attribute values need to keep them).
   */
  readonly keepNewlines?: boolean;
}

// Markup characters, whitespace that attribute normalization would eat, C0/C1 controls,
// DEL, lone surrogates and the non-characters U+FFFE/U+FFFF. Matching control characters
// is the point of this expression.
const SPECIAL =
  // deno-lint-ignore no-control-regex
  /[&<>"'\t\n\r\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

const NAMED: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
};

/**
 * Escapes text for XML 1.0 element content or attribute values. `& < > " '` become entity
 * references; tab, newline and carriage return become character references (or stay, with
 * `keepNewlines`, where they are not in an attribute); C1 controls and DEL become character
 * references; characters XML 1.0 cannot carry at all (other C0 controls, lone surrogates,
 * U+FFFE/U+FFFF) are written visibly as `\uXXXX`, so no information is silently lost.
 *
 * @example
 * ```ts
 * import { escapeXml } from "./xml.ts";
 * escapeXml(`a<b & "c"`); // "a&lt;b &amp; &quot;c&quot;"
 * escapeXml("\x1b[31m"); // "\\u001b[31m"
 * ```
 */
export function escapeXml(text: string, options: EscapeXmlOptions = {}): string {
  return text.replace(SPECIAL, (ch) => {
    const named = NAMED[ch];
    if (named !== undefined) return named;
    const code = ch.charCodeAt(0);
    if (code === 0x09 || code === 0x0a || code === 0x0d) {
      return options.keepNewlines && code !== 0x0d ? ch : `&#${code};`;
    }
    if (code >= 0x7f && code <= 0x9f) return `&#x${code.toString(16).toUpperCase()};`;
    return "\\u" + code.toString(16).padStart(4, "0");
  });
}
