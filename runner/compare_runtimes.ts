/**
 * One matrix in two WebGPU runtimes: Deno's (wgpu, naga) and Chromium's (Dawn, Tint).
 * Per case: each runtime against the float64 reference (the runner's own check, exactly as
 * `run`), and Deno against Chromium bit for bit: the largest ULP distance of the output and
 * of the LSE, and where. A case that runs (compiles) in one runtime and errors in the other
 * is a finding, with both messages. With one driver under both (`--same-driver`: Deno on
 * Chromium's SwiftShader) only the shader compilers differ.
 *
 * @module
 */
import type { CaseResult, LateGpuError } from "../results/types.ts";
import type { Case } from "../matrix/types.ts";
import type { MlaSpec } from "../adapter/types.ts";
import { type UlpDiff, ulpDiff } from "../parity/ulp.ts";
import { selectCases, type Selection } from "./run_matrix.ts";
import { NOT_COVERED_PREFIX, NOT_RUN_BY_PREFIX, runCase } from "./run_case.ts";
import { isDeviceReasonCode } from "../adapter/resolve.ts";
import { type RunDevice, runtimeOf } from "../gpu/runtime.ts";
import { raceTimeout, TIMED_OUT } from "../util/timeout.ts";
import { settleRunDevice, watchRunDevice } from "./late_gpu_errors.ts";

/**
 * A GPU error raised outside every case's error scope in one runtime (a pass a launch() left
 * floating, that landed once its case had ended): compare-runtimes.json's `lateGpuErrors`.
 */
export interface RuntimeLateGpuError extends LateGpuError {
  /** The runtime whose device raised it. */
  readonly runtime: "deno" | "chromium";
}

/** One runtime's outcome of a case. */
export interface RuntimeOutcome {
  /** The runner's status (pass: within tolerance of the float64 reference). */
  readonly status: CaseResult["status"];
  /** supported / unsupported / invalid / not-reached. */
  readonly decision: CaseResult["decision"];
  /** The runner's message (the error's, for an error). */
  readonly message: string;
  /** Worst |got - want| against the reference (output), when checked. */
  readonly maxAbs: number | null;
  /** Worst error over its allowance (output; above 1 fails), when checked. */
  readonly headroom: number | null;
  /**
   * The backend that ran the case, or was asked to (`--backend`, a matrix `backend` axis);
   * absent when none was decided (an error before the adapter chose).
   */
  readonly backend?: string;
  /**
   * Set when the device does not cover the case: refused only for what it lacks or limits
   * (shader-f16, subgroups, a loop budget), by the adapter or by `--backend` (absent
   * otherwise).
   */
  readonly notCovered?: true;
}

/**
 * Whether a result is a case its device does not cover: refused only for what the device
 * lacks or limits, by the adapter ("unsupported on this device: ...") or by a `--backend`
 * ("not run by --backend x: dtype.f16-unavailable: ...", each reason a device's), as `run`
 * tells such a refusal from others.
 *
 * @example
 * ```ts ignore
 * notCoveredBy(chromiumResultOfAnF16Case); // true on SwiftShader (no shader-f16)
 * ```
 */
function notCoveredBy(r: CaseResult): boolean {
  if (r.decision !== "unsupported") return false;
  if (r.message.startsWith(NOT_COVERED_PREFIX)) return true;
  const reasons = r.reasons ?? [];
  return r.message.startsWith(NOT_RUN_BY_PREFIX) && reasons.length > 0 &&
    reasons.every((x) => isDeviceReasonCode(x.code));
}

/** Deno against Chromium on one case's outputs. */
export interface BitsComparison {
  /** Output [totalQ, h, v]. */
  readonly out: UlpDiff;
  /** LSE [totalQ, h]. */
  readonly lse: UlpDiff;
}

/** One case in both runtimes. */
export interface CaseComparison {
  /** Case id. */
  readonly id: string;
  /** Deno's outcome. */
  readonly deno: RuntimeOutcome;
  /** Chromium's outcome. */
  readonly chromium: RuntimeOutcome;
  /** Both ran: their outputs compared; else null. */
  readonly bits: BitsComparison | null;
  /**
   * A finding: the case ran in one runtime and errored (e.g. did not compile) in the other,
   * or the two decided support differently; null when they agree.
   */
  readonly finding: string | null;
  /**
   * Set when a runtime lost its device (or Chromium its browser) or timed out in the case:
   * which, and why. Such an error is the machine's, not a compiler difference, so it is no
   * finding (absent when neither was lost).
   */
  readonly lost?: string;
  /**
   * The runtimes {@link lost} names (absent when neither): their error in the case is the
   * machine's, no failure against the reference.
   */
  readonly lostIn?: readonly ("deno" | "chromium")[];
  /**
   * A runtime whose device (or browser) was found lost before the case, from an earlier
   * case or killed meanwhile, and started again before the case ran: which, and when it was
   * lost (absent when neither). The case itself ran and was compared.
   */
  readonly restarted?: string;
}

/** Options of {@link compareRuntimes}. */
export interface CompareRuntimesOptions {
  /** Bundled matrix name or file. */
  matrix: string;
  /** Case filter. */
  filter?: string;
  /** Refuse more cases than this. */
  maxCases?: number;
  /** Config root of the matrix. */
  configRoot?: string;
  /**
   * The cases, already selected from matrix, filter, maxCases and configRoot with
   * {@link selectCases} (the CLI checks them before starting either runtime); selected
   * here when absent.
   */
  selection?: Selection;
  /** Reference rows per case at most. */
  maxRows?: number;
  /** Deno's device. */
  deno: RunDevice;
  /** Chromium's device. */
  chromium: RunDevice;
  /** Milliseconds a case may take in one runtime (0: no limit; default 600 s). */
  caseTimeoutMs?: number;
  /**
   * Run every case on this registered backend instead of the one the adapter chooses for
   * its path, in both runtimes (`compare-runtimes --backend`, as `run --backend`).
   */
  backend?: string;
  /** Called after each case. */
  onCase?: (c: CaseComparison, index: number, total: number) => void;
  /**
   * Called after each case with both runtimes' results as the runner gave them (the CLI
   * asks of them, as `run` of its results, whether `--backend` ran any case).
   */
  onResults?: (results: { deno: CaseResult; chromium: CaseResult }) => void;
  /**
   * Called with each GPU error a runtime's device raised outside every case's error scope
   * (WebGPU's "uncapturederror"; the Deno device's was lost without a word): no case's
   * outcome includes it.
   */
  onLateGpuError?: (late: RuntimeLateGpuError) => void;
  /** Stop after the current case when aborted. */
  signal?: AbortSignal;
  /**
   * Stop at once when aborted: the current case is abandoned (not returned), the cases
   * before it are (the CLI wires SIGTERM and a second Ctrl-C to it).
   */
  abandon?: AbortSignal;
}

function outcome(r: CaseResult): RuntimeOutcome {
  return {
    status: r.status,
    decision: r.decision,
    message: r.message,
    maxAbs: r.out?.maxAbs ?? null,
    headroom: r.out?.headroom ?? null,
    ...(r.backend !== undefined ? { backend: r.backend } : {}),
    ...(notCoveredBy(r) ? { notCovered: true as const } : {}),
  };
}

function errorResult(c: Case, message: string): CaseResult {
  return {
    id: c.id,
    status: "error",
    decision: "not-reached",
    expect: c.expect,
    params: c.params,
    message,
    wallMs: 0,
  };
}

/** What a case abandoned by {@link CompareRuntimesOptions.abandon} resolves to. */
const ABANDONED: unique symbol = Symbol("abandoned");

/** Run one case on one device, its outputs captured; a throw or a timeout is its error. */
async function runOn(
  c: Case,
  device: RunDevice,
  o: {
    baseDir: string;
    maxRows?: number;
    timeoutMs: number;
    specCache: Map<string, Promise<MlaSpec>>;
    abandoned: Promise<typeof ABANDONED>;
    backend?: string;
    /** The case before this one (null for the first). */
    previous: string | null;
  },
): Promise<
  typeof ABANDONED | {
    result: CaseResult;
    outputs: { out: Float32Array; lse: Float32Array } | null;
    /** Why the case's device was lost or dropped (a timeout), or null. */
    lost: string | null;
    /** The device was found lost before the case and started again first: why, or null. */
    restarted: string | null;
  }
> {
  let outputs: { out: Float32Array; lse: Float32Array } | null = null;
  const what = runtimeOf(device) === "chromium" ? "the browser or its device" : "the device";
  // a browser that died between cases (killed while the other runtime ran) is found lost
  // before this case starts: restarted first, the case runs (it was run on the dead browser,
  // and lost)
  let restarted: string | null = null;
  if (device.lost) {
    await device.reacquire();
    restarted = `${what} was lost ${
      o.previous === null ? "before the first case" : `after case ${o.previous}`
    }, found before this one, and started again before it ran`;
  }
  const run = runCase(c, {
    ctx: device,
    baseDir: o.baseDir,
    repeats: 0,
    maxRows: o.maxRows,
    specCache: o.specCache,
    backend: o.backend,
    outputs: (x) => outputs = x,
  }).catch((e) => errorResult(c, e instanceof Error ? `${e.name}: ${e.message}` : String(e)));
  const result = await raceTimeout<CaseResult | typeof ABANDONED>(
    [run, o.abandoned],
    o.timeoutMs,
  );
  if (result === ABANDONED) return ABANDONED;
  if (result === TIMED_OUT) {
    // a hung case: drop the device and start a fresh one for the next case
    device.destroy();
    await device.reacquire();
    const why = `timed out after ${o.timeoutMs / 1000} s in ${runtimeOf(device)}`;
    return { result: errorResult(c, why), outputs: null, lost: why, restarted };
  }
  if (device.lost) {
    await device.reacquire();
    return {
      result,
      outputs,
      lost: `${what} was lost during the case (${result.message})`,
      restarted,
    };
  }
  return { result, outputs, lost: null, restarted };
}

/** Why two outcomes disagree in a way that is a finding, or null. */
function findingOf(d: CaseResult, c: CaseResult): string | null {
  const ran = (r: CaseResult) => r.status !== "error" && r.decision === "supported";
  if (d.status === "error" && ran(c)) {
    return `runs in chromium, errors in deno: deno: ${d.message} | chromium: ${c.message}`;
  }
  if (c.status === "error" && ran(d)) {
    return `runs in deno, errors in chromium: chromium: ${c.message} | deno: ${d.message}`;
  }
  // A device without a feature (SwiftShader has no shader-f16) is a gap in coverage, as in
  // `run`: the case is not compared there, and that is no compiler finding. Also under
  // --backend, whose refusal of such a case was "support differs", exit 1.
  if (notCoveredBy(d) || notCoveredBy(c)) return null;
  if (d.decision !== c.decision && d.status !== "error" && c.status !== "error") {
    return `support differs: deno ${d.decision} (${d.message}) | chromium ${c.decision} ` +
      `(${c.message})`;
  }
  return null;
}

/**
 * A comparison that could not go on (a runtime's device could not be re-acquired after a
 * loss or a timeout): the cases compared so far, for the reports, and the error that ended
 * it (`cause`, which the CLI maps to its exit code).
 *
 * @example
 * ```ts ignore
 * try {
 *   await compareRuntimes(options);
 * } catch (e) {
 *   if (e instanceof ComparisonStopped) e.cases.length; // compared before it stopped
 * }
 * ```
 */
export class ComparisonStopped extends Error {
  /**
   * @param cases The cases compared before the stop (not the one it stopped in).
   * @param cause What ended the comparison.
   */
  constructor(readonly cases: readonly CaseComparison[], override readonly cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = "ComparisonStopped";
  }
}

/**
 * Run a matrix in both runtimes and compare (see the module doc). A device that cannot be
 * re-acquired ends it with {@link ComparisonStopped}, holding the cases compared so far. The
 * devices are the caller's (it ends them).
 *
 * @example
 * ```ts ignore
 * const cases = await compareRuntimes({ matrix: "smoke", deno: ctx, chromium: gpu });
 * cases.filter((c) => c.bits && c.bits.out.maxUlp > 0).length;
 * ```
 */
export async function compareRuntimes(options: CompareRuntimesOptions): Promise<CaseComparison[]> {
  const { mine, baseDir } = options.selection ?? await selectCases(options);
  const out: CaseComparison[] = [];
  const specCache = new Map<string, Promise<MlaSpec>>();
  const abandon = options.abandon;
  const o = {
    baseDir,
    maxRows: options.maxRows,
    timeoutMs: options.caseTimeoutMs ?? 600_000,
    specCache,
    abandoned: new Promise<typeof ABANDONED>((res) => {
      if (abandon?.aborted) res(ABANDONED);
      abandon?.addEventListener("abort", () => res(ABANDONED), { once: true });
    }),
    backend: options.backend,
    previous: null as string | null,
  };
  // A GPU error outside every case's error scope ("uncapturederror"): nothing listened, on
  // the Deno device or in the Chromium page, so it was lost. Each device it uses is watched
  // (a re-acquired one too): the Deno device here, the page's by the page, which hands each
  // error back with the next case's reply (beforeCase: it arrived before that case started).
  let lastCase: string | null = null;
  let previousCase: string | null = null;
  const watched = new WeakSet<object>();
  const unwatch: (() => void)[] = [];
  const watch = (runtime: "deno" | "chromium") => {
    const stop = watchRunDevice(
      options[runtime],
      watched,
      (message, beforeCase) =>
        options.onLateGpuError?.({
          runtime,
          afterCase: beforeCase ? previousCase : lastCase,
          message,
        }),
    );
    if (stop !== null) unwatch.push(stop);
  };
  try {
    return await compareCases(mine, out, o, options, (id) => {
      watch("deno");
      watch("chromium");
      if (id !== lastCase) [previousCase, lastCase] = [lastCase, id];
    });
  } finally {
    // what the cases submitted lands before the comparison ends: an error of a floating pass
    // is raised by then (not on a device lost, or that a stop abandoned mid-case)
    if (!abandon?.aborted && lastCase !== null) {
      await settleRunDevice(options.deno);
      await settleRunDevice(options.chromium);
    }
    for (const f of unwatch) f();
  }
}

/** The loop of {@link compareRuntimes}: `starting` is called before each case runs. */
async function compareCases(
  mine: readonly Case[],
  out: CaseComparison[],
  o: Parameters<typeof runOn>[2],
  options: CompareRuntimesOptions,
  starting: (id: string) => void,
): Promise<CaseComparison[]> {
  const abandon = options.abandon;
  for (const c of mine) {
    if (options.signal?.aborted || abandon?.aborted) break;
    starting(c.id);
    let d, k;
    try {
      d = await runOn(c, options.deno, o);
      if (d === ABANDONED) break;
      // a device the case re-acquired (found lost before it, or lost in it) is watched too
      starting(c.id);
      k = await runOn(c, options.chromium, o);
      if (k === ABANDONED) break;
    } catch (e) {
      // no device for the next case (its re-acquire failed): what was compared is kept
      throw new ComparisonStopped(out, e);
    }
    let bits: BitsComparison | null = null;
    if (d.outputs && k.outputs && d.outputs.out.length === k.outputs.out.length) {
      bits = {
        out: ulpDiff(d.outputs.out, k.outputs.out),
        lse: ulpDiff(d.outputs.lse, k.outputs.lse),
      };
    }
    // A lost device or a timeout is the machine's trouble: reported as such, never as a
    // difference between the two WebGPU implementations.
    const lost = [d.lost && `deno: ${d.lost}`, k.lost && `chromium: ${k.lost}`]
      .filter((x): x is string => typeof x === "string");
    const restarted = [
      d.restarted && `deno: ${d.restarted}`,
      k.restarted && `chromium: ${k.restarted}`,
    ]
      .filter((x): x is string => typeof x === "string");
    const cmp: CaseComparison = {
      id: c.id,
      deno: outcome(d.result),
      chromium: outcome(k.result),
      bits,
      finding: lost.length ? null : findingOf(d.result, k.result),
      ...(lost.length
        ? {
          lost: lost.join(" | "),
          lostIn: [...(d.lost ? ["deno" as const] : []), ...(k.lost ? ["chromium" as const] : [])],
        }
        : {}),
      ...(restarted.length ? { restarted: restarted.join(" | ") } : {}),
    };
    o.previous = c.id;
    out.push(cmp);
    options.onResults?.({ deno: d.result, chromium: k.result });
    options.onCase?.(cmp, out.length, mine.length);
  }
  return out;
}
