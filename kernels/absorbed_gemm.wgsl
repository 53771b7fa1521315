// @enable-f16
// Absorbed MLA decode shaped for CPU WebGPU drivers (lavapipe): the latent MQA as two
// skinny GEMMs around a softmax, with the scores written out in between.
//
//   scores:  S[t, h, k] = scale * dot(q_absorbed[t, h], cache[row_k])     (576-wide)
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
//     probability vec4s for 4 x HT x EV vec4 FMAs (8 per loaded number at 16 x 4).
// The head loops stay loops: writing their 16 statements out measured 1.25x slower.
// The register tiles spill to the stack; stack reloads are cheap next to buffer loads.
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
// needs more): scores KEY_VEC4 + 1, softmax 3 x (ceil(keys / 4) + 1), values
// ceil(keys / 4) + 1. The constant-trip loops over the tile's heads, keys and columns
// are unrolled by the compiler and cost none.

alias store_t = f32; // @dtype storage type of q_absorbed and the cache

const WG: u32 = 8u; // @param invocations per workgroup (the lavapipe SIMD width)
const KEY_VEC4: u32 = 144u; // @param (r + rope) / 4
const VAL_VEC4: u32 = 128u; // @param r / 4
const HT: u32 = 16u; // @param heads per tile (register tile rows, <= 16)
const EV: u32 = 4u; // @param output vec4 columns per invocation in the values pass (divides VAL_VEC4)
const_assert VAL_VEC4 % EV == 0u;
// Keys per invocation in the scores pass: four vec4 columns of scores per head.
const KG: u32 = 16u;

struct Params {
  total_t: u32, // query tokens
  heads: u32,
  scale: f32,   // softmax scale (m^2 / sqrt(nope + rope) for YaRN specs)
  // vec4s per score row: ceil(most visible keys / 4). A runtime value, not a @param, so
  // one pipeline serves every context length.
  kmax4: u32,
}

// q_meta[t] = (buffer row of query t, first logical key of its sequence,
//              number of keys it sees, unused)
@group(0) @binding(0) var<uniform> params: Params;
// f32: vec4 loads. f16: the same bytes read as packed u32 pairs (one load per two halves,
// widened by unpack2x16float), which halves the loads that bound this kernel.
@group(0) @binding(1) var<storage, read> q_absorbed: array<vec4<store_t>>; // [qRows, h, KEY_VEC4] // @f32
// @f16: @group(0) @binding(1) var<storage, read> q_absorbed: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read> cache: array<vec4<store_t>>;      // [kRows, KEY_VEC4] // @f32
// @f16: @group(0) @binding(2) var<storage, read> cache: array<vec2<u32>>;
@group(0) @binding(3) var<storage, read> q_meta: array<vec4<u32>>;         // [totalQ]
@group(0) @binding(4) var<storage, read> k_rows: array<u32>;               // [totalK]
// S, then P in place: [total_t, h, kmax4] vec4s; slots past a row's keys hold 0 in P.
@group(0) @binding(5) var<storage, read_write> probs: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> x_out: array<vec4<f32>>;    // [total_t, h, VAL_VEC4]

fn ldq(i: u32) -> vec4<f32> {
  return vec4<f32>(q_absorbed[i]); // @f32
  // @f16: let w = q_absorbed[i]; return vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y));
}

fn ldc(i: u32) -> vec4<f32> {
  return vec4<f32>(cache[i]); // @f32
  // @f16: let w = cache[i]; return vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y));
}

// Four cached rows' vec4 d as the columns of a matrix: qv * cols(...) is the four dot
// products of one query vec4 with them in one expression.
fn cols(r: vec4<u32>, d: u32) -> mat4x4<f32> {
  return mat4x4<f32>(ldc(r.x + d), ldc(r.y + d), ldc(r.z + d), ldc(r.w + d));
}

// Vec4 offsets of the cached rows of logical keys base + j .. base + j + 3, each clamped
// to the last visible key (logical index last).
fn row_offsets(base: u32, j: u32, last: u32) -> vec4<u32> {
  return vec4<u32>(k_rows[base + min(j, last)], k_rows[base + min(j + 1u, last)],
                   k_rows[base + min(j + 2u, last)], k_rows[base + min(j + 3u, last)]) * KEY_VEC4;
}

// Both passes bind the same seven buffers (one bind group for the two pipelines, whose
// layouts are derived from the shader): each entry point calls this, so each uses all
// bindings. Index 0 of each binding exists (the host never binds an empty buffer).
fn bind_all() {
  _ = params.total_t;
  _ = q_absorbed[0];
  _ = cache[0];
  _ = q_meta[0];
  _ = k_rows[0];
  _ = probs[0];
  _ = x_out[0];
}

// Head j of tile `tile`, clamped to the last head (a partial tile recomputes it and
// stores nothing for it).
fn head_of(tile: u32, j: u32) -> u32 {
  return min(tile * HT + j, params.heads - 1u);
}

// Pass 1. Grid: x = key groups of 16 / WG, y = head tiles, z = query tokens.
@compute @workgroup_size(WG)
fn scores(@builtin(global_invocation_id) gid: vec3<u32>) {
  bind_all();
  let t = gid.z;
  let tile = gid.y;
  let k0 = gid.x * KG;
  let qm = q_meta[t];
  if (k0 >= qm.z) {
    return; // past this query's visible keys (no barrier in this kernel)
  }
  let last = qm.z - 1u;
  let base = qm.y;
  let ra = row_offsets(base, k0, last);
  let rb = row_offsets(base, k0 + 4u, last);
  let rc = row_offsets(base, k0 + 8u, last);
  let rd = row_offsets(base, k0 + 12u, last);
  var qb: array<u32, HT>;
  for (var j = 0u; j < HT; j++) {
    qb[j] = (qm.x * params.heads + head_of(tile, j)) * KEY_VEC4;
  }
  // s[j]: column c = scores of keys k0 + 4c .. k0 + 4c + 3 for head j (zeroed explicitly:
  // naga hoists loop-local vars to the function entry).
  var s: array<mat4x4<f32>, HT>;
  for (var j = 0u; j < HT; j++) {
    s[j] = mat4x4<f32>(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
  }
  for (var d = 0u; d < KEY_VEC4; d++) {
    // The 16 cached vec4s are loaded once and serve all HT heads.
    let ca = cols(ra, d);
    let cb = cols(rb, d);
    let cc = cols(rc, d);
    let cd = cols(rd, d);
    for (var j = 0u; j < HT; j++) {
      let qv = ldq(qb[j] + d);
      s[j] += mat4x4<f32>(qv * ca, qv * cb, qv * cc, qv * cd);
    }
  }
  // Store whole vec4s of scores (k0 is a multiple of 16); slots past the visible keys
  // are written too and masked by the softmax pass.
  let n4 = min(4u, (qm.z - k0 + 3u) / 4u);
  for (var j = 0u; j < HT; j++) {
    let h = tile * HT + j;
    if (h < params.heads) {
      let ob = (t * params.heads + h) * params.kmax4 + k0 / 4u;
      for (var c = 0u; c < 4u; c++) {
        if (c < n4) {
          probs[ob + c] = s[j][c] * params.scale;
        }
      }
    }
  }
}

// Pass 3 (pass 2 is gemm_softmax.wgsl). Grid: x = column blocks (VAL_VEC4 / EV) / WG, y = head tiles, z = query tokens.
@compute @workgroup_size(WG)
fn values(@builtin(global_invocation_id) gid: vec3<u32>) {
  bind_all();
  let t = gid.z;
  let tile = gid.y;
  let e0 = gid.x * EV;
  if (e0 >= VAL_VEC4) {
    return; // grid rounded up to whole workgroups
  }
  let qm = q_meta[t];
  let nk = qm.z;
  var pb: array<u32, HT>;
  for (var j = 0u; j < HT; j++) {
    pb[j] = (t * params.heads + head_of(tile, j)) * params.kmax4;
  }
  var acc: array<array<vec4<f32>, EV>, HT>;
  for (var j = 0u; j < HT; j++) {
    for (var e = 0u; e < EV; e++) {
      acc[j][e] = vec4<f32>(0.0);
    }
  }
  for (var kb = 0u; kb < nk; kb += 4u) {
    let r = row_offsets(qm.y, kb, nk - 1u) + vec4<u32>(e0);
    // The block's 4 keys x EV columns, loaded once for all HT heads: c[e] * p is
    // sum_k p_k cache[row_k][e0 + e].
    var c: array<mat4x4<f32>, EV>;
    for (var e = 0u; e < EV; e++) {
      c[e] = mat4x4<f32>(ldc(r.x + e), ldc(r.y + e), ldc(r.z + e), ldc(r.w + e));
    }
    for (var j = 0u; j < HT; j++) {
      // Probabilities of keys kb .. kb + 3 (0 past the visible keys).
      let p = probs[pb[j] + kb / 4u];
      for (var e = 0u; e < EV; e++) {
        acc[j][e] += c[e] * p;
      }
    }
  }
  for (var j = 0u; j < HT; j++) {
    let h = tile * HT + j;
    if (h < params.heads) {
      let row = t * params.heads + h;
      for (var e = 0u; e < EV; e++) {
        x_out[row * VAL_VEC4 + e0 + e] = acc[j][e];
      }
    }
  }
}
