// A kernel that compiles but races, to show what the barrier check reports:
// `mla-harness compile docs/examples/missing_barrier.wgsl`. Each invocation stages one value
// of a tile in workgroup memory and then reads its neighbour's, with no workgroupBarrier()
// between: on a GPU the neighbour may not have written it yet (on lavapipe a workgroup of
// eight runs in lock step and the result looks right). The sum at the end reads the whole
// tile, again with no barrier after the writes.
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

var<workgroup> tile: array<f32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  tile[lid] = x[wid.x * 64u + lid];
  let right = tile[(lid + 1u) % 64u];
  out[wid.x * 64u + lid] = right - tile[lid];
  if (lid == 0u) {
    var s = 0.0;
    for (var i = 0u; i < 64u; i++) {
      s += tile[i];
    }
    out[wid.x * 64u] = s;
  }
}
