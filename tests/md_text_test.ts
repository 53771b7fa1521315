// Strings in the harness's Markdown are shown as they are: a case id whose config path holds
// `|` or a backtick broke compare.md's table (the id went in raw) and summary.md changed the
// backtick into ', so an id copied from it matched no case (report/md_text.ts).
import assert from "node:assert/strict";
import { cutText, mdCell, mdCode, mdForTerminal } from "../report/md_text.ts";
import { ProgressReporter } from "../report/progress.ts";
import { shortGroupLabels } from "../report/html/mod.ts";
import { compareBaselines, compareToMarkdown } from "../drift/mod.ts";
import { toMarkdown } from "../report/mod.ts";
import { passesMarkdown, toMarkdown as benchToMarkdown } from "../bench/report.ts";
import { comparisonMarkdown } from "../cli/compare_runtimes.ts";
import type { RuntimeOutcome } from "../runner/compare_runtimes.ts";
import { benchFixture } from "./report_html_fixtures.ts";
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

Deno.test("summary.md writes control characters in a message or group visibly, never raw", () => {
  // a user backend's error with an ANSI colour code, a NUL and a bell: raw, `cat summary.md`
  // turned the terminal red and GitHub's step summary showed nothing where they were
  const message = "Error: \x1b[31mboom\x1b[0m\x00\x07 at <kernel>";
  const md = toMarkdown(report([
    result({ b: 2 }, { status: "error", decision: "not-reached", message, out: undefined }),
    result({ b: 3 }, { group: "g\x1b[1m\x9b" }),
  ]));
  // deno-lint-ignore no-control-regex
  assert.doesNotMatch(md, /[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]/);
  assert.ok(
    md.includes("| Error: \\\\u001b[31mboom\\\\u001b[0m\\\\u0000\\\\u0007 at &lt;kernel&gt; |"),
    md,
  );
  assert.ok(md.includes("| g\\\\u001b[1m\\\\u009b |"), md);
  assert.equal(mdCode("a\x1bb"), "`a\\u001bb`");
  assert.equal(mdCell("tab\tstays"), "tab\tstays");
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

Deno.test("bench summary.md and compare-runtimes.md keep their cells; a compiler's <f32> stays text", () => {
  const error = "shader error: `array<f32>` | at 3:14\nexpected `vec4<f32>`";
  const fixture = benchFixture();
  const bench = benchToMarkdown({
    ...fixture,
    records: [...fixture.records, { ...fixture.records[0], status: "error", reason: error }],
  }, { title: "t" });
  const header = bench.split("\n").find((l) => l.startsWith("| case | backend |"));
  assert.ok(header, bench);
  const row = bench.split("\n").find((l) => l.includes("shader error"));
  assert.ok(row, bench);
  assert.equal(cells(row).length, cells(header).length, row);
  // no raw angle brackets outside a code span (they would read as HTML tags); inside one they
  // are shown as they are (`array&lt;f32&gt;` showed the entity)
  assert.ok(!/<f32>/.test(bench.replace(/`[^`]*`/g, "")), bench);
  assert.ok(row.includes("`array<f32>` \\| at 3:14 expected `vec4<f32>`"), row);

  const outcome: RuntimeOutcome = {
    status: "pass",
    decision: "supported",
    message: "",
    maxAbs: 0,
    headroom: 0,
  };
  const md = comparisonMarkdown([{
    id: HOSTILE,
    deno: outcome,
    chromium: { ...outcome, status: "error", message: error },
    bits: null,
    finding: `chromium: ${error}`,
  }], { deno: "d", chromium: "c", sameDriver: false, matrix: "m" });
  const lines = md.split("\n");
  const crRow = lines.find((l) => l.includes("$(id)"));
  const crHeader = lines.find((l) => l.startsWith("| case | deno |"));
  assert.ok(crRow && crHeader, md);
  assert.equal(cells(crRow).length, cells(crHeader).length, crRow);
  assert.ok(!/<f32>|<i>/.test(md.replace(/`[^`]*`/g, "")), md);
  // stopped by SIGINT: said first, with the cases not compared (it read as complete)
  const cut = comparisonMarkdown([], {
    deno: "d",
    chromium: "c",
    sameDriver: false,
    matrix: "m",
    interrupted: { signal: "SIGINT", selected: 3, notRun: ["a", "b"] },
  });
  assert.match(
    cut,
    /^# compare-runtimes: m\n\n\*\*Interrupted by SIGINT: 1 of 3 selected cases ran; 2 not run\*\* \(a, b\)\n/,
  );
});

Deno.test("bench's passes table keeps its cells with a user backend's pass names", () => {
  const r = benchFixture().records[0];
  const md = passesMarkdown([{ ...r, passes: { "scores|<mine>": 1.5, "values`2`": 0.25 } }]);
  const header = md.find((l) => l.startsWith("| case | core |"));
  const row = md.find((l) => l.includes("mine"));
  assert.ok(header && row, md.join("\n"));
  assert.equal(cells(row).length, cells(header).length, row);
  assert.ok(row.includes("scores\\|&lt;mine&gt; 1.50"), row);
});

Deno.test("compare's Markdown in a terminal reads its pipes and backslashes unescaped", () => {
  // a case that now errors: its message (a WGSL error's `a | b`, a Windows path) is the detail
  const message = "shader error: x | y at C:\\k\\absorbed.wgsl";
  const base = baselineOf([supportedCase(HOSTILE)]);
  const moved = baselineOf([supportedCase(HOSTILE, { status: "error", message })]);
  const md = compareToMarkdown(compareBaselines(base, moved));
  const row = md.split("\n").find((l) => l.startsWith("| ") && l.includes("$(id)"));
  assert.ok(row !== undefined && row.includes("x \\| y at C:\\\\k"), md);
  const shownRow = mdForTerminal(row);
  // the message as recorded, and the case id as run (its pipe unescaped, its fence kept)
  assert.ok(shownRow.includes(message), shownRow);
  assert.ok(shownRow.startsWith(`| ${mdCode(HOSTILE)} |`), shownRow);
  // outside a table a code span is shown as written; text escapes are read back
  assert.equal(mdForTerminal("`a\\|b` x \\| y &lt;z&gt;"), "`a\\|b` x | y <z>");
});

Deno.test("summary.md escapes the Markdown GitHub would render in a message; code spans stay", () => {
  // a user backend's error: GitHub showed emphasis, a link, an entity's "&", math, a strike
  const message = "*em* _u_ [x](http://e.example) &amp; ~~s~~ $x$ `a*b|c<d>` snake_case [0,1] `";
  const md = toMarkdown(report([
    result({ b: 2 }, { status: "error", decision: "not-reached", message, out: undefined }),
    result({ b: 3 }, { group: "_g_ *h*" }),
  ]));
  const escaped =
    "\\*em\\* \\_u\\_ [x\\](http:&#8203;//e.example) &amp;amp; \\~\\~s\\~\\~ \\$x\\$ " +
    "`a*b\\|c<d>` snake_case [0,1] \\`";
  const row = md.split("\n").find((l) => l.includes("snake_case"));
  assert.ok(row?.endsWith(`| ${escaped} |`), md);
  assert.ok(md.includes("| \\_g\\_ \\*h\\* | 1 | 1 |"), md);
  // the verdict's headline names a user backend's id: "fast" rendered in italics
  const ranNothing = toMarkdown(
    report([result({ b: 2 }, { status: "unexpected", decision: "unsupported" })], {
      backend: "my._fast_.x",
    }),
  );
  assert.match(ranNothing, /\*\*The run fails: --backend my\.\\_fast\\_\.x ran none of /);
  // a terminal reads it back as written
  assert.equal(mdForTerminal(`| ${mdCell(message)} |`), `| ${message} |`);
  assert.equal(mdForTerminal(mdCell("a \\` b")), "a \\` b");
});

Deno.test("summary.md quotes a message's @mention, :emoji:, #12 and URLs as text, none of them live", () => {
  // a user backend's error: GitHub's step summary notified @octocat, showed 🎉 and linked
  // the URL, the `www.` name and issue 12; a backslash escape stops none of them
  const message = "boom :tada: :+1: @octocat @org/team a@b.example https://e.example/x " +
    "www.e.example #12 at 12:30:45 `@x :tada: https://y`";
  const md = toMarkdown(report([
    result({ b: 2 }, { status: "error", decision: "not-reached", message, out: undefined }),
    result({ b: 3 }, { group: "@team :rocket:" }),
  ]));
  const row = md.split("\n").find((l) => l.includes("boom"));
  const escaped = "boom :&#8203;tada: :&#8203;+1: @&#8203;octocat @&#8203;org/team " +
    "a@&#8203;b.example https:&#8203;//e.example/x www&#8203;.e.example #&#8203;12 at " +
    "12:30:45 `@x :tada: https://y`";
  assert.ok(row?.endsWith(`| ${escaped} |`), md);
  assert.ok(md.includes("| @&#8203;team :&#8203;rocket: |"), md);
  // nothing GitHub would link is left outside the code span
  const text = escaped.replace(/`[^`]*`/g, "").replaceAll("&#8203;", "\u200b");
  assert.doesNotMatch(text, /(?<![\w])@\w|:[a-z+-]+:|(?<!\w)#\d|:\/\/|www\./);
  // a terminal reads it back as written; words, times and ids are left alone
  assert.equal(mdForTerminal(`| ${mdCell(message)} |`), `| ${message} |`);
  for (const s of ["a#1", "awww.x", "12:30:45", "preset=tiny;b=2", "C:\\k"]) {
    assert.equal(mdCell(s), s.replace("\\", "\\\\"));
  }
});

Deno.test("a cut cell, progress line or plot label never splits an emoji in two", () => {
  // cut between the halves of a surrogate pair, the half was written as U+FFFD "�"
  const lone = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
  const message = "a".repeat(298) + "😀 and more";
  assert.doesNotMatch(mdCell(message), lone);
  assert.ok(mdCell(message).endsWith("a…"), mdCell(message));
  assert.equal(cutText("ab😀", 3), "ab");
  assert.equal(cutText("ab😀", 4), "ab😀");
  const out: string[] = [];
  const p = new ProgressReporter(1, {
    out: {
      writeSync: (b) => (out.push(new TextDecoder().decode(b)), b.length),
      isTerminal: () => true,
    },
    live: true,
    columns: 80,
  });
  for (let at = 0; at < 80; at++) {
    p.caseDone(result({ b: 2 }, { id: "x".repeat(at) + "😀".repeat(40) }));
  }
  assert.doesNotMatch(out.join(""), /\uFFFD/);
  for (const label of shortGroupLabels(["😀".repeat(200)]).values()) {
    assert.doesNotMatch(label, lone);
  }
});
