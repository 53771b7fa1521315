// A merge of shards whose environments differ where a merge allows it (the host, a revision's
// -dirty mark) records the difference in report.json and shows it in report.html and
// summary.md (audit 2026-12-06: only the terminal said "environment differs").
import assert from "node:assert/strict";
import {
  mergeRuns,
  readReportJson,
  runReportProblem,
  toMarkdown,
  writeRunOutputs,
} from "../report/mod.ts";
import { fingerprint, report, result, withTempDir } from "./report_util.ts";

Deno.test("merge: an environment difference between shards is kept in report.json and shown on the pages", async () => {
  await withTempDir(async (tmp) => {
    const all = [result({ b: 1 }), result({ b: 2 }), result({ b: 3 })];
    const ids = all.map((r) => r.id);
    const base = fingerprint();
    const other = fingerprint({
      host: { ...base.host, cpuModel: "Intel Xeon" },
      harnessRevision: `${base.harnessRevision}-dirty`,
    });
    const shard = (owned: typeof all, fp = base) =>
      report(owned, { matrixIds: ids, shardIds: owned.map((r) => r.id), fingerprint: fp });
    await writeRunOutputs(`${tmp}/a`, shard(all.slice(0, 2)));
    await writeRunOutputs(`${tmp}/b`, shard(all.slice(2), other));
    const m = await mergeRuns([`${tmp}/a`, `${tmp}/b`]);
    const want = [
      { dir: `${tmp}/b`, field: "host.cpuModel", from: "AMD EPYC", to: "Intel Xeon" },
      {
        dir: `${tmp}/b`,
        field: "harnessRevision",
        from: base.harnessRevision,
        to: `${base.harnessRevision}-dirty`,
      },
    ];
    assert.deepEqual(m.report.environmentDiffers, want);
    await writeRunOutputs(`${tmp}/m`, m.report);
    assert.deepEqual((await readReportJson(`${tmp}/m/report.json`)).environmentDiffers, want);
    // merged again, the folder keeps saying so
    assert.deepEqual((await mergeRuns([`${tmp}/m`])).report.environmentDiffers, want);

    const html = await Deno.readTextFile(`${tmp}/m/report.html`);
    const at = html.indexOf('<section id="environment-differs">');
    assert.ok(at > 0, "an environment section");
    const sec = html.slice(at, html.indexOf("</section>", at));
    assert.ok(
      sec.includes(
        `<li><code>${tmp}/b</code>: the host&#39;s CPU model changed from AMD EPYC to Intel Xeon</li>`,
      ),
    );
    assert.ok(sec.includes("the facts above are the first folder's"));

    const md = toMarkdown(m.report);
    assert.match(md, /^⚠ \*\*The merged shards ran in environments that differ\*\* \(2 /m);
    assert.ok(
      md.includes(`- \`${tmp}/b\`: the host's CPU model changed from AMD EPYC to Intel Xeon`),
      md,
    );

    // a complete merge of one environment says nothing of it
    const same = await mergeRuns([`${tmp}/a`]);
    assert.equal(same.report.environmentDiffers, undefined);
    assert.ok(!toMarkdown(same.report).includes("environments that differ"));
  });
});

Deno.test("report.json: environmentDiffers is optional; when present, entries of strings", () => {
  const r = JSON.parse(JSON.stringify(report([result({ b: 1 })])));
  assert.equal(runReportProblem(r), null);
  const entry = { dir: "a", field: "host.os", from: "linux", to: null };
  assert.equal(runReportProblem({ ...r, environmentDiffers: [entry] }), null);
  assert.match(
    runReportProblem({ ...r, environmentDiffers: [{ ...entry, field: 3 }] }) ?? "",
    /^environmentDiffers\[0\] must have a string dir and field/,
  );
  assert.match(runReportProblem({ ...r, environmentDiffers: "x" }) ?? "", /must be an array/);
});

Deno.test("summary.md and report.html say the host's load the run recorded (hostLoad), per CPU", async () => {
  await withTempDir(async (tmp) => {
    const s = (load1: number) => ({ at: "2026-12-08T00:00:00.000Z", load1, load5: load1, cpus: 2 });
    const r = report([result({ b: 1 })], { hostLoad: { start: s(0.8), end: s(3.2) } });
    const words = "0.40 per CPU at the start, 1.60 at the end (1-minute load average over 2 CPUs)";
    assert.ok(toMarkdown(r).includes(`- Host load: ${words}\n`), toMarkdown(r));
    await writeRunOutputs(`${tmp}/r`, r);
    const html = await Deno.readTextFile(`${tmp}/r/report.html`);
    assert.ok(html.includes(`<dt>Host load</dt><dd>${words}</dd>`), html.slice(0, 3000));
    // not recorded: why
    const none = report([result({ b: 1 })], {
      hostLoad: { start: null, end: null, unavailable: "no sys permission" },
    });
    assert.ok(toMarkdown(none).includes("- Host load: not recorded (no sys permission)\n"));
    // an older report without it: no line
    assert.doesNotMatch(toMarkdown(report([result({ b: 1 })])), /Host load/);
  });
});
