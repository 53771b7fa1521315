/**
 * Compile a kernel and run one workgroup of it, timed: what the compile-time tools measure
 * (lavapipe and llvmpipe compile a pipeline's machine code at its first dispatch, not when
 * the pipeline is created). Every buffer binding of group 0 gets a zero-filled 4 KiB buffer.
 *
 * @module
 */
import { formatDiagnostic } from "../gpu/errors.ts";
import { mapDiagnostics } from "../gpu/shader.ts";

/**
 * The buffer bindings of group 0 in WGSL source, or a message naming one that is not a buffer.
 *
 * @example
 * ```ts
 * import { bufferBindings } from "./first_dispatch.ts";
 * bufferBindings("@group(0) @binding(0) var<uniform> p: vec4<u32>;");
 * // [{ binding: 0, uniform: true }]
 * ```
 */
export function bufferBindings(
  code: string,
): { binding: number; uniform: boolean }[] | string {
  const bindings: { binding: number; uniform: boolean }[] = [];
  for (const m of code.matchAll(/^\s*@group\(0\)\s*@binding\((\d+)\)\s*var(<[^>]*>)?/gm)) {
    if (!m[2]) return `binding ${m[1]} is not a buffer; only buffer bindings are supported`;
    bindings.push({ binding: Number(m[1]), uniform: m[2].startsWith("<uniform") });
  }
  return bindings;
}

/**
 * Seconds from shader-module creation to the end of one dispatch of one workgroup of
 * `entry`. Throws an Error whose message is the compile or validation error; a compile
 * error is named by `options.fileName` (default "kernel.wgsl") and its line, or, in an
 * included part's appended text, by the part and its own line (gpu/shader.ts
 * mapDiagnostics).
 *
 * @example
 * ```ts
 * import { timeFirstDispatch } from "./first_dispatch.ts";
 * declare const device: GPUDevice; // a WebGPU device: type-checked, not run
 * await timeFirstDispatch(device, "@compute @workgroup_size(1) fn main() {}", "main");
 * ```
 */
export async function timeFirstDispatch(
  device: GPUDevice,
  code: string,
  entry: string,
  options: { fileName?: string } = {},
): Promise<number> {
  const bindings = bufferBindings(code);
  if (typeof bindings === "string") throw new Error(bindings);
  const t0 = performance.now();
  const module = device.createShaderModule({ code });
  const errors = (await module.getCompilationInfo()).messages.filter((m) => m.type === "error");
  if (errors.length) {
    const fileName = options.fileName ?? "kernel.wgsl";
    throw new Error(mapDiagnostics({ fileName, code }, errors).map(formatDiagnostic).join("\n"));
  }
  device.pushErrorScope("validation");
  const pipeline = device.createComputePipeline({
    layout: "auto",
    compute: { module, entryPoint: entry },
  });
  const buffers = bindings.map((b) =>
    device.createBuffer({
      size: 4096,
      usage: b.uniform ? GPUBufferUsage.UNIFORM : GPUBufferUsage.STORAGE,
    })
  );
  const bindGroup = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: bindings.map((b, i) => ({ binding: b.binding, resource: { buffer: buffers[i] } })),
  });
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(1);
  pass.end();
  device.queue.submit([encoder.finish()]);
  await device.queue.onSubmittedWorkDone();
  const error = await device.popErrorScope();
  for (const b of buffers) b.destroy();
  if (error) throw new Error(error.message);
  return (performance.now() - t0) / 1000;
}
