// @enable-f16
// Query absorption, GPU-shaped: the same product as absorb_q.wgsl,
//   q~[row, h, j] = sum_n q_nope[row, h, n] * w_kv_b[h * (nope + v) + n, j],
// into the first r columns of q_absorbed [rows, h, r + rope], the last rope columns a copy
// of the rotated q_pe, with the sum over n split over a workgroup's row groups instead of
// walked by one invocation.
//
// Why: absorb_q.wgsl gives each invocation 4 rows x 4 output vec4s and all nope channels
// (128 at DeepSeek widths, one after another). At a decode's few rows that is few
// invocations: the V2-Lite headline (4 rows, 16 heads) runs 768 of them, 12 workgroups on a
// GPU with 132 SMs; on the H200 of docs/gpu_machine/h200-2026-12-04 the pass took 0.26 ms
// at lowered clocks, for 4 MB of W_UK. Here a workgroup owns TT rows x LC output vec4s of
// one head, and its RG row groups take every RG-th nope channel: at the headline 64
// workgroups of 128 for the latent columns (and 16 for the rope copy), each lane 32 steps.
//
// Shape: lane c = lid % LC owns output vec4 column cb * LC + c (consecutive lanes,
// consecutive 16-byte chunks of a weight row: coalesced), group g = lid / LC takes nope
// channels g, g + RG, ...; a step loads one weight vec4 and the TT rows' q scalars (the
// same address for the whole group: a broadcast). Groups 1 .. RG - 1 write their TT
// partial vec4s to workgroup memory; after one barrier group 0 adds them to its own and
// stores. The workgroups of the last column block (cb == c_blocks) copy the rope columns
// instead.
//
// Chosen on gpu-class devices (adapter/harness_tiles.ts, plan field harnessTiles.absorbQ
// .nopeGroups); lavapipe keeps absorb_q.wgsl. Rows and columns past the end re-read the
// last one (in bounds) and are not stored.

// The storage type, parameters and bindings absorb_q.wgsl shares; w_kv_b's binding, WRPT
// and its row readers w_at and ldw. Both parts are appended after the last line.
// @include absorb_q_io.wgsl
// @include w_kv_b_rows.wgsl params: WRPT

const TT: u32 = 4u; // @param rows per workgroup (the host's grid reads the same value)
const LC: u32 = 32u; // @param output vec4 columns per workgroup (one a lane)
const RG: u32 = 4u; // @param row groups splitting the nope channels
const WG: u32 = LC * RG;
const_assert RG >= 2u;

// Partials of groups 1 .. RG - 1: group g, row t, lane c at ((g - 1) * TT + t) * LC + c
// (group 0 reads consecutive vec4s across its lanes). 384 vec4s at the plan's 4 x 32 x 4:
// wgpu's GL backend zero-fills workgroup memory element by element, and the GL fallback's
// compile time grows with the square of the elements (adapter/slow_device.ts).
var<workgroup> part: array<vec4<f32>, (RG - 1u) * TT * LC>;

@compute @workgroup_size(WG)
fn absorb_q_split(@builtin(workgroup_id) wid: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
  // Grid: ((c_blocks + 1) x heads, row blocks), exact.
  let c_blocks = (params.r_vec4 + LC - 1u) / LC;
  let cb = wid.x % (c_blocks + 1u);
  let head = min(wid.x / (c_blocks + 1u), params.heads - 1u);
  let row0 = wid.y * TT;
  if (cb == c_blocks) {
    // The rope columns: invocation (row t, vec4 e) copies the rotated q_pe. The whole
    // workgroup takes this branch (it depends on the workgroup id only), so its return
    // skips the barrier below for every invocation of the workgroup alike.
    let rope_vec4 = params.dst_vec4 - params.r_vec4;
    for (var i = lid; i < TT * rope_vec4; i += WG) {
      let row = row0 + i / rope_vec4;
      let e = i % rope_vec4;
      if (row < params.rows) {
        let rh = row * params.heads + head;
        // Widened to qabs_t: q_absorbed is f32 for the f16 range (absorb_q_io.wgsl).
        q_absorbed[rh * params.dst_vec4 + params.r_vec4 + e] = vec4<qabs_t>(q_pe[rh * rope_vec4 + e]);
      }
    }
    return;
  }
  let c = lid % LC;
  let g = lid / LC;
  let j = cb * LC + c;
  let jc = min(j, params.r_vec4 - 1u);
  let lr = params.rows - 1u;
  var qb: array<u32, TT>;
  for (var t = 0u; t < TT; t++) { // @unroll
    qb[t] = (min(row0 + t, lr) * params.heads + head) * params.nope;
  }
  let wb = head * params.w_block_rows; // W_UK,h's first row
  // acc[t]: row t's partial output vec4 (f32 for both storage types).
  var acc: array<vec4<f32>, TT>;
  for (var n = g; n < params.nope; n += RG) {
    let b = ldw(w_at(wb + n), jc);
    for (var t = 0u; t < TT; t++) { // @unroll
      acc[t] += f32(q_nope[qb[t] + n]) * b;
    }
  }
  if (g > 0u) {
    for (var t = 0u; t < TT; t++) { // @unroll
      part[((g - 1u) * TT + t) * LC + c] = acc[t];
    }
  }
  // Every group's partials are in place before group 0 adds them up.
  workgroupBarrier();
  if (g == 0u && j < params.r_vec4) {
    for (var t = 0u; t < TT; t++) { // @unroll
      var s = acc[t];
      for (var h = 1u; h < RG; h++) { // @unroll
        s += part[((h - 1u) * TT + t) * LC + c];
      }
      let row = row0 + t;
      if (row < params.rows) {
        // qabs_t, f32 (absorb_q_io.wgsl): an f16 q~ could pass 65504 and become inf.
        q_absorbed[(row * params.heads + head) * params.dst_vec4 + j] = vec4<qabs_t>(s);
      }
    }
  }
}
