// A part (kernels/source.ts, `// @include absorb_q_io.wgsl`): the storage type, parameters
// and bindings that absorb_q.wgsl and absorb_q_split.wgsl share (the launch kit binds both
// the same way, kernels/launch.ts absorbQ). Binding 2, w_kv_b, is w_kv_b_rows.wgsl's.

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
@group(0) @binding(3) var<storage, read_write> q_absorbed: array<vec4<store_t>>;
@group(0) @binding(4) var<storage, read> q_pe: array<vec4<store_t>>;   // [rows, h, rope / 4]
