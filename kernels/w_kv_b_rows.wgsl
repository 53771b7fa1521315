// A part (kernels/source.ts, `// @include w_kv_b_rows.wgsl params: WRPT`), appended to the
// kernels that read rows of w_kv_b [h * (nope + v), r] (torch Linear layout) a vec4 at a
// time: absorb_q.wgsl, absorb_q_split.wgsl, up_proj.wgsl and up_proj_split.wgsl. It
// declares their binding 2 and the two functions they read it through; the includer
// declares `params` with the field `r_vec4` (r / 4: vec4s per row of w_kv_b), which these
// functions read.

@group(0) @binding(2) var<storage, read> w_kv_b: array<vec4<store_t>>; // @notex
// With the switch `tex` (the plan's weightTexture, cpu-class devices) w_kv_b's rows come
// through a texture copied from the buffer (rgba32float, or rgba16float holding the same
// halves), WRPT rows per texture row: lavapipe loads a storage vec4 a component at a time
// for each lane and a texel in one fetch (docs/benchmarks.md, session 25). A gpu-class plan
// has none; the split kernels keep the switch so that any plan runs.
// @tex: @group(0) @binding(2) var w_tex: texture_storage_2d<rgba32float, read>; // @f32
// @f16: // @tex: @group(0) @binding(2) var w_tex: texture_storage_2d<rgba16float, read>;

const WRPT: u32 = 1u; // @param w_kv_b rows per texture row of w_tex (switch tex)

// Where w_kv_b row `row` starts: a vec4 index into the buffer, or the texel of its vec4 0.
fn w_at(row: u32) -> vec2<u32> {
  return vec2<u32>(row * params.r_vec4, 0u); // @notex
  // @tex: return vec2<u32>((row % WRPT) * params.r_vec4, row / WRPT);
}

// Vec4 column c of the w_kv_b row that starts at `a` (w_at).
fn ldw(a: vec2<u32>, c: u32) -> vec4<f32> {
  return vec4<f32>(w_kv_b[a.x + c]); // @notex
  // @tex: return textureLoad(w_tex, vec2<u32>(a.x + c, a.y));
}
