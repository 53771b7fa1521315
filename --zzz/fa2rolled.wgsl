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
// - Scores S = Q K^T (BQ x 32) as a GEMM over the head width in chunks of DKV vec4s (the
//   plan's chunkVec4: the widest divisor of QK_VEC4 whose q and k chunks fit the
//   device's workgroup memory beside the V tile; V2-Lite: 16 at the 48 KiB tier, so 3
//   chunks and 6 barriers a tile, 6 at 32 KiB, where chunks of 4 took 24): the chunk of
//   the BQ q rows (pre-scaled by scale *
//   log2(e), so the softmax uses exp2) and of the 32 key rows is staged in workgroup
//   memory; invocation (ty, tx) (BQ / 4 x 8: 128 at 64 queries, 32 at 16) keeps the 4 x 4
//   micro-tile of queries 4ty.. and keys 4tx.. in registers, one vec4 of keys per query
//   row (16 fmas a row per column of the chunk).
// - Online softmax (log2 domain) in parallel: each invocation masks its micro-tile
//   (the finite sentinel) and folds its rows' maxima into the rows' running max with a
//   workgroup atomicMax (row_max); after one barrier it writes p = exp2(s - max) of its
//   micro-tile to workgroup memory as [key][query], while the V tile is staged where the
//   k chunk was. Until session 33 one invocation per row walked its 32 scores
//   twice (max, then exp and sum) while the other half of the workgroup waited.
// - O += P V: invocation (ty, tx) owns queries 4ty.. x output vec4 columns tx, tx + 8,
//   ... (4 x ceil(V_VEC4 / 8) vec4s in registers); per key it reads its four rows' p as
//   one vec4 (adding it to the rows' sums) and each of its value vec4s once.
// Causal: the key loop ends at the tile's last query's visible keys, so key tiles past
// it are skipped entirely; inside a tile each query masks its own future keys.
// NaN: keys past the range are staged as zeros; keys inside a tile that a row must
// not see keep their data, so their score is replaced and their value is SELECTED out
// (select, not p * v: p = 0 times NaN is NaN). A tile every row sees whole (all but the
// diagonal tiles of a causal prefill) takes the plain fma path: it has no such key.
// Barriers: the key loop's and the chunk loop's bounds depend only on the workgroup id
// and the read-only tables (workgroup-uniform); nothing returns before a barrier; a
// barrier separates every stage from the reads of the previous one.
// Loops and a loop budget: every loop the device's limiter counts has a runtime trip
// count (adapter/tiled_plan.ts fa2LoopIterations counts them). The constant-trip loops
// over the micro-tile (4 rows, CPT columns, the DKV columns of a chunk) index the
// register arrays s and acc: they carry `// @unroll`, and on a gpu-class device the
// harness unrolls them in the source (kernels/unroll.ts: wgpu's own loop counter would
// hide their trip counts from the driver, and acc would leave registers); on a cpu-class
// device they stay loops.

alias store_t = f32; // @dtype storage type of q, k and v
alias acc_t = f32; // accumulation type of scores and outputs (always f32)

const QK_VEC4: u32 = 48u; // @param (nope + rope) / 4
const V_VEC4: u32 = 32u; // @param v / 4

const BQ: u32 = 64u; // @param queries per tile: 64, 32 or 16 (the host's q_tiles use the same)
const BK: u32 = 32u; // @param keys per tile (the plan's keysPerBlock; its memory checks count 32)
const_assert BK == 32u; // TX = 8 key micro-columns assume 32
const TY: u32 = BQ / 4u; // query micro-rows (16 at 64 queries)
const TX: u32 = BK / 4u; // 8 key micro-columns
const BQ4: u32 = BQ / 4u; // vec4s of one key's scores (4 queries each)
// Invocations (128 at 64 queries): 2 BQ, so r < BQ covers every row. The plan's
// workgroupSize, given so that a plan that disagrees with the tile fails to compile.
const WG: u32 = 128u; // @param
const_assert WG == TX * TY;
// vec4s of the head width per staged chunk (the plan's chunkVec4): a divisor of QK_VEC4,
// so every chunk is whole and its column loop has a constant trip count.
const DKV: u32 = 4u; // @param
const_assert QK_VEC4 % DKV == 0u;
const CPT: u32 = (V_VEC4 + TX - 1u) / TX; // output vec4 columns per invocation
// Staging trips per invocation: the q chunk, the k chunk and the V tile.
const QST: u32 = (BQ * DKV + WG - 1u) / WG;
const KST: u32 = (BK * DKV + WG - 1u) / WG;
const VST: u32 = (BK * V_VEC4 + WG - 1u) / WG;
// The leading trips whose element is inside the chunk (tile) for every invocation: their
// store guards fold to true once unrolled. A guarded store is a branch, and the compiler
// sank each load into its store's branch (NIR moves an instruction to its use), where it
// was waited for alone again.
const QST_FULL: u32 = (BQ * DKV) / WG;
const KST_FULL: u32 = (BK * DKV) / WG;
const VST_FULL: u32 = (BK * V_VEC4) / WG;
// Workgroup arrays are indexed with several indices, not one flat one: WebGPU clamps every
// run-time index of a workgroup array (wgpu: min(index, length - 1)), and a clamped flat
// index is a new address per element read. RADV's assembly (session 36) had an add, a min
// and a shift before each of the 96 LDS loads of a chunk of the score GEMM (a fifth of the
// chunk loop's instructions, and a register for each precomputed address). Indexed
// [row][column] with the column an unrolled constant, only the row is clamped, once, and
// every column is the same address plus an immediate offset.
// The q chunk, [query][d] (BQ x DKV): query 4 ty + i's column dd is qs[4 ty + i][dd].
// The k chunk and then the V tile share `kv` (a barrier ends every chunk's reads before
// it is written), rows of VR x TX vec4s:
// - the V tile: value vec4 column c TX + tx of key j at kv[j][c][tx] (VR = CPT: V_VEC4
//   rounded up to whole groups of TX; columns past V_VEC4 are never stored, and the
//   accumulators that read them are never written out);
// - the k chunk: [key % 4][d][key / 4] (see below), element r = (key % 4) DKV + d of the
//   TX-wide rows at kv[r / VR][r % VR][key / 4], a constant row for an unrolled (c, dd).
const VR: u32 = CPT;
const KROWS: u32 = (4u * DKV + VR - 1u) / VR;
const UROWS: u32 = max(BK, KROWS);
// Stride of ps in vec4s per key, padded by one: the score stores of a quarter warp (8 tx,
// keys 4 tx + c) land 4 * PSV vec4s apart; with PSV = BQ4 (a power of two) all eight hit
// the same four banks, with BQ4 + 1 they spread over two groups.
const PSV: u32 = BQ4 + 1u;

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

var<workgroup> qs: array<array<vec4<f32>, DKV>, BQ>;              // the q chunk
var<workgroup> kv: array<array<array<vec4<f32>, TX>, VR>, UROWS>;  // the k chunk, then V
// The k chunk, [key % 4][d][key / 4]: invocation tx reads keys 4 tx .. 4 tx + 3, so for
// one (key % 4, d) the eight tx of a quarter warp read eight consecutive vec4s (distinct
// banks). Stored [key][d], those eight reads were 4 * DKV vec4s apart: an 8-way conflict
// on every k read of the score loop.
// Scores, then probabilities, [key][query / 4] (stride PSV): the softmax's invocation r
// walks column r (a warp's lanes read consecutive floats of one key: no conflict), and the
// value phase reads its four rows' p of a key in one vec4.
var<workgroup> ps: array<vec4<f32>, BK * PSV>;
var<workgroup> row_lim: array<u32, BQ>;            // keys each row sees
// Each row's running max over every key tile so far (log2 domain), as max_key bits: the
// invocations holding a row's scores (8 tx) fold their maxima in with atomicMax, then all of
// them read the row's max after one barrier. From zero (what workgroup memory starts with),
// which no real score's key is below: after each tile every row has had 8 real maxima.
var<workgroup> row_max: array<atomic<u32>, BQ>;
var<workgroup> q_off: array<u32, BQ>;              // each row's q vec4 offset (this head)
// The fewest keys a row of the tile sees, complemented (~lim): atomicMax over the rows,
// from the zero workgroup memory starts with, is ~min(lim) with no initializing store
// and barrier. Every row sees the keys below it.
var<workgroup> lim_min_not: atomic<u32>;

// max_key(x): a float's bits as a key whose unsigned order is the float order, for
// atomicMax (WGSL has no float atomics); from_max_key, its inverse.
// @include max_key.wgsl

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

  // This invocation's four rows' running max and sum (log2 domain): every tx keeps the same
  // copy (the rows' max comes from row_max, the sum from the p it reads anyway).
  var m_run = vec4<f32>(NEG_BIG);
  var l_run = vec4<f32>(0.0);
  if (lid < BQ) {
    let qm_r = q_meta[qt.x + min(lid, qt.y - 1u)];
    row_lim[lid] = qm_r.z;
    q_off[lid] = (qm_r.x * params.heads + head) * QK_VEC4;
    atomicMax(&lim_min_not, ~qm_r.z);
  }
  workgroupBarrier(); // row_lim, q_off and the minimum are read from here on
  let lim_min = ~atomicLoad(&lim_min_not);
  var acc: array<array<vec4<acc_t>, CPT>, 4>; // zeroed

  for (var kb = kbeg; kb < kend; kb += BK) {
    let nk = min(BK, kend - kb);
    // 1. S = Q K^T over the head width, DKV vec4s at a time.
    var s: array<vec4<acc_t>, 4>;
    for (var i = 0u; i < 4u; i++) {
      s[i] = vec4<acc_t>(0.0); // naga hoists loop-local vars: zero every tile
    }
    for (var d0 = 0u; d0 < QK_VEC4; d0 += DKV) {
      // Stage the chunk: every load first, into registers, then every store. Loaded and
      // stored a trip at a time (a loop over i), each load was waited for before the next
      // was issued (RADV's assembly, session 34): a memory round trip per trip, two for a
      // key (its k_rows entry, then its row). Past the chunk's end or the tile's nk keys the
      // loads repeat an element in range (never stored, or stored as zeros), so no load
      // sits in a branch.
      var qv: array<vec4<f32>, QST>;
      for (var t = 0u; t < QST; t++) {
        let i = min(lid + t * WG, BQ * DKV - 1u);
        qv[t] = vec4<f32>(q[q_off[i / DKV] + d0 + i % DKV]) * params.scale_log2;
      }
      var kvr: array<vec4<f32>, KST>;
      for (var t = 0u; t < KST; t++) {
        let i = min(lid + t * WG, BK * DKV - 1u);
        let key = min(i / DKV, nk - 1u);
        kvr[t] = vec4<f32>(k[(k_rows[k0 + kb + key] * params.heads + head) * QK_VEC4 + d0 +
                            i % DKV - params.k_base]);
      }
      for (var t = 0u; t < QST; t++) {
        let i = lid + t * WG;
        if (t < QST_FULL || i < BQ * DKV) {
          qs[i / DKV][i % DKV] = qv[t];
        }
      }
      for (var t = 0u; t < KST; t++) {
        let i = lid + t * WG;
        let key = i / DKV;
        if (t < KST_FULL || i < BK * DKV) {
          // Keys past nk are staged as zeros.
          let r = (key % 4u) * DKV + i % DKV;
          kv[r / VR][r % VR][key / 4u] = select(vec4<f32>(0.0), kvr[t], key < nk);
        }
      }
      workgroupBarrier();
      for (var dd = 0u; dd < DKV; dd++) {
        // Keys 4 tx + c, c = 0..3, at chunk column dd (layout above): element c DKV + dd.
        let ka = kv[dd / VR][dd % VR][tx];
        let kb_ = kv[(DKV + dd) / VR][(DKV + dd) % VR][tx];
        let kc = kv[(2u * DKV + dd) / VR][(2u * DKV + dd) % VR][tx];
        let kd = kv[(3u * DKV + dd) / VR][(3u * DKV + dd) % VR][tx];
        // The four keys' components side by side (free on a GPU, where a vec4 is four
        // registers): each row's four dot products are then 16 fmas into s. Written as
        // q_row * mat4x4(k0, k1, k2, k3) + s, the compiler kept a multiply per dot product
        // and an add into s: 80 instructions for 64 fmas (RADV's assembly, session 34).
        let kx = vec4<acc_t>(vec4<f32>(ka.x, kb_.x, kc.x, kd.x));
        let ky = vec4<acc_t>(vec4<f32>(ka.y, kb_.y, kc.y, kd.y));
        let kz = vec4<acc_t>(vec4<f32>(ka.z, kb_.z, kc.z, kd.z));
        let kw = vec4<acc_t>(vec4<f32>(ka.w, kb_.w, kc.w, kd.w));
        for (var i = 0u; i < 4u; i++) {
          let qv = vec4<acc_t>(qs[4u * ty + i][dd]);
          s[i] = fma(kx, vec4<acc_t>(qv.x), s[i]);
          s[i] = fma(ky, vec4<acc_t>(qv.y), s[i]);
          s[i] = fma(kz, vec4<acc_t>(qv.z), s[i]);
          s[i] = fma(kw, vec4<acc_t>(qv.w), s[i]);
        }
      }
      workgroupBarrier();
    }
    // 2. Mask the micro-tile (keys past the row's visible ones or the split's end: the
    //    sentinel), fold its rows' maxima into row_max, and stage the V tile where the
    //    k chunk was.
    let lims = vec4<u32>(row_lim[4u * ty], row_lim[4u * ty + 1u], row_lim[4u * ty + 2u],
                         row_lim[4u * ty + 3u]);
    let keys4 = vec4<u32>(4u * tx) + vec4<u32>(0u, 1u, 2u, 3u);
    var sm: array<vec4<f32>, 4>; // row i's scores of keys 4 tx .. 4 tx + 3, masked
    var seen: array<vec4<bool>, 4>; // which of them row i sees (within the tile's nk keys)
    for (var i = 0u; i < 4u; i++) {
      seen[i] = (vec4<u32>(kb) + keys4 < vec4<u32>(lims[i])) & (keys4 < vec4<u32>(nk));
      sm[i] = select(vec4<f32>(NEG_BIG), vec4<f32>(s[i]), seen[i]);
      let mx = max(max(sm[i].x, sm[i].y), max(sm[i].z, sm[i].w));
      atomicMax(&row_max[4u * ty + i], max_key(mx));
    }
    // The V tile, loaded whole before it is stored, as the chunks are.
    var vv4: array<vec4<f32>, VST>;
    for (var t = 0u; t < VST; t++) {
      let i = min(lid + t * WG, BK * V_VEC4 - 1u);
      let key = min(i / V_VEC4, nk - 1u);
      vv4[t] = vec4<f32>(v[(k_rows[k0 + kb + key] * params.heads + head) * V_VEC4 +
                           i % V_VEC4 - params.v_base]);
    }
    for (var t = 0u; t < VST; t++) {
      let i = lid + t * WG;
      if (t < VST_FULL || i < BK * V_VEC4) {
        // Keys past nk are staged as zeros.
        let col = i % V_VEC4;
        kv[i / V_VEC4][col / TX][col % TX] = select(vec4<f32>(0.0), vv4[t], i / V_VEC4 < nk);
      }
    }
    workgroupBarrier();
    // 3. Online softmax, every invocation its own micro-tile: the rows' new max is
    //    row_max (the running max over every tile so far), p = exp2(s - max) goes to ps
    //    [key][query / 4], and the rows' sums are added up in the values pass below (each
    //    reads every p of its rows anyway). No invocation walks a row alone.
    let m_new = vec4<f32>(from_max_key(atomicLoad(&row_max[4u * ty])),
                          from_max_key(atomicLoad(&row_max[4u * ty + 1u])),
                          from_max_key(atomicLoad(&row_max[4u * ty + 2u])),
                          from_max_key(atomicLoad(&row_max[4u * ty + 3u])));
    let alpha = exp2(m_run - m_new);
    m_run = m_new;
    var pr: array<vec4<f32>, 4>;
    for (var i = 0u; i < 4u; i++) {
      // Masked slots 0 explicitly: while a row has seen no key (its max still the
      // sentinel) exp2(NEG_BIG - NEG_BIG) would be 1. By key index, not by score: a
      // visible NaN score must stay NaN.
      pr[i] = select(vec4<f32>(0.0), exp2(sm[i] - vec4<f32>(m_new[i])), seen[i]);
    }
    for (var c = 0u; c < 4u; c++) {
      ps[(4u * tx + c) * PSV + ty] = vec4<f32>(pr[0][c], pr[1][c], pr[2][c], pr[3][c]);
    }
    workgroupBarrier();
    // 4. O = alpha O + P V for queries 4ty.. and columns tx + 8c; l = alpha l + sum P.
    l_run *= alpha;
    for (var i = 0u; i < 4u; i++) {
      for (var c = 0u; c < CPT; c++) {
        acc[i][c] *= acc_t(alpha[i]);
      }
    }
    if (kb + nk <= lim_min) {
      // Every row sees every key of the tile (workgroup-uniform; no barrier inside).
      for (var j = 0u; j < nk; j++) {
        let p = ps[j * PSV + ty];
        l_run += p;
        for (var c = 0u; c < CPT; c++) {
          let vv = kv[j][c][tx];
          for (var i = 0u; i < 4u; i++) {
            acc[i][c] += vec4<acc_t>(p[i] * vv);
          }
        }
      }
    } else {
      for (var j = 0u; j < nk; j++) {
        let p = ps[j * PSV + ty];
        l_run += p;
        let vis = vec4<u32>(kb + j) < lims;
        for (var c = 0u; c < CPT; c++) {
          let vv = kv[j][c][tx];
          for (var i = 0u; i < 4u; i++) {
            // Select, do not multiply: a key this row must not see may hold NaN/Inf (p = 0
            // times NaN is NaN), so its value is replaced by 0 before the fma.
            let vm = vec4<acc_t>(select(vec4<f32>(0.0), vv, vis[i]));
            acc[i][c] = fma(vec4<acc_t>(acc_t(p[i])), vm, acc[i][c]);
          }
        }
      }
    }
    workgroupBarrier(); // stage and ps are restaged by the next tile
  }

  for (var i = 0u; i < 4u; i++) {
    let row = 4u * ty + i;
    if (row < qt.y) {
      let m = m_run[i];
      let l = l_run[i];
      if (tx == 0u) {
        // `!(l <= 0)`: a NaN sum (a visible NaN key) gives NaN, no key gives -inf.
        lse[(orow + row) * params.heads + head] =
          select(params.neg_inf, (m + log2(l)) * LN2, !(l <= 0.0));
      }
      let inv = select(0.0, 1.0 / l, !(l <= 0.0));
      for (var c = 0u; c < CPT; c++) {
        let col = tx + c * TX;
        if (col < V_VEC4) {
          out[((orow + row) * params.heads + head) * V_VEC4 + col] = vec4<f32>(acc[i][c]) * inv;
        }
      }
    }
  }
}
// @included max_key.wgsl from expanded_fa2.wgsl:160
// A part (kernels/source.ts, `// @include max_key.wgsl`), appended to the kernels whose rows
// keep a running max in workgroup memory with atomicMax: absorbed_tiled.wgsl and
// expanded_fa2.wgsl (WGSL has no float atomics).

// A float's bits as a key whose unsigned order is the float order: negative floats flipped
// whole (a larger magnitude is a smaller key), positive ones with the sign bit set (above
// every negative one).
fn max_key(x: f32) -> u32 {
  let b = bitcast<u32>(x);
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

// The float of a max_key.
fn from_max_key(k: u32) -> f32 {
  return bitcast<f32>(select(~k, k & 0x7fffffffu, (k & 0x80000000u) != 0u));
}
