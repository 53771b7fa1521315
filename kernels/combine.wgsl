// Combine pass of split-KV attention: merges kv_splits partial results.
//
// Split s wrote a normalized partial x_s [totalQ, h, VAL] and its LSE l_s (or -inf
// when its key range was empty). The merged result is
//   L = log(sum_s exp(l_s)),  x = sum_s exp(l_s - L) x_s,
// evaluated with the max trick. A split with NaN LSE (it saw a NaN key) makes the
// row NaN, as in the single pass. One invocation per (t, head, vec4 of the value);
// the first vec4's invocation also writes L. No workgroup memory, no barriers.

// Finite stand-in for -inf (see absorbed.wgsl).
const NEG_BIG: f32 = -3.0e38;

struct Params {
  rows: u32,      // totalQ * heads
  val_vec4: u32,  // value width / 4
  kv_splits: u32,
  neg_inf: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x_part: array<vec4<f32>>;   // [splits, rows, val_vec4]
@group(0) @binding(2) var<storage, read> lse_part: array<f32>;       // [splits, rows]
@group(0) @binding(3) var<storage, read_write> x: array<vec4<f32>>;  // [rows, val_vec4]
@group(0) @binding(4) var<storage, read_write> lse: array<f32>;      // [rows]

const WG: u32 = 64u; // @param invocations per workgroup: the host's grid1d divides by the
// same value (LINEAR_WORKGROUP, gpu/dispatch.ts), and the index below folds (x, y) by it

@compute @workgroup_size(WG)
fn combine(@builtin(global_invocation_id) gid: vec3<u32>,
           @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  if (idx >= params.rows * params.val_vec4) {
    return; // bounds guard: grid rounded up
  }
  let row = idx / params.val_vec4;
  let d = idx % params.val_vec4;
  var m = NEG_BIG;
  for (var s = 0u; s < params.kv_splits; s++) {
    m = max(m, lse_part[s * params.rows + row]);   // -inf never wins over NEG_BIG
  }
  var wsum = 0.0;
  var xacc = vec4<f32>(0.0);
  for (var s = 0u; s < params.kv_splits; s++) {
    let l = lse_part[s * params.rows + row];
    // Skip empty splits (their LSE is -inf, x_s is 0). `!(l <= NEG_BIG)`, not
    // `l > NEG_BIG`: a split whose LSE is NaN (it saw a NaN key) must make the row NaN.
    if (!(l <= NEG_BIG)) {
      let w = exp(l - m);
      wsum += w;
      xacc += w * x_part[(s * params.rows + row) * params.val_vec4 + d];
    }
  }
  // No split saw a key: 0 and -inf; a NaN weight sum falls through to NaN.
  let seen_any = !(wsum <= 0.0);
  x[idx] = select(vec4<f32>(0.0), xacc / wsum, seen_any);
  if (d == 0u) {
    lse[row] = select(params.neg_inf, m + log(wsum), seen_any);
  }
}
