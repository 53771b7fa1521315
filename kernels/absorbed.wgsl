// @enable-f16
// Absorbed MLA attention: the latent MQA that FlashMLA-style kernels run.
//
// Every head shares one key per token, the cached latent row
//   cache[row] = [ c (r) | rope(k_pe) (rope) ]          (KEY_VEC4 = (r + rope) / 4 vec4s)
// and the value is the first r columns of that same row (VAL_VEC4 = r / 4 vec4s).
// Query head h is q_absorbed[qRow, h] = [ q_nope,h W_UK,h (r) | rope(q_pe,h) (rope) ],
// so score(h, t) = scale * dot(q_absorbed[qRow, h], cache[row_t]) and the output is
// the latent x_h = sum_t p_t c_t (the up-projection W_UV runs afterwards).
//
// Grid: x = query tile * head tiles + head tile, y = KV split. One workgroup handles
// HEADS heads of a query tile (q_tiles: QT consecutive queries of one sequence;
// decode QT = 1) over one split of the visible keys; invocation i handles heads
// h0 + i + j * WG for j < HPL (WG = HEADS / HPL). Why, on lavapipe (Mesa's CPU Vulkan
// driver, which runs 8 invocations as the 8 lanes of one AVX2 register):
//   - every buffer load inside a loop is done lane by lane (Mesa 22.3's gallivm takes
//     the scalar load + broadcast path only for addresses built from constants, not
//     from loop counters or other loads), about a dozen FMAs per float whether the
//     lanes read one address or eight. What counts is loads per FMA inside a lane: the
//     register tile. Decode: HPL heads x 16 keys per lane (four vec4 score columns per
//     head), so each cached vec4 feeds 4 x HPL FMAs and each query vec4 16 x 4;
//   - the online softmax is per head, entirely in one lane's registers: no workgroup
//     memory and no barrier at all (workgroup-memory tiles measured slower than
//     storage reads on lavapipe);
//   - the value phase reuses the block's 16 rows for the HPL heads; each invocation
//     accumulates its rows' unnormalized latent outputs x_h (VAL_VEC4 vec4s each) in
//     place, in the rows of x_out that it alone writes (zeroed first, normalized at
//     the end). Not in a private array: with a ROWS x VAL_VEC4 private accumulator
//     lavapipe's LLVM compiled the V2-Lite 4-query variant in about 300 s and the
//     decode in about 45 s (a time that grows with the array's size), this way in 2-4 s.
//     It runs about 6-8% (decode) and 15% (4-query tiles) slower on lavapipe, where this
//     kernel is not the one `auto` picks; the `live` guards cost nothing measurable
//     (docs/benchmarks.md, session 22).
// (Addresses are nevertheless kept identical across the lanes of a workgroup, all
// heads reading the same key in lock-step: cache lines are shared, and a driver that
// does detect uniform addresses gets one load per workgroup.)
// Prefill (QT = 4, HPL = 1): every cached vec4 a lane loads serves the QT queries of the
// tile, in the scores and in the values, instead of being re-read per query; the
// tile's queries see different key counts (causal) and each masks its own.
// Four keys at a time go through `qv * mat4x4(c_a, c_b, c_c, c_d)`, which is
// (dot(qv, c_a), ..., dot(qv, c_d)): four dot products from one expression.
// Fully unrolled loops compiled for 9-18 s and ran slower, so d loops stay loops,
// but each d loop advances UNROLL = 4 vec4s per iteration (then a tail loop for a
// width that is not a multiple of 4). Why: lavapipe stops every loop of an
// invocation once all its loops together have run 65535 iterations (Mesa's gallivm
// loop limiter, one counter shared by every loop of the shader; a loop run costs its
// trips + 1) and the kernel then silently computes on a truncated key range. With
// 4 vec4s per iteration a 16-key decode block costs 1 + (KEY_VEC4/4 + 1) + 1 +
// (VAL_VEC4/4 + 1) + 1 iterations instead of 3 + KEY_VEC4 + VAL_VEC4, so one split
// covers ~4x more keys. The host counts the same way (adapter/loop_budget.ts) and
// never lets one split need more iterations than the device's measured budget.
//
// Keys are read through k_rows (logical key -> buffer row) and only in the visible
// range computed on the host from the layout (sequence bounds and the bottom-right
// causal rule), so padding rows (NaN-poisoned) are never read. A partial last block
// re-reads its last key (always valid) in the missing slots and masks their scores.
//
// With KV splits (y > 1) each split writes its normalized partial x and its own LSE;
// combine.wgsl merges them. With one split these are the final x and LSE.
// A row that sees no key writes x = 0 and LSE = -inf (params.neg_inf: WGSL has no
// infinite literal, so the host passes it). A row whose visible keys hold a NaN writes
// NaN x and LSE, like the float64 reference; keys a row does not see never reach it,
// even when its tile or split reads them for another query.

alias store_t = f32; // @dtype storage type of the cache (q_absorbed is f32 always)
alias acc_t = f32; // accumulation type of scores and the latent output (always f32)

const WG: u32 = 16u; // @param invocations per workgroup (HEADS / HPL)
const HEADS: u32 = 16u; // @param heads per tile (a multiple of 8, the lavapipe SIMD width)
const KEY_VEC4: u32 = 144u; // @param (r + rope) / 4
const VAL_VEC4: u32 = 128u; // @param r / 4
const QT: u32 = 1u; // @param queries per tile: 1 (decode, BLOCK 16) or 4 (prefill, BLOCK 4)
// Heads per invocation: 2 in decode with 16-head tiles (WG = HEADS / 2), else 1; prefill
// (QT = 4) always 1. Why 2: on lavapipe every buffer load inside a loop is done lane by
// lane (Mesa 22.3's gallivm treats an address as uniform only when it derives from
// constants, not from loop counters or other loads), so a load costs the same whether
// the lanes read one address or eight; the only way to fewer loads per FMA is a bigger
// per-lane register tile. Two heads per lane use each cached vec4 for 2 x 4 FMAs
// instead of 4, in the scores and in the values.
const HPL: u32 = 1u; // @param heads per invocation (1 or 2; 2 only with QT = 1)
// Rows of the running state of an invocation: (query i, head j) is row i * HPL + j.
const ROWS: u32 = QT * HPL;

// Keys per block: QT * BLOCK = 16 scores per invocation (decode: s0..s3, four keys
// each; prefill: one vec4 of four keys per query), the most that stays in the 16
// AVX2 registers of a lavapipe lane.
// The host passes the plan's variant.keysPerBlock (adapter/loop_budget.ts keysPerBlock,
// the one home of the rule); the assertion refuses a plan whose block does not match
// the branch the tile size selects (decode walks 4 vec4s of keys, prefill one).
const BLOCK: u32 = 16u; // @param keys per block: 16 for QT = 1, 4 for QT >= 2
const_assert BLOCK == select(4u, 16u, QT == 1u);

// Finite stand-in for -inf in the running max: exp(NEG_BIG - m) is 0 for any real
// m and NEG_BIG - NEG_BIG is 0, never NaN.
const NEG_BIG: f32 = -3.0e38;

struct Params {
  total_q: u32,   // query tiles (entries of q_tiles)
  total_t: u32,   // query tokens (rows of the outputs per split)
  heads: u32,
  head_tiles: u32,
  kv_splits: u32,
  scale: f32,     // softmax scale (m^2 / sqrt(nope + rope) for YaRN specs)
  neg_inf: f32,   // -Infinity, from the host
}

// q_meta[t] = (buffer row of query t, first logical key of its sequence,
//              number of keys it sees, unused)
@group(0) @binding(0) var<uniform> params: Params;
// q_absorbed is f32 in every dtype (kit.absorbQ with dtype "f32"): q~ = q_nope . W_UK can
// pass f16's largest finite value, 65504, where q_nope, the cache and the reference do not.
@group(0) @binding(1) var<storage, read> q_absorbed: array<vec4<f32>>;  // [qRows, h, KEY_VEC4]
// f16: the cache is read as packed u32 pairs widened by unpack2x16float (one
// conversion per 2 halves; vec4<f16> loads + widening measured slower on lavapipe).
@group(0) @binding(2) var<storage, read> cache: array<vec4<store_t>>;       // [kRows, KEY_VEC4] // @f32
// @f16: @group(0) @binding(2) var<storage, read> cache: array<vec2<u32>>;
@group(0) @binding(3) var<storage, read> q_meta: array<vec4<u32>>;          // [totalQ]
@group(0) @binding(4) var<storage, read> k_rows: array<u32>;                // [totalK]
@group(0) @binding(5) var<storage, read_write> x_out: array<vec4<f32>>;     // [splits, totalQ, h, VAL_VEC4]
@group(0) @binding(6) var<storage, read_write> lse_out: array<f32>;         // [splits, totalQ, h]
// q_tiles[i] = (first query t, number of queries <= QT), consecutive queries of one
// sequence in increasing visible-key count.
@group(0) @binding(7) var<storage, read> q_tiles: array<vec2<u32>>;

// One cached vec4 (uniform address in every use below), widened to acc_t.
fn ld(i: u32) -> vec4<acc_t> {
  return vec4<acc_t>(cache[i]); // @f32
  // @f16: let w = cache[i]; return vec4<acc_t>(vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y)));
}

// Four cached rows' vec4 d as the columns of a matrix.
fn cols(r: vec4<u32>, d: u32) -> mat4x4<acc_t> {
  return mat4x4<acc_t>(ld(r.x + d), ld(r.y + d), ld(r.z + d), ld(r.w + d));
}

// The 16 cached rows of a decode block: keys 0..3, 4..7, 8..11, 12..15 as vec4 offsets.
struct Rows {
  a: vec4<u32>,
  b: vec4<u32>,
  c: vec4<u32>,
  d: vec4<u32>,
}

// Decode: vec4 d of the block's 16 rows against the query vec4 d of each of the
// invocation's HPL heads (each row vec4 loaded once for all of them). Column k of
// (*s)[j] holds head j's partial dot products of keys 4k..4k+3.
fn head_scores(s: ptr<function, array<mat4x4<acc_t>, HPL>>, qb: array<u32, ROWS>, r: Rows, d: u32) {
  let ca = cols(r.a, d);
  let cb = cols(r.b, d);
  let cc = cols(r.c, d);
  let cd = cols(r.d, d);
  for (var j = 0u; j < HPL; j++) {
    let qv = vec4<acc_t>(q_absorbed[qb[j] + d]);
    (*s)[j] += mat4x4<acc_t>(qv * ca, qv * cb, qv * cc, qv * cd);
  }
}

// Decode: for each head j, rescale its output vec4 e by aa[j] and add the block's 16
// latent vec4s e weighted by its probabilities (column k of pm[j]: keys 4k..4k+3).
// The running x_h lives in x_out (vec4 ob[j] + e); rows that are not live (lanes past
// the last head) are never written. The sum is formed in acc_t and stored as f32.
fn head_values(ob: array<u32, ROWS>, live: array<bool, ROWS>, r: Rows, e: u32,
               pm: array<mat4x4<acc_t>, HPL>, aa: array<acc_t, HPL>) {
  let ca = cols(r.a, e);
  let cb = cols(r.b, e);
  let cc = cols(r.c, e);
  let cd = cols(r.d, e);
  for (var j = 0u; j < HPL; j++) {
    if (live[j]) {
      let p = pm[j];
      let o = ob[j] + e;
      x_out[o] = vec4<f32>(vec4<acc_t>(x_out[o]) * aa[j] +
                           ((ca * p[0] + cb * p[1]) + (cc * p[2] + cd * p[3])));
    }
  }
}

// Prefill: vec4 d of the block's 4 rows against the QT queries of the tile.
fn tile_scores(s: ptr<function, array<vec4<acc_t>, QT>>, qb: array<u32, ROWS>, ra: vec4<u32>, d: u32) {
  let c = cols(ra, d);
  for (var i = 0u; i < QT; i++) {
    (*s)[i] += vec4<acc_t>(q_absorbed[qb[i] + d]) * c;
  }
}

// Prefill: rescale each query's output vec4 d and add the block's 4 rows weighted by
// that query's probabilities. The rows of the slots a query must not see (vis[i]
// false: causal future keys of the tile's earlier queries, slots past the split's end)
// are selected out, not multiplied by their probability 0: such a row may hold NaN or
// Inf, and 0 * NaN = NaN would leak into a row that never sees the key.
// Rows that are not live (the repeated last query of a partial tile, lanes past the
// last head) are never written.
fn tile_values(ob: array<u32, ROWS>, live: array<bool, ROWS>, ra: vec4<u32>,
               d: u32, p: array<vec4<acc_t>, QT>, aa: array<acc_t, QT>,
               vis: array<vec4<bool>, QT>, full: bool) {
  let c = cols(ra, d);
  if (full) {
    // Every slot visible to every query of the tile (all but the causal diagonal's
    // blocks): nothing to mask. Uniform branch: one query tile per workgroup.
    for (var i = 0u; i < QT; i++) {
      if (live[i]) {
        let o = ob[i] + d;
        x_out[o] = vec4<f32>(vec4<acc_t>(x_out[o]) * aa[i] + c * p[i]);
      }
    }
    return;
  }
  let z = vec4<acc_t>(0.0);
  for (var i = 0u; i < QT; i++) {
    if (live[i]) {
      let v = vis[i];
      let cv = mat4x4<acc_t>(select(z, c[0], v.x), select(z, c[1], v.y), select(z, c[2], v.z),
                             select(z, c[3], v.w));
      let o = ob[i] + d;
      x_out[o] = vec4<f32>(vec4<acc_t>(x_out[o]) * aa[i] + cv * p[i]);
    }
  }
}

// Vec4 offsets of the cached rows of keys base + j .. base + j + 3, each clamped to
// the block's last valid key.
fn row_offsets(base: u32, j: u32, last: u32) -> vec4<u32> {
  return vec4<u32>(k_rows[base + min(j, last)], k_rows[base + min(j + 1u, last)],
                   k_rows[base + min(j + 2u, last)], k_rows[base + min(j + 3u, last)]) * KEY_VEC4;
}

@compute @workgroup_size(WG)
fn absorbed(@builtin(workgroup_id) wid: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
  let qtile = wid.x / params.head_tiles;
  let tile = wid.x % params.head_tiles;
  let split = wid.y;
  if (qtile >= params.total_q) {
    return; // bounds guard (uniform: the whole workgroup leaves together)
  }
  let qt = q_tiles[qtile];
  let nq = qt.y;
  // The tile's last query sees the most keys: it sets the key range of the tile.
  let t = qt.x + nq - 1u;
  let qm = q_meta[t];
  // This split's slice [begin, end) of the visible keys.
  let chunk = (qm.z + params.kv_splits - 1u) / params.kv_splits;
  let begin = min(split * chunk, qm.z);
  let end = min(begin + chunk, qm.z);
  // Heads of this invocation: tile * HEADS + lid + j * WG (j < HPL); lanes past the last
  // head compute head 0 and store nothing.
  var hd: array<u32, HPL>;
  var head_ok: array<bool, HPL>;
  for (var j = 0u; j < HPL; j++) {
    let h = tile * HEADS + lid + j * WG;
    head_ok[j] = h < params.heads;
    hd[j] = select(0u, h, head_ok[j]);
  }

  // Per query of the tile (a partial tile repeats its last query, never stored) and
  // head of the invocation: row i * HPL + j. A live row is one this invocation stores:
  // a real query of the tile and a real head. Its output vec4s are x_out[ob[r] ..
  // ob[r] + VAL_VEC4), written by no other invocation (one query tile per workgroup,
  // one head per lane and row, one split per workgroup row).
  var q_base: array<u32, ROWS>;
  var ob: array<u32, ROWS>;
  var live: array<bool, ROWS>;
  var seen: array<u32, QT>;
  for (var i = 0u; i < QT; i++) {
    let tq = qt.x + min(i, nq - 1u);
    let qmi = q_meta[tq];
    let out_row = split * params.total_t + tq;
    for (var j = 0u; j < HPL; j++) {
      q_base[i * HPL + j] = (qmi.x * params.heads + hd[j]) * KEY_VEC4;
      ob[i * HPL + j] = (out_row * params.heads + hd[j]) * VAL_VEC4;
      live[i * HPL + j] = i < nq && head_ok[j];
    }
    seen[i] = qmi.z;
  }
  var m_q: array<f32, ROWS>;   // running max of each row's scaled scores
  var l_q: array<f32, ROWS>;   // running sum of exp(score - max)
  for (var r = 0u; r < ROWS; r++) {
    m_q[r] = NEG_BIG;
  }
  // The unnormalized x of every live row starts at 0 (one d loop; the row loop inside
  // has a constant trip count and is unrolled).
  for (var d = 0u; d < VAL_VEC4; d++) {
    for (var r = 0u; r < ROWS; r++) {
      if (live[r]) {
        x_out[ob[r] + d] = vec4<f32>(0.0);
      }
    }
  }

  for (var kb = begin; kb < end; kb += BLOCK) {
    let nk = min(BLOCK, end - kb);
    let base = qm.y + kb;
    let last = nk - 1u;
    if (QT == 1u) {
      let rows = Rows(row_offsets(base, 0u, last), row_offsets(base, 4u, last),
                      row_offsets(base, 8u, last), row_offsets(base, 12u, last));

      // Scores of the block's 16 keys for each head j: column 0 of s[j] = keys 0..3, ...
      // (zeroed explicitly: naga hoists loop-local vars to the function entry).
      var s: array<mat4x4<acc_t>, HPL>;
      for (var j = 0u; j < HPL; j++) {
        s[j] = mat4x4<acc_t>(vec4<acc_t>(0.0), vec4<acc_t>(0.0), vec4<acc_t>(0.0), vec4<acc_t>(0.0));
      }
      var d = 0u;
      for (; d + 4u <= KEY_VEC4; d += 4u) {
        head_scores(&s, q_base, rows, d);
        head_scores(&s, q_base, rows, d + 1u);
        head_scores(&s, q_base, rows, d + 2u);
        head_scores(&s, q_base, rows, d + 3u);
      }
      for (; d < KEY_VEC4; d++) {
        head_scores(&s, q_base, rows, d);
      }

      // Online softmax per head (registers only). Scale in f32; slots past the block's
      // end get NEG_BIG (probability 0).
      let kk = vec4<u32>(0u, 1u, 2u, 3u);
      let n4 = vec4<u32>(nk);
      var pm: array<mat4x4<acc_t>, HPL>;
      var aa: array<acc_t, HPL>;
      for (var j = 0u; j < HPL; j++) {
        let sj = s[j];
        let f0 = select(vec4<f32>(NEG_BIG), vec4<f32>(sj[0]) * params.scale, kk < n4);
        let f1 = select(vec4<f32>(NEG_BIG), vec4<f32>(sj[1]) * params.scale, kk + 4u < n4);
        let f2 = select(vec4<f32>(NEG_BIG), vec4<f32>(sj[2]) * params.scale, kk + 8u < n4);
        let f3 = select(vec4<f32>(NEG_BIG), vec4<f32>(sj[3]) * params.scale, kk + 12u < n4);
        let mx = max(max(f0, f1), max(f2, f3));
        let m_run = m_q[j];
        let m_new = max(m_run, max(max(mx.x, mx.y), max(mx.z, mx.w)));
        let a = exp(m_run - m_new);
        let p0 = exp(f0 - m_new);
        let p1 = exp(f1 - m_new);
        let p2 = exp(f2 - m_new);
        let p3 = exp(f3 - m_new);
        l_q[j] = l_q[j] * a + dot((p0 + p1) + (p2 + p3), vec4<f32>(1.0));
        m_q[j] = m_new;
        pm[j] = mat4x4<acc_t>(vec4<acc_t>(p0), vec4<acc_t>(p1), vec4<acc_t>(p2), vec4<acc_t>(p3));
        aa[j] = acc_t(a);
      }

      // Values: x_h = a * x_h + sum_k p_k c_k[0:r]; mat4x4 * vec4 = sum of the four
      // columns weighted by the four probabilities.
      var e = 0u;
      for (; e + 4u <= VAL_VEC4; e += 4u) {
        head_values(ob, live, rows, e, pm, aa);
        head_values(ob, live, rows, e + 1u, pm, aa);
        head_values(ob, live, rows, e + 2u, pm, aa);
        head_values(ob, live, rows, e + 3u, pm, aa);
      }
      for (; e < VAL_VEC4; e++) {
        head_values(ob, live, rows, e, pm, aa);
      }
    } else {
      // Prefill tile: QT queries x 4 keys; each cached vec4 serves the QT queries.
      let ra = row_offsets(base, 0u, last);
      // Zeroed explicitly every block: naga hoists loop-local vars to the function
      // entry, so a declaration alone does not re-zero them per iteration.
      var s: array<vec4<acc_t>, QT>;
      for (var i = 0u; i < QT; i++) {
        s[i] = vec4<acc_t>(0.0);
      }
      var d = 0u;
      for (; d + 4u <= KEY_VEC4; d += 4u) {
        tile_scores(&s, q_base, ra, d);
        tile_scores(&s, q_base, ra, d + 1u);
        tile_scores(&s, q_base, ra, d + 2u);
        tile_scores(&s, q_base, ra, d + 3u);
      }
      for (; d < KEY_VEC4; d++) {
        tile_scores(&s, q_base, ra, d);
      }
      var p: array<vec4<acc_t>, QT>;
      var aa: array<acc_t, QT>;
      var vis: array<vec4<bool>, QT>;
      let kk = vec4<u32>(kb) + vec4<u32>(0u, 1u, 2u, 3u);
      for (var i = 0u; i < QT; i++) {
        // Slots past the block or past this query's own visible keys: masked.
        let valid = kk < vec4<u32>(min(seen[i], end));
        vis[i] = valid;
        let f = select(vec4<f32>(NEG_BIG), vec4<f32>(s[i]) * params.scale, valid);
        let m_new = max(m_q[i], max(max(f.x, f.y), max(f.z, f.w)));
        let a = exp(m_q[i] - m_new);
        // Masked slots get 0 explicitly: a query that has seen no key yet (max still
        // NEG_BIG) would otherwise get exp(0) = 1 for them.
        let pi = select(vec4<f32>(0.0), exp(f - m_new), valid);
        l_q[i] = l_q[i] * a + dot(pi, vec4<f32>(1.0));
        m_q[i] = m_new;
        p[i] = vec4<acc_t>(pi);
        aa[i] = acc_t(a);
      }
      // The tile's queries see keys in increasing counts, so query 0 sees the fewest:
      // when it sees the whole block (and the block is whole), no slot is masked.
      let full = kb + 4u <= min(seen[0], end);
      var e = 0u;
      for (; e + 4u <= VAL_VEC4; e += 4u) {
        tile_values(ob, live, ra, e, p, aa, vis, full);
        tile_values(ob, live, ra, e + 1u, p, aa, vis, full);
        tile_values(ob, live, ra, e + 2u, p, aa, vis, full);
        tile_values(ob, live, ra, e + 3u, p, aa, vis, full);
      }
      for (; e < VAL_VEC4; e++) {
        tile_values(ob, live, ra, e, p, aa, vis, full);
      }
    }
  }

  var inv: array<f32, ROWS>;
  for (var r = 0u; r < ROWS; r++) {
    let m_run = m_q[r];
    let l_run = l_q[r];
    // No key seen (l = 0): x = 0 and LSE -inf. `!(l <= 0)` rather than `l > 0`: a
    // NaN sum (a visible key holds NaN) must give NaN x and LSE, as the reference
    // does, not the "no key" result.
    let seen_any = !(l_run <= 0.0);
    inv[r] = select(0.0, 1.0 / l_run, seen_any);
    if (live[r]) {
      // Natural-log LSE of the scaled scores; -inf when the row saw no key. The row's
      // LSE slot is its x row's index (ob[r] / VAL_VEC4).
      lse_out[ob[r] / VAL_VEC4] = select(params.neg_inf, m_run + log(l_run), seen_any);
    }
  }
  // x = the unnormalized x / l, in place (one d loop, rows unrolled inside).
  for (var d = 0u; d < VAL_VEC4; d++) {
    for (var r = 0u; r < ROWS; r++) {
      if (live[r]) {
        x_out[ob[r] + d] = x_out[ob[r] + d] * inv[r];
      }
    }
  }
}
