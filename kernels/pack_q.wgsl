// @enable-f16
// Query packing for the dense (expanded) path: q[row, h] = [ q_nope,h | q_pe,h ]
// (width nope + rope), from the standard buffers q_nope [rows, h, nope] and the
// already rotated q_pe [rows, h, rope] (docs/backends.md). One invocation per output
// element: a copy, so scalar loads are enough (widths need not be multiples of 4).

alias store_t = f32; // @dtype storage type

struct Params {
  rows_heads: u32, // rows * heads
  nope: u32,
  rope: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q_nope: array<store_t>;
@group(0) @binding(2) var<storage, read> q_pe: array<store_t>;
@group(0) @binding(3) var<storage, read_write> q: array<store_t>;

const WG: u32 = 64u; // @param invocations per workgroup: the host's grid1d divides by the
// same value (LINEAR_WORKGROUP, gpu/dispatch.ts), and the index below folds (x, y) by it

@compute @workgroup_size(WG)
fn pack_q(@builtin(global_invocation_id) gid: vec3<u32>,
          @builtin(num_workgroups) nwg: vec3<u32>) {
  let width = params.nope + params.rope;
  let idx = gid.x + gid.y * nwg.x * WG;
  if (idx >= params.rows_heads * width) {
    return; // bounds guard: grid rounded up
  }
  let rh = idx / width;
  let c = idx % width;
  if (c < params.nope) {
    q[idx] = q_nope[rh * params.nope + c];
  } else {
    q[idx] = q_pe[rh * params.rope + (c - params.nope)];
  }
}
