// @enable-f16
// Query absorption: q~_h = q_nope,h . W_UK,h (width r), per row and head.
//
// w_kv_b is [h * (nope + v), r] (torch Linear layout): head h's block starts at row
// h * (nope + v); its first `nope` rows are W_UK,h. So
//   q~[row, h, j] = sum_n q_nope[row, h, n] * w_kv_b[h * (nope + v) + n, j].
// The result goes into the first r columns of q_absorbed [rows, h, r + rope]; the
// last `rope` columns are a copy of q_pe [rows, h, rope], which the harness has
// already rotated (the standard buffers of docs/backends.md), so q_absorbed is the
// whole absorbed query the latent MQA kernels read.
//
// Tiling: one invocation per (TR rows, head, TC output vec4 columns). Per channel n of
// q_nope it loads TR q scalars and TC weight vec4s for TR x TC vec4 FMAs (16 per 8
// loads; one vec4 column of one row did 1 per 2). On lavapipe a load costs about a
// dozen FMAs (docs/benchmarks.md), so the tile is what makes it fast (gpu-class plans
// run absorb_q_split.wgsl instead: a decode's few rows give this form too few
// invocations to fill a GPU). Rows and columns past the end re-read the last one (in
// bounds) and are not stored. The invocations past the column blocks copy the rope
// columns: one vec4 of q_pe for each of TR rows.
// Padding rows (NaN) are computed too and never read by the attention kernel.

// The storage type, parameters and bindings absorb_q_split.wgsl shares; w_kv_b's binding,
// WRPT and its row readers w_at and ldw. Both parts are appended after the last line.
// @include absorb_q_io.wgsl
// @include w_kv_b_rows.wgsl params: WRPT

const TR: u32 = 4u; // @param rows per invocation (the host's grid reads the same value)
const TC: u32 = 4u; // @param output vec4 columns per invocation (likewise)
// The a* accumulators below are written out for 4 x 4.
const_assert TR == 4u && TC == 4u;

const WG: u32 = 64u; // @param invocations per workgroup: the host's grid1d divides by the
// same value (LINEAR_WORKGROUP, gpu/dispatch.ts), and the index below folds (x, y) by it

@compute @workgroup_size(WG)
fn absorb_q(@builtin(global_invocation_id) gid: vec3<u32>,
            @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  let rope_vec4 = params.dst_vec4 - params.r_vec4;
  let c_blocks = (params.r_vec4 + TC - 1u) / TC;
  let per_rows = params.heads * (c_blocks + rope_vec4); // invocations per block of TR rows
  let r_blocks = (params.rows + TR - 1u) / TR;
  if (idx >= r_blocks * per_rows) {
    return; // bounds guard: grid rounded up (no barriers in this kernel)
  }
  let k = idx % (c_blocks + rope_vec4);
  let rest = idx / (c_blocks + rope_vec4);
  let head = rest % params.heads;
  let row0 = (rest / params.heads) * TR;
  if (k >= c_blocks) {
    // The rope columns: vec4 (k - c_blocks) of the rotated q_pe, for each of the TR rows.
    let e = k - c_blocks;
    for (var i = 0u; i < TR; i++) {
      let row = row0 + i;
      if (row < params.rows) {
        let rh = row * params.heads + head;
        // Widened to qabs_t: q_absorbed is f32 for the f16 range (absorb_q_io.wgsl).
        q_absorbed[rh * params.dst_vec4 + params.r_vec4 + e] = vec4<qabs_t>(q_pe[rh * rope_vec4 + e]);
      }
    }
    return;
  }
  let j0 = k * TC;
  let lr = params.rows - 1u;
  let lj = params.r_vec4 - 1u;
  let q0 = (min(row0, lr) * params.heads + head) * params.nope;
  let q1 = (min(row0 + 1u, lr) * params.heads + head) * params.nope;
  let q2 = (min(row0 + 2u, lr) * params.heads + head) * params.nope;
  let q3 = (min(row0 + 3u, lr) * params.heads + head) * params.nope;
  let wb = head * params.w_block_rows; // W_UK,h's first row
  let c0 = min(j0, lj);
  let c1 = min(j0 + 1u, lj);
  let c2 = min(j0 + 2u, lj);
  let c3 = min(j0 + 3u, lj);
  // a<row><column>: f32 accumulation for both storage types. Written out, not as an
  // array, so a GPU keeps them in registers.
  var a00 = vec4<f32>(0.0);
  var a01 = vec4<f32>(0.0);
  var a02 = vec4<f32>(0.0);
  var a03 = vec4<f32>(0.0);
  var a10 = vec4<f32>(0.0);
  var a11 = vec4<f32>(0.0);
  var a12 = vec4<f32>(0.0);
  var a13 = vec4<f32>(0.0);
  var a20 = vec4<f32>(0.0);
  var a21 = vec4<f32>(0.0);
  var a22 = vec4<f32>(0.0);
  var a23 = vec4<f32>(0.0);
  var a30 = vec4<f32>(0.0);
  var a31 = vec4<f32>(0.0);
  var a32 = vec4<f32>(0.0);
  var a33 = vec4<f32>(0.0);
  for (var n = 0u; n < params.nope; n++) {
    let w = w_at(wb + n);
    let b0 = ldw(w, c0);
    let b1 = ldw(w, c1);
    let b2 = ldw(w, c2);
    let b3 = ldw(w, c3);
    let s0 = f32(q_nope[q0 + n]);
    let s1 = f32(q_nope[q1 + n]);
    let s2 = f32(q_nope[q2 + n]);
    let s3 = f32(q_nope[q3 + n]);
    a00 += s0 * b0;
    a01 += s0 * b1;
    a02 += s0 * b2;
    a03 += s0 * b3;
    a10 += s1 * b0;
    a11 += s1 * b1;
    a12 += s1 * b2;
    a13 += s1 * b3;
    a20 += s2 * b0;
    a21 += s2 * b1;
    a22 += s2 * b2;
    a23 += s2 * b3;
    a30 += s3 * b0;
    a31 += s3 * b1;
    a32 += s3 * b2;
    a33 += s3 * b3;
  }
  let acc = array<array<vec4<f32>, 4>, 4>(
    array<vec4<f32>, 4>(a00, a01, a02, a03),
    array<vec4<f32>, 4>(a10, a11, a12, a13),
    array<vec4<f32>, 4>(a20, a21, a22, a23),
    array<vec4<f32>, 4>(a30, a31, a32, a33),
  );
  // The stores index acc by loop counters: unrolled on a GPU (kernels/unroll.ts), so the
  // indices are constants and acc stays in registers instead of local memory. Stored as
  // qabs_t, f32 (absorb_q_io.wgsl): an f16 q~ could pass 65504 and become inf.
  for (var i = 0u; i < TR; i++) { // @unroll
    let row = row0 + i;
    if (row < params.rows) {
      let base = (row * params.heads + head) * params.dst_vec4;
      for (var c = 0u; c < TC; c++) { // @unroll
        if (j0 + c < params.r_vec4) {
          q_absorbed[base + j0 + c] = vec4<qabs_t>(acc[i][c]);
        }
      }
    }
  }
}
