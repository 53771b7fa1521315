// @enable-f16
// @enable-subgroups
// Absorbed MLA attention, GPU-shaped (FlashMLA / FlashDecoding): the latent MQA with
// key tiles shared through workgroup memory.
//
// The math is absorbed.wgsl's: every head shares one key per token, the cached row
//   cache[row] = [ c (r) | rope(k_pe) (rope) ]          (KEY_VEC4 = (r + rope) / 4 vec4s)
// whose first r columns are also the value (VAL_VEC4 = r / 4 vec4s), and
// score(h, t) = scale * dot(q_absorbed[qRow, h], cache[row_t]).
//
// Shape (why it differs from absorbed.wgsl, which is shaped for lavapipe):
// - A workgroup owns ROWS = QT x HT (query, head) rows of one sequence: HT heads of a
//   tile of QT consecutive queries. On an MQA cache every row reads the same keys, so
//   each key tile is loaded from memory ONCE per workgroup instead of once per lane.
// - Each tile of KT keys is staged in workgroup memory (`ktile`) with coalesced
//   16-byte loads: consecutive invocations load consecutive 16-byte chunks of one
//   cached row (f32: one vec4; f16: eight halves as a vec4<u32>), rows found through
//   k_rows (paged block tables and THD resolved on the host). The loads are issued one
//   tile ahead into registers (`pre`, STAGE_N chunks per invocation) and stored into
//   ktile at the start of the next tile, so a tile's memory latency overlaps the
//   previous tile's scores, softmax and values.
// - Scores: invocation lid owns row lid % ROWS and segment g = lid / ROWS of the key
//   width (chunks g, g + SEGS, g + 2 SEGS, ...; SEGS = WG / ROWS). Its q segment is
//   loaded ONCE into registers (qreg, QSEG chunks) before the tile loop and reused by
//   every key of every tile: reading q from memory per pair instead costs one
//   uncoalesced load per chunk per tile (the ROWS rows of a warp are 4 * KEY_VEC4
//   bytes apart, one cache line each), more loads than the key tile itself. For each
//   staged key the invocation writes its partial dot product to `part`; after a
//   barrier, pair (row, key) sums its SEGS partials. In a warp adjacent invocations
//   read the same ktile chunk (same segment, other rows: a broadcast) or the next one
//   (other segment: the next bank), so the reads are conflict-free.
// - Softmax, in the log2 domain (scores scaled by scale * log2(e), exponentiated with
//   exp2), with no serial walk: each pair's score folds into its row's running max by a
//   workgroup atomicMax, each pair's p is computed by the invocation of that pair, and the
//   rows' sums are added up in the value phase (session 34; RADV's assembly had the 16
//   row owners walking 8 scores twice per tile, 52 instructions a key, while 240
//   invocations waited).
// - Values: invocation t owns output vec4 column t % VAL_VEC4 of the rows of its row
//   group (all ROWS rows when WG < 2 VAL_VEC4; at V2-Lite widths 256 invocations, so
//   8 of 16 rows, or 16 of 32), and nothing spills (AMD's compiler, tools/spirv_audit.ts
//   --radv: 144 VGPRs in f32 at 16 rows, where 128 invocations holding all 16 rows and
//   18 q vec4s took all 256 and spilled); the value of key k is the first VAL_VEC4 vec4s
//   of the staged row, read once per key for all rows. A row group of one query's rows
//   masks that value once and reads four rows' probabilities in one load (RADV's
//   assembly: 58 instructions and 3 LDS loads a key, from 169 and 17 with a select and
//   two scalar loads per row; tools/asm_loops.ts, which counts the loop's bookkeeping
//   too, gives 69, and 77 since the loop also adds up the rows' sums, session 34).
// - KV splits (grid y) fill the device; each split writes its normalized partial x
//   and natural-log LSE, and combine.wgsl merges them in a separate pass (a "last
//   workgroup" atomic is not sound in WGSL's memory model).
//
// Subgroup variant (backend wgsl-absorbed-tiled-sg, WebGPU feature `subgroups`; the
// `// @sg:` lines below replace the `// @nosg` ones, kernels/source.ts): each (row, key)
// score is computed by a whole subgroup instead of by SEGS invocations' partials, with
// no q registers and no `part` (so one barrier less per tile). Its lanes take
// interleaved 16-byte chunks of the 576-wide dot product (so a subgroup's q and ktile
// reads are consecutive addresses: coalesced, conflict-free, where the one-pair-per-lane
// form reads ROWS q rows 2304 bytes apart) and subgroupAdd sums the partials. Nothing
// here assumes how invocations are grouped into subgroups, or their size (WGSL promises
// neither): each subgroup draws a dense index from a workgroup atomic once (its first
// lane, subgroupElect, then subgroupBroadcastFirst), counts its own lanes with
// subgroupAdd(1) and ranks them with subgroupExclusiveAdd(1); the number of subgroups
// is the atomic's value after the first barrier. The pair loop's bounds are then
// uniform within each subgroup, not the workgroup, so the variant turns WGSL's
// subgroup_uniformity diagnostic off; no barrier is inside that loop.
//
// Barriers: the tile loop's bounds (begin, end) derive only from the workgroup id
// and read-only buffers, so they are workgroup-uniform; nothing returns before a
// barrier (the grid is exact: no bounds-guard return), and a barrier ends every
// tile before ktile and sp are restaged.
//
// Loops and a loop budget (lavapipe ends every loop of an invocation after 65535
// iterations in all): every loop that the device counts has a runtime trip count
// (the tile loop, the score key loop, the pair sums, the softmax's pair loop and the
// values' key loop), so its cost is its trips + 1 and the host's count
// (adapter/tiled_plan.ts tiledLoopIterations) is exact; the constant-trip loops (over
// rows, chunk halves, a tile's STAGE_N chunks, a q segment's QSEG chunks and a pair's
// SEGS partials) should be unrolled: their arrays (acc, qreg, pre) stay in registers
// only with constant indices. Each carries `// @unroll`: on a gpu-class device the
// harness unrolls it in the source (kernels/unroll.ts), because wgpu bounds every loop
// it emits with a counter of its own and a GPU driver then cannot see the trip count;
// on a cpu-class device they stay loops, Mesa unrolls up to about 18 trips at these
// bodies and runs longer ones (a 32-row group) as loops, which the count includes
// (TILED_UNROLLED_TRIPS).
//
// NaN: slots past the split's end are staged with a copy of its last key (fetch_tile
// clamps; they are never read, the key loops stop at the split's end); keys inside the tile that a
// row must not see (causal future keys of the tile's earlier queries) keep their
// data, so their score is replaced by the sentinel and their value contribution is
// SELECTED out (select, not p * v: p = 0 times a NaN/Inf value is NaN). A row whose
// visible keys hold NaN gets NaN, like the float64 reference.

alias store_t = f32; // @dtype storage type of the cache (q_absorbed is f32 always)
alias acc_t = f32; // accumulation type of scores and the latent output (always f32)

const WG: u32 = 128u; // @param invocations per workgroup
const HT: u32 = 16u; // @param heads per workgroup
const QT: u32 = 1u; // @param queries per tile (consecutive queries of one sequence)
const KT: u32 = 8u; // @param keys per staged tile (from the workgroup-memory tier)
// Keys per trip of the partial scores' loop (adapter/tiled_plan.ts tiledKeysPerTrip): 2
// where the plan unrolls the constant loops (gpu class), 1 elsewhere (a loop-budget
// device's count and Mesa's own unrolling were measured with one key a trip).
const KPT: u32 = 1u; // @param
// Keys of the value phase's unrolled form (adapter/tiled_plan.ts tiledUnrolledValueKeys):
// KT on gpu-class plans (their loops unrolled, kernels/unroll.ts) whose value row groups are
// one query's rows in whole vec4s of probabilities, with KT <= 16 (a longer tile, only tiny
// widths, keeps the loop); else 0, and the form is not emitted. A whole tile that every row
// of the group sees then needs no mask, and with k a constant every ktile and sp load of a
// key is one address plus an immediate offset, without the loop's bookkeeping (wgpu's 64-bit
// trip counter) or a clamp per key (RADV's assembly: see the value phase).
const VU_N: u32 = 0u; // @param
const RG: u32 = 1u; // @param row groups of the value phase (WG / VAL_VEC4 at most)
const KEY_VEC4: u32 = 144u; // @param (r + rope) / 4
const VAL_VEC4: u32 = 128u; // @param r / 4

// vec4s per 16-byte chunk: f32 1, f16 2 (eight halves packed as a vec4<u32>).
const CPV: u32 = 1u; // @f32
// @f16: const CPV: u32 = 2u;
alias chunk_t = vec4<f32>; // @f32
// @f16: alias chunk_t = vec4<u32>;

const ROWS: u32 = QT * HT;
const KEY_CH: u32 = KEY_VEC4 / CPV;
// Segments of the key width per row in the score phase (WG and ROWS are powers of two,
// ROWS <= WG) and the most chunks one segment holds (V2-Lite f32: 16 segments of 9).
const SEGS: u32 = WG / ROWS;
const QSEG: u32 = (KEY_CH + SEGS - 1u) / SEGS;
// Chunks of a key tile one invocation loads (V2-Lite f32: 8 keys x 144 / 256 = 4.5, so 5).
const STAGE_N: u32 = (KT * KEY_CH + WG - 1u) / WG;
// Chunks of a row the score reads: all of them, the latent and the RoPE part.
const SCORE_CH: u32 = KEY_CH;
// The leading positions of a q segment, and of an invocation's staged chunks, that are
// inside the row (the tile) for EVERY invocation: their guards fold to true once the
// loops are unrolled, so only the last position keeps a branch (V2-Lite f32: none; a
// guard per chunk cost a branch and an exec-mask update per chunk per key on a GPU).
const FULL_SEG: u32 = SCORE_CH / SEGS;
const FULL_STAGE: u32 = (KT * KEY_CH) / WG;
const PAIRS: u32 = ROWS * KT;
const_assert ROWS <= WG;
const_assert WG % ROWS == 0u;
const_assert KPT == 1u || KPT == 2u;
const_assert KT % KPT == 0u; // the partial scores' loop takes KPT keys a trip
// Value phase: invocation lid owns output vec4 column lid % VAL_VEC4 of the RPG rows of
// row group lid / VAL_VEC4 (the host picks WG >= VAL_VEC4 * RG, RG a power of two
// dividing ROWS): its accumulator is a fixed RPG-vec4 array indexed only by unrolled
// row loops. With 32 rows and 256 invocations (RG 2) every invocation works, and an
// invocation holds 16 accumulator vec4s instead of 32, next to its q segment.
const RPG: u32 = ROWS / RG;
const_assert ROWS % RG == 0u;
// A row group holds RPG consecutive rows; row r is head r % HT of query r / HT, so when
// RPG <= HT (both powers of two) a group is RPG heads of ONE query, and all its rows see
// the same keys: the value phase then masks each key's value once for the group instead
// of selecting each row's product (V2-Lite decode, MTP, DeepSeek-V3; not, e.g., 2 heads
// with 16 queries a tile).
const ONE_QUERY_GROUPS: bool = RPG <= HT;
// Row groups of whole vec4s of sp slots (RPG a multiple of 4: the group's first slot of a
// key, k * ROWS + g0, is then one too).
const SP_VEC4: bool = RPG % 4u == 0u;
// The unrolled value form reads four rows' p a load from one query's rows: the plan gives it
// only such groups.
const_assert VU_N == 0u || (VU_N == KT && ONE_QUERY_GROUPS && SP_VEC4);
const_assert VAL_VEC4 * RG <= WG;
const_assert KEY_VEC4 % CPV == 0u;
const_assert VAL_VEC4 <= KEY_VEC4;

// Finite stand-in for -inf (log2 domain): exp2(NEG_BIG - m) is 0 for any real m and
// NEG_BIG - NEG_BIG is 0, never NaN; an infinite sentinel would give inf - inf = NaN.
const NEG_BIG: f32 = -3.0e38;
const LN2: f32 = 0.6931471805599453;

struct Params {
  total_q: u32,     // query tiles (entries of q_tiles)
  total_t: u32,     // query tokens (rows of the outputs per split)
  heads: u32,
  head_tiles: u32,
  kv_splits: u32,
  scale_log2: f32,  // softmax scale * log2(e): scores go straight into exp2
  neg_inf: f32,     // -Infinity, from the host (WGSL has no infinite literal)
}

@group(0) @binding(0) var<uniform> params: Params;
// q_absorbed is f32 in every dtype (kit.absorbQ with dtype "f32"): q~ = q_nope . W_UK can
// pass f16's largest finite value, 65504, where q_nope, the cache and the reference do not.
@group(0) @binding(1) var<storage, read> q_absorbed: array<vec4<f32>>;  // [qRows, h, KEY_VEC4]
@group(0) @binding(2) var<storage, read> cache: array<chunk_t>;             // [kRows, KEY_CH]
@group(0) @binding(3) var<storage, read> q_meta: array<vec4<u32>>;          // [totalQ]
@group(0) @binding(4) var<storage, read> k_rows: array<u32>;                // [totalK]
@group(0) @binding(5) var<storage, read_write> x_out: array<vec4<f32>>;     // [splits, totalQ, h, VAL_VEC4]
@group(0) @binding(6) var<storage, read_write> lse_out: array<f32>;         // [splits, totalQ, h]
@group(0) @binding(7) var<storage, read> q_tiles: array<vec2<u32>>;         // (first query, count)

// A staged key row: chunk c of the row is c[c / SEG_W][c % SEG_W], so that chunk
// seg + i * SEGS, the score loop's i-th of segment seg, is c[i][seg]. Why three indices and
// not one: WebGPU clamps every run-time index of a workgroup array (wgpu: min(index,
// length - 1)), and a clamped flat index kbase + seg + i * SEGS is a new address per chunk
// (RADV's assembly, session 36: an add, a min and a shift before each of the 9 loads of a
// key, and no load's offset folded into its instruction). With i a constant index (the
// unrolled loop) only k and seg are clamped, once a key and once, and every chunk of a key
// is the same address plus an immediate offset. The row holds QSEG x SEG_W chunks (the
// last segment's tail unused where SEGS does not divide KEY_CH); SEG_W is SEGS, or KEY_CH
// where the segments outnumber the chunks (QSEG is then 1: segment seg holds chunk seg
// alone, or none).
// One chunk of padding per row: rows a multiple of 128 bytes apart would otherwise start
// on the same bank (V2-Lite f32: 144 chunks). The plain score loop reads one key at a
// time, but the subgroup variant's subgroups take different keys, and several of them can
// share one SIMD group (SwiftShader's are 4 lanes): their reads of one chunk column would
// conflict.
const SEG_W: u32 = min(SEGS, KEY_CH);
struct KRow {
  c: array<array<chunk_t, SEG_W>, QSEG>,
  pad: chunk_t,
}
var<workgroup> ktile: array<KRow, KT>;  // the staged key tile
// [key][row]: scores, then probabilities; vec4s of 4 consecutive rows, so that the value
// phase reads 4 rows of a key in one 16-byte load (slot i = k ROWS + r is
// sp[k][r >> 2][r & 3]). Indexed by key first: in the value phase's unrolled form k is a
// constant, so only the row index is clamped (once a tile, not once a load: RADV's
// assembly had an add, a min and a shift before each flat-indexed load; in the rolled loop
// the two forms cost the same, session 36).
const SPR: u32 = (ROWS + 3u) / 4u;
var<workgroup> sp: array<array<vec4<f32>, SPR>, KT>;
// [key][segment][row]: partial scores (not in the subgroup variant); three indices for the
// reason ktile has them: the pair sums read [k][g][r] with g an unrolled constant.
var<workgroup> part: array<array<array<f32, ROWS>, SEGS>, KT>; // @nosg
var<workgroup> alpha: array<f32, ROWS>;              // per row: rescale of the running output
var<workgroup> row_lim: array<u32, ROWS>;            // per row: keys it sees, within the split
var<workgroup> row_l: array<f32, ROWS>;              // per row: the final running sum
// Per row: the running max over every tile so far (log2 domain) as max_key bits. From
// zero (what workgroup memory starts with), below every real score's key: after a tile's
// pair scores every row has had KT real ones (masked scores are the finite sentinel).
var<workgroup> row_max: array<atomic<u32>, ROWS>;
// @sg: var<workgroup> sg_tickets: atomic<u32>;         // subgroups that drew an index

// max_key(x): a float's bits as a key whose unsigned order is the float order, for
// atomicMax (WGSL has no float atomics); from_max_key, its inverse.
// @include max_key.wgsl

// The score/probability of (key k, row r) in sp, and its store.
fn sp_at(k: u32, r: u32) -> f32 {
  return sp[k][r >> 2u][r & 3u];
}
fn sp_set(k: u32, r: u32, v: f32) {
  sp[k][r >> 2u][r & 3u] = v;
}

// vec4 h (< CPV) of a 16-byte chunk, widened to f32.
fn cvec(c: chunk_t, h: u32) -> vec4<f32> {
  return c; // @f32
  // @f16: let w = select(c.xy, c.zw, h == 1u); return vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y));
}

// Chunk c of staged key k.
fn kt_at(k: u32, c: u32) -> chunk_t {
  return ktile[k].c[c / SEG_W][c % SEG_W];
}

// Partial dot product (4 lanes) of chunk c of a q row with chunk c of staged key k.
fn dot_chunk(qb: u32, k: u32, c: u32) -> vec4<acc_t> {
  let kc = kt_at(k, c);
  var s = vec4<acc_t>(0.0);
  for (var h = 0u; h < CPV; h++) { // @unroll
    s += vec4<acc_t>(vec4<f32>(q_absorbed[qb + c * CPV + h]) * cvec(kc, h));
  }
  return s;
}

// Subgroup variant: scaled score (log2 domain) of pair p = (row p % ROWS, staged key
// p / ROWS), summed over the chunks first, first + step, ... of the key width (a subgroup
// lane's share), q read from memory. Four chunks per trip: independent loads in flight.
fn pair_score(p: u32, qt: vec2<u32>, htile: u32, first: u32, step: u32) -> f32 {
  let k = p / ROWS;
  let qb = row_of(p % ROWS, qt, htile).y;
  var s4 = vec4<acc_t>(0.0);
  var c = first;
  for (; c + 3u * step < SCORE_CH; c += 4u * step) {
    s4 += dot_chunk(qb, k, c) + dot_chunk(qb, k, c + step) +
          dot_chunk(qb, k, c + 2u * step) + dot_chunk(qb, k, c + 3u * step);
  }
  for (; c < SCORE_CH; c += step) {
    s4 += dot_chunk(qb, k, c);
  }
  return f32(s4.x + s4.y + s4.z + s4.w) * params.scale_log2;
}

// This invocation's chunks of the key tile starting at logical key kb (nk keys in it):
// chunk i = lid + j WG of the tile is key i / KEY_CH, chunk i % KEY_CH, read through
// k_rows (paged block tables and THD resolved on the host). Consecutive invocations read
// consecutive 16-byte chunks of a cached row: coalesced. Chunks past the tile's nk keys
// load the last key's again (an empty tile: whatever WebGPU's bounds clamp reads) instead of
// branching around the load: nothing reads them (the score and value loops stop at nk, and
// pairs past it are masked to the sentinel), and with the load inside a branch AMD's
// compiler waited for each load before issuing the next (RADV's assembly, session 34: ten
// dependent memory round trips a tile, so the tile fetched one ahead had all landed before
// the scores began).
fn fetch_tile(kb: u32, nk: u32, k0: u32, lid: u32) -> array<chunk_t, STAGE_N> {
  var pre: array<chunk_t, STAGE_N>;
  let last = max(nk, 1u) - 1u;
  for (var j = 0u; j < STAGE_N; j++) { // @unroll
    let i = lid + j * WG;
    let k = min(i / KEY_CH, last);
    pre[j] = cache[k_rows[k0 + kb + k] * KEY_CH + i % KEY_CH];
  }
  return pre;
}

// Row r of the workgroup: x = query t, y = q_absorbed vec4 offset, z = head, w = 1
// when the row is stored (a real query of the tile and a real head).
fn row_of(r: u32, qt: vec2<u32>, htile: u32) -> vec4<u32> {
  let i = r / HT;
  let head = htile * HT + r % HT;
  let t = qt.x + min(i, qt.y - 1u);
  let qb = (q_meta[t].x * params.heads + min(head, params.heads - 1u)) * KEY_VEC4;
  return vec4<u32>(t, qb, head, select(0u, 1u, i < qt.y && head < params.heads));
}

@compute @workgroup_size(WG)
fn absorbed_tiled(@builtin(workgroup_id) wid: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
  // The grid is exact (query tiles x head tiles, splits): no early return before the
  // barriers below; min() only keeps a stray id in bounds.
  let qtile = min(wid.x / params.head_tiles, params.total_q - 1u);
  let htile = wid.x % params.head_tiles;
  let split = wid.y;
  let qt = q_tiles[qtile];
  // The tile's last query sees the most keys: it sets the tile's key range.
  let qm = q_meta[qt.x + qt.y - 1u];
  let chunk = (qm.z + params.kv_splits - 1u) / params.kv_splits;
  let begin = min(split * chunk, qm.z);
  let end = min(begin + chunk, qm.z);
  let k0 = qm.y; // first logical key of the sequence

  // The running max of row lid (lid < ROWS; the sums are the value phase's lsum).
  var m_run = NEG_BIG;
  if (lid < ROWS) {
    row_lim[lid] = min(q_meta[row_of(lid, qt, htile).x].z, end);
  }
  // The value phase's share: output column vcol of the RPG rows of row group vgrp.
  let vcol = lid % VAL_VEC4;
  let vgrp = lid / VAL_VEC4;
  var acc: array<vec4<acc_t>, RPG>; // (zeroed)
  var lsum: array<f32, RPG>; // the group's rows' running sums (zeroed)
  // The q segment of this invocation's score row, widened to f32, loaded once: chunk
  // i of the segment is chunk seg + i * SEGS of the row (zero past the key width).
  let seg = lid / ROWS; // @nosg
  var qreg: array<vec4<f32>, QSEG * CPV>; // @nosg
  let qrow = row_of(lid % ROWS, qt, htile).y; // @nosg
  for (var i = 0u; i < QSEG; i++) { // @unroll // @nosg
    let c = seg + i * SEGS; // @nosg
    if (i < FULL_SEG || c < SCORE_CH) { // @nosg
      for (var h = 0u; h < CPV; h++) { // @unroll // @nosg
        qreg[i * CPV + h] = vec4<f32>(q_absorbed[qrow + c * CPV + h]); // @nosg
      } // @nosg
    } // @nosg
  } // @nosg
  // The subgroup's dense index (drawn once by its first lane), lane count and lane rank
  // (in uniform control flow: every invocation is active here).
  // @sg: var ticket = 0u;
  // @sg: if (subgroupElect()) { ticket = atomicAdd(&sg_tickets, 1u); }
  // @sg: let sg_index = subgroupBroadcastFirst(ticket);
  // @sg: let sg_lanes = subgroupAdd(1u);
  // @sg: let sg_rank = subgroupExclusiveAdd(1u);

  // The first tile's loads; every later tile's are issued one tile ahead.
  var pre = fetch_tile(begin, min(KT, end - begin), k0, lid);
  for (var kb = begin; kb < end; kb += KT) {
    let nk = min(KT, end - kb);
    // 1. Stage the tile from the registers its loads went to (chunk i = lid + j WG is
    //    key i / KEY_CH, chunk i % KEY_CH; keys past nk repeat a key and are never read).
    for (var j = 0u; j < STAGE_N; j++) { // @unroll
      let i = lid + j * WG;
      if (j < FULL_STAGE || i < KT * KEY_CH) {
        let c = i % KEY_CH;
        ktile[i / KEY_CH].c[c / SEG_W][c % SEG_W] = pre[j];
      }
    }
    // Also publishes row_lim (written before the loop) to the whole workgroup.
    workgroupBarrier();
    // Issue the next tile's loads now: they are in flight while this tile is computed
    // (with one workgroup per SM nothing else would hide the memory latency), and land
    // in ktile only after the barrier that ends this tile.
    let kn = kb + KT;
    pre = fetch_tile(kn, select(0u, min(KT, end - kn), kn < end), k0, lid);

    // 2a. Partial scores: this invocation's q segment against every staged key. Keys
    //    past nk are not needed: the loop stops at nk (workgroup-uniform).
    //    KPT keys a trip: on gpu-class plans two, so that two independent fma chains share
    //    the q registers and two loads are in flight (RADV's assembly, session 36: the
    //    compiler waited for each chunk's load before the next with one chain), and the
    //    loop's bookkeeping halves. KT is a multiple of KPT, so key k + u < KT; past nk it
    //    holds a repeated key, whose pair is masked below.
    //    (KPT is 1 or 2; with 1 the second key's lines fold away, leaving the one-key loop
    //    whose loop count lavapipe's boundary tests measured.)
    for (var k = 0u; k < nk; k += KPT) { // @nosg
      var s4 = vec4<acc_t>(0.0); // @nosg
      var t4 = vec4<acc_t>(0.0); // @nosg
      for (var i = 0u; i < QSEG; i++) { // @unroll // @nosg
        let c = seg + i * SEGS; // @nosg
        if (i < FULL_SEG || c < SCORE_CH) { // @nosg
          let kc = ktile[k].c[i][seg]; // @nosg
          for (var h = 0u; h < CPV; h++) { // @unroll // @nosg
            s4 += vec4<acc_t>(qreg[i * CPV + h] * cvec(kc, h)); // @nosg
          } // @nosg
          if (KPT == 2u) { // @nosg
            let kd = ktile[k + 1u].c[i][seg]; // @nosg
            for (var h = 0u; h < CPV; h++) { // @unroll // @nosg
              t4 += vec4<acc_t>(qreg[i * CPV + h] * cvec(kd, h)); // @nosg
            } // @nosg
          } // @nosg
        } // @nosg
      } // @nosg
      part[k][seg][lid % ROWS] = f32(s4.x + s4.y + s4.z + s4.w); // @nosg
      if (KPT == 2u) { // @nosg
        part[k + 1u][seg][lid % ROWS] = f32(t4.x + t4.y + t4.z + t4.w); // @nosg
      } // @nosg
    } // @nosg
    // The partials of a pair come from SEGS invocations.
    workgroupBarrier(); // @nosg

    // 2b. Scores: pair p is row p % ROWS, key p / ROWS; each invocation sums its pairs'
    //    SEGS partials, or (subgroups) each subgroup takes its pairs, lanes splitting the
    //    width. Masked (past the row's visible keys or the split's end): the sentinel.
    for (var p = lid; p < PAIRS; p += WG) { // @nosg
      var s = 0.0; // @nosg
      for (var g = 0u; g < SEGS; g++) { // @unroll // @nosg
        s += part[p / ROWS][g][p % ROWS]; // @nosg
      } // @nosg
      s *= params.scale_log2; // @nosg
    // @sg: let sg_count = atomicLoad(&sg_tickets); // complete: a barrier has passed
    // @sg: for (var p = sg_index; p < PAIRS; p += sg_count) {
      // @sg: let s = subgroupAdd(pair_score(p, qt, htile, sg_rank, sg_lanes));
      let k = p / ROWS;
      let r = p % ROWS;
      // @sg: if (sg_rank == 0u) {
      let sm = select(NEG_BIG, s, kb + k < row_lim[r]);
      sp_set(k, r, sm);
      // The row's running max over every tile so far (max_key bits: WGSL has no float
      // atomics); read by every invocation after the barrier.
      atomicMax(&row_max[r], max_key(sm));
      // @sg: }
    }
    workgroupBarrier();

    // 3. Online softmax (log2 domain), in parallel: each row's new max is row_max; row r's
    //    rescale is exp2(old max - new max) (invocation r keeps the old one); every pair's
    //    p = exp2(s - max) is computed by the invocation of that pair, and the rows' sums
    //    are added up in the value phase, which reads every p of its rows anyway. (Until
    //    session 34 invocation r walked row r's nk scores twice while the rest waited.)
    if (lid < ROWS) {
      let m_new = from_max_key(atomicLoad(&row_max[lid]));
      alpha[lid] = exp2(m_run - m_new);
      m_run = m_new;
    }
    for (var i = lid; i < PAIRS; i += WG) {
      let k = i / ROWS;
      let r = i % ROWS;
      // Pair i is (key k, row r). Masked slots get 0 explicitly: while a row has seen no
      // key (its max still NEG_BIG) exp2(NEG_BIG - NEG_BIG) would be 1.
      let m = from_max_key(atomicLoad(&row_max[r]));
      sp_set(k, r, select(0.0, exp2(sp_at(k, r) - m), kb + k < row_lim[r]));
    }
    workgroupBarrier();

    // 4. Values: invocation lid owns output vec4 column vcol of the RPG rows of its
    //    row group (rows g0 ..).
    if (lid < VAL_VEC4 * RG) {
      let g0 = vgrp * RPG;
      for (var r = 0u; r < RPG; r++) { // @unroll
        let a = alpha[g0 + r];
        acc[r] *= acc_t(a);
        lsum[r] *= a;
      }
      // The keys the group's rows see, when they are one query's (all rows alike).
      let glim = row_lim[g0];
      // The unrolled form (VU_N): a whole tile that every row of the group sees (kb + KT <=
      // glim <= end, so nk is KT), as in a decode's every tile but a split's last. No mask:
      // each p is a real probability and each value a visible key's. RADV's assembly: the
      // loop's key cost 80 instructions, 45 of them the loop's bookkeeping (wgpu's counter),
      // the clamped indices and the mask.
      let whole = VU_N == KT && kb + KT <= glim;
      if (whole) {
        let vc = vcol / CPV;
        let pg = g0 >> 2u;
        for (var k = 0u; k < VU_N; k++) { // @unroll
          let vk = cvec(ktile[k].c[vc / SEG_W][vc % SEG_W], vcol % CPV);
          for (var r4 = 0u; r4 < RPG / 4u; r4++) { // @unroll
            let p4 = sp[k][pg + r4];
            for (var c = 0u; c < 4u; c++) { // @unroll
              acc[r4 * 4u + c] += vec4<acc_t>(p4[c] * vk);
              lsum[r4 * 4u + c] += p4[c];
            }
          }
        }
      }
      for (var k = 0u; k < select(nk, 0u, whole); k++) {
        let vraw = cvec(kt_at(k, vcol / CPV), vcol % CPV);
        let vis = kb + k;
        if (ONE_QUERY_GROUPS) {
          // Select, do not multiply: a key the query must not see may hold NaN/Inf, and
          // p = 0 times it is NaN. Zeroed once here for all the group's rows (their
          // masked slots hold exactly 0: the softmax's select), then plain fmas.
          let vk = select(vec4<f32>(0.0), vraw, vis < glim);
          if (SP_VEC4) {
            // Four rows' probabilities in one 16-byte load instead of four.
            for (var r4 = 0u; r4 < RPG / 4u; r4++) { // @unroll
              let p4 = sp[k][(g0 >> 2u) + r4];
              for (var c = 0u; c < 4u; c++) { // @unroll
                acc[r4 * 4u + c] += vec4<acc_t>(p4[c] * vk);
                lsum[r4 * 4u + c] += p4[c];
              }
            }
          } else {
            for (var r = 0u; r < RPG; r++) { // @unroll
              let pr = sp_at(k, g0 + r);
              acc[r] += vec4<acc_t>(pr * vk);
              lsum[r] += pr;
            }
          }
        } else {
          for (var r = 0u; r < RPG; r++) { // @unroll
            // Select, do not multiply: a key row g0 + r must not see may hold NaN/Inf.
            let pr = sp_at(k, g0 + r);
            acc[r] += vec4<acc_t>(select(vec4<f32>(0.0), pr * vraw, vis < row_lim[g0 + r]));
            lsum[r] += pr; // a masked slot holds exactly 0
          }
        }
      }
    }
    // ktile and sp are restaged by the next tile.
    workgroupBarrier();
  }

  // The rows' sums, from the value phase (every column owner of a group holds the same):
  // its first column's invocations publish them for the LSE.
  if (lid < VAL_VEC4 * RG) {
    if (vcol == 0u) {
      for (var r = 0u; r < RPG; r++) { // @unroll
        row_l[vgrp * RPG + r] = lsum[r];
      }
    }
  }
  workgroupBarrier();
  if (lid < ROWS) {
    let l_run = row_l[lid];
    let ro = row_of(lid, qt, htile);
    if (ro.w == 1u) {
      // No key seen (l = 0): LSE -inf. `!(l <= 0)` rather than `l > 0`: a NaN sum (a
      // visible key holds NaN) must give NaN, as the reference does.
      let seen_any = !(l_run <= 0.0);
      lse_out[(split * params.total_t + ro.x) * params.heads + ro.z] =
        select(params.neg_inf, (m_run + log2(l_run)) * LN2, seen_any);
    }
  }
  if (lid < VAL_VEC4 * RG) {
    for (var r = 0u; r < RPG; r++) { // @unroll
      let row = vgrp * RPG + r;
      let ro = row_of(row, qt, htile);
      if (ro.w == 1u) {
        let l = lsum[r];
        let inv = select(0.0, 1.0 / l, !(l <= 0.0));
        x_out[((split * params.total_t + ro.x) * params.heads + ro.z) * VAL_VEC4 + vcol] =
          vec4<f32>(acc[r]) * inv;
      }
    }
  }
}
