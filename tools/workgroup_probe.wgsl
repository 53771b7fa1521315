// Probes of what the GPU-shaped attention kernels spend between their FMAs (tools/workgroup_probe.ts):
// workgroup-memory reads, distinct per lane or the same address for a whole workgroup, and a
// workgroupBarrier per loop trip. The tiled absorbed decode and the FA2 prefill read every
// operand of their inner loops from workgroup memory (the decode's staged key rows are read by
// all rows of a segment at one address: a broadcast), and end each stage of a key tile with a
// barrier (5 a tile in the decode; in the FA2 prefill 2 a score chunk and 3 more, so 9 a tile
// at the 48 KiB tier and 19 at 32 KiB, per RADV's listings): these figures say what those cost
// on a device, next to the FMA ceiling bench measures.
//
// Every entry point is a workgroup of WG invocations that first copies the N-vec4 table from
// its storage buffer into workgroup memory (so no compiler can assume the contents), then runs
// ITERS trips of one kind, and writes its accumulators out (so no trip is dead code). ITERS and
// the table's size are substituted by the tool (`// @param`); 4096 trips stay far inside
// lavapipe's budget of 65535 loop iterations per invocation.

const WG: u32 = 256u; // invocations per workgroup: the tiled decode's (V2-Lite) and a 64-query FA2's x 2
const N: u32 = 1024u; // vec4s of the table: 16 KiB, within every device's workgroup memory
const ITERS: u32 = 4096u; // @param trips of the measured loop

@group(0) @binding(0) var<storage, read> src: array<vec4<f32>, N>;
@group(0) @binding(1) var<storage, read_write> out: array<vec4<f32>>;

var<workgroup> table: array<vec4<f32>, N>;

// The copy into workgroup memory, then the barrier that makes it visible to every invocation.
fn stage(lid: u32) {
  for (var i = lid; i < N; i += WG) {
    table[i] = src[i];
  }
  workgroupBarrier();
}

// Baseline: one broadcast read and one vec4 FMA a trip (the body of `barrier` without its
// barrier), so the barrier's cost is the difference of the two.
@compute @workgroup_size(WG)
fn loop_only(@builtin(global_invocation_id) gid: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
  stage(lid);
  var acc = vec4<f32>(f32(lid));
  for (var i = 0u; i < ITERS; i++) {
    acc = fma(acc, vec4<f32>(0.999), table[i & (N - 1u)]);
  }
  out[gid.x] = acc;
}

// The same trip ended by a barrier: every invocation of the workgroup waits for the others at
// each trip, as the tiled kernels do at each stage of a key tile. ITERS is a constant, so the
// loop's bound is workgroup-uniform (a barrier may sit inside it).
@compute @workgroup_size(WG)
fn barrier_trip(@builtin(global_invocation_id) gid: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  stage(lid);
  var acc = vec4<f32>(f32(lid));
  for (var i = 0u; i < ITERS; i++) {
    acc = fma(acc, vec4<f32>(0.999), table[i & (N - 1u)]);
    workgroupBarrier();
  }
  out[gid.x] = acc;
}

// Four reads a trip, each lane its own vec4: consecutive invocations read consecutive vec4s
// (distinct banks, no conflict), four independent sums so that no read waits for an add.
@compute @workgroup_size(WG)
fn lds_read(@builtin(global_invocation_id) gid: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
  stage(lid);
  var a0 = vec4<f32>(0.0);
  var a1 = vec4<f32>(0.0);
  var a2 = vec4<f32>(0.0);
  var a3 = vec4<f32>(0.0);
  for (var i = 0u; i < ITERS; i++) {
    let base = lid + i * 4u * WG;
    a0 += table[base & (N - 1u)];
    a1 += table[(base + WG) & (N - 1u)];
    a2 += table[(base + 2u * WG) & (N - 1u)];
    a3 += table[(base + 3u * WG) & (N - 1u)];
  }
  out[gid.x] = a0 + a1 + a2 + a3;
}

// Four reads a trip at addresses the same for every invocation (a broadcast: the tiled
// decode's key rows, the FA2 prefill's q rows, read by many lanes at once).
@compute @workgroup_size(WG)
fn lds_broadcast(@builtin(global_invocation_id) gid: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  stage(lid);
  var a0 = vec4<f32>(f32(lid));
  var a1 = vec4<f32>(0.0);
  var a2 = vec4<f32>(0.0);
  var a3 = vec4<f32>(0.0);
  for (var i = 0u; i < ITERS; i++) {
    let base = i * 4u;
    a0 += table[base & (N - 1u)];
    a1 += table[(base + 1u) & (N - 1u)];
    a2 += table[(base + 2u) & (N - 1u)];
    a3 += table[(base + 3u) & (N - 1u)];
  }
  out[gid.x] = a0 + a1 + a2 + a3;
}
