/**
 * The bytes that carry one attention case between the harness (Deno) and the page, over
 * the loopback HTTP server (browser/server.ts): a case request (plan, spec and options
 * as JSON, then the float64 inputs, bit for bit) and the outputs (float32, bit for bit).
 * Pure and browser-safe: both sides import it.
 *
 * Layout of a request: `u32 headerBytes` (little-endian), the UTF-8 JSON header, zero
 * padding to a multiple of 8, then the five inputs as float64 in
 * {@link INPUT_ORDER}, their lengths in the header.
 *
 * @module
 */
import type { AttentionInputs, GpuPlan, MlaSpec } from "../adapter/types.ts";

/** The order of the inputs in a request. */
export const INPUT_ORDER = ["qNope", "qPe", "latent", "kPe", "wKvB"] as const;

/** The JSON part of a case request. */
export interface CaseRequestHeader {
  /** The plan (resolved in Deno against the page's adapter caps). */
  readonly plan: GpuPlan;
  /** The spec the kernel runs with. */
  readonly spec: MlaSpec;
  /** Timed repetitions after the checked run. */
  readonly repeats: number;
  /** A planted fault's id whose source mutation the page applies (parity/faults.ts). */
  readonly faultId?: string;
  /** Element counts of the inputs, in {@link INPUT_ORDER}. */
  readonly lengths: readonly number[];
}

/**
 * Encode a case request.
 *
 * @example
 * ```ts ignore
 * import { encodeCaseRequest } from "./wire.ts";
 * const bytes = encodeCaseRequest({ plan, spec, repeats: 0 }, inputs);
 * ```
 */
export function encodeCaseRequest(
  header: Omit<CaseRequestHeader, "lengths">,
  inputs: AttentionInputs,
): Uint8Array<ArrayBuffer> {
  const lengths = INPUT_ORDER.map((k) => inputs[k].length);
  const json = new TextEncoder().encode(JSON.stringify({ ...header, lengths }));
  const start = Math.ceil((4 + json.length) / 8) * 8;
  const total = start + lengths.reduce((a, b) => a + b, 0) * 8;
  const bytes = new Uint8Array(total);
  new DataView(bytes.buffer).setUint32(0, json.length, true);
  bytes.set(json, 4);
  const f64 = new Float64Array(bytes.buffer, start);
  let at = 0;
  for (const k of INPUT_ORDER) {
    f64.set(inputs[k], at);
    at += inputs[k].length;
  }
  return bytes;
}

/**
 * Decode a case request (an error names what is wrong with the bytes).
 *
 * @example
 * ```ts ignore
 * import { decodeCaseRequest } from "./wire.ts";
 * const { header, inputs } = decodeCaseRequest(await (await fetch(url)).arrayBuffer());
 * ```
 */
export function decodeCaseRequest(
  buffer: ArrayBuffer,
): { header: CaseRequestHeader; inputs: AttentionInputs } {
  if (buffer.byteLength < 4) throw new Error(`case request of ${buffer.byteLength} bytes`);
  const jsonBytes = new DataView(buffer).getUint32(0, true);
  if (4 + jsonBytes > buffer.byteLength) {
    throw new Error(`case request header of ${jsonBytes} bytes overruns ${buffer.byteLength}`);
  }
  const header = JSON.parse(
    new TextDecoder().decode(new Uint8Array(buffer, 4, jsonBytes)),
  ) as CaseRequestHeader;
  const start = Math.ceil((4 + jsonBytes) / 8) * 8;
  const total = header.lengths.reduce((a, b) => a + b, 0);
  if (start + total * 8 !== buffer.byteLength) {
    throw new Error(
      `case request: ${buffer.byteLength} bytes, header says ${start + total * 8}`,
    );
  }
  const parts: Float64Array[] = [];
  let at = start;
  for (const n of header.lengths) {
    parts.push(new Float64Array(buffer, at, n));
    at += n * 8;
  }
  const [qNope, qPe, latent, kPe, wKvB] = parts;
  return { header, inputs: { qNope, qPe, latent, kPe, wKvB } };
}

/**
 * Outputs as bytes: `u32 outLength`, `u32 lseLength`, then out and lse as float32.
 *
 * @example
 * ```ts
 * import { decodeOutputs, encodeOutputs } from "./wire.ts";
 * const b = encodeOutputs({ out: new Float32Array([1, 2]), lse: new Float32Array([-Infinity]) });
 * decodeOutputs(b.buffer).lse[0]; // -Infinity
 * ```
 */
export function encodeOutputs(
  outputs: { out: ArrayLike<number>; lse: ArrayLike<number> },
): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(8 + 4 * (outputs.out.length + outputs.lse.length));
  const dv = new DataView(bytes.buffer);
  dv.setUint32(0, outputs.out.length, true);
  dv.setUint32(4, outputs.lse.length, true);
  const f32 = new Float32Array(bytes.buffer, 8);
  f32.set(outputs.out, 0);
  f32.set(outputs.lse, outputs.out.length);
  return bytes;
}

/**
 * Decode {@link encodeOutputs}'s bytes (copies: the result owns its memory).
 *
 * @example
 * ```ts
 * import { decodeOutputs, encodeOutputs } from "./wire.ts";
 * decodeOutputs(encodeOutputs({ out: [1], lse: [0] }).buffer).out[0]; // 1
 * ```
 */
export function decodeOutputs(buffer: ArrayBuffer): { out: Float32Array; lse: Float32Array } {
  if (buffer.byteLength < 8) throw new Error(`outputs of ${buffer.byteLength} bytes`);
  const dv = new DataView(buffer);
  const n = dv.getUint32(0, true);
  const m = dv.getUint32(4, true);
  if (8 + 4 * (n + m) !== buffer.byteLength) {
    throw new Error(`outputs: ${buffer.byteLength} bytes, lengths say ${8 + 4 * (n + m)}`);
  }
  return {
    out: new Float32Array(buffer.slice(8, 8 + 4 * n)),
    lse: new Float32Array(buffer.slice(8 + 4 * n)),
  };
}
