import assert from "node:assert/strict";
import {
  appendStepSummary,
  fitStepSummary,
  groupCountsText,
  groupLines,
  MAX_FAILURE_ROWS,
  MAX_GROUP_ROWS,
  mergeRuns,
  STEP_SUMMARY_MAX_BYTES,
  summaryTotals,
  toJunitXml,
  toMarkdown,
  writeRunOutputs,
} from "../report/mod.ts";
import { loadMatrix } from "../matrix/mod.ts";
import { fingerprint, mixedResults, parity, report, result, withTempDir } from "./report_util.ts";
import { writeRunReports } from "../report/run_reports.ts";
import { runReportHtml } from "../report/html/mod.ts";

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

Deno.test("markdown: failures come first, then one line per group, passes folded", () => {
  const results = mixedResults();
  const md = toMarkdown(report(results));
  const at = (id: string, from = 0) => md.indexOf("`" + id + "`", from);
  // a fail and an error: the heading names both (it said "Failures (2)" of one failure)
  const failures = md.indexOf("### Failures and errors (2)");
  const groups = md.indexOf("### Matrix groups");
  const folded = md.indexOf("<details>");
  const [pass, fail, skip, error] = results.map((r) => at(r.id));
  assert.ok(failures >= 0 && failures < fail && fail < error && error < groups, md);
  assert.ok(groups < folded && folded < pass && pass < skip, md);
  assert.ok(md.indexOf("</details>") > skip, md);
  // How to explain a failing case as the run resolved it, after the failures
  const hint = md.indexOf(
    "Explain a case as the run resolved it: `deno task harness explain --case '<id>' --matrix smoke`",
  );
  assert.ok(hint > error && hint < groups, md);
  // no failures, no hint
  assert.ok(!toMarkdown(report([results[0]])).includes("explain --case"));
  // The failure's message is its worst error, with table-breaking characters escaped.
  assert.ok(md.includes("out: max \\|err\\| 0.05 at [0,3,17] &lt;&amp;\"'&gt; tol"), md);

  // the skipped case ran no kernel: it is not among the slowest (it was, at its 5 ms)
  const slow = md.indexOf("### Slowest 3");
  assert.ok(slow > skip);
  // what the kernel median is, a full layer's included (it read as a kernel's)
  assert.ok(md.includes("a full-layer case (mode=layer): the whole layer, timed wall-clock"));
  const order = results.map((r) => at(r.id, slow));
  // 900 ms (fail), 120 (pass), 50 (error); the skip (refused, 5 ms) left out
  assert.ok(order[1] < order[0] && order[0] < order[3], md);
  assert.equal(order[2], -1, md);

  const env = md.indexOf("### Environment");
  assert.ok(env > slow);
  assert.ok(md.includes("Deno 2.9.6"));
  assert.ok(md.includes("llvmpipe (LLVM 15.0.7, 256 bits) (mesa)"));
  assert.ok(md.includes("0123456789abcdef0123456789abcdef01234567"));
});

Deno.test("markdown: one line per matrix group with passed/total and worst headroom", () => {
  const withHeadroom = (h: number) => ({ ...parity(h <= 1), headroom: h });
  const results = [
    result({ b: 1 }, { group: "decode", out: withHeadroom(0.25), lse: withHeadroom(0.5) }),
    result({ b: 2 }, { group: "decode", out: withHeadroom(0.125) }),
    result({ b: 3 }, { group: "prefill", status: "fail", out: withHeadroom(3) }),
    result({ b: 4 }, { group: "prefill", out: withHeadroom(0.0625) }),
    result({ b: 5 }),
    // an error is counted as errored, not failed (nothing was checked)
    result({ b: 6 }, { group: "errors", status: "error" }),
  ];
  const counts = { failed: 0, errored: 0, skipped: 0, notCovered: 0, notRun: 0 };
  assert.deepEqual(groupLines(results), [
    { group: "decode", ...counts, passed: 2, total: 2, worstHeadroom: 0.5 },
    { group: "prefill", ...counts, passed: 1, failed: 1, total: 2, worstHeadroom: 3 },
    { group: "(no group)", ...counts, passed: 1, total: 1, worstHeadroom: null },
    { group: "errors", ...counts, passed: 0, errored: 1, total: 1, worstHeadroom: null },
  ]);
  assert.equal(groupCountsText(groupLines(results)[3]), "1 case: 0 passed, 1 errored");
  const md = toMarkdown(report(results));
  // cases, passed, failed, errored, skipped, not run
  assert.ok(md.includes("| decode | 2 | 2 | 0 | 0 | 0 | 0 | 0.500 |"), md);
  assert.ok(md.includes("| ❌ prefill | 2 | 1 | 1 | 0 | 0 | 0 | 3.000 |"), md);
  assert.ok(md.includes("| (no group) | 1 | 1 | 0 | 0 | 0 | 0 | – |"), md);
  assert.ok(md.includes("| ❌ errors | 1 | 0 | 0 | 1 | 0 | 0 | – |"), md);
  // the failing case's row shows its headroom; a passing case's folded row both sides
  assert.ok(md.includes("**fail** | 3.000 / – |"), md);
  assert.ok(md.includes("| pass | 0.250 / 0.500 |"), md);
});

Deno.test("markdown: a headroom just under 0.01 reads 0.010, as its neighbours, not 1.0e-2", () => {
  const withHeadroom = (h: number) => ({ ...parity(true), headroom: h });
  const results = [
    result({ b: 1 }, { group: "decode", out: withHeadroom(0.00996), lse: withHeadroom(0.0104) }),
    result({ b: 2 }, { group: "prefill", out: withHeadroom(0.0094) }),
  ];
  const md = toMarkdown(report(results));
  assert.ok(md.includes("| pass | 0.010 / 0.010 |"), md);
  assert.ok(md.includes("| pass | 9.4e-3 / – |"), md);
  assert.doesNotMatch(md, /1\.0e-2/);
});

Deno.test("markdown: a nightly-sized summary stays well under GitHub's 1 MiB step-summary limit", async () => {
  const { cases } = await loadMatrix("nightly");
  assert.ok(cases.length > 300, `nightly has ${cases.length} cases`);
  const long = "out: max abs err 3.2e-3 at [2,5,17] (got 0.113, want 0.116); ".repeat(10);
  for (const failEvery of [1, 3, 1000]) {
    const results = cases.map((c, i) =>
      result(c.params, {
        id: c.id,
        group: c.group,
        status: i % failEvery === 0 ? "fail" : "pass",
        message: long,
        out: { ...parity(i % failEvery !== 0, long), headroom: 0.5 },
      })
    );
    const bytes = new TextEncoder().encode(toMarkdown(report(results))).length;
    assert.ok(bytes < 256 * 1024, `${bytes} bytes with every ${failEvery}th case failing`);
  }
});

Deno.test("markdown: past MAX_GROUP_ROWS groups, the failing ones are listed first and the rest counted", () => {
  // a matrix of 8,000 groups made a summary.md of 1.3 MiB, one row a group
  const n = MAX_GROUP_ROWS + 40;
  const results = Array.from({ length: n }, (_, i) =>
    result({ b: 1, sk: 16 + i }, {
      group: `g${i}`,
      // the last groups fail: past the cut in their order, listed all the same
      ...(i >= n - 3 ? { status: "fail" as const, out: parity(false, "bad") } : {}),
    }));
  const md = toMarkdown(report(results));
  const rows = md.split("\n").filter((l) => /^\| (❌ )?g\d+ \|/.test(l));
  assert.equal(rows.length, MAX_GROUP_ROWS);
  for (const i of [n - 3, n - 2, n - 1]) {
    assert.ok(rows.some((r) => r.startsWith(`| ❌ g${i} |`)), `g${i}`);
  }
  // in the groups' order: the failing ones after the passing ones kept
  assert.ok(rows.at(-1)!.startsWith(`| ❌ g${n - 1} |`), rows.at(-1));
  assert.ok(rows.some((r) => r.startsWith(`| g${MAX_GROUP_ROWS - 4} |`)));
  assert.ok(!rows.some((r) => r.startsWith(`| g${MAX_GROUP_ROWS - 3} |`)));
  assert.ok(
    md.includes(
      "…and 40 more groups, none with a failure or a case not run (report.html lists every group).",
    ),
  );
  // when failing groups themselves are cut, the line says how many
  const failing = results.map((r) => ({
    ...r,
    status: "fail" as const,
    out: parity(false, "bad"),
  }));
  assert.ok(
    toMarkdown(report(failing)).includes(
      "…and 40 more groups (40 of them with a failure, a case not run or nothing verified)",
    ),
  );
  // within the cap: every group, no line
  assert.doesNotMatch(toMarkdown(report(results.slice(0, MAX_GROUP_ROWS))), /more groups/);
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
    // `deno test --parallel` runs other modules in this process, whose environment they
    // share: their runs may append their summaries to this file meanwhile. Look for these
    // two lines, in order, each ended by one newline.
    const [a, b] = ["a", "b"].map((x) => `# ${x} ${crypto.randomUUID()}`);
    try {
      Deno.env.delete("GITHUB_STEP_SUMMARY");
      assert.equal(await appendStepSummary(a), false);
      Deno.env.set("GITHUB_STEP_SUMMARY", path);
      assert.equal(await appendStepSummary(a), true);
      assert.equal(await appendStepSummary(`${b}\n`), true);
      const text = await Deno.readTextFile(path);
      const lines = text.split("\n");
      assert.ok(lines.includes(a) && lines.indexOf(a) < lines.indexOf(b), text);
      assert.ok(text.includes(`${b}\n`) && !text.includes(`${b}\n\n`), text);
    } finally {
      if (before === undefined) Deno.env.delete("GITHUB_STEP_SUMMARY");
      else Deno.env.set("GITHUB_STEP_SUMMARY", before);
    }
  });
});

Deno.test("step summary: appended before report.html is written, so a page that cannot be written does not lose it", async () => {
  // report.html, the largest file, met a full disk (here: a folder in its place): the run
  // failed before it appended its summary to $GITHUB_STEP_SUMMARY, and CI showed nothing
  await withTempDir(async (dir) => {
    const before = Deno.env.get("GITHUB_STEP_SUMMARY");
    const matrix = `m-${crypto.randomUUID()}`;
    await Deno.mkdir(`${dir}/out/report.html`, { recursive: true });
    await Deno.writeTextFile(`${dir}/out/report.html/x`, "");
    try {
      Deno.env.set("GITHUB_STEP_SUMMARY", `${dir}/step`);
      await assert.rejects(writeRunReports(`${dir}/out`, report([result({ b: 2 })], { matrix })));
      assert.ok((await Deno.readTextFile(`${dir}/out/summary.md`)).includes(matrix));
      assert.ok((await Deno.readTextFile(`${dir}/step`)).includes(`mla-harness: \`${matrix}\``));
    } finally {
      if (before === undefined) Deno.env.delete("GITHUB_STEP_SUMMARY");
      else Deno.env.set("GITHUB_STEP_SUMMARY", before);
    }
  });
});

Deno.test("markdown: the slowest table gives an expanded case's K/V expansion apart", () => {
  const expanded = result({ path: "expanded", b: 1 }, {
    wallMs: 900,
    timing: {
      source: "timestamp-query",
      samplesMs: [2, 3, 4],
      medianMs: 3,
      scope: "core",
      outsideCoreMs: 1234.5,
    },
  });
  const absorbed = result({ path: "absorbed", b: 2 }, {
    wallMs: 800,
    timing: { source: "timestamp-query", samplesMs: [5], medianMs: 5, scope: "all" },
  });
  const md = toMarkdown(report([expanded, absorbed]));
  assert.match(md, /\| kernel median \(ms\) \| cache construction \(ms\) \|/);
  assert.ok(md.includes(`| \`${expanded.id}\` | 0.90 | 3.000 | 1234.5 |`), md);
  assert.ok(md.includes(`| \`${absorbed.id}\` | 0.80 | 5.000 | – |`), md);
  assert.match(md, /attention core of the expanded path/);
});

Deno.test("step summary: an unwritable $GITHUB_STEP_SUMMARY is a warning, not an error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // a missing folder, and a folder where a file should be
    for (const path of [`${dir}/missing/x.md`, dir]) {
      assert.equal(await appendStepSummary("# s\n", { path }), false, path);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("step summary: what would pass GitHub's 1 MiB limit is cut to fit and says so", async () => {
  // GitHub shows none of a step's summary past 1 MiB; a matrix of thousands of groups made a
  // summary.md of 1.3 MiB, appended whole
  await withTempDir(async (dir) => {
    const path = `${dir}/summary`;
    // what the step wrote before: a command's summary of its own
    const before = "x".repeat(STEP_SUMMARY_MAX_BYTES - 6000) + "\n";
    await Deno.writeTextFile(path, before);
    const results = Array.from({ length: 100 }, (_, i) => result({ b: 1, sk: 16 + i }));
    const md = toMarkdown(report(results));
    assert.ok(new TextEncoder().encode(md).length > 6000, "the summary is larger than the room");
    assert.equal(await appendStepSummary(md, { path }), true);
    const text = await Deno.readTextFile(path);
    assert.ok(new TextEncoder().encode(text).length <= STEP_SUMMARY_MAX_BYTES, `${text.length}`);
    const added = text.slice(before.length);
    assert.ok(md.startsWith(added.slice(0, added.indexOf("<details>"))), "its head as it was");
    assert.match(added, /This step summary was cut at GitHub's 1 MiB limit\*\* \(\d+ of \d+ bytes/);
    // the passing cases' fold it cut into is closed
    assert.equal(added.match(/<details>/g)?.length, added.match(/<\/details>/g)?.length);
    // full: nothing more is added, and the file stays as it was
    const full = "y".repeat(STEP_SUMMARY_MAX_BYTES);
    await Deno.writeTextFile(path, full);
    assert.equal(await appendStepSummary("# s\n", { path }), false);
    assert.equal(await Deno.readTextFile(path), full);
    // within the limit: as it is
    assert.equal(fitStepSummary("# a\n", 100), "# a\n");
    assert.equal(fitStepSummary("```sh\nrun\nrun\nrun\n", 230), "```sh\nrun\nrun\nrun\n");
    assert.match(fitStepSummary("```sh\n" + "run\n".repeat(100), 230), /^```sh\n(run\n)+```\n\n⚠/);
  });
});

Deno.test("markdown: failures past MAX_FAILURE_ROWS point at the files that hold them all", () => {
  const results = Array.from(
    { length: MAX_FAILURE_ROWS + 3 },
    (_, i) => result({ b: 1 + (i % 7), sk: 16 + i }, { status: "fail", out: parity(false) }),
  );
  const md = toMarkdown(report(results));
  // report.html lists failures only up to its size cap (CAPPED_FAILURE_ROWS): not named as
  // holding them all
  assert.match(
    md,
    /…and 3 more failures \(all in junit\.xml and results\.jsonl; report\.html lists them up to its size cap\)\./,
  );
});

Deno.test("markdown: a median some repetitions were left out of (clock faults) says how many beside it", () => {
  const timing = (clockFaults?: number) => ({
    source: "timestamp-query",
    samplesMs: [1, 2, 3],
    medianMs: 2,
    ...(clockFaults ? { clockFaults } : {}),
  });
  const md = toMarkdown(report([
    result({ b: 1 }, { wallMs: 200, timing: timing(2) }),
    result({ b: 2 }, { wallMs: 100, timing: timing() }),
  ]));
  const slow = md.slice(md.indexOf("### Slowest"), md.indexOf("### Environment"));
  assert.match(slow, /\| `[^`]*b=1;[^`]*` \| 0\.20 \| 2\.000 \(2 of 5 left out\) \|/);
  assert.match(slow, /\| `[^`]*b=2;[^`]*` \| 0\.10 \| 2\.000 \|/);
  assert.match(slow, /"N of M left out": timed repetitions whose GPU timestamps went backwards/);
  // none left out: no words
  const clean = toMarkdown(report([result({ b: 2 }, { timing: timing() })]));
  assert.doesNotMatch(clean, /left out/);
});

Deno.test("markdown: says what report.html says of failures, non-finite groups and a run in Chromium", () => {
  // failures before the cases not covered (report.html's order)
  const refused = (b: number) =>
    result({ b, dtype: "f16" }, {
      decision: "unsupported",
      message: "unsupported: no shader-f16",
      out: undefined,
      backend: undefined,
      reasons: [{ code: "dtype.f16-unavailable", message: "dtype f16 needs shader-f16" }],
    });
  const failed = result({ b: 9 }, { status: "fail", out: parity(false) });
  const md = toMarkdown(report([refused(1), refused(2), failed]));
  const failures = md.indexOf("### Failures");
  const notCovered = md.indexOf("### Not covered");
  assert.ok(failures > 0 && notCovered > failures, md);
  // a group whose cases failed on non-finite values, their finite errors within tolerance:
  // its worst headroom alone (0.038) read as within tolerance (report.html said why)
  const nonfinite = (b: number, headroom: number) =>
    result({ b }, {
      status: "fail",
      out: { ...parity(false), checks: ["nonfinite-mismatch"], headroom },
      lse: { ...parity(true), headroom: 0.01 },
    });
  const groups = toMarkdown(
    report([nonfinite(1, 0.038), nonfinite(2, 0.02), result({ b: 3 }, { group: "clean" })]),
  );
  assert.match(
    groups,
    /\| 0\.038 \(2 failed on nonfinite-mismatch, which headroom does not measure\) \|$/m,
  );
  assert.match(groups, /^\| clean \| 1 \| 1 \| 0 \| 0 \| 0 \| 0 \| – \|$/m);
  // a run in Chromium: its browser's caps first, then explain on them (explain alone resolved
  // the case on this process's adapter)
  const browser = {
    name: "chromium",
    version: "HeadlessChrome/150.0.7871.100",
    path: "/opt/my chrome/chrome",
    userAgent: "Mozilla/5.0",
  };
  const chromium = toMarkdown({ ...report([failed]), fingerprint: fingerprint({ browser }) });
  assert.ok(
    chromium.includes(
      "on the adapter of the Chromium it ran in: `deno task harness devices --runtime chromium " +
        "--chromium '/opt/my chrome/chrome' --json > chromium-caps.json`, then `deno task " +
        "harness explain --case '<id>' --matrix smoke --caps chromium-caps.json`",
    ),
    chromium,
  );
  assert.doesNotMatch(toMarkdown(report([failed])), /--caps/);
});

Deno.test("markdown and html: the failures' heading names the kinds it holds: a run of one error is 'Errors (1)'", async () => {
  // a --case-timeout: the totals said "0 fail, 0 unexpected, 1 error" over "### Failures (1)"
  // (summary.md) and "Failures and unexpected decisions (1)" (report.html)
  const timedOut = result({ b: 1 }, { status: "error", message: "timed out", out: undefined });
  const one = report([timedOut]);
  assert.match(toMarkdown(one), /^### Errors \(1\)$/m);
  assert.match(await runReportHtml(one), /<h2>Errors \(1\)<\/h2>/);
  const all = report([
    timedOut,
    result({ b: 2 }, { status: "fail" }),
    result({ b: 3 }, { status: "unexpected", decision: "unsupported", out: undefined }),
  ]);
  assert.match(toMarkdown(all), /^### Failures, unexpected decisions and errors \(3\)$/m);
  assert.match(
    await runReportHtml(all),
    /<h2>Failures, unexpected decisions and errors \(3\)<\/h2>/,
  );
});

// GPU errors raised outside every case's error scope (run.json and report.json's
// lateGpuErrors) were said on the console only: summary.md read "✅ all pass" over them,
// report.html and junit.xml said nothing, and a merge of shards dropped them.
Deno.test("markdown, html, junit: GPU errors outside every case's scope are said; a merge keeps them", async () => {
  const results = [result({ b: 1 }), result({ b: 2 })];
  const late = [
    { afterCase: results[0].id, message: "Buffer has been destroyed.\n  at a pass" },
    ...Array.from({ length: 6 }, (_, i) => ({ afterCase: null, message: `error ${i}` })),
  ];
  const r = report(results, { lateGpuErrors: late });
  const md = toMarkdown(r);
  assert.match(
    md,
    /^⚠ \*\*7 GPU errors arrived outside every case's error scope\*\*: no case's result includes them/m,
  );
  assert.ok(
    md.includes(`- after case \`${results[0].id}\` had started: Buffer has been destroyed.\n`),
  );
  assert.ok(md.includes("- …and 2 more (report.json's lateGpuErrors)"));
  const html = await runReportHtml(r);
  assert.match(html, /<section class="note" id="late-gpu-errors"><p><b>7 GPU errors arrived/);
  assert.match(toJunitXml(r), /<property name="run.lateGpuErrors" value="7"\/>/);
  // the verdict is amber, and says why: it read "✅ 2 cases: 2 pass" over them
  assert.match(md, /^⚠️ \*\*2 cases\*\*/m);
  assert.match(md, /\*\*7 GPU errors arrived outside every case's error scope\.\*\*/);
  assert.match(html, /class="verdict warn"/);
  assert.match(toMarkdown(report(results)), /^✅ /m);
  // none: no line
  assert.doesNotMatch(toMarkdown(report(results)), /outside every case's error scope/);
  assert.doesNotMatch(await runReportHtml(report(results)), /late-gpu-errors/);
  await withTempDir(async (tmp) => {
    for (const [i, errors] of [[late[0]], []].entries()) {
      await writeRunOutputs(
        `${tmp}/s${i}`,
        report([results[i]], {
          matrixIds: results.map((x) => x.id),
          shardIds: [results[i].id],
          shard: `${i + 1}/2`,
          ...(errors.length > 0 ? { lateGpuErrors: errors } : {}),
        }),
      );
    }
    const m = await mergeRuns([`${tmp}/s0`, `${tmp}/s1`]);
    assert.deepEqual(m.report.lateGpuErrors, [late[0]]);
    assert.match(toMarkdown(m.report), /⚠ \*\*1 GPU error arrived outside every case's/);
  });
});
