/**
 * `merge` refuses, before writing anything, what would misread or destroy its inputs: a
 * shard folder given twice, an --out that is one of several folders merged, an --out
 * holding another run's run.json, and a bench's folder. `merge <dir> --out <dir>` still rebuilds in place.
 */
import assert from "node:assert/strict";
import { JsonlWriter, writeRunOutputs } from "../report/mod.ts";
import { writeRunState } from "../report/run_state.ts";
import type { CaseResult } from "../results/types.ts";
import { runCli } from "./helpers_cli.ts";
import { lockOutDir } from "../runner/out_lock.ts";
import { mixedResults, report, withTempDir } from "./report_util.ts";

/** A finished shard folder (run.json, results.jsonl, reports) owning `owned` of `all`. */
async function shard(
  dir: string,
  all: readonly CaseResult[],
  owned: readonly CaseResult[],
  shard: string,
): Promise<void> {
  const r = report(owned, {
    matrixIds: all.map((x) => x.id),
    shardIds: owned.map((x) => x.id),
    shard,
  });
  await writeRunOutputs(dir, r, { jsonl: false });
  await writeRunState(`${dir}/run.json`, { version: 1, state: "finished", report: r });
  const w = await JsonlWriter.open(`${dir}/results.jsonl`, { truncate: true });
  for (const x of owned) await w.write(x);
  await w.close();
}

/** Every file of a folder with its contents. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const e of Deno.readDir(dir)) {
    out[e.name] = await Deno.readTextFile(`${dir}/${e.name}`);
  }
  return out;
}

Deno.test("merge: a folder given twice, or --out naming a shard or another run, is exit 2 and writes nothing", async () => {
  await withTempDir(async (tmp) => {
    const all = mixedResults();
    const half = Math.ceil(all.length / 2);
    await shard(`${tmp}/s1`, all, all.slice(0, half), "1/2");
    await shard(`${tmp}/s2`, all, all.slice(half), "2/2");
    // Another run's folder (not a shard of this one): its files must survive.
    await shard(`${tmp}/other`, all, all.slice(0, 1), "1/4");
    const before = {
      s1: await snapshot(`${tmp}/s1`),
      s2: await snapshot(`${tmp}/s2`),
      other: await snapshot(`${tmp}/other`),
    };

    const twice = await runCli([
      "merge",
      `${tmp}/s1`,
      `${tmp}/./s1/`,
      `${tmp}/s2`,
      "--out",
      `${tmp}/m1`,
    ]);
    assert.equal(twice.code, 2, twice.stdout + twice.stderr);
    assert.match(
      twice.stderr,
      /s1\/ is the folder .*s1 given again \(argument 1 and 2\); give each shard folder once/,
    );

    const intoShard = await runCli(["merge", `${tmp}/s1`, `${tmp}/s2`, "--out", `${tmp}/s2/`]);
    assert.equal(intoShard.code, 2, intoShard.stdout + intoShard.stderr);
    assert.match(intoShard.stderr, /--out .*s2\/: is the shard folder .*s2 being merged/);

    const intoRun = await runCli(["merge", `${tmp}/s1`, `${tmp}/s2`, "--out", `${tmp}/other`]);
    assert.equal(intoRun.code, 2, intoRun.stdout + intoRun.stderr);
    assert.match(intoRun.stderr, /--out .*other: holds another run \(run\.json\)/);

    // a bench's folder: its reports would be replaced, its records left beside the merge's
    await Deno.mkdir(`${tmp}/bench`);
    await Deno.writeTextFile(`${tmp}/bench/records.jsonl`, '{"id":"x"}\n');
    await Deno.writeTextFile(`${tmp}/bench/report.json`, "{}\n");
    const intoBench = await runCli(["merge", `${tmp}/s1`, `${tmp}/s2`, "--out", `${tmp}/bench`]);
    assert.equal(intoBench.code, 2, intoBench.stdout + intoBench.stderr);
    assert.match(
      intoBench.stderr,
      /--out .*bench: holds records\.jsonl: it is the output folder of a bench/,
    );
    assert.equal(await Deno.readTextFile(`${tmp}/bench/report.json`), "{}\n");
    await Deno.remove(`${tmp}/bench`, { recursive: true });

    // a folder whose run is still going (its lock held): exit 2, not "rebuilt ... killed"
    const held = await lockOutDir(`${tmp}/s2`);
    let live;
    try {
      live = await runCli(["merge", `${tmp}/s1`, `${tmp}/s2`, "--out", `${tmp}/m-live`]);
    } finally {
      await held.release();
    }
    assert.equal(live.code, 2, live.stdout + live.stderr);
    assert.match(live.stderr, /s2 holds a run that is still going \(its run\.lock is held\)/);
    assert.doesNotMatch(live.stdout, /rebuilt/);

    // a file the merge writes that is a folder: exit 2 naming it (it was an internal error
    // with a stack trace as the reports were written)
    await Deno.mkdir(`${tmp}/busy/summary.md/x`, { recursive: true });
    const folder = await runCli(["merge", `${tmp}/s1`, `${tmp}/s2`, "--out", `${tmp}/busy`]);
    assert.equal(folder.code, 2, folder.stdout + folder.stderr);
    assert.match(
      folder.stderr,
      /--out \(summary\.md\) .*busy\/summary\.md: is a folder; give a file path/,
    );
    await Deno.remove(`${tmp}/busy`, { recursive: true });

    for (const r of [twice, intoShard, intoRun, intoBench, live, folder]) {
      assert.doesNotMatch(r.stderr, /internal error|at .*\.ts:\d+/);
    }
    assert.deepEqual(await snapshot(`${tmp}/s1`), before.s1);
    assert.deepEqual(await snapshot(`${tmp}/s2`), before.s2);
    assert.deepEqual(await snapshot(`${tmp}/other`), before.other);
    assert.deepEqual((await Array.fromAsync(Deno.readDir(tmp))).map((e) => e.name).sort(), [
      "other",
      "s1",
      "s2",
    ]);

    // Still allowed: a fresh folder, the same one again (an earlier merge's), one folder in place.
    for (let i = 0; i < 2; i++) {
      const ok = await runCli(["merge", `${tmp}/s1`, `${tmp}/s2`, "--out", `${tmp}/merged`]);
      assert.equal(ok.code, 1, ok.stdout + ok.stderr); // mixedResults has failures
      assert.match(ok.stdout, new RegExp(`merged 2 dirs: ${all.length}/${all.length} cases`));
    }
    const inPlace = await runCli(["merge", `${tmp}/s1`, "--out", `${tmp}/s1`]);
    assert.match(inPlace.stdout, new RegExp(`merged 1 dir: ${half}/${all.length} cases`));
  });
});

Deno.test("merge: an --out another writer holds (run.lock) is exit 2; an earlier merge's reports are replaced whole", async () => {
  await withTempDir(async (tmp) => {
    const all = mixedResults();
    await shard(`${tmp}/s1`, all, all.slice(0, 2), "1/2");
    await shard(`${tmp}/s2`, all, all.slice(2), "2/2");
    const out = `${tmp}/merged`;
    await Deno.mkdir(out);
    const lock = await lockOutDir(out); // a merge (or run) writing there now
    try {
      const r = await runCli(["merge", `${tmp}/s1`, `${tmp}/s2`, "--out", out]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /is being written by another run \(process \d+/);
      assert.deepEqual([...Deno.readDirSync(out)].map((e) => e.name), ["run.lock"]);
    } finally {
      await lock.release();
    }
    // a folder named run.lock where the lock file goes: said, exit 2 (it was an internal
    // error with a stack trace, as for run, bench and compare-runtimes)
    await Deno.mkdir(`${tmp}/odd/run.lock`, { recursive: true });
    const odd = await runCli(["merge", `${tmp}/s1`, "--out", `${tmp}/odd`]);
    assert.equal(odd.code, 2, odd.stderr);
    assert.equal(
      odd.stderr,
      `error: ${tmp}/odd/run.lock: is a folder, where the lock file that lets one run at a ` +
        `time write ${tmp}/odd goes: remove it, or pick another --out\n`,
    );
    // a merge of one shard, then of both: every report is the second's, and no lock is left
    assert.equal((await runCli(["merge", `${tmp}/s1`, "--out", out])).code, 1);
    // the half-written temp files of atomic writes a killed merge (or run) left: removed
    // and said when the folder is taken (each killed writer left its own, kept for good);
    // other files stay
    await Deno.writeTextFile(`${out}/.report.html.0a1b2c3d.tmp`, "<!doctype html><ht");
    await Deno.writeTextFile(`${out}/.run.json.89abcdef.tmp`, '{"version": 1, "st');
    await Deno.writeTextFile(`${out}/.notes.tmp`, "mine\n");
    const both = await runCli(["merge", `${tmp}/s1`, `${tmp}/s2`, "--out", out]);
    assert.equal(both.code, 1, both.stderr); // mixedResults holds a failure
    assert.match(
      both.stderr,
      new RegExp(
        `note: removed ${out}/\\.report\\.html\\.0a1b2c3d\\.tmp, a half-written copy of ` +
          "report\\.html that a killed process left",
      ),
    );
    assert.match(
      both.stderr,
      /removed .*\.run\.json\.89abcdef\.tmp, a half-written copy of run\.json/,
    );
    assert.deepEqual(
      [...Deno.readDirSync(out)].map((e) => e.name).filter((n) => n.startsWith(".")),
      [".notes.tmp"],
    );
    const json = JSON.parse(await Deno.readTextFile(`${out}/report.json`));
    assert.equal(json.results.length, all.length);
    const md = await Deno.readTextFile(`${out}/summary.md`);
    assert.doesNotMatch(md, /missing/i, "summary.md is the merge of both shards");
    assert.ok(!(await Deno.stat(`${out}/run.lock`).then(() => true, () => false)), "lock released");
  });
});
