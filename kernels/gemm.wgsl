// @enable-f16
// Tiled GEMM for the layer's projections, torch Linear layout:
//   y[m, y_col0 + n] = sum_k x[m, k] * w[n, k]      (y = x W^T, W is [out, in])
//
// Both operands are row-major with the reduction dimension k contiguous, so both
// are read as vec4 along k (the host pads k to a multiple of 4 with zeros).
//
// Tiles:
// - register tile per invocation: TM = 4 rows of x times TN = 4 rows of W (output
//   columns), 16 f32 accumulators held as 4 vec4 (acc_i = y[m0 + i, n0 .. n0 + 3]);
//   per step of 4 k it loads 4 + 4 vec4 and does 16 vec4 dots (64 FMAs): 8 FMAs
//   per load, against lavapipe's ~13-FMA cost of a load;
// - workgroup tile: WG = 16 invocations side by side along n, i.e. 4 rows x 64
//   output columns. The 16 invocations read the same 4 x rows (cache hits), each
//   streams its own 4 W rows. No workgroup memory: on lavapipe it costs as much as
//   a buffer load, so sharing through it would not pay.
// - grid: x = ceil(n / 64) workgroups along the outputs, y = ceil(m / 4) along rows.
// Edge tiles clamp their load rows into range (loads stay valid; results of the
// clamped rows/columns are simply not stored), so there are no branches in the loop.
// Accumulation is f32 whatever the storage type; y is rounded once on the store.
// The k loop is not unrolled (fast compiles; lavapipe's LLVM handles the body).

alias store_t = f32; // @dtype storage type (f16 when shader-f16 is enabled)

struct Params {
  m: u32,        // rows of x and y
  n: u32,        // rows of w = output columns written by this dispatch
  k4: u32,       // padded k / 4 (vec4s per row of x and of w)
  y_stride: u32, // elements per row of y
  y_col0: u32,   // first column of y written (weights split into row chunks)
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<store_t>>;
@group(0) @binding(2) var<storage, read> w: array<vec4<store_t>>;
@group(0) @binding(3) var<storage, read_write> y: array<store_t>;

const WG: u32 = 16u; // @param invocations per workgroup along n (GEMM_TILE.workgroup)
const TM: u32 = 4u; // @param rows per invocation (GEMM_TILE.rows: the host's grid divides by it)
const TN: u32 = 4u; // @param output columns per invocation (GEMM_TILE.cols: likewise)
// The accumulators below are written out for 4 x 4.
const_assert TM == 4u && TN == 4u;

fn dots(a: vec4<f32>, w0: vec4<f32>, w1: vec4<f32>, w2: vec4<f32>, w3: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(dot(a, w0), dot(a, w1), dot(a, w2), dot(a, w3));
}

@compute @workgroup_size(WG)
fn gemm(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let n0 = (wid.x * WG + lid.x) * TN;
  let m0 = wid.y * TM;
  if (n0 >= params.n || m0 >= params.m) {
    return; // no barriers in this kernel: an early exit is safe
  }
  let k4 = params.k4;
  let lm = params.m - 1u;
  let ln = params.n - 1u;
  let x0 = min(m0, lm) * k4;
  let x1 = min(m0 + 1u, lm) * k4;
  let x2 = min(m0 + 2u, lm) * k4;
  let x3 = min(m0 + 3u, lm) * k4;
  let w0 = min(n0, ln) * k4;
  let w1 = min(n0 + 1u, ln) * k4;
  let w2 = min(n0 + 2u, ln) * k4;
  let w3 = min(n0 + 3u, ln) * k4;
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k = 0u; k < k4; k++) {
    let b0 = vec4<f32>(w[w0 + k]);
    let b1 = vec4<f32>(w[w1 + k]);
    let b2 = vec4<f32>(w[w2 + k]);
    let b3 = vec4<f32>(w[w3 + k]);
    acc0 += dots(vec4<f32>(x[x0 + k]), b0, b1, b2, b3);
    acc1 += dots(vec4<f32>(x[x1 + k]), b0, b1, b2, b3);
    acc2 += dots(vec4<f32>(x[x2 + k]), b0, b1, b2, b3);
    acc3 += dots(vec4<f32>(x[x3 + k]), b0, b1, b2, b3);
  }
  let acc = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  for (var i = 0u; i < TM; i++) {
    let row = m0 + i;
    if (row < params.m) {
      let base = row * params.y_stride + params.y_col0 + n0;
      for (var j = 0u; j < TN; j++) {
        if (n0 + j < params.n) {
          y[base + j] = store_t(acc[i][j]);
        }
      }
    }
  }
}
