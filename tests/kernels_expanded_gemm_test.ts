// test_runner: early (among the suite's longest modules: started first, tools/test_runner.ts)
/**
 * wgsl-expanded-gemm (the CPU-shaped dense kernel for prefill: scores, softmax and values
 * passes per head over query tiles of 16) on this machine's adapter against the float64
 * reference: tiny widths over causal prefill (partial and several query tiles), decode,
 * MTP, packed/padded THD, paged block tables and an empty sequence, in f32 and f16; one
 * DeepSeek-V2-Lite causal prefill per dtype; NaN/Inf poison that must not leak (keys a
 * tile's earlier queries do not see) and a planted multiply-instead-of-select that leaks;
 * a forced split refused; the loop-budget boundary of the values pass; and the query-tile
 * table the launcher binds, in balanced work order (kernels/tables.ts). K/V bound in
 * more than one group of sequences is not reached here (this device binds every sequence;
 * the grouping is kernels/tables.ts denseGroups, shared with wgsl-expanded).
 */
import assert from "node:assert/strict";
import { gemmMaxKeys } from "../adapter/gemm_plan.ts";
import { presetSpec } from "../adapter/presets.ts";
import type { LayoutRequest } from "../adapter/types.ts";
import type { SourceMutation } from "../kernels/source.ts";
import {
  checkPoisonOn,
  forcedSplitRefusedTest,
  loopBoundaryTest,
  modelParityTest,
  type Poison,
  poisonTest,
  TINY_LAYOUTS,
  tinyParityTest,
} from "./backend_parity_helpers.ts";
import { assertMatchesReference, CAPS, gpu, gpuStep, gpuTest, planCase } from "./gpu_helpers.ts";
import { runAttention } from "../kernels/attention.ts";
import { readbackBytes } from "../gpu/buffers.ts";

const BACKEND = "wgsl-expanded-gemm";
const FAMILY = "expanded-gemm";

/** Prefill first (several query tiles, the causal diagonal), then the shared tiny layouts. */
const LAYOUTS: readonly LayoutRequest[] = [
  // Causal prefill: 40 queries are tiles of 16, 16 and 8; the diagonal blocks mask.
  { kind: "bshd", batch: 2, seqQ: 40, seqK: 40, causal: true },
  // Prefill against a longer cache (bottom-right causal), non-causal too.
  { kind: "bshd", batch: 1, seqQ: 20, seqK: 53, causal: true },
  { kind: "bshd", batch: 1, seqQ: 20, seqK: 53, causal: false },
  ...TINY_LAYOUTS,
];

tinyParityTest(
  "expanded gemm parity at tiny widths: every layout, f32 and f16",
  BACKEND,
  FAMILY,
  LAYOUTS,
);

for (const dtype of ["f32", "f16"] as const) {
  modelParityTest(
    `expanded gemm parity: one DeepSeek-V2-Lite causal prefill ${dtype} (100 x 100)`,
    BACKEND,
    {
      preset: "deepseek-v2-lite",
      dtype,
      layout: { kind: "bshd", batch: 1, seqQ: 100, seqK: 100, causal: true },
    },
    { family: FAMILY },
  );
}

forcedSplitRefusedTest("expanded gemm: a forced KV split is refused with the reason", BACKEND);

const POISONS: readonly Poison[] = [
  // MTP: key 39 is a causal future key of query 0 (same key group, same score vec4).
  { layout: { kind: "bshd", batch: 1, seqQ: 2, seqK: 40, causal: true }, keys: [39], nanRows: [1] },
  // Prefill: key 9 is seen by queries 9..19 of the tile, not by queries 0..8.
  {
    layout: { kind: "bshd", batch: 1, seqQ: 20, seqK: 20, causal: true },
    keys: [9],
    nanRows: [9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19],
  },
  // Packed THD: the first key of sequence 1 sits right after sequence 0's keys.
  {
    layout: { kind: "thd", cuSeqlensQ: [0, 1, 2], cuSeqlensK: [0, 5, 12], causal: true },
    keys: [5],
    nanRows: [1],
  },
];

poisonTest(
  "expanded gemm: NaN and Inf in keys a row does not see never reach it",
  BACKEND,
  POISONS,
);

/**
 * A planted fault of the values pass's masking, caught as NaN in a row that must not see
 * the poisoned key (on any adapter: each fault is checked to apply).
 */
function maskingFaultTest(name: string, pattern: RegExp, replacement: string): void {
  gpuTest(
    `expanded gemm: ${name} leaks NaN, and is caught`,
    async () => {
      let applied = 0;
      const mutate: SourceMutation = (file, src) => {
        if (file !== "expanded_gemm.wgsl") return src;
        assert.ok(pattern.test(src), `${pattern} is gone from expanded_gemm.wgsl`);
        applied++;
        return src.replace(pattern, replacement);
      };
      await assert.rejects(
        () => checkPoisonOn(BACKEND, POISONS[1], { dtype: "f32", value: NaN, mutate }),
        /kernel (LSE|out) row [0-8]\b/,
      );
      assert.ok(applied > 0);
    },
    { skip: CAPS === null ? "no WebGPU adapter" : null },
  );
}

// The probabilities stay masked (p = 0 past the query's keys); the value rows do not.
maskingFaultTest(
  "multiplying masked value rows by p = 0 (instead of selecting)",
  /return weigh4\(select\(vec4<f32>\(0\.0\), p, vis\), seen_rows\(vis, c0\), seen_rows\(vis, c1\),\s*seen_rows\(vis, c2\), seen_rows\(vis, c3\)\);/,
  "return weigh4(select(vec4<f32>(0.0), p, vis), c0, c1, c2, c3);",
);

// The unmasked branch weighs every key of the block, also those past a query's own.
maskingFaultTest(
  "the unmasked branch taken on the causal diagonal",
  /if \(kb \+ 4u <= all_see\) \{/,
  "if (kb < nk) {",
);

// The softmax row bounds it: the values pass's tile is written out, so a trip over 4 keys
// costs one iteration (when its 16-query loop stayed rolled, 18 did).
loopBoundaryTest(
  "expanded gemm: the loop-budget boundary of the softmax row (tiny f32)",
  BACKEND,
  (spec, budget) => gemmMaxKeys({ keyVec4: spec.kChannels / 4 }, budget),
);

// Lavapipe runs one contiguous run of a grid per thread (docs/benchmarks.md, session 9):
// the launcher must hand the kernel its query tiles in an order whose runs carry even
// work. Read back the tile table the scores pass was bound to, and split it as the driver
// does; in increasing order the heaviest of two runs is 1.47x an even share.
gpuTest("expanded gemm: the launcher binds the query tiles in balanced work order", async () => {
  const seq = 256;
  const { spec, plan, inputs } = await planCase({
    spec: "tiny",
    dtype: "f32",
    backend: BACKEND,
    layout: { kind: "bshd", batch: 1, seqQ: seq, seqK: seq, causal: true },
  });
  const qt = plan.variant.queryTile;
  assert.ok(seq / qt >= 8, `query tile ${qt}: at least 8 tiles`);
  let table: Uint32Array | null = null;
  await runAttention(await gpu(), plan, {
    spec,
    inputs,
    session: async ({ device, passes }) => {
      const scores = passes.find((p) => p.name === "gemm_scores");
      const bound = scores?.bindings.find((b) => b instanceof GPUBuffer && b.label === "q_tiles");
      assert.ok(bound instanceof GPUBuffer, "the scores pass binds a q_tiles buffer");
      const raw = await readbackBytes(device, bound, (2 * seq / qt) * 4);
      table = new Uint32Array(raw.buffer, raw.byteOffset, 2 * seq / qt);
    },
  });
  const got = table as Uint32Array | null;
  assert.ok(got);
  // (first query, count) pairs: every tile of the sequence once
  const firsts = Array.from({ length: seq / qt }, (_, i) => got[2 * i]);
  assert.deepEqual([...firsts].sort((a, b) => a - b), firsts.map((_, i) => i * qt));
  for (let i = 0; i < seq / qt; i++) assert.equal(got[2 * i + 1], qt);
  // a causal tile's work: the keys its last query sees (first + count)
  const work = firsts.map((f) => f + qt);
  const total = work.reduce((a, b) => a + b, 0);
  for (const threads of [2, 4]) {
    const per = Math.ceil(work.length / threads);
    let worst = 0;
    for (let r = 0; r < work.length; r += per) {
      worst = Math.max(worst, work.slice(r, r + per).reduce((a, b) => a + b, 0));
    }
    assert.ok(
      worst <= 1.05 * total / threads,
      `${threads} threads: heaviest run ${worst} of ${total}`,
    );
  }
});

gpuTest(
  "expanded gemm: K and V past one storage binding reach their textures in chunks",
  async (t) => {
    if (CAPS === null) return;
    // 4 x 800 key rows of 4 heads x 24 channels (384 bytes): 1.23 MB of K, over the
    // storage binding of a device profile of 512 KiB (planned against it and run under it,
    // as the runner runs a profile), so the expansion and the copies into the K and V
    // textures bind K and V a chunk at a time. The small limit stands for lavapipe's and
    // WebGPU's default 128 MiB, which took 17 x 21000 keys (15 s, most of it their inputs
    // and reference). The latent cache (160-byte rows: 512,000 bytes) must still fit one
    // binding, so K is at most 2.4 bindings: 3 chunks. The device would refuse a binding
    // over its own limit; it does not over the profile's, so every binding of every pass
    // is checked against it here.
    const limit = 512 * 1024;
    const spec = presetSpec("tiny");
    const layout = { kind: "bshd", batch: 4, seqQ: 1, seqK: 800, causal: true } as const;
    const caps = {
      ...CAPS,
      limits: { ...CAPS.limits, maxStorageBufferBindingSize: limit },
    };
    const cs = { spec, dtype: "f32", backend: BACKEND, layout, caps } as const;
    const kBytes = 4 * 800 * spec.numHeads * spec.kChannels * 4;
    assert.ok(kBytes > 2 * limit, `K (${kBytes} bytes) is 3 bindings of ${limit}`);
    await gpuStep(
      t,
      `tiny f32, b 4, 800 keys, ${limit}-byte bindings`,
      { cases: [cs], specs: [spec] },
      async () => {
        const { plan, inputs } = await planCase(cs);
        const over: string[] = [];
        const chunked: Record<string, number> = {};
        const result = await runAttention(await gpu(), plan, {
          spec,
          inputs,
          limits: { maxStorageBufferBindingSize: limit },
          session: ({ passes }) => {
            for (const p of passes) {
              chunked[p.name] = (chunked[p.name] ?? 0) + 1;
              p.bindings.forEach((b, i) => {
                const bytes = b instanceof GPUBuffer
                  ? b.size
                  : "buffer" in b
                  ? b.size ?? b.buffer.size - (b.offset ?? 0)
                  : 0;
                if (bytes > limit) over.push(`${p.name} binding ${i}: ${bytes} bytes`);
              });
            }
            return Promise.resolve();
          },
        });
        assert.deepEqual(over, [], `bindings over ${limit} bytes`);
        // K in 3 chunks (expanded, then copied), V (rows of 4 x 16 channels) in 2
        const { expand_kv, key_texture, value_texture } = chunked;
        assert.deepEqual({ expand_kv, key_texture, value_texture }, {
          expand_kv: 3,
          key_texture: 3,
          value_texture: 2,
        });
        assertMatchesReference({ spec, plan, inputs, result });
      },
    );
  },
  { skip: CAPS === null ? "no WebGPU adapter" : null },
);
