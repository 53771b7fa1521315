// @enable-f16
// Value up-projection of the absorbed path: o_h = W_UV,h . x_h.
//
// x is the latent attention output [totalQ, h, r] (f32, normalized); W_UV,h is rows
// nope .. nope+v of head h's block of w_kv_b [h * (nope + v), r]:
//   out[t, h, m] = sum_j x[t, h, j] * w_kv_b[h * (nope + v) + nope + m, j].
// Tiling: one invocation per (TT tokens, head, TM output channels). Per vec4 j of the
// latent it loads TT x vec4s and TM weight vec4s for TT x TM dot products (16 per 8
// loads; one output per invocation did 1 per 2). On lavapipe a load costs about a
// dozen FMAs (docs/benchmarks.md), so the tile is what makes it fast; on a GPU the four
// weight rows are shared by the tile's tokens from registers. Tokens and channels past
// the end re-read the last one (in bounds) and are not stored.

alias store_t = f32; // @dtype storage type

struct Params {
  total_q: u32,
  heads: u32,
  nope: u32,
  v: u32,
  r_vec4: u32,
  w_block_rows: u32,   // nope + v
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> w_kv_b: array<vec4<store_t>>; // @notex
// With the switch `tex` (the plan's weightTexture) w_kv_b's rows come through a texture,
// as in absorb_q.wgsl (which says why).
// @tex: @group(0) @binding(2) var w_tex: texture_storage_2d<rgba32float, read>; // @f32
// @f16: // @tex: @group(0) @binding(2) var w_tex: texture_storage_2d<rgba16float, read>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const TT: u32 = 4u; // @param tokens per invocation (the host's grid reads the same value)
const TM: u32 = 4u; // @param output channels per invocation (the columns of one mat4x4)
const WRPT: u32 = 1u; // @param w_kv_b rows per texture row of w_tex (switch tex)

// Where w_kv_b row `row` starts: a vec4 index into the buffer, or the texel of its vec4 0.
fn w_at(row: u32) -> vec2<u32> {
  return vec2<u32>(row * params.r_vec4, 0u); // @notex
  // @tex: return vec2<u32>((row % WRPT) * params.r_vec4, row / WRPT);
}

// Vec4 j of the w_kv_b row that starts at `a` (w_at).
fn ldw(a: vec2<u32>, j: u32) -> vec4<f32> {
  return vec4<f32>(w_kv_b[a.x + j]); // @notex
  // @tex: return textureLoad(w_tex, vec2<u32>(a.x + j, a.y));
}
// a0..a3 below are written out for 4 tokens of 4 channels.
const_assert TT == 4u && TM == 4u;

@compute @workgroup_size(64)
fn up_proj(@builtin(global_invocation_id) gid: vec3<u32>,
           @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * 64u;
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
  let w0 = w_at(wr + min(m0, lm));
  let w1 = w_at(wr + min(m0 + 1u, lm));
  let w2 = w_at(wr + min(m0 + 2u, lm));
  let w3 = w_at(wr + min(m0 + 3u, lm));
  // a<i>: token t0 + i's outputs for channels m0 .. m0 + 3.
  var a0 = vec4<f32>(0.0);
  var a1 = vec4<f32>(0.0);
  var a2 = vec4<f32>(0.0);
  var a3 = vec4<f32>(0.0);
  for (var j = 0u; j < params.r_vec4; j++) {
    // Column c is channel m0 + c's weights: x * b is the four channels' dot products.
    let b = mat4x4<f32>(ldw(w0, j), ldw(w1, j), ldw(w2, j), ldw(w3, j));
    a0 += x[x0 + j] * b;
    a1 += x[x1 + j] * b;
    a2 += x[x2 + j] * b;
    a3 += x[x3 + j] * b;
  }
  let acc = array<vec4<f32>, 4>(a0, a1, a2, a3);
  for (var i = 0u; i < TT; i++) {
    let t = t0 + i;
    if (t < params.total_q) {
      let base = (t * params.heads + head) * params.v + m0;
      for (var c = 0u; c < TM; c++) {
        if (m0 + c < params.v) {
          out[base + c] = acc[i][c];
        }
      }
    }
  }
}
