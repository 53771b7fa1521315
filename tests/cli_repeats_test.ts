// `--repeats` of run, baseline update and upgrade-check: at most 1000 (a billion ran one case
// until killed), and a baseline of fewer timed samples than drift's speed test needs is said
// before its run (it was written without a word, and every compare against it then said
// "speed not tested"). An update stopped halfway does not block the next one in its folder.
import assert from "node:assert/strict";
import { DEFAULT_THRESHOLDS } from "../drift/thresholds.ts";
import { MAX_REPEATS } from "../cli/options.ts";
import { gpuTest } from "./gpu_helpers.ts";
import { runCli, runCliInProcess } from "./helpers_cli.ts";
import { writeTinyMatrix } from "./matrix_file_helpers.ts";
import { stoppedRun } from "./stub_runner.ts";
import { GpuContext } from "../gpu/device.ts";
import { SILENT_PROGRESS } from "../report/progress.ts";

Deno.test("--repeats past 1000, or not a whole number, is exit 2 in each command that takes it", async () => {
  for (const cmd of [["run"], ["baseline", "update"], ["upgrade-check", "--to-ref", "HEAD"]]) {
    for (const [i, bad] of [String(MAX_REPEATS + 1), "1000000000", "2.5", "-1"].entries()) {
      // the first as a user runs it (exit 2 as the shell sees it), the others in this
      // process (the same program; a spawn is a second or more of start-up)
      const r = await (i === 0 ? runCli : runCliInProcess)([...cmd, "--repeats", bad]);
      assert.equal(r.code, 2, `${cmd.join(" ")} --repeats ${bad}: ${r.stderr}`);
      assert.match(
        r.stderr,
        bad === "-1" ? /--repeats/ : /is not a whole number from 0 to 1000 \(timed repetitions/,
        `${cmd.join(" ")} --repeats ${bad}`,
      );
    }
  }
});

gpuTest(
  "baseline update: fewer timed samples than the speed test needs is said before the run",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "mla-repeats-" });
    try {
      const matrix = await writeTinyMatrix(dir, { sq: [1], dtype: ["f32"], layout: ["bshd"] }, "m");
      const args = ["baseline", "update", "--matrix", matrix, "--dir", `${dir}/b`];
      // what an earlier update of one round, and one of three, left in the --out: it stayed
      // beside round-1/ and round-2/, read as this update's (its summary.md, report.json)
      await Deno.mkdir(`${dir}/few/round-3`, { recursive: true });
      for (const f of ["report.json", "summary.md", "run.json", "round-3/report.json"]) {
        await Deno.writeTextFile(`${dir}/few/${f}`, "{}\n");
      }
      const few = await runCli([...args, "--out", `${dir}/few`, "--repeats", "2", "--rounds", "2"]);
      assert.equal(few.code, 0, few.stderr);
      assert.deepEqual([...Deno.readDirSync(`${dir}/few`)].map((e) => e.name).sort(), [
        "round-1",
        "round-2",
      ]);
      assert.match(
        few.stderr,
        new RegExp(
          `note: removed what an earlier update left in ${dir}/few that this one \\(--rounds ` +
            `2\\) does not replace: ${dir}/few/report.json, ${dir}/few/summary.md, ` +
            `${dir}/few/run.json, ${dir}/few/round-3/\n`,
        ),
      );
      assert.match(
        few.stderr,
        new RegExp(
          `warning: --repeats 2 x --rounds 2 gives 4 timed samples a case; drift's speed ` +
            `test needs ${DEFAULT_THRESHOLDS.minSamples} a side`,
        ),
      );
      const enough = await runCli([...args, "--out", `${dir}/enough`, "--repeats", "5"]);
      assert.equal(enough.code, 0, enough.stderr);
      assert.doesNotMatch(enough.stderr, /timed sample/);
      // an update stopped halfway (Ctrl-C) leaves a half-finished run in its --out: the next
      // update starts it over (it was refused, naming --resume and --force, which it lacks)
      const ctx = await GpuContext.create();
      try {
        await stoppedRun({ matrix, out: `${dir}/half`, ctx, progress: SILENT_PROGRESS });
      } finally {
        ctx.destroy();
      }
      const again = await runCli([...args, "--out", `${dir}/half`, "--repeats", "5"]);
      assert.equal(again.code, 0, again.stderr);
      const state = JSON.parse(await Deno.readTextFile(`${dir}/half/run.json`));
      assert.equal(state.state, "finished");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
