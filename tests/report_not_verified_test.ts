// A run that verified nothing, or only part of its cases, says so (audit 2026-12-06): on GL
// (no shader-f16) `run --filter 'preset=tiny;dtype=f16'` wrote a green report.html of "0 pass"
// whose groups read "24/24 passed", and only the terminal said what was not covered and how to
// cover it. Now the verdict says it in words, groups count skipped cases apart, and report.html
// and summary.md have a "not covered on this device" section with the reasons and the fix.
import assert from "node:assert/strict";
import { countsText, groupLines, runVerdict, toMarkdown } from "../report/mod.ts";
import { notCoveredLine } from "../report/not_covered.ts";
import { runReportHtml } from "../report/html/mod.ts";
import type { CaseResult } from "../results/types.ts";
import { report, result } from "./report_util.ts";

const GROUP = "tiny: all paths";

/** A case expected to run that the device refused for want of shader-f16 (a pass, skipped). */
function notCovered(b: number, group = GROUP): CaseResult {
  return result({ b, dtype: "f16" }, {
    group,
    decision: "unsupported",
    message: "unsupported: no shader-f16",
    out: undefined,
    backend: undefined,
    reasons: [{ code: "dtype.f16-unavailable", message: "dtype f16 needs shader-f16" }],
  });
}

function verdictOf(html: string): { level: string; text: string } {
  const m = /<p class="verdict (\w+)" id="verdict">([^<]*)<\/p>/.exec(html);
  assert.ok(m, "report.html has a verdict");
  return { level: m[1], text: m[2] };
}

Deno.test("report: a run whose every case was refused for the device says nothing was verified", async () => {
  const r = report([notCovered(1), notCovered(2), notCovered(3, "layer")]);
  assert.equal(runVerdict(r).level, "warn");
  const html = await runReportHtml(r);
  const v = verdictOf(html);
  assert.equal(v.level, "warn", "not green");
  assert.match(v.text, /No case was verified: 3 not covered on this device \(skipped\)\.$/);
  // the counts name them not covered, not "skipped as expected": the matrix expects them run
  assert.match(
    v.text,
    /^3 cases: 0 pass, 0 fail, 0 unexpected, 0 error, 3 not covered\./,
  );
  // groups count the skipped cases apart from the passed ones
  assert.match(html, /<b>tiny: all paths<\/b>: 2 cases: 0 passed, 2 skipped;/);
  assert.match(html, /<b>layer<\/b>: 1 case: 0 passed, 1 skipped;/);
  assert.doesNotMatch(html, /\d+\/\d+ passed/);
  // the reasons and the fix, as the terminal prints them
  const at = html.indexOf('<section id="not-covered">');
  assert.ok(at > 0, "a not-covered section");
  const sec = html.slice(at, html.indexOf("</section>", at));
  assert.match(sec, /Not covered on this device \(3\)/);
  assert.match(sec, /3 × <code>dtype\.f16-unavailable<\/code><\/b>: dtype f16 needs shader-f16/);
  assert.match(
    sec,
    /To cover them, install Mesa&#39;s Vulkan driver \(apt-get install mesa-vulkan-drivers\)/,
  );

  const md = toMarkdown(r);
  assert.match(
    md,
    /^⚠️ \*\*3 cases\*\*: 0 pass, 0 fail, 0 unexpected, 0 error, 3 not covered$/m,
  );
  // the console's counts, word for word (it read "0 skipped as expected, 3 not covered" here)
  assert.ok(md.includes(`**3 cases**: ${countsText(r.results)}\n`), countsText(r.results));
  assert.ok(!md.includes("✅"), md);
  assert.match(md, /^\*\*No case was verified: 3 not covered on this device \(skipped\)\.\*\*$/m);
  assert.match(md, /^### Not covered on this device \(3\)$/m);
  assert.match(md, /^- 3 × `dtype\.f16-unavailable`: dtype f16 needs shader-f16$/m);
  assert.match(
    md,
    /^To cover them, install Mesa's Vulkan driver \(apt-get install mesa-vulkan-drivers\)/m,
  );
  // the fold of the other cases does not call them passing: none passed
  assert.match(md, /<summary>3 passing or skipped cases \(0 passed, 3 skipped\)<\/summary>/);
  // group, cases, passed, failed, skipped, not run
  assert.ok(md.includes("| ⚠ tiny: all paths | 2 | 0 | 0 | 0 | 2 | 0 | – |"), md);
});

Deno.test("report: a shard the hash gave no case is amber and says so, not a green 0 cases", async () => {
  // `run --filter <one case> --shard 1/2 --out x` exits 0 with "0/0 cases" (a shard may be
  // empty), and its summary.md read "✅ 0 cases", report.html a green verdict
  const one = result({ b: 1 });
  const r = { ...report([]), shard: "1/2", matrixIds: [one.id], shardIds: [] };
  const v = runVerdict(r);
  assert.equal(v.level, "warn");
  const said = "No case was run: shard 1/2 holds none of the 1 case of its matrix and filter " +
    "(cases go to shards by a hash of their id).";
  assert.equal(v.headline, said);
  const md = toMarkdown(r);
  assert.match(md, /^⚠️ \*\*0 cases\*\*/m);
  assert.ok(md.includes(`**${said}**`), md);
  const html = verdictOf(await runReportHtml(r));
  assert.equal(html.level, "warn");
  assert.ok(html.text.endsWith(said), html.text);
});

Deno.test("report: a run that verified only some of its cases says how many", async () => {
  const r = report([result({ b: 1 }, { group: GROUP }), notCovered(2)]);
  const v = verdictOf(await runReportHtml(r));
  assert.equal(v.level, "warn");
  assert.match(v.text, /Only 1 of 2 cases were verified: 1 not covered on this device \(skipped\)/);
  assert.match(toMarkdown(r), /^\*\*Only 1 of 2 cases were verified: /m);
  // a red one names what made it red among the verified: it read "Only 3 of 4 cases were
  // verified: 1 not covered", the amber reason only
  const unexpected = (b: number) =>
    result({ b }, { group: GROUP, status: "unexpected", decision: "supported" });
  const red = report([
    result({ b: 1 }, { group: GROUP }),
    result({ b: 5 }, { group: GROUP, status: "fail" }),
    unexpected(3),
    unexpected(4),
    notCovered(2),
  ]);
  const said = "Only 4 of 5 cases were verified (1 failed and 2 unexpected decisions among " +
    "them): 1 not covered on this device (skipped).";
  assert.equal(runVerdict(red).headline, said);
  assert.equal(runVerdict(red).level, "bad");
  assert.ok(verdictOf(await runReportHtml(red)).text.endsWith(said));
  assert.ok(toMarkdown(red).includes(`**${said}**`));
});

Deno.test("report: a --backend of the other path is not covered in this run, with its fix", async () => {
  const r = report([
    result({ b: 1, path: "expanded" }, {
      decision: "unsupported",
      message: "unsupported",
      out: undefined,
      reasons: [{ code: "backend.path-mismatch", message: "wgsl-absorbed-gemm runs absorbed" }],
    }),
  ]);
  const html = await runReportHtml(r);
  assert.match(verdictOf(html).text, /No case was verified: 1 not covered in this run/);
  assert.match(html, /Not covered in this run \(1\)/);
  // one case: "it", not "they" ("1 case ... was refused: they count as skipped")
  assert.match(
    html,
    /1 case the matrix expects to run was refused by this run's backend: it counts as skipped, and nothing of it was verified\./,
  );
  assert.match(html, /To cover it, run without --backend/);
  const md = toMarkdown(r);
  assert.match(
    md,
    /^A case the matrix expects to run that was refused \(counted as skipped\), so nothing of it was verified:$/m,
  );
  assert.match(md, /^To cover it, run without --backend/m);
  assert.match(
    notCoveredLine(r.results) ?? "",
    /: 1 case \(.*\); to cover it, run without --backend/,
  );
  // several: "them"
  assert.match(notCoveredLine([...r.results, ...r.results]) ?? "", /; to cover them, run without/);
});

Deno.test("report: expected refusals and passes are verified: green, no not-covered section", async () => {
  const r = report([
    result({ b: 1 }, { group: GROUP }),
    result({ dtype: "f16", device: "no-f16" }, {
      group: GROUP,
      decision: "unsupported",
      expect: { support: "unsupported", codes: ["dtype.f16-unavailable"] },
      out: undefined,
      reasons: [{ code: "dtype.f16-unavailable", message: "no shader-f16" }],
    }),
  ]);
  const html = await runReportHtml(r);
  const v = verdictOf(html);
  assert.equal(v.level, "ok");
  assert.doesNotMatch(v.text, /verified/);
  assert.ok(!html.includes('id="not-covered"'));
  assert.match(html, /2 cases: 1 passed, 1 skipped;/);
  const md = toMarkdown(r);
  assert.match(md, /^✅ /m);
  assert.ok(!md.includes("Not covered"), md);
  // a group of refusals the matrix expects only (the adapter matrix's) was verified: not
  // marked ⚠ "nothing of the group verified", as every such group of a green run was
  const refusals = report([
    result({ b: 1 }, { group: "ok" }),
    ...[2, 3].map((b) =>
      result({ b, dtype: "f16", device: "no-f16" }, {
        group: "refused as expected",
        decision: "unsupported",
        expect: { support: "unsupported", codes: ["dtype.f16-unavailable"] },
        out: undefined,
        reasons: [{ code: "dtype.f16-unavailable", message: "no shader-f16" }],
      })
    ),
  ]);
  const lines = toMarkdown(refusals);
  assert.ok(lines.includes("\n| refused as expected | 2 | 0 | 0 | 0 | 2 | 0 | – |"), lines);
  assert.deepEqual(groupLines(refusals.results).map((g) => g.notCovered), [0, 0]);
});

Deno.test("report: a --backend that ran none of the cases expected to run is red and says the run fails, as its exit 1 does", async () => {
  // `run --filter 'preset=tiny;path=expanded;dtype=f32' --backend wgsl-absorbed` exits 1 ("ran
  // none of the 23 cases expected to run ... so the run fails"), while report.html was amber
  // and summary.md a warning, "not covered in this run" (audit 2026-12-07, skipped_report).
  const refused = (b: number) =>
    result({ b, path: "expanded" }, {
      decision: "unsupported",
      message: "unsupported",
      out: undefined,
      backend: undefined,
      reasons: [{ code: "backend.path-mismatch", message: "wgsl-absorbed runs absorbed" }],
    });
  const r = report([refused(1), refused(2)], { backend: "wgsl-absorbed" });
  assert.equal(runVerdict(r).level, "bad");
  const v = verdictOf(await runReportHtml(r));
  assert.equal(v.level, "bad");
  assert.match(v.text, /No case was verified: 2 not covered in this run \(skipped\)\./);
  assert.match(v.text, /The run fails: --backend wgsl-absorbed ran none of the cases expected/);
  const md = toMarkdown(r);
  assert.match(md, /^❌ \*\*2 cases\*\*/m);
  assert.match(md, /The run fails: --backend wgsl-absorbed ran none/);
  // a --backend that ran some of its cases stays amber (exit 0)
  const some = report([refused(1), result({ b: 2 }, { backend: "wgsl-absorbed" })], {
    backend: "wgsl-absorbed",
  });
  assert.equal(runVerdict(some).level, "warn");
  assert.doesNotMatch(runVerdict(some).headline ?? "", /fails/);
  // refused only for what the device lacks: a warning of the run (exit 0), amber
  const f16 = report([notCovered(1)], { backend: "wgsl-absorbed" });
  assert.equal(runVerdict(f16).level, "warn");
});

Deno.test("countsText: the console's counts name the cases not covered apart from the expected skips, as summary.md does", () => {
  const expectedSkip = result({ b: 9 }, {
    decision: "unsupported",
    expect: { support: "unsupported" },
    out: undefined,
    backend: undefined,
  });
  const passed = result({ b: 8 });
  // GL's f16 cases read "2 skipped as expected", where the matrix expects them run
  assert.equal(
    countsText([passed, notCovered(1), notCovered(2)]),
    "1 pass, 0 fail, 0 unexpected, 0 error, 2 not covered",
  );
  assert.equal(
    countsText([passed, expectedSkip, notCovered(1)]),
    "1 pass, 0 fail, 0 unexpected, 0 error, 1 skipped as expected, 1 not covered",
  );
  assert.equal(
    countsText([passed, expectedSkip]),
    "1 pass, 0 fail, 0 unexpected, 0 error, 1 skipped as expected",
  );
});

Deno.test("report: a case refused for two reasons is counted under each, and the reports say so", async () => {
  // the GL fallback: an f16 case of a model size lacks shader-f16 and is too slow (the reasons'
  // counts, 2 and 1 for 2 cases, added up to more than the cases, unsaid)
  const slow = { code: "device.too-slow", message: "kv_lora_rank 512 x 16 heads is above 1024" };
  const both = result({ b: 1, dtype: "f16", preset: "deepseek-v2-lite" }, {
    group: GROUP,
    decision: "unsupported",
    message: "unsupported",
    out: undefined,
    backend: undefined,
    reasons: [{ code: "dtype.f16-unavailable", message: "dtype f16 needs shader-f16" }, slow],
  });
  const r = report([both, notCovered(2)]);
  const md = toMarkdown(r);
  assert.match(md, /^- 2 × `dtype\.f16-unavailable`: /m);
  assert.match(md, /^- 1 × `device\.too-slow`: /m);
  assert.match(
    md,
    /^1 of the 2 cases has more than one of these reasons, counted under each\.$/m,
  );
  assert.match(
    await runReportHtml(r),
    /<p id="not-covered-several">1 of the 2 cases has more than one of these reasons, counted under each\.<\/p>/,
  );
  assert.match(
    notCoveredLine(r.results) ?? "",
    /^not covered on this device: 2 cases \(2 × dtype\.f16-unavailable: .*; 1 × device\.too-slow: [^;]*; 1 of the 2 cases has more than one of these reasons, counted under each\); to cover them/,
  );
  // one reason a case: no such sentence
  assert.doesNotMatch(toMarkdown(report([notCovered(1), notCovered(2)])), /more than one/);
});
