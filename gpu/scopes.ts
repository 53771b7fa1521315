/**
 * Error scopes around a GPU step: validation and out-of-memory errors become a
 * thrown {@link GpuScopeError} naming the step instead of an uncaptured warning.
 *
 * @module
 */
import { GpuScopeError } from "./errors.ts";

/**
 * Run `fn` inside validation and out-of-memory error scopes; throw the first
 * error caught (out-of-memory first), labelled with `label`.
 *
 * @example
 * ```ts
 * // needs a WebGPU device: run where one is (tests/doc_examples_gpu_test.ts)
 * import { GpuContext } from "./device.ts";
 * import { withErrorScopes } from "./scopes.ts";
 * const ctx = await GpuContext.create();
 * const buf = await withErrorScopes(ctx.device, "alloc", () =>
 *   ctx.device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE }));
 * ```
 */
export async function withErrorScopes<T>(
  device: GPUDevice,
  label: string,
  fn: () => T | Promise<T>,
): Promise<T> {
  device.pushErrorScope("out-of-memory");
  device.pushErrorScope("validation");
  let result: T;
  let thrown: unknown = undefined;
  let threw = false;
  try {
    result = await fn();
  } catch (e) {
    threw = true;
    thrown = e;
  }
  const validation = await device.popErrorScope();
  const oom = await device.popErrorScope();
  if (oom) throw new GpuScopeError(label, "out-of-memory", oom.message);
  if (validation) throw new GpuScopeError(label, "validation", validation.message);
  if (threw) throw thrown;
  return result!;
}
