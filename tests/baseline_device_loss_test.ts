// A run stopped by repeated device losses is exit 3 (infrastructure) for `baseline update` as for
// `run`: runMatrix writes the reports and run.json (marked interrupted) and throws
// DeviceLostError, which the CLI maps to 3 for both, so baseline update never reaches its own
// refusal of an interrupted run (exit 2, meant for `--from-report` of one) and writes no
// baseline. The device here reports itself lost after every case (tests/fixtures/
// device_lost_main.ts); each re-acquired device is real.
import assert from "node:assert/strict";
import { hasAdapter } from "../gpu/device.ts";
import { readRunState } from "../report/run_state.ts";

const gpu = await hasAdapter();
const driver = new URL("./fixtures/device_lost_main.ts", import.meta.url).pathname;

async function onLosingDevice(args: string[]): Promise<{ code: number; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "--allow-env", "--allow-sys", driver, ...args],
    env: { NO_COLOR: "1" },
    stdout: "null",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test({
  name: "repeated device losses: baseline update is exit 3 as run is, reports kept, no baseline",
  ignore: !gpu,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "mla-baseline-loss-" });
    try {
      const matrix = `${dir}/m.json`;
      await Deno.writeTextFile(
        matrix,
        JSON.stringify({
          name: "loss",
          seed: 3,
          groups: [{ axes: { preset: "tiny", path: "absorbed", b: 1, sk: 6, sq: [1, 2, 3, 4] } }],
        }),
      );
      const common = ["--matrix", matrix, "--repeats", "0"];
      const run = await onLosingDevice(["run", ...common, "--out", `${dir}/run`]);
      const baseline = await onLosingDevice([
        ...["baseline", "update", ...common, "--out", `${dir}/baseline-run`],
        ...["--dir", `${dir}/baselines`],
      ]);
      const stopped = "error: WebGPU device lost (repeated): the device was lost or a case " +
        "timed out 3 times in a row; ";
      // it ended there: what was kept and what to do were not said, and a bare "--resume"
      // would be wrong for baseline update (it takes none)
      const next = {
        run: `the reports are written, marked interrupted, and deno task harness run --matrix ` +
          `${matrix} --repeats 0 --out ${dir}/run --resume runs the rest\n`,
        "baseline-run": "run this baseline update again: it runs every case again (no " +
          "baseline was written)\n",
      };
      for (const [r, out] of [[run, "run"], [baseline, "baseline-run"]] as const) {
        assert.equal(r.code, 3, r.stderr);
        assert.ok(r.stderr.endsWith(stopped + next[out]), r.stderr);
        const report = JSON.parse(await Deno.readTextFile(`${dir}/${out}/report.json`));
        assert.equal(report.interrupted, true);
        assert.equal(report.results.length, 3);
        assert.equal((await readRunState(`${dir}/${out}/run.json`))?.state, "interrupted");
      }
      assert.doesNotMatch(baseline.stderr, /a baseline needs a finished run/);
      // no baseline written: its folder, created for it, is removed again (exit 3)
      await assert.rejects(Deno.stat(`${dir}/baselines`), Deno.errors.NotFound);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "a full disk under baseline update's run: the advice is to run the update again, not --resume",
  ignore: !gpu,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "mla-baseline-full-" });
    try {
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          ...["run", "-A", new URL("./fixtures/disk_full_main.ts", import.meta.url).pathname],
          ...["baseline", "update", "--filter", "preset=tiny;path=absorbed;dtype=f32;sq=1"],
          ...["--repeats", "0", "--out", `${dir}/run`, "--dir", `${dir}/baselines`],
        ],
        env: { NO_COLOR: "1" },
        stdout: "null",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 3, stderr);
      // it said "run the rest with deno task harness run ... --resume": a run, no baseline
      assert.doesNotMatch(stderr, /--resume/);
      assert.match(
        stderr,
        /results\.jsonl: cannot write the result of .*: No space left on device; the run stopped there and the 0 results before it are kept: free space, then run this baseline update again: it runs every case again \(no baseline was written\)\n$/,
      );
      await assert.rejects(Deno.stat(`${dir}/baselines`), Deno.errors.NotFound);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
