/**
 * `runAttention`: runs one GPU {@link GpuPlan} through its backend's launcher. The
 * harness side of the backend contract (docs/backends.md): it uploads the standard
 * buffers, applies RoPE to q_pe and to the cache's k_pe columns, hands the buffers
 * to the launcher registered for `plan.backend`, submits, and returns the outputs
 * in logical query order and the timing.
 *
 * @module
 */
import { backendModuleOf, isBundledBackend } from "../adapter/registry.ts";
import type { AttentionInputs, AttentionOutputs, GpuPlan, MlaSpec } from "../adapter/types.ts";
import { createUnwrittenStorage, readbackF32, UniformWriter } from "../gpu/buffers.ts";
import type { GpuContext } from "../gpu/device.ts";
import { encodeDispatch, LINEAR_WORKGROUP } from "../gpu/dispatch.ts";
import { GpuScopeError } from "../gpu/errors.ts";
import { withErrorScopes } from "../gpu/scopes.ts";
import { PipelineCache } from "../gpu/shader.ts";
import { MAX_TIMED_PASSES, PassTimer, type Timing } from "../gpu/timing.ts";
import "./bundled_modules.ts";
import {
  type AttentionBuffers,
  holdsElements,
  launcherOf,
  LaunchKit,
  type OwnedResource,
  pipelineOrigin,
  type ProfileLimits,
  type RecordedPass,
} from "./launch.ts";
import type { SourceMutation } from "./source.ts";
import { packRows, queryMeta, rowCosSin } from "./tables.ts";

/** Options of {@link runAttention}. */
export interface RunAttentionOptions {
  /** The layer spec (RoPE tables, shapes). */
  spec: MlaSpec;
  /** Attention-core inputs (buffer rows, RoPE not applied). */
  inputs: AttentionInputs;
  /** Rewrite a kernel source before compilation (fault injection; bundled kernels only). */
  mutate?: SourceMutation;
  /** Collect per-pass timing (timestamp-query when available). Default true. */
  timing?: boolean;
  /**
   * Limits lower than the device's to bind and group by: those of the caps the plan was
   * resolved against, when a device profile lowered them (kernels/launch.ts launchLimits).
   */
  limits?: ProfileLimits;
  /**
   * The device profile `limits` are from (its name in the matrix): the kit's refusals of what
   * its GPU would refuse name it.
   */
  profile?: string;
  /**
   * Called after the first submission, while the case's buffers and pipelines are
   * alive, with the recorded passes (benchmarks replay them: kernels/replay.ts).
   */
  session?: (session: AttentionSession) => Promise<void>;
}

/** What {@link RunAttentionOptions.session} receives. */
export interface AttentionSession {
  /** The device. */
  readonly device: GPUDevice;
  /** Every pass of the case in order (RoPE first, then the launcher's). */
  readonly passes: readonly RecordedPass[];
}

/** The result of {@link runAttention}. */
export interface RunAttentionResult {
  /** Output [totalQ, h, v] and LSE [totalQ, h] (Float32Array, logical query order). */
  outputs: AttentionOutputs;
  /** Timing of the submission, or null when not requested. */
  timing: Timing | null;
}

const caches = new WeakMap<GpuContext, PipelineCache>();

/**
 * The pipeline cache runAttention uses for a context (one per context; it empties
 * itself when the device is re-acquired).
 *
 * @example
 * ```ts
 * // needs a WebGPU device: run where one is (tests/doc_examples_gpu_test.ts)
 * import { GpuContext } from "../gpu/device.ts";
 * import { pipelineCacheOf } from "./attention.ts";
 * const ctx = await GpuContext.create();
 * pipelineCacheOf(ctx).size; // 0
 * ```
 */
export function pipelineCacheOf(ctx: GpuContext): PipelineCache {
  let c = caches.get(ctx);
  if (!c) {
    c = new PipelineCache(ctx);
    caches.set(ctx, c);
  }
  return c;
}

function checkInputs(spec: MlaSpec, plan: GpuPlan, inputs: AttentionInputs): void {
  const { qRows, kRows } = plan.layout;
  const a = plan.attention;
  const h = spec.numHeads;
  if (
    a.numHeads !== h || a.qkNopeHeadDim !== spec.qkNopeHeadDim ||
    a.qkRopeHeadDim !== spec.qkRopeHeadDim || a.kvLoraRank !== spec.kvLoraRank ||
    a.vChannels !== spec.vHeadDim
  ) {
    throw new RangeError(
      `plan widths (heads ${a.numHeads}, nope ${a.qkNopeHeadDim}, rope ${a.qkRopeHeadDim}, ` +
        `r ${a.kvLoraRank}, v ${a.vChannels}) do not match spec ${spec.name}`,
    );
  }
  const want: [keyof AttentionInputs, number][] = [
    ["qNope", qRows * h * spec.qkNopeHeadDim],
    ["qPe", qRows * h * spec.qkRopeHeadDim],
    ["latent", kRows * spec.kvLoraRank],
    ["kPe", kRows * spec.qkRopeHeadDim],
    ["wKvB", h * (spec.qkNopeHeadDim + spec.vHeadDim) * spec.kvLoraRank],
  ];
  for (const [name, n] of want) {
    if (typeof inputs[name]?.length !== "number") {
      throw new TypeError(`inputs.${name} is missing: it must hold ${n} numbers`);
    }
    if (inputs[name].length !== n) {
      throw new RangeError(`inputs.${name} has ${inputs[name].length} elements, expected ${n}`);
    }
  }
}

/**
 * Why `plan` is not a GPU plan, or null: resolve()'s answer "unsupported" (its reasons), or a
 * plan that runs on the CPU. runLayer given the unsupported answer failed with "Cannot read
 * properties of undefined (reading 'dtype')".
 *
 * @example
 * ```ts
 * import { notGpuPlan } from "./attention.ts";
 * notGpuPlan({ kind: "unsupported", backend: "b", reasons: [{ code: "c", message: "m" }] } as never);
 * // "the plan is resolve()'s answer unsupported (b): c: m"
 * ```
 */
export function notGpuPlan(plan: GpuPlan): string | null {
  const p = plan as unknown as {
    kind?: string;
    backend?: string;
    runsOn?: string;
    reasons?: { code: string; message: string }[];
  };
  if (p.kind === "unsupported") {
    const reasons = (p.reasons ?? []).map((r) => `${r.code}: ${r.message}`).join("; ");
    return `the plan is resolve()'s answer unsupported (${p.backend}): ${reasons}`;
  }
  if (p.runsOn !== "gpu") {
    return `plan of backend ${p.backend} runs on the ${p.runsOn}: it cannot run on the GPU`;
  }
  return null;
}

/**
 * The label of the error scope around a case's passes. For a user backend it names the
 * backend and its module as a launch() that throws does (kernels/backend_module.ts
 * `isUserLaunchError`): a bind group that does not match its WGSL, a buffer it destroyed,
 * failed as "runAttention mine: validation error", and `layer` printed that as an internal
 * error with the harness's stack.
 */
function scopeLabel(backend: string): string {
  if (isBundledBackend(backend)) return `runAttention ${backend}`;
  const module = backendModuleOf(backend);
  return `backend ${backend}${module === undefined ? "" : ` (module ${module})`}: what its ` +
    "launch() encoded was refused by WebGPU";
}

/** "backend <id> (module <m>): launch()", as a user launch's errors begin. */
function userLaunchOrigin(backend: string): string {
  const module = backendModuleOf(backend);
  return `backend ${backend}${module === undefined ? "" : ` (module ${module})`}: launch()`;
}

/**
 * What WebGPU says of a command recorded into an encoder that has ended (wgpu: "Encoding must
 * not have ended"; Dawn: "... already finished", "... has ended").
 */
const ENCODING_ENDED =
  /must not have ended|already (?:been )?(?:ended|finished)|has (?:already )?ended/i;

/** What a launch() that returned before it had recorded its commands is asked, and told. */
const NOT_AWAITED_HINT = "did launch() return before its commands were recorded? The harness " +
  "ends the encoder once launch() resolves: await every promise launch() starts (a helper " +
  "that encodes, kit.kernel) before it returns";

/**
 * A user backend's launch() that returned before its commands were recorded (a promise it
 * started and did not await: a helper that encodes, a kit.kernel compile) recorded them after
 * the harness ended the encoder: WebGPU's "Encoding must not have ended" named no cause (and,
 * when the late commands came after the case, it failed a later case). Such an error gets the
 * hint; any other is returned as it is.
 */
function withLateEncodingHint(e: unknown, backend: string): unknown {
  if (!(e instanceof GpuScopeError) || isBundledBackend(backend)) return e;
  if (!ENCODING_ENDED.test(e.message)) return e;
  const hint = ` (${NOT_AWAITED_HINT}; with several cases, the launch that did so may be an ` +
    "earlier case's)";
  Object.defineProperty(e, "message", {
    value: e.message + hint,
    configurable: true,
    writable: true,
  });
  return e;
}

/**
 * The first of `passes` whose commands WebGPU refuses when each is encoded alone (a pipeline,
 * its bind group and its dispatch, in an encoder that is finished and never submitted), or
 * null where each is accepted alone (a pass recorded after the encoder ended, an error of a
 * buffer write): WebGPU names a buffer label or a binding type, and checks a pass's usages
 * (a buffer bound read-only and read_write in one dispatch) only as the encoder finishes, so
 * its message named no pass, also for a pipeline the kit did not make.
 */
async function refusedPass(
  device: GPUDevice,
  passes: readonly RecordedPass[],
): Promise<RecordedPass | null> {
  for (const p of passes) {
    device.pushErrorScope("validation");
    try {
      const enc = device.createCommandEncoder({ label: `alone: ${p.name}` });
      encodeDispatch(enc, p.pipeline, { group: p.group, workgroups: p.workgroups, label: p.name });
      enc.finish();
    } catch {
      // the scope below says whether WebGPU refused it
    }
    if (await device.popErrorScope() !== null) return p;
  }
  return null;
}

/**
 * A GpuScopeError of a case, with the pass WebGPU refuses named ({@link refusedPass}): "...:
 * validation error: ... (in pass "mine": alias.wgsl entry point main, the first pass WebGPU
 * refuses encoded alone)". Any other error, or one no pass explains, is returned as it is.
 */
async function withRefusedPass(
  e: unknown,
  device: GPUDevice,
  passes: readonly RecordedPass[],
): Promise<unknown> {
  if (!(e instanceof GpuScopeError) || e.filter !== "validation") return e;
  let pass: RecordedPass | null = null;
  try {
    pass = await refusedPass(device, passes);
  } catch {
    return e; // a lost device: nothing to locate
  }
  if (pass === null) return e;
  Object.defineProperty(e, "message", {
    value: `${e.message} (in pass "${pass.name}": ${pipelineOrigin(pass.pipeline)}, the ` +
      "first pass WebGPU refuses encoded alone)",
    configurable: true,
    writable: true,
  });
  return e;
}

/**
 * Run a GPU plan's attention: the harness uploads the standard buffers and applies
 * RoPE (float64 cos/sin tables per row), then the launcher registered for
 * `plan.backend` encodes the attention (bundled: kernels/launch_absorbed.ts and
 * kernels/launch_expanded.ts). Outputs come back as Float32Array in logical query
 * order; a row that sees no key has output 0 and LSE -Infinity. Validation and
 * out-of-memory errors throw a GpuScopeError (for a user backend, its message begins
 * as a user launch error does, naming the backend and its module: what its launch()
 * encoded is what WebGPU refused); a CPU plan or a backend without a launcher throws a
 * TypeError.
 *
 * @example
 * ```ts
 * // needs a WebGPU device: run where one is (tests/doc_examples_gpu_test.ts)
 * import { presetSpec } from "../adapter/presets.ts";
 * import { isGpuPlan, resolve } from "../adapter/resolve.ts";
 * import { GpuContext } from "../gpu/device.ts";
 * import { makeAttentionInputs } from "../reference/inputs.ts";
 * import { runAttention } from "./attention.ts";
 * const ctx = await GpuContext.create({ optionalFeatures: ["shader-f16", "timestamp-query"] });
 * const spec = presetSpec("tiny");
 * const plan = resolve({ spec, dtype: "f32", backend: "wgsl-absorbed",
 *   layout: { kind: "bshd", batch: 1, seqQ: 1, seqK: 8, causal: true } }, ctx.caps);
 * if (isGpuPlan(plan)) {
 *   const inputs = makeAttentionInputs(spec, plan.layout, { seed: 1 });
 *   const { outputs, timing } = await runAttention(ctx, plan, { spec, inputs });
 * }
 * ```
 */
export async function runAttention(
  ctx: GpuContext,
  plan: GpuPlan,
  options: RunAttentionOptions,
): Promise<RunAttentionResult> {
  ctx.assertAlive();
  const notGpu = notGpuPlan(plan);
  if (notGpu !== null) throw new TypeError(notGpu);
  const launcher = launcherOf(plan.backend);
  if (!launcher) {
    throw new TypeError(
      `no launcher is registered for backend ${plan.backend} (load its module with ` +
        "--backend-module, or in a script with loadBackendModule or registerBackendModule; " +
        "registerBackend registers a support check only)",
    );
  }
  const { spec, inputs } = options;
  checkInputs(spec, plan, inputs);
  const dtype = plan.variant.dtype;
  if (dtype === "f16" && !ctx.hasFeature("shader-f16")) {
    throw new TypeError(
      "plan dtype f16 needs a device created with the shader-f16 feature (GpuContext.create " +
        "enables it where the adapter has it, unless optionalFeatures leaves it out); resolve " +
        "against this device's caps, or run dtype f32",
    );
  }
  const subgroups = plan.variant.subgroups === true;
  if (subgroups && !ctx.hasFeature("subgroups")) {
    throw new TypeError(
      "plan variant uses subgroups: it needs a device created with the subgroups feature " +
        "(GpuContext.create enables it where the adapter has it, unless optionalFeatures " +
        "leaves it out); resolve against this device's caps",
    );
  }
  const device = ctx.device;
  const layout = plan.layout;
  const h = spec.numHeads;
  const rope = spec.qkRopeHeadDim;
  const r = spec.kvLoraRank;
  const totalQ = layout.totalQ;
  const owned: OwnedResource[] = [];
  // Room for every pass: RoPE, the launcher's passes and per-group dispatches. A user
  // backend's launch encodes as many passes as its author chose (docs/backends.md): room for
  // the most one query set holds, or a launch of more than the bundled launchers' count threw
  // "PassTimer: more than 19 passes" as if the module were wrong.
  const maxPasses = isBundledBackend(plan.backend)
    ? 16 + 2 * layout.seqs.length + Math.ceil(layout.kRows / 1024)
    : MAX_TIMED_PASSES;
  const timer = options.timing === false ? null : new PassTimer(device, maxPasses);
  let recorded: readonly RecordedPass[] = [];
  try {
    return await withErrorScopes(device, scopeLabel(plan.backend), async () => {
      const enc = device.createCommandEncoder({ label: "runAttention" });
      const kit = new LaunchKit(device, enc, {
        dtype,
        path: plan.path,
        limits: options.limits,
        profile: options.profile,
        subgroups,
        unroll: plan.variant.unrolledLoops === true,
        cache: pipelineCacheOf(ctx),
        timer,
        owned,
        mutate: options.mutate,
        backend: plan.backend,
      });
      recorded = kit.passes;
      // out and lse start as NaN (not WebGPU's zeros): an element the launcher never wrote
      // reads back non-finite, so parity sees it even in a row the reference did not sample
      // (reference/sample_rows.ts withNonFiniteRows), where a 0 would pass unseen.
      const unwritten = (bytes: number, label: string) => {
        const b = holdsElements(createUnwrittenStorage(device, bytes, label), "f32");
        owned.push(b);
        return b;
      };
      // The standard buffers (docs/backends.md).
      const buffers: AttentionBuffers = {
        qNope: kit.upload(inputs.qNope, "q_nope"),
        qPe: kit.upload(inputs.qPe, "q_pe"),
        kvCache: kit.upload(
          packRows(layout.kRows, [[inputs.latent, r], [inputs.kPe, rope]]),
          "latent_cache",
        ),
        kRows: kit.upload(layout.kRowOf.length ? layout.kRowOf : [0], "k_rows", "u32"),
        qMeta: kit.upload(queryMeta(layout), "q_meta", "u32"),
        wKvB: kit.upload(inputs.wKvB, "w_kv_b"),
        out: unwritten(totalQ * h * spec.vHeadDim * 4, "out"),
        lse: unwritten(totalQ * h * 4, "lse"),
      };
      // RoPE, in place, on q_pe (per step) and on the cache's k_pe columns (construction).
      const ropeP = await kit.kernel("rope.wgsl", "rope_inplace", { WG: LINEAR_WORKGROUP });
      const half = rope / 2;
      // The RoPE the plan says (the adapter read it from the config): its digest covers it.
      const planRope = plan.attention.rope;
      const neox = planRope.pairing === "neox" ? 1 : 0;
      const ropePass = (name: string, data: GPUBuffer, rows: number, heads: number, o: {
        cos: ArrayLike<number>;
        stride: number;
        offset: number;
      }) =>
        kit.dispatch(
          name,
          ropeP,
          [
            kit.uniform(
              new UniformWriter().u32(rows).u32(heads).u32(o.stride).u32(o.offset).u32(half)
                .u32(neox),
            ),
            data,
            kit.upload(o.cos, `${name}_cos_sin`, "f32"),
          ],
          // rope_q per step, rope_k construction: adapter/pass_roles.ts
          kit.grid1d(rows * heads * half),
        );
      ropePass("rope_q", buffers.qPe, layout.qRows, h, {
        cos: rowCosSin(planRope, {
          rows: layout.qRows,
          rowOf: layout.qRowOf,
          positions: layout.qPositions,
        }),
        stride: rope,
        offset: 0,
      });
      ropePass("rope_k", buffers.kvCache, layout.kRows, 1, {
        cos: rowCosSin(planRope, {
          rows: layout.kRows,
          rowOf: layout.kRowOf,
          positions: layout.kPositions,
        }),
        stride: r + rope,
        offset: r,
      });
      const before = kit.passes.length;
      await launcher(plan, buffers, kit);
      // A launch() that resolved before it dispatched (a promise it did not await) left out
      // and lse unwritten: the case failed parity on NaN everywhere, naming no cause.
      if (kit.passes.length === before && !isBundledBackend(plan.backend)) {
        throw new Error(
          `${userLaunchOrigin(plan.backend)} encoded no pass (kit.dispatch was not called ` +
            `before it resolved): ${NOT_AWAITED_HINT}`,
        );
      }
      timer?.resolve(enc);
      const t0 = performance.now();
      device.queue.submit([enc.finish()]);
      const timing = timer ? await timer.finish(t0) : null;
      const out = await readbackF32(device, buffers.out, totalQ * h * spec.vHeadDim);
      const lse = await readbackF32(device, buffers.lse, totalQ * h);
      if (options.session) await options.session({ device, passes: kit.passes });
      return { outputs: { out, lse }, timing };
    });
  } catch (e) {
    throw withLateEncodingHint(await withRefusedPass(e, device, recorded), plan.backend);
  } finally {
    timer?.destroy();
    for (const b of owned) b.destroy();
  }
}
