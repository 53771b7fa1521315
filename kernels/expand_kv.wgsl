// @enable-f16
// Expansion of the latent into dense per-head K and V (the expanded path):
//   k[row, h] = [W_UK,h c_row ; k_pe_row]   (width nope + rope; RoPE applied later, in place)
//   v[row, h] = W_UV,h c_row                (width v)
// where head h's block of w_kv_b [h * (nope + v), r] holds W_UK,h (first nope rows)
// then W_UV,h (next v rows).
//
// One invocation per (row, head, o) with o in [0, nope + v + rope): o < nope + v is
// one dot product of length r (vec4 loads of the W row and the latent row); the
// last `rope` values of o copy k_pe into k's rope slice for this head. Padding rows
// (NaN) are expanded too and never read by the attention kernel.

alias store_t = f32; // @dtype storage type

struct Params {
  rows: u32,
  heads: u32,
  nope: u32,
  v: u32,
  rope: u32,
  r_vec4: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> latent: array<vec4<store_t>>;   // [rows, r]
@group(0) @binding(2) var<storage, read> k_pe: array<store_t>;           // [rows, rope]
@group(0) @binding(3) var<storage, read> w_kv_b: array<vec4<store_t>>;   // [h * (nope + v), r]
@group(0) @binding(4) var<storage, read_write> k: array<store_t>;        // [rows, h, nope + rope]
@group(0) @binding(5) var<storage, read_write> v: array<store_t>;        // [rows, h, v]

@compute @workgroup_size(64)
fn expand_kv(@builtin(global_invocation_id) gid: vec3<u32>,
             @builtin(num_workgroups) nwg: vec3<u32>) {
  let per_head = params.nope + params.v + params.rope;
  let idx = gid.x + gid.y * nwg.x * 64u;
  if (idx >= params.rows * params.heads * per_head) {
    return; // bounds guard: grid rounded up
  }
  let o = idx % per_head;
  let rh = idx / per_head;             // row * heads + head
  let head = rh % params.heads;
  let row = rh / params.heads;
  let k_width = params.nope + params.rope;
  if (o >= params.nope + params.v) {
    let i = o - params.nope - params.v;
    k[rh * k_width + params.nope + i] = k_pe[row * params.rope + i];
    return;
  }
  let w_base = (head * (params.nope + params.v) + o) * params.r_vec4;
  let c_base = row * params.r_vec4;
  var acc = 0.0;                       // f32 accumulation for both storage types
  for (var j = 0u; j < params.r_vec4; j++) {
    acc += dot(vec4<f32>(w_kv_b[w_base + j]), vec4<f32>(latent[c_base + j]));
  }
  if (o < params.nope) {
    k[rh * k_width + o] = store_t(acc);
  } else {
    v[rh * params.v + (o - params.nope)] = store_t(acc);
  }
}
