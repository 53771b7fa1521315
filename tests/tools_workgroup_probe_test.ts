// tools/workgroup_probe.ts: the figures it derives from its kernel times, the grid it picks
// for a device, its text, its command line (bad options are exit 2, named), and a short run on
// this machine's adapter whose JSON holds every figure (a measurement tool: no value is
// judged, only that each was measured).
import assert from "node:assert/strict";
import { h100Caps } from "./caps_fixtures.ts";
import { HAS_ADAPTER } from "./gpu_helpers.ts";
import { runTool } from "./helpers_cli.ts";
import {
  formatProbe,
  probeFigures,
  probeSource,
  probeWorkgroups,
  type WorkgroupProbeResult,
} from "../tools/workgroup_probe.ts";

const H100 = h100Caps();

Deno.test("workgroup_probe: the barrier's ns a trip and the read bandwidths from the kernel times", () => {
  // 10 workgroups x 256 invocations x 100 trips x 4 reads x 16 bytes = 16,384,000 bytes
  const f = probeFigures({ loop: 0.5, barrier: 0.8, read: 0.016384, broadcast: 0.032768 }, 100, 10);
  assert.ok(Math.abs(f.barrierNsPerTrip - 3000) < 1e-9, String(f.barrierNsPerTrip)); // 0.3 ms / 100
  assert.ok(Math.abs(f.readGBps - 1000) < 1e-9, String(f.readGBps));
  assert.ok(Math.abs(f.broadcastGBps - 500) < 1e-9, String(f.broadcastGBps));
});

Deno.test("workgroup_probe: 2 workgroups per SM, 8 on a CPU, the planner's 64 SMs on an unknown GPU", () => {
  assert.deepEqual(probeWorkgroups(H100), {
    workgroups: 264,
    from: "2 per SM, 132 SMs (table)",
  });
  assert.equal(probeWorkgroups({ ...H100, smCount: 20 }).workgroups, 40);
  assert.equal(probeWorkgroups({ ...H100, smCount: 10000 }).workgroups, 8192); // the most a grid has
  assert.equal(probeWorkgroups({ ...H100, smCount: 20 }, 3).workgroups, 3);
  assert.equal(probeWorkgroups(h100Caps({ description: "llvmpipe (LLVM 15)" })).workgroups, 8);
  assert.equal(probeWorkgroups(h100Caps({ device: "1" })).workgroups, 128);
});

Deno.test("workgroup_probe: the kernels' trips substituted; the text names every figure", async () => {
  const src = await probeSource(77);
  assert.match(src, /^const ITERS: u32 = 77u;$/m);
  for (const entry of ["loop_only", "barrier_trip", "lds_read", "lds_broadcast"]) {
    assert.match(src, new RegExp(`fn ${entry}\\(`));
  }
  // the barrier kernel's loop is the loop kernel's plus a barrier (its cost is the difference)
  const loopOf = (name: string) => {
    const fn = src.slice(src.indexOf(`fn ${name}(`));
    return fn.slice(fn.indexOf("for (var i"), fn.indexOf("\n  }\n"));
  };
  assert.match(loopOf("barrier_trip"), /\n {4}workgroupBarrier\(\);/);
  assert.equal(
    loopOf("barrier_trip").replace("\n    workgroupBarrier();", ""),
    loopOf("loop_only"),
  );
  const ms = { loop: 1, barrier: 1.5, read: 2, broadcast: 4 };
  const r: WorkgroupProbeResult = {
    adapter: "a GPU",
    workgroups: 10,
    workgroupsFrom: "--workgroups",
    iters: 100,
    reps: 3,
    ms,
    ...probeFigures(ms, 100, 10),
  };
  const lines = formatProbe(r).split("\n");
  assert.equal(lines.length, 5);
  assert.match(lines[0], /^adapter a GPU: 10 workgroups of 256 \(--workgroups\), 100 trips each/);
  assert.match(lines[2], /^barrier +1\.500 ms {2}\+5000\.0 ns a trip over loop$/);
  assert.match(lines[3], /^read +2\.000 ms {2}8\.2 GB\/s/);
  // a barrier that measured faster than the loop (noise) keeps its sign, said to be noise
  // (GL at --iters 16 printed "-205829.6 ns a trip over loop" as a figure)
  const noisy = { ...ms, barrier: 0.9 };
  assert.match(
    formatProbe({ ...r, ms: noisy, ...probeFigures(noisy, 100, 10) }).split("\n")[2],
    / -1000\.0 ns a trip over loop \(faster than the loop: noise, raise --iters or --reps\)$/,
  );
});

Deno.test("workgroup_probe's command line: a bad option is exit 2 naming it, with the usage and no stack trace", async () => {
  for (
    const [args, message] of [
      [["--iters", "0"], /--iters: "0" must be a whole number from 1 to 16384/],
      [["--reps", "1.5"], /--reps: "1\.5" must be a whole number from 1 to 100/],
      [["--workgroups", "8193"], /--workgroups: "8193" must be a whole number from 1 to 8192/],
      [["--bogus"], /Unknown option '--bogus'/],
    ] as const
  ) {
    const r = await runTool("workgroup_probe.ts", [...args]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
    assert.match(r.stderr, /usage: deno run -A tools\/workgroup_probe\.ts/);
    assert.doesNotMatch(r.stderr, /^\s+at /m);
  }
  const help = await runTool("workgroup_probe.ts", ["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--workgroups N/);
});

Deno.test({
  name: "workgroup_probe on this machine's adapter: every kernel timed, every figure given",
  ignore: !HAS_ADAPTER,
  fn: async () => {
    const r = await runTool("workgroup_probe.ts", [
      "--iters",
      "64",
      "--workgroups",
      "4",
      "--reps",
      "2",
      "--json",
    ]);
    if (r.code === 3) {
      // an adapter without timestamp queries: said, not a crash
      assert.match(r.stderr, /no timestamp-query|no WebGPU adapter/);
      return;
    }
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as WorkgroupProbeResult;
    assert.deepEqual([out.workgroups, out.iters, out.reps], [4, 64, 2]);
    for (const [name, ms] of Object.entries(out.ms)) {
      assert.ok(Number.isFinite(ms) && ms > 0, `${name}: ${ms} ms`);
    }
    assert.ok(out.readGBps > 0 && out.broadcastGBps > 0, JSON.stringify(out));
    assert.ok(Number.isFinite(out.barrierNsPerTrip), JSON.stringify(out));
    // MLA_HARNESS_SM_COUNT is read as the harness reads it: nonsense is exit 2, named
    const bad = await runTool("workgroup_probe.ts", ["--iters", "8", "--reps", "1"], {
      MLA_HARNESS_SM_COUNT: "lots",
    });
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /MLA_HARNESS_SM_COUNT.*must be a whole number from 1 to 999999/s);
    assert.doesNotMatch(bad.stderr, /^\s+at /m);
  },
});
