// A part (kernels/source.ts, `// @include gemm_common.wgsl`): the helpers absorbed_gemm.wgsl
// and expanded_gemm.wgsl share, word for word. It declares no binding and no @param; from
// the includer it reads CPT (vec4s per texel: 1, or 2 with the `packed` switch), RPTP (with
// the `ptex` switch), `params.kmax4` (vec4s per score row), the buffers `k_rows`, `probs`
// and `probs_in`, the texture `p_tex` (switch `ptex`) and the function `bind_common`.

// The vec4s of one texel: `lo` is vec4 CPT x p of the row, `hi` vec4 CPT x p + 1 when
// CPT = 2 (0 otherwise, and never used: every use of `hi` is under `if (CPT > 1u)`).
struct Pair {
  lo: vec4<f32>,
  hi: vec4<f32>,
}

// A packed texel's eight halves, widened (every f16 value is exact in f32).
fn unpack_texel(w: vec4<u32>) -> Pair {
  return Pair(vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y)),
              vec4<f32>(unpack2x16float(w.z), unpack2x16float(w.w)));
}

// Four rows' texel p as the columns of matrices (`lo`: their vec4 CPT x p, `hi`: the next
// one when packed): qv * m is the four dot products of one query vec4 with them in one
// expression.
struct Cols {
  lo: mat4x4<f32>,
  hi: mat4x4<f32>,
}

// Buffer rows of logical keys base + j .. base + j + 3, each clamped to the last visible
// key (logical index last).
fn key_rows(base: u32, j: u32, last: u32) -> vec4<u32> {
  return vec4<u32>(k_rows[base + min(j, last)], k_rows[base + min(j + 1u, last)],
                   k_rows[base + min(j + 2u, last)], k_rows[base + min(j + 3u, last)]);
}

// Both passes bind the same resources (the launcher passes one list; each pipeline's layout
// is derived from its entry point, which must use every binding): each entry point calls
// its function below, the includer's bind_common and the probabilities binding it reads or
// writes (the two differ in that binding). Index 0 of each binding exists (the host never
// binds an empty buffer).
fn bind_scores() {
  bind_common();
  _ = probs[0];
}

fn bind_values() {
  bind_common();
  _ = probs_in[0];
}

// One query texel against the 16 key texels of a step: column c of the result holds the
// dot products of its CPT vec4s with keys 4c .. 4c + 3 of the group.
fn dots(q: Pair, ca: Cols, cb: Cols, cc: Cols, cd: Cols) -> mat4x4<f32> {
  let lo = dots16(q.lo, ca.lo, cb.lo, cc.lo, cd.lo);
  if (CPT == 1u) {
    return lo;
  }
  return lo + dots16(q.hi, ca.hi, cb.hi, cc.hi, cd.hi);
}

// One query vec4 against 16 key vec4s.
fn dots16(qv: vec4<f32>, ca: mat4x4<f32>, cb: mat4x4<f32>, cc: mat4x4<f32>, cd: mat4x4<f32>) -> mat4x4<f32> {
  return mat4x4<f32>(qv * ca, qv * cb, qv * cc, qv * cd);
}

// Probabilities p of 4 keys times the keys' EV column vec4s (c0..c3).
fn weigh4(p: vec4<f32>, c0: mat4x4<f32>, c1: mat4x4<f32>, c2: mat4x4<f32>, c3: mat4x4<f32>) -> mat4x4<f32> {
  return mat4x4<f32>(c0 * p, c1 * p, c2 * p, c3 * p);
}

// Probabilities of (token x heads + head) row `row`, keys 4 pk .. 4 pk + 3: from the score
// buffer, or with the `ptex` switch from the probability texture, whose row's vec4 i is
// texel ((row % RPTP) x KMAX4 + i, row / RPTP).
fn ldp(row: u32, pk: u32) -> vec4<f32> {
  return probs_in[row * params.kmax4 + pk]; // @noptex
  // @ptex: return textureLoad(p_tex, vec2<u32>((row % RPTP) * params.kmax4 + pk, row / RPTP));
}
