// Strings in the harness's Markdown are shown as they are: a case id whose config path holds
// `|` or a backtick broke compare.md's table (the id went in raw) and summary.md changed the
// backtick into ', so an id copied from it matched no case (report/md_text.ts).
import assert from "node:assert/strict";
import { mdCell, mdCode } from "../report/md_text.ts";
import { compareBaselines, compareToMarkdown } from "../drift/mod.ts";
import { toMarkdown } from "../report/mod.ts";
import { baselineOf, supportedCase } from "./drift_helpers.ts";
import { report, result } from "./report_util.ts";

const HOSTILE = "preset=c`<i>`|'$(id)``x.json;b=2";

/** The cells of a table row, split on the pipes Markdown reads as cell borders. */
const cells = (row: string) => row.split(/(?<!\\)\|/).slice(1, -1);

/** What a code span shows (CommonMark: the fence, then one space each side stripped). */
function shown(span: string): string {
  const fence = /^`+/.exec(span)![0];
  assert.ok(span.endsWith(fence), span);
  const inner = span.slice(fence.length, span.length - fence.length);
  const body = inner.startsWith(" ") && inner.endsWith(" ") && inner.trim() !== ""
    ? inner.slice(1, -1)
    : inner;
  assert.ok(!body.includes(fence) || /`{2,}/.test(fence), "the fence is not inside");
  return body;
}

Deno.test("mdCode shows any string to the letter; in a table its pipes are escaped", () => {
  for (const s of [HOSTILE, "`", "a``b", "`start", "end`", "plain"]) {
    const span = mdCode(s);
    const runs = (s.match(/`+/g) ?? []).map((r) => r.length);
    assert.equal(/^`+/.exec(span)![0].length, Math.max(0, ...runs) + 1, span);
    assert.equal(shown(span), s);
    assert.equal(shown(mdCode(s, { table: true })).replaceAll("\\|", "|"), s);
  }
  assert.equal(mdCell("a|b\n<c>\\"), "a\\|b &lt;c&gt;\\\\");
});

Deno.test("compare.md and summary.md rows keep their cells with a hostile case id", () => {
  const base = baselineOf([supportedCase(HOSTILE)]);
  const moved = baselineOf([supportedCase(HOSTILE, { outputDigest: "other", status: "fail" })]);
  const md = compareToMarkdown(compareBaselines(base, moved));
  const rows = md.split("\n").filter((l) => l.startsWith("| ") && l.includes("$(id)"));
  assert.ok(rows.length > 0, md);
  for (const row of rows) {
    const header = md.split("\n")[md.split("\n").indexOf(row) - 2] ?? "";
    assert.equal(cells(row).length, cells(header).length, `${row}\n${header}`);
    const span = cells(row)[0].trim();
    assert.equal(shown(span).replaceAll("\\|", "|"), HOSTILE);
  }
  const summary = toMarkdown(report([result({ b: 2 }, { id: HOSTILE })]));
  const line = summary.split("\n").find((l) => l.includes("$(id)") && l.startsWith("| "));
  assert.ok(line, summary);
  assert.equal(shown(cells(line)[0].trim()).replaceAll("\\|", "|"), HOSTILE);
});
