/**
 * The best a buffer-fed register tile reaches on this WebGPU adapter: GFLOP/s of a
 * skinny GEMM shaped like the K/V expansion (1024 rows of a 512-wide latent times 4096
 * weight rows), one variant per register tile. A lane computes TR rows (the same for the
 * whole workgroup) x TC output channels (its own), loading TR + TC vec4s per vec4 step for
 * TR x TC vec4 dot products (docs/benchmarks.md, "What limits the CPU-class kernels").
 * Times are kernel times by timestamp queries (median of 3, after one compiling run).
 * Each tile runs twice: kept in private arrays indexed by loop counters ("arrays"), and
 * written out as one named accumulator per (row group, channel) with no inner loop
 * ("written"), the form kernels/absorbed_gemm.wgsl and expanded_gemm.wgsl use.
 *
 *   deno run -A tools/gemm_tile_probe.ts            # the default tiles
 *   deno run -A tools/gemm_tile_probe.ts 16x16x8    # TR x TC x workgroup size
 *
 * @module
 */
import { dispatchTimer, probeDevice } from "./probe_device.ts";
import { toolArgs } from "./tool_args.ts";

const ROWS = 1024; // latent rows per dispatch
const CHANNELS = 4096; // weight rows (output channels): 16 heads x (128 + 128)
const usage = "usage: deno run -A tools/gemm_tile_probe.ts [TRxTCxWG ...]\n\n" +
  "GFLOP/s of a skinny GEMM per register tile: TR rows (a multiple of 4 dividing " +
  `${ROWS}) x TC channels per lane, WG lanes a workgroup (TC x WG dividing ${CHANNELS}); ` +
  "default 8x1x64 8x4x8 8x8x8 16x4x8 16x16x8.";
const { positionals } = toolArgs({ options: {}, allowPositionals: true }, usage);
const tiles = positionals.length
  ? positionals.map((a) => a.split("x").map(Number))
  : [[8, 1, 64], [8, 4, 8], [8, 8, 8], [16, 4, 8], [16, 16, 8]];
// checked before the device is asked for
for (const [i, [tr, tc, wg]] of tiles.entries()) {
  const fine = tiles[i].length === 3 && [tr, tc, wg].every((n) => Number.isInteger(n) && n > 0);
  if (!fine || tr % 4 || CHANNELS % (tc * wg) || ROWS % tr) {
    const tile = positionals[i] ?? tiles[i].join("x");
    console.error(
      `bad tile ${tile}: TRxTCxWG, TR a multiple of 4 dividing ${ROWS}, TC x WG dividing ` +
        `${CHANNELS}\n${usage}`,
    );
    Deno.exit(2);
  }
}

const { adapter, device } = await probeDevice();
const time = dispatchTimer(device);
const RV = 128; // vec4s per row: the 512-wide latent

/** The tile with private arrays and loops over the tile's rows and channels. */
function arrays(tr: number, tc: number, wg: number): string {
  const q = tr / 4;
  return `${BINDINGS}
@compute @workgroup_size(${wg})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c0 = gid.x * ${tc}u;
  let r0 = gid.y * ${tr}u;
  var acc: array<array<vec4<f32>, ${q}>, ${tc}>;
  for (var c = 0u; c < ${tc}u; c++) {
    for (var i = 0u; i < ${q}u; i++) { acc[c][i] = vec4<f32>(0.0); }
  }
  for (var j = 0u; j < ${RV}u; j++) {
    // TR latent rows' vec4 j as the columns of TR / 4 matrices: w * l[i] is four dots.
    var l: array<mat4x4<f32>, ${q}>;
    for (var i = 0u; i < ${q}u; i++) {
      let b = (r0 + 4u * i) * ${RV}u + j;
      l[i] = mat4x4<f32>(lat[b], lat[b + ${RV}u], lat[b + ${2 * RV}u], lat[b + ${3 * RV}u]);
    }
    for (var c = 0u; c < ${tc}u; c++) {
      let wv = w[(c0 + c) * ${RV}u + j];
      for (var i = 0u; i < ${q}u; i++) { acc[c][i] += wv * l[i]; }
    }
  }
  for (var c = 0u; c < ${tc}u; c++) {
    for (var i = 0u; i < ${q}u; i++) {
      for (var e = 0u; e < 4u; e++) {
        out[(r0 + 4u * i + e) * ${CHANNELS}u + c0 + c] = acc[c][i][e];
      }
    }
  }
}`;
}

/** The same tile written out: accumulator a<c>_<i> per channel c and row group i. */
function written(tr: number, tc: number, wg: number): string {
  const q = tr / 4;
  const lines: string[] = [];
  const each = (f: (c: number, i: number) => string) => {
    for (let c = 0; c < tc; c++) for (let i = 0; i < q; i++) lines.push(f(c, i));
  };
  each((c, i) => `  var a${c}_${i} = vec4<f32>(0.0);`);
  lines.push(`  for (var j = 0u; j < ${RV}u; j++) {`);
  for (let i = 0; i < q; i++) {
    const row = (e: number) => `lat[(r0 + ${4 * i + e}u) * ${RV}u + j]`;
    lines.push(`    let l${i} = mat4x4<f32>(${[0, 1, 2, 3].map(row).join(", ")});`);
  }
  for (let c = 0; c < tc; c++) lines.push(`    let w${c} = w[(c0 + ${c}u) * ${RV}u + j];`);
  each((c, i) => `    a${c}_${i} += w${c} * l${i};`);
  lines.push("  }");
  each((c, i) =>
    [0, 1, 2, 3].map((e) =>
      `  out[(r0 + ${4 * i + e}u) * ${CHANNELS}u + c0 + ${c}u] = a${c}_${i}[${e}];`
    ).join("\n")
  );
  return `${BINDINGS}
@compute @workgroup_size(${wg})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c0 = gid.x * ${tc}u;
  let r0 = gid.y * ${tr}u;
${lines.join("\n")}
}`;
}

const BINDINGS = `
@group(0) @binding(0) var<storage, read> lat: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;`;

const lat = device.createBuffer({ size: ROWS * RV * 16, usage: GPUBufferUsage.STORAGE });
const w = device.createBuffer({ size: CHANNELS * RV * 16, usage: GPUBufferUsage.STORAGE });
const out = device.createBuffer({ size: ROWS * CHANNELS * 4, usage: GPUBufferUsage.STORAGE });
console.log(`adapter: ${adapter.info.description || adapter.info.vendor}`);
for (const [tr, tc, wg] of tiles) {
  for (const [form, code] of [["arrays", arrays], ["written", written]] as const) {
    const module = device.createShaderModule({ code: code(tr, tc, wg) });
    const pipeline = device.createComputePipeline({
      layout: "auto",
      compute: { module, entryPoint: "main" },
    });
    const group = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [lat, w, out].map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    const run = () => time(pipeline, group, [CHANNELS / tc / wg, ROWS / tr]);
    await run();
    const ms = [await run(), await run(), await run()].sort((a, b) => a - b)[1];
    const flop = 2 * ROWS * CHANNELS * RV * 4;
    const perLoad = (tr * tc) / (tr + tc); // vec4 dots per vec4 loaded
    console.log(
      `TR ${String(tr).padStart(2)} x TC ${String(tc).padStart(2)}, workgroup ${
        String(wg).padStart(2)
      }, ${form.padEnd(7)}: ${ms.toFixed(1)} ms, ${(flop / ms / 1e6).toFixed(1)} GFLOP/s ` +
        `(${perLoad.toFixed(1)} vec4 dots per vec4 loaded)`,
    );
  }
}
