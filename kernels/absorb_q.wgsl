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
// One invocation per (row, head, 4 output columns): vec4 loads of W along j, the
// q_nope scalar is reused for the 4 columns; the invocations of the last rope / 4
// columns copy one vec4 of q_pe each. Padding rows (NaN) are computed too and never
// read by the attention kernel.

alias store_t = f32; // @dtype storage type

struct Params {
  rows: u32,
  heads: u32,
  nope: u32,
  r_vec4: u32,         // r / 4
  w_block_rows: u32,   // nope + v: rows of w_kv_b per head
  dst_vec4: u32,       // (r + rope) / 4: vec4s per (row, head) of q_absorbed
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q_nope: array<store_t>;
@group(0) @binding(2) var<storage, read> w_kv_b: array<vec4<store_t>>;
@group(0) @binding(3) var<storage, read_write> q_absorbed: array<vec4<store_t>>;
@group(0) @binding(4) var<storage, read> q_pe: array<vec4<store_t>>;   // [rows, h, rope / 4]

@compute @workgroup_size(64)
fn absorb_q(@builtin(global_invocation_id) gid: vec3<u32>,
            @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * 64u;
  if (idx >= params.rows * params.heads * params.dst_vec4) {
    return; // bounds guard: grid rounded up
  }
  let j4 = idx % params.dst_vec4;
  let rh = idx / params.dst_vec4;      // row * heads + head
  if (j4 >= params.r_vec4) {
    // The rope columns: a copy of the rotated q_pe.
    let rope_vec4 = params.dst_vec4 - params.r_vec4;
    q_absorbed[rh * params.dst_vec4 + j4] = q_pe[rh * rope_vec4 + (j4 - params.r_vec4)];
    return;
  }
  let head = rh % params.heads;
  let q_base = rh * params.nope;
  let w_base = head * params.w_block_rows * params.r_vec4 + j4;
  var acc = vec4<f32>(0.0);            // f32 accumulation for both storage types
  for (var n = 0u; n < params.nope; n++) {
    acc += f32(q_nope[q_base + n]) * vec4<f32>(w_kv_b[w_base + n * params.r_vec4]);
  }
  q_absorbed[rh * params.dst_vec4 + j4] = vec4<store_t>(acc);
}
