// @enable-f16
// Expanded (dense multi-head) attention, GPU-shaped (FlashAttention-2): prefill tiles of
// BQ queries x 1 head per workgroup, K then V staged in workgroup memory, 4x4 register
// micro-tiles. BQ is 64, or 32 or 16 where 64-query tiles would leave a GPU's SMs idle
// (adapter/tiled_plan.ts fa2QueryTile): a causal prefill lasts as long as its longest
// tile, so a short one on many SMs wants more, shorter tiles. Where even 16-query tiles
// leave a GPU's SMs idle (a decode: one tile per sequence and head), the keys are split
// (grid y, fa2KvSplits): each split writes a normalized partial and its LSE, and
// combine.wgsl merges them, as for the tiled absorbed decode.
//
// Inputs are expanded.wgsl's: q [qRows, h, QK_VEC4] (q_nope | rotated q_pe), per-head
// K [kRows, h, QK_VEC4] and V [kRows, h, V_VEC4] expanded from the latent cache, bound
// per group of sequences (k_base / v_base: the bindings' vec4 offsets), keys read
// through k_rows.
//
// Per key tile of BK = 32 keys:
// - Scores S = Q K^T (64 x 32) as a GEMM over the head width in chunks of DKV = 4 vec4s:
//   the chunk of the BQ q rows (pre-scaled by scale * log2(e), so the softmax uses
//   exp2) and of the 32 key rows is staged in workgroup memory; invocation (ty, tx)
//   (BQ / 4 x 8: 128 at 64 queries, 32 at 16) keeps the 4 x 4 micro-tile of queries 4ty..
//   and keys 4tx.. in registers, one vec4 of keys per query row (q_row * mat4x4(k0, k1,
//   k2, k3) is the four dot products).
// - S goes to workgroup memory (masked scores replaced by the finite sentinel), the V
//   tile is staged, and invocation r < BQ runs row r's online softmax (log2 domain).
// - O += P V: invocation (ty, tx) owns queries 4ty.. x output vec4 columns tx, tx + 8,
//   ... (4 x ceil(V_VEC4 / 8) vec4s in registers).
// Causal: the key loop ends at the tile's last query's visible keys, so key tiles past
// it are skipped entirely; inside a tile each query masks its own future keys.
// NaN: keys past the range are staged as zeros; keys inside a tile that a row must
// not see keep their data, so their score is replaced and their value is SELECTED out
// (select, not p * v: p = 0 times NaN is NaN).
// Barriers: the key loop's and the chunk loop's bounds depend only on the workgroup id
// and the read-only tables (workgroup-uniform); nothing returns before a barrier; a
// barrier separates every stage from the reads of the previous one.
// Loops and a loop budget: every loop the device's limiter counts has a runtime trip
// count (adapter/tiled_plan.ts fa2LoopIterations counts them). The constant-trip loops
// over the micro-tile (4 rows, CPT columns) index the register arrays s and acc: they
// carry `// @unroll`, and on a gpu-class device the harness unrolls them in the source
// (kernels/unroll.ts: wgpu's own loop counter would hide their trip counts from the
// driver, and acc would leave registers); on a cpu-class device they stay loops.

alias store_t = f32; // @dtype storage type of q, k and v
alias acc_t = f32; // accumulation type of scores and outputs (always f32)

const QK_VEC4: u32 = 48u; // @param (nope + rope) / 4
const V_VEC4: u32 = 32u; // @param v / 4

const BQ: u32 = 64u; // @param queries per tile: 64, 32 or 16 (the host's q_tiles use the same)
const BK: u32 = 32u; // @param keys per tile (the plan's keysPerBlock; its memory checks count 32)
const_assert BK == 32u; // TX = 8 key micro-columns and PS's bank padding assume 32
const TY: u32 = BQ / 4u; // query micro-rows (16 at 64 queries)
const TX: u32 = BK / 4u; // 8 key micro-columns
// Invocations (128 at 64 queries): 2 BQ, so r < BQ covers every row. The plan's
// workgroupSize, given so that a plan that disagrees with the tile fails to compile.
const WG: u32 = 128u; // @param
const_assert WG == TX * TY;
const DKV: u32 = 4u; // vec4s of the head width per staged chunk
const CPT: u32 = (V_VEC4 + TX - 1u) / TX; // output vec4 columns per invocation
// Row stride of ps, padded by one: the softmax's invocation r walks row r, so a warp's
// lanes read ps[r * PS + j] together; with a stride of BK (32 floats) every lane would
// hit the same bank (a 32-way conflict), with 33 they hit 32 different banks.
const PS: u32 = BK + 1u;

// Finite stand-in for -inf (log2 domain): exp2(NEG_BIG - m) is 0 for any real m and
// NEG_BIG - NEG_BIG is 0, never NaN.
const NEG_BIG: f32 = -3.0e38;
const LN2: f32 = 0.6931471805599453;

struct Params {
  tiles: u32,       // query tiles of this dispatch
  tile_begin: u32,  // first query tile of this dispatch (index into q_tiles)
  heads: u32,
  k_base: u32,      // vec4 offset of the k binding inside the k buffer
  v_base: u32,      // vec4 offset of the v binding inside the v buffer
  scale_log2: f32,  // softmax scale * log2(e)
  neg_inf: f32,     // -Infinity, from the host
  kv_splits: u32,   // KV splits (grid y): split s walks its share of the tile's keys
  total_q: u32,     // query rows of the layout: split s writes rows s * total_q ..
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<store_t>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<store_t>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<store_t>>;
@group(0) @binding(4) var<storage, read> q_meta: array<vec4<u32>>;   // see absorbed.wgsl
@group(0) @binding(5) var<storage, read> k_rows: array<u32>;
// One split: the output itself. Several: each split's normalized partial and its LSE,
// [splits, totalQ, h, ...], which combine.wgsl merges (no "last workgroup" atomic: not
// sound in WGSL's memory model).
@group(0) @binding(6) var<storage, read_write> out: array<vec4<f32>>;  // [splits, totalQ, h, V_VEC4]
@group(0) @binding(7) var<storage, read_write> lse: array<f32>;        // [splits, totalQ, h]
@group(0) @binding(8) var<storage, read> q_tiles: array<vec2<u32>>;

var<workgroup> qs: array<vec4<f32>, BQ * DKV>;     // q chunk, pre-scaled
// k chunk, [key % 4][d][key / 4]: invocation tx reads keys 4 tx .. 4 tx + 3, so for one
// (key % 4, d) the eight tx of a quarter warp read eight consecutive vec4s (distinct
// banks). Stored [key][d], those eight reads were 4 * DKV vec4s (256 bytes) apart, all in
// the same four banks: an 8-way conflict on every k read of the score loop.
var<workgroup> ks: array<vec4<f32>, BK * DKV>;
var<workgroup> vs: array<vec4<f32>, BK * V_VEC4>;  // V tile
var<workgroup> ps: array<f32, BQ * PS>;            // [query][key] (stride PS): scores, then probabilities
var<workgroup> alpha: array<f32, BQ>;
var<workgroup> row_lim: array<u32, BQ>;            // keys each row sees
var<workgroup> row_l: array<f32, BQ>;

@compute @workgroup_size(WG)
fn expanded_fa2(@builtin(workgroup_id) wid: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  // Exact grid (tiles x heads, KV splits): no early return; min() keeps a stray id in bounds.
  // Longest first: a causal query tile later in its sequence walks more key tiles, and a
  // GPU starts workgroups roughly in id order, so the first ids take the dispatch's last
  // tiles (the most work) and the short ones fill in at the end (longest-processing-time
  // first keeps the tail of a 4096-token prefill short). Every tile still runs once.
  let tile = params.tile_begin + (params.tiles - 1u - min(wid.x / params.heads, params.tiles - 1u));
  let head = wid.x % params.heads;
  let qt = q_tiles[tile];
  let qm = q_meta[qt.x + qt.y - 1u];
  let end = qm.z; // the last query sees the most keys: later tiles are skipped
  // KV split wid.y (a decode's few query tiles would leave a GPU's SMs idle): a share of
  // [0, end) in whole key tiles, so no tile is cut twice. Workgroup-uniform (the id and
  // read-only tables), as the barriers in the key loop need. An empty share leaves every
  // row at LSE -inf and output 0, which the combine skips.
  let share = (((end + params.kv_splits - 1u) / params.kv_splits + BK - 1u) / BK) * BK;
  let kbeg = min(wid.y * share, end);
  let kend = min(kbeg + share, end);
  let orow = wid.y * params.total_q + qt.x; // this split's first output row
  let k0 = qm.y;
  let ty = lid / TX;
  let tx = lid % TX;

  var m_run = NEG_BIG;
  var l_run = 0.0;
  if (lid < BQ) {
    row_lim[lid] = q_meta[qt.x + min(lid, qt.y - 1u)].z;
  }
  var acc: array<array<vec4<acc_t>, CPT>, 4>; // zeroed

  for (var kb = kbeg; kb < kend; kb += BK) {
    let nk = min(BK, kend - kb);
    // 1. S = Q K^T over the head width, DKV vec4s at a time.
    var s: array<vec4<acc_t>, 4>;
    for (var i = 0u; i < 4u; i++) { // @unroll
      s[i] = vec4<acc_t>(0.0); // naga hoists loop-local vars: zero every tile
    }
    for (var d0 = 0u; d0 < QK_VEC4; d0 += DKV) {
      for (var i = lid; i < BQ * DKV; i += WG) {
        let row = i / DKV;
        let d = d0 + i % DKV;
        let qrow = q_meta[qt.x + min(row, qt.y - 1u)].x;
        var x = vec4<f32>(0.0);
        if (d < QK_VEC4) {
          x = vec4<f32>(q[(qrow * params.heads + head) * QK_VEC4 + d]) * params.scale_log2;
        }
        qs[i] = x;
      }
      for (var i = lid; i < BK * DKV; i += WG) {
        let key = i / DKV;
        let d = d0 + i % DKV;
        var x = vec4<f32>(0.0);
        if (key < nk && d < QK_VEC4) {
          x = vec4<f32>(k[(k_rows[k0 + kb + key] * params.heads + head) * QK_VEC4 + d -
                          params.k_base]);
        }
        ks[((key % 4u) * DKV + i % DKV) * TX + key / 4u] = x;
      }
      workgroupBarrier();
      let nd = min(DKV, QK_VEC4 - d0);
      for (var dd = 0u; dd < nd; dd++) {
        // Keys 4 tx + c, c = 0..3, at chunk column dd (layout above).
        let kb4 = dd * TX + tx;
        let km = mat4x4<f32>(ks[kb4], ks[kb4 + DKV * TX], ks[kb4 + 2u * DKV * TX],
                             ks[kb4 + 3u * DKV * TX]);
        let qb4 = 4u * ty * DKV + dd;
        s[0] += vec4<acc_t>(qs[qb4] * km);
        s[1] += vec4<acc_t>(qs[qb4 + DKV] * km);
        s[2] += vec4<acc_t>(qs[qb4 + 2u * DKV] * km);
        s[3] += vec4<acc_t>(qs[qb4 + 3u * DKV] * km);
      }
      workgroupBarrier();
    }
    // 2. Masked scores to workgroup memory; stage the V tile.
    let keys4 = vec4<u32>(kb + 4u * tx) + vec4<u32>(0u, 1u, 2u, 3u);
    for (var i = 0u; i < 4u; i++) { // @unroll
      let row = 4u * ty + i;
      let vis = keys4 < vec4<u32>(row_lim[row]);
      let sv = select(vec4<f32>(NEG_BIG), vec4<f32>(s[i]), vis);
      let o = row * PS + 4u * tx;
      ps[o] = sv.x;
      ps[o + 1u] = sv.y;
      ps[o + 2u] = sv.z;
      ps[o + 3u] = sv.w;
    }
    for (var i = lid; i < BK * V_VEC4; i += WG) {
      let key = i / V_VEC4;
      var x = vec4<f32>(0.0);
      if (key < nk) {
        x = vec4<f32>(v[(k_rows[k0 + kb + key] * params.heads + head) * V_VEC4 + i % V_VEC4 -
                        params.v_base]);
      }
      vs[i] = x;
    }
    workgroupBarrier();
    // 3. Online softmax of row lid (log2 domain).
    if (lid < BQ) {
      var mx = NEG_BIG;
      for (var j = 0u; j < nk; j++) {
        mx = max(mx, ps[lid * PS + j]);
      }
      let m_new = max(m_run, mx);
      let a = exp2(m_run - m_new);
      var sum = 0.0;
      let lim = row_lim[lid];
      for (var j = 0u; j < nk; j++) {
        // Masked slots 0 explicitly (exp2(NEG_BIG - NEG_BIG) would be 1).
        let pj = select(0.0, exp2(ps[lid * PS + j] - m_new), kb + j < lim);
        ps[lid * PS + j] = pj;
        sum += pj;
      }
      l_run = l_run * a + sum;
      m_run = m_new;
      alpha[lid] = a;
    }
    workgroupBarrier();
    // 4. O = alpha O + P V for queries 4ty.. and columns tx + 8c.
    for (var i = 0u; i < 4u; i++) { // @unroll
      for (var c = 0u; c < CPT; c++) { // @unroll
        acc[i][c] *= acc_t(alpha[4u * ty + i]);
      }
    }
    for (var j = 0u; j < nk; j++) {
      for (var i = 0u; i < 4u; i++) { // @unroll
        let row = 4u * ty + i;
        let p = ps[row * PS + j];
        let vis = kb + j < row_lim[row];
        for (var c = 0u; c < CPT; c++) { // @unroll
          let col = min(tx + c * TX, V_VEC4 - 1u);
          // Select, do not multiply: a key this row must not see may hold NaN/Inf.
          acc[i][c] += vec4<acc_t>(select(vec4<f32>(0.0), p * vs[j * V_VEC4 + col], vis));
        }
      }
    }
    workgroupBarrier(); // vs, ps, qs, ks are restaged by the next tile
  }

  if (lid < BQ) {
    row_l[lid] = l_run;
    if (lid < qt.y) {
      // `!(l <= 0)`: a NaN sum (a visible NaN key) gives NaN, no key gives -inf.
      lse[(orow + lid) * params.heads + head] =
        select(params.neg_inf, (m_run + log2(l_run)) * LN2, !(l_run <= 0.0));
    }
  }
  workgroupBarrier();
  for (var i = 0u; i < 4u; i++) { // @unroll
    let row = 4u * ty + i;
    if (row < qt.y) {
      let l = row_l[row];
      let inv = select(0.0, 1.0 / l, !(l <= 0.0));
      for (var c = 0u; c < CPT; c++) { // @unroll
        let col = tx + c * TX;
        if (col < V_VEC4) {
          out[((orow + row) * params.heads + head) * V_VEC4 + col] = vec4<f32>(acc[i][c]) * inv;
        }
      }
    }
  }
}
