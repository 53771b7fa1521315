// Rows of KEY_VEC4 vec4s copied into a texture that absorbed_gemm.wgsl reads them through:
// the latent cache (pass `cache_texture`) and the absorbed query (pass `query_texture`).
// One invocation per vec4, row k's vec4 c to texel ((k % RPT) x KEY_VEC4 + c, k / RPT).
// rgba32float for f32 rows; for f16 the packed halves are widened and stored into
// rgba16float, which gives back the same halves (every f16 value is exact in f32).
// The cache's copy is cache construction (outside the attention core, timed once apart);
// the query's is part of the core.
// Grid: x and y cover n = rows x KEY_VEC4 vec4s in workgroups of WG (2D when n / WG is
// over the device's limit per dimension). No barrier in this kernel: early returns are safe.

const WG: u32 = 64u; // @param invocations per workgroup
const KEY_VEC4: u32 = 144u; // @param (r + rope) / 4: texels per row
const RPT: u32 = 1u; // @param rows per texture row

struct Params {
  n: u32,    // vec4s of the bound rows: rows x KEY_VEC4
  row0: u32, // row of the first bound one (a source past one storage binding is copied
             // a chunk of rows at a time, kit.rowsTexture)
}

@group(0) @binding(0) var<uniform> params: Params;
// f32: vec4 loads. f16: the same bytes read as packed u32 pairs.
@group(0) @binding(1) var<storage, read> cache: array<vec4<f32>>; // [bound rows, KEY_VEC4] // @f32
// @f16: @group(0) @binding(1) var<storage, read> cache: array<vec2<u32>>;
@group(0) @binding(2) var cache_tex: texture_storage_2d<rgba32float, write>; // @f32
// @f16: @group(0) @binding(2) var cache_tex: texture_storage_2d<rgba16float, write>;

fn ldc(i: u32) -> vec4<f32> {
  return cache[i]; // @f32
  // @f16: let w = cache[i]; return vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y));
}

@compute @workgroup_size(WG)
fn copy(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.n) {
    return; // grid rounded up
  }
  let row = params.row0 + i / KEY_VEC4;
  textureStore(cache_tex, vec2<u32>((row % RPT) * KEY_VEC4 + i % KEY_VEC4, row / RPT), ldc(i));
}
