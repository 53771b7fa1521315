// @enable-f16
// Device ceilings: the kernels that measure what the hardware (or lavapipe) can do,
// so every benchmark can report a roofline fraction measured in the same run.
//
// Entry points (one pipeline each, dtype-specialized by kernels/source.ts):
//   copy_vec4  dst[i] = src[i] over large buffers, vec4 per access: bytes read + written.
//   read_vec4  each invocation sums RUN vec4s (in copy's pattern) and writes one vec4:
//              read bandwidth (the write is 1/RUN of the traffic).
//   read_tex   RUN texels of an rgba32float texture per invocation, in read_vec4's order
//              (TEX_RUNS = 0) or as a contiguous run (TEX_RUNS = 1), through a sampled
//              texture or (switch `stex`) a read-only storage texture: texture-read
//              bandwidth, the best of the four pipelines (on lavapipe the runs read
//              1.2-1.5x faster, tools/bandwidth_probe.ts, and a dense decode whose lanes each
//              walk their own rows read above the strided figure alone; a read-only storage
//              texture read 1.1-1.4x faster than a sampled one in the probe and 2x here, and
//              the gemm kernels read theirs so). Kernels that read
//              their data through textures (wgsl-expanded's K/V, the gemm kernels' latent
//              cache) are judged against the best of the three bandwidths: on lavapipe a
//              texel fetch reads memory faster than any storage load, so a storage-only
//              ceiling let such a kernel pass 1.
//   fma_4,     4 or 32 independent vec4 multiply-add chains of ITERS steps: FMA throughput.
//   fma_32     Independent chains hide the FMA latency; on lavapipe 4 chains reached about
//              67 GFLOP/s and 32 about 105: the peak is the best of the two.
//   noop       writes nothing useful: per-dispatch overhead.
//
// `store_t` is f32 or f16 (the fma entry measures f16 arithmetic when specialized
// for f16; copy and read use the same storage type as the attention kernels).

alias store_t = f32; // @dtype element type of the buffers and of the fma chains

const WG: u32 = 64u; // @param invocations per workgroup (1-D)
const RUN: u32 = 16u; // @param vec4s per invocation in `copy` and `read`
const ITERS: u32 = 256u; // @param steps of every chain in `fma`
// Texels per texture row in `read_tex`: a power of two, so the row and column of element
// e are a shift and a mask, not a division (which would cost more than the fetch on a CPU).
const TEX_W_LOG2: u32 = 11u; // @param
// `read_tex`'s order: 0, read_vec4's grid stride; 1, a contiguous run per invocation.
const TEX_RUNS: u32 = 0u; // @param

struct Params {
  n_vec4: u32,    // vec4 elements in src/dst
  stride: u32,    // invocations in the whole grid (grid-stride loop step)
  seed: f32,      // a runtime value, so the compiler cannot fold the fma chains
  touch: u32,     // always 0: see touch_src
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<store_t>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<store_t>>;
// Only read_tex uses it, so it is only in read_tex's automatic layout (its bind groups are
// built separately); n_vec4 is then the number of texels.
@group(0) @binding(3) var tex: texture_2d<f32>; // @nostex
// @stex: @group(0) @binding(3) var tex: texture_storage_2d<rgba32float, read>;

// Every entry point references all three bindings, so the automatic bind group
// layouts of all entries are the same and one bind group works for every entry
// (a binding an entry does not use is left out of its automatic layout). The branch
// is never taken (the host passes touch = 0).
fn touch_src() {
  if (params.touch == 1u) {
    dst[0] = src[0];
  }
}

fn flat_id(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

// Copy: invocation i copies vec4s i, i + stride, ... (RUN of them): consecutive
// invocations touch consecutive vec4s, the pattern a GPU coalesces; on a CPU each
// invocation still streams whole cache lines across the workgroup.
@compute @workgroup_size(WG)
fn copy_vec4(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let i0 = flat_id(gid, nwg);
  for (var j = 0u; j < RUN; j++) {
    let i = i0 + j * params.stride;
    if (i < params.n_vec4) {
      dst[i] = src[i];
    }
  }
}

// Read: same access pattern as copy, summed into one vec4 per invocation.
@compute @workgroup_size(WG)
fn read_vec4(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let i0 = flat_id(gid, nwg);
  var s = vec4<store_t>(0.0);
  for (var j = 0u; j < RUN; j++) {
    let i = i0 + j * params.stride;
    if (i < params.n_vec4) {
      s += src[i];
    }
  }
  if (i0 < params.n_vec4) {
    dst[i0] = s;
  }
}

// Texture read: invocation i reads texels i, i + stride, ... (read_vec4's order) or
// i x RUN .. i x RUN + RUN - 1 (TEX_RUNS: each lane its own run, as a lane walks its own
// (key row, head) row in expanded.wgsl), each texel of row e >> TEX_W_LOG2. rgba32float
// whatever the dtype: the figure is bytes per second, and every kernel that reads a
// texture fetches whole texels.
@compute @workgroup_size(WG)
fn read_tex(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let i0 = flat_id(gid, nwg);
  let w_mask = (1u << TEX_W_LOG2) - 1u;
  let first = select(i0, i0 * RUN, TEX_RUNS == 1u);
  let step = select(params.stride, 1u, TEX_RUNS == 1u);
  var s = vec4<f32>(0.0);
  for (var j = 0u; j < RUN; j++) {
    let i = first + j * step;
    if (i < params.n_vec4) {
      s += textureLoad(tex, vec2<u32>(i & w_mask, i >> TEX_W_LOG2), 0); // @nostex
      // @stex: s += textureLoad(tex, vec2<u32>(i & w_mask, i >> TEX_W_LOG2));
    }
  }
  if (first < params.n_vec4) {
    dst[i0] = vec4<store_t>(s);
  }
}

// FMA: independent vec4 chains `a = fma(a, m, c)`, ITERS steps each (8 FLOP per
// vec4 step). fma_4 has 4 chains (latency-bound on a CPU: each step waits for the
// previous one), fma_32 has 32 (enough to fill the FMA pipes). Written out, not as an
// array, so the chains stay in registers; the ITERS loop is a runtime loop (no full
// unroll: compile time).
@compute @workgroup_size(WG)
fn fma_4(@builtin(global_invocation_id) gid: vec3<u32>,
         @builtin(num_workgroups) nwg: vec3<u32>) {
  touch_src();
  let i0 = flat_id(gid, nwg);
  let m = vec4<store_t>(store_t(0.999));
  let c = vec4<store_t>(store_t(params.seed) * store_t(0.001));
  let b = store_t(params.seed) + store_t(i0 % 7u);
  var a0 = vec4<store_t>(b);
  var a1 = vec4<store_t>(b + store_t(1.0));
  var a2 = vec4<store_t>(b + store_t(2.0));
  var a3 = vec4<store_t>(b + store_t(3.0));
  for (var k = 0u; k < ITERS; k++) {
    a0 = fma(a0, m, c);
    a1 = fma(a1, m, c);
    a2 = fma(a2, m, c);
    a3 = fma(a3, m, c);
  }
  if (i0 < params.n_vec4) {
    dst[i0] = (a0 + a1) + (a2 + a3);   // keeps the chains alive
  }
}

@compute @workgroup_size(WG)
fn fma_32(@builtin(global_invocation_id) gid: vec3<u32>,
          @builtin(num_workgroups) nwg: vec3<u32>) {
  touch_src();
  let i0 = flat_id(gid, nwg);
  let m = vec4<store_t>(store_t(0.999));
  let c = vec4<store_t>(store_t(params.seed) * store_t(0.001));
  let b = store_t(params.seed) + store_t(i0 % 7u);
  var a0 = vec4<store_t>(b + store_t(0.0));
  var a1 = vec4<store_t>(b + store_t(1.0));
  var a2 = vec4<store_t>(b + store_t(2.0));
  var a3 = vec4<store_t>(b + store_t(3.0));
  var a4 = vec4<store_t>(b + store_t(4.0));
  var a5 = vec4<store_t>(b + store_t(5.0));
  var a6 = vec4<store_t>(b + store_t(6.0));
  var a7 = vec4<store_t>(b + store_t(7.0));
  var a8 = vec4<store_t>(b + store_t(8.0));
  var a9 = vec4<store_t>(b + store_t(9.0));
  var a10 = vec4<store_t>(b + store_t(10.0));
  var a11 = vec4<store_t>(b + store_t(11.0));
  var a12 = vec4<store_t>(b + store_t(12.0));
  var a13 = vec4<store_t>(b + store_t(13.0));
  var a14 = vec4<store_t>(b + store_t(14.0));
  var a15 = vec4<store_t>(b + store_t(15.0));
  var a16 = vec4<store_t>(b + store_t(16.0));
  var a17 = vec4<store_t>(b + store_t(17.0));
  var a18 = vec4<store_t>(b + store_t(18.0));
  var a19 = vec4<store_t>(b + store_t(19.0));
  var a20 = vec4<store_t>(b + store_t(20.0));
  var a21 = vec4<store_t>(b + store_t(21.0));
  var a22 = vec4<store_t>(b + store_t(22.0));
  var a23 = vec4<store_t>(b + store_t(23.0));
  var a24 = vec4<store_t>(b + store_t(24.0));
  var a25 = vec4<store_t>(b + store_t(25.0));
  var a26 = vec4<store_t>(b + store_t(26.0));
  var a27 = vec4<store_t>(b + store_t(27.0));
  var a28 = vec4<store_t>(b + store_t(28.0));
  var a29 = vec4<store_t>(b + store_t(29.0));
  var a30 = vec4<store_t>(b + store_t(30.0));
  var a31 = vec4<store_t>(b + store_t(31.0));
  for (var k = 0u; k < ITERS; k++) {
    a0 = fma(a0, m, c);
    a1 = fma(a1, m, c);
    a2 = fma(a2, m, c);
    a3 = fma(a3, m, c);
    a4 = fma(a4, m, c);
    a5 = fma(a5, m, c);
    a6 = fma(a6, m, c);
    a7 = fma(a7, m, c);
    a8 = fma(a8, m, c);
    a9 = fma(a9, m, c);
    a10 = fma(a10, m, c);
    a11 = fma(a11, m, c);
    a12 = fma(a12, m, c);
    a13 = fma(a13, m, c);
    a14 = fma(a14, m, c);
    a15 = fma(a15, m, c);
    a16 = fma(a16, m, c);
    a17 = fma(a17, m, c);
    a18 = fma(a18, m, c);
    a19 = fma(a19, m, c);
    a20 = fma(a20, m, c);
    a21 = fma(a21, m, c);
    a22 = fma(a22, m, c);
    a23 = fma(a23, m, c);
    a24 = fma(a24, m, c);
    a25 = fma(a25, m, c);
    a26 = fma(a26, m, c);
    a27 = fma(a27, m, c);
    a28 = fma(a28, m, c);
    a29 = fma(a29, m, c);
    a30 = fma(a30, m, c);
    a31 = fma(a31, m, c);
  }
  if (i0 < params.n_vec4) {
    dst[i0] = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11 + a12 + a13 + a14 + a15 + a16 + a17 + a18 + a19 + a20 + a21 + a22 + a23 + a24 + a25 + a26 + a27 + a28 + a29 + a30 + a31;   // keeps the chains alive
  }
}

// No-op: the smallest dispatch (one write by invocation 0 of workgroup 0).
@compute @workgroup_size(WG)
fn noop(@builtin(global_invocation_id) gid: vec3<u32>) {
  touch_src();
  if (gid.x == 0u && params.n_vec4 == 0xffffffffu) {
    dst[0] = vec4<store_t>(0.0);
  }
}
