/**
 * wgsl-expanded's two ways of reading K and V (expanded.wgsl, switch `tex`): through
 * textures wherever both fit the device (the plan's variant.keyTexture and valueTexture),
 * else from storage buffers bound per group of sequences. Parity against the float64
 * reference with several (key row, head) rows per texture row, and on the buffer path
 * (planned for a device whose textures are 8 texels a side); the plan's support decisions
 * on either path; and the timing rule: the K/V copies into the textures are cache
 * construction, left out of timed replays and timed once. The rest of wgsl-expanded's
 * parity (tiny layouts, poison, loop budget) is in kernels_parity_test.ts,
 * kernels_edge_test.ts and kernels_masked_nan_test.ts, all on the texture path here. The
 * shared-rows parity covers wgsl-expanded-gemm's K and V textures too (the same layout).
 */
import assert from "node:assert/strict";
import { presetSpec } from "../adapter/presets.ts";
import { resolve } from "../adapter/resolve.ts";
import type { DeviceCaps, LayoutRequest } from "../adapter/types.ts";
import { pipelineCacheOf, runAttention } from "../kernels/attention.ts";
import { LaunchKit } from "../kernels/launch.ts";
import { lineSwitches, sourceVariants } from "../kernels/compile_check.ts";
import { measureAttention } from "../kernels/measure.ts";
import { readKernelFile, specializeSource } from "../kernels/source.ts";
import { parityOn, TINY_LAYOUTS } from "./backend_parity_helpers.ts";
import {
  assertMatchesReference,
  assertSharedTextureRows,
  CAPS,
  cpuClassCaps,
  gpu,
  gpuClassCaps,
  gpuStep,
  gpuTest,
  layoutLabel,
  planCase,
  runCase,
  withTextureSide,
} from "./gpu_helpers.ts";
import { LAVAPIPE_CAPS as LAVAPIPE } from "./caps_fixtures.ts";

const BACKEND = "wgsl-expanded";

Deno.test("kernel switches: tex lines in, notex lines out, after the dtype's lines; bad names refused", () => {
  const src = [
    "var<storage> k: array<vec4<f32>>; // @notex // @f32",
    "// @f16: var<storage> k: array<vec2<u32>>; // @notex",
    "  // @tex: var k: texture_2d<f32>;",
  ].join("\n");
  const lines = (dtype: "f32" | "f16", switches: string[]) =>
    specializeSource(src, { dtype, switches }).split("\n").map((l) =>
      !l.trimStart().startsWith("//")
    );
  // Which of the three lines are code, per dtype and switch; the line count never changes.
  assert.deepEqual(lines("f32", []), [true, false, false]);
  assert.deepEqual(lines("f16", []), [false, true, false]);
  assert.deepEqual(lines("f32", ["tex"]), [false, false, true]);
  assert.deepEqual(lines("f16", ["tex"]), [false, false, true]);
  assert.equal(
    specializeSource(src, { dtype: "f32", switches: ["tex"] }).split("\n")[2],
    "  var k: texture_2d<f32>;",
  );
  for (const bad of ["f16", "sg", "Tex", "t-x", ""]) {
    assert.throws(() => specializeSource(src, { dtype: "f32", switches: [bad] }), RangeError, bad);
  }
  assert.deepEqual(lineSwitches(src), ["tex"]);
  assert.deepEqual(
    sourceVariants(src, ["f32"], { subgroups: false }).map((v) => v.label),
    ["f32", "f32, tex"],
  );
});

Deno.test("expanded.wgsl: the tex, stex and packed switches swap the K/V storage buffers for textures", async () => {
  const raw = await readKernelFile("expanded.wgsl");
  assert.deepEqual(lineSwitches(raw), ["tex", "stex", "packed"]);
  for (const dtype of ["f32", "f16"] as const) {
    const plain = specializeSource(raw, { dtype });
    const tex = specializeSource(raw, { dtype, switches: ["tex"] });
    const stex = specializeSource(raw, { dtype, switches: ["stex"] });
    const packed = specializeSource(raw, { dtype, switches: ["packed"] });
    // stex: the same textures bound as read-only storage textures of the dtype's format,
    // one declaration each, nothing of the buffer or the sampled path left.
    const format = dtype === "f32" ? "rgba32float" : "rgba16float";
    for (const [b, name] of [[2, "k"], [3, "v"]] as const) {
      const decl = `@group(0) @binding(${b}) var ${name}: texture_storage_2d<${format}, read>;`;
      assert.equal(stex.split("\n").filter((l) => l.startsWith(decl)).length, 1, decl);
    }
    assert.equal((stex.match(/^[^/\n]*var [kv]: /gm) ?? []).length, 2);
    assert.equal((stex.match(/^fn ldk\(/gm) ?? []).length, 1);
    assert.doesNotMatch(stex, /^[^/\n]*texture_2d/m);
    assert.match(plain, /^@group\(0\) @binding\(2\) var<storage, read> k:/m);
    assert.doesNotMatch(plain, /^[^/]*texture_2d/m);
    assert.match(tex, /^@group\(0\) @binding\(2\) var k: texture_2d<f32>;/m);
    assert.doesNotMatch(tex, /^[^/]*var<storage, read> [kv]:/m);
    // packed replaces tex: u32 texels, its own loaders, nothing of the other two paths.
    assert.match(
      packed,
      /^@group\(0\) @binding\(2\) var k: texture_storage_2d<rgba32uint, read>;/m,
    );
    assert.match(
      packed,
      /^@group\(0\) @binding\(3\) var v: texture_storage_2d<rgba32uint, read>;/m,
    );
    assert.doesNotMatch(packed, /^[^/]*var<storage, read> [kv]:/m);
    assert.doesNotMatch(packed, /^[^/]*texture_2d<f32>/m);
    assert.equal((packed.match(/^fn ldk\(/gm) ?? []).length, 1);
    assert.equal((packed.match(/^fn ldk2\(/gm) ?? []).length, 1);
  }
});

Deno.test("expanded plan: an f16 decode packs K and V two vec4s per rgba32uint texel; f32 and prefill do not", () => {
  const spec = presetSpec("deepseek-v2-lite");
  const decode = { kind: "bshd", batch: 4, seqQ: 1, seqK: 4096, causal: true } as const;
  const r = resolve({ spec, dtype: "f16", backend: BACKEND, layout: decode }, LAVAPIPE);
  assert.equal(r.kind, "plan", JSON.stringify(r));
  if (r.kind !== "plan") return;
  // 48 and 32 vec4s per row: 24 and 16 texels, 16 rows per texture row.
  assert.deepEqual(r.variant.keyTexture, {
    format: "rgba32uint",
    rowsPerTexelRow: 16,
    width: 24 * 16,
    height: 16384,
  });
  assert.equal(r.variant.valueTexture?.format, "rgba32uint");
  assert.equal(r.variant.valueTexture?.width, 16 * 16);
  assert.ok(r.buffers.some((b) => b.name === "key_texture" && b.bytes === 384 * 16384 * 16));
  const prefill = resolve(
    {
      spec,
      dtype: "f16",
      backend: BACKEND,
      layout: { kind: "bshd", batch: 1, seqQ: 64, seqK: 64, causal: true },
    },
    LAVAPIPE,
  );
  assert.equal(prefill.kind, "plan", JSON.stringify(prefill));
  if (prefill.kind !== "plan") return;
  assert.equal(prefill.variant.keyTexture?.format, "rgba16float");
  // wgsl-expanded-gemm packs its f16 q, K and V (its passes read them in pairs), not f32.
  for (const dtype of ["f16", "f32"] as const) {
    const gemm = resolve(
      {
        spec,
        dtype,
        backend: "wgsl-expanded-gemm",
        layout: { kind: "bshd", batch: 1, seqQ: 64, seqK: 64, causal: true },
      },
      LAVAPIPE,
    );
    assert.equal(gemm.kind, "plan", JSON.stringify(gemm));
    if (gemm.kind !== "plan") return;
    const want = dtype === "f16" ? "rgba32uint" : "rgba32float";
    for (
      const t of [gemm.variant.queryTexture, gemm.variant.keyTexture, gemm.variant.valueTexture]
    ) {
      assert.equal(t?.format, want, dtype);
    }
    assert.equal(gemm.variant.keyTexture?.width, dtype === "f16" ? 24 : 48);
  }
});

Deno.test("expanded plan: K and V through textures where they fit, buffers bound per sequence group where not", () => {
  const spec = presetSpec("deepseek-v2-lite");
  const layout = { kind: "bshd", batch: 4, seqQ: 1, seqK: 4096, causal: true } as const;
  const req = { spec, dtype: "f32", backend: BACKEND, layout } as const;
  const r = resolve(req, LAVAPIPE);
  assert.equal(r.kind, "plan", JSON.stringify(r));
  if (r.kind !== "plan") return;
  // 4 x 4096 keys x 16 heads = 262144 rows over a 16384-texel side: 16 rows per texture row.
  assert.deepEqual(r.variant.keyTexture, {
    format: "rgba32float",
    rowsPerTexelRow: 16,
    width: 48 * 16,
    height: 16384,
  });
  assert.deepEqual(r.variant.valueTexture, {
    format: "rgba32float",
    rowsPerTexelRow: 16,
    width: 32 * 16,
    height: 16384,
  });
  assert.ok(r.buffers.some((b) => b.name === "key_texture" && b.bytes === 768 * 16384 * 16));
  const small = resolve(req, withTextureSide(LAVAPIPE, 8));
  assert.equal(small.kind, "plan", JSON.stringify(small));
  if (small.kind !== "plan") return;
  assert.equal(small.variant.keyTexture, undefined);
  assert.equal(small.variant.valueTexture, undefined);
  assert.ok(!small.buffers.some((b) => b.name.endsWith("_texture")));
});

Deno.test("expanded plan: a sequence past one binding is refused on the buffer path only", () => {
  // DeepSeek-V3 f32: one sequence of 4096 keys has 128 x 192 x 4 x 4096 = 403 MB of K,
  // over lavapipe's 128 MiB maxStorageBufferBindingSize; K (403 MB) and V still fit its
  // 2 GiB maxBufferSize and a texture of 16384 texels a side.
  const spec = presetSpec("deepseek-v3");
  const layout = { kind: "bshd", batch: 1, seqQ: 1, seqK: 4096, causal: true } as const;
  const req = { spec, dtype: "f32", backend: BACKEND, layout } as const;
  const r = resolve(req, LAVAPIPE);
  assert.equal(r.kind, "plan", JSON.stringify(r.kind === "plan" ? {} : r.reasons));
  const small = resolve(req, withTextureSide(LAVAPIPE, 8));
  assert.equal(small.kind, "unsupported");
  if (small.kind !== "unsupported") return;
  const big = small.reasons.find((x) => x.code === "limits.buffer-too-large");
  assert.ok(big?.message.includes("for one sequence's rows"), JSON.stringify(small.reasons));
});

gpuTest(
  "expanded and expanded gemm: (key row, head) rows past a texture side share the K and V textures' rows",
  async (t) => {
    // 2 x 4200 keys x 4 heads = 33600 rows: over maxTextureDimension2D on every adapter
    // (8192-32768), so each texture holds two or more rows per texture row.
    const spec = presetSpec("tiny");
    const layout = { kind: "bshd", batch: 2, seqQ: 1, seqK: 4200, causal: true } as const;
    // (wgsl-expanded f16, packed, on this case: the clean run of the
    // expanded-packed-key-rows-folded fault, tests/faults_test.ts.)
    const runs = [
      [BACKEND, "f32"],
      ["wgsl-expanded-gemm", "f32"],
    ] as const;
    for (const [backend, dtype] of runs) {
      const cs = { spec, dtype, backend, layout } as const;
      await gpuStep(
        t,
        `${backend}: tiny ${dtype}, b 2, 4200 keys`,
        { cases: [cs], specs: [spec] },
        async () => {
          const run = await runCase(cs);
          assertSharedTextureRows(run.plan.variant.keyTexture, 33600);
          assertSharedTextureRows(run.plan.variant.valueTexture, 33600);
          assert.equal(run.plan.variant.keyTexture?.format, "rgba32float");
          assertMatchesReference(run);
        },
      );
    }
  },
  { skip: CAPS === null ? "no WebGPU adapter" : null },
);

gpuTest(
  "expanded: the buffer path (no texture fits) matches the float64 reference",
  async (t) => {
    if (CAPS === null) return;
    const caps = withTextureSide(CAPS, 8);
    const layouts: LayoutRequest[] = [...TINY_LAYOUTS];
    for (const dtype of ["f32", "f16"] as const) {
      for (const layout of layouts) {
        const c = { preset: "tiny", dtype, layout, caps };
        await gpuStep(
          t,
          `${dtype} ${layoutLabel(layout)}`,
          { cases: [{ spec: "tiny", dtype, backend: BACKEND, layout }] },
          () => parityOn(BACKEND, c, { family: "expanded" }),
        );
      }
    }
  },
  { skip: CAPS === null ? "no WebGPU adapter" : null },
);

gpuTest(
  "expanded: timed replays leave the K/V texture copies out and time them once",
  async (t) => {
    const spec = presetSpec("tiny");
    const layout = { kind: "bshd", batch: 2, seqQ: 1, seqK: 40, causal: true } as const;
    const cs = { spec, dtype: "f32", backend: BACKEND, layout } as const;
    // Planned for each class on every device: a cpu-class device's expansion reads the
    // latent cache and w_kv_b through textures, copied as construction too
    // (plan.variant.expandTextures); a GPU's reads the buffers. The RoPE of the cached k_pe
    // is construction on every path.
    const classes = [
      {
        name: "cpu",
        caps: cpuClassCaps,
        textures: ["expand_latent_texture", "expand_weight_texture"],
      },
      { name: "gpu", caps: gpuClassCaps, textures: [] },
    ] as const;
    for (const c of classes) {
      const label = `tiny f32, b 2, 40 keys, ${c.name}-class caps`;
      await gpuStep(t, label, { cases: [cs], specs: [spec] }, async () => {
        const { plan, inputs } = await planCase({ ...cs, caps: c.caps(CAPS!) });
        assert.ok(plan.variant.keyTexture && plan.variant.valueTexture);
        assert.equal(plan.variant.expandTextures !== undefined, c.textures.length > 0);
        for (const scope of ["core", "all"] as const) {
          const m = await measureAttention(await gpu(), plan, {
            spec,
            inputs,
            scope,
            reps: 2,
            warmup: 0,
          });
          assert.deepEqual(m.construction, [
            "rope_k",
            ...c.textures,
            "expand_kv",
            "key_texture",
            "value_texture",
          ]);
          assert.equal(m.repeats.length, 2);
          for (const r of m.repeats) {
            const names = r.passes.map((p) => p.name);
            for (const n of m.construction) assert.ok(!names.includes(n), `${scope}: ${names}`);
            assert.ok(names.includes("expanded"), names.join());
          }
        }
      });
    }
  },
  { skip: CAPS === null ? "no WebGPU adapter" : null },
);

gpuTest(
  "expanded: a decode of more query tiles than one dispatch's grid runs in several dispatches",
  async (t) => {
    if (CAPS === null) return;
    // 600 one-query sequences x 1 head tile: 600 workgroups, over the grid limit of a device
    // profile of 256 workgroups per dimension (planned against it and run under it, as the
    // runner runs a profile: every dispatch over the launch limit throws, as the device
    // would at its own), on the texture path and on the buffer path. The small limit stands
    // for the devices' 65535: 70000 sequences took 12 s a path on lavapipe (their tables and
    // their reference); 600 take 3 dispatches.
    const limit = 256;
    const layout = { kind: "bshd", batch: 600, seqQ: 1, seqK: 2, causal: true } as const;
    const lowered = (caps: DeviceCaps): DeviceCaps => ({
      ...caps,
      limits: { ...caps.limits, maxComputeWorkgroupsPerDimension: limit },
    });
    for (
      const [path, caps] of [["textures", CAPS], ["buffers", withTextureSide(CAPS, 8)]] as const
    ) {
      const cs = {
        spec: "tiny",
        dtype: "f32",
        backend: BACKEND,
        layout,
        caps: lowered(caps),
      } as const;
      await gpuStep(t, `${path}: tiny f32, b 600, 2 keys, ${limit} workgroups a dimension`, {
        cases: [cs],
      }, async () => {
        const { spec, plan, inputs } = await planCase(cs);
        assert.equal(plan.variant.keyTexture !== undefined, path === "textures");
        let dispatches: number[] = [];
        const result = await runAttention(await gpu(), plan, {
          spec,
          inputs,
          limits: { maxComputeWorkgroupsPerDimension: limit },
          session: ({ passes }) => {
            dispatches = passes.filter((p) => p.name === "expanded").map((p) => p.workgroups[0]);
            return Promise.resolve();
          },
        });
        assert.deepEqual(dispatches, [256, 256, 88]);
        assertMatchesReference({ spec, plan, inputs, result }, path);
      });
    }
  },
  { skip: CAPS === null ? "no WebGPU adapter" : null },
);

gpuTest(
  "wgsl-expanded binds K and V as storage textures in a decode, sampled in a prefill",
  async (t) => {
    // The decode tile reads read-only storage textures (`stex`, faster on lavapipe), the
    // prefill tile sampled ones (`tex`: the storage form compiled 30% longer there).
    const spec = presetSpec("tiny");
    const cases = [
      { label: "decode", seqQ: 1, want: "texture_storage_2d<rgba32float, read>" },
      { label: "prefill", seqQ: 8, want: "texture_2d<f32>" },
    ] as const;
    for (const c of cases) {
      const layout = { kind: "bshd", batch: 1, seqQ: c.seqQ, seqK: 8, causal: true } as const;
      const cs = { spec, dtype: "f32", backend: BACKEND, layout } as const;
      await gpuStep(t, c.label, { cases: [cs], specs: [spec] }, async () => {
        let declared = "";
        const run = await runCase(cs, (file, src) => {
          if (file === "expanded.wgsl") {
            declared = src.split("\n").find((l) => l.startsWith("@group(0) @binding(2) var k:")) ??
              "";
          }
          return src;
        });
        assert.ok(run.plan.variant.keyTexture, "the plan reads K through a texture");
        assert.ok(declared.includes(`var k: ${c.want};`), declared);
        assertMatchesReference(run, c.label);
      });
    }
  },
  { skip: CAPS === null ? "no WebGPU adapter" : null },
);

gpuTest(
  "kit.rowsTexture refuses a texture shape too small for its rows (they were dropped)",
  async () => {
    const ctx = await gpu();
    const owned: GPUBuffer[] = [];
    const kit = new LaunchKit(ctx.device, ctx.device.createCommandEncoder(), {
      dtype: "f32",
      path: "expanded",
      cache: pipelineCacheOf(ctx),
      timer: null,
      owned,
    });
    try {
      const src = kit.upload(Array.from({ length: 64 }, (_, i) => i), "src");
      const rows = { rows: 4, rowVec4: 4 };
      const shape = (width: number, height: number) =>
        ({ format: "rgba32float", rowsPerTexelRow: 1, width, height }) as const;
      for (const [w, h] of [[2, 2], [3, 8], [4, 3]]) {
        await assert.rejects(
          kit.rowsTexture("mine", src, shape(w, h), rows),
          new RegExp(
            `^RangeError: kit\\.rowsTexture\\("mine"\\): a ${w} x ${h} texture cannot hold 4 rows ` +
              "of 4 vec4s at 1 rows per texture row \\(4 x 4 texels\\)",
          ),
        );
      }
      assert.ok(await kit.rowsTexture("mine", src, shape(4, 4), rows));
      assert.equal(kit.passes.length, 1, "nothing dispatched for the refused shapes");
    } finally {
      owned.forEach((b) => b.destroy());
    }
  },
);
