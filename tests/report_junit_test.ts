import assert from "node:assert/strict";
import {
  escapeXml,
  failureMessage,
  skipMessage,
  toJunitXml,
  toMarkdown,
  writeRunOutputs,
} from "../report/mod.ts";
import { mixedResults, parity, report, result, withTempDir } from "./report_util.ts";
import { runReportHtml } from "../report/html/run_html.ts";

function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_, e: string) => {
    if (e[0] === "#") {
      return String.fromCodePoint(Number(e[1] === "x" ? "0" + e.slice(1) : e.slice(1)));
    }
    return { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" }[e] as string;
  });
}

/** Attributes of every `<tag ...>` occurrence, parsed with a regex. */
function elements(xml: string, tag: string): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (const m of xml.matchAll(new RegExp(`<${tag}((?:\\s+[\\w.:-]+="[^"]*")*)\\s*/?>`, "g"))) {
    const attrs: Record<string, string> = {};
    for (const a of m[1].matchAll(/([\w.:-]+)="([^"]*)"/g)) attrs[a[1]] = unescapeXml(a[2]);
    out.push(attrs);
  }
  return out;
}

Deno.test("junit: one testcase per result with failure, skipped and error elements", () => {
  const results = mixedResults();
  const xml = toJunitXml(report(results));
  assert.ok(xml.startsWith(`<?xml version="1.0" encoding="UTF-8"?>`));
  const suites = elements(xml, "testsuite");
  assert.equal(suites.length, 1);
  assert.equal(suites[0].name, "smoke");
  assert.equal(suites[0].tests, "4");
  assert.equal(suites[0].failures, "1");
  assert.equal(suites[0].errors, "1");
  assert.equal(suites[0].skipped, "1");

  const cases = elements(xml, "testcase");
  assert.deepEqual(cases.map((c) => c.name), results.map((r) => r.id));
  assert.equal(cases[0].classname, "mla.absorbed.f32");
  assert.equal(cases[2].classname, "mla.absorbed.f16");
  assert.equal(cases[1].time, "0.900");

  const failures = elements(xml, "failure");
  assert.equal(failures.length, 1);
  // The worst error and its index, from the out summary, with the markup round-tripped.
  assert.equal(failures[0].message, `out: max |err| 0.05 at [0,3,17] <&"'> tol`);
  const skipped = elements(xml, "skipped");
  assert.equal(skipped.length, 1);
  assert.match(skipped[0].message, /unsupported as expected: dtype\.f16-unavailable: shader-f16/);
  const errors = elements(xml, "error");
  assert.equal(errors.length, 1);
  assert.equal(errors[0].message, "device lost: <reset>");
  // Raw markup never leaks into the document.
  assert.ok(!xml.includes(`<&"`));
  assert.ok(!xml.includes("<reset>"));
});

Deno.test("junit: fingerprint in properties", () => {
  const xml = toJunitXml(report(mixedResults()));
  const props = Object.fromEntries(elements(xml, "property").map((p) => [p.name, p.value]));
  assert.equal(props["runtime.deno"], "2.9.6");
  assert.equal(props["adapter.description"], "llvmpipe (LLVM 15.0.7, 256 bits)");
  assert.equal(props["harness.revision"], "0123456789abcdef0123456789abcdef01234567");
  assert.equal(props["kernel.absorbed.wgsl"], "0011223344556677");
});

Deno.test("junit: an unexpected decision is a failure; unrun owned ids are errors", () => {
  const [a, b] = mixedResults();
  const unexpected = { ...b, status: "unexpected" as const, message: "expected supported" };
  const r = report([a, unexpected], { shardIds: [a.id, unexpected.id, "preset=tiny;never"] });
  const xml = toJunitXml(r);
  assert.equal(elements(xml, "testcase").length, 3);
  assert.equal(elements(xml, "failure")[0].type, "unexpected-decision");
  assert.equal(elements(xml, "error")[0].type, "not-run");
  assert.equal(elements(xml, "testsuite")[0].errors, "1");
});

Deno.test("junit: escapeXml round-trips markup, quotes and whitespace; control chars made visible", () => {
  const s = `a<b>&"c"'d'\te\nf\r`;
  const escaped = escapeXml(s);
  assert.ok(!/[<>"'\t\n\r]/.test(escaped));
  assert.equal(unescapeXml(escaped), s);
  assert.equal(escapeXml("x\x1b[31my\x00"), "x\\u001b[31my\\u0000");
  assert.equal(escapeXml("\x85"), "&#x85;");
  assert.equal(escapeXml("\uD800 ok \u{1F600}"), "\\ud800 ok \u{1F600}");
  assert.equal(escapeXml("l1\nl2", { keepNewlines: true }), "l1\nl2");
});

Deno.test("junit: writeRunOutputs writes the five run files", async () => {
  await withTempDir(async (dir) => {
    await writeRunOutputs(`${dir}/run`, report(mixedResults()));
    const names: string[] = [];
    for await (const e of Deno.readDir(`${dir}/run`)) names.push(e.name);
    assert.deepEqual(names.sort(), [
      "junit.xml",
      "report.html",
      "report.json",
      "results.jsonl",
      "summary.md",
    ]);
  });
});

Deno.test("junit: a labelled parity summary and an expected rejection are not prefixed twice", () => {
  const failed = result({ b: 4 }, {
    status: "fail",
    out: parity(false, "out: max abs err 5e-2 at [0,3,17]"),
    lse: parity(false, "max abs err 1e-1 at [2]"), // an unlabelled one gets its label
  });
  assert.equal(
    failureMessage(failed),
    "out: max abs err 5e-2 at [0,3,17] | lse: max abs err 1e-1 at [2]",
  );
  // the sides apart as the console's line and report.html's card give them (the run's
  // message): junit.xml's message and summary.md's table joined them with "; ", which also
  // separates the parts of one side
  const run = {
    ...failed,
    message: "out: max abs err 5e-2 at [0,3,17] | lse: max abs err 1e-1 at [2]",
  };
  assert.equal(failureMessage(run), run.message);
  assert.match(toMarkdown(report([run])), /\[0,3,17\] \\\| lse: max abs err/);
  const rejected = result({ b: 8 }, {
    status: "pass",
    decision: "invalid",
    expect: { support: "invalid" },
    message: "rejected as expected: odd.json: qk_rope_head_dim: 63 must be even",
  });
  assert.equal(
    skipMessage(rejected),
    "invalid as expected: odd.json: qk_rope_head_dim: 63 must be even",
  );
});

Deno.test("junit: a case the matrix expects supported, refused for want of shader-f16, is not skipped 'as expected'", () => {
  // run on GL (no shader-f16): every f16 case read `<skipped message="unsupported as expected:
  // ...">`, where the matrix expects them supported and nothing of them was checked
  const reason = { code: "wgsl-absorbed:dtype.f16-unavailable", message: "no shader-f16" };
  const refused = result({ dtype: "f16" }, {
    decision: "unsupported",
    expect: { support: "supported" },
    message: "unsupported on this device: dtype.f16-unavailable (wgsl-absorbed): no shader-f16",
    out: undefined,
    reasons: [reason],
  });
  const want = "not covered: unsupported here, where the matrix expects supported: " +
    "wgsl-absorbed:dtype.f16-unavailable: no shader-f16";
  assert.equal(skipMessage(refused), want);
  const skipped = elements(toJunitXml(report([refused])), "skipped");
  assert.equal(skipped.length, 1);
  assert.equal(skipped[0].message, want);
  assert.equal(
    skipMessage({ ...refused, reasons: undefined }),
    "not covered: unsupported here, where the matrix expects supported: " +
      "dtype.f16-unavailable (wgsl-absorbed): no shader-f16",
  );
  assert.match(toMarkdown(report([refused])), /\| not covered: unsupported here, where the matrix/);
});

// One failure's figures were printed three ways: the message (and summary.md) "max abs err
// 3.8e-1 ... (got 0.0197, want -0.142) ... cos_diff 5.1e-2", report.html's parity table
// "0.3808", "0.019676954 / -0.142207448", "0.0508", and junit.xml's text "max abs
// 0.38080238983125914 ... passing 0". The table and the text now write them as the message
// does; junit keeps the unrounded figures as the testcase's properties.
Deno.test("junit, report.html and summary.md: a failure's figures as its message writes them", async () => {
  const summary = "out: max abs err 3.8e-1 at [0,2,2] (got -0.299, want -0.68); max rel err " +
    "4.1e0 at [0,1,12]; 0.0% within tol (0/128); worst vs tol at [1,3,8] (got 0.0197, want " +
    "-0.142); cos_diff 5.1e-2; norm_rel 2.9e-1; FAILED elementwise, cos_diff";
  const out = {
    ...parity(false, summary),
    checks: ["elementwise", "cos_diff"],
    maxAbs: 0.38080238983125914,
    maxAbsAt: [0, 2, 2],
    maxRel: 4.080228188356976,
    cosDiff: 0.05075604980912088,
    normRel: 0.2894362386604711,
    fractionPassing: 0,
    headroom: 8500.123,
    worst: { at: [1, 3, 8], got: 0.019676954, want: -0.142207448 },
    atol: 1.9e-5,
    rtol: 1e-4,
  };
  const r = result({ b: 1 }, { status: "fail", message: summary, out });
  const run = report([r]);
  const xml = toJunitXml(run);
  const failure = /<failure[^>]*>([^<]*)<\/failure>/.exec(xml)![1];
  assert.match(
    failure,
    /max abs 3\.8e-1 at \[0,2,2\], max rel 4\.1e0, cos diff 5\.1e-2, norm rel 2\.9e-1, 0\.0% within tol/,
  );
  assert.doesNotMatch(failure, /0\.3808|passing 0/);
  const props = elements(xml.slice(xml.indexOf("<testcase")), "property");
  assert.deepEqual(props.find((p) => p.name === "out.maxAbs"), {
    name: "out.maxAbs",
    value: "0.38080238983125914",
  });
  assert.equal(props.find((p) => p.name === "out.fractionPassing")?.value, "0");
  // the testcase's properties come before its failure
  assert.ok(xml.indexOf("<properties>", xml.indexOf("<testcase")) < xml.indexOf("<failure"));
  // report.html's parity table: each figure the message's own
  const html = await runReportHtml(run);
  const card = html.slice(html.indexOf('<div class="failure"'));
  const row = /<tr><td>out<\/td>(.*?)<\/tr>/.exec(card)![1];
  for (const figure of ["3.8e-1", "0.0197 / -0.142", "5.1e-2"]) {
    assert.ok(row.includes(`>${figure}<`), `the table lacks ${figure}: ${row}`);
    assert.ok(summary.includes(figure.replace(" / ", ", want ")) || summary.includes(figure));
  }
  assert.ok(toMarkdown(run).includes(summary.slice(0, 60)), "summary.md quotes the message");
});
