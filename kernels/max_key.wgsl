// A part (kernels/source.ts, `// @include max_key.wgsl`), appended to the kernels whose rows
// keep a running max in workgroup memory with atomicMax: absorbed_tiled.wgsl and
// expanded_fa2.wgsl (WGSL has no float atomics).

// A float's bits as a key whose unsigned order is the float order: negative floats flipped
// whole (a larger magnitude is a smaller key), positive ones with the sign bit set (above
// every negative one).
fn max_key(x: f32) -> u32 {
  let b = bitcast<u32>(x);
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

// The float of a max_key.
fn from_max_key(k: u32) -> f32 {
  return bitcast<f32>(select(~k, k & 0x7fffffffu, (k & 0x80000000u) != 0u));
}
