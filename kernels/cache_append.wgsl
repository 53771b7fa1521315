// @enable-f16
// Row scatter: copy a column range of source rows to given destination rows.
//   dst[pairs[i].y * dst_stride + dst_offset + c] = src[pairs[i].x * src_stride + src_offset + c]
// for i in [0, rows), c in [0, width).
//
// Serves two purposes:
// - the KV split: k_pe is the last `rope` columns of kv_a_proj_with_mqa's output
//   [rows, r + rope] (src_offset r), copied out to its own [rows, rope] buffer;
// - the paged cache append: the new tokens' latent and k_pe rows go to the physical
//   rows the block table gives them (the pairs come from the layout's kRowOf, the
//   host decides nothing MLA-specific here). Rows of the pool that no pair names
//   are never written (they keep their NaN poison).
//
// One invocation per element; 64 per workgroup, grid folded into y.

alias store_t = f32; // @dtype storage type (f16 when shader-f16 is enabled)

struct Params {
  rows: u32,        // pairs to copy
  width: u32,       // columns per row
  src_stride: u32,
  src_offset: u32,
  dst_stride: u32,
  dst_offset: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<store_t>;
@group(0) @binding(2) var<storage, read> pairs: array<vec2<u32>>; // (source row, destination row)
@group(0) @binding(3) var<storage, read_write> dst: array<store_t>;

const WG: u32 = 64u; // @param invocations per workgroup: the host's grid1d divides by the
// same value (LINEAR_WORKGROUP, gpu/dispatch.ts), and the index below folds (x, y) by it

@compute @workgroup_size(WG)
fn cache_append(@builtin(global_invocation_id) gid: vec3<u32>,
                @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  if (idx >= params.rows * params.width) {
    return; // bounds guard: grid rounded up
  }
  let i = idx / params.width;
  let c = idx % params.width;
  let p = pairs[i];
  dst[p.y * params.dst_stride + params.dst_offset + c] = src[p.x * params.src_stride + params.src_offset + c];
}
