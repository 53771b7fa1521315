/**
 * The code that runs inside the Chromium page: the harness's own gpu/ and kernels/
 * (GpuContext, runAttention and the bundled launchers), bundled by browser/bundle.ts.
 * The bundle carries the WGSL text (`globalThis.__mlaWgsl`, prepended by the bundler), so
 * nothing here reads a file; the adapter is Chromium's (Dawn, Tint).
 *
 * It exposes `globalThis.mlaHarness`, which the harness calls with Runtime.evaluate:
 * - `init()`: acquire the device; returns the caps and the adapter info;
 * - `runCase(caseUrl, resultUrl)`: fetch a case request (browser/wire.ts) from the
 *   loopback server, run it (the checked run, then the timed repetitions), POST the
 *   outputs back, return the timings (or the error, by name and message);
 * - `reacquire()`: a fresh device after a loss.
 *
 * What stays in Deno: inputs, plans, the float64 reference, parity and reports.
 *
 * @module
 */
import { GpuContext, setGpuEnvironment } from "../gpu/device.ts";
import { bundledTextSource, setTextSource } from "../gpu/text_source.ts";
import type { Timing } from "../gpu/timing.ts";
import { runAttention } from "../kernels/attention.ts";
import type { SourceMutation } from "../kernels/source.ts";
import { FAULTS } from "../parity/faults.ts";
import { decodeCaseRequest, encodeOutputs } from "./wire.ts";
import type { PageCaseReply, PageInitReply } from "./page_api.ts";

const texts = (globalThis as { __mlaWgsl?: Record<string, string> }).__mlaWgsl ?? {};
setTextSource(bundledTextSource(texts));
setGpuEnvironment({ prepareAdapter: () => "backend: Chromium's WebGPU (Dawn)" });

let ctx: GpuContext | null = null;

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
    ctx = await GpuContext.create({ optionalFeatures: ["shader-f16", "timestamp-query"] });
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
  try {
    if (!ctx) throw new Error("the page's device was not initialised (init() first)");
    const res = await fetch(caseUrl);
    if (!res.ok) throw new Error(`GET ${caseUrl}: HTTP ${res.status}`);
    const { header, inputs } = decodeCaseRequest(await res.arrayBuffer());
    let mutate: SourceMutation | undefined;
    if (header.faultId !== undefined) {
      const fault = FAULTS.find((f) => f.id === header.faultId);
      if (!fault) throw new Error(`unknown fault ${header.faultId}`);
      if (fault.apply.kind === "source") mutate = fault.apply.mutate;
    }
    const run = () =>
      runAttention(ctx!, header.plan, { spec: header.spec, inputs, mutate: mutate });
    const first = await run();
    const repeats: Timing[] = [];
    for (let i = 0; i < header.repeats; i++) {
      const r = await run();
      if (r.timing) repeats.push(r.timing);
    }
    const post = await fetch(resultUrl, { method: "POST", body: encodeOutputs(first.outputs) });
    if (!post.ok) throw new Error(`POST ${resultUrl}: HTTP ${post.status}`);
    return { ok: true, timing: first.timing, repeats };
  } catch (e) {
    return { ok: false, error: errorOf(e), lost: ctx?.lost ?? false };
  }
}

async function reacquire(): Promise<PageInitReply> {
  return await init();
}

(globalThis as { mlaHarness?: unknown }).mlaHarness = { init, runCase, reacquire };
