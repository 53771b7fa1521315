/**
 * `run --warmup-ms <n|auto>` (and `baseline update`'s): a bad value is exit 2 before any
 * device; auto is 500 ms on a gpu-class device and 0 on a cpu-class one, resolved once
 * per run and recorded as `timing.warmupMs`; the warm-up reaches the replays (counted on a
 * wrapped GPUQueue) in Deno and in the Chromium page (timed, through the wire).
 */
import assert from "node:assert/strict";
import { deviceClassOf } from "../adapter/device_class.ts";
import type { DeviceCaps } from "../adapter/types.ts";
import { CliError } from "../cli/errors.ts";
import { parseWarmupMs } from "../cli/options.ts";
import type { CaseResult } from "../results/types.ts";
import { resolveWarmupMs, runMatrix } from "../runner/run_matrix.ts";
import { chromiumMissing } from "./browser_helpers.ts";
import { H100_CAPS } from "./caps_fixtures.ts";
import { gpu, HAS_ADAPTER } from "./gpu_helpers.ts";
import { runCli } from "./helpers_cli.ts";
import { SILENT_PROGRESS } from "../report/progress.ts";

/** One tiny absorbed decode case (compiles in about a second on lavapipe). */
async function tinyMatrix(dir: string): Promise<string> {
  const matrix = `${dir}/m.json`;
  await Deno.writeTextFile(
    matrix,
    JSON.stringify({
      name: "run-warmup",
      seed: 3,
      groups: [{
        axes: { preset: "tiny", path: "absorbed", b: 1, sq: 1, sk: 16, dtype: "f32" },
      }],
    }),
  );
  return matrix;
}

/** The results of a run folder. */
async function resultsOf(out: string): Promise<CaseResult[]> {
  const text = await Deno.readTextFile(`${out}/results.jsonl`);
  return text.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l));
}

Deno.test("parseWarmupMs: auto or whole milliseconds 0..60000, else exit 2 naming the flag", () => {
  assert.equal(parseWarmupMs("auto"), "auto");
  assert.equal(parseWarmupMs("0"), 0);
  assert.equal(parseWarmupMs(" 250 "), 250);
  assert.equal(parseWarmupMs("60000"), 60000);
  for (const bad of ["60001", "x", "1e3", "0x10", "-1", "1.5", "", "Auto"]) {
    assert.throws(
      () => parseWarmupMs(bad),
      (e: unknown) =>
        e instanceof CliError && e.exitCode === 2 &&
        e.message ===
          `--warmup-ms: ${bad} must be auto or a whole number of milliseconds from 0 to 60000`,
      JSON.stringify(bad),
    );
  }
});

Deno.test("resolveWarmupMs: auto is 500 ms on a gpu-class device, 0 on a cpu-class one", () => {
  // an H100's caps (gpu by the rules), with the class set either way
  const caps = (deviceClass: "gpu" | "cpu"): DeviceCaps => ({ ...H100_CAPS, deviceClass });
  assert.equal(resolveWarmupMs("auto", caps("gpu")), 500);
  assert.equal(resolveWarmupMs("auto", caps("cpu")), 0);
  assert.equal(resolveWarmupMs(0, caps("gpu")), 0, "a number wins over the class");
  assert.equal(resolveWarmupMs(120, caps("cpu")), 120);
});

Deno.test("run / baseline update --warmup-ms 60001 or x: exit 2 with the message, before any device or browser", async () => {
  const [big, word, chromium, baseline] = await Promise.all([
    runCli(["run", "--warmup-ms", "60001", "--out", "/nonexistent/x"]),
    runCli(["run", "--filter", "preset=tiny", "--warmup-ms", "x", "--out", "/nonexistent/x"]),
    // a browser that does not exist would be exit 3: the flag is refused first
    runCli([
      "run",
      "--runtime",
      "chromium",
      "--chromium",
      "/nonexistent/chromium",
      "--warmup-ms",
      "1e3",
      "--out",
      "/nonexistent/x",
    ]),
    runCli(["baseline", "update", "--warmup-ms", "60001", "--out", "/nonexistent/x"]),
  ]);
  for (
    const [r, value] of [[big, "60001"], [word, "x"], [chromium, "1e3"], [
      baseline,
      "60001",
    ]] as const
  ) {
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `--warmup-ms: ${value} must be auto or a whole number of milliseconds from 0 to 60000`,
      ),
    );
    // no device was asked for: the run header (the backend choice) is not printed
    assert.doesNotMatch(r.stdout, /backend|runtime:/, r.stdout);
    assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/, "one message, no stack trace");
  }
  const help = await runCli(["run", "--help"]);
  const helpText = help.stdout.replace(/\s+/g, " ");
  assert.match(helpText, /--warmup-ms <n\|auto> before each attention case's timed repetitions/);
  assert.match(helpText, /auto: 500 on a gpu-class device, 0 on a cpu-class one/);
  assert.match(helpText, /\(default: "auto"\)/);
  // with --from-report no run happens: the run option is refused, as --repeats is
  const fromReport = await runCli([
    "baseline",
    "update",
    "--from-report",
    "/nonexistent/report.json",
    "--warmup-ms",
    "0",
  ]);
  assert.equal(fromReport.code, 2, fromReport.stderr);
  assert.match(fromReport.stderr, /--warmup-ms sets up a run, and --from-report/);
});

Deno.test({
  name: "runMatrix: replays are queued on a gpu-class device, each waited for on a cpu-class one",
  ignore: !HAS_ADAPTER,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "mla-run-replay-" });
    try {
      const matrix = await tinyMatrix(dir);
      const ctx = await gpu();
      const queue = ctx.device.queue;
      const submit = queue.submit.bind(queue);
      const done = queue.onSubmittedWorkDone.bind(queue);
      let log = "";
      queue.submit = (buffers: GPUCommandBuffer[]) => {
        for (const b of buffers) if (b.label === "replay") log += "s";
        return submit(buffers);
      };
      queue.onSubmittedWorkDone = () => {
        log += "w";
        return done();
      };
      try {
        const report = await runMatrix({
          matrix,
          out: `${dir}/out`,
          repeats: 3,
          warmupMs: 0,
          ctx,
          progress: SILENT_PROGRESS,
        });
        assert.equal(report.results[0].status, "pass", report.results[0].message);
      } finally {
        delete (queue as { submit?: unknown }).submit;
        delete (queue as { onSubmittedWorkDone?: unknown }).onSubmittedWorkDone;
      }
      const replays = log.slice(log.indexOf("s"));
      const queued = deviceClassOf(ctx.caps)?.kind === "gpu" &&
        ctx.device.features.has("timestamp-query");
      // queued: the three timed replays before the first wait; waited: a wait after each
      assert.match(replays, queued ? /^sss/ : /^sw+sw+sw/, log);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "runMatrix: the warm-up reaches the replays (untimed submissions first) and is recorded",
  ignore: !HAS_ADAPTER,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "mla-run-warmup-" });
    try {
      const matrix = await tinyMatrix(dir);
      const ctx = await gpu();
      const queue = ctx.device.queue;
      const submit = queue.submit.bind(queue);
      let replays = 0;
      queue.submit = (buffers: GPUCommandBuffer[]) => {
        for (const b of buffers) if (b.label === "replay") replays++;
        return submit(buffers);
      };
      const run = async (warmupMs: number) => {
        replays = 0;
        const out = `${dir}/out-${warmupMs}`;
        const report = await runMatrix({
          matrix,
          out,
          repeats: 1,
          warmupMs,
          ctx,
          progress: SILENT_PROGRESS,
        });
        assert.equal(report.results.length, 1);
        const r = report.results[0];
        assert.equal(r.status, "pass", r.message);
        assert.deepEqual(await resultsOf(out), [r]);
        return { replays, timing: r.timing };
      };
      try {
        const cold = await run(0);
        assert.equal(cold.replays, 1, "--warmup-ms 0: the one timed replay only");
        assert.equal(cold.timing?.warmupMs, undefined, "no warm-up, none recorded");
        const warm = await run(150);
        assert.ok(warm.replays > 1, `a 150 ms warm-up replays untimed first (${warm.replays})`);
        assert.equal(warm.timing?.warmupMs, 150);
        assert.equal(warm.timing?.samplesMs.length, 1, "the warm-up replays are not samples");
      } finally {
        delete (queue as { submit?: unknown }).submit;
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "run --warmup-ms auto: 500 ms recorded on a gpu-class device, none on a cpu-class one",
  ignore: !HAS_ADAPTER,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "mla-run-warmup-cli-" });
    try {
      const matrix = await tinyMatrix(dir);
      const args = (out: string) => ["run", "--matrix", matrix, "--repeats", "1", "--out", out];
      const [asGpu, asCpu] = await Promise.all([
        runCli(args(`${dir}/gpu`), { MLA_HARNESS_DEVICE_CLASS: "gpu" }),
        runCli(args(`${dir}/cpu`), { MLA_HARNESS_DEVICE_CLASS: "cpu" }),
      ]);
      const timingOf = async (r: { code: number; stdout: string; stderr: string }, out: string) => {
        assert.equal(r.code, 0, r.stdout + r.stderr);
        const [result] = await resultsOf(out);
        assert.equal(result.status, "pass", result.message);
        return result.timing;
      };
      const gpuTiming = await timingOf(asGpu, `${dir}/gpu`);
      assert.equal(gpuTiming?.warmupMs, 500);
      assert.ok((await resultsOf(`${dir}/gpu`))[0].wallMs >= 500, "the case lasted its warm-up");
      assert.equal((await timingOf(asCpu, `${dir}/cpu`))?.warmupMs, undefined);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "--runtime chromium: the page warms a case up for warmupMs (run's and bench's requests)",
  ignore: chromiumMissing() !== null,
  fn: async () => {
    // In a process of its own: the page is driven over 127.0.0.1, and tests get no network.
    const WARM = 600;
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("./fixtures/chromium_warmup_probe.ts", import.meta.url).pathname,
        `${WARM}`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    assert.equal(out.code, 0, dec.decode(out.stderr));
    const t = JSON.parse(dec.decode(out.stdout));
    assert.ok(t.warm >= WARM, `run's request: ${t.warm.toFixed(0)} ms with a ${WARM} ms warm-up`);
    assert.ok(t.cold < t.warm - WARM / 2, `without: ${t.cold.toFixed(0)} ms`);
    assert.ok(t.benchWarm >= WARM, `bench's request: ${t.benchWarm.toFixed(0)} ms`);
    assert.ok(t.benchCold < t.benchWarm - WARM / 2, `without: ${t.benchCold.toFixed(0)} ms`);
  },
});
