// @enable-f16
// Value up-projection of the absorbed path: o_h = W_UV,h . x_h.
//
// x is the latent attention output [totalQ, h, r] (f32, normalized); W_UV,h is rows
// nope .. nope+v of head h's block of w_kv_b [h * (nope + v), r]:
//   out[t, h, m] = sum_j x[t, h, j] * w_kv_b[h * (nope + v) + nope + m, j].
// One invocation per output element; both operands are read as vec4 along j.

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
@group(0) @binding(2) var<storage, read> w_kv_b: array<vec4<store_t>>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn up_proj(@builtin(global_invocation_id) gid: vec3<u32>,
           @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * 64u;
  if (idx >= params.total_q * params.heads * params.v) {
    return; // bounds guard: grid rounded up
  }
  let m = idx % params.v;
  let th = idx / params.v;             // t * heads + head
  let head = th % params.heads;
  let x_base = th * params.r_vec4;
  let w_base = (head * params.w_block_rows + params.nope + m) * params.r_vec4;
  var acc = 0.0;
  for (var j = 0u; j < params.r_vec4; j++) {
    acc += dot(x[x_base + j], vec4<f32>(w_kv_b[w_base + j]));
  }
  out[idx] = acc;
}
