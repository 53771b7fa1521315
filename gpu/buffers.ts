/**
 * Storage-buffer helpers: upload Float32 / f16-packed / u32 data, allocate
 * outputs and uniforms, read results back.
 *
 * @module
 */

/** Element type of a storage buffer upload. */
export type StorageType = "f32" | "f16" | "u32";

/** Usage of every storage buffer this module creates (readable back, writable). */
const STORAGE_USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/** Round a byte size up to a multiple of 4 and to at least 16 (zero-sized bindings are invalid). */
function padded(bytes: number): number {
  return Math.max(16, Math.ceil(bytes / 4) * 4);
}

/**
 * {@link padded}, after refusing a size that is not an integer >= 0 with a RangeError naming
 * the buffer's label: -4 and 4.5 were rounded to a 16-byte buffer without a word, and NaN
 * failed in WebGPU's argument conversion, naming no buffer.
 */
function checkedSize(bytes: number, label: string | undefined, device?: GPUDevice): number {
  const name = label === undefined ? "a storage buffer" : `storage buffer "${label}"`;
  if (!Number.isSafeInteger(bytes) || bytes < 0) {
    throw new RangeError(`${name}: size ${bytes} bytes must be an integer >= 0`);
  }
  // WebGPU's "Buffer size 4294967296 is greater than the maximum buffer size" named no
  // buffer, and came only when the case's error scope closed
  const most = device?.limits?.maxBufferSize;
  if (most !== undefined && padded(bytes) > most) {
    throw new RangeError(
      `${name}: size ${bytes} bytes is over this device's maxBufferSize ${most}: split it, ` +
        "or refuse the case in check() (query.caps.limits has the limit)",
    );
  }
  return padded(bytes);
}

/**
 * Convert numbers to the bytes of `type` (f16 rounds to nearest even; NaN stays NaN). Any
 * other type is a RangeError naming it: "bf16" (from JavaScript) was packed as f16. For u32,
 * a value that is not an integer in [-2^31, 2^32) is a RangeError naming `options.label`, the
 * element and its value: float data uploaded as u32 (1.5, NaN) was truncated to 1 and 0
 * without a word (a negative integer keeps its two's-complement bits, a -1 sentinel's).
 *
 * @example
 * ```ts
 * import { packTyped } from "./buffers.ts";
 * packTyped([1, 2], "f16").byteLength; // 4
 * packTyped([0, -1], "u32")[1]; // 4294967295
 * ```
 */
export function packTyped(
  data: ArrayLike<number>,
  type: StorageType,
  options: { label?: string } = {},
): Float32Array | Uint16Array | Uint32Array {
  if (type === "f32") return Float32Array.from(data);
  if (type === "u32") {
    if (!(data instanceof Uint32Array) && !(data instanceof Int32Array)) {
      for (let i = 0; i < data.length; i++) {
        const v = data[i];
        if (Number.isInteger(v) && v >= -0x80000000 && v <= 0xffffffff) continue;
        const name = options.label === undefined ? "u32 data" : `u32 data "${options.label}"`;
        throw new RangeError(
          `${name}: element ${i} is ${v}, not an integer in [-2^31, 2^32): stored as u32 it ` +
            `would read ${Uint32Array.of(v)[0]}; upload float data as "f32" (or the plan's ` +
            "dtype), or round it first",
        );
      }
    }
    return Uint32Array.from(data);
  }
  if (type !== "f16") {
    throw new RangeError(
      `storage type must be "f32", "f16" or "u32", got ${JSON.stringify(type)}`,
    );
  }
  const h = Float16Array.from(data);
  return new Uint16Array(h.buffer, h.byteOffset, h.length);
}

/** Options of {@link uploadStorage}. */
export interface UploadOptions {
  /** Element type. Default "f32". */
  type?: StorageType;
  /** Debug label. */
  label?: string;
  /** Pad the allocation to at least this many bytes. */
  minBytes?: number;
}

/**
 * Create a storage buffer holding `data` converted to `options.type`.
 *
 * @example
 * ```ts
 * // needs a WebGPU device: run where one is (tests/doc_examples_gpu_test.ts)
 * import { GpuContext } from "./device.ts";
 * import { uploadStorage } from "./buffers.ts";
 * const ctx = await GpuContext.create({ optionalFeatures: ["shader-f16"] });
 * const buf = uploadStorage(ctx.device, new Float64Array([1, 2, 3]), { type: "f16" });
 * ```
 */
export function uploadStorage(
  device: GPUDevice,
  data: ArrayLike<number>,
  options: UploadOptions = {},
): GPUBuffer {
  const bytes = packTyped(data, options.type ?? "f32", { label: options.label });
  const size = padded(Math.max(bytes.byteLength, options.minBytes ?? 0));
  const buffer = device.createBuffer({
    label: options.label,
    size,
    usage: STORAGE_USAGE,
    mappedAtCreation: true,
  });
  new Uint8Array(buffer.getMappedRange()).set(
    new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
  );
  buffer.unmap();
  return buffer;
}

/**
 * Create a zero-filled storage buffer of `bytes` bytes (at least 16). A size that is not an
 * integer >= 0 is a RangeError naming `label`.
 *
 * @example
 * ```ts
 * // needs a WebGPU device: run where one is (tests/doc_examples_gpu_test.ts)
 * import { GpuContext } from "./device.ts";
 * import { createStorage } from "./buffers.ts";
 * const ctx = await GpuContext.create();
 * const out = createStorage(ctx.device, 1024, "out");
 * ```
 */
export function createStorage(device: GPUDevice, bytes: number, label?: string): GPUBuffer {
  return device.createBuffer({
    label,
    size: checkedSize(bytes, label, device),
    usage: STORAGE_USAGE,
  });
}

/**
 * The 4-byte word that {@link createUnwrittenStorage} fills a buffer with: a quiet NaN read
 * as one f32 and as each of two f16s (0x7fc0), so that an element no kernel wrote reads back
 * as NaN, not as a finite 0, in either storage dtype.
 */
export const UNWRITTEN_WORD = 0x7fc07fc0;

/**
 * Create a storage buffer of `bytes` bytes (at least 16; not an integer >= 0: a RangeError
 * naming `label`) whose every 4-byte word is {@link UNWRITTEN_WORD}, NaN as f32 and as f16:
 * for an output a kernel must write in full.
 * A zero-filled output read back where the kernel never wrote looks like a finite 0, which
 * a check that compares only some rows cannot tell from a computed value; a NaN it can.
 *
 * @example
 * ```ts
 * // needs a WebGPU device: run where one is (tests/doc_examples_gpu_test.ts)
 * import { GpuContext } from "./device.ts";
 * import { createUnwrittenStorage } from "./buffers.ts";
 * const ctx = await GpuContext.create();
 * const out = createUnwrittenStorage(ctx.device, 1024, "out"); // NaN until a kernel writes it
 * ```
 */
export function createUnwrittenStorage(
  device: GPUDevice,
  bytes: number,
  label?: string,
): GPUBuffer {
  const buffer = device.createBuffer({
    label,
    size: checkedSize(bytes, label, device),
    usage: STORAGE_USAGE,
    mappedAtCreation: true,
  });
  new Uint32Array(buffer.getMappedRange()).fill(UNWRITTEN_WORD);
  buffer.unmap();
  return buffer;
}

/**
 * Create a uniform buffer from raw words (each 4 bytes; pass an ArrayBuffer
 * built with a DataView for mixed u32/f32 structs).
 *
 * @example
 * ```ts
 * // needs a WebGPU device: run where one is (tests/doc_examples_gpu_test.ts)
 * import { GpuContext } from "./device.ts";
 * import { createUniform } from "./buffers.ts";
 * const ctx = await GpuContext.create();
 * const u = createUniform(ctx.device, new Uint32Array([1, 2, 3, 4]).buffer);
 * ```
 */
export function createUniform(device: GPUDevice, data: ArrayBuffer, label?: string): GPUBuffer {
  const size = Math.max(16, Math.ceil(data.byteLength / 16) * 16);
  const buffer = device.createBuffer({
    label,
    size,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    mappedAtCreation: true,
  });
  new Uint8Array(buffer.getMappedRange()).set(new Uint8Array(data));
  buffer.unmap();
  return buffer;
}

/**
 * A little builder for uniform structs of 4-byte fields (u32 / i32 / f32), in
 * declaration order.
 *
 * @example
 * ```ts
 * import { UniformWriter } from "./buffers.ts";
 * const u = new UniformWriter().u32(3).f32(0.5).finish();
 * u.byteLength; // 16 (padded)
 * ```
 */
export class UniformWriter {
  #words: { kind: "u32" | "i32" | "f32"; value: number }[] = [];
  /** Append a u32 field. */
  u32(value: number): this {
    this.#words.push({ kind: "u32", value });
    return this;
  }
  /** Append an i32 field. */
  i32(value: number): this {
    this.#words.push({ kind: "i32", value });
    return this;
  }
  /** Append an f32 field (infinities and NaN allowed). */
  f32(value: number): this {
    this.#words.push({ kind: "f32", value });
    return this;
  }
  /** The kinds of the fields appended so far, in order. */
  get fields(): readonly ("u32" | "i32" | "f32")[] {
    return this.#words.map((w) => w.kind);
  }
  /** The bytes, padded to a multiple of 16. */
  finish(): ArrayBuffer {
    const out = new ArrayBuffer(Math.max(16, Math.ceil(this.#words.length / 4) * 16));
    const view = new DataView(out);
    this.#words.forEach((w, i) => {
      if (w.kind === "u32") view.setUint32(i * 4, w.value, true);
      else if (w.kind === "i32") view.setInt32(i * 4, w.value, true);
      else view.setFloat32(i * 4, w.value, true);
    });
    return out;
  }
}

/**
 * Copy `bytes` bytes of a storage buffer back to the CPU as Float32.
 *
 * @example
 * ```ts
 * // needs a WebGPU device: run where one is (tests/doc_examples_gpu_test.ts)
 * import { GpuContext } from "./device.ts";
 * import { readbackF32, uploadStorage } from "./buffers.ts";
 * const ctx = await GpuContext.create();
 * const buf = uploadStorage(ctx.device, [1, 2]);
 * const back = await readbackF32(ctx.device, buf, 2); // Float32Array [1, 2]
 * ```
 */
export async function readbackF32(
  device: GPUDevice,
  buffer: GPUBuffer,
  count: number,
): Promise<Float32Array> {
  const bytes = await readbackBytes(device, buffer, count * 4);
  return new Float32Array(bytes.buffer, bytes.byteOffset, count);
}

/**
 * Copy the first `bytes` bytes of a buffer back to the CPU. A buffer smaller than `bytes`
 * is a RangeError, and one WebGPU cannot copy from (destroyed, or without COPY_SRC) an Error,
 * each naming its label: WebGPU refused the copy with an error nobody caught and the staging
 * buffer read back zeros, taken as the buffer's contents.
 *
 * @example
 * ```ts
 * // needs a WebGPU device: run where one is (tests/doc_examples_gpu_test.ts)
 * import { GpuContext } from "./device.ts";
 * import { readbackBytes, uploadStorage } from "./buffers.ts";
 * const ctx = await GpuContext.create();
 * const raw = await readbackBytes(ctx.device, uploadStorage(ctx.device, [1]), 4);
 * ```
 */
export async function readbackBytes(
  device: GPUDevice,
  buffer: GPUBuffer,
  bytes: number,
): Promise<Uint8Array> {
  const name = buffer.label ? `buffer "${buffer.label}"` : "an unlabelled buffer";
  if (!Number.isSafeInteger(bytes) || bytes < 0) {
    throw new RangeError(`reading back ${name}: ${bytes} bytes must be an integer >= 0`);
  }
  if (bytes > buffer.size) {
    throw new RangeError(
      `reading back ${name}: ${bytes} bytes asked, but it holds ${buffer.size}: ask for ` +
        "at most its size (a count of elements beyond it read back zeros)",
    );
  }
  const size = Math.min(buffer.size, Math.max(4, Math.ceil(bytes / 4) * 4));
  const staging = device.createBuffer({
    size,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  device.pushErrorScope("validation");
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(buffer, 0, staging, 0, size);
  device.queue.submit([enc.finish()]);
  const refused = await device.popErrorScope();
  if (refused !== null) {
    staging.destroy();
    throw new Error(
      `reading back ${name}: WebGPU refused the copy (${refused.message.trim()}); a ` +
        "destroyed buffer (destroy(), or released after its case or layer) cannot be read",
    );
  }
  await staging.mapAsync(GPUMapMode.READ);
  const out = new Uint8Array(staging.getMappedRange().slice(0, bytes));
  staging.unmap();
  staging.destroy();
  return out;
}
