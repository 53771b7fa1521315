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
// FMAs, so speed is FMAs per loaded number inside one lane; the tile is written out query
// by query, s0..s15 and a0..a15 under `if (QT > i)`, because a private array indexed by a
// loop counter stays in memory; the values pass reads P through a read-only binding).
// Here the register tiles are queries x keys of one head (the lanes of a scores workgroup
// take 8 heads: scores: QT = 16 queries x 16 keys, 8 FMAs per loaded number)
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
// q, K and V are read through textures of (row, head) rows (the launcher copies them from
// the packed q and the expanded K/V buffers with cache_texture.wgsl): Mesa 22.3 loads a
// storage vec4 lane by lane and component by component, a texel in one fetch, and the
// scores pass ran about 1.6x faster for it (docs/benchmarks.md, session 13). Row
// (r x heads + h)'s vec4 c is texel ((row % RPT) x width + c, row / RPT), RPTQ/RPTK/RPTV
// rows per texture row keeping each texture's height within the device's limit.
//
// Loops (adapter/gemm_plan.ts counts them for a device's loop budget): scores QK_TEX + 1
// (counted as QK_VEC4 + 1, as many or more), values ceil(keys / 4) + 1; the tile's queries,
// keys and columns are written out.

// What absorbed_gemm.wgsl shares word for word (Pair, Cols, unpack_texel, key_rows, bind_scores and
// bind_values, dots, dots16, weigh4, ldp), appended after the last line.
// @include gemm_common.wgsl

const WG: u32 = 8u; // @param invocations per workgroup (the lavapipe SIMD width)
const QT: u32 = 16u; // @param queries per tile (register tile rows, <= 16: s0..s15 below)
const QK_VEC4: u32 = 48u; // @param (nope + rope) / 4
const V_VEC4: u32 = 32u; // @param v / 4
const EV: u32 = 4u; // @param output vec4 columns per invocation in the values pass (divides V_VEC4)
const RPTQ: u32 = 1u; // @param (row, head) rows per texture row of q_tex
const RPTK: u32 = 1u; // @param (row, head) rows per texture row of k_tex
const RPTV: u32 = 1u; // @param (row, head) rows per texture row of v_tex
const RPTP: u32 = 1u; // @param probability rows per texture row of p_tex (with the ptex switch)
const_assert V_VEC4 % EV == 0u;
const_assert EV <= 4u; // c0..c3 and the columns of a mat4x4 accumulator
// Vec4s per texel of q_tex, k_tex and v_tex: 1, or 2 with the `packed` switch (f16 rows as
// rgba32uint texels of eight halves, as absorbed_gemm.wgsl reads them: a lavapipe fetch
// costs the same whatever the texel's width). The scores loop then walks texels, two vec4
// columns per step; the values pass takes its EV columns as EV / 2 texels.
const CPT: u32 = 1u; // @param
const_assert CPT == 1u || (QK_VEC4 % 2u == 0u && V_VEC4 % 2u == 0u && EV % 2u == 0u);
const QK_TEX: u32 = QK_VEC4 / CPT; // texels per q or K row
const V_TEX: u32 = V_VEC4 / CPT; // texels per V row
const_assert QT <= 16u; // s0..s15, a0..a15
// Keys per invocation in the scores pass (the plan's keysPerBlock, which sizes the grid):
// four vec4 columns of scores per query. Written out for 16, so any other value the plan
// might name fails to compile rather than drop or repeat keys.
const KG: u32 = 16u; // @param
const_assert KG == 16u;

struct Params {
  tiles: u32,      // query tiles of this dispatch (one group of sequences)
  tile_begin: u32, // its first entry of q_tiles
  heads: u32,
  scale: f32,      // softmax scale
  kmax4: u32,      // vec4s per score row
}

@group(0) @binding(0) var<uniform> params: Params;
// rgba32float, or rgba16float for f16 (the same halves, read as f32); packed, rgba32uint.
// Read-only storage textures, not sampled ones: lavapipe reads those faster, as in
// absorbed_gemm.wgsl (docs/benchmarks.md, session 16).
@group(0) @binding(1) var q_tex: texture_storage_2d<rgba32float, read>; // rows [qRows x h], QK_TEX texels each // @nopacked // @f32
// @f16: @group(0) @binding(1) var q_tex: texture_storage_2d<rgba16float, read>; // @nopacked
@group(0) @binding(2) var k_tex: texture_storage_2d<rgba32float, read>; // rows [kRows x h], QK_TEX texels each // @nopacked // @f32
// @f16: @group(0) @binding(2) var k_tex: texture_storage_2d<rgba16float, read>; // @nopacked
@group(0) @binding(3) var v_tex: texture_storage_2d<rgba32float, read>; // rows [kRows x h], V_TEX texels each // @nopacked // @f32
// @f16: @group(0) @binding(3) var v_tex: texture_storage_2d<rgba16float, read>; // @nopacked
// @packed: @group(0) @binding(1) var q_tex: texture_storage_2d<rgba32uint, read>;
// @packed: @group(0) @binding(2) var k_tex: texture_storage_2d<rgba32uint, read>;
// @packed: @group(0) @binding(3) var v_tex: texture_storage_2d<rgba32uint, read>;
@group(0) @binding(4) var<storage, read> q_meta: array<vec4<u32>>;   // see absorbed.wgsl
@group(0) @binding(5) var<storage, read> k_rows: array<u32>;
@group(0) @binding(6) var<storage, read> q_tiles: array<vec2<u32>>;  // (first query, count)
// Written by the scores pass (and the softmax's own binding), read by the values pass
// through probs_in: the same buffer at the same binding, read-only there (WGSL allows two
// variables at one binding in different entry points).
@group(0) @binding(7) var<storage, read_write> probs: array<vec4<f32>>; // [totalQ, h, kmax4]
@group(0) @binding(7) var<storage, read> probs_in: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> out: array<vec4<f32>>;   // [totalQ, h, V_VEC4]
// The probabilities as a texture (the `ptex` switch: the plan's probTexture), written by the
// softmax pass and read by the values pass, as in absorbed_gemm.wgsl: row (token x heads +
// head)'s vec4 i is texel ((row % RPTP) x KMAX4 + i, row / RPTP). Its 16 probability loads
// per 4 keys, as storage loads, took half of the values pass on lavapipe (docs/benchmarks.md,
// session 24). Texels past a query's visible keys are never written; the values pass selects
// them out (weigh4_seen), as it does the score buffer's slots there.
// @ptex: @group(0) @binding(9) var p_tex: texture_storage_2d<rgba32float, read>;

// Texel p of (row, head) row `row` of each texture.
fn ldq(row: u32, p: u32) -> Pair {
  let xy = vec2<u32>((row % RPTQ) * QK_TEX + p, row / RPTQ);
  return Pair(textureLoad(q_tex, xy), vec4<f32>()); // @nopacked
  // @packed: return unpack_texel(textureLoad(q_tex, xy));
}

fn ldk(row: u32, p: u32) -> Pair {
  let xy = vec2<u32>((row % RPTK) * QK_TEX + p, row / RPTK);
  return Pair(textureLoad(k_tex, xy), vec4<f32>()); // @nopacked
  // @packed: return unpack_texel(textureLoad(k_tex, xy));
}

fn ldv(row: u32, p: u32) -> Pair {
  let xy = vec2<u32>((row % RPTV) * V_TEX + p, row / RPTV);
  return Pair(textureLoad(v_tex, xy), vec4<f32>()); // @nopacked
  // @packed: return unpack_texel(textureLoad(v_tex, xy));
}

// Both passes bind the same nine resources (six storage buffers, three textures):
// bind_scores and bind_values (gemm_common.wgsl) use the ones they share through this
// function, then each its probabilities binding.
fn bind_common() {
  _ = params.tiles;
  _ = textureDimensions(q_tex);
  _ = textureDimensions(k_tex);
  _ = textureDimensions(v_tex);
  _ = q_meta[0];
  _ = k_rows[0];
  _ = q_tiles[0];
  _ = out[0];
}

// Four keys' texel d (k_tex rows r) as the columns of matrices.
fn kcols(r: vec4<u32>, d: u32) -> Cols {
  let a = ldk(r.x, d);
  let b = ldk(r.y, d);
  let c = ldk(r.z, d);
  let e = ldk(r.w, d);
  return Cols(mat4x4<f32>(a.lo, b.lo, c.lo, e.lo), mat4x4<f32>(a.hi, b.hi, c.hi, e.hi));
}

// Pass 1. Grid: x = key groups of 16, y = blocks of WG heads, z = query tiles of the group.
// The lanes of a workgroup take WG consecutive heads of one key group (not WG key groups
// of one head): whether a key group is past the tile's keys is then the same for the
// whole workgroup, so on a causal prefill no lane idles beside a working one (with lanes
// along the keys, the tiles of the first 128 keys left 29% of the lanes idle).
@compute @workgroup_size(WG)
fn scores(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  bind_scores();
  let qt = q_tiles[params.tile_begin + wid.z];
  let k0 = wid.x * KG;
  let nq = qt.y;
  let qm_last = q_meta[qt.x + nq - 1u];
  if (k0 >= qm_last.z) {
    return; // past the tile's keys: a causal block above the diagonal (the whole workgroup)
  }
  // Heads past the last (a partial block) compute the last head and store nothing.
  let h_lane = wid.y * WG + lane;
  let h = min(h_lane, params.heads - 1u);
  let last = qm_last.z - 1u;
  let base = qm_last.y;
  // k_tex rows of the 16 keys' head h.
  let hv = vec4<u32>(h);
  let ra = key_rows(base, k0, last) * params.heads + hv;
  let rb = key_rows(base, k0 + 4u, last) * params.heads + hv;
  let rc = key_rows(base, k0 + 8u, last) * params.heads + hv;
  let rd = key_rows(base, k0 + 12u, last) * params.heads + hv;
  // Per query i of the tile (a partial tile repeats its last query, never stored): the
  // q_tex row of its head h and its visible keys.
  let m0 = q_meta[qt.x + min(0u, nq - 1u)];
  let m1 = q_meta[qt.x + min(1u, nq - 1u)];
  let m2 = q_meta[qt.x + min(2u, nq - 1u)];
  let m3 = q_meta[qt.x + min(3u, nq - 1u)];
  let m4 = q_meta[qt.x + min(4u, nq - 1u)];
  let m5 = q_meta[qt.x + min(5u, nq - 1u)];
  let m6 = q_meta[qt.x + min(6u, nq - 1u)];
  let m7 = q_meta[qt.x + min(7u, nq - 1u)];
  let m8 = q_meta[qt.x + min(8u, nq - 1u)];
  let m9 = q_meta[qt.x + min(9u, nq - 1u)];
  let m10 = q_meta[qt.x + min(10u, nq - 1u)];
  let m11 = q_meta[qt.x + min(11u, nq - 1u)];
  let m12 = q_meta[qt.x + min(12u, nq - 1u)];
  let m13 = q_meta[qt.x + min(13u, nq - 1u)];
  let m14 = q_meta[qt.x + min(14u, nq - 1u)];
  let m15 = q_meta[qt.x + min(15u, nq - 1u)];
  let q0 = m0.x * params.heads + h;
  let q1 = m1.x * params.heads + h;
  let q2 = m2.x * params.heads + h;
  let q3 = m3.x * params.heads + h;
  let q4 = m4.x * params.heads + h;
  let q5 = m5.x * params.heads + h;
  let q6 = m6.x * params.heads + h;
  let q7 = m7.x * params.heads + h;
  let q8 = m8.x * params.heads + h;
  let q9 = m9.x * params.heads + h;
  let q10 = m10.x * params.heads + h;
  let q11 = m11.x * params.heads + h;
  let q12 = m12.x * params.heads + h;
  let q13 = m13.x * params.heads + h;
  let q14 = m14.x * params.heads + h;
  let q15 = m15.x * params.heads + h;
  // s<i>: column c = scores of keys k0 + 4c .. k0 + 4c + 3 for query i of the tile.
  var s0 = mat4x4<f32>();
  var s1 = mat4x4<f32>();
  var s2 = mat4x4<f32>();
  var s3 = mat4x4<f32>();
  var s4 = mat4x4<f32>();
  var s5 = mat4x4<f32>();
  var s6 = mat4x4<f32>();
  var s7 = mat4x4<f32>();
  var s8 = mat4x4<f32>();
  var s9 = mat4x4<f32>();
  var s10 = mat4x4<f32>();
  var s11 = mat4x4<f32>();
  var s12 = mat4x4<f32>();
  var s13 = mat4x4<f32>();
  var s14 = mat4x4<f32>();
  var s15 = mat4x4<f32>();
  for (var d = 0u; d < QK_TEX; d++) {
    // The 16 keys' texels are loaded once and serve all QT queries.
    let ca = kcols(ra, d);
    let cb = kcols(rb, d);
    let cc = kcols(rc, d);
    let cd = kcols(rd, d);
    if (QT > 0u) { s0 += dots(ldq(q0, d), ca, cb, cc, cd); }
    if (QT > 1u) { s1 += dots(ldq(q1, d), ca, cb, cc, cd); }
    if (QT > 2u) { s2 += dots(ldq(q2, d), ca, cb, cc, cd); }
    if (QT > 3u) { s3 += dots(ldq(q3, d), ca, cb, cc, cd); }
    if (QT > 4u) { s4 += dots(ldq(q4, d), ca, cb, cc, cd); }
    if (QT > 5u) { s5 += dots(ldq(q5, d), ca, cb, cc, cd); }
    if (QT > 6u) { s6 += dots(ldq(q6, d), ca, cb, cc, cd); }
    if (QT > 7u) { s7 += dots(ldq(q7, d), ca, cb, cc, cd); }
    if (QT > 8u) { s8 += dots(ldq(q8, d), ca, cb, cc, cd); }
    if (QT > 9u) { s9 += dots(ldq(q9, d), ca, cb, cc, cd); }
    if (QT > 10u) { s10 += dots(ldq(q10, d), ca, cb, cc, cd); }
    if (QT > 11u) { s11 += dots(ldq(q11, d), ca, cb, cc, cd); }
    if (QT > 12u) { s12 += dots(ldq(q12, d), ca, cb, cc, cd); }
    if (QT > 13u) { s13 += dots(ldq(q13, d), ca, cb, cc, cd); }
    if (QT > 14u) { s14 += dots(ldq(q14, d), ca, cb, cc, cd); }
    if (QT > 15u) { s15 += dots(ldq(q15, d), ca, cb, cc, cd); }
  }
  if (h_lane >= params.heads) {
    return; // a lane past the last head (after the loop: none of its loads were skipped)
  }
  // Each query stores the vec4s of scores that hold one of its own keys.
  let ob = (qt.x * params.heads + h) * params.kmax4 + k0 / 4u;
  let stride = params.heads * params.kmax4; // one query further
  if (QT > 0u && 0u < nq) { store_scores(ob + 0u * stride, k0, m0.z, s0); }
  if (QT > 1u && 1u < nq) { store_scores(ob + 1u * stride, k0, m1.z, s1); }
  if (QT > 2u && 2u < nq) { store_scores(ob + 2u * stride, k0, m2.z, s2); }
  if (QT > 3u && 3u < nq) { store_scores(ob + 3u * stride, k0, m3.z, s3); }
  if (QT > 4u && 4u < nq) { store_scores(ob + 4u * stride, k0, m4.z, s4); }
  if (QT > 5u && 5u < nq) { store_scores(ob + 5u * stride, k0, m5.z, s5); }
  if (QT > 6u && 6u < nq) { store_scores(ob + 6u * stride, k0, m6.z, s6); }
  if (QT > 7u && 7u < nq) { store_scores(ob + 7u * stride, k0, m7.z, s7); }
  if (QT > 8u && 8u < nq) { store_scores(ob + 8u * stride, k0, m8.z, s8); }
  if (QT > 9u && 9u < nq) { store_scores(ob + 9u * stride, k0, m9.z, s9); }
  if (QT > 10u && 10u < nq) { store_scores(ob + 10u * stride, k0, m10.z, s10); }
  if (QT > 11u && 11u < nq) { store_scores(ob + 11u * stride, k0, m11.z, s11); }
  if (QT > 12u && 12u < nq) { store_scores(ob + 12u * stride, k0, m12.z, s12); }
  if (QT > 13u && 13u < nq) { store_scores(ob + 13u * stride, k0, m13.z, s13); }
  if (QT > 14u && 14u < nq) { store_scores(ob + 14u * stride, k0, m14.z, s14); }
  if (QT > 15u && 15u < nq) { store_scores(ob + 15u * stride, k0, m15.z, s15); }
}

// The score vec4s at ob that hold one of the query's `seen` keys.
fn store_scores(ob: u32, k0: u32, seen: u32, s: mat4x4<f32>) {
  for (var c = 0u; c < 4u; c++) {
    if (k0 + 4u * c < seen) {
      probs[ob + c] = s[c] * params.scale;
    }
  }
}

// Pass 3 (pass 2 is gemm_softmax.wgsl). Grid: x = column blocks (V_VEC4 / EV) / WG,
// y = heads, z = query tiles of the group.
@compute @workgroup_size(WG)
fn values(@builtin(global_invocation_id) gid: vec3<u32>) {
  bind_values();
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
  // Per query i of the tile (a partial tile repeats its last query, never stored): the
  // head-h probability row (ldp) and its visible keys.
  let pr = params.heads; // one query further
  let pt = qt.x * params.heads + h;
  let p0 = pt + min(0u, nq - 1u) * pr;
  let p1 = pt + min(1u, nq - 1u) * pr;
  let p2 = pt + min(2u, nq - 1u) * pr;
  let p3 = pt + min(3u, nq - 1u) * pr;
  let p4 = pt + min(4u, nq - 1u) * pr;
  let p5 = pt + min(5u, nq - 1u) * pr;
  let p6 = pt + min(6u, nq - 1u) * pr;
  let p7 = pt + min(7u, nq - 1u) * pr;
  let p8 = pt + min(8u, nq - 1u) * pr;
  let p9 = pt + min(9u, nq - 1u) * pr;
  let p10 = pt + min(10u, nq - 1u) * pr;
  let p11 = pt + min(11u, nq - 1u) * pr;
  let p12 = pt + min(12u, nq - 1u) * pr;
  let p13 = pt + min(13u, nq - 1u) * pr;
  let p14 = pt + min(14u, nq - 1u) * pr;
  let p15 = pt + min(15u, nq - 1u) * pr;
  let n0 = q_meta[qt.x + min(0u, nq - 1u)].z;
  let n1 = q_meta[qt.x + min(1u, nq - 1u)].z;
  let n2 = q_meta[qt.x + min(2u, nq - 1u)].z;
  let n3 = q_meta[qt.x + min(3u, nq - 1u)].z;
  let n4 = q_meta[qt.x + min(4u, nq - 1u)].z;
  let n5 = q_meta[qt.x + min(5u, nq - 1u)].z;
  let n6 = q_meta[qt.x + min(6u, nq - 1u)].z;
  let n7 = q_meta[qt.x + min(7u, nq - 1u)].z;
  let n8 = q_meta[qt.x + min(8u, nq - 1u)].z;
  let n9 = q_meta[qt.x + min(9u, nq - 1u)].z;
  let n10 = q_meta[qt.x + min(10u, nq - 1u)].z;
  let n11 = q_meta[qt.x + min(11u, nq - 1u)].z;
  let n12 = q_meta[qt.x + min(12u, nq - 1u)].z;
  let n13 = q_meta[qt.x + min(13u, nq - 1u)].z;
  let n14 = q_meta[qt.x + min(14u, nq - 1u)].z;
  let n15 = q_meta[qt.x + min(15u, nq - 1u)].z;
  // a<i>: column e = output vec4 e0 + e of query i (columns from EV on stay 0).
  var a0 = mat4x4<f32>();
  var a1 = mat4x4<f32>();
  var a2 = mat4x4<f32>();
  var a3 = mat4x4<f32>();
  var a4 = mat4x4<f32>();
  var a5 = mat4x4<f32>();
  var a6 = mat4x4<f32>();
  var a7 = mat4x4<f32>();
  var a8 = mat4x4<f32>();
  var a9 = mat4x4<f32>();
  var a10 = mat4x4<f32>();
  var a11 = mat4x4<f32>();
  var a12 = mat4x4<f32>();
  var a13 = mat4x4<f32>();
  var a14 = mat4x4<f32>();
  var a15 = mat4x4<f32>();
  let hv = vec4<u32>(h); // v_tex rows of head h
  // Keys every query of the tile sees (the first one's count, as queries come in
  // increasing count; the minimum keeps it true for any order).
  let all_see = min(min(min(min(n0, n1), min(n2, n3)), min(min(n4, n5), min(n6, n7))),
                    min(min(min(n8, n9), min(n10, n11)), min(min(n12, n13), min(n14, n15))));
  for (var kb = 0u; kb < nk; kb += 4u) {
    let r = key_rows(base, kb, nk - 1u) * params.heads + hv;
    // The block's 4 keys x EV columns, loaded once for all QT queries: c<e> * p is
    // sum_k p_k v[row_k, h, e0 + e].
    var c0 = mat4x4<f32>();
    var c1 = mat4x4<f32>();
    var c2 = mat4x4<f32>();
    var c3 = mat4x4<f32>();
    if (CPT == 1u) {
      c0 = vcols(r, e0).lo;
      if (EV > 1u) { c1 = vcols(r, e0 + 1u).lo; }
      if (EV > 2u) { c2 = vcols(r, e0 + 2u).lo; }
      if (EV > 3u) { c3 = vcols(r, e0 + 3u).lo; }
    } else {
      // Packed: columns e0 + 2m and e0 + 2m + 1 are texel e0 / 2 + m (EV and e0 even).
      let t0 = vcols(r, e0 / 2u);
      c0 = t0.lo;
      c1 = t0.hi;
      if (EV > 2u) { let t1 = vcols(r, e0 / 2u + 1u); c2 = t1.lo; c3 = t1.hi; }
    }
    let pk = kb / 4u;
    if (kb + 4u <= all_see) {
      // Off the causal diagonal: no masking.
      if (QT > 0u) { a0 += weigh4(ldp(p0, pk), c0, c1, c2, c3); }
      if (QT > 1u) { a1 += weigh4(ldp(p1, pk), c0, c1, c2, c3); }
      if (QT > 2u) { a2 += weigh4(ldp(p2, pk), c0, c1, c2, c3); }
      if (QT > 3u) { a3 += weigh4(ldp(p3, pk), c0, c1, c2, c3); }
      if (QT > 4u) { a4 += weigh4(ldp(p4, pk), c0, c1, c2, c3); }
      if (QT > 5u) { a5 += weigh4(ldp(p5, pk), c0, c1, c2, c3); }
      if (QT > 6u) { a6 += weigh4(ldp(p6, pk), c0, c1, c2, c3); }
      if (QT > 7u) { a7 += weigh4(ldp(p7, pk), c0, c1, c2, c3); }
      if (QT > 8u) { a8 += weigh4(ldp(p8, pk), c0, c1, c2, c3); }
      if (QT > 9u) { a9 += weigh4(ldp(p9, pk), c0, c1, c2, c3); }
      if (QT > 10u) { a10 += weigh4(ldp(p10, pk), c0, c1, c2, c3); }
      if (QT > 11u) { a11 += weigh4(ldp(p11, pk), c0, c1, c2, c3); }
      if (QT > 12u) { a12 += weigh4(ldp(p12, pk), c0, c1, c2, c3); }
      if (QT > 13u) { a13 += weigh4(ldp(p13, pk), c0, c1, c2, c3); }
      if (QT > 14u) { a14 += weigh4(ldp(p14, pk), c0, c1, c2, c3); }
      if (QT > 15u) { a15 += weigh4(ldp(p15, pk), c0, c1, c2, c3); }
    } else {
      // On the diagonal: every query selects the rows of the keys it sees (never
      // multiplying a row it must not see by p = 0: that row may hold NaN or Inf).
      if (QT > 0u) { a0 += weigh4_seen(kb, n0, ldp(p0, pk), c0, c1, c2, c3); }
      if (QT > 1u) { a1 += weigh4_seen(kb, n1, ldp(p1, pk), c0, c1, c2, c3); }
      if (QT > 2u) { a2 += weigh4_seen(kb, n2, ldp(p2, pk), c0, c1, c2, c3); }
      if (QT > 3u) { a3 += weigh4_seen(kb, n3, ldp(p3, pk), c0, c1, c2, c3); }
      if (QT > 4u) { a4 += weigh4_seen(kb, n4, ldp(p4, pk), c0, c1, c2, c3); }
      if (QT > 5u) { a5 += weigh4_seen(kb, n5, ldp(p5, pk), c0, c1, c2, c3); }
      if (QT > 6u) { a6 += weigh4_seen(kb, n6, ldp(p6, pk), c0, c1, c2, c3); }
      if (QT > 7u) { a7 += weigh4_seen(kb, n7, ldp(p7, pk), c0, c1, c2, c3); }
      if (QT > 8u) { a8 += weigh4_seen(kb, n8, ldp(p8, pk), c0, c1, c2, c3); }
      if (QT > 9u) { a9 += weigh4_seen(kb, n9, ldp(p9, pk), c0, c1, c2, c3); }
      if (QT > 10u) { a10 += weigh4_seen(kb, n10, ldp(p10, pk), c0, c1, c2, c3); }
      if (QT > 11u) { a11 += weigh4_seen(kb, n11, ldp(p11, pk), c0, c1, c2, c3); }
      if (QT > 12u) { a12 += weigh4_seen(kb, n12, ldp(p12, pk), c0, c1, c2, c3); }
      if (QT > 13u) { a13 += weigh4_seen(kb, n13, ldp(p13, pk), c0, c1, c2, c3); }
      if (QT > 14u) { a14 += weigh4_seen(kb, n14, ldp(p14, pk), c0, c1, c2, c3); }
      if (QT > 15u) { a15 += weigh4_seen(kb, n15, ldp(p15, pk), c0, c1, c2, c3); }
    }
  }
  let ob = (qt.x * params.heads + h) * V_VEC4 + e0;
  let stride = params.heads * V_VEC4; // one query further
  if (QT > 0u && 0u < nq) { store_values(ob + 0u * stride, a0); }
  if (QT > 1u && 1u < nq) { store_values(ob + 1u * stride, a1); }
  if (QT > 2u && 2u < nq) { store_values(ob + 2u * stride, a2); }
  if (QT > 3u && 3u < nq) { store_values(ob + 3u * stride, a3); }
  if (QT > 4u && 4u < nq) { store_values(ob + 4u * stride, a4); }
  if (QT > 5u && 5u < nq) { store_values(ob + 5u * stride, a5); }
  if (QT > 6u && 6u < nq) { store_values(ob + 6u * stride, a6); }
  if (QT > 7u && 7u < nq) { store_values(ob + 7u * stride, a7); }
  if (QT > 8u && 8u < nq) { store_values(ob + 8u * stride, a8); }
  if (QT > 9u && 9u < nq) { store_values(ob + 9u * stride, a9); }
  if (QT > 10u && 10u < nq) { store_values(ob + 10u * stride, a10); }
  if (QT > 11u && 11u < nq) { store_values(ob + 11u * stride, a11); }
  if (QT > 12u && 12u < nq) { store_values(ob + 12u * stride, a12); }
  if (QT > 13u && 13u < nq) { store_values(ob + 13u * stride, a13); }
  if (QT > 14u && 14u < nq) { store_values(ob + 14u * stride, a14); }
  if (QT > 15u && 15u < nq) { store_values(ob + 15u * stride, a15); }
}

// Four keys' value texel e (v_tex rows r) as the columns of matrices.
fn vcols(r: vec4<u32>, e: u32) -> Cols {
  let a = ldv(r.x, e);
  let b = ldv(r.y, e);
  let c = ldv(r.z, e);
  let d = ldv(r.w, e);
  return Cols(mat4x4<f32>(a.lo, b.lo, c.lo, d.lo), mat4x4<f32>(a.hi, b.hi, c.hi, d.hi));
}

// weigh4 for a query that sees `seen` keys, over keys kb .. kb + 3: the keys it does not
// see are selected out of p and of the value rows.
fn weigh4_seen(kb: u32, seen: u32, p: vec4<f32>, c0: mat4x4<f32>, c1: mat4x4<f32>, c2: mat4x4<f32>, c3: mat4x4<f32>) -> mat4x4<f32> {
  let vis = vec4<u32>(kb, kb + 1u, kb + 2u, kb + 3u) < vec4<u32>(seen);
  return weigh4(select(vec4<f32>(0.0), p, vis), seen_rows(vis, c0), seen_rows(vis, c1),
                seen_rows(vis, c2), seen_rows(vis, c3));
}

// The key rows (columns of c) a query sees, 0 for the others.
fn seen_rows(vis: vec4<bool>, c: mat4x4<f32>) -> mat4x4<f32> {
  let z = vec4<f32>(0.0);
  return mat4x4<f32>(select(z, c[0], vis.x), select(z, c[1], vis.y), select(z, c[2], vis.z),
                     select(z, c[3], vis.w));
}

// The EV output vec4s of a query at ob.
fn store_values(ob: u32, a: mat4x4<f32>) {
  for (var e = 0u; e < EV; e++) {
    out[ob + e] = a[e];
  }
}
