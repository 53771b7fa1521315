// @enable-f16
// Value up-projection of the absorbed path, GPU-shaped: the same product as up_proj.wgsl,
//   out[t, h, m] = sum_j x[t, h, j] * w_kv_b[h * (nope + v) + nope + m, j],
// with the latent dimension j split over the lanes of a workgroup instead of walked by one
// invocation.
//
// Why: up_proj.wgsl gives each invocation TT tokens x TM channels and the whole latent
// width (128 vec4s at r = 512, one after another). At a decode's few tokens that is very
// few invocations: the V2-Lite headline (4 tokens, 16 heads, v 128) runs 128 of them, two
// workgroups on a GPU with 132 SMs, each walking 128 steps of 20 loads; on the H200 of
// docs/gpu_machine/h200-2026-12-04 the pass took 0.63 ms at lowered clocks, where the 4 MB
// of W_UV it reads take about 1.2 us at the measured copy bandwidth. Here a workgroup owns
// TT tokens x MB channels of one head, and its WG invocations read each weight row's
// latent vec4s side by side: 128 workgroups at the headline, each lane 4 steps.
//
// Shape: lane l = lid % LJ takes latent vec4s l, l + LJ, l + 2 LJ, ... (consecutive lanes,
// consecutive 16-byte chunks of a row: coalesced), and channel group g = lid / LJ takes
// channels m0 + g * CPG .. + CPG - 1 (MB = (WG / LJ) * CPG). Each lane keeps TT x CPG
// partial dot products in registers, writes them to workgroup memory, and after one barrier
// the first TT x MB invocations each add up their output's LJ partials. The x vec4s of the
// tile's tokens are loaded once per step and shared by the lane's CPG channels.
//
// Chosen on gpu-class devices (adapter/harness_tiles.ts, plan field harnessTiles.upProj
// .latentLanes); lavapipe keeps up_proj.wgsl, whose one-lane walk suits a CPU. Tokens and
// channels past the end re-read the last one (in bounds) and are not stored.

// The storage type, parameters and bindings up_proj.wgsl shares; w_kv_b's binding, WRPT
// and its row readers w_at and ldw. Both parts are appended after the last line.
// @include up_proj_io.wgsl
// @include w_kv_b_rows.wgsl params: WRPT

const WG: u32 = 256u; // @param invocations per workgroup
const TT: u32 = 4u; // @param tokens per workgroup (the host's grid reads the same value)
const LJ: u32 = 32u; // @param lanes splitting the latent width (a power of two dividing WG)
const CPG: u32 = 2u; // @param channels per lane group

// Channels per workgroup: every lane group's CPG.
const MB: u32 = (WG / LJ) * CPG;
const_assert WG % LJ == 0u;
const_assert TT * MB <= WG; // the reduction gives each output one invocation
// A lane's partials of one channel for the tile's tokens are one vec4.
const_assert TT == 4u;

// The partials: channel c of the tile, lane l at part[c * PSTRIDE + l], the 4 tokens'
// partials as one vec4. vec4s, not 4x as many f32s: wgpu's GL backend zero-fills workgroup
// memory element by element, and the GL fallback's compile time grows with the square of
// the elements (adapter/slow_device.ts: 2048 elements 21-32 s, 1024 vec4s 11-14 s); 528
// vec4s. PSTRIDE = LJ + 1: in the reduction, outputs of channels c and c + 1 read vec4s
// PSTRIDE apart, so a warp's invocations start on different banks.
const PSTRIDE: u32 = LJ + 1u;
var<workgroup> part: array<vec4<f32>, MB * PSTRIDE>;

@compute @workgroup_size(WG)
fn up_proj_split(@builtin(workgroup_id) wid: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  // Grid: (channel blocks x heads, token blocks), exact: every invocation reaches the
  // barrier (no early return).
  let m_blocks = (params.v + MB - 1u) / MB;
  let mb = wid.x % m_blocks;
  let head = min(wid.x / m_blocks, params.heads - 1u);
  let t0 = wid.y * TT;
  let lane = lid % LJ;
  let g = lid / LJ;
  let lt = params.total_q - 1u;
  let lm = params.v - 1u;
  let wr = head * params.w_block_rows + params.nope; // W_UV,h's first row
  let m_first = mb * MB + g * CPG;

  // The lane's partial dot products of channel c, one token a component (vec4: TT = 4).
  var acc: array<vec4<f32>, CPG>;
  var xb: array<u32, TT>;
  for (var t = 0u; t < TT; t++) { // @unroll
    xb[t] = (min(t0 + t, lt) * params.heads + head) * params.r_vec4;
  }
  var wa: array<vec2<u32>, CPG>;
  for (var c = 0u; c < CPG; c++) { // @unroll
    wa[c] = w_at(wr + min(m_first + c, lm));
  }
  for (var j = lane; j < params.r_vec4; j += LJ) {
    // x as a matrix of the tokens' vec4s (columns): w * xm is the 4 tokens' dot products.
    let xm = mat4x4<f32>(x[xb[0] + j], x[xb[1] + j], x[xb[2] + j], x[xb[3] + j]);
    for (var c = 0u; c < CPG; c++) { // @unroll
      acc[c] += ldw(wa[c], j) * xm;
    }
  }
  for (var c = 0u; c < CPG; c++) { // @unroll
    part[(g * CPG + c) * PSTRIDE + lane] = acc[c];
  }
  // Every lane's partials are in place before any output adds them up.
  workgroupBarrier();
  if (lid < TT * MB) {
    let c = lid / TT; // channel of the tile
    let t = lid % TT;
    var s = 0.0;
    for (var l = 0u; l < LJ; l++) { // @unroll
      s += part[c * PSTRIDE + l][t];
    }
    let tok = t0 + t;
    let m = mb * MB + c;
    if (tok < params.total_q && m < params.v) {
      out[(tok * params.heads + head) * params.v + m] = s;
    }
  }
}
