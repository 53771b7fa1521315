// @enable-f16
// Expanded (dense) multi-head attention with head_dim_qk != head_dim_v:
//   q [qRows, h, QK_VEC4 vec4s]  (= [q_nope | rope(q_pe)], width nope + rope)
//   k [kRows, h, QK_VEC4]        (= [W_UK,h c | rope(k_pe)], from expand_kv.wgsl)
//   v [kRows, h, V_VEC4]         (= W_UV,h c)
//   out[t, h] = softmax(scale * q . k^T) v,  LSE = log sum exp(scale * q . k^T).
//
// Grid: x = (query tile - first tile of this dispatch) * head tiles + head tile.
// One workgroup handles QT consecutive query tokens of ONE sequence (a query tile,
// from the host's q_tiles table) and HEADS heads; invocation i IS head h0 + i
// (WG == HEADS), like absorbed.wgsl. Why, on lavapipe (8 invocations = the 8 lanes
// of one AVX2 register; every buffer load inside a loop is done lane by lane, about a
// dozen FMAs per float, see absorbed.wgsl; here the K/V addresses differ per lane
// anyway, heads being per lane):
//   - the whole online softmax of a head lives in one invocation's registers: no
//     workgroup memory, no barrier, no serial reduction by invocation 0;
//   - register tile per invocation: QT queries x BLOCK keys. Each K vec4 (a gather:
//     heads differ per lane) is reused for the QT queries, each query vec4 for the
//     BLOCK keys: per d, BLOCK + QT loads for QT * BLOCK dot products. Decode runs
//     QT = 1, BLOCK = 16 (s0..s3); prefill QT = 4, BLOCK = 4 (one vec4 of scores per
//     query), which keeps the tile at 16 scores per lane (16 AVX2 registers);
//   - the value phase reuses each V vec4 (a gather) for the QT queries. The decode
//     tile's output (V_VEC4 vec4s) is a private array indexed by the loop counter, i.e.
//     per-lane stack slots read and written once per V vec4 per block; the prefill
//     tile's QT outputs accumulate in place in `out`, in the rows this invocation alone
//     writes (zeroed first, normalized at the end), as in absorbed.wgsl: with a QT x
//     V_VEC4 private array lavapipe's LLVM took about 35 s to compile the V2-Lite
//     prefill tile, now about 2.5 s; it runs about 20% slower there, and `auto` picks
//     wgsl-expanded-gemm for prefill on lavapipe (docs/benchmarks.md, session 22).
// The rows of the block come from k_rows (the same address in every lane). Fully unrolled loops
// compiled for 9-18 s and ran slower on lavapipe, so d loops stay loops, advancing
// 4 vec4s per iteration (the decode tile: DSTEP, see there; then a tail loop): lavapipe stops every loop of an
// invocation once all its loops together have run 65535 iterations (see
// absorbed.wgsl); the host counts iterations the same way (adapter/loop_budget.ts).
//
// K and V storage (switches `tex`, `stex` and `packed`, kernels/source.ts; the plan's
// variant.keyTexture and valueTexture say which):
//   - with `tex` (the prefill tile's choice wherever the textures fit) or `stex` (the
//     decode tile's: the same textures bound as read-only storage textures, see their
//     declarations): K and V are read through
//     textures (rgba32float, or rgba16float for f16: textureLoad gives f32 either way),
//     copied from the expanded buffers once, as cache construction (kit.rowsTexture,
//     cache_texture.wgsl). (key row, head) row r's texel c is at
//     ((r % RPTK) x QK_VEC4 + c, r / RPTK) (RPTV and V_VEC4 for V): rows past the
//     texture's side share texture rows. Why: Mesa 22.3's lavapipe loads a storage vec4
//     whose address differs per lane lane by lane and component by component, and a
//     texel fetch as one gather; the decode kernel, whose every K/V load is such a
//     gather, ran 2.1x (f32) and 2.3x (f16) faster (docs/benchmarks.md, session 14).
//     The whole texture is bound: params.k_base and v_base are 0 and unused.
//   - with `packed` instead (f16, even QK_VEC4 and V_VEC4; the plan's textures are then
//     rgba32uint): the same textures with two vec4s of halves per texel (vec4s 2c and
//     2c + 1 of a row are texel c, cache_texture.wgsl's packed copy), so a fetch gives
//     two vec4s: on lavapipe a texel fetch costs the same whatever its width, and eight
//     halves per fetch read 1.3-1.5x more halves per second than four (docs/benchmarks.md,
//     session 15). The decode tile then walks K and V two vec4s at a time (scores_at2,
//     values_at2); the prefill tile and the tails read one vec4 of a texel (ldk, ldv).
//     `packed` replaces `tex` (its lines carry the texture bindings and loaders), CPT = 2.
//   - without either (the textures would not fit the device): k and v are storage buffers,
//     bound at a byte offset per group of sequences (the host groups them so that no
//     binding exceeds maxStorageBufferBindingSize); params.k_base / v_base are that
//     offset in vec4s and are subtracted from every index. Only rows of this dispatch's
//     sequences are read.
//
// Visible-range rule as in absorbed.wgsl: query t sees logical keys [0, q_meta[t].z)
// of its sequence; a partial last block re-reads the last visible key of the tile's
// LAST query (always valid: it sees the most keys) and masks the missing slots.
// Queries of the tile that see fewer keys mask the keys past their own end, in the
// scores and in the values (selected out: a key a row does not see may hold NaN).
// Output semantics as absorbed.wgsl: no visible key gives 0 and -inf, a visible NaN
// key gives NaN output and LSE.

alias store_t = f32; // @dtype storage type of q, k and v
alias acc_t = f32; // accumulation type (always f32)

const WG: u32 = 16u; // @param invocations per workgroup (== HEADS: one head each)
// 8 where tiles of 16 would make a decode's whole grid one workgroup, which a CPU
// implementation runs on one thread (adapter/backends.ts expandedHeadsPerTile).
const HEADS: u32 = 16u; // @param heads per tile (a multiple of 8, the lavapipe SIMD width)
const QT: u32 = 1u; // @param queries per tile: 1 (decode, BLOCK 16) or 4 (prefill, BLOCK 4)
const QK_VEC4: u32 = 48u; // @param (nope + rope) / 4
const V_VEC4: u32 = 32u; // @param v / 4

// Keys per block: QT * BLOCK = 16 scores per invocation.
// The host passes the plan's variant.keysPerBlock (adapter/loop_budget.ts keysPerBlock,
// the one home of the rule); the assertion refuses a plan whose block does not match
// the branch the tile size selects (decode walks 4 vec4s of keys, prefill one).
const RPTK: u32 = 1u; // @param K rows per texture row (switch tex)
const RPTV: u32 = 1u; // @param V rows per texture row (switch tex)
const BLOCK: u32 = 16u; // @param keys per block: 16 for QT = 1, 4 for QT >= 2
const_assert BLOCK == select(4u, 16u, QT == 1u);
// Vec4s per K/V texel: 2 with the `packed` switch (rows of an even number of vec4s), else 1.
const CPT: u32 = 1u; // @param
const_assert CPT == 1u || (QK_VEC4 % 2u == 0u && V_VEC4 % 2u == 0u);
// Vec4s the decode tile's d loops (scores and values) advance per trip: CPT (one fetch per
// key per trip) or 4. The plan's variant.decodeStep (adapter/loop_budget.ts
// `expandedDecodeStep`) picks CPT wherever the keys fit the device's loop budget that way.
// Why not always 4: a trip of 4 vec4s gathers 64 K vec4s (16 keys x 4) before it can add
// them up, and lavapipe's LLVM issues those gathers first and spills what it loaded to the
// stack; one vec4 (or packed texel) per trip ran the V2-Lite decode in 0.90x (f32) and
// 0.84-0.89x (f16) of the time (docs/benchmarks.md, session 17). But every trip costs a
// loop iteration of the budget: at one vec4 per trip, 4 times as many as at 4 (the host
// counts both, adapter/loop_budget.ts), so long contexts keep 4. The prefill tile (QT > 1)
// always walks 4.
const DSTEP: u32 = 4u; // @param
const_assert DSTEP == CPT || DSTEP == 4u;

// Finite stand-in for -inf in the running max (see absorbed.wgsl).
const NEG_BIG: f32 = -3.0e38;

struct Params {
  tiles: u32,       // query tiles of this dispatch
  tile_begin: u32,  // first query tile of this dispatch (index into q_tiles)
  heads: u32,
  head_tiles: u32,
  k_base: u32,      // vec4 offset of the k binding inside the k buffer (0 with tex)
  v_base: u32,      // vec4 offset of the v binding inside the v buffer (0 with tex)
  scale: f32,
  neg_inf: f32,     // -Infinity, from the host
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<store_t>>;
// f16: k and v are read as packed u32 pairs and widened with unpack2x16float (one
// conversion instruction per 2 halves on lavapipe; loading vec4<f16> and widening
// it measured slower: lavapipe's f16 path is scalar).
@group(0) @binding(2) var<storage, read> k: array<vec4<store_t>>; // @notex // @nostex // @nopacked // @f32
@group(0) @binding(3) var<storage, read> v: array<vec4<store_t>>; // @notex // @nostex // @nopacked // @f32
// @f16: @group(0) @binding(2) var<storage, read> k: array<vec2<u32>>; // @notex // @nostex // @nopacked
// @f16: @group(0) @binding(3) var<storage, read> v: array<vec2<u32>>; // @notex // @nostex // @nopacked
// @tex: @group(0) @binding(2) var k: texture_2d<f32>;
// @tex: @group(0) @binding(3) var v: texture_2d<f32>;
// `stex` (the decode tile's choice): the same textures bound as read-only storage textures,
// of the dtype's format (the f16 lines become `// @stex:` lines before the switches apply).
// Lavapipe reads those 1.2-1.3x faster here; the prefill tile keeps `tex`, whose cold
// compile they made 30% longer (docs/benchmarks.md, session 16).
// @stex: @group(0) @binding(2) var k: texture_storage_2d<rgba32float, read>; // @f32
// @stex: @group(0) @binding(3) var v: texture_storage_2d<rgba32float, read>; // @f32
// @f16: // @stex: @group(0) @binding(2) var k: texture_storage_2d<rgba16float, read>;
// @f16: // @stex: @group(0) @binding(3) var v: texture_storage_2d<rgba16float, read>;
// Packed rows (decode only) are read as read-only storage textures too.
// @packed: @group(0) @binding(2) var k: texture_storage_2d<rgba32uint, read>;
// @packed: @group(0) @binding(3) var v: texture_storage_2d<rgba32uint, read>;
@group(0) @binding(4) var<storage, read> q_meta: array<vec4<u32>>;   // see absorbed.wgsl
@group(0) @binding(5) var<storage, read> k_rows: array<u32>;
@group(0) @binding(6) var<storage, read_write> out: array<vec4<f32>>;  // [totalQ, h, V_VEC4]
@group(0) @binding(7) var<storage, read_write> lse: array<f32>;        // [totalQ, h]
// q_tiles[i] = (first query t, number of queries <= QT): consecutive queries of one
// sequence, in increasing visible-key count.
@group(0) @binding(8) var<storage, read> q_tiles: array<vec2<u32>>;

// Where the K (or V) rows of four keys start: storage, x = vec4 index (y unused);
// texture (switch tex), texel x of vec4 0 and texel row y.
struct At4 {
  x: vec4<u32>,
  y: vec4<u32>,
}

// At4 of (key row, head) rows r.
fn k_at(r: vec4<u32>) -> At4 { return At4(r * QK_VEC4 - vec4<u32>(params.k_base), vec4<u32>(0u)); } // @notex // @nostex // @nopacked
fn v_at(r: vec4<u32>) -> At4 { return At4(r * V_VEC4 - vec4<u32>(params.v_base), vec4<u32>(0u)); } // @notex // @nostex // @nopacked
// @tex: fn k_at(r: vec4<u32>) -> At4 { return At4((r % vec4<u32>(RPTK)) * QK_VEC4, r / vec4<u32>(RPTK)); }
// @tex: fn v_at(r: vec4<u32>) -> At4 { return At4((r % vec4<u32>(RPTV)) * V_VEC4, r / vec4<u32>(RPTV)); }
// @stex: fn k_at(r: vec4<u32>) -> At4 { return At4((r % vec4<u32>(RPTK)) * QK_VEC4, r / vec4<u32>(RPTK)); }
// @stex: fn v_at(r: vec4<u32>) -> At4 { return At4((r % vec4<u32>(RPTV)) * V_VEC4, r / vec4<u32>(RPTV)); }
// Packed: x still counts vec4s (texel x / 2; QK_VEC4 and V_VEC4 are even, so x is even
// exactly when the vec4 is a texel's first).
// @packed: fn k_at(r: vec4<u32>) -> At4 { return At4((r % vec4<u32>(RPTK)) * QK_VEC4, r / vec4<u32>(RPTK)); }
// @packed: fn v_at(r: vec4<u32>) -> At4 { return At4((r % vec4<u32>(RPTV)) * V_VEC4, r / vec4<u32>(RPTV)); }

// One K or V vec4 at (x, y) of an At4, widened to f32.
fn ldk(x: u32, y: u32) -> vec4<acc_t> { return vec4<acc_t>(k[x]); } // @notex // @nostex // @nopacked // @f32
fn ldv(x: u32, y: u32) -> vec4<acc_t> { return vec4<acc_t>(v[x]); } // @notex // @nostex // @nopacked // @f32
// @f16: fn ldk(x: u32, y: u32) -> vec4<acc_t> { let w = k[x]; return vec4<acc_t>(unpack2x16float(w.x), unpack2x16float(w.y)); } // @notex // @nostex // @nopacked
// @f16: fn ldv(x: u32, y: u32) -> vec4<acc_t> { let w = v[x]; return vec4<acc_t>(unpack2x16float(w.x), unpack2x16float(w.y)); } // @notex // @nostex // @nopacked
// @tex: fn ldk(x: u32, y: u32) -> vec4<acc_t> { return textureLoad(k, vec2<u32>(x, y), 0); }
// @tex: fn ldv(x: u32, y: u32) -> vec4<acc_t> { return textureLoad(v, vec2<u32>(x, y), 0); }
// @stex: fn ldk(x: u32, y: u32) -> vec4<acc_t> { return textureLoad(k, vec2<u32>(x, y)); }
// @stex: fn ldv(x: u32, y: u32) -> vec4<acc_t> { return textureLoad(v, vec2<u32>(x, y)); }
// Packed: one vec4 of a texel (the prefill tile and the tails), or both (the decode tile).
// @packed: fn ldk(x: u32, y: u32) -> vec4<acc_t> { let t = ldk2(x, y); return select(t.lo, t.hi, (x & 1u) == 1u); }
// @packed: fn ldv(x: u32, y: u32) -> vec4<acc_t> { let t = ldv2(x, y); return select(t.lo, t.hi, (x & 1u) == 1u); }
// @packed: fn ldk2(x: u32, y: u32) -> Pair { return unpack_texel(textureLoad(k, vec2<u32>(x / 2u, y))); }
// @packed: fn ldv2(x: u32, y: u32) -> Pair { return unpack_texel(textureLoad(v, vec2<u32>(x / 2u, y))); }
// Unpacked, the pair loaders are two single loads (only the packed decode tile calls them).
fn ldk2(x: u32, y: u32) -> Pair { return Pair(ldk(x, y), ldk(x + 1u, y)); } // @nopacked
fn ldv2(x: u32, y: u32) -> Pair { return Pair(ldv(x, y), ldv(x + 1u, y)); } // @nopacked

// Vec4s x and x + 1 of a row (x even when packed).
struct Pair {
  lo: vec4<acc_t>,
  hi: vec4<acc_t>,
}

// A packed texel's eight halves, widened (every f16 value is exact in f32).
fn unpack_texel(w: vec4<u32>) -> Pair {
  return Pair(vec4<acc_t>(unpack2x16float(w.x), unpack2x16float(w.y)),
              vec4<acc_t>(unpack2x16float(w.z), unpack2x16float(w.w)));
}

// The four keys' vec4s d and d + 1 as matrix columns (lo: d, hi: d + 1).
struct Cols {
  lo: mat4x4<acc_t>,
  hi: mat4x4<acc_t>,
}

fn kcols2(ko: At4, d: u32) -> Cols {
  let a = ldk2(ko.x.x + d, ko.y.x);
  let b = ldk2(ko.x.y + d, ko.y.y);
  let c = ldk2(ko.x.z + d, ko.y.z);
  let e = ldk2(ko.x.w + d, ko.y.w);
  return Cols(mat4x4<acc_t>(a.lo, b.lo, c.lo, e.lo), mat4x4<acc_t>(a.hi, b.hi, c.hi, e.hi));
}

fn vcols2(vo: At4, d: u32) -> Cols {
  let a = ldv2(vo.x.x + d, vo.y.x);
  let b = ldv2(vo.x.y + d, vo.y.y);
  let c = ldv2(vo.x.z + d, vo.y.z);
  let e = ldv2(vo.x.w + d, vo.y.w);
  return Cols(mat4x4<acc_t>(a.lo, b.lo, c.lo, e.lo), mat4x4<acc_t>(a.hi, b.hi, c.hi, e.hi));
}

// K vec4 d of four keys' rows (for this head), as matrix columns:
// qv * kcols(...) = the four dot products.
fn kcols(ko: At4, d: u32) -> mat4x4<acc_t> {
  return mat4x4<acc_t>(ldk(ko.x.x + d, ko.y.x), ldk(ko.x.y + d, ko.y.y), ldk(ko.x.z + d, ko.y.z),
                       ldk(ko.x.w + d, ko.y.w));
}

fn vcols(vo: At4, d: u32) -> mat4x4<acc_t> {
  return mat4x4<acc_t>(ldv(vo.x.x + d, vo.y.x), ldv(vo.x.y + d, vo.y.y), ldv(vo.x.z + d, vo.y.z),
                       ldv(vo.x.w + d, vo.y.w));
}

// Where the K (or V) rows of a decode block's 16 keys start: keys 0..3, 4..7, ...
struct Offs {
  a: At4,
  b: At4,
  c: At4,
  d: At4,
}

// The decode tile's query row (one head of one token), widened, copied from q once per
// invocation when its d loops take one fetch per trip (DSTEP < 4): the scores loop reads
// vec4 d of it for every block, and on lavapipe a private-array read at a uniform index is
// a plain load where a storage load goes lane by lane (expanded.wgsl's header); the f32
// decode ran in 0.95-1.0x the time in five A/B runs (f16: no change; docs/benchmarks.md,
// session 17). The copy loop costs QK_VEC4 + 1 iterations of the loop budget once
// (adapter/loop_budget.ts counts it), so with DSTEP = 4, the long contexts' step, the row
// is read from q as before and the budget keeps every key it had.
var<private> q_row: array<vec4<acc_t>, QK_VEC4>;
var<private> q_row_base: u32; // the row's first vec4 in q

// Query vec4 d of the decode tile's row.
fn q_at(d: u32) -> vec4<acc_t> {
  if (DSTEP < 4u) {
    return q_row[d];
  }
  return vec4<acc_t>(q[q_row_base + d]);
}

// Decode: the head's query vec4 d against K vec4 d of the block's 16 keys. Column j
// holds the partial dot products of keys 4j..4j+3.
fn scores_at(d: u32, k: Offs) -> mat4x4<acc_t> {
  let qv = q_at(d);
  return mat4x4<acc_t>(qv * kcols(k.a, d), qv * kcols(k.b, d), qv * kcols(k.c, d), qv * kcols(k.d, d));
}

// Decode, packed: the head's query vec4s d and d + 1 (d even) against K vec4s d and d + 1
// of the block's 16 keys, from one texel fetch per key.
fn scores_at2(d: u32, k: Offs) -> mat4x4<acc_t> {
  let q0 = q_at(d);
  let q1 = q_at(d + 1u);
  let a = kcols2(k.a, d);
  let b = kcols2(k.b, d);
  let c = kcols2(k.c, d);
  let e = kcols2(k.d, d);
  return mat4x4<acc_t>(q0 * a.lo + q1 * a.hi, q0 * b.lo + q1 * b.hi, q0 * c.lo + q1 * c.hi,
                       q0 * e.lo + q1 * e.hi);
}

// Decode, packed: output vec4s d (lo) and d + 1 (hi) of the block, as values_at.
fn values_at2(d: u32, v: Offs, p: mat4x4<acc_t>) -> Pair {
  let a = vcols2(v.a, d);
  let b = vcols2(v.b, d);
  let c = vcols2(v.c, d);
  let e = vcols2(v.d, d);
  return Pair((a.lo * p[0] + b.lo * p[1]) + (c.lo * p[2] + e.lo * p[3]),
              (a.hi * p[0] + b.hi * p[1]) + (c.hi * p[2] + e.hi * p[3]));
}

// Decode: sum over the block's 16 keys of probability x V vec4 d (column j of p holds
// the probabilities of keys 4j..4j+3).
fn values_at(d: u32, v: Offs, p: mat4x4<acc_t>) -> vec4<acc_t> {
  return ((vcols(v.a, d) * p[0] + vcols(v.b, d) * p[1]) + (vcols(v.c, d) * p[2] + vcols(v.d, d) * p[3]));
}

// Prefill: K vec4 d of the block's 4 keys against the QT queries of the tile.
fn tile_scores(s: ptr<function, array<vec4<acc_t>, QT>>, qb: array<u32, QT>, kk: At4, d: u32) {
  let kc = kcols(kk, d);
  for (var i = 0u; i < QT; i++) {
    (*s)[i] += vec4<acc_t>(q[qb[i] + d]) * kc;
  }
}

// Prefill: rescale each query's output vec4 d and add the block's 4 V rows weighted
// by that query's probabilities. V rows of slots the query must not see (vis[i]
// false) are selected out, not multiplied by p = 0: they may hold NaN or Inf, and
// 0 * NaN = NaN would leak into the row (see absorbed.wgsl). The running output of
// query i is out[ob[i] ..]; rows that are not live (the repeated last query of a
// partial tile, lanes past the last head) are never written.
fn tile_values(ob: array<u32, QT>, live: array<bool, QT>, vv: At4,
               d: u32, p: array<vec4<acc_t>, QT>, aa: array<acc_t, QT>,
               vis: array<vec4<bool>, QT>, full: bool) {
  let vc = vcols(vv, d);
  if (full) {
    // Every slot visible to every query of the tile: nothing to mask (uniform branch).
    for (var i = 0u; i < QT; i++) {
      if (live[i]) {
        let o = ob[i] + d;
        out[o] = vec4<f32>(vec4<acc_t>(out[o]) * aa[i] + vc * p[i]);
      }
    }
    return;
  }
  let z = vec4<acc_t>(0.0);
  for (var i = 0u; i < QT; i++) {
    if (live[i]) {
      let m = vis[i];
      let vm = mat4x4<acc_t>(select(z, vc[0], m.x), select(z, vc[1], m.y), select(z, vc[2], m.z),
                             select(z, vc[3], m.w));
      let o = ob[i] + d;
      out[o] = vec4<f32>(vec4<acc_t>(out[o]) * aa[i] + vm * p[i]);
    }
  }
}

// Buffer rows of keys base + j .. base + j + 3, each clamped to the last valid key.
fn rows4(base: u32, j: u32, last: u32) -> vec4<u32> {
  return vec4<u32>(k_rows[base + min(j, last)], k_rows[base + min(j + 1u, last)],
                   k_rows[base + min(j + 2u, last)], k_rows[base + min(j + 3u, last)]);
}

// Scaled scores of one vec4 of keys (slots j0..j0+3 of the block) for a query that
// sees `seen` keys; masked slots get NEG_BIG (probability 0).
fn masked(s: vec4<acc_t>, kb: u32, j0: u32, seen: u32) -> vec4<f32> {
  let kk = vec4<u32>(kb + j0) + vec4<u32>(0u, 1u, 2u, 3u);
  return select(vec4<f32>(NEG_BIG), vec4<f32>(s) * params.scale, kk < vec4<u32>(seen));
}

@compute @workgroup_size(WG)
fn expanded(@builtin(workgroup_id) wid: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
  let tile_local = wid.x / params.head_tiles;
  let htile = wid.x % params.head_tiles;
  if (tile_local >= params.tiles) {
    return; // bounds guard (uniform: the whole workgroup leaves together)
  }
  let qt = q_tiles[params.tile_begin + tile_local];
  let nq = qt.y;
  let head = htile * HEADS + lid;
  let live = head < params.heads;   // lanes past the last head compute head 0, store nothing
  let hh = select(0u, head, live);
  // The tile's last query sees the most keys (the host orders tiles that way).
  let qm_last = q_meta[qt.x + nq - 1u];
  let end = qm_last.z;
  let key0 = qm_last.y;             // first logical key of the sequence

  // Per query of the tile: q vec4 base, visible keys (a missing query slot of a
  // partial tile repeats the last query and is not stored).
  var q_base: array<u32, QT>;
  var seen: array<u32, QT>;
  // The prefill tile's output rows: query i's vec4s are out[ob[i] ..], written only
  // when the row is live (a real query of the tile and a real head).
  var ob: array<u32, QT>;
  var row_live: array<bool, QT>;
  for (var i = 0u; i < QT; i++) {
    let tq = qt.x + min(i, nq - 1u);
    let qm = q_meta[tq];
    q_base[i] = (qm.x * params.heads + hh) * QK_VEC4;
    seen[i] = qm.z;
    ob[i] = (tq * params.heads + hh) * V_VEC4;
    row_live[i] = live && i < nq;
  }

  var m_run: array<f32, QT>;
  var l_run: array<f32, QT>;
  for (var i = 0u; i < QT; i++) {
    m_run[i] = NEG_BIG;   // running max of the query's scaled scores
  }
  // The decode tile's unnormalized output (zeroed); the prefill tile's are in `out`.
  var acc: array<array<vec4<acc_t>, V_VEC4>, QT>;
  if (QT > 1u) {
    // The prefill tile's rows start at 0 (one d loop, the query loop unrolled inside).
    for (var d = 0u; d < V_VEC4; d++) {
      for (var i = 0u; i < QT; i++) {
        if (row_live[i]) {
          out[ob[i] + d] = vec4<f32>(0.0);
        }
      }
    }
  }
  q_row_base = q_base[0];
  if (QT == 1u && DSTEP < 4u) {
    // The decode tile's query row, copied once into private memory (see q_row).
    for (var d = 0u; d < QK_VEC4; d++) {
      q_row[d] = vec4<acc_t>(q[q_row_base + d]);
    }
  }

  for (var kb = 0u; kb < end; kb += BLOCK) {
    let nk = min(BLOCK, end - kb);
    let last = nk - 1u;
    let base = key0 + kb;

    if (QT == 1u) {
      // Decode tile: 1 query x 16 keys.
      let ra = rows4(base, 0u, last);
      let rb = rows4(base, 4u, last);
      let rc = rows4(base, 8u, last);
      let rd = rows4(base, 12u, last);
      let kka = k_at(ra * params.heads + hh);
      let kkb = k_at(rb * params.heads + hh);
      let kkc = k_at(rc * params.heads + hh);
      let kkd = k_at(rd * params.heads + hh);
      let ko = Offs(kka, kkb, kkc, kkd);
      // Initialized explicitly: naga hoists loop-local vars to the function entry.
      var s = mat4x4<acc_t>(vec4<acc_t>(0.0), vec4<acc_t>(0.0), vec4<acc_t>(0.0), vec4<acc_t>(0.0));
      // DSTEP vec4s per trip, then a tail loop of one fetch per trip (see DSTEP).
      var d = 0u;
      if (CPT == 2u) {
        // Packed: two vec4s per fetch (QK_VEC4 is even).
        for (; d + DSTEP <= QK_VEC4; d += DSTEP) {
          s += scores_at2(d, ko);
          if (DSTEP == 4u) {
            s += scores_at2(d + 2u, ko);
          }
        }
        for (; d < QK_VEC4; d += 2u) {
          s += scores_at2(d, ko);
        }
      } else {
        for (; d + DSTEP <= QK_VEC4; d += DSTEP) {
          s += scores_at(d, ko);
          if (DSTEP == 4u) {
            s += scores_at(d + 1u, ko);
            s += scores_at(d + 2u, ko);
            s += scores_at(d + 3u, ko);
          }
        }
        for (; d < QK_VEC4; d++) {
          s += scores_at(d, ko);
        }
      }
      let f0 = masked(s[0], kb, 0u, end);
      let f1 = masked(s[1], kb, 4u, end);
      let f2 = masked(s[2], kb, 8u, end);
      let f3 = masked(s[3], kb, 12u, end);
      let mx = max(max(f0, f1), max(f2, f3));
      let m_new = max(m_run[0], max(max(mx.x, mx.y), max(mx.z, mx.w)));
      let a = exp(m_run[0] - m_new);
      let p0 = exp(f0 - m_new);
      let p1 = exp(f1 - m_new);
      let p2 = exp(f2 - m_new);
      let p3 = exp(f3 - m_new);
      l_run[0] = l_run[0] * a + dot((p0 + p1) + (p2 + p3), vec4<f32>(1.0));
      m_run[0] = m_new;
      let vva = v_at(ra * params.heads + hh);
      let vvb = v_at(rb * params.heads + hh);
      let vvc = v_at(rc * params.heads + hh);
      let vvd = v_at(rd * params.heads + hh);
      let aa = acc_t(a);
      let vo = Offs(vva, vvb, vvc, vvd);
      let pm = mat4x4<acc_t>(vec4<acc_t>(p0), vec4<acc_t>(p1), vec4<acc_t>(p2), vec4<acc_t>(p3));
      var e = 0u;
      if (CPT == 2u) {
        // Packed: two output vec4s per fetch (V_VEC4 is even).
        for (; e + DSTEP <= V_VEC4; e += DSTEP) {
          let x01 = values_at2(e, vo, pm);
          acc[0][e] = acc[0][e] * aa + x01.lo;
          acc[0][e + 1u] = acc[0][e + 1u] * aa + x01.hi;
          if (DSTEP == 4u) {
            let x23 = values_at2(e + 2u, vo, pm);
            acc[0][e + 2u] = acc[0][e + 2u] * aa + x23.lo;
            acc[0][e + 3u] = acc[0][e + 3u] * aa + x23.hi;
          }
        }
        for (; e < V_VEC4; e += 2u) {
          let x01 = values_at2(e, vo, pm);
          acc[0][e] = acc[0][e] * aa + x01.lo;
          acc[0][e + 1u] = acc[0][e + 1u] * aa + x01.hi;
        }
      } else {
        for (; e + DSTEP <= V_VEC4; e += DSTEP) {
          acc[0][e] = acc[0][e] * aa + values_at(e, vo, pm);
          if (DSTEP == 4u) {
            acc[0][e + 1u] = acc[0][e + 1u] * aa + values_at(e + 1u, vo, pm);
            acc[0][e + 2u] = acc[0][e + 2u] * aa + values_at(e + 2u, vo, pm);
            acc[0][e + 3u] = acc[0][e + 3u] * aa + values_at(e + 3u, vo, pm);
          }
        }
        for (; e < V_VEC4; e++) {
          acc[0][e] = acc[0][e] * aa + values_at(e, vo, pm);
        }
      }
    } else {
      // Prefill tile: QT queries x 4 keys; each K/V vec4 is reused for QT queries.
      let ra = rows4(base, 0u, last);
      let kka = k_at(ra * params.heads + hh);
      // Zeroed explicitly every block: naga hoists loop-local vars to the function
      // entry, so a declaration alone does not re-zero them per iteration.
      var s: array<vec4<acc_t>, QT>;
      for (var i = 0u; i < QT; i++) {
        s[i] = vec4<acc_t>(0.0);
      }
      var d = 0u;
      for (; d + 4u <= QK_VEC4; d += 4u) {
        tile_scores(&s, q_base, kka, d);
        tile_scores(&s, q_base, kka, d + 1u);
        tile_scores(&s, q_base, kka, d + 2u);
        tile_scores(&s, q_base, kka, d + 3u);
      }
      for (; d < QK_VEC4; d++) {
        tile_scores(&s, q_base, kka, d);
      }
      var p: array<vec4<acc_t>, QT>;
      var aa: array<acc_t, QT>;
      var vis: array<vec4<bool>, QT>;
      for (var i = 0u; i < QT; i++) {
        let f = masked(s[i], kb, 0u, seen[i]);
        let m_new = max(m_run[i], max(max(f.x, f.y), max(f.z, f.w)));
        let a = exp(m_run[i] - m_new);
        // Masked slots get 0 explicitly: a query that has seen no key yet (its
        // running max still NEG_BIG) would otherwise get exp(0) = 1 for them.
        let kk = vec4<u32>(kb) + vec4<u32>(0u, 1u, 2u, 3u);
        vis[i] = kk < vec4<u32>(seen[i]);
        let pi = select(vec4<f32>(0.0), exp(f - m_new), vis[i]);
        l_run[i] = l_run[i] * a + dot(pi, vec4<f32>(1.0));
        m_run[i] = m_new;
        p[i] = vec4<acc_t>(pi);
        aa[i] = acc_t(a);
      }
      let vva = v_at(ra * params.heads + hh);
      // Query 0 sees the fewest keys of the tile: when it sees the whole block, no slot
      // is masked for any query.
      let full = kb + 4u <= seen[0];
      var e = 0u;
      for (; e + 4u <= V_VEC4; e += 4u) {
        tile_values(ob, row_live, vva, e, p, aa, vis, full);
        tile_values(ob, row_live, vva, e + 1u, p, aa, vis, full);
        tile_values(ob, row_live, vva, e + 2u, p, aa, vis, full);
        tile_values(ob, row_live, vva, e + 3u, p, aa, vis, full);
      }
      for (; e < V_VEC4; e++) {
        tile_values(ob, row_live, vva, e, p, aa, vis, full);
      }
    }
  }

  if (QT == 1u) {
    if (live) {
      for (var i = 0u; i < nq; i++) {
        let t = qt.x + i;
        let l = l_run[i];
        // No key seen (l = 0): output 0 and LSE -inf; a NaN sum (a visible key holds
        // NaN) falls through to NaN output and LSE, as in the reference (see absorbed.wgsl).
        let seen_any = !(l <= 0.0);
        let inv = select(0.0, 1.0 / l, seen_any);
        let ob = (t * params.heads + head) * V_VEC4;
        for (var d = 0u; d < V_VEC4; d++) {
          out[ob + d] = vec4<f32>(acc[i][d]) * inv;
        }
        lse[t * params.heads + head] = select(params.neg_inf, m_run[i] + log(l), seen_any);
      }
    }
  } else {
    // Prefill tile: LSE per live row, then the rows divided by l in place (one d loop).
    var inv: array<f32, QT>;
    for (var i = 0u; i < QT; i++) {
      let l = l_run[i];
      let seen_any = !(l <= 0.0);   // as above
      inv[i] = select(0.0, 1.0 / l, seen_any);
      if (row_live[i]) {
        lse[ob[i] / V_VEC4] = select(params.neg_inf, m_run[i] + log(l), seen_any);
      }
    }
    for (var d = 0u; d < V_VEC4; d++) {
      for (var i = 0u; i < QT; i++) {
        if (row_live[i]) {
          out[ob[i] + d] = out[ob[i] + d] * inv[i];
        }
      }
    }
  }
}
