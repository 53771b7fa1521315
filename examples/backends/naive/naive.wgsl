// @enable-f16
// A deliberately simple absorbed MLA attention kernel, written against the backend
// contract of docs/backends.md: correct first, fast never.
//
// One invocation per (query token t, head h), 64 per workgroup along x (folded into
// y past 65535 workgroups). It walks the keys query t sees (q_meta[t].z of them,
// from the first key of its sequence q_meta[t].y, through k_rows), in one pass with
// an online softmax:
//   s_k = scale * dot(q_absorbed[row, h], cache[row_k])      (width r + rope)
//   m' = max(m, s_k); x = x * exp(m - m') + exp(s_k - m') * cache[row_k][0:r]
// The running latent output x lives in the output buffer itself (only this
// invocation writes x_out[t, h, :]), so there is no private array to size. Keys a
// query cannot see are never read, so no masking is needed and NaN in a masked key
// cannot leak. A query with no visible key writes x = 0 and LSE = -inf.

alias store_t = f32; // @dtype storage type of the cache

const KEY_VEC4: u32 = 144u; // @param (r + rope) / 4
const VAL_VEC4: u32 = 128u; // @param r / 4

struct Params {
  total_q: u32,  // query tokens
  heads: u32,
  scale: f32,    // softmax scale
  neg_inf: f32,  // -Infinity (WGSL has no infinite literal)
}

@group(0) @binding(0) var<uniform> params: Params;
// q_absorbed is f32 whatever the storage dtype (kit.absorbQ with dtype "f32"): q_nope W_UK
// can pass f16's largest finite value, 65504, where q_nope and the cache do not.
@group(0) @binding(1) var<storage, read> q_absorbed: array<vec4<f32>>; // [qRows, h, KEY_VEC4]
@group(0) @binding(2) var<storage, read> cache: array<vec4<store_t>>;      // [kRows, KEY_VEC4]
@group(0) @binding(3) var<storage, read> q_meta: array<vec4<u32>>;         // [totalQ]
@group(0) @binding(4) var<storage, read> k_rows: array<u32>;               // [totalK]
@group(0) @binding(5) var<storage, read_write> x_out: array<vec4<f32>>;    // [totalQ, h, VAL_VEC4]
@group(0) @binding(6) var<storage, read_write> lse_out: array<f32>;        // [totalQ, h]

@compute @workgroup_size(64)
fn naive(@builtin(global_invocation_id) gid: vec3<u32>,
         @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * 64u;
  if (idx >= params.total_q * params.heads) {
    return; // bounds guard: the grid is rounded up (no barrier in this kernel)
  }
  let t = idx / params.heads;
  let h = idx % params.heads;
  let qm = q_meta[t];
  let qb = (qm.x * params.heads + h) * KEY_VEC4;
  let xb = idx * VAL_VEC4;
  for (var d = 0u; d < VAL_VEC4; d++) {
    x_out[xb + d] = vec4<f32>(0.0);
  }
  var m = -3.0e38; // finite stand-in for -inf: exp(m - m') never gives NaN
  var l = 0.0;
  for (var j = 0u; j < qm.z; j++) {
    let kb = k_rows[qm.y + j] * KEY_VEC4;
    var s = 0.0;
    for (var d = 0u; d < KEY_VEC4; d++) {
      s += dot(vec4<f32>(q_absorbed[qb + d]), vec4<f32>(cache[kb + d]));
    }
    s *= params.scale;
    let m_new = max(m, s);
    let a = exp(m - m_new);
    let p = exp(s - m_new);
    l = l * a + p;
    m = m_new;
    for (var d = 0u; d < VAL_VEC4; d++) {
      x_out[xb + d] = x_out[xb + d] * a + p * vec4<f32>(cache[kb + d]);
    }
  }
  // NaN (a visible NaN key) passes the comparison, as in the float64 reference.
  let seen = !(l <= 0.0);
  let inv = select(0.0, 1.0 / l, seen);
  for (var d = 0u; d < VAL_VEC4; d++) {
    x_out[xb + d] = x_out[xb + d] * inv;
  }
  lse_out[idx] = select(params.neg_inf, m + log(l), seen);
}
