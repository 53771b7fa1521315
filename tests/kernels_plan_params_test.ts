/**
 * The kernels that size their tiles from the plan (adapter/gemm_plan.ts, tiled_plan.ts) take
 * the plan's numbers as `// @param` constants and assert them: a plan whose keysPerBlock or
 * workgroupSize disagrees with the kernel's written-out tile fails to compile (a
 * ShaderCompileError naming the assertion) instead of dropping or repeating keys. The plan
 * as resolved runs; the same plan with one field changed must not. And a device profile's
 * lower binding limit reaches the launchers (kernels/launch.ts launchLimits).
 */
import assert from "node:assert/strict";
import { ShaderCompileError } from "../gpu/errors.ts";
import { createUnwrittenStorage, type UniformWriter } from "../gpu/buffers.ts";
import { runAttention } from "../kernels/attention.ts";
import { makeAttentionInputs } from "../reference/inputs.ts";
import type { AttentionInputs, GpuPlan, LayoutRequest } from "../adapter/types.ts";
import { planOn } from "./backend_parity_helpers.ts";
import { CAPS, gpu, gpuTest } from "./gpu_helpers.ts";
import { applyProfile } from "../runner/case_request.ts";
import { gpuPlanOf, resolve } from "../adapter/resolve.ts";
import { presetSpec } from "../adapter/presets.ts";
import {
  type DispatchPassOptions,
  LaunchKit,
  type LaunchLimits,
  launchLimits,
} from "../kernels/launch.ts";
import { pipelineCacheOf } from "../kernels/attention.ts";
import { denseAttention } from "../reference/attention.ts";
import { registerBackendModule, validateBackendModule } from "../kernels/backend_module.ts";
import * as naive from "../examples/backends/naive/mod.ts";
import { compareAttention } from "../parity/compare.ts";
import { toleranceFor } from "../parity/tolerance.ts";

const LAYOUT: LayoutRequest = { kind: "bshd", batch: 1, seqQ: 4, seqK: 20, causal: true };

const CHANGES: readonly [string, keyof GpuPlan["variant"], number][] = [
  ["wgsl-absorbed-gemm", "keysPerBlock", 32],
  ["wgsl-expanded-gemm", "keysPerBlock", 8],
  ["wgsl-expanded-tiled", "keysPerBlock", 16],
  // (the plan's is 128 on lavapipe, 64 queries a tile, and 64 on the GL fallback, 32)
  ["wgsl-expanded-tiled", "workgroupSize", 32],
];

gpuTest(
  "a plan's tile fields reach the kernels: one that disagrees fails to compile",
  async (t) => {
    for (const [backend, field, value] of CHANGES) {
      await t.step(`${backend} ${field} ${value}`, async () => {
        const p = planOn(backend, { preset: "tiny", dtype: "f32", layout: LAYOUT });
        if (typeof p === "string") throw new Error(p);
        const { plan, spec } = p;
        assert.notEqual(plan.variant[field], value, "the change must be a change");
        const inputs = makeAttentionInputs(spec, plan.layout, { seed: 1 });
        const ctx = await gpu();
        await runAttention(ctx, plan, { spec, inputs }); // as resolved: runs
        const changed = { ...plan, variant: { ...plan.variant, [field]: value } } as GpuPlan;
        const e = await runAttention(ctx, changed, { spec, inputs }).then(
          () => assert.fail(`${field} ${value} ran`),
          (e: unknown) => e,
        );
        assert.ok(e instanceof ShaderCompileError, String(e));
        assert.match(e.message, /const_assert|assert/i);
      });
    }
  },
);

gpuTest("a device profile's lower binding limit is what the launchers bind by", async () => {
  // tiny: a key row of expanded K is h x (nope + rope) x 4 = 384 bytes; 2 x 30 keys need
  // 23040 bytes, more than the profile's 16384 (42 rows; w_kv_b is 16384 bytes), so the
  // K/V expansion goes in two chunks.
  const layout: LayoutRequest = { kind: "bshd", batch: 2, seqQ: 1, seqK: 30, causal: true };
  const limits = { maxStorageBufferBindingSize: 16384 };
  const caps = applyProfile(CAPS!, { limits });
  const plan = resolve(
    { spec: presetSpec("tiny"), dtype: "f32", backend: "wgsl-expanded", layout },
    caps,
  );
  assert.equal(plan.kind, "plan", JSON.stringify(plan));
  const p = gpuPlanOf(plan as Exclude<typeof plan, { kind: "unsupported" }>);
  const spec = presetSpec("tiny");
  const inputs = makeAttentionInputs(spec, p.layout, { seed: 2 });
  const ctx = await gpu();
  const run = async (l?: typeof limits) => {
    let names: string[] = [];
    const r = await runAttention(ctx, p, {
      spec,
      inputs,
      limits: l,
      session: (s) => {
        names = s.passes.map((x) => x.name);
        return Promise.resolve();
      },
    });
    return { r, expands: names.filter((n) => n === "expand_kv").length };
  };
  const [native, profiled] = [await run(), await run(limits)];
  assert.equal(native.expands, 1);
  assert.equal(profiled.expands, 2, "two chunks of at most 16384 bytes");
  assert.deepEqual(profiled.r.outputs.out, native.r.outputs.out, "the same numbers either way");
  const want = denseAttention(spec, p.layout, { inputs, storedAs: p.variant.dtype });
  const res = compareAttention(profiled.r.outputs, want, {
    tolerance: toleranceFor("f32", "expanded"),
    numHeads: spec.numHeads,
    vDim: spec.vHeadDim,
  });
  assert.ok(res.pass);
});

gpuTest(
  "a kit refuses a storage binding over the binding limit it launches by (lavapipe bound it)",
  async () => {
    const ctx = await gpu();
    const owned: GPUBuffer[] = [];
    const kit = new LaunchKit(ctx.device, ctx.device.createCommandEncoder(), {
      dtype: "f32",
      path: "absorbed",
      limits: { maxStorageBufferBindingSize: 256 },
      cache: pipelineCacheOf(ctx),
      timer: null,
      owned,
    });
    try {
      const p = await kit.compile({
        fileName: "copy.wgsl",
        code: "@group(0) @binding(0) var<storage, read_write> o: array<u32>;\n" +
          "@compute @workgroup_size(1) fn main() { o[0] = 7u; }",
      }, "main");
      const big = kit.storage(512, "rows");
      const device = ctx.device.limits.maxStorageBufferBindingSize;
      const want = new RegExp(
        '^RangeError: pass "mine": binding 0 \\("rows"\\) is 512 bytes, over the ' +
          "maxStorageBufferBindingSize 256 this kit launches by \\(a device profile's; the " +
          `device's own is ${device}\\): bind it a chunk of rows at a time`,
      );
      assert.throws(() => kit.dispatch("mine", p, [big], [1]), want);
      assert.throws(() => kit.dispatch("mine", p, [{ buffer: big, offset: 0 }], [1]), want);
      // chunks within the limit bind (the rest of the buffer past an offset, or a range)
      kit.dispatch("mine", p, [{ buffer: big, offset: 256 }], [1]);
      kit.dispatch("mine", p, [{ buffer: big, offset: 0, size: 256 }], [1]);
      assert.equal(kit.passes.length, 2, "nothing recorded for the refused passes");
    } finally {
      owned.forEach((b) => b.destroy());
    }
  },
);

gpuTest(
  "a kit refuses a binding off the profile's offset alignment or past its buffer, and a fractional grid",
  async () => {
    const ctx = await gpu();
    const owned: GPUBuffer[] = [];
    const kit = new LaunchKit(ctx.device, ctx.device.createCommandEncoder(), {
      dtype: "f32",
      path: "absorbed",
      limits: { minStorageBufferOffsetAlignment: 1024 },
      cache: pipelineCacheOf(ctx),
      timer: null,
      owned,
    });
    try {
      const p = await kit.compile({
        fileName: "copy.wgsl",
        code: "@group(0) @binding(0) var<storage, read_write> o: array<u32>;\n" +
          "@compute @workgroup_size(1) fn main() { o[0] = 7u; }",
      }, "main");
      const rows = kit.storage(2048, "rows");
      const device = ctx.device.limits.minStorageBufferOffsetAlignment;
      // lavapipe (256) bound offset 512 without a word; the profile's device refuses it
      assert.throws(
        () => kit.dispatch("mine", p, [{ buffer: rows, offset: 512, size: 256 }], [1]),
        new RegExp(
          '^RangeError: pass "mine": binding 0 \\("rows"\\) starts at offset 512, not a ' +
            "multiple of the minStorageBufferOffsetAlignment 1024 this kit launches by \\(a " +
            `device profile's; the device's own is ${device}\\)`,
        ),
      );
      assert.throws(
        () => kit.dispatch("mine", p, [{ buffer: rows, offset: 1024, size: 2048 }], [1]),
        /^RangeError: pass "mine": binding 0 \("rows"\): 2048 bytes at offset 1024 run past the buffer's 2048 bytes$/,
      );
      // WebGPU truncated these: y 0.5 dispatched nothing, x 1.5 one workgroup
      assert.throws(
        () => kit.dispatch("mine", p, [rows], [1, 0.5]),
        /^RangeError: pass "mine": workgroup count y 0\.5 must be an integer >= 0$/,
      );
      assert.throws(() => kit.dispatch("mine", p, [rows], [1.5]), /workgroup count x 1\.5/);
      kit.dispatch("mine", p, [{ buffer: rows, offset: 1024, size: 1024 }], [1]);
      assert.equal(kit.passes.length, 1, "nothing recorded for the refused passes");
    } finally {
      owned.forEach((b) => b.destroy());
    }
  },
);

gpuTest(
  "a kit refuses a buffer over a device profile's maxBufferSize, naming the profile (lavapipe made it)",
  async () => {
    const ctx = await gpu();
    const owned: GPUBuffer[] = [];
    const kit = new LaunchKit(ctx.device, ctx.device.createCommandEncoder(), {
      dtype: "f32",
      path: "absorbed",
      limits: { maxBufferSize: 4096 },
      profile: "tiny-buffers",
      cache: pipelineCacheOf(ctx),
      timer: null,
      owned,
    });
    try {
      const device = ctx.device.limits.maxBufferSize;
      assert.throws(
        () => kit.storage(4100, "scores"),
        new RegExp(
          '^RangeError: storage buffer "scores": size 4100 bytes is over maxBufferSize 4096, ' +
            "the limit this kit launches by \\(device profile \"tiny-buffers\"'s; the device's " +
            `own is ${device}\\): a GPU of the profile refuses such a buffer`,
        ),
      );
      assert.throws(() => kit.upload(new Float32Array(1025), "q"), /"q": size 4100 bytes/);
      kit.storage(4096, "fits");
      kit.upload(new Float32Array(2048), "halves", "f16");
      assert.equal(owned.length, 2, "nothing allocated for the refused buffers");
    } finally {
      owned.forEach((b) => b.destroy());
    }
  },
);

gpuTest(
  "kit.dispatch refuses options that are not { core?, construction? } booleans, naming the option",
  async () => {
    const ctx = await gpu();
    const owned: GPUBuffer[] = [];
    const kit = new LaunchKit(ctx.device, ctx.device.createCommandEncoder(), {
      dtype: "f32",
      path: "absorbed",
      cache: pipelineCacheOf(ctx),
      timer: null,
      owned,
    });
    try {
      const p = await kit.compile({
        fileName: "copy.wgsl",
        code: "@group(0) @binding(0) var<storage, read_write> o: array<u32>;\n" +
          "@compute @workgroup_size(1) fn main() { o[0] = 7u; }",
      }, "main");
      const o = kit.storage(16, "o");
      const refused: [unknown, RegExp][] = [
        [
          { core: "yes" },
          /^TypeError: kit\.dispatch\("mine"\): options\.core must be true, false or absent, got "yes"$/,
        ],
        [
          { construction: true, core: true },
          /^TypeError: kit\.dispatch\("mine"\): options \{ construction: true, core: true \} contradict each other/,
        ],
        [
          { cor: false },
          /^TypeError: kit\.dispatch\("mine"\): unknown option "cor" \(valid: core, construction\)$/,
        ],
        [null, /options must be an object .*got null$/],
      ];
      for (const [options, message] of refused) {
        assert.throws(
          () => kit.dispatch("mine", p, [o], [1], options as DispatchPassOptions),
          message,
        );
      }
      assert.equal(kit.passes.length, 0, "nothing recorded for the refused passes");
      kit.dispatch("mine", p, [o], [1], { construction: true, core: false });
      kit.dispatch("mine", p, [o], [1], { core: undefined });
      assert.deepEqual(kit.passes.map((r) => [r.core, r.construction]), [[false, true], [
        true,
        false,
      ]]);
    } finally {
      owned.forEach((b) => b.destroy());
    }
  },
);

gpuTest(
  "kit.compile refuses workgroup memory over a device profile's limit (lavapipe's 32768 ran it)",
  async () => {
    const ctx = await gpu();
    const kit = new LaunchKit(ctx.device, ctx.device.createCommandEncoder(), {
      dtype: "f32",
      path: "absorbed",
      limits: { maxComputeWorkgroupStorageSize: 16384 },
      cache: pipelineCacheOf(ctx),
      timer: null,
      owned: [],
    });
    // 20480 bytes: within lavapipe's 32768, over the profile's 16384
    const code = (n: number) =>
      `var<workgroup> tile: array<f32, ${n}>;\n` +
      "@group(0) @binding(0) var<storage, read_write> o: array<f32>;\n" +
      "@compute @workgroup_size(1) fn main() { tile[0] = 1.0; o[0] = tile[0]; }";
    const device = ctx.device.limits.maxComputeWorkgroupStorageSize;
    assert.ok(device > 20480, `the device's own limit (${device}) takes the kernel`);
    await assert.rejects(
      kit.compile({ fileName: "big_tile.wgsl", code: code(5120) }, "main"),
      new RegExp(
        "^RangeError: big_tile\\.wgsl: entry point main declares 20480 bytes of workgroup " +
          "memory \\(tile 20480; each rounded up to 16\\), over the " +
          "maxComputeWorkgroupStorageSize 16384 this kit launches by \\(a device profile's; " +
          `the device's own is ${device}\\): a GPU refuses such a pipeline`,
      ),
    );
    await kit.compile({ fileName: "big_tile.wgsl", code: code(4096) }, "main"); // 16384 fits
  },
);

gpuTest(
  "kit.compile refuses a @workgroup_size over a device profile's limits (lavapipe ran it)",
  async () => {
    const ctx = await gpu();
    const kit = new LaunchKit(ctx.device, ctx.device.createCommandEncoder(), {
      dtype: "f32",
      path: "absorbed",
      limits: { maxComputeInvocationsPerWorkgroup: 64, maxComputeWorkgroupSizeX: 32 },
      cache: pipelineCacheOf(ctx),
      timer: null,
      owned: [],
    });
    const code = (size: string) =>
      "const WG: u32 = 16u; // @param\n" +
      "@group(0) @binding(0) var<storage, read_write> o: array<u32>;\n" +
      `@compute @workgroup_size(${size}) fn main() { o[0] = 7u; }`;
    const own = ctx.device.limits;
    await assert.rejects(
      kit.compile({ fileName: "wide.wgsl", code: code("WG, 8") }, "main", { WG: 16 }),
      new RegExp(
        "^RangeError: wide\\.wgsl: entry point main's @workgroup_size\\(16, 8\\) has " +
          "invocations 128, over the maxComputeInvocationsPerWorkgroup 64 this kit launches by " +
          `\\(a device profile's; the device's own is ${own.maxComputeInvocationsPerWorkgroup}\\)`,
      ),
    );
    await assert.rejects(
      kit.compile({ fileName: "wide.wgsl", code: code("WG") }, "main", { WG: 48 }),
      /has x size 48, over the maxComputeWorkgroupSizeX 32 this kit launches by/,
    );
    await kit.compile({ fileName: "wide.wgsl", code: code("WG, 4") }, "main", { WG: 16 });
  },
);

gpuTest(
  "kit.kernel refuses a harness kernel whose params exceed the profile's workgroup limits",
  async () => {
    const ctx = await gpu();
    const kit = (limits: Partial<LaunchLimits>, profile?: string) =>
      new LaunchKit(ctx.device, ctx.device.createCommandEncoder(), {
        dtype: "f32",
        path: "absorbed",
        limits,
        profile,
        cache: pipelineCacheOf(ctx),
        timer: null,
        owned: [],
      });
    const own = ctx.device.limits;
    const small = kit(
      { maxComputeInvocationsPerWorkgroup: 128, maxComputeWorkgroupSizeX: 128 },
      "gpu-small",
    );
    // lavapipe's 1024 invocations took 256; a GPU of the profile refuses the pipeline
    await assert.rejects(
      small.kernel("combine.wgsl", "combine", { WG: 256 }),
      new RegExp(
        "^RangeError: combine\\.wgsl: entry point combine's @workgroup_size\\(256\\) has x " +
          "size 256, over the maxComputeWorkgroupSizeX 128 this kit launches by \\(device " +
          `profile "gpu-small"'s; the device's own is ${own.maxComputeWorkgroupSizeX}\\)`,
      ),
    );
    await small.kernel("combine.wgsl", "combine", { WG: 128 });
    // a backend's own file through kit.kernel: Deno's "No such file or directory" alone
    await assert.rejects(
      small.kernel("mine.wgsl", "main"),
      /^TypeError: kit\.kernel\("mine\.wgsl"\): no such harness kernel \(kit\.kernel compiles the \.wgsl files of the harness's kernels\/ folder, such as combine\.wgsl\); a backend's own WGSL goes through kit\.compile\(\{ fileName, code \}, entryPoint, params\)$/,
    );
    // workgroup memory: (RG - 1) x TT x LC vec4s, 32768 bytes at 2 x 32 x 64 (lavapipe's own)
    const split = (k: LaunchKit, tt: number) =>
      k.kernel("absorb_q_split.wgsl", "absorb_q_split", { TT: tt, LC: 64, RG: 2, WRPT: 1 });
    const tight = kit({ maxComputeWorkgroupStorageSize: 16384 }, "gpu-small");
    await assert.rejects(
      split(tight, 32),
      /^RangeError: absorb_q_split\.wgsl: entry point absorb_q_split declares 32768 bytes of workgroup memory \(part 32768; .*over the maxComputeWorkgroupStorageSize 16384 this kit launches by \(device profile "gpu-small"'s; the device's own is \d+\)/,
    );
    await split(tight, 16);
    // without a name the profile is "a device profile"; past the device's own, "this device's"
    await assert.rejects(
      split(kit({ maxComputeWorkgroupStorageSize: 16384 }), 32),
      /this kit launches by \(a device profile's; the device's own is/,
    );
    if (own.maxComputeWorkgroupStorageSize < 65536) {
      await assert.rejects(
        split(kit({}), 64),
        /declares 65536 bytes of workgroup memory .*over this device's maxComputeWorkgroupStorageSize/,
      );
    }
  },
);

gpuTest(
  "kit.dispatch names a pass given other bindings than its entry point uses (WebGPU's named none)",
  async () => {
    const ctx = await gpu();
    const owned: GPUBuffer[] = [];
    const kit = new LaunchKit(ctx.device, ctx.device.createCommandEncoder(), {
      dtype: "f32",
      path: "absorbed",
      cache: pipelineCacheOf(ctx),
      timer: null,
      owned,
    });
    try {
      // binding 1 is declared but unused: "auto" layout leaves it out
      const p = await kit.compile({
        fileName: "copy.wgsl",
        code: "@group(0) @binding(0) var<storage, read_write> o: array<u32>;\n" +
          "@group(0) @binding(1) var<storage, read_write> unused: array<u32>;\n" +
          "@group(0) @binding(2) var<storage, read_write> k: array<u32>;\n" +
          "fn put() { k[0] = 1u; }\n" +
          "@compute @workgroup_size(1) fn main() { o[0] = 7u; put(); }",
      }, "main");
      const a = kit.storage(16, "a");
      assert.throws(
        () => kit.dispatch("x", p, [], [1]),
        /^RangeError: pass "x": 0 bindings given, but copy\.wgsl entry point main uses 2 in group 0: 0 \(o\), 2 \(k\); give them in binding order$/,
      );
      assert.throws(() => kit.dispatch("x", p, [a, a, a], [1]), /pass "x": 3 bindings given/);
      const q = await kit.compile({
        fileName: "one.wgsl",
        code: "@group(0) @binding(0) var<storage, read_write> o: array<u32>;\n" +
          "@compute @workgroup_size(1) fn main() { o[0] = 7u; }",
      }, "main");
      assert.throws(
        () => kit.dispatch("y", q, [a, a], [1]),
        /^RangeError: pass "y": 2 bindings given, but one\.wgsl entry point main uses 1 in group 0: 0 \(o\)/,
      );
      kit.dispatch("y", q, [a], [1]);
      assert.equal(kit.passes.length, 1, "nothing recorded for the refused passes");
    } finally {
      owned.forEach((b) => b.destroy());
    }
  },
);

gpuTest(
  "kit.dispatch names a binding its declaration does not take (WebGPU named a buffer label)",
  async () => {
    const ctx = await gpu();
    const owned: (GPUBuffer | GPUTexture)[] = [];
    const kit = new LaunchKit(ctx.device, ctx.device.createCommandEncoder(), {
      dtype: "f32",
      path: "absorbed",
      cache: pipelineCacheOf(ctx),
      timer: null,
      owned,
    });
    try {
      const p = await kit.compile({
        fileName: "kinds.wgsl",
        code: "@group(0) @binding(0) var<uniform> u: vec4<u32>;\n" +
          "@group(0) @binding(1) var<storage, read> a: array<f32>;\n" +
          "@group(0) @binding(2) var<storage, read_write> o: array<f32>;\n" +
          "@group(0) @binding(3) var t: texture_2d<f32>;\n" +
          "@compute @workgroup_size(1) fn main() {\n" +
          "  o[0] = a[0] + f32(u.x) + textureLoad(t, vec2<u32>(0u), 0).x;\n}",
      }, "main");
      const u = kit.uniform(kit.writer().u32(1));
      const a = kit.storage(16, "a");
      const o = kit.storage(16, "o");
      const t = kit.texture({ width: 1, height: 1 }, "rgba32float", "t").createView();
      const at = (i: number) =>
        `^RangeError: pass "x": binding ${i} of kinds\\.wgsl entry point main is `;
      assert.throws(
        () => kit.dispatch("x", p, [a, a, o, t], [1]),
        new RegExp(
          at(0) + "`var<uniform> u: vec4<u32>`, which takes a buffer with UNIFORM usage " +
            '\\(kit\\.uniform\\); it was given buffer "a" \\(usage COPY_SRC \\| COPY_DST \\| STORAGE\\)$',
        ),
      );
      assert.throws(
        () => kit.dispatch("x", p, [u, u, o, t], [1]),
        new RegExp(
          at(1) +
            "`var<storage, read> a: array<f32>`, which takes a buffer with STORAGE usage .*; it was given an unlabelled buffer \\(usage COPY_DST \\| UNIFORM\\)$",
        ),
      );
      assert.throws(
        () => kit.dispatch("x", p, [u, t, o, t], [1]),
        new RegExp(
          at(1) + ".*which takes a buffer with STORAGE usage .*; it was given a texture view$",
        ),
      );
      assert.throws(
        () => kit.dispatch("x", p, [u, a, o, a], [1]),
        new RegExp(
          at(3) +
            '`var t: texture_2d<f32>`, which takes a texture view .*; it was given buffer "a"',
        ),
      );
      // a misspelt field of the buffers (undefined), a promise not awaited: they failed as
      // "Cannot read properties of undefined (reading 'buffer')" inside the kit
      const misspelt = ({} as Record<string, GPUBuffer>)["kvcache"];
      assert.throws(
        () => kit.dispatch("x", p, [u, misspelt, o, t], [1]),
        /^TypeError: pass "x": binding 1 \(a\) is undefined: give a GPUBuffer, a \{ buffer, offset, size \} range of one, or a GPUTextureView; a misspelt field reads undefined \(the standard buffers: qNope, qPe, kvCache, kRows, qMeta, wKvB, out, lse\)$/,
      );
      assert.throws(
        () => kit.dispatch("x", p, [u, { buffer: misspelt }, o, t], [1]),
        /^TypeError: pass "x": binding 1 \(a\) is a range whose buffer is undefined/,
      );
      const pending = Promise.resolve(a);
      assert.throws(
        () => kit.dispatch("x", p, [u, pending as unknown as GPUBuffer, o, t], [1]),
        /^TypeError: pass "x": binding 1 \(a\) is a Promise \(not awaited\?\): .*\(await what kit\.absorbQ/,
      );
      const compiling = Promise.resolve(p);
      assert.throws(
        () => kit.dispatch("x", compiling as unknown as GPUComputePipeline, [u, a, o, t], [1]),
        /^TypeError: pass "x": the pipeline is a Promise \(not awaited\?\), not a GPUComputePipeline: give what `await kit\.compile\(\.\.\.\)` or `await kit\.kernel\(\.\.\.\)` returns$/,
      );
      kit.dispatch("x", p, [u, a, o, t], [1]);
      assert.equal(kit.passes.length, 1, "nothing recorded for the refused passes");
    } finally {
      owned.forEach((b) => b.destroy());
    }
  },
);

gpuTest(
  "a case's WebGPU refusal names the pass refused, also of a pipeline the kit did not make",
  async () => {
    const code = "@group(0) @binding(0) var<storage, read> a: array<f32>;\n" +
      "@group(0) @binding(1) var<storage, read_write> o: array<f32>;\n" +
      "@compute @workgroup_size(1) fn main() { o[1] = a[0]; }";
    // one buffer bound read-only and read_write in one dispatch: refused as the encoder
    // finishes (wgpu and Dawn alike), naming the buffer but no pass
    const aliases = {
      ...naive,
      id: "fixture-aliases",
      launch: async (_p: GpuPlan, _b: unknown, kit: LaunchKit) => {
        const p = await kit.compile({ fileName: "alias.wgsl", code }, "main");
        const t = kit.storage(64, "t");
        kit.dispatch("alias", p, [t, t], [1]);
      },
    };
    // kit.device's own pipeline given one binding of two: WebGPU's count message alone
    const direct = {
      ...naive,
      id: "fixture-direct-pipeline",
      launch: (_p: GpuPlan, _b: unknown, kit: LaunchKit) => {
        const module = kit.device.createShaderModule({ code });
        const p = kit.device.createComputePipeline({
          layout: "auto",
          compute: { module, entryPoint: "main" },
        });
        kit.dispatch("direct", p, [kit.storage(64, "t")], [1]);
        return Promise.resolve();
      },
    };
    registerBackendModule(validateBackendModule(aliases, "aliases.ts"), "aliases.ts");
    registerBackendModule(validateBackendModule(direct, "direct.ts"), "direct.ts");
    const ctx = await gpu();
    const run = (backend: string) => {
      const p = planOn(backend, { preset: "tiny", dtype: "f32", layout: LAYOUT });
      if (typeof p === "string") throw new Error(p);
      const inputs = makeAttentionInputs(p.spec, p.plan.layout, { seed: 1 });
      return runAttention(ctx, p.plan, { spec: p.spec, inputs });
    };
    await assert.rejects(
      run("fixture-aliases"),
      /^GpuScopeError: backend fixture-aliases \(module aliases\.ts\): what its launch\(\) encoded was refused by WebGPU: validation error: .*'t'.* \(in pass "alias": alias\.wgsl entry point main, the first pass WebGPU refuses encoded alone\)$/s,
    );
    await assert.rejects(
      run("fixture-direct-pipeline"),
      /: validation error: .* \(in pass "direct": a pipeline not made by kit\.kernel or kit\.compile, whose WGSL the kit never read .*\)$/s,
    );
  },
);

gpuTest(
  "kit.dispatch names a buffer of another float type than a compiled kernel declares (it misread)",
  async () => {
    // an f16 case whose kernel declared the cache array<vec4<f32>>, not store_t: it read the
    // halves in pairs as floats and failed parity as if its arithmetic were wrong
    const ctx = await gpu();
    const owned: (GPUBuffer | GPUTexture)[] = [];
    const kit = new LaunchKit(ctx.device, ctx.device.createCommandEncoder(), {
      dtype: "f16",
      path: "absorbed",
      cache: pipelineCacheOf(ctx),
      timer: null,
      owned,
    });
    try {
      const code = (cache: string) =>
        "// @enable-f16\nalias store_t = f32; // @dtype\n" +
        `@group(0) @binding(0) var<storage, read> c: array<vec4<${cache}>>;\n` +
        "@group(0) @binding(1) var<storage, read_write> o: array<vec4<f32>>;\n" +
        "@compute @workgroup_size(1) fn main() { o[0] = vec4<f32>(c[0]); }";
      const cache = kit.upload([1, 2, 3, 4], "cache");
      const o = kit.storage(16, "o");
      const f32 = await kit.compile({ fileName: "wide.wgsl", code: code("f32") }, "main");
      assert.throws(
        () => kit.dispatch("x", f32, [cache, o], [1]),
        /^RangeError: pass "x": binding 0 of wide\.wgsl entry point main is `var<storage, read> c: array<vec4<f32>>`, which takes f32 elements; it was given buffer "cache", which holds f16 elements \(declare the storage dtype's elements with store_t/,
      );
      // u32 data under a float declaration too; u32 over floats is a bitcast's, left alone
      const rows = kit.upload([0, 1], "rows", "u32");
      assert.throws(
        () => kit.dispatch("x", f32, [rows, o], [1]),
        /binding 0 .* which takes f32 elements; it was given buffer "rows", which holds u32 elements$/,
      );
      // a uniform written with other fields than its struct's: heads as f32 read 1082130432
      // heads, and a field left out read 0 (naive.wgsl so misused passed the tiny smoke case)
      const withParams = await kit.compile({
        fileName: "params.wgsl",
        code: "struct Params { n: u32, heads: u32, scale: f32 }\n" +
          "@group(0) @binding(0) var<uniform> p: Params;\n" +
          "@group(0) @binding(1) var<storage, read_write> o: array<vec4<f32>>;\n" +
          "@compute @workgroup_size(1) fn main() { o[0] = vec4<f32>(f32(p.n + p.heads) * p.scale); }",
      }, "main");
      const params = (w: UniformWriter) => () =>
        kit.dispatch("p", withParams, [kit.uniform(w), o], [1]);
      assert.throws(
        params(kit.writer().u32(1).f32(4).f32(0.5)),
        /^RangeError: pass "p": binding 0 of params\.wgsl entry point main is `var<uniform> p: Params`, which takes the fields n: u32, heads: u32, scale: f32; the kit\.uniform given wrote 3 \(u32, f32, f32\): field 1 \(heads\) is u32, written as f32 \(its bits would be read as u32\): write \.u32\(\.\.\.\) there$/,
      );
      assert.throws(
        params(kit.writer().u32(1).u32(4)),
        /which takes 3 fields \(n: u32, heads: u32, scale: f32\); the kit\.uniform given wrote 2 \(u32, u32\): write one per field, in order \(a field left out reads 0\)$/,
      );
      assert.throws(
        () => kit.uniform(new ArrayBuffer(16) as unknown as UniformWriter),
        /^TypeError: kit\.uniform takes a writer, kit\.writer\(\)\.u32\(\.\.\.\)\.f32\(\.\.\.\), one field per field of the WGSL struct in its order; it was given an ArrayBuffer$/,
      );
      params(kit.writer().u32(1).u32(4).f32(0.5))();
      const bits = await kit.compile({ fileName: "bits.wgsl", code: code("u32") }, "main");
      kit.dispatch("bits", bits, [cache, o], [1]);
      const own = await kit.compile({ fileName: "own.wgsl", code: code("store_t") }, "main");
      kit.dispatch("own", own, [cache, o], [1]);
      assert.equal(kit.passes.length, 3, "nothing recorded for the refused passes");
    } finally {
      owned.forEach((b) => b.destroy());
    }
  },
  { features: ["shader-f16"] },
);

gpuTest("kit.storage refuses a size that is not an integer >= 0, naming the buffer", async () => {
  const ctx = await gpu();
  const owned: (GPUBuffer | GPUTexture)[] = [];
  const kit = new LaunchKit(ctx.device, ctx.device.createCommandEncoder(), {
    dtype: "f32",
    path: "absorbed",
    cache: pipelineCacheOf(ctx),
    timer: null,
    owned,
  });
  try {
    // -4 and 4.5 made a 16-byte buffer without a word; NaN failed naming no buffer
    for (const [bytes, shown] of [[-4, "-4"], [4.5, "4\\.5"], [NaN, "NaN"]] as const) {
      assert.throws(
        () => kit.storage(bytes, "n"),
        new RegExp(`^RangeError: storage buffer "n": size ${shown} bytes must be an integer >= 0$`),
      );
    }
    assert.throws(
      () => createUnwrittenStorage(ctx.device, -1, "out"),
      /^RangeError: storage buffer "out": size -1 bytes/,
    );
    assert.equal(owned.length, 0, "nothing allocated");
    assert.equal(kit.storage(0, "empty").size, 16, "0 is padded to WebGPU's smallest binding");
    // over the device's maxBufferSize: WebGPU's error named no buffer, at the case's end
    const most = ctx.device.limits.maxBufferSize;
    assert.throws(
      () => kit.storage(most + 4, "huge"),
      new RegExp(
        `^RangeError: storage buffer "huge": size ${most + 4} bytes is over this device's ` +
          `maxBufferSize ${most}: split it, or refuse the case in check\\(\\)`,
      ),
    );
    // a texture's sides: 2.5 was truncated to 2 without a word, 0 named no texture
    const side = ctx.device.limits.maxTextureDimension2D;
    for (
      const [width, shown] of [[2.5, "2\\.5"], [0, "0"], [side + 1, String(side + 1)]] as const
    ) {
      assert.throws(
        () => kit.texture({ width, height: 4 }, "rgba32float", "t"),
        new RegExp(
          `^RangeError: kit\\.texture\\("t"\\): width ${shown} must be an integer from 1 to ` +
            `this device's maxTextureDimension2D ${side}$`,
        ),
      );
    }
    assert.equal(owned.length, 1, "nothing allocated for the refused sizes");
  } finally {
    owned.forEach((b) => b.destroy());
  }
});

gpuTest(
  "runAttention names an input that is missing (a TypeError reading its length)",
  async () => {
    const p = planOn("wgsl-absorbed", { preset: "tiny", dtype: "f32", layout: LAYOUT });
    if (typeof p === "string") throw new Error(p);
    const { plan, spec } = p;
    const { qPe: _, ...rest } = makeAttentionInputs(spec, plan.layout, { seed: 1 });
    await assert.rejects(
      runAttention(await gpu(), plan, { spec, inputs: rest as AttentionInputs }),
      /^TypeError: inputs\.qPe is missing: it must hold 128 numbers$/,
    );
  },
);

Deno.test("launchLimits refuses a limit no device has, naming it", () => {
  const device = {
    maxStorageBufferBindingSize: 1 << 27,
    minStorageBufferOffsetAlignment: 256,
    maxComputeWorkgroupsPerDimension: 65535,
    maxComputeWorkgroupStorageSize: 32768,
    maxComputeInvocationsPerWorkgroup: 256,
    maxComputeWorkgroupSizeX: 256,
  };
  // NaN failed as "workgroup count x NaN" in the first pass; 0 as "more than a 0 x 0 grid"
  for (
    const [wanted, want] of [
      [
        { maxStorageBufferBindingSize: NaN },
        /^RangeError: limits\.maxStorageBufferBindingSize must be an integer >= 1, got NaN$/,
      ],
      [
        { maxComputeWorkgroupsPerDimension: 0 },
        /limits\.maxComputeWorkgroupsPerDimension must be an integer >= 1, got 0$/,
      ],
      [{ maxComputeWorkgroupsPerDimension: 1.5 }, /got 1\.5$/],
      [
        { maxComputeWorkgroupStorageSize: -1 },
        /^RangeError: limits\.maxComputeWorkgroupStorageSize must be an integer >= 1, got -1$/,
      ],
      [
        { minStorageBufferOffsetAlignment: 3 },
        /^RangeError: limits\.minStorageBufferOffsetAlignment must be a power of two, got 3$/,
      ],
    ] as const
  ) {
    assert.throws(() => launchLimits(device, wanted), want);
  }
  assert.equal(
    launchLimits(device, { maxStorageBufferBindingSize: undefined }).maxStorageBufferBindingSize,
    1 << 27,
  );
});

Deno.test("launchLimits lowers the device's limits, never raises them", () => {
  const device = {
    maxStorageBufferBindingSize: 1 << 27,
    minStorageBufferOffsetAlignment: 256,
    maxComputeWorkgroupsPerDimension: 65535,
    maxComputeWorkgroupStorageSize: 32768,
    maxComputeInvocationsPerWorkgroup: 256,
    maxComputeWorkgroupSizeX: 256,
  };
  assert.deepEqual(launchLimits(device), device);
  assert.deepEqual(
    launchLimits(device, {
      maxStorageBufferBindingSize: 1 << 30,
      minStorageBufferOffsetAlignment: 64,
      maxComputeWorkgroupsPerDimension: 1024,
      maxComputeWorkgroupStorageSize: 65536,
    }),
    { ...device, maxComputeWorkgroupsPerDimension: 1024 },
  );
  assert.equal(
    launchLimits(device, { maxComputeWorkgroupStorageSize: 16384 }).maxComputeWorkgroupStorageSize,
    16384,
  );
  assert.equal(
    launchLimits(device, { minStorageBufferOffsetAlignment: 512 }).minStorageBufferOffsetAlignment,
    512,
  );
});

/** [backend, pass, field, value, whether the kernel takes it (runs) or asserts it (refuses)] */
const TILE_CHANGES: readonly [
  string,
  "absorbQ" | "upProj" | "expandKv",
  string,
  number,
  boolean,
][] = [
  ["wgsl-absorbed", "absorbQ", "rows", 8, false],
  ["wgsl-absorbed", "absorbQ", "columns", 2, false],
  ["wgsl-absorbed-gemm", "upProj", "channels", 8, false],
  ["wgsl-absorbed", "upProj", "tokens", 2, false],
  ["wgsl-expanded", "expandKv", "rows", 4, false],
  // The expansion's workgroup size is a parameter of its kernel and its grid alike.
  ["wgsl-expanded", "expandKv", "workgroupSize", 32, true],
];

gpuTest(
  "the harness passes' tiles come from the plan: one the kernel asserts fails, a free one runs",
  async (t) => {
    for (const [backend, pass, field, value, runs] of TILE_CHANGES) {
      await t.step(`${backend} ${pass}.${field} ${value}`, async () => {
        const p = planOn(backend, { preset: "tiny", dtype: "f32", layout: LAYOUT });
        if (typeof p === "string") throw new Error(p);
        const { plan, spec } = p;
        const tile = plan.harnessTiles[pass] as Record<string, number> | undefined;
        assert.ok(tile !== undefined, `${backend}'s plan has harnessTiles.${pass}`);
        assert.notEqual(tile[field], value, "the change must be a change");
        const inputs = makeAttentionInputs(spec, plan.layout, { seed: 1 });
        const ctx = await gpu();
        const changed = {
          ...plan,
          harnessTiles: { ...plan.harnessTiles, [pass]: { ...tile, [field]: value } },
        } as GpuPlan;
        const r = await runAttention(ctx, changed, { spec, inputs }).then(
          (r) => r,
          (e: unknown) => e,
        );
        if (runs) {
          assert.ok(!(r instanceof Error), String(r));
          const want = denseAttention(spec, plan.layout, { inputs, storedAs: plan.variant.dtype });
          const res = compareAttention(
            (r as Awaited<ReturnType<typeof runAttention>>).outputs,
            want,
            {
              tolerance: toleranceFor("f32", plan.path),
              numHeads: spec.numHeads,
              vDim: spec.vHeadDim,
            },
          );
          assert.ok(res.pass, `${pass}.${field} ${value} runs and matches the reference`);
        } else {
          assert.ok(r instanceof ShaderCompileError, String(r));
          assert.match(r.message, /const_assert|assert/i);
        }
      });
    }
    // A plan of the other path has no such tile: the launcher says which.
    const p = planOn("wgsl-absorbed", { preset: "tiny", dtype: "f32", layout: LAYOUT });
    if (typeof p === "string") throw new Error(p);
    const { plan, spec } = p;
    const none = { ...plan, harnessTiles: {} } as GpuPlan;
    await assert.rejects(
      runAttention(await gpu(), none, {
        spec,
        inputs: makeAttentionInputs(spec, plan.layout, { seed: 1 }),
      }),
      /has no harnessTiles\.absorbQ/,
    );
  },
);

gpuTest("the RoPE a kernel applies is the plan's, not the caller's spec", async () => {
  const p = planOn("wgsl-absorbed", { preset: "tiny", dtype: "f32", layout: LAYOUT });
  if (typeof p === "string") throw new Error(p);
  const { plan, spec } = p;
  assert.deepEqual(plan.attention.rope.invFreq, spec.invFreq);
  const inputs = makeAttentionInputs(spec, plan.layout, { seed: 3 });
  const want = denseAttention(spec, plan.layout, { inputs, storedAs: plan.variant.dtype });
  const ctx = await gpu();
  const check = async (q: GpuPlan) =>
    compareAttention((await runAttention(ctx, q, { spec, inputs })).outputs, want, {
      tolerance: toleranceFor("f32", "absorbed"),
      numHeads: spec.numHeads,
      vDim: spec.vHeadDim,
    }).pass;
  assert.ok(await check(plan), "as resolved");
  for (
    const rope of [
      { ...plan.attention.rope, cosSinScale: 0.5 },
      { ...plan.attention.rope, invFreq: plan.attention.rope.invFreq.map((f) => f * 3) },
      { ...plan.attention.rope, pairing: "neox" as const },
    ]
  ) {
    const changed = { ...plan, attention: { ...plan.attention, rope } } as GpuPlan;
    assert.equal(
      await check(changed),
      false,
      `a changed plan RoPE is applied: ${JSON.stringify(rope)}`,
    );
  }
});
