// `compare` given a run folder whose run was killed before its reports, or a folder as
// --thresholds: each says what the folder is and what to do (they said "a directory without
// report.json" and the OS's "IsADirectory" before).
import assert from "node:assert/strict";
import { runCli } from "./helpers_cli.ts";
import { DriftInputError, loadComparable } from "../drift/mod.ts";
import { lockOutDir } from "../runner/out_lock.ts";

const BASELINE = "baselines/llvmpipe-65541-vulkan.json";

Deno.test("compare: a killed run's folder names merge and resume; a folder as --thresholds is named so", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla-compare-inputs-" });
  try {
    const killed = `${dir}/killed`;
    await Deno.mkdir(killed);
    await Deno.writeTextFile(`${killed}/run.json`, '{"version":1,"state":"running"}\n');
    await Deno.writeTextFile(`${killed}/results.jsonl`, "");
    const r = await runCli(["compare", BASELINE, killed]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `${killed}: the folder.s run was killed before writing its reports .*\`merge ${killed} --out ` +
          `${killed}\` rebuilds them .*\`run --resume\` with the run's own options finishes it`,
      ),
    );
    // as the baseline side too: it was read as a folder of baselines, "no baseline for this
    // device (...); the folder has run"
    const b = await runCli(["compare", killed, BASELINE]);
    assert.equal(b.code, 2, b.stderr);
    assert.match(b.stderr, new RegExp(`${killed}: the folder.s run was killed before writing`));
    assert.doesNotMatch(b.stderr, /no baseline for this device/);
    const t = await runCli(["compare", BASELINE, BASELINE, "--thresholds", dir]);
    assert.equal(t.code, 2, t.stderr);
    assert.match(t.stderr, new RegExp(`${dir}: is a folder, not a thresholds file`));
    assert.doesNotMatch(t.stderr, /IsADirectory/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("compare: a run folder's results.jsonl or summary.md given as a side names the folder to give", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla compare inputs " });
  try {
    await Deno.writeTextFile(`${dir}/results.jsonl`, '{"id":"a"}\n{"id":"b"}\n');
    await Deno.writeTextFile(`${dir}/notes.txt`, "hello\n");
    const refusal = async (path: string): Promise<string> => {
      try {
        await loadComparable(path);
      } catch (e) {
        if (e instanceof DriftInputError) return e.message;
        throw e;
      }
      throw new Error(`${path} was read as a run`);
    };
    // it said only "not valid JSON (unexpected content after the JSON value at line 2 ...)"
    assert.equal(
      await refusal(`${dir}/results.jsonl`),
      `${dir}/results.jsonl: not valid JSON (unexpected content after the JSON value at line 2, ` +
        "column 1); give a baseline file, a report.json or a run output folder (results.jsonl " +
        `is one of a run folder's files: give the folder, ${dir})`,
    );
    // a truncated report.json is the right kind of file, broken: no "give the folder" (its
    // folder reads that file); said to be half-written, as run --resume and merge say it (it
    // read "not valid JSON (unexpected end of input; ...)", as if edited wrongly)
    await Deno.writeTextFile(`${dir}/report.json`, '{"version": 1, "resu');
    assert.match(
      await refusal(`${dir}/report.json`),
      /report\.json: half-written: it ends partway through its JSON \([^)]*\), so it cannot be read$/,
    );
    // a baseline file cut short likewise
    await Deno.writeTextFile(`${dir}/b.json`, '{"format": "mla-harness-baseline", "ca');
    assert.match(await refusal(`${dir}/b.json`), /b\.json: half-written: it ends partway/);
    // another file that is not JSON: what to give, no folder
    assert.match(
      await refusal(`${dir}/notes.txt`),
      /not valid JSON .*; give a baseline file, a report\.json or a run output folder$/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("compare and history --add given a folder whose run is still going: said so, not 'killed' with merge and resume to run", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla-compare-going-" });
  const going = `${dir}/going`;
  await Deno.mkdir(going);
  await Deno.writeTextFile(`${going}/run.json`, '{"version":1,"state":"running"}\n');
  await Deno.writeTextFile(`${going}/results.jsonl`, "");
  const lock = await lockOutDir(going); // the run writing the folder now
  try {
    for (
      const args of [
        ["compare", BASELINE, going],
        ["compare", going, BASELINE], // the baseline side too
        ["history", "--db", `${dir}/h.sqlite`, "--add", going],
      ]
    ) {
      const r = await runCli(args);
      assert.equal(r.code, 2, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(`${going}: the folder's run is still going \\(its run\\.lock is held\\)`),
      );
      assert.doesNotMatch(r.stderr, /killed|--resume|merge/);
    }
  } finally {
    await lock.release();
    await Deno.remove(dir, { recursive: true });
  }
});
