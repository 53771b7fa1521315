// Sum of the key splits of absorbed_gemm.wgsl's values pass: x = sum_s x_part[s].
//
// Each split's partial is sum_k P[t, h, k] x cache[row_k][0:r] over its own keys, with P
// already normalized over all of the token's keys (gemm_softmax.wgsl), so the splits
// add up with no rescaling (unlike combine.wgsl, whose splits each normalize by their
// own LSE). A split with no visible key wrote 0; a NaN in any split's keys makes the
// sum NaN, as in one pass. One invocation per output vec4; the loop runs `splits`
// times (at most 16, adapter/gemm_plan.ts). No workgroup memory, no barriers.

const WG: u32 = 64u; // @param invocations per workgroup

struct Params {
  n: u32,      // output vec4s: totalQ x heads x r / 4
  splits: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x_part: array<vec4<f32>>;  // [splits, n]
@group(0) @binding(2) var<storage, read_write> x: array<vec4<f32>>; // [n]

// Grid: grid1d (gpu/dispatch.ts), x then y when n needs more than 65535 workgroups.
@compute @workgroup_size(WG)
fn split_sum(@builtin(global_invocation_id) gid: vec3<u32>,
             @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.n) {
    return; // grid rounded up (no barrier in this kernel)
  }
  var s = x_part[i];
  for (var p = 1u; p < params.splits; p++) {
    s += x_part[p * params.n + i];
  }
  x[i] = s;
}
