/**
 * Cold compile time of backends' kernels at DeepSeek-V2-Lite widths on this adapter: the
 * first run of a small case minus the second (the pipeline cache then holds its pipelines),
 * after the shared kernels (absorb_q, up_proj, pack_q, expand_kv, rope) were compiled by the
 * lane backends. Run with Mesa's shader cache off so the first run compiles:
 *
 *   MESA_SHADER_CACHE_DISABLE=true deno run -A tools/compile_time.ts wgsl-absorbed-gemm wgsl-expanded-gemm
 *
 * An expanded-path backend is timed on a prefill (32 queries) unless `--decode` asks for a
 * decode (wgsl-expanded's decode tile is another pipeline than its prefill tile); an
 * absorbed-path one on a decode unless `--prefill` asks for the prefill (wgsl-absorbed's
 * 4-query tiles, the variant that takes minutes to compile on lavapipe: docs/benchmarks.md,
 * session 21):
 *
 *   MESA_SHADER_CACHE_DISABLE=true deno run -A tools/compile_time.ts --prefill wgsl-absorbed
 *
 * The shared
 * kernels of each path are warmed through whichever of wgsl-absorbed and wgsl-absorbed-gemm
 * (wgsl-expanded and wgsl-expanded-gemm) is not being timed (a decode), so no pipeline
 * being timed is compiled beforehand.
 *
 * @module
 */
import { presetSpec } from "../adapter/presets.ts";
import { gpuPlanOf, resolve } from "../adapter/resolve.ts";
import type { LayoutRequest } from "../adapter/types.ts";
import { backendById } from "../adapter/registry.ts";
import { HARNESS_FEATURES } from "../gpu/device.ts";
import { toolGpuContext } from "./tool_gpu.ts";
import { runAttention } from "../kernels/attention.ts";
import "../kernels/bundled_modules.ts";
import { makeAttentionInputs } from "../reference/inputs.ts";
import { toolArgs } from "./tool_args.ts";

const usage = "usage: deno run -A tools/compile_time.ts [--decode | --prefill] [BACKEND ...]\n\n" +
  "Cold compile time of each BACKEND's kernels at DeepSeek-V2-Lite widths (default: " +
  "wgsl-absorbed-gemm wgsl-expanded-gemm).\nRun with MESA_SHADER_CACHE_DISABLE=true so the " +
  "first run compiles.\n" +
  "  --decode   time an expanded-path backend on a decode (default: a 32-query prefill)\n" +
  "  --prefill  time an absorbed-path backend on the prefill (default: a decode)";
const { values, positionals } = toolArgs({
  options: { decode: { type: "boolean" }, prefill: { type: "boolean" } },
  allowPositionals: true,
}, usage);
const decodeOnly = values.decode === true;
const prefillAll = values.prefill === true;
if (decodeOnly && prefillAll) {
  console.error(`--decode and --prefill exclude each other\n${usage}`);
  Deno.exit(2);
}
const ids = positionals.length ? positionals : ["wgsl-absorbed-gemm", "wgsl-expanded-gemm"];
for (const id of ids) {
  if (!backendById(id)) {
    console.error(`unknown backend ${id}\n${usage}`);
    Deno.exit(2);
  }
  if (backendById(id)!.runsOn !== "gpu") {
    console.error(`backend ${id} runs on the CPU: it has no kernels to compile\n${usage}`);
    Deno.exit(2);
  }
}
const ctx = await toolGpuContext("compile_time", { optionalFeatures: HARNESS_FEATURES });
const spec = presetSpec("deepseek-v2-lite");
const decode: LayoutRequest = { kind: "bshd", batch: 1, seqQ: 1, seqK: 64, causal: true };
const prefill: LayoutRequest = { kind: "bshd", batch: 1, seqQ: 32, seqK: 32, causal: true };
const dtypes = ctx.caps.features.includes("shader-f16")
  ? ["f32", "f16"] as const
  : ["f32"] as const;
const run = async (
  backend: string,
  dtype: "f32" | "f16",
  layout: LayoutRequest,
  warm = false,
) => {
  let plan: ReturnType<typeof gpuPlanOf>;
  try {
    plan = gpuPlanOf(resolve({ spec, dtype, backend, layout }, ctx.caps));
  } catch (e) {
    // a backend this device does not run (no subgroups; the GL fallback's size cap, which
    // the lane backends' warm-up meets too), or one that runs on the CPU: its reasons, not a
    // TypeError with a stack trace
    if (!(e instanceof TypeError)) throw e;
    ctx.destroy();
    console.error(
      `compile_time: ${backend} ${dtype} ${layout === decode ? "decode" : "prefill"}` +
        `${warm ? " (the warm-up of the shared kernels)" : ""} does not run here: ${e.message}`,
    );
    Deno.exit(2);
  }
  const inputs = makeAttentionInputs(spec, plan.layout, { seed: 1 });
  const t0 = performance.now();
  await runAttention(ctx, plan, { spec, inputs });
  return performance.now() - t0;
};
// Each path's shared kernels, through a backend that is not timed where one is left (so
// `wgsl-absorbed` itself can be timed: its shared kernels then come through the gemm one).
const absorbedWarm = ["wgsl-absorbed", "wgsl-absorbed-gemm"].find((b) => !ids.includes(b));
const expandedWarm = ["wgsl-expanded", "wgsl-expanded-gemm"].find((b) => !ids.includes(b));
for (const dtype of dtypes) {
  if (absorbedWarm) await run(absorbedWarm, dtype, decode, true);
  if (expandedWarm) await run(expandedWarm, dtype, decode, true);
}
for (const id of ids) {
  const layout = prefillAll || (backendById(id)!.path === "expanded" && !decodeOnly)
    ? prefill
    : decode;
  for (const dtype of dtypes) {
    const first = await run(id, dtype, layout);
    const second = await run(id, dtype, layout);
    console.log(
      `${id} ${dtype} ${layout === decode ? "decode" : "prefill"}: first run ${
        first.toFixed(0)
      } ms, second ${second.toFixed(0)} ms: compile ~${((first - second) / 1000).toFixed(1)} s`,
    );
  }
}
ctx.destroy();
