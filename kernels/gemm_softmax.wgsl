// The softmax pass between a scores pass and a values pass (absorbed_gemm.wgsl,
// expanded_gemm.wgsl): one invocation per (query token, head) row of the score buffer.
//
//   P[row, k] = exp(S[row, k] - max_k S[row, k]) / sum   for the row's visible keys
//                                                         k < q_meta.z,
//   P[row, k] = 0                for the other slots of its last vec4,
//   LSE[row] = max + log(sum)
//
// in place in the score buffer (or, with the ptex switch, into a texture; scores are f32
// and already scaled), so the values pass
// reads normalized probabilities and needs no extra binding (the expanded kernel's is at
// the default limit of 8 storage buffers). A row with no visible key writes LSE -inf (and
// P 0); a NaN among its visible scores makes the sum, the LSE and every P of the row NaN,
// like the float64 reference. Slots past the row's last vec4 are neither read nor written:
// a values pass that reads further (a query tile reads up to its last query's keys) masks
// them itself.
// Loops: 2 x (ceil(keys / 4) + 1) iterations (max and sum together, then normalize;
// adapter/gemm_plan.ts counts them against a device's loop budget). No workgroup memory,
// no barriers.
// Why two walks over the row and not three (max; exp, store and sum; normalize): on
// lavapipe each walk costs about as much as the row's loads, about 1 ms over the headline
// decode's 64 rows of 4096 keys, while its 262144 exps cost about 0.1 ms, and storing the
// unnormalized P only to load it again was one more store and walk (docs/benchmarks.md,
// sessions 25 and 26). So the first walk keeps an online max and sum per vec4 slot (the
// sum rescaled by exp(old max - new max) whenever the slot's max grows, which costs two
// exps per score instead of one), and the second computes exp(S - max) / sum once and
// stores it.

const WG: u32 = 8u; // @param invocations per workgroup
const RPTP: u32 = 1u; // @param probability rows per texture row of p_tex (with the ptex switch)

// Finite stand-in for -inf in the running max (see absorbed.wgsl).
const NEG_BIG: f32 = -3.0e38;

struct Params {
  rows: u32,    // query tokens x heads
  heads: u32,
  kmax4: u32,   // vec4s per score row
  neg_inf: f32, // -Infinity, from the host (WGSL has no infinite literal)
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q_meta: array<vec4<u32>>;    // [totalQ]: .z = keys seen
@group(0) @binding(2) var<storage, read_write> probs: array<vec4<f32>>; // [rows, kmax4]
@group(0) @binding(3) var<storage, read_write> lse_out: array<f32>;     // [rows]
// With the `ptex` switch (absorbed_gemm.wgsl's values pass reads P through a texture) the
// normalized P goes to this texture instead of back into the buffer: row r's vec4 i is
// texel ((r % RPTP) x kmax4 + i, r / RPTP).
// @ptex: @group(0) @binding(4) var p_tex: texture_storage_2d<rgba32float, write>;

// Grid: n = ceil(rows / WG) workgroups, WG consecutive rows each, taken in the order
// 0, n - 1, 1, n - 2, ...: lavapipe runs one contiguous run of the grid per thread, and
// the rows of a causal prefill grow in length with their token (see token_of in
// absorbed_gemm.wgsl). A bijection on the workgroups: each row once.
// The n workgroups fold into y past the device's per-dimension limit (the host's grid1d,
// gpu/dispatch.ts, as every 1-D pass of the harness): workgroup g = x + y * num_workgroups.x,
// and the fold rounds up, so the last row of the grid may hold workgroups past n, which
// return. (Unfolded, a decode of 4096 tokens x 128 heads needed 65536 > 65535 along x.)
@compute @workgroup_size(WG)
fn softmax(@builtin(workgroup_id) wid: vec3<u32>,
           @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lane: u32) {
  let n = (params.rows + WG - 1u) / WG;
  let g = wid.x + wid.y * nwg.x;
  if (g >= n) {
    return; // past the folded grid's last workgroup
  }
  let row = select(n - 1u - g / 2u, g / 2u, g % 2u == 0u) * WG + lane;
  if (row >= params.rows) {
    return;
  }
  let nk = q_meta[row / params.heads].z;
  let n4 = (nk + 3u) / 4u;
  let ob = row * params.kmax4;
  let kk = vec4<u32>(0u, 1u, 2u, 3u);
  // Walk 1: per slot c of the row's vec4s, m4[c] is the max of the slot's visible scores
  // so far and l4[c] the sum of exp(S - m4[c]) over them. A slot with no visible score yet
  // has m4 = NEG_BIG and l4 = 0 (masked scores add 0 explicitly: exp(NEG_BIG - NEG_BIG) is
  // 1). A NaN score makes its slot's sum NaN (through exp(S - max) or through a NaN max),
  // hence the row's sum, the LSE and every P, like the float64 reference.
  var m4 = vec4<f32>(NEG_BIG);
  var l4 = vec4<f32>(0.0);
  for (var i = 0u; i < n4; i++) {
    let valid = kk + 4u * i < vec4<u32>(nk);
    let s = select(vec4<f32>(NEG_BIG), probs[ob + i], valid);
    let mn = max(m4, s);
    l4 = l4 * exp(m4 - mn) + select(vec4<f32>(0.0), exp(s - mn), valid);
    m4 = mn;
  }
  let m = max(max(m4.x, m4.y), max(m4.z, m4.w));
  // Each slot's sum brought to the row's max (exp(m4 - m) is 0 for a slot that saw nothing).
  let lm = l4 * exp(m4 - m);
  let l = (lm.x + lm.y) + (lm.z + lm.w);
  // No key (l = 0): LSE -inf. `!(l <= 0)`: a NaN sum must give NaN, not "no key".
  let seen_any = !(l <= 0.0);
  let inv = select(0.0, 1.0 / l, seen_any);
  // Walk 2: the normalized P. Masked slots of the last vec4 get 0 explicitly (a values pass
  // multiplies them with a re-read valid row).
  for (var i = 0u; i < n4; i++) {
    let valid = kk + 4u * i < vec4<u32>(nk);
    let p = select(vec4<f32>(0.0), exp(probs[ob + i] - m) * inv, valid);
    probs[ob + i] = p; // @noptex
    // @ptex: textureStore(p_tex, vec2<u32>((row % RPTP) * params.kmax4 + i, row / RPTP), p);
  }
  lse_out[row] = select(params.neg_inf, m + log(l), seen_any);
}
