// @enable-f16
// Dense (expanded) MLA attention shaped for CPU WebGPU drivers (lavapipe), for prefill:
// per head, S = Q K^T and O = P V as two register-tiled passes around the shared softmax
// pass (gemm_softmax.wgsl), with the scores written out in between.
//
//   scores:  S[t, h, k] = scale * dot(q[t, h], k[row_k, h])          (nope + rope wide)
//   softmax: P[t, h, k] = exp(S - max) / sum, LSE                     (gemm_softmax.wgsl)
//   values:  o[t, h, :] = sum_k P[t, h, k] * v[row_k, h, :]
//
// Why this shape: see absorbed_gemm.wgsl (on lavapipe a buffer load costs about 25 8-lane
// FMAs, so speed is FMAs per loaded number inside one lane). Here the register tiles are
// queries x keys of one head (scores: QT = 16 queries x 16 keys, 8 FMAs per loaded number)
// and queries x output columns (values: 16 queries x EV vec4s, per 4 keys 4 x EV value and
// 16 probability vec4s for 4 x 16 x EV vec4 FMAs). A query tile is QT consecutive queries
// of one sequence in increasing visible-key count (q_tiles); its last query sees the most
// keys, which bound the tile's key loops, and key groups past them are never scored (the
// causal upper triangle of a prefill is skipped).
// No workgroup memory and no barriers: every early return is safe.
//
// Masking: a query's scores past its own visible keys are computed (the tile shares the key
// group) but never stored; the softmax pass zeroes the slots of its last vec4; the values
// pass selects, per query, the value rows of keys it sees (never multiplying a row it must
// not see by p = 0: that row may hold NaN or Inf, and 0 * NaN = NaN) and zeroes their
// probabilities, in the blocks where the tile's queries see different counts. Keys are read
// through k_rows (logical key -> buffer row) only below the tile's last query's count, so
// padding rows are never read; a partial key group or block re-reads its last valid key.
// K/V are bound per group of sequences (kernels/tables.ts denseGroups): k_off and v_off are
// the binding's first vec4.
//
// Loops (adapter/gemm_plan.ts counts them for a device's loop budget): scores QK_VEC4 + 1,
// values ceil(keys / 4) + 1; the constant-trip loops over the tile's queries, keys and
// columns are unrolled by the compiler and cost none.

alias store_t = f32; // @dtype storage type of q, k and v

const WG: u32 = 8u; // @param invocations per workgroup (the lavapipe SIMD width)
const QT: u32 = 16u; // @param queries per tile (register tile rows)
const QK_VEC4: u32 = 48u; // @param (nope + rope) / 4
const V_VEC4: u32 = 32u; // @param v / 4
const EV: u32 = 4u; // @param output vec4 columns per invocation in the values pass (divides V_VEC4)
const_assert V_VEC4 % EV == 0u;
// Keys per invocation in the scores pass: four vec4 columns of scores per query.
const KG: u32 = 16u;

struct Params {
  tiles: u32,      // query tiles of this dispatch (one group of sequences)
  tile_begin: u32, // its first entry of q_tiles
  heads: u32,
  k_off: u32,      // first vec4 of the k binding within the whole k buffer
  v_off: u32,      // first vec4 of the v binding
  scale: f32,      // softmax scale
  kmax4: u32,      // vec4s per score row
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<store_t>>;  // [qRows, h, QK_VEC4]
// f16: K and V read as packed u32 pairs widened by unpack2x16float (one load per 2 halves).
@group(0) @binding(2) var<storage, read> k: array<vec4<store_t>>; // [kRows, h, QK_VEC4] // @f32
@group(0) @binding(3) var<storage, read> v: array<vec4<store_t>>; // [kRows, h, V_VEC4] // @f32
// @f16: @group(0) @binding(2) var<storage, read> k: array<vec2<u32>>;
// @f16: @group(0) @binding(3) var<storage, read> v: array<vec2<u32>>;
@group(0) @binding(4) var<storage, read> q_meta: array<vec4<u32>>;   // see absorbed.wgsl
@group(0) @binding(5) var<storage, read> k_rows: array<u32>;
@group(0) @binding(6) var<storage, read> q_tiles: array<vec2<u32>>;  // (first query, count)
@group(0) @binding(7) var<storage, read_write> probs: array<vec4<f32>>; // [totalQ, h, kmax4]
@group(0) @binding(8) var<storage, read_write> out: array<vec4<f32>>;   // [totalQ, h, V_VEC4]

fn ldk(i: u32) -> vec4<f32> {
  return vec4<f32>(k[i]); // @f32
  // @f16: let w = k[i]; return vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y));
}

fn ldv(i: u32) -> vec4<f32> {
  return vec4<f32>(v[i]); // @f32
  // @f16: let w = v[i]; return vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y));
}

// Both passes bind the same nine buffers (eight storage: the default limit) (one bind group for the two pipelines, whose
// layouts are derived from the shader): each entry point calls this, so each uses all
// bindings. Index 0 of each binding exists (the host never binds an empty buffer).
fn bind_all() {
  _ = params.tiles;
  _ = q[0];
  _ = k[0];
  _ = v[0];
  _ = q_meta[0];
  _ = k_rows[0];
  _ = q_tiles[0];
  _ = probs[0];
  _ = out[0];
}

// Logical keys base + j .. base + j + 3 (each clamped to logical key `last`) as buffer
// rows.
fn rows_of(base: u32, j: u32, last: u32) -> vec4<u32> {
  return vec4<u32>(k_rows[base + min(j, last)], k_rows[base + min(j + 1u, last)],
                   k_rows[base + min(j + 2u, last)], k_rows[base + min(j + 3u, last)]);
}

// Four keys' vec4 d (k offsets r) as the columns of a matrix.
fn kcols(r: vec4<u32>, d: u32) -> mat4x4<f32> {
  return mat4x4<f32>(ldk(r.x + d), ldk(r.y + d), ldk(r.z + d), ldk(r.w + d));
}

// Pass 1. Grid: x = key groups of 16 / WG, y = heads, z = query tiles of the group.
@compute @workgroup_size(WG)
fn scores(@builtin(global_invocation_id) gid: vec3<u32>) {
  bind_all();
  let qt = q_tiles[params.tile_begin + gid.z];
  let h = gid.y;
  let k0 = gid.x * KG;
  let nq = qt.y;
  let qm_last = q_meta[qt.x + nq - 1u];
  if (k0 >= qm_last.z) {
    return; // past the tile's keys: a causal block above the diagonal (no barrier here)
  }
  let last = qm_last.z - 1u;
  let base = qm_last.y;
  // k offsets of the 16 keys' head-h rows within the binding.
  let row_vec4 = params.heads * QK_VEC4;
  let hoff = vec4<u32>(h * QK_VEC4 - params.k_off);
  let ra = rows_of(base, k0, last) * row_vec4 + hoff;
  let rb = rows_of(base, k0 + 4u, last) * row_vec4 + hoff;
  let rc = rows_of(base, k0 + 8u, last) * row_vec4 + hoff;
  let rd = rows_of(base, k0 + 12u, last) * row_vec4 + hoff;
  // Per query i of the tile (a partial tile repeats its last query, never stored).
  var qb: array<u32, QT>;
  var seen: array<u32, QT>;
  for (var i = 0u; i < QT; i++) {
    let qm = q_meta[qt.x + min(i, nq - 1u)];
    qb[i] = (qm.x * params.heads + h) * QK_VEC4;
    seen[i] = qm.z;
  }
  // s[i]: column c = scores of keys k0 + 4c .. k0 + 4c + 3 for query i (zeroed explicitly:
  // naga hoists loop-local vars to the function entry).
  var s: array<mat4x4<f32>, QT>;
  for (var i = 0u; i < QT; i++) {
    s[i] = mat4x4<f32>(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
  }
  for (var d = 0u; d < QK_VEC4; d++) {
    // The 16 keys' vec4s are loaded once and serve all QT queries.
    let ca = kcols(ra, d);
    let cb = kcols(rb, d);
    let cc = kcols(rc, d);
    let cd = kcols(rd, d);
    for (var i = 0u; i < QT; i++) {
      let qv = vec4<f32>(q[qb[i] + d]);
      s[i] += mat4x4<f32>(qv * ca, qv * cb, qv * cc, qv * cd);
    }
  }
  // Each query stores the vec4s of scores that hold one of its own keys.
  for (var i = 0u; i < nq; i++) {
    let ob = ((qt.x + i) * params.heads + h) * params.kmax4 + k0 / 4u;
    for (var c = 0u; c < 4u; c++) {
      if (k0 + 4u * c < seen[i]) {
        probs[ob + c] = s[i][c] * params.scale;
      }
    }
  }
}

// Pass 3 (pass 2 is gemm_softmax.wgsl). Grid: x = column blocks (V_VEC4 / EV) / WG,
// y = heads, z = query tiles of the group.
@compute @workgroup_size(WG)
fn values(@builtin(global_invocation_id) gid: vec3<u32>) {
  bind_all();
  let qt = q_tiles[params.tile_begin + gid.z];
  let h = gid.y;
  let e0 = gid.x * EV;
  if (e0 >= V_VEC4) {
    return; // grid rounded up to whole workgroups
  }
  let nq = qt.y;
  let qm_last = q_meta[qt.x + nq - 1u];
  let nk = qm_last.z;
  let base = qm_last.y;
  var pb: array<u32, QT>;
  var seen: array<u32, QT>;
  for (var i = 0u; i < QT; i++) {
    let t = qt.x + min(i, nq - 1u);
    pb[i] = (t * params.heads + h) * params.kmax4;
    seen[i] = q_meta[t].z;
  }
  var acc: array<array<vec4<f32>, EV>, QT>;
  for (var i = 0u; i < QT; i++) {
    for (var e = 0u; e < EV; e++) {
      acc[i][e] = vec4<f32>(0.0);
    }
  }
  let row_vec4 = params.heads * V_VEC4;
  let hoff = vec4<u32>(h * V_VEC4 + e0 - params.v_off);
  let kk = vec4<u32>(0u, 1u, 2u, 3u);
  let z = vec4<f32>(0.0);
  for (var kb = 0u; kb < nk; kb += 4u) {
    let r = rows_of(base, kb, nk - 1u) * row_vec4 + hoff;
    // The block's 4 keys x EV columns, loaded once for all QT queries: c[e] * p is
    // sum_k p_k v[row_k, h, e0 + e].
    var c: array<mat4x4<f32>, EV>;
    for (var e = 0u; e < EV; e++) {
      c[e] = mat4x4<f32>(ldv(r.x + e), ldv(r.y + e), ldv(r.z + e), ldv(r.w + e));
    }
    // Every query selects the rows of the keys it sees (one loop, no branch on whether
    // the block is on the causal diagonal: with two loops in two branches Mesa left the
    // 16-trip query loop rolled, and its trips then counted against the loop budget).
    for (var i = 0u; i < QT; i++) {
      let vis = kk + vec4<u32>(kb) < vec4<u32>(seen[i]);
      let p = select(z, probs[pb[i] + kb / 4u], vis);
      for (var e = 0u; e < EV; e++) {
        let ce = c[e];
        let cv = mat4x4<f32>(select(z, ce[0], vis.x), select(z, ce[1], vis.y),
                             select(z, ce[2], vis.z), select(z, ce[3], vis.w));
        acc[i][e] += cv * p;
      }
    }
  }
  for (var i = 0u; i < nq; i++) {
    let row = (qt.x + i) * params.heads + h;
    for (var e = 0u; e < EV; e++) {
      out[row * V_VEC4 + e0 + e] = acc[i][e];
    }
  }
}
