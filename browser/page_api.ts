/**
 * What `globalThis.mlaHarness` in the page (browser/page_main.ts) returns to the
 * harness: plain JSON, typed on both sides.
 *
 * @module
 */
import type { DeviceCaps } from "../adapter/types.ts";
import type { TimingScope } from "../adapter/timing_scope.ts";
import type { Measured } from "../kernels/measure.ts";
import type { Ceilings } from "../bench/ceilings.ts";
import type { Saturation } from "../bench/saturation.ts";
import type { BackendFinding } from "../kernels/module_barriers.ts";

/** An error thrown in the page, by name and message. */
export interface PageError {
  /** Error class name, e.g. GpuScopeError. */
  readonly name: string;
  /** Its message. */
  readonly message: string;
}

/** The reply of `init()` / `reacquire()`. */
export type PageInitReply =
  | {
    readonly ok: true;
    /** The adapter's caps, as GpuContext measured them in the page. */
    readonly caps: DeviceCaps;
    /** Every GPUAdapterInfo field (Dawn: vendor, architecture, driver, backend, ...). */
    readonly info: Record<string, unknown>;
    /** The page's navigator.userAgent. */
    readonly userAgent: string;
  }
  | { readonly ok: false; readonly error: PageError };

/**
 * A GPU error the page's device raised outside every error scope ("uncapturederror": a pass
 * a user backend's launch() left floating), handed back with the next case's reply.
 */
export interface PageLateGpuError {
  /** WebGPU's message. */
  readonly message: string;
  /** Set when it arrived before the case of the reply started (after the one before). */
  readonly beforeCase: boolean;
}

/** The reply of `runCase()`: the outputs went to the server. */
export type PageCaseReply =
  & (
    | {
      readonly ok: true;
      /** Milliseconds of each timed repetition (after the checked run). */
      readonly samplesMs: readonly number[];
      /** Timed repetitions left out of the samples for failed GPU timestamps (absent: none). */
      readonly clockFaults?: number;
      /** Their clock: `timestamp-query` or `wall-clock`. */
      readonly source: string;
      /** What the samples cover (adapter `timingScopeOf`; a layer: "all"). */
      readonly scope: TimingScope;
      /** Scope "core": the passes outside the core in the checked run, ms (else null). */
      readonly outsideCoreMs: number | null;
      /**
       * What the static barrier check found in the sources user backends compiled in the page
       * so far (kernels/module_barriers.ts `compiledBarrierFindings`).
       */
      readonly barrierFindings: readonly BackendFinding[];
    }
    | { readonly ok: false; readonly error: PageError; readonly lost: boolean }
  )
  & {
    /**
     * The page's GPU errors outside every error scope since the reply before (absent in a page
     * bundled before they were sent, and when none).
     */
    readonly lateGpuErrors?: readonly PageLateGpuError[];
  };

/** The reply of `settle()`: the GPU errors outside every scope once the submitted work landed. */
export type PageSettleReply = PageReply<{ readonly lateGpuErrors: readonly PageLateGpuError[] }>;

/** The reply of `compile()`: one result per source, in order. */
export type PageCompileReply =
  | {
    readonly ok: true;
    /** Whether each compiled, and its diagnostics (file:line:col, source line, caret). */
    readonly results: readonly { readonly ok: boolean; readonly message: string }[];
  }
  | { readonly ok: false; readonly error: PageError; readonly lost: boolean };

/** A failed page call: the page's error, and whether its device was lost. */
export interface PageFailure {
  /** Not ok. */
  readonly ok: false;
  /** The error raised in the page. */
  readonly error: PageError;
  /** Whether the device (or the page) was lost. */
  readonly lost: boolean;
}

/** The reply of a page call: its result fields when ok, else a {@link PageFailure}. */
export type PageReply<T> = ({ readonly ok: true } & T) | PageFailure;

/** The reply of `runCase()` for a bench request: the measurement (no outputs posted). */
export type PageBenchReply = PageReply<{
  readonly measured: Measured;
  /** As {@link PageCaseReply}'s: the barrier check's findings in what the page compiled. */
  readonly barrierFindings: readonly BackendFinding[];
}>;

/** The reply of `ceilings()`. */
export type PageCeilingsReply = PageReply<{ readonly ceilings: Ceilings }>;

/** The reply of `saturation()`. */
export type PageSaturationReply = PageReply<{ readonly saturation: Saturation }>;

/** The reply of `loadBackend()`: the registered backend's id. */
export type PageLoadBackendReply = PageReply<{ readonly id: string }>;
