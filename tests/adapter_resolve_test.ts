import assert from "node:assert/strict";
import { presetSpec } from "../adapter/presets.ts";
import { BUNDLED_BACKENDS, chooseKvSplits, type SupportQuery } from "../adapter/backends.ts";
import { registerBackend } from "../adapter/registry.ts";
import { reasonsByCandidate, resolve } from "../adapter/resolve.ts";
import { withParams } from "../adapter/spec.ts";
import type { DeviceCaps, LayoutRequest, Plan, Unsupported } from "../adapter/types.ts";
import { ConfigError } from "../adapter/errors.ts";
import { GL_CAPS, LAVAPIPE_CAPS as caps, NO_F16_CAPS as noF16 } from "./caps_fixtures.ts";

const decode: LayoutRequest = { kind: "bshd", batch: 4, seqQ: 1, seqK: 4096, causal: true };

function asPlan(r: Plan | Unsupported): Plan {
  assert.equal(r.kind, "plan", JSON.stringify(r));
  return r as Plan;
}
function asUnsupported(r: Plan | Unsupported): Unsupported {
  assert.equal(r.kind, "unsupported", JSON.stringify(r));
  return r as Unsupported;
}

Deno.test("auto picks an absorbed kernel and carries the layer metadata", () => {
  const p = asPlan(
    resolve(
      { spec: presetSpec("deepseek-v2-lite"), layout: decode, dtype: "f32", backend: "auto" },
      caps,
    ),
  );
  // Decode on a cpu-class device (the caps are lavapipe's): the CPU-shaped absorbed kernel.
  assert.equal(p.backend, "wgsl-absorbed-gemm");
  assert.equal(p.requested, "auto");
  assert.equal(p.attention.kChannels, 192);
  assert.equal(p.attention.vChannels, 128);
  assert.equal(p.attention.keyWidth, 576);
  assert.equal(p.attention.valueWidth, 512);
  assert.equal(p.attention.softmaxScale.toFixed(6), "0.114721");
  assert.equal(p.layout.totalK, 4 * 4096);
  assert.deepEqual(JSON.parse(JSON.stringify(p)), p, "plans are plain JSON");
});

Deno.test("f16 on a device without shader-f16 is unsupported with the reason", () => {
  const u = asUnsupported(
    resolve(
      { spec: presetSpec("tiny"), layout: decode, dtype: "f16", backend: "wgsl-absorbed" },
      noF16,
    ),
  );
  assert.deepEqual(u.reasons.map((r) => r.code), ["dtype.f16-unavailable"]);
  assert.ok(u.reasons[0].message.includes("shader-f16"));
  assert.equal(
    resolve(
      { spec: presetSpec("tiny"), layout: decode, dtype: "f16", backend: "wgsl-absorbed" },
      caps,
    ).kind,
    "plan",
  );
});

Deno.test("every failing reason is returned, not only the first", () => {
  const odd = withParams(presetSpec("tiny"), { kvLoraRank: 30, qkRopeHeadDim: 6 });
  const u = asUnsupported(
    resolve({ spec: odd, layout: decode, dtype: "f16", backend: "wgsl-absorbed" }, noF16),
  );
  assert.deepEqual(u.reasons.map((r) => r.code), [
    "dtype.f16-unavailable",
    "shape.not-vec4",
    "shape.not-vec4",
  ]);
  assert.ok(u.reasons[1].message.startsWith("kv_lora_rank = 30"));
});

Deno.test("the expanded backends refuse a RoPE width that is not a multiple of 4", () => {
  // k_channels 16 = 14 + 2 and r = 32 are vec4 widths, but the cache rows the expansion
  // reads as vec4s are r + rope = 34 wide: it ran at a truncated row stride (GPU) or threw
  // "KEY_VEC4 = 8.5 must be a non-negative integer" (lavapipe).
  const odd = withParams(presetSpec("tiny"), { qkNopeHeadDim: 14, qkRopeHeadDim: 2 });
  const layout: LayoutRequest = { kind: "bshd", batch: 1, seqQ: 2, seqK: 5, causal: true };
  const gpuClass: DeviceCaps = { ...caps, deviceClass: "gpu", smCount: 132 };
  for (const c of [caps, gpuClass]) {
    for (const backend of ["wgsl-expanded", "wgsl-expanded-tiled", "wgsl-expanded-gemm"]) {
      const u = asUnsupported(resolve({ spec: odd, layout, dtype: "f32", backend }, c));
      assert.deepEqual(u.reasons.map((r) => r.code), ["shape.not-vec4"], backend);
      assert.ok(u.reasons[0].message.startsWith("qk_rope_head_dim = 2"), backend);
    }
  }
});

Deno.test("wgsl-expanded-tiled: a width that is no whole number of vec4s is one reason, not a tile size too", () => {
  // v_head_dim 129 on a 16 KiB gpu-class device: before, beside shape.not-vec4, a second
  // reason said "the 64-query x 32-key tiles need 30980 bytes (v_head_dim 129)", computed from
  // 32.25 vec4s.
  const spec = withParams(presetSpec("deepseek-v2-lite"), { vHeadDim: 129 });
  const small: DeviceCaps = {
    ...caps,
    deviceClass: "gpu",
    smCount: 1,
    limits: { ...caps.limits, maxComputeWorkgroupStorageSize: 16384 },
  };
  const layout: LayoutRequest = { kind: "bshd", batch: 1, seqQ: 256, seqK: 256, causal: true };
  const u = asUnsupported(
    resolve({ spec, layout, dtype: "f32", backend: "wgsl-expanded-tiled" }, small),
  );
  assert.deepEqual(u.reasons.map((r) => r.code), ["shape.not-vec4"]);
  // A whole-vec4 width over the same device's memory still gets the tile's bytes.
  const wide = withParams(presetSpec("deepseek-v2-lite"), { vHeadDim: 512 });
  const w = asUnsupported(
    resolve({ spec: wide, layout, dtype: "f32", backend: "wgsl-expanded-tiled" }, small),
  );
  assert.ok(w.reasons.some((r) => r.code === "limits.workgroup-storage"));
});

Deno.test("a packed layout with no query token is refused on every backend: layout.no-queries", () => {
  // cu_seqlens 0,0,0 with keys: the gemm backends were planned with 0-byte q buffers and the
  // run failed with "validation error: Buffer with 'q' label binding size is zero"; the
  // others ran and the parity check threw on its empty shape.
  const layout: LayoutRequest = {
    kind: "thd",
    cuSeqlensQ: [0, 0, 0],
    cuSeqlensK: [0, 3, 5],
    causal: false,
  };
  const spec = presetSpec("tiny");
  for (const backend of [...Object.keys(BUNDLED_BACKENDS), "auto", "auto:absorbed"]) {
    const u = asUnsupported(resolve({ spec, layout, dtype: "f32", backend }, caps));
    const codes = u.reasons.map((r) => r.code);
    assert.ok(codes.includes("layout.no-queries"), `${backend}: ${codes.join()}`);
    const reason = u.reasons.find((r) => r.code === "layout.no-queries")!;
    assert.match(reason.message, /2 sequence\(s\), 0 queries and 5 keys/, backend);
  }
  // One sequence with queries beside empty ones is covered.
  const one: LayoutRequest = { ...layout, cuSeqlensQ: [0, 0, 1] };
  assert.equal(resolve({ spec, layout: one, dtype: "f32", backend: "auto" }, caps).kind, "plan");
});

Deno.test("auto with nothing left returns every backend's reasons (no silent default)", () => {
  // 4 x 32768 keys: V3's expanded K (6.4 GB in f16) is over lavapipe's 2 GiB maxBufferSize.
  const long: LayoutRequest = { ...decode, seqK: 32768 };
  const u = asUnsupported(
    resolve(
      { spec: presetSpec("deepseek-v3"), layout: long, dtype: "f16", backend: "auto" },
      noF16,
    ),
  );
  assert.equal(u.backend, "auto");
  const codes = u.reasons.map((r) => r.code);
  // the missing feature, which every candidate gives alike, once and unprefixed
  assert.equal(codes.filter((c) => c.endsWith("dtype.f16-unavailable")).length, 1, codes.join());
  const each = reasonsByCandidate(u);
  assert.ok(each.get("wgsl-absorbed")!.includes("dtype.f16-unavailable"), codes.join());
  assert.ok(each.get("wgsl-expanded")!.includes("dtype.f16-unavailable"), codes.join());
  assert.ok(codes.includes("wgsl-expanded:limits.buffer-too-large"), codes.join());
  assert.ok(!u.tried!.includes("cpu-reference"));
  assert.ok(!codes.some((c) => c.startsWith("cpu-reference")));
});

Deno.test("auto passes over a backend without KV splits when a case forces them, and says why", () => {
  const req = { spec: presetSpec("tiny"), layout: decode, dtype: "f32", backend: "auto" } as const;
  const p = asPlan(resolve(req, caps, { kvSplits: 2 }));
  // Decode on a cpu-class device tries wgsl-absorbed-gemm first: it has no KV splits.
  assert.equal(p.backend, "wgsl-absorbed");
  assert.equal(p.variant.kvSplits, 2);
  assert.deepEqual(p.passedOver.map((o) => o.backend), ["wgsl-absorbed-gemm"]);
  assert.deepEqual(p.passedOver[0].reasons.map((r) => r.code), ["variant.kv-splits"]);
  // A split count no backend takes: every candidate refuses it, each once.
  const none = asUnsupported(resolve(req, caps, { kvSplits: 0 }));
  const codes = none.reasons.map((r) => r.code);
  for (const id of ["wgsl-absorbed-gemm", "wgsl-absorbed", "wgsl-expanded"]) {
    assert.equal(codes.filter((c) => c === `${id}:variant.kv-splits`).length, 1, codes.join());
  }
});

Deno.test("a forced split is never dropped: backends without KV splits refuse it", () => {
  // The lane and gemm expanded kernels have no KV splits, and used to plan 1 while the case
  // id said 3. The FA2 kernel has them (since session 31): it plans the forced count.
  const prefill: LayoutRequest = { kind: "bshd", batch: 1, seqQ: 16, seqK: 64, causal: true };
  const spec = presetSpec("tiny");
  const fa2 = asPlan(
    resolve({ spec, layout: prefill, dtype: "f32", backend: "wgsl-expanded-tiled" }, caps, {
      kvSplits: 3,
    }),
  );
  assert.equal(fa2.variant.kvSplits, 3);
  for (const backend of ["wgsl-expanded", "wgsl-expanded-gemm"]) {
    const u = asUnsupported(resolve({ spec, layout: prefill, dtype: "f32", backend }, caps, {
      kvSplits: 3,
    }));
    assert.deepEqual(u.reasons.map((r) => r.code), ["variant.kv-splits"], backend);
    assert.match(u.reasons[0].message, /forces 3 KV split|kvSplits = 3/, backend);
    // Forcing the one split they run is fine.
    asPlan(resolve({ spec, layout: prefill, dtype: "f32", backend }, caps, { kvSplits: 1 }));
  }
  // auto:expanded passes over the two, each with why, and plans the forced count on the FA2
  // kernel (it refused the case on a cpu-class device, where wgsl-expanded-tiled runs it)
  const auto = asPlan(
    resolve({ spec, layout: prefill, dtype: "f32", backend: "auto:expanded" }, caps, {
      kvSplits: 3,
    }),
  );
  assert.deepEqual([auto.backend, auto.variant.kvSplits], ["wgsl-expanded-tiled", 3]);
  assert.deepEqual(auto.passedOver.map((u) => `${u.backend}:${u.reasons[0].code}`), [
    "wgsl-expanded-gemm:variant.kv-splits",
    "wgsl-expanded:variant.kv-splits",
  ]);
  // A user backend that ignores the forced count is refused by resolve itself.
  const base = BUNDLED_BACKENDS["wgsl-expanded"];
  registerBackend({ ...base, id: "test-ignores-splits" });
  const user = asUnsupported(
    resolve({ spec, layout: prefill, dtype: "f32", backend: "test-ignores-splits" }, caps, {
      kvSplits: 4,
    }),
  );
  assert.match(user.reasons[0].message, /forces 4 KV split\(s\), but test-ignores-splits plans 1/);
});

Deno.test("V3's expanded cache: past one binding it is read through textures, past maxBufferSize refused", () => {
  // 4 x 4096 keys: 1.6 GB of K in f32, each sequence's 403 MB over lavapipe's 128 MiB
  // binding limit; the kernel reads K and V through textures (tests/kernels_expanded_texture_test.ts).
  const req = { spec: presetSpec("deepseek-v3"), dtype: "f32", backend: "wgsl-expanded" } as const;
  const p = asPlan(resolve({ ...req, layout: decode }, caps));
  assert.ok(p.variant.keyTexture && p.variant.valueTexture, JSON.stringify(p.variant));
  // 4 x 32768 keys: 12.9 GB of K, over the 2 GiB maxBufferSize.
  const u = asUnsupported(resolve({ ...req, layout: { ...decode, seqK: 32768 } }, caps));
  assert.ok(
    u.reasons.some((r) =>
      r.code === "limits.buffer-too-large" &&
      /^buffer k needs \d+ bytes, over the device's maxBufferSize/.test(r.message)
    ),
    JSON.stringify(u),
  );
});

Deno.test("no device: GPU backends say so; the CPU reference still plans", () => {
  const u = asUnsupported(
    resolve(
      { spec: presetSpec("tiny"), layout: decode, dtype: "f32", backend: "wgsl-expanded" },
      null,
    ),
  );
  assert.equal(u.reasons[0].code, "device.none");
  assert.ok(u.reasons[0].message.includes("apt-get install mesa-vulkan-drivers"));
  assert.equal(
    resolve(
      { spec: presetSpec("tiny"), layout: decode, dtype: "f32", backend: "cpu-reference" },
      null,
    ).kind,
    "plan",
  );
});

Deno.test("absorbed splits keep every invocation within lavapipe's loop budget; a forced longer split is unsupported", () => {
  const spec = presetSpec("deepseek-v2-lite");
  const at = (seqK: number, seqQ = 1): LayoutRequest => ({
    kind: "bshd",
    batch: 1,
    seqQ,
    seqK,
    causal: true,
  });
  const absorbed = (layout: LayoutRequest, kvSplits?: number, c: DeviceCaps = caps) =>
    resolve({ spec, layout, dtype: "f32", backend: "wgsl-absorbed" }, c, { kvSplits });
  // Past the budget, auto splits at least as much as the budget needs.
  assert.ok(asPlan(absorbed(at(16384))).variant.kvSplits >= 2);
  // The boundary measured on lavapipe (tests/gpu_loop_budget_test.ts): 14304 keys fit
  // one decode pass (2 heads per invocation), 14320 do not; prefill tiles (4 queries)
  // fit 3576 keys: 894 blocks of 4 at 73 iterations each, plus the zeroing and the
  // normalizing loop of 129 (the in-place output, session 22; 3560 with the store loop
  // of 4 queries before it).
  assert.equal(asPlan(absorbed(at(14304), 1)).variant.kvSplits, 1);
  const u = asUnsupported(absorbed(at(14320), 1));
  assert.deepEqual(u.reasons.map((r) => r.code), ["device.loop-budget"]);
  assert.match(
    u.reasons[0].message,
    /14320 keys.*loop budget of 65535.*at most 14304 keys.*kvSplits >= 2/,
  );
  assert.equal(asPlan(absorbed(at(3576, 4), 1)).variant.queryTile, 4);
  assert.match(
    asUnsupported(absorbed(at(3580, 4), 1)).reasons[0].message,
    /at most 3576 keys per invocation/,
  );
  // A device whose measured budget is none (a GPU) never needs the splits.
  const gpuCaps: DeviceCaps = { ...caps, loopIterationBudget: null };
  assert.equal(asPlan(absorbed(at(16384), 1, gpuCaps)).variant.kvSplits, 1);
  // A measured budget overrides the driver's known one.
  const small: DeviceCaps = { ...caps, loopIterationBudget: 20000 };
  assert.equal(
    asUnsupported(absorbed(at(8192), 1, small)).reasons[0].code,
    "device.loop-budget",
  );
});

Deno.test("an auto split count past the bound says it is the loop budget's choice, with the numbers", () => {
  // 1000000 keys need 70 splits of at most 14304 (lavapipe's budget, decode): more than the
  // kernel's 64. The case asked for no split count: the reason says where 70 comes from.
  const u = asUnsupported(resolve({
    spec: presetSpec("deepseek-v2-lite"),
    layout: { kind: "bshd", batch: 1, seqQ: 1, seqK: 1_000_000, causal: true },
    dtype: "f32",
    backend: "wgsl-absorbed",
  }, caps));
  const split = u.reasons.find((r) => r.code === "variant.kv-splits");
  assert.ok(split, JSON.stringify(u.reasons));
  assert.match(
    split.message,
    /kvSplits = 70 must be .*adapter's choice: .*loop budget of 65535 iterations fits at most 14304 keys per split.*1000000 keys/,
  );
});

Deno.test("chooseKvSplits: the loop budget sets the least splits, the speed rule may add more", () => {
  assert.equal(chooseKvSplits({ workgroups: 64, maxKLen: 16384, maxKeysPerSplit: 14320 }), 2);
  assert.equal(chooseKvSplits({ workgroups: 64, maxKLen: 16384, maxKeysPerSplit: Infinity }), 1);
  assert.equal(chooseKvSplits({ workgroups: 1, maxKLen: 16384, maxKeysPerSplit: 14320 }), 8);
  assert.equal(chooseKvSplits({ workgroups: 1, maxKLen: 100000, maxKeysPerSplit: 3560 }), 29);
});

Deno.test("the expanded kernel (no KV splits) is unsupported past the loop budget, with the limit", () => {
  const spec = presetSpec("deepseek-v2-lite");
  // A small measured budget keeps the buffers within lavapipe's binding limit.
  const expanded = (seqK: number, seqQ: number) =>
    resolve({
      spec,
      layout: { kind: "bshd", batch: 1, seqQ, seqK, causal: true },
      dtype: "f32",
      backend: "wgsl-expanded",
    }, { ...caps, loopIterationBudget: 5000 });
  // 25 iterations per 16-key block (decode, 4 vec4s per trip, no query-row copy), per
  // 4-key block (prefill); a decode also runs its store loop once (35), a prefill tile its
  // zeroing and normalizing loops (2 x 33 = 66: (5000 - 66) / 25 = 197 blocks of 4 keys).
  assert.equal(asPlan(expanded(3072, 1)).variant.queryTile, 1);
  const u = asUnsupported(expanded(4096, 1));
  assert.deepEqual(u.reasons.map((r) => r.code), ["device.loop-budget"]);
  assert.match(u.reasons[0].message, /expanded-kernel.*at most 3168 keys.*no KV splits/);
  assert.equal(asPlan(expanded(788, 4)).variant.queryTile, 4);
  const p = asUnsupported(expanded(792, 4));
  assert.equal(p.reasons[0].code, "device.loop-budget");
  assert.match(p.reasons[0].message, /at most 788 keys/);
});

Deno.test("the expanded decode takes one fetch per trip where the keys fit the loop budget that way, else 4 vec4s", () => {
  const spec = presetSpec("deepseek-v2-lite");
  const expanded = (seqK: number, seqQ: number, dtype: "f32" | "f16") =>
    asPlan(resolve({
      spec,
      layout: { kind: "bshd", batch: 1, seqQ, seqK, causal: true },
      dtype,
      backend: "wgsl-expanded",
    }, { ...caps, loopIterationBudget: 5000 })).variant;
  // expanded.wgsl's decode tile per 16-key block: the block trip, then K (48 vec4s) and V
  // (32) d loops of 48 / step and 32 / step trips, each run costing its trips + 1, and a
  // tail loop of 0 trips (1): step 1 costs 1 + 50 + 34 = 85, packed f16 (step 2)
  // 1 + 26 + 18 = 45, step 4 1 + 14 + 10 = 25. Once per invocation: the store loop
  // 2 + 33 = 35 and, at steps 1 and 2, the query-row copy 49: 84 in all.
  // Step 1 fits floor(4916 / 85) = 57 blocks (912 keys); packed floor(4916 / 45) = 109 (1744).
  assert.equal(expanded(912, 1, "f32").decodeStep, 1);
  assert.equal(expanded(928, 1, "f32").decodeStep, 4);
  assert.equal(expanded(3072, 1, "f32").decodeStep, 4);
  assert.equal(expanded(1744, 1, "f16").decodeStep, 2);
  assert.equal(expanded(1760, 1, "f16").decodeStep, 4);
  // A prefill tile always walks 4.
  assert.equal(expanded(64, 4, "f32").decodeStep, 4);
  // No budget: one fetch per trip at any length.
  const unbounded = asPlan(resolve({
    spec,
    layout: { kind: "bshd", batch: 1, seqQ: 1, seqK: 8192, causal: true },
    dtype: "f32",
    backend: "wgsl-expanded",
  }, { ...caps, loopIterationBudget: null })).variant;
  assert.equal(unbounded.decodeStep, 1);
});

Deno.test("split-KV is chosen for long contexts with few workgroups, and can be forced", () => {
  const one: LayoutRequest = { kind: "bshd", batch: 1, seqQ: 1, seqK: 4096, causal: true };
  const p = asPlan(
    resolve({
      spec: presetSpec("deepseek-v2-lite"),
      layout: one,
      dtype: "f32",
      backend: "wgsl-absorbed",
    }, caps),
  );
  assert.equal(p.variant.kvSplits, 4);
  const f = asPlan(
    resolve(
      { spec: presetSpec("deepseek-v2-lite"), layout: one, dtype: "f32", backend: "wgsl-absorbed" },
      caps,
      { kvSplits: 2 },
    ),
  );
  assert.equal(f.variant.kvSplits, 2);
  const bad = asUnsupported(
    resolve(
      { spec: presetSpec("tiny"), layout: one, dtype: "f32", backend: "wgsl-absorbed" },
      caps,
      { kvSplits: 0 },
    ),
  );
  assert.equal(bad.reasons[0].code, "variant.kv-splits");
});

Deno.test("every buffer a plan allocates is checked: the standard buffers too, on both paths", () => {
  // DeepSeek-V3 (128 heads): kv_b_proj is 128 * 256 * 512 * 4 = 64 MiB in f32. With bindings of
  // 32 MiB it cannot be bound, on either path, whatever the layout (one decode token).
  const small: DeviceCaps = {
    ...caps,
    limits: { ...caps.limits, maxStorageBufferBindingSize: 32 * 1024 * 1024 },
  };
  for (const backend of ["wgsl-absorbed", "wgsl-expanded"] as const) {
    const u = resolve({
      spec: presetSpec("deepseek-v3"),
      dtype: "f32",
      backend,
      layout: { kind: "bshd", batch: 1, seqQ: 1, seqK: 8, causal: true },
    }, small) as Unsupported;
    assert.equal(u.kind, "unsupported", backend);
    const w = u.reasons.find((r) =>
      r.code === "limits.buffer-too-large" && /w_kv_b/.test(r.message)
    );
    assert.ok(w, `${backend}: ${JSON.stringify(u.reasons)}`);
    assert.match(w.message, /needs 67108864 bytes/);
  }
  // The latent cache of the expanded path is checked as well (it was not before).
  const p = resolve({
    spec: presetSpec("tiny"),
    dtype: "f32",
    backend: "wgsl-expanded",
    layout: { kind: "bshd", batch: 1, seqQ: 1, seqK: 8, causal: true },
  }, caps) as Plan;
  assert.deepEqual(
    p.buffers.map((b) => b.name).slice(0, 6),
    ["q_nope", "q_pe", "latent_cache", "w_kv_b", "out", "lse"],
  );
});

Deno.test("a backend's check is told the device's workgroup-element cap: 1024 on the GL fallback, else none", () => {
  const seen: SupportQuery[] = [];
  const base = BUNDLED_BACKENDS["wgsl-absorbed"];
  registerBackend({
    ...base,
    id: "test-query-recorder",
    check: (q) => {
      seen.push(q);
      return base.check(q);
    },
  });
  const req = {
    spec: presetSpec("tiny"),
    dtype: "f32" as const,
    backend: "test-query-recorder",
    layout: { kind: "bshd", batch: 1, seqQ: 1, seqK: 16, causal: true } as LayoutRequest,
  };
  for (const [device, want] of [[GL_CAPS, 1024], [caps, null], [null, null]] as const) {
    resolve(req, device);
    assert.equal(seen.at(-1)?.workgroupElementCap, want, device?.webgpuBackend ?? "no device");
  }
});

Deno.test("every backend checks its workgroup against maxComputeWorkgroupSizeX, not only the tiled one", () => {
  const narrow: DeviceCaps = {
    ...caps,
    limits: { ...caps.limits, maxComputeWorkgroupSizeX: 4 },
  };
  const layout: LayoutRequest = { kind: "bshd", batch: 2, seqQ: 1, seqK: 20, causal: true };
  let planned = 0;
  for (const backend of Object.keys(BUNDLED_BACKENDS)) {
    const q = { spec: presetSpec("tiny"), layout, dtype: "f32", backend } as const;
    const r = resolve(q, caps);
    if (r.kind !== "plan" || r.backend === "cpu-reference") continue;
    planned++;
    const u = asUnsupported(resolve(q, narrow));
    const why = u.reasons.find((x) => x.code === "limits.workgroup-size");
    assert.ok(why, `${backend}: ${JSON.stringify(u.reasons)}`);
    assert.match(why.message, /over maxComputeWorkgroupSizeX 4$/);
  }
  assert.ok(planned >= 6, `${planned} backends planned`);
});

Deno.test("resolve: a dtype other than f32 or f16 (a script's cast, JSON) is a ConfigError naming it", () => {
  for (const backend of ["cpu-reference", "auto", "wgsl-absorbed"] as const) {
    assert.throws(
      () =>
        resolve({
          spec: presetSpec("tiny"),
          dtype: "bf16" as "f32",
          backend,
          layout: { kind: "bshd", batch: 1, seqQ: 1, seqK: 8, causal: true },
        }, null),
      (e: unknown) =>
        e instanceof ConfigError && /dtype: "bf16" must be "f32" or "f16"/.test(e.message),
      backend,
    );
  }
});

Deno.test("a refusal's 'use backend X' advice holds for the case, or says X refuses it too", () => {
  const tiny = presetSpec("tiny");
  const at = (seqK: number, backend: string, kvSplits?: number) =>
    resolve(
      {
        spec: tiny,
        dtype: "f32",
        backend,
        layout: { kind: "bshd", batch: 1, seqQ: 1, seqK, causal: true },
      },
      caps,
      { kvSplits },
    );
  const message = (r: Plan | Unsupported, code: string) =>
    asUnsupported(r).reasons.find((x) => x.code === code)?.message ?? "";
  // Within what wgsl-absorbed takes: the advice stands, and following it plans.
  assert.match(
    message(at(200000, "wgsl-absorbed-gemm"), "device.loop-budget"),
    /keys per query fit: use backend wgsl-absorbed \(it splits the keys\)$/,
  );
  asPlan(at(200000, "wgsl-absorbed"));
  // The expanded gemm points at the expanded backend that splits keys, not across paths.
  assert.match(
    message(at(200000, "wgsl-expanded-gemm"), "device.loop-budget"),
    /use backend wgsl-expanded-tiled \(it splits the keys\)$/,
  );
  asPlan(at(200000, "wgsl-expanded-tiled"));
  assert.match(
    message(at(200000, "wgsl-expanded-gemm", 5), "variant.kv-splits"),
    /use kvSplits 1 or backend wgsl-expanded-tiled$/,
  );
  // 1 Mi keys: the latent cache is over one binding for every backend; the advice said
  // "use wgsl-absorbed (it splits the keys)", which refuses it too.
  const gemm = message(at(1048576, "wgsl-absorbed-gemm"), "device.loop-budget");
  assert.match(
    gemm,
    /fit: backend wgsl-absorbed refuses this case too \(limits\.buffer-too-large\)$/,
  );
  const dense = message(at(1048576, "wgsl-expanded"), "device.loop-budget");
  assert.match(
    dense,
    /use shorter sequences \(the absorbed path refuses this case too: limits\.buffer-too-large, wgsl-absorbed-gemm:device\.loop-budget\) \(backend wgsl-expanded-tiled refuses this case too: limits\.buffer-too-large\)$/,
  );
  // Where the keys fit one binding, the dense decode past its budget is taken by
  // wgsl-expanded-tiled in KV splits, and the advice names it.
  assert.match(
    message(at(200000, "wgsl-expanded"), "device.loop-budget"),
    /use shorter sequences or the absorbed path, or use backend wgsl-expanded-tiled \(it splits the keys\)$/,
  );
  // A user backend's messages are its own.
  assert.doesNotMatch(JSON.stringify(at(16, "auto")), /refuses this case too/);
});

Deno.test("a loop-budget refusal never advises more KV splits than a kernel runs", () => {
  const tight = { ...caps, loopIterationBudget: 3000 };
  const at = (backend: string) =>
    resolve(
      {
        spec: presetSpec("tiny"),
        dtype: "f32",
        backend,
        layout: { kind: "bshd", batch: 1, seqQ: 1, seqK: 400000, causal: true },
      },
      tight,
      { kvSplits: 2 },
    );
  for (const backend of ["wgsl-absorbed", "wgsl-absorbed-tiled"]) {
    const m = asUnsupported(at(backend)).reasons.find((r) => r.code === "device.loop-budget")!;
    assert.match(
      m.message,
      /it would take \d+ KV splits, over the 64 a kernel runs: shorter sequences$/,
      backend,
    );
  }
});

Deno.test("wgsl-absorbed-tiled-sg on a device with a loop budget: one reason, no split count to try", () => {
  const r = asUnsupported(
    resolve(
      {
        spec: presetSpec("deepseek-v2-lite"),
        dtype: "f32",
        backend: "wgsl-absorbed-tiled-sg",
        layout: { kind: "bshd", batch: 1, seqQ: 1, seqK: 50000, causal: true },
      },
      caps,
      { kvSplits: 1 },
    ),
  );
  const budget = r.reasons.filter((x) => x.code === "device.loop-budget");
  assert.equal(budget.length, 1, JSON.stringify(r));
  // (wgsl-absorbed-tiled refuses one forced split too: the advice says so.)
  assert.match(
    budget[0].message,
    /not planned on such a device; backend wgsl-absorbed-tiled refuses this case too \(device\.loop-budget\)$/,
  );
  assert.doesNotMatch(JSON.stringify(r), /use kvSplits >=/);
});

Deno.test("a forced split count a backend does not run points at its own path's backend with splits", () => {
  const at = (backend: string, seqK = 16) =>
    resolve(
      {
        spec: presetSpec("tiny"),
        dtype: "f32",
        backend,
        layout: { kind: "bshd", batch: 1, seqQ: 1, seqK, causal: true },
      },
      caps,
      { kvSplits: 3 },
    );
  // It listed wgsl-absorbed first for an expanded case, which a matrix case of path
  // expanded cannot name (backend.path-mismatch).
  const expanded = asUnsupported(at("wgsl-expanded")).reasons[0].message;
  assert.match(expanded, /or use backend wgsl-expanded-tiled$/);
  assert.equal(at("wgsl-expanded-tiled").kind, "plan");
  // Where that one refuses too, the advice says so instead.
  assert.match(
    asUnsupported(at("wgsl-expanded", 0)).reasons.map((r) => r.message).join("\n"),
    /no --kv-splits\) \(backend wgsl-expanded-tiled refuses this case too: layout\.no-keys\)$/m,
  );
});
