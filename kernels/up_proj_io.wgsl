// A part (kernels/source.ts, `// @include up_proj_io.wgsl`): the storage type, parameters
// and bindings that up_proj.wgsl and up_proj_split.wgsl share (the launch kit binds both
// the same way, kernels/launch.ts upProject). Binding 2, w_kv_b, is w_kv_b_rows.wgsl's.

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
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
