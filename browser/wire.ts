/**
 * The bytes that carry one attention case between the harness (Deno) and the page, over
 * the loopback HTTP server (browser/server.ts): a case request (plan, spec and options
 * as JSON, then the float64 inputs, bit for bit) and the outputs (float32, bit for bit).
 * Pure and browser-safe: both sides import it.
 *
 * Layout of a request: `u32 headerBytes` (little-endian), the UTF-8 JSON header, zero
 * padding to a multiple of 8, then the tensors as float64, named with their lengths in
 * the header.
 *
 * @module
 */
import type { TimingScope } from "../adapter/timing_scope.ts";
import type { AttentionInputs, GpuPlan, MlaSpec } from "../adapter/types.ts";
import type { ReplayMode } from "../kernels/replay.ts";

/**
 * What the page runs: the attention core (runAttention), the full layer (runLayer), or the
 * benchmark's measurement of the attention (kernels/measure.ts measureAttention).
 */
export type CaseKind = "attention" | "layer" | "bench";

/** The JSON part of a case request. */
export interface CaseRequestHeader {
  /** What to run. */
  readonly kind: CaseKind;
  /** The plan (resolved in Deno against the page's adapter caps). */
  readonly plan: GpuPlan;
  /** The spec the kernels run with. */
  readonly spec: MlaSpec;
  /** Timed repetitions after the checked run. */
  readonly repeats: number;
  /**
   * kind attention: untimed replays for this long before the timed ones, ms (`run
   * --warmup-ms`; absent: 0).
   */
  readonly warmupMs?: number;
  /** kind attention: how the timed replays are spaced (absent: kernels/replay.ts's default). */
  readonly replay?: ReplayMode;
  /** A planted fault's id whose source mutation the page applies (parity/faults.ts). */
  readonly faultId?: string;
  /** Limits lower than the device's the launchers bind and group by (a device profile's). */
  readonly limits?: Readonly<Record<string, number>>;
  /**
   * kind bench: which passes are replayed, how often, after how many untimed replays (and
   * how long untimed first), spaced how.
   */
  readonly measure?: {
    readonly scope: TimingScope;
    readonly reps: number;
    readonly warmup: number;
    readonly replay?: ReplayMode;
    readonly warmupMs?: number;
  };
  /**
   * The tensors that follow the header, in order, with their element counts: attention,
   * the {@link AttentionInputs}; layer, `hidden` and the LayerWeights present.
   */
  readonly tensors: readonly (readonly [string, number])[];
}

/**
 * Encode a case request (every tensor as float64: the values the reference sees).
 *
 * @example
 * ```ts
 * import { decodeCaseRequest, encodeCaseRequest } from "./wire.ts";
 * const b = encodeCaseRequest(
 *   { kind: "attention", plan: {} as never, spec: {} as never, repeats: 0 },
 *   { qNope: new Float64Array([0.1]) },
 * );
 * decodeCaseRequest(b.buffer).tensors.qNope[0]; // 0.1
 * ```
 */
export function encodeCaseRequest(
  header: Omit<CaseRequestHeader, "tensors">,
  tensors: Readonly<Record<string, ArrayLike<number> | undefined>>,
): Uint8Array<ArrayBuffer> {
  const present = Object.entries(tensors).filter((e): e is [string, ArrayLike<number>] =>
    e[1] !== undefined
  );
  const list = present.map(([k, v]) => [k, v.length] as const);
  const json = new TextEncoder().encode(JSON.stringify({ ...header, tensors: list }));
  // the tensors start 8-byte aligned, so the page views them as Float64Array in place
  const start = Math.ceil((4 + json.length) / 8) * 8;
  const total = start + list.reduce((a, [, n]) => a + n, 0) * 8;
  const bytes = new Uint8Array(total);
  new DataView(bytes.buffer).setUint32(0, json.length, true);
  bytes.set(json, 4);
  const f64 = new Float64Array(bytes.buffer, start);
  let at = 0;
  for (const [, v] of present) {
    f64.set(v, at);
    at += v.length;
  }
  return bytes;
}

/**
 * Decode a case request (an error names what is wrong with the bytes).
 *
 * @example
 * ```ts ignore
 * import { decodeCaseRequest } from "./wire.ts";
 * const { header, tensors } = decodeCaseRequest(await (await fetch(url)).arrayBuffer());
 * ```
 */
export function decodeCaseRequest(
  buffer: ArrayBuffer,
): { header: CaseRequestHeader; tensors: Record<string, Float64Array> } {
  if (buffer.byteLength < 4) throw new Error(`case request of ${buffer.byteLength} bytes`);
  const jsonBytes = new DataView(buffer).getUint32(0, true);
  if (4 + jsonBytes > buffer.byteLength) {
    throw new Error(`case request header of ${jsonBytes} bytes overruns ${buffer.byteLength}`);
  }
  const header = JSON.parse(
    new TextDecoder().decode(new Uint8Array(buffer, 4, jsonBytes)),
  ) as CaseRequestHeader;
  const start = Math.ceil((4 + jsonBytes) / 8) * 8;
  const total = header.tensors.reduce((a, [, n]) => a + n, 0);
  if (start + total * 8 !== buffer.byteLength) {
    throw new Error(`case request: ${buffer.byteLength} bytes, header says ${start + total * 8}`);
  }
  const tensors: Record<string, Float64Array> = {};
  let at = start;
  for (const [name, n] of header.tensors) {
    tensors[name] = new Float64Array(buffer, at, n);
    at += n * 8;
  }
  return { header, tensors };
}

/**
 * The attention inputs among decoded tensors (an error names a missing one).
 *
 * @example
 * ```ts ignore
 * const inputs = attentionInputsOf(decodeCaseRequest(buf).tensors);
 * ```
 */
export function attentionInputsOf(tensors: Record<string, Float64Array>): AttentionInputs {
  const get = (k: string) => {
    const t = tensors[k];
    if (!t) throw new Error(`case request lacks tensor ${k}`);
    return t;
  };
  return {
    qNope: get("qNope"),
    qPe: get("qPe"),
    latent: get("latent"),
    kPe: get("kPe"),
    wKvB: get("wKvB"),
  };
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
