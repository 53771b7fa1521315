import assert from "node:assert/strict";
import {
  JsonlWriter,
  mergeRuns,
  readJsonl,
  readReportJson,
  ReportFileError,
  runReportProblem,
  toJunitXml,
  toMarkdown,
  writeRunOutputs,
} from "../report/mod.ts";
import { runReportHtml } from "../report/html/mod.ts";
import { baselineFromReport, compareBaselines } from "../drift/mod.ts";
import { TIMING_RULES } from "../adapter/timing_scope.ts";
import { hasAdapter } from "../gpu/device.ts";
import { runCli } from "./helpers_cli.ts";
import { writeRunState } from "../report/run_state.ts";
import type { CaseResult, RunReport } from "../results/types.ts";
import { fingerprint, mixedResults, report, result, withTempDir } from "./report_util.ts";
import { writeTinyMatrix } from "./matrix_file_helpers.ts";
import { mergeLines } from "../cli/merge.ts";

const gpu = await hasAdapter();

function sixResults(): CaseResult[] {
  return [...mixedResults(), result({ b: 8 }, { wallMs: 7 }), result({ b: 16 }, { wallMs: 9 })];
}

/** A shard folder: report.json for the given owned ids, results.jsonl streamed line by line. */
async function shardDir(
  dir: string,
  all: readonly CaseResult[],
  owned: readonly CaseResult[],
  over: Partial<RunReport> = {},
): Promise<void> {
  const r = report(owned, {
    matrixIds: all.map((x) => x.id),
    shardIds: owned.map((x) => x.id),
    ...over,
  });
  await writeRunOutputs(dir, r, { jsonl: false });
  const w = await JsonlWriter.open(`${dir}/results.jsonl`, { truncate: true });
  for (const x of owned) await w.write(x);
  await w.close();
}

Deno.test("merge: two shards equal the unsharded run", async () => {
  await withTempDir(async (tmp) => {
    const all = sixResults();
    const even = all.filter((_, i) => i % 2 === 0), odd = all.filter((_, i) => i % 2 === 1);
    await shardDir(`${tmp}/s1`, all, odd, { shard: "1/2" });
    await shardDir(`${tmp}/s2`, all, even, { shard: "2/2", startedAt: "2024-12-31T23:59:00.000Z" });
    const m = await mergeRuns([`${tmp}/s1`, `${tmp}/s2`]);
    const unsharded = report(all);
    assert.deepEqual(m.report.results, JSON.parse(JSON.stringify(unsharded.results)));
    assert.deepEqual(m.report.matrixIds, unsharded.matrixIds);
    assert.deepEqual(m.report.shardIds, unsharded.shardIds);
    assert.deepEqual(m.report.totals, unsharded.totals);
    assert.equal(m.report.shard, null);
    assert.equal(m.report.startedAt, "2024-12-31T23:59:00.000Z");
    assert.deepEqual(m.missing, []);
    assert.deepEqual(m.duplicated, []);
    assert.deepEqual(m.mismatched, []);

    // The merged folder has the same files as an unsharded run.
    await writeRunOutputs(`${tmp}/merged`, m.report);
    await writeRunOutputs(`${tmp}/whole`, unsharded);
    for (const f of ["results.jsonl", "junit.xml"]) {
      assert.equal(
        await Deno.readTextFile(`${tmp}/merged/${f}`),
        (await Deno.readTextFile(`${tmp}/whole/${f}`)).replace(
          `timestamp="2025-01-01T00:00:00.000Z"`,
          `timestamp="2024-12-31T23:59:00.000Z"`,
        ).replaceAll(`time="60.000"`, `time="120.000"`),
        f,
      );
    }
    assert.equal((await readJsonl(`${tmp}/merged/results.jsonl`)).results.length, 6);
    assert.deepEqual((await readReportJson(`${tmp}/merged/report.json`)).totals, unsharded.totals);
  });
});

Deno.test("merge: reports a missing and a duplicated case, keeps the first copy", async () => {
  await withTempDir(async (tmp) => {
    const all = sixResults();
    const dup = { ...all[2], message: "second copy" };
    await shardDir(`${tmp}/a`, all, [all[0], all[1], all[2]]);
    // all[3] is nowhere (missing); all[2] is in both folders (duplicated).
    await shardDir(`${tmp}/b`, all, [dup, all[4], all[5]]);
    const m = await mergeRuns([`${tmp}/a`, `${tmp}/b`]);
    assert.deepEqual(m.missing, [all[3].id]);
    assert.deepEqual(m.duplicated, [{ id: all[2].id, dirs: [`${tmp}/a`, `${tmp}/b`] }]);
    assert.equal(m.report.results.length, 5);
    assert.equal(m.report.results.find((r) => r.id === all[2].id)?.message, all[2].message);
    assert.deepEqual(
      m.report.results.map((r) => r.id),
      all.filter((_, i) => i !== 3).map((r) => r.id),
    );
  });
});

Deno.test("merge: a case in two folders whose copies disagree (status, digest) is refused, naming both", async () => {
  await withTempDir(async (tmp) => {
    const all = sixResults();
    const failed = { ...all[2], status: "fail" as const, message: "parity failed" };
    await shardDir(`${tmp}/a`, all, [all[0], all[1], all[2]]);
    await shardDir(`${tmp}/b`, all, [failed, all[3], all[4], all[5]]);
    await assert.rejects(mergeRuns([`${tmp}/a`, `${tmp}/b`]), (e: unknown) => {
      assert.ok(e instanceof ReportFileError);
      assert.equal(e.path, `${tmp}/b/results.jsonl`);
      assert.ok(e.message.includes(`case "${all[2].id}" is here and in ${tmp}/a`), e.message);
      assert.match(e.message, /status pass there, fail here/);
      return true;
    });
    // The other order: the failure is not hidden behind the pass either.
    await assert.rejects(mergeRuns([`${tmp}/b`, `${tmp}/a`]), /status fail there, pass here/);

    const a2 = { ...all[2], outputDigest: "00112233aabbccdd" };
    const b2 = { ...all[2], outputDigest: "ffeeddcc00112233" };
    await shardDir(`${tmp}/c`, all, [all[0], all[1], a2]);
    await shardDir(`${tmp}/d`, all, [b2, all[3], all[4], all[5]]);
    await assert.rejects(
      mergeRuns([`${tmp}/c`, `${tmp}/d`]),
      /output digest 00112233aabbccdd there, ffeeddcc00112233 here/,
    );
    // Identical verdicts (another message or wall time) stay a note.
    await shardDir(`${tmp}/e`, all, [{ ...a2, wallMs: 1234, message: "again" }, all[3]]);
    const m = await mergeRuns([`${tmp}/c`, `${tmp}/e`]);
    assert.deepEqual(m.duplicated, [{ id: all[2].id, dirs: [`${tmp}/c`, `${tmp}/e`] }]);
  });
});

Deno.test("merge CLI: disagreeing copies of a case are exit 2 naming the case and both folders", async () => {
  await withTempDir(async (tmp) => {
    const all = sixResults();
    await shardDir(`${tmp}/a`, all, all.slice(0, 3));
    await shardDir(`${tmp}/b`, all, [
      { ...all[1], status: "error", message: "lost" },
      ...all.slice(3),
    ]);
    const r = await runCli(["merge", `${tmp}/a`, `${tmp}/b`, "--out", `${tmp}/mg`]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.ok(r.stderr.includes(`${tmp}/b/results.jsonl: case "${all[1].id}"`), r.stderr);
    assert.ok(r.stderr.includes(`in ${tmp}/a`), r.stderr);
    assert.match(r.stderr, /status \w+ there, error here/);
    assert.equal(await Deno.stat(`${tmp}/mg/report.json`).then(() => true, () => false), false);
  });
});

Deno.test("merge: results.jsonl is authoritative; a truncated tail is tolerated", async () => {
  await withTempDir(async (tmp) => {
    const all = sixResults();
    // report.json written before the last results (killed run): lists none of them.
    await shardDir(`${tmp}/a`, all, all.slice(0, 3));
    const r = report([], { matrixIds: all.map((x) => x.id), shardIds: all.map((x) => x.id) });
    await writeRunOutputs(`${tmp}/b`, r, { jsonl: false });
    await Deno.writeTextFile(
      `${tmp}/b/results.jsonl`,
      JSON.stringify(all[3]) + "\n" + JSON.stringify(all[4]).slice(0, 30),
    );
    const m = await mergeRuns([`${tmp}/a`, `${tmp}/b`]);
    assert.deepEqual(m.missing, [all[4].id, all[5].id]);
    assert.deepEqual(m.corruptTails, [`${tmp}/b`]);
  });
});

Deno.test("merge: the merged run keeps its busiest shard's host load", async () => {
  await withTempDir(async (tmp) => {
    const all = sixResults();
    const load = (load1: number) => ({
      start: { at: "2025-01-01T00:00:00.000Z", load1: 0.5, load5: 0.5, cpus: 2 },
      end: { at: "2025-01-01T00:01:00.000Z", load1, load5: load1, cpus: 2 },
    });
    await shardDir(`${tmp}/s1`, all, all.slice(0, 3), { shard: "1/2", hostLoad: load(1) });
    await shardDir(`${tmp}/s2`, all, all.slice(3), { shard: "2/2", hostLoad: load(12) });
    // before: none, so the nightly's compare of the merged run could never say it ran busy
    const m = await mergeRuns([`${tmp}/s1`, `${tmp}/s2`]);
    assert.deepEqual(m.report.hostLoad, load(12));
    const b = await baselineFromReport(m.report);
    assert.deepEqual(compareBaselines(b, b).speed.load?.loaded, ["baseline", "current"]);
  });
});

Deno.test("merge: a host difference between shards is listed as mismatched", async () => {
  await withTempDir(async (tmp) => {
    const all = sixResults();
    await shardDir(`${tmp}/a`, all, all.slice(0, 3));
    const base = fingerprint();
    const fp = fingerprint({
      host: { ...base.host, cpuModel: "Intel Xeon" },
      harnessRevision: `${base.harnessRevision}-dirty`,
    });
    await shardDir(`${tmp}/b`, all, all.slice(3), { fingerprint: fp });
    const m = await mergeRuns([`${tmp}/a`, `${tmp}/b`]);
    assert.deepEqual(m.mismatched, [
      `${tmp}/b: the host's CPU model changed from AMD EPYC to Intel Xeon`,
      `${tmp}/b: the harness's checkout of commit ${base.harnessRevision} has uncommitted changes now`,
    ]);
  });
});

Deno.test("merge: shards of another device, runtime, kernel, plan caps or planted fault are refused, naming what differs", async () => {
  await withTempDir(async (tmp) => {
    const all = sixResults();
    await shardDir(`${tmp}/a`, all, all.slice(0, 3));
    const base = fingerprint();
    const adapter = base.adapter as { adapter: Record<string, unknown>; limits: object };
    const others: [string, Partial<RunReport>, RegExp][] = [
      [
        "deno",
        { fingerprint: fingerprint({ runtime: { ...base.runtime, deno: "2.9.7" } }) },
        /the Deno version changed from 2\.9\.6 to 2\.9\.7/,
      ],
      [
        "device",
        {
          fingerprint: fingerprint({
            adapter: { ...adapter, adapter: { ...adapter.adapter, description: "NVIDIA H100" } },
          }),
        },
        /the adapter's description changed from llvmpipe \(LLVM 15\.0\.7, 256 bits\) to NVIDIA H100/,
      ],
      [
        "kernel",
        {
          fingerprint: fingerprint({
            kernelHashes: { ...base.kernelHashes, "absorbed.wgsl": "ffffffffffffffff" },
          }),
        },
        /kernel file absorbed\.wgsl changed \(hash 0011223344556677 → ffffffffffffffff\)/,
      ],
      [
        "caps",
        { fingerprint: fingerprint({ adapter: { ...adapter, deviceClass: "gpu", smCount: 132 } }) },
        // the class each side's plans were made for, and who set it
        /the device class the plans were made for changed from cpu \(rules\) to gpu \(caps file\).*the adapter's SM count changed from none recorded to 132/s,
      ],
      [
        "fault",
        { plantedFault: "lse-offset" },
        /ran with planted fault lse-offset but .*\/a with no planted fault/,
      ],
    ];
    for (const [name, over, re] of others) {
      await shardDir(`${tmp}/${name}`, all, all.slice(3), over);
      await assert.rejects(
        mergeRuns([`${tmp}/a`, `${tmp}/${name}`]),
        (e: unknown) =>
          e instanceof ReportFileError && e.path === `${tmp}/${name}/report.json` &&
          re.test(e.message),
        `${name}`,
      );
    }
    // the same device with both backends recorded: a backend change is refused too
    await shardDir(`${tmp}/vk`, all, all.slice(0, 3), {
      fingerprint: fingerprint({ backend: "vulkan" }),
    });
    await shardDir(`${tmp}/gl`, all, all.slice(3), { fingerprint: fingerprint({ backend: "gl" }) });
    await assert.rejects(
      mergeRuns([`${tmp}/vk`, `${tmp}/gl`]),
      /the WebGPU backend changed from vulkan to gl/,
    );
    // a planted fault is carried into the merge
    await shardDir(`${tmp}/f1`, all, all.slice(0, 3), { plantedFault: "lse-offset" });
    await shardDir(`${tmp}/f2`, all, all.slice(3), { plantedFault: "lse-offset" });
    const m = await mergeRuns([`${tmp}/f1`, `${tmp}/f2`]);
    assert.equal(m.report.plantedFault, "lse-offset");
    // each shard's cases that ran the clean kernels, in matrix order (given in reverse here)
    const clean = (i: number) => ({ id: all[i].id, reason: `r${i}` });
    await shardDir(`${tmp}/c1`, all, all.slice(0, 3), {
      plantedFault: "lse-offset",
      plantedFaultClean: [clean(1)],
    });
    await shardDir(`${tmp}/c2`, all, all.slice(3), {
      plantedFault: "lse-offset",
      plantedFaultClean: [clean(5), clean(4)],
    });
    const c = await mergeRuns([`${tmp}/c2`, `${tmp}/c1`]);
    assert.deepEqual(c.report.plantedFaultClean, [clean(1), clean(4), clean(5)]);
    // unknown where a shard did not record them (a report from before they were)
    assert.equal(m.report.plantedFaultClean, undefined);
  });
});

Deno.test("merge of run --plant-fault shards where no case failed: exit 4 naming the cases", async () => {
  await withTempDir(async (tmp) => {
    // it read as a clean pass, exit 0, where an unsharded run exits 4
    const all = [result({ b: 1 }), result({ b: 2 }), result({ b: 4 })];
    const fault = {
      plantedFault: "lse-offset",
      plantedFaultClean: [{ id: all[2].id, reason: "r" }],
    };
    await shardDir(`${tmp}/f1`, all, all.slice(0, 2), { shard: "1/2", ...fault });
    await shardDir(`${tmp}/f2`, all, all.slice(2), { shard: "2/2", ...fault });
    const r = await runCli(["merge", `${tmp}/f1`, `${tmp}/f2`, "--out", `${tmp}/all`]);
    assert.equal(r.code, 4, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `error: --plant-fault lse-offset was not caught: no case failed; the 2 cases that ran ` +
          `with it passed \\(${all[0].id}, ${all[1].id}\\), 1 could not show it`,
      ),
    );
  });
});

Deno.test("merge: matrix files of one name given by different paths are one matrix; an interrupted shard covered by another folder leaves a complete merge", async () => {
  await withTempDir(async (tmp) => {
    const all = sixResults();
    await shardDir(`${tmp}/a`, all, all.slice(0, 3), { matrix: "/ci/runner1/m.json" });
    await shardDir(`${tmp}/b`, all, all.slice(3), {
      matrix: "../runner2/m.json",
      interrupted: true,
    });
    await shardDir(`${tmp}/c`, all, all.slice(3), { matrix: "m.json" });
    const m = await mergeRuns([`${tmp}/a`, `${tmp}/b`, `${tmp}/c`]);
    assert.deepEqual(m.missing, []);
    assert.equal(m.report.interrupted, false);
    // b was interrupted after its cases: with a it is whole
    assert.equal((await mergeRuns([`${tmp}/a`, `${tmp}/b`])).report.interrupted, false);
    await shardDir(`${tmp}/d`, all, all.slice(3, 4), { matrix: "m.json", interrupted: true });
    const gap = await mergeRuns([`${tmp}/a`, `${tmp}/d`]);
    assert.equal(gap.report.interrupted, true);
    await shardDir(`${tmp}/e`, all, all.slice(3), { matrix: "other.json" });
    await assert.rejects(mergeRuns([`${tmp}/a`, `${tmp}/e`]), /ran matrix "other\.json"/);
  });
});

Deno.test("merge: rejects folders of different matrices, filters or ids, naming the folder", async () => {
  await withTempDir(async (tmp) => {
    const all = sixResults();
    await shardDir(`${tmp}/a`, all, all.slice(0, 3));
    await shardDir(`${tmp}/b`, all, all.slice(3), { matrix: "nightly" });
    await assert.rejects(mergeRuns([`${tmp}/a`, `${tmp}/b`]), (e: unknown) => {
      assert.ok(e instanceof ReportFileError);
      assert.equal(e.path, `${tmp}/b/report.json`);
      assert.match(e.message, /ran matrix "nightly" but .*\/a ran "smoke"/);
      return true;
    });
    await shardDir(`${tmp}/c`, all, all.slice(3), { filter: "dtype=f16" });
    await assert.rejects(
      mergeRuns([`${tmp}/a`, `${tmp}/c`]),
      /c\/report\.json: ran with filter "dtype=f16"/,
    );
    // The same filter written two ways is the same selection: merged.
    await shardDir(`${tmp}/f1`, all, all.slice(0, 3), { filter: "causal=true;dtype=f32" });
    await shardDir(`${tmp}/f2`, all, all.slice(3), { filter: "dtype=f32;causal=1" });
    assert.equal((await mergeRuns([`${tmp}/f1`, `${tmp}/f2`])).report.results.length, 6);
    await shardDir(`${tmp}/d`, all.slice(1), all.slice(3));
    await assert.rejects(
      mergeRuns([`${tmp}/a`, `${tmp}/d`]),
      /d\/report\.json: its matrix has 5 case ids instead of 6/,
    );
  });
});

Deno.test("merge: a folder without report.json or with a malformed one names the file", async () => {
  await withTempDir(async (tmp) => {
    const all = sixResults();
    await shardDir(`${tmp}/a`, all, all);
    await Deno.mkdir(`${tmp}/empty`);
    await assert.rejects(mergeRuns([`${tmp}/a`, `${tmp}/empty`]), /empty\/report\.json: missing/);
    await Deno.mkdir(`${tmp}/bad`);
    await Deno.writeTextFile(`${tmp}/bad/report.json`, JSON.stringify({ version: 1, matrix: 3 }));
    await assert.rejects(
      mergeRuns([`${tmp}/a`, `${tmp}/bad`]),
      /bad\/report\.json: not a run report: field "matrix" must be a string/,
    );
  });
});

Deno.test("merge: a killed run (run.json still 'running', no report.json) is rebuilt and said so", async () => {
  await withTempDir(async (tmp) => {
    const all = sixResults();
    const dir = `${tmp}/killed`;
    await Deno.mkdir(dir);
    const header = report([], { matrixIds: all.map((x) => x.id), shardIds: all.map((x) => x.id) });
    await writeRunState(`${dir}/run.json`, { version: 1, state: "running", report: header });
    const w = await JsonlWriter.open(`${dir}/results.jsonl`, { truncate: true });
    for (const x of all.slice(0, 4)) await w.write(x);
    await w.close();
    const m = await mergeRuns([dir]);
    assert.deepEqual(m.rebuilt, [dir]);
    assert.equal(m.report.interrupted, true);
    assert.deepEqual(m.report.results.map((r) => r.id), all.slice(0, 4).map((r) => r.id));
    assert.deepEqual(m.missing, all.slice(4).map((r) => r.id));
    // its reports spoke of shards it never had: "no merged shard has a result for them",
    // "missing from the merged shards"
    const md = toMarkdown(m.report);
    const html = await runReportHtml(m.report);
    const xml = toJunitXml(m.report);
    for (const text of [md, html, xml]) assert.doesNotMatch(text, /merged shard/);
    assert.match(md, /a run that stopped before them/);
    // A stale report.json of an earlier run does not hide that the last run was killed.
    await writeRunOutputs(dir, report(all.slice(0, 1), { matrixIds: header.matrixIds }), {
      jsonl: false,
    });
    const again = await mergeRuns([dir]);
    assert.deepEqual(again.rebuilt, [dir]);
    assert.equal(again.report.results.length, 4);
    // A finished run's folder is read from report.json as before.
    await writeRunState(`${dir}/run.json`, { version: 1, state: "finished", report: header });
    assert.deepEqual((await mergeRuns([dir])).rebuilt, []);
  });
});

Deno.test("merge: a run that finished without report.json (a library runMatrix) is no killed run", async () => {
  await withTempDir(async (tmp) => {
    const all = sixResults();
    const dir = `${tmp}/library`;
    await Deno.mkdir(dir);
    const header = report([], { matrixIds: all.map((x) => x.id), shardIds: all.map((x) => x.id) });
    await writeRunState(`${dir}/run.json`, { version: 1, state: "finished", report: header });
    const w = await JsonlWriter.open(`${dir}/results.jsonl`, { truncate: true });
    for (const x of all) await w.write(x);
    await w.close();
    const m = await mergeRuns([dir]);
    assert.deepEqual(m.rebuilt, []);
    assert.deepEqual(m.unreported, [dir]);
    assert.equal(m.report.interrupted, false);
    assert.deepEqual(m.missing, []);
    const lines = mergeLines(m, 1);
    assert.ok(!lines.some((l) => l.includes("killed")), lines.join("\n"));
    assert.ok(lines.includes(
      `reports written from results.jsonl: ${dir} (its run ended, but the folder has no ` +
        "report.json: removed, or a library run, runMatrix without writeReports, wrote none)",
    ));
  });
});

Deno.test("merge: a malformed run.json names the file and the field", async () => {
  await withTempDir(async (tmp) => {
    await Deno.writeTextFile(`${tmp}/run.json`, JSON.stringify({ version: 1, state: "done" }));
    await assert.rejects(
      mergeRuns([tmp]),
      /run\.json: not a run state: field "state" must be one of running, interrupted, finished/,
    );
  });
});

/** Elements of one tag and their attributes, in document order. */
function xmlElements(xml: string, tag: string): Record<string, string>[] {
  return [...xml.matchAll(new RegExp(`<${tag}\\b([^>]*?)/?>`, "g"))].map((m) =>
    Object.fromEntries([...m[1].matchAll(/(\w+)="([^"]*)"/g)].map((a) => [a[1], a[2]]))
  );
}

/** Checks that the files of a merged folder name `missing` (of `total`) everywhere. */
async function assertMissingEverywhere(
  dir: string,
  missing: readonly string[],
  total: number,
): Promise<void> {
  const json = await readReportJson(`${dir}/report.json`);
  assert.deepEqual(json.missing, missing);
  assert.equal(json.shard, null);
  assert.equal(json.shardIds.length, total, "a merge owns the whole matrix");

  const md = await Deno.readTextFile(`${dir}/summary.md`);
  assert.ok(!md.includes("✅"), md);
  assert.ok(md.includes(`⚠ **${missing.length} of ${total} cases missing**`), md);
  assert.ok(md.includes(`**${missing.length} not run**`), md);
  assert.ok(md.includes(`# Missing cases (${missing.length})`), md);
  for (const id of missing) assert.ok(md.includes(`- \`${id}\``), `summary.md lists ${id}`);

  const xml = await Deno.readTextFile(`${dir}/junit.xml`);
  const suite = xmlElements(xml, "testsuite")[0];
  assert.equal(Number(suite.tests), total);
  assert.ok(Number(suite.errors) >= missing.length, xml);
  const notRun = xmlElements(xml, "testcase").filter((t) => t.classname === "mla.not-run")
    .map((t) => t.name.replaceAll("&quot;", '"').replaceAll("&amp;", "&"));
  assert.deepEqual(notRun, missing);
  const errors = xmlElements(xml, "error").filter((e) => e.type === "not-run");
  assert.equal(errors.length, missing.length);
  assert.ok(errors.every((e) => e.message === "not run: missing from the folders merged"));
  assert.equal(
    xmlElements(xml, "property").find((p) => p.name === "run.missing")?.value,
    String(missing.length),
  );

  const html = await Deno.readTextFile(`${dir}/report.html`);
  const verdict = /<p class="verdict (\w+)" id="verdict">([^<]*)<\/p>/.exec(html);
  assert.ok(verdict, "report.html has a verdict");
  assert.equal(verdict[1], "bad");
  assert.ok(
    verdict[2].includes(`${missing.length} of ${total} cases missing from the folders merged`),
    verdict[2],
  );
  const at = html.indexOf('<section id="missing">');
  assert.ok(at > 0, "report.html has a missing section");
  for (const other of ["failures", "plots", "cases"]) {
    const s = html.indexOf(`<section id="${other}">`);
    assert.ok(s < 0 || at < s, `the missing section comes before ${other}`);
  }
  assert.ok(html.includes(`${missing.length} of ${total} cases missing`));
  for (const id of missing) {
    assert.ok(
      html.includes(`<li><code>${id.replaceAll(";", ";<wbr>")}</code></li>`),
      `report.html lists ${id}`,
    );
  }
}

Deno.test("merge: one shard of two writes reports that name the missing cases everywhere", async () => {
  await withTempDir(async (tmp) => {
    const all = sixResults();
    const passing = all.filter((r) => r.status === "pass");
    const ids = all.map((r) => r.id);
    const owned = passing.slice(0, 2);
    await shardDir(`${tmp}/s1`, all, owned, { shard: "1/2" });
    const m = await mergeRuns([`${tmp}/s1`]);
    const missing = ids.filter((id) => !owned.some((r) => r.id === id));
    assert.deepEqual(m.missing, missing);
    assert.deepEqual(m.report.missing, missing);
    assert.deepEqual(m.report.shardIds, ids);
    await writeRunOutputs(`${tmp}/merged`, m.report);
    await assertMissingEverywhere(`${tmp}/merged`, missing, ids.length);
    // Merging the merged folder again keeps saying so.
    const again = await mergeRuns([`${tmp}/merged`]);
    assert.deepEqual(again.report.missing, missing);
    // compare sees the cases as selected but without a result: not run (not compared), not
    // out of scope, and not removed (as if the matrix had dropped them)
    const base = await baselineFromReport(report(all), { backend: "vulkan" });
    const current = await baselineFromReport(m.report, { backend: "vulkan" });
    const cmp = compareBaselines(base, current);
    assert.equal(cmp.current.missing, missing.length);
    assert.equal(cmp.counts.removed, 0);
    assert.equal(cmp.outOfScope, 0);
    assert.deepEqual(cmp.cases.map((c) => c.id).sort(), owned.map((r) => r.id).sort());
  });
});

Deno.test("merge: a complete merge records an empty missing list and stays green", async () => {
  await withTempDir(async (tmp) => {
    const all = sixResults().filter((r) => r.status === "pass");
    await shardDir(`${tmp}/s1`, all, all.slice(0, 1), { shard: "1/2" });
    await shardDir(`${tmp}/s2`, all, all.slice(1), { shard: "2/2" });
    const m = await mergeRuns([`${tmp}/s1`, `${tmp}/s2`]);
    assert.deepEqual(m.report.missing, []);
    await writeRunOutputs(`${tmp}/merged`, m.report);
    const md = await Deno.readTextFile(`${tmp}/merged/summary.md`);
    assert.ok(md.includes(`\n✅ **${all.length} cases**: `), md);
    assert.ok(!md.includes("missing"), md);
    const xml = await Deno.readTextFile(`${tmp}/merged/junit.xml`);
    assert.equal(xmlElements(xml, "error").length, 0);
    assert.ok(!(await Deno.readTextFile(`${tmp}/merged/report.html`)).includes("missing"));
  });
});

Deno.test("an interrupted run's reports keep their not-run wording (no missing list)", async () => {
  await withTempDir(async (tmp) => {
    const all = sixResults().filter((r) => r.status === "pass");
    const r = report(all.slice(0, 1), {
      matrixIds: all.map((x) => x.id),
      shardIds: all.map((x) => x.id),
      interrupted: true,
    });
    await writeRunOutputs(tmp, r);
    const md = await Deno.readTextFile(`${tmp}/summary.md`);
    const notRun = all.length - 1;
    assert.match(
      md,
      new RegExp(
        `^❌ \\*\\*1 of ${all.length} cases\\*\\*: .*\\*\\*${notRun} not run\\*\\* \\(interrupted\\)$`,
        "m",
      ),
    );
    assert.ok(!md.includes("⚠") && !md.includes("Missing"), md);
    const xml = await Deno.readTextFile(`${tmp}/junit.xml`);
    const errors = xmlElements(xml, "error");
    assert.equal(errors.length, notRun);
    assert.ok(errors.every((e) => e.message === "not run: the run ended before this case"));
    assert.equal(xmlElements(xml, "property").find((p) => p.name === "run.missing"), undefined);
    const html = await Deno.readTextFile(`${tmp}/report.html`);
    assert.ok(html.includes(`${notRun} cases of this run never ran (interrupted).`));
    assert.ok(!html.includes('<section id="missing">'));
    assert.equal((await readReportJson(`${tmp}/report.json`)).missing, undefined);
  });
});

Deno.test("report.json: missing is optional; when present, distinct ids without a result", () => {
  const all = sixResults();
  const r = report(all.slice(0, 2), { matrixIds: all.map((x) => x.id) });
  const plain = JSON.parse(JSON.stringify(r));
  assert.equal(runReportProblem(plain), null, "a report without missing (older, or a run's)");
  assert.equal(runReportProblem({ ...plain, missing: [all[3].id] }), null);
  assert.equal(runReportProblem({ ...plain, missing: [] }), null);
  assert.match(
    runReportProblem({ ...plain, missing: "x" }) ?? "",
    /field "missing" must be an array of case ids or absent/,
  );
  assert.match(
    runReportProblem({ ...plain, missing: [all[3].id, all[3].id] }) ?? "",
    /missing\[1\]: id .* repeats missing\[0\]/,
  );
  assert.match(
    runReportProblem({ ...plain, missing: [all[0].id] }) ?? "",
    /missing\[0\]: id .* has a result in "results"/,
  );
});

Deno.test({
  name: "merge CLI: shard 1 of 2 alone exits 1 and every report names the missing cases",
  ignore: !gpu,
  fn: async () => {
    await withTempDir(async (tmp) => {
      const matrix = await writeTinyMatrix(
        tmp,
        { sq: [1, 3], dtype: ["f32"], layout: ["bshd"] },
        "merge-missing-test",
      );
      const run = await runCli([
        "run",
        "--matrix",
        matrix,
        "--shard",
        "1/2",
        "--out",
        `${tmp}/s1`,
        "--repeats",
        "0",
      ]);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      const shard = await readReportJson(`${tmp}/s1/report.json`);
      assert.equal(shard.missing, undefined, "a shard's own report has no missing list");
      const merged = await runCli(["merge", `${tmp}/s1`, "--out", `${tmp}/mg`]);
      assert.equal(merged.code, 1, merged.stdout + merged.stderr);
      const missing = shard.matrixIds.filter((id) => !shard.shardIds.includes(id));
      assert.ok(missing.length > 0);
      assert.ok(
        merged.stdout.includes(`${shard.shardIds.length}/${shard.matrixIds.length} cases`),
        merged.stdout,
      );
      await assertMissingEverywhere(`${tmp}/mg`, missing, shard.matrixIds.length);
    });
  },
});

Deno.test("merge: shards whose results ran with another matrix seed are refused, naming both", async () => {
  await withTempDir(async (tmp) => {
    const all = sixResults();
    const seeded = (rs: CaseResult[], seed: number) => rs.map((r) => ({ ...r, seed }));
    const even = all.filter((_, i) => i % 2 === 0), odd = all.filter((_, i) => i % 2 === 1);
    await shardDir(`${tmp}/s1`, all, seeded(odd, 7), { shard: "1/2" });
    await shardDir(`${tmp}/s2`, all, seeded(even, 8), { shard: "2/2" });
    await assert.rejects(
      () => mergeRuns([`${tmp}/s1`, `${tmp}/s2`]),
      (e: Error) =>
        e instanceof ReportFileError &&
        /ran with the matrix seed 8, but .*s1 ran with 7; shards of one run must share the seed/
          .test(e.message),
    );
    // one seed, or records older than the field: merged
    await shardDir(`${tmp}/s3`, all, seeded(even, 7), { shard: "2/2" });
    assert.equal((await mergeRuns([`${tmp}/s1`, `${tmp}/s3`])).report.results.length, 6);
    await shardDir(`${tmp}/s4`, all, even, { shard: "2/2" });
    assert.equal((await mergeRuns([`${tmp}/s1`, `${tmp}/s4`])).report.results.length, 6);
  });
});

Deno.test("merge: shards whose matrix said other things of their cases (an edited expectation or device profile) are refused", async () => {
  await withTempDir(async (tmp) => {
    const all = sixResults();
    const even = all.filter((_, i) => i % 2 === 0), odd = all.filter((_, i) => i % 2 === 1);
    await shardDir(`${tmp}/s1`, all, odd, { shard: "1/2", matrixDigest: "aaaaaaaaaaaaaaaa" });
    await shardDir(`${tmp}/s2`, all, even, { shard: "2/2", matrixDigest: "bbbbbbbbbbbbbbbb" });
    await assert.rejects(
      () => mergeRuns([`${tmp}/s1`, `${tmp}/s2`]),
      (e: Error) =>
        e instanceof ReportFileError &&
        /s2\/report\.json: its matrix said other things of its cases than .*s1's .*digest bbbbbbbbbbbbbbbb against aaaaaaaaaaaaaaaa/
          .test(e.message),
    );
    // one digest: merged, the report carries it; a shard from before the digest: merged
    await shardDir(`${tmp}/s3`, all, even, { shard: "2/2", matrixDigest: "aaaaaaaaaaaaaaaa" });
    const m = await mergeRuns([`${tmp}/s1`, `${tmp}/s3`]);
    assert.equal(m.report.matrixDigest, "aaaaaaaaaaaaaaaa");
    await shardDir(`${tmp}/s4`, all, even, { shard: "2/2" });
    const old = await mergeRuns([`${tmp}/s1`, `${tmp}/s4`]);
    assert.equal(old.report.results.length, 6);
    assert.equal(old.report.matrixDigest, undefined);
    // the first folder from before the digest: the later ones still compared with each other
    await assert.rejects(
      () => mergeRuns([`${tmp}/s4`, `${tmp}/s1`, `${tmp}/s2`]),
      /s2\/report\.json: its matrix said other things of its cases than .*s1's/,
    );
  });
});

Deno.test("merge: shards timed with another --repeats or --warmup-ms are refused, naming both folders and values; shards from before they were recorded merge", async () => {
  await withTempDir(async (tmp) => {
    const all = sixResults();
    const even = all.filter((_, i) => i % 2 === 0), odd = all.filter((_, i) => i % 2 === 1);
    await shardDir(`${tmp}/s1`, all, odd, { shard: "1/2", repeats: 10, warmupMs: "auto" });
    await shardDir(`${tmp}/s2`, all, even, { shard: "2/2", repeats: 3, warmupMs: "auto" });
    await assert.rejects(
      () => mergeRuns([`${tmp}/s1`, `${tmp}/s2`]),
      (e: Error) =>
        e instanceof ReportFileError &&
        e.message.startsWith(
          `${tmp}/s2/report.json: timed with --repeats 3 --warmup-ms auto, but ${tmp}/s1 with ` +
            "--repeats 10 --warmup-ms auto; one report's cases are timed alike: rerun the " +
            "shards timed otherwise than the rest with the others' --repeats and --warmup-ms " +
            "(if that is shard 2/2: with --repeats 10 --warmup-ms auto",
        ),
    );
    await shardDir(`${tmp}/w2`, all, even, { shard: "2/2", repeats: 10, warmupMs: 200 });
    await assert.rejects(
      () => mergeRuns([`${tmp}/s1`, `${tmp}/w2`]),
      /w2\/report\.json: timed with --repeats 10 --warmup-ms 200, but .*s1 with --repeats 10 --warmup-ms auto/,
    );
    // the CLI: exit 2 with that message, nothing merged
    const cli = await runCli(["merge", `${tmp}/s1`, `${tmp}/s2`, "--out", `${tmp}/mg`]);
    assert.equal(cli.code, 2, cli.stdout + cli.stderr);
    assert.match(cli.stderr, /^error: .*s2\/report\.json: timed with --repeats 3/m);
    assert.doesNotMatch(cli.stderr, /internal error|\n\s+at /);
    // timed alike: merged, the report records them (the finish commands repeat them)
    await shardDir(`${tmp}/s3`, all, even, { shard: "2/2", repeats: 10, warmupMs: "auto" });
    const m = await mergeRuns([`${tmp}/s1`, `${tmp}/s3`]);
    assert.equal(m.report.repeats, 10);
    assert.equal(m.report.warmupMs, "auto");
    // a shard from before they were recorded: merged as before, the report records none; the
    // later folders are still compared with each other
    await shardDir(`${tmp}/s4`, all, even, { shard: "2/2" });
    const old = await mergeRuns([`${tmp}/s1`, `${tmp}/s4`]);
    assert.equal(old.report.results.length, 6);
    assert.equal(old.report.repeats, undefined);
    assert.equal(old.report.warmupMs, undefined);
    await assert.rejects(
      () => mergeRuns([`${tmp}/s4`, `${tmp}/s1`, `${tmp}/s2`]),
      /s2\/report\.json: timed with --repeats 3 --warmup-ms auto, but .*s1 with/,
    );
  });
});

Deno.test("merge: shards checked with another --max-rows are refused, naming both; alike ones merge and keep it", async () => {
  await withTempDir(async (tmp) => {
    const all = sixResults();
    const even = all.filter((_, i) => i % 2 === 0), odd = all.filter((_, i) => i % 2 === 1);
    await shardDir(`${tmp}/s1`, all, odd, { shard: "1/2", maxRows: 8 });
    await shardDir(`${tmp}/s2`, all, even, { shard: "2/2", maxRows: 64 });
    await assert.rejects(
      () => mergeRuns([`${tmp}/s1`, `${tmp}/s2`]),
      (e: Error) =>
        e instanceof ReportFileError &&
        e.message ===
          `${tmp}/s2/report.json: checked with --max-rows 64, but ${tmp}/s1 with --max-rows 8; ` +
            "one report's cases are checked alike: rerun shard 2/2 with --max-rows 8 (into its " +
            "folder with --force or a new one), then merge again",
    );
    await shardDir(`${tmp}/s3`, all, even, { shard: "2/2", maxRows: 8 });
    const m = await mergeRuns([`${tmp}/s1`, `${tmp}/s3`]);
    assert.equal(m.report.maxRows, 8);
    // a shard from before it was recorded: merged, the report records none
    await shardDir(`${tmp}/s4`, all, even, { shard: "2/2" });
    const old = await mergeRuns([`${tmp}/s1`, `${tmp}/s4`]);
    assert.equal(old.report.results.length, 6);
    assert.equal(old.report.maxRows, undefined);
  });
});

Deno.test("merge: shards timed under other timing rules (one before they were recorded) are refused, naming both", async () => {
  await withTempDir(async (tmp) => {
    const all = sixResults();
    // the same environment (a revision git could not give, null on both sides)
    const timed = (rs: CaseResult[], rules?: number) =>
      rs.map((r) => ({
        ...r,
        timing: {
          source: "timestamp-query",
          samplesMs: [1],
          medianMs: 1,
          ...(rules ? { rules } : {}),
        },
      }));
    const even = all.filter((_, i) => i % 2 === 0), odd = all.filter((_, i) => i % 2 === 1);
    const fp = { fingerprint: fingerprint({ harnessRevision: null }) };
    await shardDir(`${tmp}/s1`, all, timed(odd), { shard: "1/2", ...fp });
    await shardDir(`${tmp}/s2`, all, timed(even, TIMING_RULES), { shard: "2/2", ...fp });
    await assert.rejects(
      () => mergeRuns([`${tmp}/s1`, `${tmp}/s2`]),
      (e: Error) =>
        e instanceof ReportFileError &&
        /was timed under timing rules 1, but .*s1 under not recorded; a merged report's samples are timed alike/
          .test(e.message),
    );
    // one harness's rules: merged
    await shardDir(`${tmp}/s3`, all, timed(odd, TIMING_RULES), { shard: "1/2", ...fp });
    assert.equal((await mergeRuns([`${tmp}/s3`, `${tmp}/s2`])).report.results.length, 6);
  });
});

Deno.test("merge: a killed run of a harness before run.json (65b857a) is named as such, not 'the run never started'", async () => {
  await withTempDir(async (dir) => {
    // that harness wrote results.jsonl as it ran, report.json at the end, and no run.json
    const killed = `${dir}/killed`;
    await Deno.mkdir(killed);
    await Deno.copyFile(
      new URL("./fixtures/upgrade/65b857a_killed/results.jsonl", import.meta.url),
      `${killed}/results.jsonl`,
    );
    await assert.rejects(
      () => mergeRuns([killed]),
      (e: unknown) =>
        e instanceof ReportFileError && e.message.startsWith(`${killed}: holds 1 result `) &&
        /but no run\.json or report\.json .*their matrix, filter and environment are unknown.*--force/
          .test(e.message),
    );
    // a folder with no results at all is still "not a run output folder"
    await Deno.mkdir(`${dir}/empty`);
    await assert.rejects(() => mergeRuns([`${dir}/empty`]), /report\.json: missing/);
  });
});
