// Loop-budget probe: one workgroup runs a loop of params.x trips (a runtime value,
// so the compiler cannot fold it) and writes how many trips really ran. A device
// with a per-invocation loop limiter (Mesa's llvmpipe/lavapipe: 65535 iterations
// shared by every loop of the invocation) stops early; others run them all.
// Workgroup size 8: one lavapipe SIMD row; invocation 0 alone stores (the others
// run the same uniform loop).

@group(0) @binding(0) var<uniform> params: vec4<u32>;
@group(0) @binding(1) var<storage, read_write> trips: array<u32>;

@compute @workgroup_size(8)
fn probe(@builtin(local_invocation_index) lid: u32) {
  var n = 0u;
  for (var i = 0u; i < params.x; i++) {
    n += 1u;
  }
  if (lid == 0u) {
    trips[0] = n;
  }
}
