import assert from "node:assert/strict";
import { appendStepSummary, summaryTotals, toMarkdown } from "../report/mod.ts";
import { mixedResults, report, result, withTempDir } from "./report_util.ts";

Deno.test("markdown: totals line counts each kind", () => {
  const r = report(mixedResults());
  assert.deepEqual(summaryTotals(r), {
    cases: 4,
    pass: 1,
    fail: 1,
    unexpected: 0,
    error: 1,
    skippedAsExpected: 1,
    notRun: 0,
  });
  const md = toMarkdown(r);
  assert.match(
    md,
    /\*\*4 cases\*\*: 1 pass, 1 fail, 0 unexpected, 1 error, 1 skipped as expected/,
  );
});

Deno.test("markdown: failures come before passes; slowest cases and environment listed", () => {
  const results = mixedResults();
  const md = toMarkdown(report(results));
  const at = (id: string, from = 0) => md.indexOf("`" + id + "`", from);
  const cases = md.indexOf("### Cases");
  const [pass, fail, skip, error] = results.map((r) => at(r.id, cases));
  assert.ok(cases >= 0 && fail > cases);
  assert.ok(fail < error && error < pass && pass < skip, md);
  // The failure's message is its worst error, with table-breaking characters escaped.
  assert.ok(md.includes("out: max \\|err\\| 0.05 at [0,3,17] &lt;&\"'&gt; tol"), md);

  const slow = md.indexOf("### Slowest 4");
  assert.ok(slow > skip);
  const order = results.map((r) => at(r.id, slow));
  // 900 ms (fail), 120 (pass), 50 (error), 5 (skip)
  assert.ok(order[1] < order[0] && order[0] < order[3] && order[3] < order[2], md);

  const env = md.indexOf("### Environment");
  assert.ok(env > slow);
  assert.ok(md.includes("Deno 2.9.6"));
  assert.ok(md.includes("llvmpipe (LLVM 15.0.7, 256 bits) (mesa)"));
  assert.ok(md.includes("0123456789abcdef0123456789abcdef01234567"));
});

Deno.test("markdown: only the 10 slowest are listed; passing rows are capped", () => {
  const many = Array.from({ length: 30 }, (_, i) => result({ b: i + 1 }, { wallMs: i * 10 }));
  const md = toMarkdown(report(many), { maxRows: 5 });
  const slowSection = md.slice(md.indexOf("### Slowest 10"), md.indexOf("### Environment"));
  assert.equal(slowSection.split("\n").filter((l) => l.startsWith("| `")).length, 10);
  assert.ok(slowSection.indexOf("b=30;") < slowSection.indexOf("b=21;"));
  assert.ok(!slowSection.includes("b=20;"));
  assert.match(md, /…and 25 more passing cases\./);
});

Deno.test("markdown: appendStepSummary appends to $GITHUB_STEP_SUMMARY when set", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/summary`;
    const before = Deno.env.get("GITHUB_STEP_SUMMARY");
    try {
      Deno.env.delete("GITHUB_STEP_SUMMARY");
      assert.equal(await appendStepSummary("# a"), false);
      Deno.env.set("GITHUB_STEP_SUMMARY", path);
      assert.equal(await appendStepSummary("# a"), true);
      assert.equal(await appendStepSummary("# b\n"), true);
      assert.equal(await Deno.readTextFile(path), "# a\n# b\n");
    } finally {
      if (before === undefined) Deno.env.delete("GITHUB_STEP_SUMMARY");
      else Deno.env.set("GITHUB_STEP_SUMMARY", before);
    }
  });
});
