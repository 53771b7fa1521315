// @enable-f16
// Expansion of the latent into dense per-head K and V (the expanded path):
//   k[row, h] = [W_UK,h c_row ; k_pe_row]   (width nope + rope; k_pe already rotated)
//   v[row, h] = W_UV,h c_row                (width v)
// where head h's block of w_kv_b [h * (nope + v), r] holds W_UK,h (first nope rows)
// then W_UV,h (next v rows).
//
// Tiling: a register tile of CH channels x ROWS cache rows per invocation.
//   x: invocation x of the grid's x range owns output channels CH x .. CH x + CH - 1 of
//      the flattened [h * (nope + v)] rows of w_kv_b (invocations past them copy k_pe,
//      see below);
//   y: a tile of ROWS cache rows, the same for every invocation of the workgroup.
// Per vec4 j of the latent an invocation loads CH weight vec4s and ROWS latent vec4s
// for CH x ROWS dot products: 32 vec4 dots per 12 loads. On lavapipe a load costs about
// as much as a dozen FMAs whether the workgroup's invocations share its address or not
// (docs/benchmarks.md), so dots per load are what count: tools/gemm_tile_probe.ts
// measured 14-15 GFLOP/s for this 8 x 4 tile against 5.6-6.5 for the 8 x 1 tile
// this kernel had before session 6 (the expansion itself became 2.6-3x faster,
// docs/benchmarks.md). Larger tiles gained nothing more (16 x 4: 12; 8 x 8: 13-15). On a GPU the ROWS latent loads are the same address for the whole
// workgroup (an L1 broadcast) and the accumulators (eight vec4s) stay in registers.
// Padding rows (NaN) are expanded too and never read by the attention kernel.
// Reads (switch `tex`, the plan's expandTextures, on cpu-class devices): the latent rows
// and w_kv_b's rows through read-only storage textures copied from the buffers by
// cache_texture.wgsl (rgba32float, or rgba16float holding the same halves for f16; LRPT
// and WRPT rows per texture row where a row count passes the texture side). Mesa's
// lavapipe loads a storage vec4 a component at a time for each lane and a texel in one
// fetch: the expansion of V2-Lite's 16384-row headline cache took 46 s from the buffers
// and 3.4 s through textures (docs/benchmarks.md, session 25). Without `tex` (GPUs) it
// reads the buffers. lat_at and w_at give where a row starts (a vec4 index, or the texel
// of its vec4 0) once per row, so the inner loop adds only j.
// Chunks: k and v are bound at the byte offset of row params.row0 (so that no binding
// exceeds maxStorageBufferBindingSize); rows below are local to the chunk for k and
// v and global (row0 + row) for latent and k_pe, which are bound whole. k_pe arrives
// with RoPE already applied (the host rotates the small [rows, rope] k_pe once
// instead of every head's copy).

alias store_t = f32; // @dtype storage type

const ROWS: u32 = 8u; // @param rows per invocation (two vec4s of each channel's accumulator)
const CH: u32 = 4u; // @param channels per invocation
const WG: u32 = 64u; // @param invocations per workgroup (the host's grid divides by CH * WG)
const LRPT: u32 = 1u; // @param cache rows per texture row of lat_tex (switch tex)
const WRPT: u32 = 1u; // @param w_kv_b rows per texture row of w_tex (switch tex)
// The a* accumulators below are written out for 4 channels of 8 rows.
const_assert ROWS == 8u && CH == 4u;

struct Params {
  rows: u32,     // rows of this chunk
  row0: u32,     // first (global) row of the chunk: latent and k_pe are read at row0 + row
  heads: u32,
  nope: u32,
  v: u32,
  rope: u32,
  r_vec4: u32,
  src_vec4: u32, // (r + rope) / 4: vec4s per row of the cache (latent | rotated k_pe)
}

@group(0) @binding(0) var<uniform> params: Params;
// The standard latent cache [rows, r + rope] (docs/backends.md), bound twice: as vec4s
// for the latent columns and as scalars for the rotated k_pe columns.
// f16: latent and w_kv_b are read as packed u32 pairs (one 8-byte load per four halves,
// widened by unpack2x16float): lavapipe loads a vec4<f16> one component at a time, and
// the packed form measured 1.5x faster on the headline dense decode (docs/benchmarks.md).
@group(0) @binding(1) var<storage, read> latent: array<vec4<store_t>>;   // [rows, src_vec4] // @notex // @f32
// @f16: @group(0) @binding(1) var<storage, read> latent: array<vec2<u32>>; // @notex
// @tex: @group(0) @binding(1) var lat_tex: texture_storage_2d<rgba32float, read>; // @f32
// @f16: // @tex: @group(0) @binding(1) var lat_tex: texture_storage_2d<rgba16float, read>;
@group(0) @binding(2) var<storage, read> k_pe: array<store_t>;           // [rows, r + rope]
@group(0) @binding(3) var<storage, read> w_kv_b: array<vec4<store_t>>;   // [h * (nope + v), r] // @notex // @f32
// @f16: @group(0) @binding(3) var<storage, read> w_kv_b: array<vec2<u32>>; // @notex
// @tex: @group(0) @binding(3) var w_tex: texture_storage_2d<rgba32float, read>; // @f32
// @f16: // @tex: @group(0) @binding(3) var w_tex: texture_storage_2d<rgba16float, read>;
@group(0) @binding(4) var<storage, read_write> k: array<store_t>;        // [rows, h, nope + rope]
@group(0) @binding(5) var<storage, read_write> v: array<store_t>;        // [rows, h, v]

fn widen(w: vec2<u32>) -> vec4<f32> {
  return vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y));
}

// Where (chunk-local) cache row `row` starts: a vec4 index into the buffer, or the texel
// of its vec4 0 in the texture (LRPT rows per texture row).
fn lat_at(row: u32) -> vec2<u32> {
  let g = params.row0 + row;
  return vec2<u32>(g * params.src_vec4, 0u); // @notex
  // @tex: return vec2<u32>((g % LRPT) * params.src_vec4, g / LRPT);
}

fn lat(a: vec2<u32>, j: u32) -> vec4<f32> {
  return vec4<f32>(latent[a.x + j]); // @notex // @f32
  // @f16: return widen(latent[a.x + j]); // @notex
  // @tex: return textureLoad(lat_tex, vec2<u32>(a.x + j, a.y));
}

// Where channel c's row of w_kv_b starts (as lat_at; WRPT rows per texture row).
fn w_at(c: u32) -> vec2<u32> {
  return vec2<u32>(c * params.r_vec4, 0u); // @notex
  // @tex: return vec2<u32>((c % WRPT) * params.r_vec4, c / WRPT);
}

fn wkv(a: vec2<u32>, j: u32) -> vec4<f32> {
  return vec4<f32>(w_kv_b[a.x + j]); // @notex // @f32
  // @f16: return widen(w_kv_b[a.x + j]); // @notex
  // @tex: return textureLoad(w_tex, vec2<u32>(a.x + j, a.y));
}

fn store_out(row: u32, head: u32, o: u32, value: f32) {
  if (row >= params.rows) {
    return; // rows past the end of the last tile
  }
  let k_width = params.nope + params.rope;
  if (o < params.nope) {
    k[(row * params.heads + head) * k_width + o] = store_t(value);
  } else {
    v[(row * params.heads + head) * params.v + (o - params.nope)] = store_t(value);
  }
}

// The 8 rows' values of channel c (a flattened w_kv_b row): head c / (nope + v), its
// channel o = c % (nope + v) of K (o < nope) or of V.
fn store_rows(row0: u32, c: u32, lo: vec4<f32>, hi: vec4<f32>) {
  let per_head = params.nope + params.v;
  let head = c / per_head;
  let o = c % per_head;
  store_out(row0, head, o, lo.x);
  store_out(row0 + 1u, head, o, lo.y);
  store_out(row0 + 2u, head, o, lo.z);
  store_out(row0 + 3u, head, o, lo.w);
  store_out(row0 + 4u, head, o, hi.x);
  store_out(row0 + 5u, head, o, hi.y);
  store_out(row0 + 6u, head, o, hi.z);
  store_out(row0 + 7u, head, o, hi.w);
}

@compute @workgroup_size(WG)
fn expand_kv(@builtin(global_invocation_id) gid: vec3<u32>,
             @builtin(workgroup_id) wid: vec3<u32>) {
  let channels = params.heads * (params.nope + params.v);
  let ch_inv = (channels + CH - 1u) / CH; // invocations that compute channels
  let row0 = wid.y * ROWS;
  if (gid.x >= ch_inv) {
    // The tail of the x range copies k_pe into every head's rope slice, CH entries each.
    let k_width = params.nope + params.rope;
    for (var t = 0u; t < CH; t++) {
      let i = (gid.x - ch_inv) * CH + t;
      if (i < params.heads * params.rope) {
        let head = i / params.rope;
        let e = i % params.rope;
        for (var rr = 0u; rr < ROWS; rr++) {
          let row = row0 + rr;
          if (row < params.rows) {
            k[(row * params.heads + head) * k_width + params.nope + e] =
                k_pe[(params.row0 + row) * params.src_vec4 * 4u + params.r_vec4 * 4u + e];
          }
        }
      }
    }
    return; // no barriers in this kernel: an early exit is safe
  }
  let c0 = gid.x * CH;
  // Rows past the end re-read the last row, and channels past the end the last channel
  // (in bounds); neither is stored. (The adapter's vec4 rule makes nope, v and rope
  // multiples of 4, so channels past the end do not occur today; the guards keep any
  // width correct.)
  let last = params.rows - 1u;
  let r0 = lat_at(min(row0, last));
  let r1 = lat_at(min(row0 + 1u, last));
  let r2 = lat_at(min(row0 + 2u, last));
  let r3 = lat_at(min(row0 + 3u, last));
  let r4 = lat_at(min(row0 + 4u, last));
  let r5 = lat_at(min(row0 + 5u, last));
  let r6 = lat_at(min(row0 + 6u, last));
  let r7 = lat_at(min(row0 + 7u, last));
  let w0 = w_at(min(c0, channels - 1u));
  let w1 = w_at(min(c0 + 1u, channels - 1u));
  let w2 = w_at(min(c0 + 2u, channels - 1u));
  let w3 = w_at(min(c0 + 3u, channels - 1u));
  // a<channel><half>: rows 0..3 (half 0) and 4..7 (half 1) of each channel; f32 for
  // both storage types. Written out, not as an array, so they stay in registers.
  var a00 = vec4<f32>(0.0);
  var a01 = vec4<f32>(0.0);
  var a10 = vec4<f32>(0.0);
  var a11 = vec4<f32>(0.0);
  var a20 = vec4<f32>(0.0);
  var a21 = vec4<f32>(0.0);
  var a30 = vec4<f32>(0.0);
  var a31 = vec4<f32>(0.0);
  for (var j = 0u; j < params.r_vec4; j++) {
    // w * M = (dot(w, M[0]), ..., dot(w, M[3])): one channel's dot products with four
    // rows at once; the two matrices of latent rows serve all CH channels.
    let lo = mat4x4<f32>(lat(r0, j), lat(r1, j), lat(r2, j), lat(r3, j));
    let hi = mat4x4<f32>(lat(r4, j), lat(r5, j), lat(r6, j), lat(r7, j));
    let b0 = wkv(w0, j);
    let b1 = wkv(w1, j);
    let b2 = wkv(w2, j);
    let b3 = wkv(w3, j);
    a00 += b0 * lo;
    a01 += b0 * hi;
    a10 += b1 * lo;
    a11 += b1 * hi;
    a20 += b2 * lo;
    a21 += b2 * hi;
    a30 += b3 * lo;
    a31 += b3 * hi;
  }
  store_rows(row0, c0, a00, a01);
  if (c0 + 1u < channels) {
    store_rows(row0, c0 + 1u, a10, a11);
  }
  if (c0 + 2u < channels) {
    store_rows(row0, c0 + 2u, a20, a21);
  }
  if (c0 + 3u < channels) {
    store_rows(row0, c0 + 3u, a30, a31);
  }
}
