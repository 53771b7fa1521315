/**
 * Cold compile time of one WGSL kernel variant on this adapter: the kernel file is
 * specialized as the launchers do (dtype, `// @param` constants, switches:
 * kernels/source.ts), a pipeline is made and one workgroup is dispatched with every
 * buffer binding zero-filled (lavapipe compiles a pipeline's machine code at its first
 * dispatch, not when the pipeline is created), and the time to the end of that dispatch
 * is printed. Run with Mesa's shader cache off, so that the dispatch compiles:
 *
 *   MESA_SHADER_CACHE_DISABLE=true DENO_WEBGPU_BACKEND=vulkan deno run -A \
 *     tools/wgsl_compile_time.ts kernels/absorbed.wgsl --entry absorbed \
 *     --param QT=4 --param BLOCK=4 --param KEY_VEC4=144 --param VAL_VEC4=128
 *
 * Zero-filled bindings make most kernels leave at their bounds guard (the workgroup
 * count in their uniform is 0); only buffer bindings are supported (a texture or sampler
 * binding is exit 2). For a whole backend's variants at model widths, see
 * tools/compile_time.ts.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { checkSourceText } from "../kernels/compile_check.ts";
import { specializeSource } from "../kernels/source.ts";
import { bufferBindings, timeFirstDispatch } from "./first_dispatch.ts";

const USAGE = "usage: deno run -A tools/wgsl_compile_time.ts <file.wgsl> --entry <name> " +
  "[--dtype f32|f16] [--param NAME=value ...] [--switch name ...]";

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  Deno.exit(2);
}

let parsed;
try {
  parsed = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      entry: { type: "string" },
      dtype: { type: "string", default: "f32" },
      param: { type: "string", multiple: true, default: [] },
      switch: { type: "string", multiple: true, default: [] },
      help: { type: "boolean", default: false },
    },
  });
} catch (e) {
  fail((e as Error).message);
}
const { values, positionals } = parsed;
if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}
if (positionals.length !== 1) fail("give exactly one kernel file");
if (!values.entry) fail("--entry is required (the @compute function to compile)");
const dtype = values.dtype;
if (dtype !== "f32" && dtype !== "f16") fail(`--dtype ${dtype}: must be f32 or f16`);
const params: Record<string, number> = {};
for (const p of values.param) {
  const m = /^([A-Z][A-Z0-9_]*)=(\d+)$/.exec(p);
  if (!m) fail(`--param ${p}: must be NAME=value with a non-negative integer value`);
  params[m[1]] = Number(m[2]);
}

const file = positionals[0];
let raw: string;
try {
  // its `// @include` parts expanded from its own folder (kernels/source.ts)
  raw = await checkSourceText(file, { bundled: false });
} catch (e) {
  fail(`cannot read ${file}: ${(e as Error).message}`);
}
let code: string;
try {
  code = specializeSource(raw, { dtype, params, switches: values.switch });
} catch (e) {
  fail(`${file}: ${(e as Error).message}`);
}
const bindings = bufferBindings(code);
if (typeof bindings === "string") fail(`${file}: ${bindings}`);

const adapter = await navigator.gpu?.requestAdapter();
if (!adapter) {
  console.error("no WebGPU adapter on this machine");
  Deno.exit(1);
}
if (dtype === "f16" && !adapter.features.has("shader-f16")) {
  console.error(
    `adapter ${
      adapter.info.description || adapter.info.device
    }: no shader-f16 (--dtype f16 needs it)`,
  );
  Deno.exit(1);
}
const device = await adapter.requestDevice({
  requiredFeatures: dtype === "f16" ? ["shader-f16"] : [],
});
let seconds: number;
try {
  seconds = await timeFirstDispatch(device, code, values.entry, { fileName: file });
} catch (e) {
  console.error(`${file}: ${(e as Error).message}`);
  Deno.exit(1);
}
const shown = Object.entries(params).map(([k, v]) => `${k}=${v}`).join(" ");
console.log(`${file} ${values.entry} ${dtype}${shown ? ` ${shown}` : ""}: ${seconds.toFixed(1)} s`);
device.destroy();
