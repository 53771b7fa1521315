// What a merge must find alike in its folders besides the matrix, filter, planted fault and
// environment: the backend every case ran on (`run --backend`; absent: the adapter's choice),
// the contents of the config files the cases read (recorded as `configDigests`; a folder
// without them is merged with a note), and, within one folder, report.json and results.jsonl
// (a results.jsonl cut short or edited beside a report.json that holds more is refused, not
// read as cases never run).
import assert from "node:assert/strict";
import { mergeLines } from "../cli/merge.ts";
import { GpuContext, hasAdapter } from "../gpu/device.ts";
import {
  JsonlWriter,
  mergeRuns,
  ReportFileError,
  runReportProblem,
  writeRunOutputs,
} from "../report/mod.ts";
import { SILENT_PROGRESS } from "../report/progress.ts";
import { writeRunReports } from "../report/run_reports.ts";
import type { CaseResult, RunReport } from "../results/types.ts";
import { runMatrix } from "../runner/run_matrix.ts";
import { runCli } from "./helpers_cli.ts";
import { writeConfigMatrix } from "./matrix_file_helpers.ts";
import { report, result, withTempDir } from "./report_util.ts";
import { PASS_STUB } from "./stub_runner.ts";

const gpu = await hasAdapter();

/** Four results of cases that read the config file `cfg.json`. */
function configResults(): CaseResult[] {
  return [1, 2, 4, 8].map((b) => result({ preset: "cfg.json", b }));
}

/** A shard folder: report.json for the owned results, results.jsonl streamed line by line. */
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

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

Deno.test("merge: shards of another --backend (or none) are refused naming both; the same one is recorded", async () => {
  await withTempDir(async (tmp) => {
    const all = configResults();
    await shardDir(`${tmp}/a`, all, all.slice(0, 2), { shard: "1/2", backend: "wgsl-absorbed" });
    await shardDir(`${tmp}/b`, all, all.slice(2), { shard: "2/2" });
    await assert.rejects(
      mergeRuns([`${tmp}/a`, `${tmp}/b`]),
      (e: unknown) =>
        e instanceof ReportFileError &&
        e.message.startsWith(`${tmp}/b/report.json: ran with no --backend (the adapter's `) &&
        /but .*\/a with --backend wgsl-absorbed; shards of one run must share --backend/
          .test(e.message),
    );
    const cli = await runCli(["merge", `${tmp}/a`, `${tmp}/b`, "--out", `${tmp}/m`]);
    assert.equal(cli.code, 2, cli.stdout + cli.stderr);
    assert.match(cli.stderr, /ran with no --backend .* with --backend wgsl-absorbed/);
    assert.equal(await exists(`${tmp}/m/report.json`), false, "nothing written");

    await shardDir(`${tmp}/b`, all, all.slice(2), { shard: "2/2", backend: "wgsl-absorbed" });
    const m = await mergeRuns([`${tmp}/a`, `${tmp}/b`]);
    assert.equal(m.report.backend, "wgsl-absorbed");
    assert.deepEqual(m.missing, []);
  });
});

Deno.test("merge: shards that typed one --backend-module two ways keep it; two files of one content are merged and said, of two contents refused naming each file", async () => {
  await withTempDir(async (tmp) => {
    const all = configResults();
    const mod = (typed: string, path: string): Partial<RunReport> => ({
      backend: "naive",
      backendModules: [typed],
      backendModulePaths: [path],
    });
    // it was dropped: the merge's resume and explain commands lacked the module
    await shardDir(`${tmp}/a`, all, all.slice(0, 2), {
      shard: "1/2",
      ...mod("b/mod.ts", "/w/b/mod.ts"),
    });
    await shardDir(`${tmp}/b`, all, all.slice(2), {
      shard: "2/2",
      ...mod("/w/b/mod.ts", "/w/b/mod.ts"),
    });
    const m = await mergeRuns([`${tmp}/a`, `${tmp}/b`]);
    assert.deepEqual([m.report.backendModules, m.report.backendModulePaths], [["b/mod.ts"], [
      "/w/b/mod.ts",
    ]]);
    assert.equal(runReportProblem(m.report), null);
    assert.deepEqual(m.otherModuleFiles, []);
    // The same words for two files with the same contents (two checkouts): one kernel, so
    // merged, said, and the first folder's kept. Before, the module was dropped without a
    // word: the merge's resume and explain commands named --backend naive and no module.
    await shardDir(`${tmp}/b`, all, all.slice(2), {
      shard: "2/2",
      ...mod("b/mod.ts", "/v/b/mod.ts"),
    });
    const two = await mergeRuns([`${tmp}/a`, `${tmp}/b`]);
    assert.deepEqual([two.report.backendModules, two.report.backendModulePaths], [
      ["b/mod.ts"],
      ["/w/b/mod.ts"],
    ]);
    const said =
      `${tmp}/b loaded --backend-module /v/b/mod.ts, ${tmp}/a --backend-module /w/b/mod.ts`;
    assert.deepEqual(two.otherModuleFiles, [said]);
    assert.ok(
      mergeLines(two, 2).includes(
        `backend module from another file: ${said}; their contents are the same (the kernel ` +
          "hashes agree), so one kernel ran: the merged report names the first folder's",
      ),
    );
    // Other contents: refused (as before), now naming the file each folder loaded.
    const base = report([]).fingerprint;
    const hashed = (h: string) => ({
      fingerprint: { ...base, kernelHashes: { ...base.kernelHashes, "naive:mod.ts": h } },
    });
    await shardDir(`${tmp}/a`, all, all.slice(0, 2), {
      shard: "1/2",
      ...mod("b/mod.ts", "/w/b/mod.ts"),
      ...hashed("1111111111111111"),
    });
    await shardDir(`${tmp}/b`, all, all.slice(2), {
      shard: "2/2",
      ...mod("b/mod.ts", "/v/b/mod.ts"),
      ...hashed("2222222222222222"),
    });
    await assert.rejects(mergeRuns([`${tmp}/a`, `${tmp}/b`]), (e: unknown) => {
      assert.ok(e instanceof ReportFileError);
      assert.ok(
        e.message.includes(
          "(kernel file naive:mod.ts changed (hash 1111111111111111 → 2222222222222222); this folder's run " +
            `loaded --backend-module /v/b/mod.ts, ${tmp}/a's --backend-module /w/b/mod.ts); `,
        ),
        e.message,
      );
      return true;
    });
  });
});

Deno.test("merge: shards that read a config file with other contents are refused naming it; a shard without digests is merged with a note", async () => {
  await withTempDir(async (tmp) => {
    const all = configResults();
    const one = { "cfg.json": "1111111111111111" };
    await shardDir(`${tmp}/a`, all, all.slice(0, 2), { shard: "1/2", configDigests: one });
    await shardDir(`${tmp}/b`, all, all.slice(2), {
      shard: "2/2",
      configDigests: { "cfg.json": "2222222222222222" },
    });
    await assert.rejects(
      mergeRuns([`${tmp}/a`, `${tmp}/b`]),
      (e: unknown) =>
        e instanceof ReportFileError &&
        e.message.startsWith(
          `${tmp}/b/report.json: read config file cfg.json with sha-256 2222222222222222, but ` +
            `${tmp}/a read it with 1111111111111111: the file changed between the shards`,
        ),
    );
    const cli = await runCli(["merge", `${tmp}/a`, `${tmp}/b`, "--out", `${tmp}/m`]);
    assert.equal(cli.code, 2, cli.stdout + cli.stderr);
    assert.match(cli.stderr, /read config file cfg\.json with sha-256 2222222222222222/);
    assert.equal(await exists(`${tmp}/m/report.json`), false, "nothing written");

    // One version of the file: merged, the digests recorded.
    await shardDir(`${tmp}/b`, all, all.slice(2), { shard: "2/2", configDigests: one });
    const same = await mergeRuns([`${tmp}/a`, `${tmp}/b`]);
    assert.deepEqual(same.report.configDigests, one);
    assert.deepEqual(same.uncheckedConfigs, []);

    // A shard of a harness from before the digests: merged, said so, the merge's unknown.
    await shardDir(`${tmp}/b`, all, all.slice(2), { shard: "2/2" });
    const older = await mergeRuns([`${tmp}/a`, `${tmp}/b`]);
    assert.deepEqual(older.missing, []);
    assert.deepEqual(older.uncheckedConfigs, [`${tmp}/b`]);
    assert.equal(older.report.configDigests, undefined);
    assert.ok(
      mergeLines(older, 2).includes(
        `config files not checked: ${tmp}/b (its report does not record their digests, a ` +
          "harness from before it did): whether they changed between the shards is unknown",
      ),
    );
    const ok = await runCli(["merge", `${tmp}/a`, `${tmp}/b`, "--out", `${tmp}/m`]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /^config files not checked: .*\/b /m);
  });
});

Deno.test("merge: a results.jsonl emptied, cut short or edited beside its finished report.json is refused naming both counts", async () => {
  await withTempDir(async (tmp) => {
    const all = configResults();
    const dir = `${tmp}/run`;
    await shardDir(dir, all, all);
    const full = await Deno.readTextFile(`${dir}/results.jsonl`);
    const lines = full.trimEnd().split("\n");
    const edited = JSON.stringify({ ...all[1], status: "fail" });
    const cases: [string, string, RegExp][] = [
      ["emptied", "", /holds 0 results, but report\.json beside it holds 4, 4 of them/],
      [
        "kept 3 lines",
        lines.slice(0, 3).join("\n") + "\n",
        /holds 3 results, but report\.json beside it holds 4, 1 of them \(case "[^"]+b=8[^"]*" first\) not in results\.jsonl/,
      ],
      [
        "edited",
        [lines[0], edited, ...lines.slice(2)].join("\n") + "\n",
        /holds 4 results, but report\.json beside it holds 4, case "[^"]+b=2[^"]*" disagreeing \(status pass in report\.json, fail in results\.jsonl\)/,
      ],
    ];
    for (const [what, text, message] of cases) {
      await Deno.writeTextFile(`${dir}/results.jsonl`, text);
      await assert.rejects(
        mergeRuns([dir]),
        (e: unknown) =>
          e instanceof ReportFileError && e.message.startsWith(`${dir}/results.jsonl: `) &&
          message.test(e.message),
        what,
      );
      const cli = await runCli(["merge", dir, "--out", `${tmp}/m`]);
      assert.equal(cli.code, 2, `${what}: ${cli.stdout}${cli.stderr}`);
      assert.match(cli.stderr, message, what);
      assert.match(cli.stderr, /move it out of the folder and merge again to use report\.json's/);
      assert.equal(await exists(`${tmp}/m/report.json`), false, `${what}: nothing written`);
    }
    // What the message says to do: without results.jsonl, report.json's results are merged.
    await Deno.remove(`${dir}/results.jsonl`);
    const m = await mergeRuns([dir]);
    assert.equal(m.report.results.length, 4);
    assert.deepEqual(m.missing, []);
    // A results.jsonl holding more than report.json (report.json of an older harness, written
    // before a killed run's last results) is still read, as before.
    await Deno.writeTextFile(`${dir}/results.jsonl`, full);
    await writeRunOutputs(dir, report([], { matrixIds: all.map((x) => x.id) }), { jsonl: false });
    assert.equal((await mergeRuns([dir])).report.results.length, 4);
  });
});

Deno.test({
  name: "merge: run shards of one --backend and another, or before and after a config edit, " +
    "are refused",
  ignore: !gpu,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "mla-merge-identity-" });
    const ctx = await GpuContext.create();
    try {
      const matrix = await writeConfigMatrix(dir, [1, 2, 3, 4, 5, 6]);
      const shard = (index: number, out: string, backend?: string) =>
        runMatrix({
          matrix,
          out: `${dir}/${out}`,
          ctx,
          shard: { index, count: 2 },
          backend,
          progress: SILENT_PROGRESS,
          writeReports: writeRunReports,
          testOnlyCaseRunner: PASS_STUB,
        });
      const s1 = await shard(1, "s1", "wgsl-absorbed");
      assert.equal(s1.backend, "wgsl-absorbed");
      await shard(2, "s2");
      await assert.rejects(
        mergeRuns([`${dir}/s1`, `${dir}/s2`]),
        (e: unknown) => e instanceof ReportFileError && /must share --backend/.test(e.message),
      );
      await shard(2, "s2", "wgsl-absorbed");
      assert.equal((await mergeRuns([`${dir}/s1`, `${dir}/s2`])).report.backend, "wgsl-absorbed");
      // rope_theta edited between the shards: another model under the same case ids
      const text = await Deno.readTextFile(`${dir}/cfg.json`);
      await Deno.writeTextFile(
        `${dir}/cfg.json`,
        text.replace('"rope_theta": 10000,', '"rope_theta": 50000,'),
      );
      await shard(2, "s2", "wgsl-absorbed");
      await assert.rejects(
        mergeRuns([`${dir}/s1`, `${dir}/s2`]),
        (e: unknown) =>
          e instanceof ReportFileError &&
          /read config file cfg\.json with sha-256 [0-9a-f]{16}, but .*\/s1 read it with/
            .test(e.message),
      );
    } finally {
      ctx.destroy();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("report.json: backend and configDigests are optional; when present, an id and digest strings", () => {
  const all = configResults();
  assert.equal(runReportProblem(report(all)), null, "absent: a report from before them");
  assert.equal(
    runReportProblem(report(all, { backend: "wgsl-absorbed", configDigests: {} })),
    null,
  );
  assert.match(
    runReportProblem({ ...report(all), backend: "" }) ?? "",
    /field "backend" must be a backend id or absent/,
  );
  assert.match(
    runReportProblem({ ...report(all), configDigests: { "cfg.json": 7 } }) ?? "",
    /field "configDigests" must be an object of config paths to digests, or absent \("cfg\.json" has no digest string\)/,
  );
  assert.match(
    runReportProblem({ ...report(all), configDigests: ["cfg.json"] }) ?? "",
    /field "configDigests" must be an object/,
  );
});
