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
// Grid: x = query token * head tiles + tile, y = KV split. One workgroup handles
// HEADS heads of one query token over one split of its visible keys, so each
// cached row is loaded once per key block for all HEADS heads (on lavapipe a load
// costs about 13 FMAs: reuse is what matters).
//
// Per block of BLOCK = WG * KPI keys, three phases separated by barriers:
//   1. scores: invocation i takes keys kb + i + j * WG (j < KPI) and computes their
//      HEADS scores in registers (register tile: KPI keys x HEADS heads; each cache
//      vec4 is loaded once and reused for every head, each q vec4 once and reused
//      for KPI keys; q is read from storage, which stays in the CPU cache - a
//      workgroup-memory copy of q measured slower and 16 heads x 576 f32 would not
//      fit 32 KiB anyway);
//   2. online softmax: invocation h < HEADS owns head h's running max and sum,
//      turns the block's scores into probabilities and publishes the rescale factor;
//   3. values: invocation i owns value columns i, i + WG, ... (VAL_PER_INV vec4s)
//      for every head (register tile: VAL_PER_INV x HEADS vec4 accumulators) and
//      streams the block's cached rows once.
//
// Keys are read through k_rows (logical key -> buffer row) and only in the visible
// range computed on the host from the layout (sequence bounds and the bottom-right
// causal rule), so padding rows (NaN-poisoned) are never read and no per-key mask
// is needed inside a block.
//
// With KV splits (y > 1) each split writes its normalized partial x and its own LSE;
// combine.wgsl merges them. With one split these are the final x and LSE.
// A row that sees no key writes x = 0 and LSE = -inf (params.neg_inf: WGSL has no
// infinite literal, so the host passes it).

alias store_t = f32; // @dtype storage type of q_absorbed and the cache
alias acc_t = f32; // accumulation type of scores and the latent output (always f32)

const WG: u32 = 32u; // @param invocations per workgroup
const HEADS: u32 = 16u; // @param heads per tile
const KEY_VEC4: u32 = 144u; // @param (r + rope) / 4
const VAL_VEC4: u32 = 128u; // @param r / 4
const VAL_PER_INV: u32 = 4u; // @param ceil(VAL_VEC4 / WG)
const KPI: u32 = 4u; // @param keys per invocation in the score phase

// Keys per block: each invocation scores KPI keys, so every q vec4 it loads is
// reused for KPI keys (and every cache vec4 for HEADS heads).
const BLOCK: u32 = WG * KPI;

// Finite stand-in for -inf in the running max: exp(NEG_BIG - m) is 0 for any real
// m and NEG_BIG - NEG_BIG is 0, never NaN.
const NEG_BIG: f32 = -3.0e38;

struct Params {
  total_q: u32,
  heads: u32,
  head_tiles: u32,
  kv_splits: u32,
  scale: f32,     // softmax scale (m^2 / sqrt(nope + rope) for YaRN specs)
  neg_inf: f32,   // -Infinity, from the host
}

// q_meta[t] = (buffer row of query t, first logical key of its sequence,
//              number of keys it sees, unused)
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q_absorbed: array<vec4<store_t>>;  // [qRows, h, KEY_VEC4]
@group(0) @binding(2) var<storage, read> cache: array<vec4<store_t>>;       // [kRows, KEY_VEC4]
@group(0) @binding(3) var<storage, read> q_meta: array<vec4<u32>>;          // [totalQ]
@group(0) @binding(4) var<storage, read> k_rows: array<u32>;                // [totalK]
@group(0) @binding(5) var<storage, read_write> x_out: array<vec4<f32>>;     // [splits, totalQ, h, VAL_VEC4]
@group(0) @binding(6) var<storage, read_write> lse_out: array<f32>;         // [splits, totalQ, h]

var<workgroup> probs: array<f32, HEADS * BLOCK>;   // [head][key]: scores, then probabilities
var<workgroup> rows: array<u32, BLOCK>;            // buffer rows of the block's keys
var<workgroup> alpha: array<f32, HEADS>;        // per-head rescale of the accumulators
var<workgroup> sums: array<f32, HEADS>;         // final softmax denominators

@compute @workgroup_size(WG)
fn absorbed(@builtin(workgroup_id) wid: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
  let t = wid.x / params.head_tiles;
  let tile = wid.x % params.head_tiles;
  let split = wid.y;
  if (t >= params.total_q) {
    return; // bounds guard (uniform: the whole workgroup leaves together)
  }
  let qm = q_meta[t];
  // This split's slice [begin, end) of the visible keys.
  let chunk = (qm.z + params.kv_splits - 1u) / params.kv_splits;
  let begin = min(split * chunk, qm.z);
  let end = min(begin + chunk, qm.z);
  let h0 = tile * HEADS;
  let nh = min(HEADS, params.heads - h0);   // heads of a partial last tile

  var m_run = NEG_BIG;   // running max of head lid (used by lid < HEADS)
  var l_run = 0.0;       // running sum of head lid
  var acc: array<vec4<acc_t>, HEADS * VAL_PER_INV>;   // zero-initialized

  for (var kb = begin; kb < end; kb += BLOCK) {
    let nk = min(BLOCK, end - kb);

    // Phase 1: scores of keys kb + lid + i * WG (i < KPI) for every head of the tile.
    // Register tile: KPI keys x HEADS heads. Per vec4 column d: KPI cache loads and
    // HEADS q loads feed KPI * HEADS dot products.
    // `s` is zeroed explicitly every block: naga hoists function-scope vars to the
    // entry and zero-initializes an initializer-less var only once.
    var s = array<acc_t, HEADS * KPI>();
    var c_base: array<u32, KPI>;
    for (var i = 0u; i < KPI; i++) {
      let kk = lid + i * WG;
      // Keys past the block's end re-read the block's first key (always valid) and
      // are discarded below.
      let row = k_rows[qm.y + kb + select(0u, kk, kk < nk)];
      if (kk < nk) {
        rows[kk] = row;
      }
      c_base[i] = row * KEY_VEC4;
    }
    let q_row = qm.x * params.heads + h0;
    for (var d = 0u; d < KEY_VEC4; d++) {
      var c: array<vec4<acc_t>, KPI>;   // fully overwritten every d
      for (var i = 0u; i < KPI; i++) {
        c[i] = vec4<acc_t>(cache[c_base[i] + d]);
      }
      for (var hh = 0u; hh < HEADS; hh++) {
        // Heads past the last real head re-read head h0 (in bounds) and are discarded.
        let qv = vec4<acc_t>(q_absorbed[(q_row + select(0u, hh, hh < nh)) * KEY_VEC4 + d]);
        for (var i = 0u; i < KPI; i++) {
          s[i * HEADS + hh] += dot(qv, c[i]);
        }
      }
    }
    for (var i = 0u; i < KPI; i++) {
      let kk = lid + i * WG;
      for (var hh = 0u; hh < HEADS; hh++) {
        probs[hh * BLOCK + kk] = select(NEG_BIG, f32(s[i * HEADS + hh]) * params.scale, kk < nk);
      }
    }
    // Barrier: phase 2 reads every invocation's scores.
    workgroupBarrier();

    // Phase 2: online softmax, one invocation per head.
    if (lid < HEADS) {
      var bmax = NEG_BIG;
      for (var k = 0u; k < nk; k++) {
        bmax = max(bmax, probs[lid * BLOCK + k]);
      }
      let m_new = max(m_run, bmax);
      let a = exp(m_run - m_new);
      var sum = 0.0;
      for (var k = 0u; k < nk; k++) {
        let p = exp(probs[lid * BLOCK + k] - m_new);
        probs[lid * BLOCK + k] = p;
        sum += p;
      }
      l_run = l_run * a + sum;
      m_run = m_new;
      alpha[lid] = a;
    }
    // Barrier: phase 3 reads the probabilities, alpha and the rows of phase 1.
    workgroupBarrier();

    // Phase 3: rescale, then accumulate this block's latent rows.
    for (var vi = 0u; vi < VAL_PER_INV; vi++) {
      for (var hh = 0u; hh < HEADS; hh++) {
        acc[hh * VAL_PER_INV + vi] *= acc_t(alpha[hh]);
      }
    }
    for (var k = 0u; k < nk; k++) {
      let v_base = rows[k] * KEY_VEC4;
      var p: array<acc_t, HEADS>;
      for (var hh = 0u; hh < HEADS; hh++) {
        p[hh] = acc_t(probs[hh * BLOCK + k]);
      }
      for (var vi = 0u; vi < VAL_PER_INV; vi++) {
        let d = lid + vi * WG;
        if (d < VAL_VEC4) {   // bounds guard: r / 4 need not be a multiple of WG
          let c = vec4<acc_t>(cache[v_base + d]);
          for (var hh = 0u; hh < HEADS; hh++) {
            acc[hh * VAL_PER_INV + vi] += p[hh] * c;
          }
        }
      }
    }
    // Barrier: the next block overwrites probs and rows.
    workgroupBarrier();
  }

  if (lid < HEADS) {
    sums[lid] = l_run;
  }
  // Barrier: every invocation needs every head's denominator.
  workgroupBarrier();

  let out_row = split * params.total_q + t;
  for (var hh = 0u; hh < nh; hh++) {
    let l = sums[hh];
    let inv = select(0.0, 1.0 / l, l > 0.0);   // no key seen: x = 0
    let base = (out_row * params.heads + h0 + hh) * VAL_VEC4;
    for (var vi = 0u; vi < VAL_PER_INV; vi++) {
      let d = lid + vi * WG;
      if (d < VAL_VEC4) {
        x_out[base + d] = vec4<f32>(acc[hh * VAL_PER_INV + vi]) * inv;
      }
    }
  }
  if (lid < nh) {
    // Natural-log LSE of the scaled scores; -inf when the row saw no key.
    lse_out[out_row * params.heads + h0 + lid] = select(params.neg_inf, m_run + log(l_run), l_run > 0.0);
  }
}
