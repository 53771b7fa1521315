// A part (kernels/source.ts, `// @include absorb_q_io.wgsl`): the storage type, q_absorbed's
// element type, parameters and bindings that absorb_q.wgsl and absorb_q_split.wgsl share (the
// launch kit binds both the same way, kernels/launch.ts absorbQ). Binding 2, w_kv_b, is w_kv_b_rows.wgsl's.

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
// q_absorbed's element type: f32 whatever the storage dtype. Why: q~ = q_nope . W_UK sums
// nope products and can pass f16's largest finite value, 65504, while q_nope, W_UK, the
// cache and the float64 reference are all in range; stored as f16 it became inf and every
// score of the absorbed path NaN. The `qstore` switch (kit.absorbQ without `dtype: "f32"`,
// the default of backend contract version 1) stores it in the storage dtype instead.
alias qabs_t = f32; // @noqstore
// @qstore: alias qabs_t = store_t;
@group(0) @binding(3) var<storage, read_write> q_absorbed: array<vec4<qabs_t>>;
// q_pe stays in the storage dtype (rotated in place by rope.wgsl) and is widened on copy.
@group(0) @binding(4) var<storage, read> q_pe: array<vec4<store_t>>;   // [rows, h, rope / 4]
