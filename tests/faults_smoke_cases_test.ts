// The smoke matrix itself catches the tile-boundary faults its earlier shapes let through
// (session 44's audit: each passed all 156 smoke cases on both device classes): a causal
// mask computed relative to the key tile (u32 wrap for a row whose limit is below a later
// tile's start) in the tiled absorbed and the FA2 kernels, and a split combine whose max
// leaves split 0 out (a row that saw split 0 only gets inf / inf). Each is planted as
// `run --plant-fault` plants it, in a run of smoke's cases that hold those shapes; the
// clean run of the same cases is the smoke test's (tests/smoke_matrix_test.ts).
import assert from "node:assert/strict";
import { hasAdapter } from "../gpu/device.ts";
import { ALL_FAULTS, type Fault } from "../parity/faults.ts";
import { runMatrix } from "../runner/run_matrix.ts";
import { SILENT_PROGRESS } from "../report/progress.ts";

const gpu = await hasAdapter();
const fault = (id: string): Fault => ALL_FAULTS.find((f) => f.id === id)!;

/** Smoke's "causal prefill across key tiles" and "split-KV: causal prefill" cases. */
const FILTER = "preset=tiny;sq=40";

const EXPECT: readonly [string, string][] = [
  ["tiled-mask-tile-relative", "path=absorbed;dtype=f32;b=1;sq=40;sk=70"],
  ["fa2-mask-tile-relative", "path=expanded;dtype=f32;b=1;sq=40;sk=70"],
  ["combine-first-split-max-ignored", "sq=40;sk=40;layout=bshd;causal=1;splits=3"],
];

for (const [id, failing] of EXPECT) {
  Deno.test({
    name: `smoke's tile-boundary cases catch the planted fault ${id}`,
    ignore: !gpu,
    fn: async () => {
      const f = fault(id);
      assert.ok(f, `${id} is a planted fault`);
      const out = await Deno.makeTempDir({ prefix: "mla-smoke-fault-" });
      try {
        const report = await runMatrix({
          matrix: "smoke",
          filter: FILTER,
          out,
          repeats: 0,
          fault: f,
          progress: SILENT_PROGRESS,
        });
        assert.equal(report.results.length, 3, "smoke's three tile-boundary cases ran");
        const failed = report.results.filter((r) => r.status === "fail").map((r) => r.id);
        assert.ok(
          failed.some((c) => c.includes(failing)),
          `${id} not caught by the case ${failing}: failed ${JSON.stringify(failed)}`,
        );
        assert.equal(report.results.filter((r) => r.status === "error").length, 0);
      } finally {
        await Deno.remove(out, { recursive: true });
      }
    },
  });
}
