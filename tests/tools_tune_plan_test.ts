/**
 * tools/tune_plan.ts: the plan tuner. Its comparison counts only the cases whose plan a
 * candidate changed; on this machine's adapter planned as a GPU it writes a tuning file the
 * harness reads back, records every trial (a candidate that changes no plan, one that is not
 * faster, one the device cannot run), and refuses bad options and a filter that selects
 * nothing.
 */
import assert from "node:assert/strict";
import { parseTuningFile } from "../adapter/plan_tuning.ts";
import { changedRatio, type Trial, TUNING_CANDIDATES } from "../tools/tune_search.ts";
import { CAPS, slowOnGlFallback } from "./gpu_helpers.ts";
import { runTool } from "./helpers_cli.ts";
import { DEFAULT_TUNING, TUNING_KNOBS } from "../adapter/plan_tuning.ts";

const MATRIX = new URL("./fixtures/tune_tiny_matrix.json", import.meta.url).pathname;

const tune = (args: string[], env: Record<string, string> = {}) =>
  runTool("tune_plan.ts", args, env);

const SKIP = CAPS === null
  ? "no WebGPU adapter"
  : slowOnGlFallback("a gpu-class plan's workgroup memory");

Deno.test("changedRatio compares only the cases whose plan changed", () => {
  const a = { id: "a", status: "pass", planDigest: "1", medianMs: 2 };
  const b = { id: "b", status: "pass", planDigest: "x", medianMs: 5 };
  assert.equal(changedRatio([a, b], [a, { ...b, medianMs: 50 }]), null, "no plan changed");
  assert.equal(changedRatio([a, b], [{ ...a, planDigest: "2", medianMs: 1 }, b]), 0.5);
  assert.equal(
    changedRatio([a, b], [{ ...a, planDigest: "2", medianMs: 2 }, {
      ...b,
      planDigest: "y",
      medianMs: 20,
    }]),
    2, // the geometric mean of 1 and 4
  );
  const untimed = { id: "a", status: "pass", planDigest: "2" };
  assert.equal(changedRatio([a], [untimed]), null, "a changed case without a time");
});

Deno.test("every knob's candidates hold its default and only valid values", () => {
  for (const k of TUNING_KNOBS) {
    assert.ok(TUNING_CANDIDATES[k].includes(DEFAULT_TUNING[k]), k);
    // Each candidate passes the tuning file's own validation.
    for (const v of TUNING_CANDIDATES[k]) parseTuningFile({ knobs: { [k]: v } }, k);
  }
});

Deno.test("tune_plan: bad options are exit 2 naming the option and what is valid", async () => {
  const noOut = await tune([]);
  assert.equal(noOut.code, 2);
  assert.match(noOut.stderr, /--out FILE is required/);
  const knob = await tune(["--out", "/tmp/x.json", "--knobs", "tiledRows"]);
  assert.equal(knob.code, 2);
  assert.match(knob.stderr, /unknown knob "tiledRows"; valid: tiledMaxRows, tiledMaxQVec4/);
  const reps = await tune(["--out", "/tmp/x.json", "--repeats", "0"]);
  assert.equal(reps.code, 2);
  assert.match(reps.stderr, /--repeats "0": must be an integer from 1 to 1000/);
  const dir = await tune(["--out", "/nonexistent-dir/tuning.json"]);
  assert.equal(dir.code, 2);
  assert.match(dir.stderr, /--out \/nonexistent-dir\/tuning\.json: its folder .* does not exist/);
  const twice = await tune(["--out", "/tmp/x.json", "--knobs", "tiledMaxRows,tiledMaxRows"]);
  assert.equal(twice.code, 2);
  assert.match(twice.stderr, /--knobs: tiledMaxRows is named twice/);
  const file = await Deno.makeTempFile();
  try {
    // a --work that is a file: said in a line (it was an uncaught AlreadyExists)
    const work = await tune(["--out", "/tmp/x.json", "--work", file]);
    assert.equal(work.code, 2);
    assert.match(work.stderr, new RegExp(`--work ${file}: cannot be made a folder`));
    for (const r of [noOut, knob, reps, dir, twice, work]) {
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
  } finally {
    await Deno.remove(file);
  }
});

Deno.test({
  name: "tune_plan stopped by SIGTERM stops the matrix run it started and removes its folder",
  ignore: SKIP !== null,
  fn: async () => {
    const tmp = await Deno.realPath(await Deno.makeTempDir({ prefix: "mla-tune-signal-" }));
    try {
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          new URL("../tools/tune_plan.ts", import.meta.url).pathname,
          "--out",
          `${tmp}/t.json`,
          "--matrix",
          MATRIX,
          "--repeats",
          "1000",
        ],
        env: { TMPDIR: tmp, MLA_HARNESS_DEVICE_CLASS: "gpu" },
        stdout: "null",
        stderr: "piped",
      }).spawn();
      // wait for its first matrix run to hold its folder: run.lock names the run's pid
      const lockedPid = (): number | null => {
        for (const e of Deno.readDirSync(tmp)) {
          if (!e.name.startsWith("mla-tune-")) continue;
          for (const run of Deno.readDirSync(`${tmp}/${e.name}`)) {
            try {
              const pid = JSON.parse(
                Deno.readTextFileSync(`${tmp}/${e.name}/${run.name}/run.lock`),
              )?.pid;
              if (typeof pid === "number") return pid;
            } catch {
              // not a run folder, or its lock not written yet
            }
          }
        }
        return null;
      };
      let pid: number | null = null;
      const until = Date.now() + 60_000;
      while ((pid = lockedPid()) === null && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(pid !== null, "a matrix run started");
      child.kill("SIGTERM");
      const [status, err] = await Promise.all([child.status, new Response(child.stderr).text()]);
      assert.equal(status.code, 143, err);
      assert.match(err, /stopped by SIGTERM/);
      // the matrix run is gone (a signal to it fails: no such process), and so is the folder
      assert.throws(() => Deno.kill(pid!, "SIGCONT"), "the matrix run was stopped");
      assert.deepEqual(
        [...Deno.readDirSync(tmp)].filter((e) => e.name.startsWith("mla-tune-")),
        [],
        "its temporary folder removed",
      );
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test({
  name: "tune_plan on tiny cases planned as a GPU: every trial recorded, the file read back",
  ignore: SKIP !== null,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const out = `${dir}/tuning.json`;
      // A gain no candidate reaches (99%): the verdicts do not depend on this host's noise.
      const r = await tune([
        "--out",
        out,
        "--matrix",
        MATRIX,
        "--knobs",
        "tiledMaxRows,tiledTier",
        "--repeats",
        "1",
        "--min-gain",
        "0.99",
      ], { MLA_HARNESS_DEVICE_CLASS: "gpu" });
      assert.equal(r.code, 0, r.stderr);
      const file = JSON.parse(await Deno.readTextFile(out));
      assert.deepEqual(parseTuningFile(file, out), {}, "nothing is 99% faster");
      assert.equal(file.complete, true);
      assert.match(file.device, /\(vendor .*, device .*\)/);
      const trials = file.trials as Trial[];
      const verdicts = trials.map((t) => `${t.knob ?? "-"} ${t.value ?? "-"} ${t.verdict}`);
      assert.deepEqual(verdicts, [
        "- - untuned",
        // tiny has 4 heads: 8 or 16 rows a workgroup plan as 32 do.
        "tiledMaxRows 8 no plan changed",
        "tiledMaxRows 16 no plan changed",
        // A 16 KiB tier stages fewer keys a tile; 48 KiB is over lavapipe's 32 KiB.
        "tiledTier 16384 not faster",
        "tiledTier 49152 failed",
      ]);
      const [decode, prefill] = trials[0].cases;
      for (const t of trials.filter((t) => t.verdict !== "failed")) {
        assert.ok(t.cases.every((c) => c.status === "pass"), JSON.stringify(t));
        const d = t.cases.find((c) => c.id === decode.id)!;
        const p = t.cases.find((c) => c.id === prefill.id)!;
        // A tiled knob changes the tiled decode's plan, not the FA2 prefill's (what the
        // tuner's ratio compares: the changed cases only).
        if (t.knob === "tiledTier") {
          assert.notEqual(d.planDigest, decode.planDigest);
          assert.equal(p.planDigest, prefill.planDigest);
        }
        if (t.verdict === "no plan changed") {
          assert.deepEqual(
            t.cases.map((c) => c.planDigest),
            [decode, prefill].map((c) => c.planDigest),
          );
        }
      }
      const failed = trials.find((t) => t.verdict === "failed")!;
      assert.notEqual(failed.exitCode, 0);
      assert.ok(failed.cases.some((c) => c.status !== "pass"));
      assert.match(r.stdout, /tuning\.json: every knob at the default/);
      assert.match(r.stderr, /^untuned: 2 cases pass$/m);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "tune_plan: a filter that selects no case is the run's exit 2, said before any tuning; " +
    "its temporary work folder is removed",
  ignore: CAPS === null,
  fn: async () => {
    // The tuner's default work folder is a temporary one: in this TMPDIR, so what is left
    // there afterwards can be seen.
    const tmp = await Deno.makeTempDir({ prefix: "mla-tune-tmpdir-" });
    try {
      const r = await tune([
        "--out",
        `${tmp}/never-written.json`,
        "--matrix",
        MATRIX,
        "--filter",
        "preset=deepseek-v3",
      ], { TMPDIR: tmp });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /the untuned run exited 2/);
      assert.match(r.stderr, /nothing to tune against/);
      assert.deepEqual([...Deno.readDirSync(tmp)].map((e) => e.name), []);
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
