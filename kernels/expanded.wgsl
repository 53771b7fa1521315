// @enable-f16
// Expanded (dense) multi-head attention with head_dim_qk != head_dim_v:
//   q [qRows, h, QK_VEC4 vec4s]  (= [q_nope | rope(q_pe)], width nope + rope)
//   k [kRows, h, QK_VEC4]        (= [W_UK,h c | rope(k_pe)], from expand_kv.wgsl)
//   v [kRows, h, V_VEC4]         (= W_UV,h c)
//   out[t, h] = softmax(scale * q . k^T) v,  LSE = log sum exp(scale * q . k^T).
//
// One workgroup per (query token, head). Same three-phase block structure and
// visible-range rule as absorbed.wgsl (see there), with one head per workgroup:
//   1. scores: invocation i takes key kb + i; the query row sits in registers
//      (loaded once: QK_VEC4 vec4s), so each key costs QK_VEC4 loads;
//   2. online softmax: invocation 0 updates the running max and sum;
//   3. values: invocation i owns value vec4s i, i + WG, ... (V_PER_INV of them).

alias store_t = f32; // @dtype storage type of q, k and v
alias acc_t = f32; // accumulation type (always f32)

const WG: u32 = 32u; // @param invocations per workgroup = keys per block
const QK_VEC4: u32 = 48u; // @param (nope + rope) / 4
const V_VEC4: u32 = 32u; // @param v / 4
const V_PER_INV: u32 = 1u; // @param ceil(V_VEC4 / WG)

// Finite stand-in for -inf in the running max (see absorbed.wgsl).
const NEG_BIG: f32 = -3.0e38;

struct Params {
  total_q: u32,
  heads: u32,
  scale: f32,
  neg_inf: f32,   // -Infinity, from the host
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<store_t>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<store_t>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<store_t>>;
@group(0) @binding(4) var<storage, read> q_meta: array<vec4<u32>>;   // see absorbed.wgsl
@group(0) @binding(5) var<storage, read> k_rows: array<u32>;
@group(0) @binding(6) var<storage, read_write> out: array<vec4<f32>>;  // [totalQ, h, V_VEC4]
@group(0) @binding(7) var<storage, read_write> lse: array<f32>;        // [totalQ, h]

var<workgroup> probs: array<f32, WG>;   // scores, then probabilities of the block
var<workgroup> rows: array<u32, WG>;    // buffer rows of the block's keys
var<workgroup> alpha: f32;              // rescale factor of the block
var<workgroup> denom: f32;              // final softmax denominator

@compute @workgroup_size(WG)
fn expanded(@builtin(workgroup_id) wid: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
  let t = wid.x / params.heads;
  let head = wid.x % params.heads;
  if (t >= params.total_q) {
    return; // bounds guard (uniform: the whole workgroup leaves together)
  }
  let qm = q_meta[t];
  let end = qm.z;

  var qv: array<vec4<acc_t>, QK_VEC4>;
  let q_base = (qm.x * params.heads + head) * QK_VEC4;
  for (var d = 0u; d < QK_VEC4; d++) {
    qv[d] = vec4<acc_t>(q[q_base + d]);
  }

  var m_run = NEG_BIG;   // used by lid 0
  var l_run = 0.0;
  var acc: array<vec4<acc_t>, V_PER_INV>;

  for (var kb = 0u; kb < end; kb += WG) {
    let nk = min(WG, end - kb);

    // Phase 1: one key per invocation.
    var s: acc_t = 0.0;
    if (lid < nk) {
      let row = k_rows[qm.y + kb + lid];
      rows[lid] = row;
      let k_base = (row * params.heads + head) * QK_VEC4;
      for (var d = 0u; d < QK_VEC4; d++) {
        s += dot(qv[d], vec4<acc_t>(k[k_base + d]));
      }
    }
    probs[lid] = select(NEG_BIG, f32(s) * params.scale, lid < nk);
    // Barrier: phase 2 reads every score.
    workgroupBarrier();

    // Phase 2: online softmax (one head: one invocation).
    if (lid == 0u) {
      var bmax = NEG_BIG;
      for (var j = 0u; j < nk; j++) {
        bmax = max(bmax, probs[j]);
      }
      let m_new = max(m_run, bmax);
      let a = exp(m_run - m_new);
      var sum = 0.0;
      for (var j = 0u; j < nk; j++) {
        let p = exp(probs[j] - m_new);
        probs[j] = p;
        sum += p;
      }
      l_run = l_run * a + sum;
      m_run = m_new;
      alpha = a;
    }
    // Barrier: phase 3 reads the probabilities, alpha and rows.
    workgroupBarrier();

    // Phase 3: rescale and accumulate the block's values.
    let a = acc_t(alpha);
    for (var vi = 0u; vi < V_PER_INV; vi++) {
      acc[vi] *= a;
    }
    for (var j = 0u; j < nk; j++) {
      let v_base = (rows[j] * params.heads + head) * V_VEC4;
      let p = acc_t(probs[j]);
      for (var vi = 0u; vi < V_PER_INV; vi++) {
        let d = lid + vi * WG;
        if (d < V_VEC4) {   // bounds guard: v / 4 need not be a multiple of WG
          acc[vi] += p * vec4<acc_t>(v[v_base + d]);
        }
      }
    }
    // Barrier: the next block overwrites probs and rows.
    workgroupBarrier();
  }

  if (lid == 0u) {
    denom = l_run;
  }
  // Barrier: every invocation needs the denominator.
  workgroupBarrier();
  let l = denom;
  let inv = select(0.0, 1.0 / l, l > 0.0);   // no key seen: output 0
  let base = (t * params.heads + head) * V_VEC4;
  for (var vi = 0u; vi < V_PER_INV; vi++) {
    let d = lid + vi * WG;
    if (d < V_VEC4) {
      out[base + d] = vec4<f32>(acc[vi]) * inv;
    }
  }
  if (lid == 0u) {
    lse[t * params.heads + head] = select(params.neg_inf, m_run + log(l_run), l_run > 0.0);
  }
}
