// @enable-f16
// RMSNorm over a column range of each row, with a learned weight:
//   y[row, out_offset + c] = x[row, in_offset + c] / sqrt(mean_c(x^2) + eps) * weight[c]
// for c in [0, width). The column range lets the same entry point normalize
// q_a_proj's output (in_offset 0, width q_lora) and the latent half of
// kv_a_proj_with_mqa's output [rows, r + rope] (in_offset 0, width r) without a copy.
//
// One workgroup per row (grid folded into y beyond 65535 rows); WG = 32
// invocations stride over the columns, then a tree reduction in workgroup memory.
// Sum of squares and scaling in f32 whatever the storage type; weight is f32.

alias store_t = f32; // @dtype storage type (f16 when shader-f16 is enabled)

struct Params {
  rows: u32,
  width: u32,       // columns normalized
  in_stride: u32,   // elements per row of x
  in_offset: u32,   // first normalized column of x
  out_stride: u32,  // elements per row of y
  out_offset: u32,  // first column written in y
  eps: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<store_t>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<store_t>;

// One workgroup per row (the host's grid is one workgroup per row, whatever WG is): its
// invocations stride over the row's columns and reduce their partial sums through `partial`.
const WG: u32 = 32u;
// The tree reduction below halves the active invocations each step: WG is a power of two.
const_assert ((WG & (WG - 1u)) == 0u);
var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn rmsnorm(@builtin(workgroup_id) wid: vec3<u32>,
           @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_id) lid: vec3<u32>) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= params.rows) {
    return; // uniform per workgroup: every invocation leaves, so no barrier is skipped
  }
  let src = row * params.in_stride + params.in_offset;
  var ss = 0.0;
  for (var c = lid.x; c < params.width; c += WG) {
    let v = f32(x[src + c]);
    ss += v * v;
  }
  partial[lid.x] = ss;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid.x < s) {
      // Invocations below s write their own slots and read the slots from s up, which no
      // invocation of this step writes: no barrier between the read and the write.
      partial[lid.x] += partial[lid.x + s]; // @no-race: writes below s, reads from s up
    }
    workgroupBarrier();
  }
  let inv = 1.0 / sqrt(partial[0] / f32(params.width) + params.eps);
  let dst = row * params.out_stride + params.out_offset;
  for (var c = lid.x; c < params.width; c += WG) {
    y[dst + c] = store_t(f32(x[src + c]) * inv * weight[c]);
  }
}
