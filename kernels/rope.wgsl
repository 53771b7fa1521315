// @enable-f16
// RoPE, applied in place to the rope slice of packed rows.
//
// data is [rows, heads, stride] elements; the rope slice of (row, head) starts at
// column `offset` and has 2 * half channels. The same entry point serves:
//   absorbed q:  q_absorbed [qRows, h, r + rope],   offset r
//   absorbed k:  latent cache [kRows, 1, r + rope], offset r
//   expanded q:  q [qRows, h, nope + rope],          offset nope
//   expanded k:  k [kRows, h, nope + rope],          offset nope
//
// cos_sin is [rows, 2 * half] f32: cos of pair i at i, sin at half + i, built on the
// host in float64 from each row's position (ropeCosSin), so the angle is never
// formed in f32 and precision does not decay with position. Padding rows carry the
// identity rotation (cos 1, sin 0): their NaN poison is left untouched.
//
// One invocation per (row, head, pair): each pair is independent, so no barriers.

alias store_t = f32; // @dtype storage type (f16 when shader-f16 is enabled)

struct Params {
  rows: u32,
  heads: u32,
  stride: u32,   // elements per (row, head)
  offset: u32,   // first rope column inside (row, head)
  half: u32,     // rope / 2 pairs
  neox: u32,     // 0: interleaved pairs (2i, 2i+1); 1: NeoX halves (i, i + half)
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> data: array<store_t>;
@group(0) @binding(2) var<storage, read> cos_sin: array<f32>;

// 64 invocations: a plain 1-D elementwise kernel; the size hardly matters here.
const WG: u32 = 64u; // @param invocations per workgroup: the host's grid1d divides by the
// same value (LINEAR_WORKGROUP, gpu/dispatch.ts), and the index below folds (x, y) by it

@compute @workgroup_size(WG)
fn rope_inplace(@builtin(global_invocation_id) gid: vec3<u32>,
                @builtin(num_workgroups) nwg: vec3<u32>) {
  // 2-D grid folded to 1-D so large row counts stay under 65535 workgroups per dim.
  let idx = gid.x + gid.y * nwg.x * WG;
  let total = params.rows * params.heads * params.half;
  if (idx >= total) {
    return; // bounds guard: the grid is rounded up to whole workgroups
  }
  let pair = idx % params.half;
  let rh = idx / params.half;          // row * heads + head
  let row = rh / params.heads;
  let base = rh * params.stride + params.offset;
  var ia = base + 2u * pair;           // interleaved: (2i, 2i + 1)
  var ib = ia + 1u;
  if (params.neox != 0u) {
    ia = base + pair;                  // NeoX: (i, i + half)
    ib = base + pair + params.half;
  }
  let c = cos_sin[row * 2u * params.half + pair];
  let s = cos_sin[row * 2u * params.half + params.half + pair];
  // Rotate in f32 whatever the storage type, round once on the store.
  let a = f32(data[ia]);
  let b = f32(data[ib]);
  data[ia] = store_t(a * c - b * s);
  data[ib] = store_t(a * s + b * c);
}
