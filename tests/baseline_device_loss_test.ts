// A run stopped by repeated device losses is exit 3 (infrastructure) for `baseline update` as for
// `run`: runMatrix writes the reports and run.json (marked interrupted) and throws
// DeviceLostError, which the CLI maps to 3 for both, so baseline update never reaches its own
// refusal of an interrupted run (exit 2, meant for `--from-report` of one) and writes no
// baseline. The device here reports itself lost after every case (tests/fixtures/
// device_lost_main.ts); each re-acquired device is real.
import assert from "node:assert/strict";
import { hasAdapter } from "../gpu/device.ts";
import { readRunState } from "../report/run_state.ts";
import { cliCommand, readUntilThen, runCli, WAITS_FOR_SIGINT_BACKEND } from "./helpers_cli.ts";

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

/**
 * Start `baseline update` on the launch that waits for SIGINT, send one when it starts; with
 * `rounds` 2, on the launch that waits in the second round.
 */
async function baselineStoppedInLaunch(
  dir: string,
  sk: number[],
  rounds = 1,
): Promise<{ code: number; text: string }> {
  const matrix = `${dir}/m.json`;
  await Deno.writeTextFile(
    matrix,
    JSON.stringify({
      name: "stop",
      groups: [{ axes: { preset: "tiny", path: "absorbed", b: 2, sq: 1, sk } }],
    }),
  );
  const child = cliCommand([
    "baseline",
    "update",
    "--matrix",
    matrix,
    ...(rounds === 1 ? WAITS_FOR_SIGINT_BACKEND : [
      "--backend-module",
      new URL("./fixtures/backends/launch_waits_in_second_round.ts", import.meta.url).pathname,
      "--backend",
      "naive-launch-waits-in-second-round",
      "--rounds",
      String(rounds),
    ]),
    "--repeats",
    "0",
    "--out",
    `${dir}/run`,
    "--dir",
    `${dir}/baselines`,
  ], { stdout: "piped" }).spawn();
  const stdout = new Response(child.stdout).text();
  const text = await readUntilThen(
    child.stderr,
    /fixture: launch (of a plan seen before )?started/,
    () => child.kill("SIGINT"),
  );
  const status = await child.status;
  return { code: status.code, text: `${await stdout}\n${text}` };
}

// baseline update took no signal listener: Ctrl-C killed it at once (exit 130 from the shell,
// the round's run.json left "running", no reports). Now it stops as run does.
Deno.test({
  name: "baseline update stopped by Ctrl-C mid-run: reports marked interrupted, no baseline, 130",
  ignore: !gpu,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "mla-baseline-int-" });
    try {
      // the first case's launch finishes once the SIGINT has come; the second never starts
      const { code, text } = await baselineStoppedInLaunch(dir, [20, 24]);
      assert.equal(code, 130, text);
      assert.match(
        text,
        /interrupted by SIGINT with 1 result for its 2 selected cases; its reports are in .* \(marked interrupted\); no baseline written/,
      );
      const report = JSON.parse(await Deno.readTextFile(`${dir}/run/report.json`));
      assert.equal(report.interrupted, true);
      assert.equal(report.results.length, 1);
      assert.equal((await readRunState(`${dir}/run/run.json`))?.state, "interrupted");
      assert.deepEqual([...Deno.readDirSync(`${dir}/baselines`)], [], "no baseline written");
      // that folder given to --from-report: refused, naming the resume that finishes it (it
      // said only that a baseline needs a finished run)
      const from = await runCli([
        "baseline",
        "update",
        "--from-report",
        `${dir}/run`,
        "--dir",
        dir,
      ]);
      assert.equal(from.code, 2, from.stderr);
      assert.match(
        from.stderr,
        new RegExp(
          "a baseline needs a finished run of every selected case \\(no baseline written\\); " +
            "finish the run with deno task harness run --matrix .* --out " +
            `${dir}/run --resume, then make the baseline again\n`,
        ),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

// With --rounds, the line counted the rounds before the one stopped ("with 2 results for its
// 2 selected cases" of a round stopped after 1) and named --out, which holds a folder a round.
Deno.test({
  name:
    "baseline update --rounds 2 stopped by Ctrl-C in round 2: the round, its results and its folder are named",
  ignore: !gpu,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "mla-baseline-int-" });
    try {
      const { code, text } = await baselineStoppedInLaunch(dir, [20, 24], 2);
      assert.equal(code, 130, text);
      assert.ok(
        text.includes(
          "error: the run: interrupted by SIGINT in round 2 of 2, with 1 result for its 2 " +
            `selected cases (round 1 finished); its reports are in ${dir}/run/round-2 (marked ` +
            "interrupted); no baseline written",
        ),
        text,
      );
      const report = JSON.parse(await Deno.readTextFile(`${dir}/run/round-2/report.json`));
      assert.equal(report.results.length, 1);
      assert.deepEqual([...Deno.readDirSync(`${dir}/baselines`)], [], "no baseline written");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "baseline update: a Ctrl-C during the last case lets the baseline be written, exit 130",
  ignore: !gpu,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "mla-baseline-int-" });
    try {
      const { code, text } = await baselineStoppedInLaunch(dir, [20]);
      assert.equal(code, 130, text);
      assert.match(text, /baseline: .*\(1 case, device /);
      assert.match(text, /interrupted by SIGINT during the last case or after it: it finished/);
      const written = [...Deno.readDirSync(`${dir}/baselines`)].map((e) => e.name);
      assert.equal(written.length, 1, written.join(", "));
      assert.equal((await readRunState(`${dir}/run/run.json`))?.state, "finished");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
