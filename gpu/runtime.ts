/**
 * Which WebGPU implementation a run runs on. `deno` (the default): this process's own
 * WebGPU (wgpu, naga) through a {@link GpuContext}. Another runtime (`chromium`: Dawn,
 * Tint, in a headless page; browser/chromium_gpu.ts) is a {@link RemoteDevice}: it runs
 * the harness's own GPU code there and hands back the outputs; plans, inputs, the float64
 * reference, parity and reports stay here. (A remote device that can also benchmark is a
 * bench/remote.ts `RemoteBenchDevice`.)
 *
 * @module
 */
import type { TimingScope } from "../adapter/timing_scope.ts";
import type {
  AttentionInputs,
  DeviceCaps,
  GpuPlan,
  LayerWeights,
  MlaSpec,
  Tensor,
} from "../adapter/types.ts";
import type { GpuContext } from "./device.ts";
import type { ReplayMode } from "./timing.ts";

/** The runtimes `--runtime` accepts. */
export const RUNTIMES = ["deno", "chromium"] as const;

/** A runtime name. */
export type RuntimeName = typeof RUNTIMES[number];

/** What a remote run of a case returns. */
export interface RemoteRun {
  /** Output and LSE of the checked run, logical query order. */
  readonly outputs: { out: Float32Array; lse: Float32Array };
  /** Milliseconds of each timed repetition. */
  readonly samplesMs: readonly number[];
  /** Timed repetitions left out of the samples for failed GPU timestamps (absent: none). */
  readonly clockFaults?: number;
  /** Their clock. */
  readonly source: string;
  /** What they cover: the attention core, or every pass (kernels/measure.ts). */
  readonly scope: TimingScope;
  /** Scope "core": the passes outside the core in the checked run, ms (else null). */
  readonly outsideCoreMs: number | null;
}

/** Options of a remote run. */
export interface RemoteRunOptions {
  /** The spec the kernels run with. */
  spec: MlaSpec;
  /** Timed repetitions after the checked run. */
  repeats?: number;
  /** Untimed replays of an attention case for this long before the timed ones, ms. */
  warmupMs?: number;
  /** How an attention case's timed replays are spaced (kernels/replay.ts). */
  replay?: ReplayMode;
  /** A planted fault (by id) whose source mutation the remote side applies. */
  faultId?: string;
  /** Limits lower than the device's to launch by (a device profile's). */
  limits?: Readonly<Record<string, number>>;
  /** The case's id, which the remote side's messages (a page's console) are said with. */
  caseId?: string;
}

/** The browser facts a fingerprint records for a remote runtime. */
export interface RemoteIdentity {
  /** Runtime name, e.g. `chromium`. */
  readonly name: string;
  /** Its version line, e.g. "HeadlessChrome/156.0.8078.114". */
  readonly version: string;
  /** Its executable. */
  readonly path: string;
  /** The page's user agent. */
  readonly userAgent: string;
  /** Every adapter-info field it reports (Dawn: driver, backend, ...). */
  readonly adapterInfo: Readonly<Record<string, unknown>>;
}

/** A WebGPU device of another runtime, with a GpuContext's life cycle. */
export interface RemoteDevice {
  /** The runtime. */
  readonly runtime: Exclude<RuntimeName, "deno">;
  /** Its adapter's caps (what plans are resolved against). */
  readonly caps: DeviceCaps;
  /** Browser and adapter facts. */
  readonly identity: RemoteIdentity;
  /** Whether the device (or the browser) was lost. */
  readonly lost: boolean;
  /** Drop it (a hung case). */
  destroy(): void;
  /** A fresh one. */
  reacquire(): Promise<void>;
  /** End it for good. */
  close(): Promise<void>;
  /** runAttention there. */
  runAttention(
    plan: GpuPlan,
    o: RemoteRunOptions & { inputs: AttentionInputs },
  ): Promise<RemoteRun>;
  /** runLayer there. */
  runLayer(
    plan: GpuPlan,
    o: RemoteRunOptions & { weights: LayerWeights; hidden: Tensor },
  ): Promise<RemoteRun>;
}

/** The device a case runs on. */
export type RunDevice = GpuContext | RemoteDevice;

/**
 * Whether a run device is another runtime's.
 *
 * @example
 * ```ts ignore
 * if (isRemoteDevice(ctx)) await ctx.runAttention(plan, { spec, inputs });
 * ```
 */
export function isRemoteDevice(d: RunDevice): d is RemoteDevice {
  return "runtime" in d && typeof d.runtime === "string";
}

/**
 * The runtime name of a run device.
 *
 * @example
 * ```ts ignore
 * runtimeOf(ctx); // "deno"
 * ```
 */
export function runtimeOf(d: RunDevice): RuntimeName {
  return isRemoteDevice(d) ? d.runtime : "deno";
}

/** What a fingerprint records of another runtime's device ({@link remoteFingerprint}). */
export interface RemoteFingerprint {
  /** Its caps with every adapter-info field the browser reports (Dawn: driver, backend). */
  readonly adapter: DeviceCaps & { readonly info: Readonly<Record<string, unknown>> };
  /** The browser: name, version line, executable and user agent. */
  readonly browser: Pick<RemoteIdentity, "name" | "version" | "path" | "userAgent">;
}

/**
 * The adapter and browser a fingerprint records for a device of another runtime: one home
 * for a run's fingerprint (runner/run_matrix.ts) and a held device's key (drift/device_key.ts
 * `liveDeviceKey`), so a run's device key and `devices --json`'s are made of the same facts.
 *
 * @example
 * ```ts
 * import { remoteFingerprint } from "./runtime.ts";
 * const caps = {
 *   adapter: { vendor: "google", architecture: "", device: "0xc0de",
 *     description: "SwiftShader Device", isFallbackAdapter: false },
 *   features: [], limits: {},
 * };
 * const identity = { name: "chromium", version: "HeadlessChrome/156", path: "/usr/bin/chromium",
 *   userAgent: "Mozilla/5.0", adapterInfo: { driver: "SwiftShader" } };
 * remoteFingerprint(caps, identity).browser.name; // "chromium"
 * remoteFingerprint(caps, identity).adapter.info; // { driver: "SwiftShader" }
 * ```
 */
export function remoteFingerprint(caps: DeviceCaps, identity: RemoteIdentity): RemoteFingerprint {
  const { name, version, path, userAgent } = identity;
  return {
    adapter: { ...caps, info: identity.adapterInfo },
    browser: { name, version, path, userAgent },
  };
}
