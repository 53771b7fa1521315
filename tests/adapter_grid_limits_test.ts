/**
 * The support checks refuse, with `limits.workgroups` naming the pass and its grid, every
 * case whose dispatch would pass the device's maxComputeWorkgroupsPerDimension (explain said
 * supported where a run then failed in encodeDispatch): the wgsl-absorbed grid, the
 * absorbed-gemm scores and values passes' z, the expanded-gemm y and z, the tiled kernels'
 * KV splits on y, and the harness's own passes around them. No GPU: caps with a lowered limit
 * (as a device profile lowers it) or the H100's.
 */
import assert from "node:assert/strict";
import { presetSpec } from "../adapter/presets.ts";
import { resolve } from "../adapter/resolve.ts";
import { specFromConfig } from "../adapter/config.ts";
import type { DeviceCaps, LayoutRequest, MlaSpec, Reason } from "../adapter/types.ts";
import {
  grid1dReason,
  gridReason,
  harnessGridReasons,
  LINEAR_PASS_WORKGROUP,
} from "../adapter/grids.ts";
import { grid1d, LINEAR_WORKGROUP } from "../gpu/dispatch.ts";
import { H100_CAPS as H100, LAVAPIPE_CAPS as LAVAPIPE } from "./caps_fixtures.ts";

const tiny = presetSpec("tiny");

/** `caps` with its per-dimension workgroup limit lowered to `limit` (a device profile's). */
function withLimit(caps: DeviceCaps, limit: number): DeviceCaps {
  return { ...caps, limits: { ...caps.limits, maxComputeWorkgroupsPerDimension: limit } };
}

function decode(batch: number, seqK = 8): LayoutRequest {
  return { kind: "bshd", batch, seqQ: 1, seqK, causal: true };
}

/** The `limits.workgroups` messages of a resolution (none for a plan). */
function gridMessages(
  backend: string,
  layout: LayoutRequest,
  caps: DeviceCaps,
  o: { spec?: MlaSpec; kvSplits?: number } = {},
): string[] {
  const r = resolve(
    { spec: o.spec ?? tiny, dtype: "f32", backend, layout },
    caps,
    { kvSplits: o.kvSplits },
  );
  if (r.kind !== "unsupported") return [];
  return r.reasons.filter((x: Reason) => x.code === "limits.workgroups").map((x) => x.message);
}

/** The one message naming `pass` (and `what`), asserting there is exactly one. */
function only(messages: string[], pass: string, what = ""): string {
  const hits = messages.filter((m) => m.includes(pass) && m.includes(what));
  assert.equal(hits.length, 1, `one reason for ${pass} ${what} in ${JSON.stringify(messages)}`);
  return hits[0];
}

function none(messages: string[], pass: string): void {
  assert.deepEqual(messages.filter((m) => m.includes(pass)), [], `no reason for ${pass}`);
}

Deno.test("grid1dReason refuses exactly the 1-D passes gpu/dispatch.ts grid1d cannot fold, at its workgroup size", () => {
  // The adapter restates the GPU layer's linear workgroup and folding rule (it does not
  // import gpu/): were they to drift, explain would pass a grid a run then throws on.
  assert.equal(LINEAR_PASS_WORKGROUP, LINEAR_WORKGROUP);
  for (const limit of [1, 2, 8, 65535]) {
    const caps = withLimit(H100, limit);
    for (const groups of [1, limit, limit + 1, limit * limit, limit * limit + 1]) {
      for (const n of [groups * LINEAR_WORKGROUP, groups * LINEAR_WORKGROUP - 1]) {
        const refused = grid1dReason(caps, "p", n).length > 0;
        let threw = false;
        try {
          grid1d(n, LINEAR_WORKGROUP, { limit });
        } catch {
          threw = true;
        }
        assert.equal(refused, threw, `${n} invocations, limit ${limit}`);
      }
    }
  }
});

Deno.test("gridReason and grid1dReason: one dimension against the limit, a folded 1-D pass against limit x limit", () => {
  const caps = withLimit(H100, 8);
  assert.deepEqual(gridReason(caps, "p", "x", 8), []);
  assert.match(
    gridReason(caps, "p", "x: tiles", 9)[0].message,
    /the p needs 9 workgroups along one dimension \(x: tiles\), over maxComputeWorkgroupsPerDimension 8/,
  );
  assert.deepEqual(gridReason(null, "p", "x", 1e9), []);
  assert.deepEqual(grid1dReason(caps, "p", 64 * 64), []);
  assert.match(grid1dReason(caps, "p", 64 * 64 + 1)[0].message, /65 workgroups .* 8 x 8 grid/);
  assert.deepEqual(grid1dReason(caps, "p", 65, 1).map((r) => r.code), ["limits.workgroups"]);
});

Deno.test("wgsl-absorbed refuses a grid of query tiles x head tiles over the limit, on x", () => {
  // At 8: 8 decode sequences are 8 query tiles of tiny's one head tile; 9 are one too many.
  const caps = withLimit(H100, 8);
  none(gridMessages("wgsl-absorbed", decode(8), caps), "absorbed attention pass");
  assert.match(
    only(gridMessages("wgsl-absorbed", decode(9), caps), "absorbed attention pass"),
    /needs 9 workgroups along one dimension \(x: 9 query tiles x 1 head tiles\), over maxComputeWorkgroupsPerDimension 8/,
  );
  // At WebGPU's 65535: a prefill of 4096 x 64 queries (tiles of 4) is 65536 tiles.
  const prefill: LayoutRequest = { kind: "bshd", batch: 4096, seqQ: 64, seqK: 64, causal: true };
  assert.match(
    only(gridMessages("wgsl-absorbed", prefill, H100), "absorbed attention pass"),
    /65536 workgroups .*x: 65536 query tiles x 1 head tiles.*65535/,
  );
});

Deno.test("wgsl-absorbed and the tiled kernels refuse KV splits over the limit, on y", () => {
  const caps = withLimit(H100, 8);
  const split = (backend: string, kvSplits: number) =>
    gridMessages(backend, decode(1, 512), caps, { kvSplits });
  for (
    const [backend, pass] of [
      ["wgsl-absorbed", "absorbed attention pass"],
      ["wgsl-absorbed-tiled", "tiled attention pass"],
      ["wgsl-expanded-tiled", "FA2 attention pass"],
    ]
  ) {
    none(split(backend, 8), `${pass} needs`);
    assert.match(only(split(backend, 9), pass, "y: KV splits"), /needs 9 workgroups/, backend);
  }
});

Deno.test("wgsl-absorbed-gemm refuses query tokens over the limit on its scores and values passes' z", () => {
  const caps = withLimit(LAVAPIPE, 8);
  const at8 = gridMessages("wgsl-absorbed-gemm", decode(8), caps);
  none(at8, "scores pass");
  none(at8, "values pass");
  const at9 = gridMessages("wgsl-absorbed-gemm", decode(9), caps);
  assert.match(only(at9, "scores pass of wgsl-absorbed-gemm", "z: query tokens"), /needs 9 /);
  assert.match(
    only(at9, "values pass of wgsl-absorbed-gemm", "z: 9 query tokens x 1 key splits"),
    /needs 9 /,
  );
  // One decode of 4096 keys splits its values pass's keys (z = tokens x splits): at a limit
  // of 4 the splits alone pass it, while the scores pass's z (one token) fits.
  const long = gridMessages("wgsl-absorbed-gemm", decode(1, 4096), withLimit(LAVAPIPE, 4));
  none(long, "z: query tokens");
  assert.match(
    only(long, "values pass of wgsl-absorbed-gemm", "z: 1 query tokens x"),
    /key splits\), over maxComputeWorkgroupsPerDimension 4/,
  );
});

Deno.test("the gemm softmax folds into y: refused only past limit x limit workgroups, and never at the H100's 65535", () => {
  // DeepSeek-V3 decode of 4096 tokens x 128 heads: 65536 softmax workgroups of 8 rows,
  // over 65535 along x; folded, [65535, 2]. Supported, and nothing is over the limit.
  const v3 = presetSpec("deepseek-v3");
  const r = resolve(
    { spec: v3, dtype: "f32", backend: "wgsl-absorbed-gemm", layout: decode(4096, 4) },
    H100,
  );
  assert.equal(r.kind, "plan", JSON.stringify(r.kind === "unsupported" ? r.reasons : []));
  // wgsl-expanded-gemm: z = query tiles of 16 (4 fit a limit of 4), rows = 64 x 4 heads =
  // 256 = 32 workgroups of 8, over a 4 x 4 grid.
  const prefill: LayoutRequest = { kind: "bshd", batch: 1, seqQ: 64, seqK: 64, causal: true };
  const messages = gridMessages("wgsl-expanded-gemm", prefill, withLimit(LAVAPIPE, 4));
  none(messages, "z: query tiles");
  assert.match(
    only(messages, "softmax pass of wgsl-expanded-gemm"),
    /needs 32 workgroups \(256 invocations at 8 a workgroup\), more than a 4 x 4 grid/,
  );
});

Deno.test("wgsl-expanded-gemm refuses query tiles over the limit on z and heads on the values pass's y", () => {
  const caps = withLimit(LAVAPIPE, 8);
  // Decode: one 1-query tile per sequence.
  none(gridMessages("wgsl-expanded-gemm", decode(8), caps), "z: query tiles");
  assert.match(
    only(
      gridMessages("wgsl-expanded-gemm", decode(9), caps),
      "wgsl-expanded-gemm",
      "z: query tiles",
    ),
    /needs 9 workgroups/,
  );
  // 16 heads on the values pass's y, 2 groups of 8 on the scores pass's.
  const heads16 = specFromConfig({
    hidden_size: 64,
    num_attention_heads: 16,
    q_lora_rank: null,
    kv_lora_rank: 32,
    qk_nope_head_dim: 16,
    qk_rope_head_dim: 8,
    v_head_dim: 16,
  }, { name: "heads16" });
  const messages = gridMessages("wgsl-expanded-gemm", decode(1), caps, { spec: heads16 });
  assert.match(only(messages, "values pass of wgsl-expanded-gemm", "y: heads"), /needs 16 /);
  none(messages, "scores pass of wgsl-expanded-gemm needs");
});

Deno.test("wgsl-expanded refuses a device whose limit cannot hold one query tile's head tiles", () => {
  // DeepSeek-V3's 128 heads in decode tiles: more than 2 head tiles.
  const v3 = presetSpec("deepseek-v3");
  const messages = gridMessages("wgsl-expanded", decode(1), withLimit(H100, 2), { spec: v3 });
  assert.match(
    only(messages, "expanded attention pass"),
    /x: the head tiles of one query tile\), over maxComputeWorkgroupsPerDimension 2/,
  );
  none(gridMessages("wgsl-expanded", decode(1), H100, { spec: v3 }), "expanded attention pass");
});

Deno.test("the harness's passes: split projections' token blocks on y, folded 1-D passes past limit x limit", () => {
  // gpu class (H100): absorb_q_split and up_proj_split put blocks of 4 tokens on y.
  const prefill: LayoutRequest = { kind: "bshd", batch: 4096, seqQ: 64, seqK: 64, causal: true };
  const messages = gridMessages("wgsl-absorbed", prefill, H100);
  assert.match(
    only(messages, "absorb_q pass (absorb_q_split)"),
    /65536 workgroups .*y: blocks of 4 of the 262144 query rows.*65535/,
  );
  assert.match(
    only(messages, "up_proj pass (up_proj_split)"),
    /65536 workgroups .*y: blocks of 4 of the 262144 query tokens.*65535/,
  );
  // cpu class at 8 (the reviewer's grid-8 profile): 64 decodes of tiny over 8 keys.
  const cpu = gridMessages("wgsl-absorbed-gemm", decode(64), withLimit(LAVAPIPE, 8));
  assert.match(
    only(cpu, "cache_texture copy"),
    /needs 80 workgroups \(5120 invocations at 64 a workgroup\), more than a 8 x 8 grid/,
  );
  const expanded = gridMessages("wgsl-expanded", decode(64), withLimit(LAVAPIPE, 8));
  assert.match(only(expanded, "pack_q pass"), /needs 96 workgroups \(6144 invocations/);
  // Every pass fits at 65535.
  assert.deepEqual(gridMessages("wgsl-absorbed-gemm", decode(64), LAVAPIPE), []);
  // RoPE of the cached k_pe: 1 row x 4 pairs per key; 16 x 16 x 64 pairs fit a 16 x 16 grid.
  const spec = tiny;
  const reasons = (kRows: number) =>
    harnessGridReasons({
      spec,
      layout: {
        ...resolveLayout(kRows),
      },
      dtype: "f32",
      caps: withLimit(LAVAPIPE, 16),
      path: "absorbed",
      variant: { kvSplits: 1 } as never,
      harnessTiles: {},
      valueWidth: spec.kvLoraRank,
    }).map((r) => r.message);
  none(reasons(16 * 16 * 16), "rope_k");
  assert.match(only(reasons(16 * 16 * 16 + 16), "rope_k pass"), /257 workgroups/);
});

/** A layout of one decode over `kRows` keys, as the adapter normalizes it. */
function resolveLayout(kRows: number) {
  const r = resolve(
    { spec: tiny, dtype: "f32", backend: "cpu-reference", layout: decode(1, kRows) },
    null,
  );
  assert.equal(r.kind, "plan");
  return r.kind === "plan" ? r.layout : (undefined as never);
}

Deno.test("auto passes over a backend whose grid does not fit and picks one that runs", () => {
  // 9 decodes over 7 keys at a limit of 8 on a cpu-class device: the gemm kernels' z and
  // wgsl-absorbed's query tiles are over it; wgsl-expanded dispatches 8 tiles at a time and
  // its K/V expansion's 63 key rows are 8 blocks of 8.
  const r = resolve(
    { spec: tiny, dtype: "f32", backend: "auto", layout: decode(9, 7) },
    withLimit(LAVAPIPE, 8),
  );
  assert.equal(r.kind, "plan", JSON.stringify(r.kind === "unsupported" ? r.reasons : []));
  if (r.kind !== "plan") return;
  assert.equal(r.backend, "wgsl-expanded");
  assert.ok(r.passedOver.length > 0, "something was passed over");
  for (const p of r.passedOver) {
    assert.ok(p.reasons.some((x) => x.code.endsWith("limits.workgroups")), JSON.stringify(p));
  }
});

Deno.test("the K/V expansion refuses more key-row blocks than one dimension holds, at the H100's 65535", () => {
  // tiny's expanded rows are 384 bytes: a 2 GiB binding holds all 16 x 65535 keys in one
  // chunk, 131070 blocks of 8 rows on y.
  const messages = gridMessages("wgsl-expanded-gemm", decode(1, 16 * 65535), H100);
  assert.match(
    only(messages, "expand_kv pass"),
    /131070 workgroups .*y: blocks of 8 of the 1048560 key rows one binding holds.*65535/,
  );
  none(gridMessages("wgsl-expanded-gemm", decode(1, 8 * 65535), H100), "expand_kv pass");
});
