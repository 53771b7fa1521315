// @enable-f16
// Expansion of the latent into dense per-head K and V (the expanded path):
//   k[row, h] = [W_UK,h c_row ; k_pe_row]   (width nope + rope; k_pe already rotated)
//   v[row, h] = W_UV,h c_row                (width v)
// where head h's block of w_kv_b [h * (nope + v), r] holds W_UK,h (first nope rows)
// then W_UV,h (next v rows).
//
// Tiling (for lavapipe, where a load whose address differs between invocations is a
// gather costing about as much as a dozen FMAs, while a load whose address is the
// same for the whole workgroup is one scalar load + broadcast):
//   x: invocation o of the grid's x range is one output channel of the flattened
//      [h * (nope + v)] rows of w_kv_b (channels past that copy k_pe, see below);
//   y: a tile of ROWS cache rows, the same for every invocation of the workgroup.
// Per vec4 j of the latent: one W load (divergent, reused for ROWS rows) and ROWS
// latent loads (uniform: every invocation reads the same rows), so ROWS dot products
// per W load. Register tile: ROWS accumulators (one vec4 of them per 4 rows).
// Padding rows (NaN) are expanded too and never read by the attention kernel.
// Chunks: k and v are bound at the byte offset of row params.row0 (so that no binding
// exceeds maxStorageBufferBindingSize); rows below are local to the chunk for k and
// v and global (row0 + row) for latent and k_pe, which are bound whole. k_pe arrives
// with RoPE already applied (the host rotates the small [rows, rope] k_pe once
// instead of every head's copy).

alias store_t = f32; // @dtype storage type

const ROWS: u32 = 8u; // rows per invocation (two vec4 accumulators); fixed, see acc0/acc1

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
@group(0) @binding(1) var<storage, read> latent: array<vec4<store_t>>;   // [rows, src_vec4] // @f32
// @f16: @group(0) @binding(1) var<storage, read> latent: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read> k_pe: array<store_t>;           // [rows, r + rope]
@group(0) @binding(3) var<storage, read> w_kv_b: array<vec4<store_t>>;   // [h * (nope + v), r] // @f32
// @f16: @group(0) @binding(3) var<storage, read> w_kv_b: array<vec2<u32>>;
@group(0) @binding(4) var<storage, read_write> k: array<store_t>;        // [rows, h, nope + rope]
@group(0) @binding(5) var<storage, read_write> v: array<store_t>;        // [rows, h, v]

fn widen(w: vec2<u32>) -> vec4<f32> {
  return vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y));
}

fn lat(row: u32, j: u32) -> vec4<f32> {
  return vec4<f32>(latent[(params.row0 + row) * params.src_vec4 + j]); // @f32
  // @f16: return widen(latent[(params.row0 + row) * params.src_vec4 + j]);
}

fn wkv(i: u32) -> vec4<f32> {
  return vec4<f32>(w_kv_b[i]); // @f32
  // @f16: return widen(w_kv_b[i]);
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

@compute @workgroup_size(64)
fn expand_kv(@builtin(global_invocation_id) gid: vec3<u32>,
             @builtin(workgroup_id) wid: vec3<u32>) {
  let per_head = params.nope + params.v;
  let channels = params.heads * per_head;
  let row0 = wid.y * ROWS;
  let c = gid.x;
  if (c >= channels) {
    // The tail of the x range copies k_pe into every head's rope slice.
    let i = c - channels;
    if (i < params.heads * params.rope) {
      let head = i / params.rope;
      let e = i % params.rope;
      let k_width = params.nope + params.rope;
      for (var rr = 0u; rr < ROWS; rr++) {
        let row = row0 + rr;
        if (row < params.rows) {
          k[(row * params.heads + head) * k_width + params.nope + e] =
              k_pe[(params.row0 + row) * params.src_vec4 * 4u + params.r_vec4 * 4u + e];
        }
      }
    }
    return;
  }
  let head = c / per_head;
  let o = c % per_head;
  // Rows past the end re-read the last row (in bounds) and are not stored.
  let last = params.rows - 1u;
  let r0 = min(row0, last);
  let r1 = min(row0 + 1u, last);
  let r2 = min(row0 + 2u, last);
  let r3 = min(row0 + 3u, last);
  let r4 = min(row0 + 4u, last);
  let r5 = min(row0 + 5u, last);
  let r6 = min(row0 + 6u, last);
  let r7 = min(row0 + 7u, last);
  let w_base = c * params.r_vec4;
  var acc0 = vec4<f32>(0.0);   // rows r0..r3 (f32 accumulation for both storage types)
  var acc1 = vec4<f32>(0.0);   // rows r4..r7
  for (var j = 0u; j < params.r_vec4; j++) {
    let w = wkv(w_base + j);
    // w * M = (dot(w, M[0]), ..., dot(w, M[3])): four rows' dot products at once.
    acc0 += w * mat4x4<f32>(lat(r0, j), lat(r1, j), lat(r2, j), lat(r3, j));
    acc1 += w * mat4x4<f32>(lat(r4, j), lat(r5, j), lat(r6, j), lat(r7, j));
  }
  store_out(row0, head, o, acc0.x);
  store_out(row0 + 1u, head, o, acc0.y);
  store_out(row0 + 2u, head, o, acc0.z);
  store_out(row0 + 3u, head, o, acc0.w);
  store_out(row0 + 4u, head, o, acc1.x);
  store_out(row0 + 5u, head, o, acc1.y);
  store_out(row0 + 6u, head, o, acc1.z);
  store_out(row0 + 7u, head, o, acc1.w);
}
