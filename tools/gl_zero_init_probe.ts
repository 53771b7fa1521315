/**
 * How long this adapter takes to compile a kernel whose workgroup memory is one array of
 * N elements, for each N given. WebGPU zero-fills workgroup memory before a kernel runs;
 * under wgpu's GL backend the translated shader does it with one store per element, and
 * llvmpipe compiles that block in time growing with the square of the stores (the cap in
 * adapter/slow_device.ts). llvmpipe compiles at the first dispatch, so the time printed is
 * pipeline creation plus one dispatch of one workgroup.
 *
 *   VK_ICD_FILENAMES=/nonexistent.json MESA_SHADER_CACHE_DISABLE=true \
 *     deno run -A tools/gl_zero_init_probe.ts 256 1024 2048 4096        # the GL fallback
 *   DENO_WEBGPU_BACKEND=vulkan MESA_SHADER_CACHE_DISABLE=true \
 *     deno run -A tools/gl_zero_init_probe.ts --type vec4 1024          # lavapipe
 *
 * @module
 */
import { toolArgs } from "./tool_args.ts";
import { requestGpuAdapter } from "../gpu/device.ts";
import { timeFirstDispatch } from "./first_dispatch.ts";

/** Element types the probe's array can have. */
export type ProbeElement = "f32" | "vec4";

/**
 * The probe kernel: a workgroup array of `n` elements that every invocation writes and
 * reads across a barrier (so it is not optimized away).
 *
 * @example
 * ```ts
 * import { probeShader } from "./gl_zero_init_probe.ts";
 * probeShader(1024, "f32").includes("array<f32, 1024>"); // true
 * ```
 */
export function probeShader(n: number, element: ProbeElement): string {
  const t = element === "f32" ? "f32" : "vec4<f32>";
  return `
var<workgroup> w: array<${t}, ${n}>;
@group(0) @binding(0) var<storage, read_write> o: array<${t}, 64>;
@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) lid: u32) {
  w[lid % ${n}u] = ${t}(f32(lid));
  workgroupBarrier();
  o[lid] = w[(lid * 7u) % ${n}u];
}`;
}

if (import.meta.main) {
  const usage = "usage: deno run -A tools/gl_zero_init_probe.ts [--type f32|vec4] N [N ...]";
  const { values, positionals } = toolArgs({
    options: { type: { type: "string", default: "f32" }, help: { type: "boolean" } },
    allowPositionals: true,
  }, usage);
  if (values.help || positionals.length === 0) {
    console.log(
      `${usage}\n` +
        "Prints the compile time (pipeline + first dispatch) of a kernel with a workgroup " +
        "array of N elements.\nRun with MESA_SHADER_CACHE_DISABLE=true so every N compiles.",
    );
    Deno.exit(values.help ? 0 : 2);
  }
  const element = values.type;
  const sizes = positionals.map(Number);
  const bad = positionals.find((_p, i) => !Number.isInteger(sizes[i]) || sizes[i] < 64);
  if ((element !== "f32" && element !== "vec4") || bad !== undefined) {
    console.error(
      bad !== undefined
        ? `element count "${bad}" must be a whole number of at least 64 (the workgroup size)`
        : `--type "${element}" must be f32 or vec4`,
    );
    Deno.exit(2);
  }
  const adapter = await requestGpuAdapter();
  const device = await adapter.requestDevice();
  console.log(`adapter: ${adapter.info.description || adapter.info.device}`);
  for (const n of sizes) {
    const seconds = await timeFirstDispatch(device, probeShader(n, element), "main");
    console.log(`${n} ${element} elements: ${seconds.toFixed(2)} s`);
  }
  device.destroy();
}
