/**
 * tools/tune_search.ts: the plan tuner's search on made-up runs, so every verdict is
 * deterministic: a kept candidate becomes what later candidates are judged against and is
 * in every later run's knobs; a failed run, a run that changes no plan and one not faster
 * enough are recorded and not kept; the file is saved after every trial and only the last
 * save is complete; a search that dies halfway leaves the last save with the trials made.
 * Also tools/tune_plan.ts's run arguments (--cached-only, --filter).
 */
import assert from "node:assert/strict";
import type { PlanTuning } from "../adapter/types.ts";
import { matrixRunArgs } from "../tools/tune_plan.ts";
import {
  type MatrixRun,
  type TrialCase,
  tuneSearch,
  type TuningFileBody,
} from "../tools/tune_search.ts";

/**
 * A made-up device: case "dec"'s plan follows the tiled knobs and "pre"'s the FA2 knobs; the
 * decode takes `decMs(knobs)`; a 16 KiB tier fails the decode.
 */
function fakeRunner(decMs: (k: PlanTuning) => number, opts: { dieAt?: number } = {}) {
  const calls: { label: string; knobs: PlanTuning }[] = [];
  const run = (label: string, knobs: PlanTuning): Promise<MatrixRun> => {
    calls.push({ label, knobs });
    if (opts.dieAt !== undefined && calls.length === opts.dieAt) {
      return Promise.reject(new Error("killed"));
    }
    const tiled = JSON.stringify([
      knobs.tiledMaxRows,
      knobs.tiledTier === 49152 ? undefined : knobs.tiledTier,
    ]);
    const fa2 = JSON.stringify([knobs.fa2MaxChunkVec4]);
    const dec: TrialCase = {
      id: "dec",
      status: knobs.tiledTier === 16384 ? "fail" : "pass",
      planDigest: tiled,
      medianMs: decMs(knobs),
    };
    const pre: TrialCase = { id: "pre", status: "pass", planDigest: fa2, medianMs: 3 };
    return Promise.resolve({
      exitCode: dec.status === "pass" ? 0 : 1,
      cases: [dec, pre],
      stderr: "",
      device: "fake (vendor 0x1, device 0x2)",
    });
  };
  return { run, calls };
}

Deno.test("tuneSearch: a kept candidate is the new best and rides along; every verdict recorded", async () => {
  // Untuned 1 ms; 8 rows 0.5 ms (kept); 16 rows 0.49 ms: faster than untuned but only 2%
  // faster than the kept 8, so "not faster" at a 3% minimum gain.
  const { run, calls } = fakeRunner((k) =>
    k.tiledMaxRows === 8 ? 0.5 : k.tiledMaxRows === 16 ? 0.49 : 1
  );
  const saves: TuningFileBody[] = [];
  const lines: string[] = [];
  const outcome = await tuneSearch(run, {
    knobs: ["tiledMaxRows", "tiledTier"],
    minGain: 0.03,
    note: "test",
    save: (b) => {
      saves.push(structuredClone(b));
      return Promise.resolve();
    },
    progress: (l) => lines.push(l),
  });
  assert.equal(outcome.kind, "done");
  if (outcome.kind !== "done") return;
  assert.deepEqual(outcome.knobs, { tiledMaxRows: 8 });
  assert.deepEqual(
    outcome.trials.map((t) => `${t.knob ?? "-"} ${t.value ?? "-"} ${t.verdict}`),
    [
      "- - untuned",
      "tiledMaxRows 8 kept",
      "tiledMaxRows 16 not faster",
      // 32 is the default: not run again.
      "tiledTier 16384 failed",
      // 49152 gives this device's plan unchanged.
      "tiledTier 49152 no plan changed",
    ],
  );
  assert.equal(outcome.trials[1].ratio, 0.5);
  assert.equal(outcome.trials[2].ratio, 0.98, "judged against the kept 8, not the untuned run");
  // The warm-up first, then the untuned run; the tier's runs carry the kept 8 rows.
  assert.deepEqual(calls.map((c) => c.label), ["warmup", "run0", "run1", "run2", "run3", "run4"]);
  assert.deepEqual(calls[0].knobs, {});
  assert.deepEqual(calls[4].knobs, { tiledMaxRows: 8, tiledTier: 16384 });
  assert.deepEqual(calls[5].knobs, { tiledMaxRows: 8, tiledTier: 49152 });
  // Saved after the untuned run, after each trial, and once complete.
  assert.deepEqual(saves.map((s) => [s.trials.length, s.complete]), [
    [1, false],
    [2, false],
    [3, false],
    [4, false],
    [5, false],
    [5, true],
  ]);
  assert.deepEqual(saves[0].knobs, {});
  assert.deepEqual(saves[2].knobs, { tiledMaxRows: 8 }, "kept knobs are saved at once");
  for (const s of saves) {
    assert.equal(s.format, "mla-harness-tuning/1");
    assert.equal(s.device, "fake (vendor 0x1, device 0x2)");
    assert.equal(s.note, "test");
  }
  assert.deepEqual(lines, [
    "untuned: 2 cases pass",
    "tiledMaxRows 8: kept (x0.500)",
    "tiledMaxRows 16: not faster (x0.980)",
    "tiledTier 16384: failed",
    "tiledTier 49152: no plan changed",
  ]);
});

Deno.test("tuneSearch: a search that dies halfway leaves the last save, incomplete", async () => {
  const { run } = fakeRunner((k) => k.tiledMaxRows === 8 ? 0.5 : 1, { dieAt: 4 });
  let last: TuningFileBody | undefined;
  await assert.rejects(
    tuneSearch(run, {
      knobs: ["tiledMaxRows"],
      minGain: 0.03,
      note: "test",
      save: (b) => {
        last = structuredClone(b);
        return Promise.resolve();
      },
    }),
    /killed/,
  );
  // warm-up, untuned, 8 rows, then the 16-row run died.
  assert.ok(last);
  assert.equal(last.complete, false);
  assert.deepEqual(last.knobs, { tiledMaxRows: 8 });
  assert.deepEqual(last.trials.map((t) => t.verdict), ["untuned", "kept"]);
});

Deno.test("tuneSearch: an untuned run that fails a case ends the search before any save", async () => {
  const { run, calls } = fakeRunner(() => 1);
  let saved = 0;
  const failing = (label: string, knobs: PlanTuning) =>
    run(label, label === "run0" ? { ...knobs, tiledTier: 16384 } : knobs);
  const outcome = await tuneSearch(failing, {
    knobs: ["tiledMaxRows"],
    minGain: 0.03,
    note: "test",
    save: () => {
      saved++;
      return Promise.resolve();
    },
  });
  assert.equal(outcome.kind, "untuned-failed");
  if (outcome.kind === "untuned-failed") assert.equal(outcome.run.exitCode, 1);
  assert.equal(saved, 0);
  assert.equal(calls.length, 2, "no candidate runs");
});

Deno.test("tune_plan's run arguments: --cached-only before the script, --filter at the end", () => {
  const base = { matrix: "m.json", filter: null, repeats: 10, maxRows: 16, cachedOnly: false };
  const plain = matrixRunArgs(base, "w/run0", "main.ts");
  assert.deepEqual(plain, [
    "run",
    "-A",
    "main.ts",
    "run",
    "--matrix",
    "m.json",
    "--out",
    "w/run0",
    "--force",
    "--repeats",
    "10",
    "--max-rows",
    "16",
  ]);
  const cached = matrixRunArgs({ ...base, cachedOnly: true, filter: "dtype=f16" }, "o", "x.ts");
  // deno's own flag goes before the script; after it, it would be the harness's argument.
  assert.deepEqual(cached.slice(0, 4), ["run", "--cached-only", "-A", "x.ts"]);
  assert.deepEqual(cached.slice(-2), ["--filter", "dtype=f16"]);
});
