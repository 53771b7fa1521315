// @enable-f16
// Value up-projection of the absorbed path: o_h = W_UV,h . x_h.
//
// x is the latent attention output [totalQ, h, r] (f32, normalized); W_UV,h is rows
// nope .. nope+v of head h's block of w_kv_b [h * (nope + v), r]:
//   out[t, h, m] = sum_j x[t, h, j] * w_kv_b[h * (nope + v) + nope + m, j].
// Tiling: one invocation per (TT = 4 tokens, head, TM = 16 output channels). Per vec4 j of
// the latent it loads 4 x vec4s and 16 weight vec4s for 4 x 16 dot products (64 per 20
// loads). x is a storage buffer, which lavapipe loads a component at a time for each lane,
// while the weights come through a texture (switch tex) at one fetch per vec4: with 4
// channels per invocation the x loads took most of the pass (250 ms of a 256-token
// V2-Lite prefill, docs/benchmarks.md, session 28); 16 channels load each x vec4 a
// quarter as often. Gpu-class plans run up_proj_split.wgsl instead (a decode's few tokens
// give this form too few invocations to fill a GPU). Tokens and channels past the end
// re-read the last one (in bounds) and are not stored.

// The storage type, parameters and bindings up_proj_split.wgsl shares; w_kv_b's binding, WRPT
// and its row readers w_at and ldw. Both parts are appended after the last line.
// @include up_proj_io.wgsl
// @include w_kv_b_rows.wgsl params: WRPT

const TT: u32 = 4u; // @param tokens per invocation (the host's grid reads the same value)
const TM: u32 = 16u; // @param output channels per invocation (four mat4x4 column blocks)

// Vec4 j of four w_kv_b rows as the columns of a matrix: x * m is the four rows' dot
// products with x.
fn ldm(r: array<vec2<u32>, 4>, j: u32) -> mat4x4<f32> {
  return mat4x4<f32>(ldw(r[0], j), ldw(r[1], j), ldw(r[2], j), ldw(r[3], j));
}

// The accumulators below are written out for 4 tokens x 4 blocks of 4 channels (named,
// not a private array indexed in the loop: lavapipe keeps those in memory, see
// absorbed_gemm.wgsl).
const_assert TT == 4u && TM == 16u;

// Four channel rows of W_UV,h from row m (each clamped to the last channel).
fn rows4(wr: u32, m: u32, lm: u32) -> array<vec2<u32>, 4> {
  return array<vec2<u32>, 4>(w_at(wr + min(m, lm)), w_at(wr + min(m + 1u, lm)),
                             w_at(wr + min(m + 2u, lm)), w_at(wr + min(m + 3u, lm)));
}

// Store token t's 16 outputs (channels m0 .. m0 + 15, those below v).
fn store(t: u32, head: u32, m0: u32, a: array<vec4<f32>, 4>) {
  if (t >= params.total_q) {
    return;
  }
  let base = (t * params.heads + head) * params.v + m0;
  // Unrolled on a GPU (kernels/unroll.ts): the indices of a are then constants and a stays in
  // registers. Shift and mask, not / and %: naga writes u32 / and % as calls of helper
  // functions (a zero divisor's guard), which leave the indices for the driver to fold.
  for (var c = 0u; c < TM; c++) { // @unroll
    if (m0 + c < params.v) {
      out[base + c] = a[c >> 2u][c & 3u];
    }
  }
}

const WG: u32 = 64u; // @param invocations per workgroup: the host's grid1d divides by the
// same value (LINEAR_WORKGROUP, gpu/dispatch.ts), and the index below folds (x, y) by it

@compute @workgroup_size(WG)
fn up_proj(@builtin(global_invocation_id) gid: vec3<u32>,
           @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  let m_blocks = (params.v + TM - 1u) / TM;
  let t_blocks = (params.total_q + TT - 1u) / TT;
  if (idx >= t_blocks * params.heads * m_blocks) {
    return; // bounds guard: grid rounded up (no barriers in this kernel)
  }
  let mb = idx % m_blocks;
  let rest = idx / m_blocks;
  let head = rest % params.heads;
  let t0 = (rest / params.heads) * TT;
  let m0 = mb * TM;
  let lt = params.total_q - 1u;
  let lm = params.v - 1u;
  let x0 = (min(t0, lt) * params.heads + head) * params.r_vec4;
  let x1 = (min(t0 + 1u, lt) * params.heads + head) * params.r_vec4;
  let x2 = (min(t0 + 2u, lt) * params.heads + head) * params.r_vec4;
  let x3 = (min(t0 + 3u, lt) * params.heads + head) * params.r_vec4;
  let wr = head * params.w_block_rows + params.nope; // W_UV,h's first row
  let w0 = rows4(wr, m0, lm);
  let w1 = rows4(wr, m0 + 4u, lm);
  let w2 = rows4(wr, m0 + 8u, lm);
  let w3 = rows4(wr, m0 + 12u, lm);
  // a<i><b>: token t0 + i's outputs for channels m0 + 4b .. m0 + 4b + 3.
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
  for (var j = 0u; j < params.r_vec4; j++) {
    let v0 = x[x0 + j];
    let v1 = x[x1 + j];
    let v2 = x[x2 + j];
    let v3 = x[x3 + j];
    // One block of 4 channels at a time: column c of b is channel m0 + 4 x block + c.
    var b = ldm(w0, j);
    a00 += v0 * b;
    a10 += v1 * b;
    a20 += v2 * b;
    a30 += v3 * b;
    b = ldm(w1, j);
    a01 += v0 * b;
    a11 += v1 * b;
    a21 += v2 * b;
    a31 += v3 * b;
    b = ldm(w2, j);
    a02 += v0 * b;
    a12 += v1 * b;
    a22 += v2 * b;
    a32 += v3 * b;
    b = ldm(w3, j);
    a03 += v0 * b;
    a13 += v1 * b;
    a23 += v2 * b;
    a33 += v3 * b;
  }
  store(t0, head, m0, array<vec4<f32>, 4>(a00, a01, a02, a03));
  store(t0 + 1u, head, m0, array<vec4<f32>, 4>(a10, a11, a12, a13));
  store(t0 + 2u, head, m0, array<vec4<f32>, 4>(a20, a21, a22, a23));
  store(t0 + 3u, head, m0, array<vec4<f32>, 4>(a30, a31, a32, a33));
}
