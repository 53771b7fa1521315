// @enable-f16
// Absorbed MLA decode shaped for CPU WebGPU drivers (lavapipe): the latent MQA as two
// skinny GEMMs around a softmax, with the scores written out in between.
//
//   scores:  S[t, h, k] = scale * dot(q_absorbed[t, h], cache[row_k])     (576-wide)
//            (the query and the cache read through textures, see their bindings)
//   softmax: P[t, h, k] = exp(S - max_k S) / sum_k exp(S - max_k S), LSE[t, h]
//            (gemm_softmax.wgsl, shared with expanded_gemm.wgsl)
//   values:  x[t, h, :] = sum_k P[t, h, k] * cache[row_k][0:r]
//
// Why not one fused pass (absorbed.wgsl): on lavapipe a buffer load inside a loop costs
// about as much as 25 8-lane FMAs at the measured peak (Mesa 22.3's gallivm loads every
// lane's element of every component separately, whatever the address space: storage,
// uniform and workgroup loads measured alike, 2.4-3.3 ns per 8-lane component on this
// 2-core machine, tools/load_cost_probe.ts), so speed is FMAs per loaded number inside one
// lane, and that needs a register tile of heads x keys in the scores and heads x output
// columns in the values. A fused kernel cannot hold both: its lane would keep every
// head's whole 512-wide output. Split in three passes, each lane keeps one tile:
//   - scores: HT heads x 16 keys; per vec4 of the key width a lane loads 16 cached and
//     HT query vec4s for 16 x HT vec4 dot products (HT = 16: 8 FMAs per loaded number);
//   - values: HT heads x EV output vec4s; per 4 keys a lane loads 4 x EV cached and HT
//     probability vec4s for 4 x HT x EV vec4 FMAs (12.8 per loaded number at 16 x 16).
// The tile is written out head by head, one named accumulator per head (s0..s15,
// a0..a15), each statement under `if (HT > j)`, which folds away at compile time for a
// smaller tile. Kept in a private array indexed by loop counters, the same tiles ran
// 1.5-2x slower (docs/benchmarks.md, session 7; tools/gemm_tile_probe.ts times both forms).
// The values pass reads the probabilities through a read-only binding (probs_in, the
// same binding number as the scores pass's read_write probs: WGSL allows that across
// entry points), which tells a driver nothing writes them during the pass; on lavapipe it
// measured no slower than the read_write one, and faster in most interleaved runs.
// The lanes of a workgroup take consecutive key groups (scores) or output column blocks
// (values), so a workgroup reads 8 neighbouring rows or 8 neighbouring slices of a row.
// No workgroup memory and no barriers anywhere: every early return is safe.
//
// Keys are read through k_rows (logical key -> buffer row) and only the query's visible
// keys [0, q_meta.z) of its sequence (the host computes them from the layout), so padding
// rows are never read. A partial key group re-reads its last visible key in the missing
// slots, whose scores are never stored and whose probabilities are 0.
// Scores, probabilities and accumulators are f32 (the f16 variant widens as it loads).
// A row with no visible key writes x = 0 and LSE -inf; a row whose visible keys hold a
// NaN writes NaN, like the float64 reference (exp(NaN - m) poisons the sum).
//
// Loop counts (lavapipe ends every loop of an invocation once all of them together ran
// 65535 iterations; adapter/gemm_plan.ts counts the same way and refuses a plan that
// needs more): scores KEY_TEX + 1 (the plan counts KEY_VEC4 + 1, which is as many or
// more), softmax 2 x (ceil(keys / 4) + 1), values ceil(split_keys / 4) + 1. The tile's
// heads, keys and columns are written out (no loop).
//
// f16 rows packed (`packed` switch, CPT = 2): the cache is an rgba32uint texture of eight
// halves per texel, so each fetch gives two vec4 columns. The scores loop walks texels and
// does both columns' dot products per step (the query's two vec4s are two texels of its
// rgba32float texture: it is f32 for the f16 range, see q_tex); the values pass takes its EV
// columns as EV / 2 texels. Everything after the fetch (dot products, accumulators) is the
// same f32 arithmetic as unpacked.

// What expanded_gemm.wgsl shares word for word (Pair, Cols, unpack_texel, key_rows, bind_scores and
// bind_values, dots, dots16, weigh4, ldp), appended after the last line.
// @include gemm_common.wgsl

const WG: u32 = 8u; // @param invocations per workgroup (the lavapipe SIMD width)
const KEY_VEC4: u32 = 144u; // @param (r + rope) / 4
const VAL_VEC4: u32 = 128u; // @param r / 4
const RPT: u32 = 1u; // @param cache rows per texture row (the texture's height stays within the device's limit)
const RPTQ: u32 = 1u; // @param query rows per texture row of q_tex (the same rule)
// Vec4s per texel of cache_tex: 1, or 2 with the `packed` switch (f16 rows as
// rgba32uint texels of eight halves: a lavapipe fetch costs the same whatever the texel's
// width, so a pair per fetch halves the fetches, docs/benchmarks.md, session 15). The
// passes then take the vec4 columns two at a time (the scores loop walks texels). q_tex is
// rgba32float, one vec4 a texel, in every case.
const CPT: u32 = 1u; // @param
const_assert CPT == 1u || CPT == 2u;
const_assert KEY_VEC4 % CPT == 0u;
const KEY_TEX: u32 = KEY_VEC4 / CPT; // texels per row
const HT: u32 = 16u; // @param heads per tile (register tile rows, <= 16: s0..s15 below)
const EV: u32 = 16u; // @param output vec4 columns per invocation in the values pass (divides VAL_VEC4)
const RPTP: u32 = 1u; // @param probability rows per texture row of p_tex (with the ptex switch)
const_assert VAL_VEC4 % EV == 0u;
// c0..c15, and per head four mat4x4 blocks of 4 columns each, filled whole from EV = 4 on.
const_assert EV == 1u || EV == 2u || EV == 4u || EV == 8u || EV == 16u;
const_assert HT <= 16u; // s0..s15, a0..a15
// Packed, the values pass takes its EV columns as EV / 2 texels.
const_assert CPT == 1u || EV % 2u == 0u;
// Keys per invocation in the scores pass (the plan's keysPerBlock, which sizes the grid):
// four vec4 columns of scores per head. The tile is written out for 16 (ra..rd), so any
// other value the plan might name fails to compile rather than drop or repeat keys.
const KG: u32 = 16u; // @param
const_assert KG == 16u;

struct Params {
  total_t: u32, // query tokens
  heads: u32,
  scale: f32,   // softmax scale (m^2 / sqrt(nope + rope) for YaRN specs)
  // vec4s per score row: ceil(most visible keys / 4). A runtime value, not a @param, so
  // one pipeline serves every context length.
  kmax4: u32,
  split_keys: u32, // keys per split of the values pass (a multiple of 4)
  splits: u32,     // key splits of the values pass (1: it writes x itself)
}

// q_meta[t] = (buffer row of query t, first logical key of its sequence,
//              number of keys it sees, unused)
@group(0) @binding(0) var<uniform> params: Params;
// Both textures are bound as read-only storage textures (`texture_storage_2d<F, read>`,
// F the plan's format: the cache's rgba32float, rgba16float for f16, rgba32uint packed; the
// query's rgba32float always), not sampled ones: lavapipe reads a storage texel 1.1-1.4x
// faster than it fetches a sampled one (tools/bandwidth_probe.ts), and the headline decode
// ran 1.15x faster for it with the same bits out (docs/benchmarks.md, session 16). The
// copies write them as storage textures already, so they carry that usage.
// The absorbed query as a texture like the cache's (copied from q_absorbed by
// cache_texture.wgsl, a pass of the attention core): row (query row x heads + head)'s
// vec4 c is texel ((row % RPTQ) x KEY_VEC4 + c, row / RPTQ). Read through a texture for
// the same reason as the cache: the scores pass loads 16 query vec4s per 16 cache vec4s,
// and as storage loads they took about a fifth of the pass (docs/benchmarks.md, session 13).
// rgba32float in every dtype, one vec4 a texel (also where the cache is packed): q_absorbed
// is f32 (kit.absorbQ with dtype "f32") because q~ = q_nope . W_UK can pass f16's largest
// finite value, 65504, where q_nope, the cache and the reference do not; an rgba16float or
// packed-halves texture would turn it back into inf.
@group(0) @binding(1) var q_tex: texture_storage_2d<rgba32float, read>;
// The latent cache as a texture (cache_texture.wgsl copies it from the cache buffer, outside
// the attention core): row k's vec4 c is texel ((k % RPT) x KEY_VEC4 + c, k / RPT), rgba32f
// or rgba16f (read as f32 either way). Why a texture: Mesa 22.3 loads a storage vec4 lane by
// lane, with a test of the lane's execution bit and, per component, a bounds test and a
// masked broadcast through the stack (about 400 instructions per vec4 in the scores loop);
// a texel fetch loads a lane's texel at once. The passes measured 1.2-1.4x faster for it
// (docs/benchmarks.md, sessions 12 and 13).
@group(0) @binding(2) var cache_tex: texture_storage_2d<rgba32float, read>; // @nopacked // @f32
// @f16: @group(0) @binding(2) var cache_tex: texture_storage_2d<rgba16float, read>; // @nopacked
// @packed: @group(0) @binding(2) var cache_tex: texture_storage_2d<rgba32uint, read>;
@group(0) @binding(3) var<storage, read> q_meta: array<vec4<u32>>;         // [totalQ]
@group(0) @binding(4) var<storage, read> k_rows: array<u32>;               // [totalK]
// S, then P in place: [total_t, h, kmax4] vec4s; slots past a row's keys hold 0 in P.
// Written by the scores pass (and the softmax's own binding), read by the values pass
// through probs_in: the same buffer at the same binding, read-only there.
@group(0) @binding(5) var<storage, read_write> probs: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> probs_in: array<vec4<f32>>;
// The probabilities as a texture (the `ptex` switch: the plan's probTexture), written by
// the softmax pass (gemm_softmax.wgsl) and read by the values pass: row (token x heads +
// head)'s vec4 i is texel ((row % RPTP) x KMAX4 + i, row / RPTP). Why: all 8 lanes of a
// values workgroup load the same 16 heads' probabilities per 4 keys, and as storage loads
// (per lane and component on lavapipe) they took half of the f32 values pass; a texel
// fetch costs about the same whatever its width (docs/benchmarks.md, session 24).
// @ptex: @group(0) @binding(7) var p_tex: texture_storage_2d<rgba32float, read>;
@group(0) @binding(6) var<storage, read_write> x_out: array<vec4<f32>>;    // [splits, total_t, h, VAL_VEC4]

// Vec4s CPT p .. CPT p + CPT - 1 of absorbed-query row `row` (= query row x heads + head),
// the cache's texel p alongside. q_tex holds one f32 vec4 a texel (KEY_VEC4 texels a row),
// so with packed cache rows this takes two texels.
fn ldq(row: u32, p: u32) -> Pair {
  let xy = vec2<u32>((row % RPTQ) * KEY_VEC4 + CPT * p, row / RPTQ);
  return Pair(textureLoad(q_tex, xy), vec4<f32>()); // @nopacked
  // @packed: return Pair(textureLoad(q_tex, xy), textureLoad(q_tex, xy + vec2<u32>(1u, 0u)));
}

// Texel p of cache row `row`.
fn ldc(row: u32, p: u32) -> Pair {
  let xy = vec2<u32>((row % RPT) * KEY_TEX + p, row / RPT);
  return Pair(textureLoad(cache_tex, xy), vec4<f32>()); // @nopacked
  // @packed: return unpack_texel(textureLoad(cache_tex, xy));
}

fn cols(r: vec4<u32>, p: u32) -> Cols {
  let a = ldc(r.x, p);
  let b = ldc(r.y, p);
  let c = ldc(r.z, p);
  let d = ldc(r.w, p);
  return Cols(mat4x4<f32>(a.lo, b.lo, c.lo, d.lo), mat4x4<f32>(a.hi, b.hi, c.hi, d.hi));
}

// Both passes bind the same seven buffers: bind_scores and bind_values (gemm_common.wgsl)
// use the ones they share through this function, then each its probabilities binding.
fn bind_common() {
  _ = params.total_t;
  _ = textureDimensions(q_tex);
  _ = textureDimensions(cache_tex);
  _ = q_meta[0];
  _ = k_rows[0];
  _ = x_out[0];
}

// The query token of grid slice z: tokens 0, n - 1, 1, n - 2, ... Lavapipe runs one
// contiguous run of a dispatch's workgroups per thread (Mesa's compute thread pool), and
// in a causal prefill token t sees t + 1 keys: in increasing order the last thread would
// get most of the work (measured 1.3-1.4x slower, docs/benchmarks.md, session 9).
// Interleaved, neighbouring slices sum to about the same work: exactly so for one causal
// sequence, roughly for packed ones. A bijection on [0, n): each token once, in any pass.
fn token_of(z: u32) -> u32 {
  return select(params.total_t - 1u - z / 2u, z / 2u, z % 2u == 0u);
}

// Head j of tile `tile`, clamped to the last head (a partial tile recomputes it and
// stores nothing for it).
fn head_of(tile: u32, j: u32) -> u32 {
  return min(tile * HT + j, params.heads - 1u);
}

// Pass 1. Grid: x = key groups of 16 / WG, y = head tiles, z = query tokens (token_of).
@compute @workgroup_size(WG)
fn scores(@builtin(global_invocation_id) gid: vec3<u32>) {
  bind_scores();
  let t = token_of(gid.z);
  let tile = gid.y;
  let k0 = gid.x * KG;
  let qm = q_meta[t];
  if (k0 >= qm.z) {
    return; // past this query's visible keys (no barrier in this kernel)
  }
  let last = qm.z - 1u;
  let base = qm.y;
  let ra = key_rows(base, k0, last);
  let rb = key_rows(base, k0 + 4u, last);
  let rc = key_rows(base, k0 + 8u, last);
  let rd = key_rows(base, k0 + 12u, last);
  // Row of head j's query in q_tex (j past the heads: the last head, never stored).
  let qr = qm.x * params.heads;
  let q0 = qr + head_of(tile, 0u);
  let q1 = qr + head_of(tile, 1u);
  let q2 = qr + head_of(tile, 2u);
  let q3 = qr + head_of(tile, 3u);
  let q4 = qr + head_of(tile, 4u);
  let q5 = qr + head_of(tile, 5u);
  let q6 = qr + head_of(tile, 6u);
  let q7 = qr + head_of(tile, 7u);
  let q8 = qr + head_of(tile, 8u);
  let q9 = qr + head_of(tile, 9u);
  let q10 = qr + head_of(tile, 10u);
  let q11 = qr + head_of(tile, 11u);
  let q12 = qr + head_of(tile, 12u);
  let q13 = qr + head_of(tile, 13u);
  let q14 = qr + head_of(tile, 14u);
  let q15 = qr + head_of(tile, 15u);
  // s<j>: column c = scores of keys k0 + 4c .. k0 + 4c + 3 for head j of the tile.
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
  for (var d = 0u; d < KEY_TEX; d++) {
    // The 16 cached texels are loaded once and serve all HT heads.
    let ca = cols(ra, d);
    let cb = cols(rb, d);
    let cc = cols(rc, d);
    let cd = cols(rd, d);
    if (HT > 0u) { s0 += dots(ldq(q0, d), ca, cb, cc, cd); }
    if (HT > 1u) { s1 += dots(ldq(q1, d), ca, cb, cc, cd); }
    if (HT > 2u) { s2 += dots(ldq(q2, d), ca, cb, cc, cd); }
    if (HT > 3u) { s3 += dots(ldq(q3, d), ca, cb, cc, cd); }
    if (HT > 4u) { s4 += dots(ldq(q4, d), ca, cb, cc, cd); }
    if (HT > 5u) { s5 += dots(ldq(q5, d), ca, cb, cc, cd); }
    if (HT > 6u) { s6 += dots(ldq(q6, d), ca, cb, cc, cd); }
    if (HT > 7u) { s7 += dots(ldq(q7, d), ca, cb, cc, cd); }
    if (HT > 8u) { s8 += dots(ldq(q8, d), ca, cb, cc, cd); }
    if (HT > 9u) { s9 += dots(ldq(q9, d), ca, cb, cc, cd); }
    if (HT > 10u) { s10 += dots(ldq(q10, d), ca, cb, cc, cd); }
    if (HT > 11u) { s11 += dots(ldq(q11, d), ca, cb, cc, cd); }
    if (HT > 12u) { s12 += dots(ldq(q12, d), ca, cb, cc, cd); }
    if (HT > 13u) { s13 += dots(ldq(q13, d), ca, cb, cc, cd); }
    if (HT > 14u) { s14 += dots(ldq(q14, d), ca, cb, cc, cd); }
    if (HT > 15u) { s15 += dots(ldq(q15, d), ca, cb, cc, cd); }
  }
  // Whole vec4s of scores (k0 is a multiple of 16); slots past the visible keys are
  // written too and masked by the softmax pass.
  let n4 = min(4u, (qm.z - k0 + 3u) / 4u);
  if (HT > 0u) { store_scores(t, tile * HT + 0u, k0, n4, s0); }
  if (HT > 1u) { store_scores(t, tile * HT + 1u, k0, n4, s1); }
  if (HT > 2u) { store_scores(t, tile * HT + 2u, k0, n4, s2); }
  if (HT > 3u) { store_scores(t, tile * HT + 3u, k0, n4, s3); }
  if (HT > 4u) { store_scores(t, tile * HT + 4u, k0, n4, s4); }
  if (HT > 5u) { store_scores(t, tile * HT + 5u, k0, n4, s5); }
  if (HT > 6u) { store_scores(t, tile * HT + 6u, k0, n4, s6); }
  if (HT > 7u) { store_scores(t, tile * HT + 7u, k0, n4, s7); }
  if (HT > 8u) { store_scores(t, tile * HT + 8u, k0, n4, s8); }
  if (HT > 9u) { store_scores(t, tile * HT + 9u, k0, n4, s9); }
  if (HT > 10u) { store_scores(t, tile * HT + 10u, k0, n4, s10); }
  if (HT > 11u) { store_scores(t, tile * HT + 11u, k0, n4, s11); }
  if (HT > 12u) { store_scores(t, tile * HT + 12u, k0, n4, s12); }
  if (HT > 13u) { store_scores(t, tile * HT + 13u, k0, n4, s13); }
  if (HT > 14u) { store_scores(t, tile * HT + 14u, k0, n4, s14); }
  if (HT > 15u) { store_scores(t, tile * HT + 15u, k0, n4, s15); }
}

// The n4 score vec4s of head h (nothing for a clamped head past the last).
fn store_scores(t: u32, h: u32, k0: u32, n4: u32, s: mat4x4<f32>) {
  if (h < params.heads) {
    let ob = (t * params.heads + h) * params.kmax4 + k0 / 4u;
    for (var c = 0u; c < 4u; c++) {
      if (c < n4) {
        probs[ob + c] = s[c] * params.scale;
      }
    }
  }
}

// Pass 3 (pass 2 is gemm_softmax.wgsl). Grid: x = column blocks (VAL_VEC4 / EV) / WG,
// y = head tiles, z = query tokens (token_of) x key splits (split fastest). Split s
// walks keys [s x split_keys, (s + 1) x split_keys) of the token's visible keys and
// writes its partial x (probabilities are normalized over all keys, so the splits'
// partials add up to x: split_sum.wgsl, or x itself with one split). A split past the
// token's keys writes 0.
// With EV = 16 (r = 512) the 8 lanes of a workgroup read one whole 2 KiB run of each key
// row: four workgroups reading 512-byte slices of the same rows at different times gave a
// 1.2-1.7x slower median pass on lavapipe (docs/benchmarks.md, session 11); the key
// splits give the grid back the workgroups the wide blocks took away.
@compute @workgroup_size(WG)
fn values(@builtin(global_invocation_id) gid: vec3<u32>) {
  bind_values();
  let t = token_of(gid.z / params.splits);
  let split = gid.z % params.splits;
  let tile = gid.y;
  let e0 = gid.x * EV;
  if (e0 >= VAL_VEC4) {
    return; // grid rounded up to whole workgroups
  }
  let qm = q_meta[t];
  let nk = qm.z;
  let k_begin = split * params.split_keys; // a multiple of 4: no key group straddles two splits
  let k_end = min(nk, k_begin + params.split_keys);
  // Head j's probability row (ldp).
  let pr = t * params.heads;
  let p0 = pr + head_of(tile, 0u);
  let p1 = pr + head_of(tile, 1u);
  let p2 = pr + head_of(tile, 2u);
  let p3 = pr + head_of(tile, 3u);
  let p4 = pr + head_of(tile, 4u);
  let p5 = pr + head_of(tile, 5u);
  let p6 = pr + head_of(tile, 6u);
  let p7 = pr + head_of(tile, 7u);
  let p8 = pr + head_of(tile, 8u);
  let p9 = pr + head_of(tile, 9u);
  let p10 = pr + head_of(tile, 10u);
  let p11 = pr + head_of(tile, 11u);
  let p12 = pr + head_of(tile, 12u);
  let p13 = pr + head_of(tile, 13u);
  let p14 = pr + head_of(tile, 14u);
  let p15 = pr + head_of(tile, 15u);
  // a<j>_<m>: column e = output vec4 e0 + 4m + e of head j (columns from EV on stay 0;
  // the blocks m >= ceil(EV / 4) are never touched).
  var a0_0 = mat4x4<f32>();
  var a0_1 = mat4x4<f32>();
  var a0_2 = mat4x4<f32>();
  var a0_3 = mat4x4<f32>();
  var a1_0 = mat4x4<f32>();
  var a1_1 = mat4x4<f32>();
  var a1_2 = mat4x4<f32>();
  var a1_3 = mat4x4<f32>();
  var a2_0 = mat4x4<f32>();
  var a2_1 = mat4x4<f32>();
  var a2_2 = mat4x4<f32>();
  var a2_3 = mat4x4<f32>();
  var a3_0 = mat4x4<f32>();
  var a3_1 = mat4x4<f32>();
  var a3_2 = mat4x4<f32>();
  var a3_3 = mat4x4<f32>();
  var a4_0 = mat4x4<f32>();
  var a4_1 = mat4x4<f32>();
  var a4_2 = mat4x4<f32>();
  var a4_3 = mat4x4<f32>();
  var a5_0 = mat4x4<f32>();
  var a5_1 = mat4x4<f32>();
  var a5_2 = mat4x4<f32>();
  var a5_3 = mat4x4<f32>();
  var a6_0 = mat4x4<f32>();
  var a6_1 = mat4x4<f32>();
  var a6_2 = mat4x4<f32>();
  var a6_3 = mat4x4<f32>();
  var a7_0 = mat4x4<f32>();
  var a7_1 = mat4x4<f32>();
  var a7_2 = mat4x4<f32>();
  var a7_3 = mat4x4<f32>();
  var a8_0 = mat4x4<f32>();
  var a8_1 = mat4x4<f32>();
  var a8_2 = mat4x4<f32>();
  var a8_3 = mat4x4<f32>();
  var a9_0 = mat4x4<f32>();
  var a9_1 = mat4x4<f32>();
  var a9_2 = mat4x4<f32>();
  var a9_3 = mat4x4<f32>();
  var a10_0 = mat4x4<f32>();
  var a10_1 = mat4x4<f32>();
  var a10_2 = mat4x4<f32>();
  var a10_3 = mat4x4<f32>();
  var a11_0 = mat4x4<f32>();
  var a11_1 = mat4x4<f32>();
  var a11_2 = mat4x4<f32>();
  var a11_3 = mat4x4<f32>();
  var a12_0 = mat4x4<f32>();
  var a12_1 = mat4x4<f32>();
  var a12_2 = mat4x4<f32>();
  var a12_3 = mat4x4<f32>();
  var a13_0 = mat4x4<f32>();
  var a13_1 = mat4x4<f32>();
  var a13_2 = mat4x4<f32>();
  var a13_3 = mat4x4<f32>();
  var a14_0 = mat4x4<f32>();
  var a14_1 = mat4x4<f32>();
  var a14_2 = mat4x4<f32>();
  var a14_3 = mat4x4<f32>();
  var a15_0 = mat4x4<f32>();
  var a15_1 = mat4x4<f32>();
  var a15_2 = mat4x4<f32>();
  var a15_3 = mat4x4<f32>();
  for (var kb = k_begin; kb < k_end; kb += 4u) {
    let r = key_rows(qm.y, kb, nk - 1u);
    // The block's 4 keys x EV columns, loaded once for all HT heads: c<e> * p is
    // sum_k p_k cache[row_k][e0 + e].
    var c0 = mat4x4<f32>();
    var c1 = mat4x4<f32>();
    var c2 = mat4x4<f32>();
    var c3 = mat4x4<f32>();
    var c4 = mat4x4<f32>();
    var c5 = mat4x4<f32>();
    var c6 = mat4x4<f32>();
    var c7 = mat4x4<f32>();
    var c8 = mat4x4<f32>();
    var c9 = mat4x4<f32>();
    var c10 = mat4x4<f32>();
    var c11 = mat4x4<f32>();
    var c12 = mat4x4<f32>();
    var c13 = mat4x4<f32>();
    var c14 = mat4x4<f32>();
    var c15 = mat4x4<f32>();
    if (CPT == 1u) {
      c0 = cols(r, e0).lo;
      if (EV > 1u) { c1 = cols(r, e0 + 1u).lo; }
      if (EV > 2u) { c2 = cols(r, e0 + 2u).lo; }
      if (EV > 3u) { c3 = cols(r, e0 + 3u).lo; }
      if (EV > 4u) { c4 = cols(r, e0 + 4u).lo; }
      if (EV > 5u) { c5 = cols(r, e0 + 5u).lo; }
      if (EV > 6u) { c6 = cols(r, e0 + 6u).lo; }
      if (EV > 7u) { c7 = cols(r, e0 + 7u).lo; }
      if (EV > 8u) { c8 = cols(r, e0 + 8u).lo; }
      if (EV > 9u) { c9 = cols(r, e0 + 9u).lo; }
      if (EV > 10u) { c10 = cols(r, e0 + 10u).lo; }
      if (EV > 11u) { c11 = cols(r, e0 + 11u).lo; }
      if (EV > 12u) { c12 = cols(r, e0 + 12u).lo; }
      if (EV > 13u) { c13 = cols(r, e0 + 13u).lo; }
      if (EV > 14u) { c14 = cols(r, e0 + 14u).lo; }
      if (EV > 15u) { c15 = cols(r, e0 + 15u).lo; }
    } else {
      // Packed: columns e0 + 2m and e0 + 2m + 1 are texel e0 / 2 + m (EV and e0 even).
      let e = e0 / 2u;
      let t0 = cols(r, e);
      c0 = t0.lo;
      c1 = t0.hi;
      if (EV > 2u) { let t = cols(r, e + 1u); c2 = t.lo; c3 = t.hi; }
      if (EV > 4u) { let t = cols(r, e + 2u); c4 = t.lo; c5 = t.hi; }
      if (EV > 6u) { let t = cols(r, e + 3u); c6 = t.lo; c7 = t.hi; }
      if (EV > 8u) { let t = cols(r, e + 4u); c8 = t.lo; c9 = t.hi; }
      if (EV > 10u) { let t = cols(r, e + 5u); c10 = t.lo; c11 = t.hi; }
      if (EV > 12u) { let t = cols(r, e + 6u); c12 = t.lo; c13 = t.hi; }
      if (EV > 14u) { let t = cols(r, e + 7u); c14 = t.lo; c15 = t.hi; }
    }
    // Probabilities of keys kb .. kb + 3 (0 past the visible keys) at vec4 kb / 4.
    let pk = kb / 4u;
    if (HT > 0u) {
      let p = ldp(p0, pk);
      a0_0 += weigh4(p, c0, c1, c2, c3);
      if (EV > 4u) { a0_1 += weigh4(p, c4, c5, c6, c7); }
      if (EV > 8u) { a0_2 += weigh4(p, c8, c9, c10, c11); a0_3 += weigh4(p, c12, c13, c14, c15); }
    }
    if (HT > 1u) {
      let p = ldp(p1, pk);
      a1_0 += weigh4(p, c0, c1, c2, c3);
      if (EV > 4u) { a1_1 += weigh4(p, c4, c5, c6, c7); }
      if (EV > 8u) { a1_2 += weigh4(p, c8, c9, c10, c11); a1_3 += weigh4(p, c12, c13, c14, c15); }
    }
    if (HT > 2u) {
      let p = ldp(p2, pk);
      a2_0 += weigh4(p, c0, c1, c2, c3);
      if (EV > 4u) { a2_1 += weigh4(p, c4, c5, c6, c7); }
      if (EV > 8u) { a2_2 += weigh4(p, c8, c9, c10, c11); a2_3 += weigh4(p, c12, c13, c14, c15); }
    }
    if (HT > 3u) {
      let p = ldp(p3, pk);
      a3_0 += weigh4(p, c0, c1, c2, c3);
      if (EV > 4u) { a3_1 += weigh4(p, c4, c5, c6, c7); }
      if (EV > 8u) { a3_2 += weigh4(p, c8, c9, c10, c11); a3_3 += weigh4(p, c12, c13, c14, c15); }
    }
    if (HT > 4u) {
      let p = ldp(p4, pk);
      a4_0 += weigh4(p, c0, c1, c2, c3);
      if (EV > 4u) { a4_1 += weigh4(p, c4, c5, c6, c7); }
      if (EV > 8u) { a4_2 += weigh4(p, c8, c9, c10, c11); a4_3 += weigh4(p, c12, c13, c14, c15); }
    }
    if (HT > 5u) {
      let p = ldp(p5, pk);
      a5_0 += weigh4(p, c0, c1, c2, c3);
      if (EV > 4u) { a5_1 += weigh4(p, c4, c5, c6, c7); }
      if (EV > 8u) { a5_2 += weigh4(p, c8, c9, c10, c11); a5_3 += weigh4(p, c12, c13, c14, c15); }
    }
    if (HT > 6u) {
      let p = ldp(p6, pk);
      a6_0 += weigh4(p, c0, c1, c2, c3);
      if (EV > 4u) { a6_1 += weigh4(p, c4, c5, c6, c7); }
      if (EV > 8u) { a6_2 += weigh4(p, c8, c9, c10, c11); a6_3 += weigh4(p, c12, c13, c14, c15); }
    }
    if (HT > 7u) {
      let p = ldp(p7, pk);
      a7_0 += weigh4(p, c0, c1, c2, c3);
      if (EV > 4u) { a7_1 += weigh4(p, c4, c5, c6, c7); }
      if (EV > 8u) { a7_2 += weigh4(p, c8, c9, c10, c11); a7_3 += weigh4(p, c12, c13, c14, c15); }
    }
    if (HT > 8u) {
      let p = ldp(p8, pk);
      a8_0 += weigh4(p, c0, c1, c2, c3);
      if (EV > 4u) { a8_1 += weigh4(p, c4, c5, c6, c7); }
      if (EV > 8u) { a8_2 += weigh4(p, c8, c9, c10, c11); a8_3 += weigh4(p, c12, c13, c14, c15); }
    }
    if (HT > 9u) {
      let p = ldp(p9, pk);
      a9_0 += weigh4(p, c0, c1, c2, c3);
      if (EV > 4u) { a9_1 += weigh4(p, c4, c5, c6, c7); }
      if (EV > 8u) { a9_2 += weigh4(p, c8, c9, c10, c11); a9_3 += weigh4(p, c12, c13, c14, c15); }
    }
    if (HT > 10u) {
      let p = ldp(p10, pk);
      a10_0 += weigh4(p, c0, c1, c2, c3);
      if (EV > 4u) { a10_1 += weigh4(p, c4, c5, c6, c7); }
      if (EV > 8u) { a10_2 += weigh4(p, c8, c9, c10, c11); a10_3 += weigh4(p, c12, c13, c14, c15); }
    }
    if (HT > 11u) {
      let p = ldp(p11, pk);
      a11_0 += weigh4(p, c0, c1, c2, c3);
      if (EV > 4u) { a11_1 += weigh4(p, c4, c5, c6, c7); }
      if (EV > 8u) { a11_2 += weigh4(p, c8, c9, c10, c11); a11_3 += weigh4(p, c12, c13, c14, c15); }
    }
    if (HT > 12u) {
      let p = ldp(p12, pk);
      a12_0 += weigh4(p, c0, c1, c2, c3);
      if (EV > 4u) { a12_1 += weigh4(p, c4, c5, c6, c7); }
      if (EV > 8u) { a12_2 += weigh4(p, c8, c9, c10, c11); a12_3 += weigh4(p, c12, c13, c14, c15); }
    }
    if (HT > 13u) {
      let p = ldp(p13, pk);
      a13_0 += weigh4(p, c0, c1, c2, c3);
      if (EV > 4u) { a13_1 += weigh4(p, c4, c5, c6, c7); }
      if (EV > 8u) { a13_2 += weigh4(p, c8, c9, c10, c11); a13_3 += weigh4(p, c12, c13, c14, c15); }
    }
    if (HT > 14u) {
      let p = ldp(p14, pk);
      a14_0 += weigh4(p, c0, c1, c2, c3);
      if (EV > 4u) { a14_1 += weigh4(p, c4, c5, c6, c7); }
      if (EV > 8u) { a14_2 += weigh4(p, c8, c9, c10, c11); a14_3 += weigh4(p, c12, c13, c14, c15); }
    }
    if (HT > 15u) {
      let p = ldp(p15, pk);
      a15_0 += weigh4(p, c0, c1, c2, c3);
      if (EV > 4u) { a15_1 += weigh4(p, c4, c5, c6, c7); }
      if (EV > 8u) { a15_2 += weigh4(p, c8, c9, c10, c11); a15_3 += weigh4(p, c12, c13, c14, c15); }
    }
  }
  let row0 = split * params.total_t + t;
  if (HT > 0u) { store_values(row0, tile * HT + 0u, e0, a0_0, a0_1, a0_2, a0_3); }
  if (HT > 1u) { store_values(row0, tile * HT + 1u, e0, a1_0, a1_1, a1_2, a1_3); }
  if (HT > 2u) { store_values(row0, tile * HT + 2u, e0, a2_0, a2_1, a2_2, a2_3); }
  if (HT > 3u) { store_values(row0, tile * HT + 3u, e0, a3_0, a3_1, a3_2, a3_3); }
  if (HT > 4u) { store_values(row0, tile * HT + 4u, e0, a4_0, a4_1, a4_2, a4_3); }
  if (HT > 5u) { store_values(row0, tile * HT + 5u, e0, a5_0, a5_1, a5_2, a5_3); }
  if (HT > 6u) { store_values(row0, tile * HT + 6u, e0, a6_0, a6_1, a6_2, a6_3); }
  if (HT > 7u) { store_values(row0, tile * HT + 7u, e0, a7_0, a7_1, a7_2, a7_3); }
  if (HT > 8u) { store_values(row0, tile * HT + 8u, e0, a8_0, a8_1, a8_2, a8_3); }
  if (HT > 9u) { store_values(row0, tile * HT + 9u, e0, a9_0, a9_1, a9_2, a9_3); }
  if (HT > 10u) { store_values(row0, tile * HT + 10u, e0, a10_0, a10_1, a10_2, a10_3); }
  if (HT > 11u) { store_values(row0, tile * HT + 11u, e0, a11_0, a11_1, a11_2, a11_3); }
  if (HT > 12u) { store_values(row0, tile * HT + 12u, e0, a12_0, a12_1, a12_2, a12_3); }
  if (HT > 13u) { store_values(row0, tile * HT + 13u, e0, a13_0, a13_1, a13_2, a13_3); }
  if (HT > 14u) { store_values(row0, tile * HT + 14u, e0, a14_0, a14_1, a14_2, a14_3); }
  if (HT > 15u) { store_values(row0, tile * HT + 15u, e0, a15_0, a15_1, a15_2, a15_3); }
}

// The EV output vec4s of head h of partial row `row0` (split x tokens + token), from its
// four column blocks (nothing for a clamped head past the last).
fn store_values(row0: u32, h: u32, e0: u32, a0: mat4x4<f32>, a1: mat4x4<f32>, a2: mat4x4<f32>, a3: mat4x4<f32>) {
  if (h < params.heads) {
    let o = (row0 * params.heads + h) * VAL_VEC4 + e0;
    for (var e = 0u; e < min(EV, 4u); e++) {
      x_out[o + e] = a0[e];
    }
    if (EV > 4u) {
      for (var e = 0u; e < 4u; e++) {
        x_out[o + 4u + e] = a1[e];
      }
    }
    if (EV > 8u) {
      for (var e = 0u; e < 4u; e++) {
        x_out[o + 8u + e] = a2[e];
        x_out[o + 12u + e] = a3[e];
      }
    }
  }
}
