// Rows of KEY_VEC4 vec4s copied into a texture a kernel reads them through: the latent
// cache (pass `cache_texture`) and the absorbed query (pass `query_texture`) of
// absorbed_gemm.wgsl, the q, K and V of expanded_gemm.wgsl and expanded.wgsl.
// One invocation per texel, row k's texel c to ((k % RPT) x KEY_TEX + c, k / RPT), where
// KEY_TEX = KEY_VEC4 / CPT texels make a row.
// rgba32float for f32 rows; for f16 the packed halves are widened and stored into
// rgba16float, which gives back the same halves (every f16 value is exact in f32).
// With the `packed` switch (f16 rows of the gemm kernels and the dense decode, CPT = 2) a
// texel is rgba32uint holding two vec4s of halves as stored (vec4s 2c and 2c + 1): on
// lavapipe a fetch costs the same whatever the texel's width, so eight halves per fetch
// read 1.3-1.5x more halves per second than four (docs/benchmarks.md, session 15).
// The cache's copy is cache construction (outside the attention core, timed once apart);
// the query's is part of the core.
// Grid: x and y cover n = rows x KEY_TEX texels in workgroups of WG (2D when n / WG is
// over the device's limit per dimension). No barrier in this kernel: early returns are safe.

const WG: u32 = 64u; // @param invocations per workgroup
const KEY_VEC4: u32 = 144u; // @param (r + rope) / 4: vec4s per row
const RPT: u32 = 1u; // @param rows per texture row
const CPT: u32 = 1u; // @param vec4s per texel: 1, or 2 with `packed`
const_assert KEY_VEC4 % CPT == 0u;
const KEY_TEX: u32 = KEY_VEC4 / CPT; // texels per row

struct Params {
  n: u32,    // texels of the bound rows: rows x KEY_TEX
  row0: u32, // row of the first bound one (a source past one storage binding is copied
             // a chunk of rows at a time, kit.rowsTexture)
}

@group(0) @binding(0) var<uniform> params: Params;
// f32: vec4 loads. f16: the same bytes read as packed u32 pairs.
@group(0) @binding(1) var<storage, read> cache: array<vec4<f32>>; // [bound rows, KEY_VEC4] // @f32
// @f16: @group(0) @binding(1) var<storage, read> cache: array<vec2<u32>>;
@group(0) @binding(2) var cache_tex: texture_storage_2d<rgba32float, write>; // @nopacked // @f32
// @f16: @group(0) @binding(2) var cache_tex: texture_storage_2d<rgba16float, write>; // @nopacked
// @packed: @group(0) @binding(2) var cache_tex: texture_storage_2d<rgba32uint, write>;

fn ldc(i: u32) -> vec4<f32> {
  return cache[i]; // @f32
  // @f16: let w = cache[i]; return vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y));
}

// Vec4 i of the bound rows as four halves in two words: f16, the stored bits; f32, rounded
// to f16 (compiled, never planned: the plan packs f16 rows only).
fn halves(i: u32) -> vec2<u32> {
  let v = cache[i]; return vec2<u32>(pack2x16float(v.xy), pack2x16float(v.zw)); // @f32
  // @f16: return cache[i];
}

// Texel i of the bound rows (its row's vec4s in order, CPT of them).
fn texel(i: u32) -> vec4<f32> { // @nopacked
  return ldc(i); // @nopacked
  // @packed: fn texel(i: u32) -> vec4<u32> {
  // @packed: let a = halves(CPT * i); let b = halves(CPT * i + 1u);
  // @packed: return vec4<u32>(a, b);
}

@compute @workgroup_size(WG)
fn copy(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.n) {
    return; // grid rounded up
  }
  let row = params.row0 + i / KEY_TEX;
  textureStore(cache_tex, vec2<u32>((row % RPT) * KEY_TEX + i % KEY_TEX, row / RPT), texel(i));
}
