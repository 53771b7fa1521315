/**
 * The replay loop (kernels/replay.ts): "queued" submits the timed replays back to back and
 * reads their timestamps afterwards; "waited" reads each one back before the next. Checked
 * by the order of the queue calls, which a wrapped GPUQueue records, and by the timings
 * both modes return.
 */
import assert from "node:assert/strict";
import { runAttention } from "../kernels/attention.ts";
import {
  effectiveReplayMode,
  QUEUE_DEPTH,
  replayModeForClass,
  replayPasses,
} from "../kernels/replay.ts";
import type { Timing } from "../gpu/timing.ts";
import { gpu, gpuTest, planCase } from "./gpu_helpers.ts";

const CASE = {
  spec: "tiny",
  dtype: "f32",
  backend: "wgsl-absorbed",
  layout: { kind: "bshd", batch: 1, seqQ: 1, seqK: 16, causal: true },
} as const;

/**
 * Replay the tiny case's passes in `mode` and log the queue's submits and waits: "s" for a
 * submission of replay work (a command buffer labelled "replay"), "r" for any other
 * submission (a timestamp copy), "w" for onSubmittedWorkDone.
 */
async function replayLogged(
  mode: "queued" | "waited",
  reps: number,
  warmupMs = 0,
): Promise<{ log: string; timings: Timing[]; passes: number; stamps: boolean }> {
  const { spec, plan, inputs } = await planCase(CASE);
  let log = "";
  let timings: Timing[] = [];
  let passes = 0;
  let stamps = false;
  await runAttention(await gpu(), plan, {
    spec,
    inputs,
    session: async ({ device, passes: recorded }) => {
      stamps = device.features.has("timestamp-query");
      passes = recorded.length;
      const queue = device.queue;
      const submit = queue.submit.bind(queue);
      const done = queue.onSubmittedWorkDone.bind(queue);
      queue.submit = (buffers: GPUCommandBuffer[]) => {
        for (const b of buffers) log += b.label === "replay" ? "s" : "r";
        return submit(buffers);
      };
      queue.onSubmittedWorkDone = () => {
        log += "w";
        return done();
      };
      try {
        timings = await replayPasses(device, recorded, { reps, warmup: 2, mode, warmupMs });
      } finally {
        // the instance's own properties shadowed the prototype's methods; drop them
        delete (queue as { submit?: unknown }).submit;
        delete (queue as { onSubmittedWorkDone?: unknown }).onSubmittedWorkDone;
      }
    },
  });
  return { log, timings, passes, stamps };
}

gpuTest(
  "replay: queued submits a batch back to back, then waits; waited waits after each",
  async () => {
    const reps = QUEUE_DEPTH + 4; // two batches with the 2 warm-ups
    for (const mode of ["queued", "waited"] as const) {
      const { log, timings, passes, stamps } = await replayLogged(mode, reps);
      assert.equal(timings.length, reps, `${mode}: one timing per timed replay`);
      for (const t of timings) {
        assert.equal(t.source, stamps ? "timestamp-query" : "wall-clock");
        assert.equal(t.passes.length, passes, `${mode}: every replayed pass is in each timing`);
        if (stamps) assert.ok(t.passes.every((p) => p.ms !== null && p.ms >= 0));
      }
      const replays = [...log].filter((c) => c === "s").length;
      assert.equal(replays, reps + 2, `${mode}: warm-ups and timed replays submitted (${log})`);
      // The replay submissions before the first wait: a whole batch when queued (timestamps
      // exist), one otherwise.
      const beforeFirstWait = [...log.slice(0, log.indexOf("w"))].filter((c) => c === "s").length;
      const effective = stamps ? mode : "waited";
      assert.equal(
        beforeFirstWait,
        effective === "queued" ? QUEUE_DEPTH : 1,
        `${mode} (${effective} here): ${log}`,
      );
    }
  },
);

gpuTest(
  "replay: the mode asked for runs with timestamp-query; without, every mode is waited",
  async () => {
    const device = (await gpu()).device;
    const stamps = device.features.has("timestamp-query");
    assert.equal(effectiveReplayMode(device, "queued"), stamps ? "queued" : "waited");
    assert.equal(effectiveReplayMode(device, "waited"), "waited");
    assert.equal(effectiveReplayMode(device), stamps ? "queued" : "waited", "the default");
  },
);

gpuTest(
  "replay: warmupMs replays untimed for that long first, and times only the counted ones",
  async () => {
    const t0 = performance.now();
    const { log, timings } = await replayLogged("queued", 3, 200);
    assert.ok(performance.now() - t0 >= 200, "the warm-up lasted its 200 ms");
    assert.equal(timings.length, 3);
    const replays = [...log].filter((c) => c === "s").length;
    assert.ok(replays > 3 + 2, `untimed replays before the 2 warm-ups and 3 timed: ${log}`);
    // untimed: no timestamp copy follows a warm-up replay; the timed ones have one each
    // (with timestamp-query)
    const copies = [...log].filter((c) => c === "r").length;
    assert.ok(copies <= 3 + 2, `timestamp copies only for the counted replays: ${log}`);
  },
);

Deno.test("replay: queued on a gpu-class device, waited on a cpu-class or unknown one", () => {
  assert.equal(replayModeForClass("gpu"), "queued");
  assert.equal(replayModeForClass("cpu"), "waited");
  assert.equal(replayModeForClass(undefined), "waited");
});
