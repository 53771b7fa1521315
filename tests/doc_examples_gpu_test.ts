// The JSDoc examples of gpu/ and kernels/ create a WebGPU device, so tests/doc_examples_test.ts
// only type-checks them. Here they run, their result comments checked as claims
// (tools/doc_claims.ts), where this machine has an adapter that is not the GL fallback: lavapipe
// in CI, or a GPU. On the GL fallback the driver process that runs them would meet the
// exit-time abort of libglvnd (docs/gl_exit_abort.md), which the test runner reruns for a test
// module but not for a process a test starts.
import assert from "node:assert/strict";
import { isGlFallback } from "../adapter/slow_device.ts";
import { runDocExamples } from "../tools/doc_examples.ts";
import { DOC_GPU_ROOMS } from "./doc_project_helpers.ts";
import { CAPS, HAS_ADAPTER, nameWithReason } from "./gpu_helpers.ts";

const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname).replace(/\/$/, "");

const reason = !HAS_ADAPTER
  ? "no WebGPU adapter"
  : isGlFallback(CAPS!)
  ? "the GL fallback: the examples' process would abort at exit (docs/gl_exit_abort.md)"
  : null;

Deno.test({
  name: nameWithReason(
    "doc examples: the examples of gpu/ and kernels/ run on this device",
    reason,
  ),
  ignore: reason !== null,
  fn: async () => {
    const tmp = await Deno.makeTempDir({ prefix: "doc_examples_gpu_" });
    try {
      const run = await runDocExamples([...DOC_GPU_ROOMS], ROOT, tmp);
      assert.equal(
        run.code,
        0,
        `the doc examples of ${DOC_GPU_ROOMS.join(" ")} failed:\n${run.output}`,
      );
      assert.deepEqual(run.summary, { ran: run.count, failed: 0 }, run.output);
      // 97 examples and 66 claims when written; far fewer means the rooms' examples went missing
      assert.ok(run.count >= 90, `expected 90+ examples, found ${run.count}:\n${run.output}`);
      assert.ok(run.claims >= 60, `expected 60+ checked claims, found ${run.claims}`);
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
