// A deliberately broken kernel, to show what a compile error looks like:
// `mla-harness compile docs/examples/broken.wgsl`.
@group(0) @binding(0) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(32)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  out[i] = exp(scores[i]) * 0.5;
}
