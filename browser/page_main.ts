/**
 * The code that runs inside the Chromium page: the harness's own gpu/ and kernels/
 * (GpuContext, runAttention and the bundled launchers), bundled by browser/bundle.ts.
 * The bundle carries the WGSL text (`globalThis.__mlaWgsl`, prepended by the bundler), so
 * nothing here reads a file; the adapter is Chromium's (Dawn, Tint).
 *
 * It exposes `globalThis.mlaHarness`, which the harness calls with Runtime.evaluate:
 * - `init()`: acquire the device; returns the caps and the adapter info;
 * - `runCase(caseUrl, resultUrl)`: fetch a case request (browser/wire.ts) from the
 *   loopback server, run it (kernels/measure.ts timeAttentionCase: the checked run, then
 *   replays of the passes in the plan's timing scope, as `run` in Deno; runLayer, run
 *   again per repetition, for a layer case), POST the outputs back, return the timings
 *   (or the error, by name and message);
 * - `compile(sources)`: compile specialized WGSL sources with Tint (shader modules only),
 *   each one's diagnostics mapped to file:line:col like under Deno;
 * - `bench(caseUrl)`: the benchmark's measurement of a case (kernels/measure.ts), and
 *   `ceilings(options)`: the device ceilings (bench/ceilings.ts);
 * - `reacquire()`: a fresh device after a loss;
 * - `settle()`: wait for the submitted work, and hand back the GPU errors the device raised
 *   outside every error scope since the last reply (each case's reply carries them too).
 *
 * What stays in Deno: inputs, plans, the float64 reference, parity and reports.
 *
 * @module
 */
import { GpuContext, HARNESS_FEATURES, setGpuEnvironment } from "../gpu/device.ts";
import { bundledTextSource, setTextSource } from "../gpu/text_source.ts";
import type { LayerWeights } from "../adapter/types.ts";
import { runLayer } from "../kernels/layer.ts";
import type { SourceMutation } from "../kernels/source.ts";
import { ALL_FAULTS } from "../parity/faults.ts";
import { LAYER_FAULTS } from "../kernels/layer_faults.ts";
import { ShaderCompileError } from "../gpu/errors.ts";
import { compileShader } from "../gpu/shader.ts";
import { attentionInputsOf, decodeCaseRequest, encodeOutputs } from "./wire.ts";
import type {
  PageBenchReply,
  PageCaseReply,
  PageCeilingsReply,
  PageCompileReply,
  PageInitReply,
  PageLateGpuError,
  PageLoadBackendReply,
  PageSaturationReply,
  PageSettleReply,
} from "./page_api.ts";
import { measureAttention, timeAttentionCase } from "../kernels/measure.ts";
import { type CeilingsOptions, measureCeilings } from "../bench/ceilings.ts";
import { measureSaturation } from "../bench/saturation.ts";
import { registerBackendModule, validateBackendModule } from "../kernels/backend_module.ts";
import { compiledBarrierFindings } from "../kernels/module_barriers.ts";
import { backendById } from "../adapter/registry.ts";

const texts = (globalThis as { __mlaWgsl?: Record<string, string> }).__mlaWgsl ?? {};
setTextSource(bundledTextSource(texts));
setGpuEnvironment({ prepareAdapter: () => "backend: Chromium's WebGPU (Dawn)" });

let ctx: GpuContext | null = null;

// GPU errors outside every error scope on the page's device ("uncapturederror": a pass a
// launch() left floating), which nothing listened to: handed back with the next reply.
let lateErrors: string[] = [];
const takeLate = (): string[] => {
  const taken = lateErrors;
  lateErrors = [];
  return taken;
};
const asLate = (messages: readonly string[], beforeCase: boolean): PageLateGpuError[] =>
  messages.map((message) => ({ message, beforeCase }));

/** The adapter info as plain data (every enumerable getter of GPUAdapterInfo). */
function adapterInfo(adapter: GPUAdapter): Record<string, unknown> {
  const info = adapter.info as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(Object.getOwnPropertyDescriptors(Object.getPrototypeOf(info)))) {
    const v = info[k];
    if (["string", "number", "boolean"].includes(typeof v)) out[k] = v;
  }
  return out;
}

function errorOf(e: unknown): { name: string; message: string } {
  return e instanceof Error
    ? { name: e.name, message: e.message }
    : { name: "Error", message: String(e) };
}

async function init(): Promise<PageInitReply> {
  try {
    ctx?.destroy();
    ctx = await GpuContext.create({ optionalFeatures: HARNESS_FEATURES });
    const device = ctx.device;
    device.addEventListener("uncapturederror", (e) => {
      // only the current device's (a destroyed one's errors are the loss's)
      if (ctx?.device === device) {
        lateErrors.push((e as GPUUncapturedErrorEvent).error.message);
      }
    });
    return {
      ok: true,
      caps: ctx.caps,
      info: adapterInfo(ctx.adapter),
      userAgent: navigator.userAgent,
    };
  } catch (e) {
    return { ok: false, error: errorOf(e) };
  }
}

async function runCase(caseUrl: string, resultUrl: string): Promise<PageCaseReply> {
  // the errors that landed after the reply before, before this case started
  const before = asLate(takeLate(), true);
  const reply = await runCaseIn(caseUrl, resultUrl);
  const late = [...before, ...asLate(takeLate(), false)];
  return late.length > 0 ? { ...reply, lateGpuErrors: late } : reply;
}

/** The GPU errors outside every scope once what the cases submitted has landed. */
async function settle(): Promise<PageSettleReply> {
  try {
    if (ctx && !ctx.lost) await ctx.device.queue.onSubmittedWorkDone();
    // after the last case started: its own
    return { ok: true, lateGpuErrors: asLate(takeLate(), false) };
  } catch (e) {
    return { ok: false, error: errorOf(e), lost: ctx?.lost ?? false };
  }
}

async function runCaseIn(caseUrl: string, resultUrl: string): Promise<PageCaseReply> {
  try {
    if (!ctx) throw new Error("the page's device was not initialised (init() first)");
    const res = await fetch(caseUrl);
    if (!res.ok) throw new Error(`GET ${caseUrl}: HTTP ${res.status}`);
    const { header, tensors } = decodeCaseRequest(await res.arrayBuffer());
    let mutate: SourceMutation | undefined;
    if (header.faultId !== undefined) {
      // A planted source fault of the attention kernels, or of the layer's (`layer
      // --plant-fault`): both are source mutations, applied here by id.
      const fault = ALL_FAULTS.find((f) => f.id === header.faultId);
      const layerFault = LAYER_FAULTS.find((f) => f.id === header.faultId);
      if (fault?.apply.kind === "source") mutate = fault.apply.mutate;
      else if (layerFault) mutate = layerFault.mutate;
      else if (!fault) throw new Error(`unknown fault ${header.faultId}`);
    }
    const { plan, spec } = header;
    const device = ctx;
    const post = async (outputs: { out: Float32Array; lse: Float32Array }) => {
      const r = await fetch(resultUrl, { method: "POST", body: encodeOutputs(outputs) });
      if (!r.ok) throw new Error(`POST ${resultUrl}: HTTP ${r.status}`);
    };
    if (header.kind !== "layer") {
      // The same timing as `run` in Deno (kernels/measure.ts).
      const t = await timeAttentionCase(device, plan, {
        spec,
        inputs: attentionInputsOf(tensors),
        repeats: header.repeats,
        warmupMs: header.warmupMs,
        replay: header.replay,
        mutate,
        limits: header.limits,
      });
      await post({
        out: t.outputs.out as Float32Array,
        lse: t.outputs.lse as Float32Array,
      });
      return {
        ok: true,
        samplesMs: t.samplesMs,
        ...(t.clockFaults ? { clockFaults: t.clockFaults } : {}),
        source: t.source,
        scope: t.scope,
        outsideCoreMs: t.outsideCoreMs,
        barrierFindings: compiledBarrierFindings(),
      };
    }
    const { hidden, ...weights } = tensors;
    // runLayer times by the wall clock.
    const run = async () => {
      const r = await runLayer(device, {
        spec,
        plan,
        weights: weights as unknown as LayerWeights,
        hidden,
        mutate,
      });
      return { out: r.out, lse: r.lse, ms: r.timing.totalMs };
    };
    const first = await run();
    const samplesMs: number[] = [];
    for (let i = 0; i < header.repeats; i++) samplesMs.push((await run()).ms);
    await post(first);
    return {
      ok: true,
      samplesMs,
      source: "wall-clock",
      scope: "all",
      outsideCoreMs: null,
      barrierFindings: compiledBarrierFindings(),
    };
  } catch (e) {
    return { ok: false, error: errorOf(e), lost: ctx?.lost ?? false };
  }
}

async function compile(
  sources: readonly { fileName: string; code: string }[],
): Promise<PageCompileReply> {
  try {
    if (!ctx) throw new Error("the page's device was not initialised (init() first)");
    const results: { ok: boolean; message: string }[] = [];
    for (const source of sources) {
      try {
        await compileShader(ctx.device, source);
        results.push({ ok: true, message: "ok" });
      } catch (e) {
        if (!(e instanceof ShaderCompileError)) throw e;
        results.push({ ok: false, message: e.message });
      }
    }
    return { ok: true, results };
  } catch (e) {
    return { ok: false, error: errorOf(e), lost: ctx?.lost ?? false };
  }
}

async function bench(caseUrl: string): Promise<PageBenchReply> {
  try {
    if (!ctx) throw new Error("the page's device was not initialised (init() first)");
    const res = await fetch(caseUrl);
    if (!res.ok) throw new Error(`GET ${caseUrl}: HTTP ${res.status}`);
    const { header, tensors } = decodeCaseRequest(await res.arrayBuffer());
    if (!header.measure) throw new Error("a bench request needs its measure options");
    // The outputs stay here: a benchmark does not check them.
    const { outputs: _outputs, ...measured } = await measureAttention(ctx, header.plan, {
      spec: header.spec,
      inputs: attentionInputsOf(tensors),
      ...header.measure,
    });
    return { ok: true, measured, barrierFindings: compiledBarrierFindings() };
  } catch (e) {
    return { ok: false, error: errorOf(e), lost: ctx?.lost ?? false };
  }
}

async function ceilings(options: CeilingsOptions): Promise<PageCeilingsReply> {
  try {
    if (!ctx) throw new Error("the page's device was not initialised (init() first)");
    return { ok: true, ceilings: await measureCeilings(ctx, options) };
  } catch (e) {
    return { ok: false, error: errorOf(e), lost: ctx?.lost ?? false };
  }
}

async function saturation(options: { reps?: number }): Promise<PageSaturationReply> {
  try {
    if (!ctx) throw new Error("the page's device was not initialised (init() first)");
    return { ok: true, saturation: await measureSaturation(ctx, options) };
  } catch (e) {
    return { ok: false, error: errorOf(e), lost: ctx?.lost ?? false };
  }
}

/**
 * Import a user backend module the server serves (bundled from `--backend-module`), check
 * it against the contract and register it, as the Deno process did.
 */
async function loadBackend(url: string, module?: string): Promise<PageLoadBackendReply> {
  try {
    const ns = await import(url) as Record<string, unknown>;
    const m = validateBackendModule(ns, module ?? url);
    // registered under the module as the user named it, which a launch's error names (it
    // named none here: "backend x: launch() threw", where Deno's says "(module x.ts)")
    if (!backendById(m.id)) registerBackendModule(m, module);
    return { ok: true, id: m.id };
  } catch (e) {
    return { ok: false, error: errorOf(e), lost: ctx?.lost ?? false };
  }
}

async function reacquire(): Promise<PageInitReply> {
  return await init();
}

(globalThis as { mlaHarness?: unknown }).mlaHarness = {
  init,
  runCase,
  compile,
  bench,
  ceilings,
  saturation,
  loadBackend,
  reacquire,
  settle,
};
