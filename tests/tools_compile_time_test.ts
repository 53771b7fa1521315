/**
 * tools/compile_time.ts: its command-line errors, which exit 2 before any GPU work.
 */
import assert from "node:assert/strict";
import { runTool } from "./helpers_cli.ts";
import { gpuTest } from "./gpu_helpers.ts";
import { currentBackend } from "../drift/device_key.ts";

Deno.test("compile_time: --decode with --prefill, and an unknown backend, are exit 2", async () => {
  const cases: [string[], RegExp][] = [
    [["--decode", "--prefill", "wgsl-absorbed"], /--decode and --prefill exclude each other/],
    [["wgsl-no-such-backend"], /unknown backend wgsl-no-such-backend/],
    // it was a TypeError from gpuPlanOf with a stack trace, after the device was asked for
    [["cpu-reference"], /^backend cpu-reference runs on the CPU: it has no kernels to compile\n/],
  ];
  for (const [args, message] of cases) {
    const r = await runTool("compile_time.ts", args);
    assert.equal(r.code, 2, args.join(" "));
    assert.match(r.stderr, message);
    assert.equal(r.stdout, "");
    assert.doesNotMatch(r.stderr, /Uncaught|\n\s+at /);
  }
});

gpuTest(
  "compile_time: a backend this device does not run is its reasons, exit 2, not a stack trace",
  async () => {
    // Deno offers the subgroups feature on no adapter (on the GL fallback the warm-up's lane
    // backend is refused first, for its size): either way a plan is refused
    const r = await runTool("compile_time.ts", ["wgsl-absorbed-tiled-sg"], {
      DENO_WEBGPU_BACKEND: currentBackend(),
    });
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /^compile_time: wgsl-absorbed\S* f32 decode.* does not run here: unsupported \(/,
    );
    assert.doesNotMatch(r.stderr, /Uncaught|\n\s+at /);
  },
);
