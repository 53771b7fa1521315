/**
 * What the Vulkan driver receives: the SPIR-V that wgpu (naga) makes of the GPU-class kernels,
 * counted for what decides whether a GPU keeps their register arrays in registers (loops,
 * wgpu's loop bounds, function-scope arrays, accesses into them with a non-constant index).
 *
 * wgpu bounds every loop it emits with a counter of its own (naga's `force_loop_bounding`),
 * which hides a constant trip count behind a second exit; an array a loop indexes by its
 * counter then needs the driver to unroll the loop or to place the array in memory it can
 * index (local memory on a GPU: a spill). The GPU-class plans unroll the kernels' constant
 * loops in the source for that reason (kernels/unroll.ts, docs/benchmarks.md, session 31);
 * this tool shows, on any machine with a Vulkan driver and a C compiler, what that leaves in
 * the SPIR-V, for the plan as a GPU gets it ("unrolled") and with the loops as written
 * ("rolled"):
 *
 *   DENO_WEBGPU_BACKEND=vulkan deno run -A tools/spirv_audit.ts            # table
 *   DENO_WEBGPU_BACKEND=vulkan deno run -A tools/spirv_audit.ts --json     # one JSON object
 *   ... tools/spirv_audit.ts --keep /tmp/spv                               # keep the .spv files
 *
 * How: it builds `tools/spirv_shim/icd_shim.c` (a Vulkan driver that forwards to the real one
 * and writes each module passed to vkCreateShaderModule) with `cc`, and runs the cases in a
 * child process whose Vulkan loader sees only the shim. The cases are DeepSeek-V2-Lite widths
 * on gpu-class plans (the adapter's caps with no loop budget and a GPU's name, as the tests'
 * `gpuClassCaps`), so the SPIR-V is what a GPU's plan compiles, up to the device-dependent
 * parts of naga's output (bounds-check policies follow the device's robustness features), and
 * the cpu-class choices for comparison. Where the driver offers
 * VK_KHR_pipeline_executable_properties, the shim also asks it for its compile statistics of
 * each pipeline (register count, spills) and its compiled code, which the table adds.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { findVulkanDrivers, systemProbe } from "../gpu/backend_choice.ts";
import { buildSharedLibrary, hasCompiler } from "./c_shim.ts";
import {
  buildPipelineStats,
  compileOnRadv,
  type CompileResult,
  RADV_FAMILIES,
  radvManifest,
  radvSummary,
} from "./radv_null.ts";
import { auditSpirv, type SpirvAudit } from "./spirv.ts";

/** One audited case: a backend's plan, in one dtype and one form. */
export interface AuditCase {
  /** Label printed in the table. */
  readonly label: string;
  /** Backend id. */
  readonly backend: string;
  /** Storage dtype. */
  readonly dtype: "f32" | "f16";
  /** Decode (one query, 1024 keys: KV splits and their combine) or causal prefill (64 queries). */
  readonly shape: "decode" | "prefill";
  /**
   * A gpu-class plan with its loops unrolled (as a GPU runs it), the same plan with its loops
   * as written, or a cpu-class plan (as lavapipe runs it: the gemm kernels' named
   * accumulators, the loops lavapipe's compiler unrolls itself); "gpu-class" is the first
   * for one backend of the command line (`--backend`), whose kernels may unroll nothing.
   */
  readonly form: "unrolled" | "rolled" | "cpu-class" | "gpu-class";
  /** Model preset (default deepseek-v2-lite). */
  readonly preset?: string;
  /** Queries per sequence of a decode (default 1; 2: MTP). */
  readonly seqQ?: number;
}

/**
 * The default cases: each GPU-class kernel family in both forms, f32 and f16, and the tiled
 * decode at 32 rows (DeepSeek-V3); then, in f32, the
 * kernels a cpu-class device's `auto` picks (the gemm kernels for absorbed decode and expanded
 * prefill, the lane kernel for dense decode).
 */
export const AUDIT_CASES: readonly AuditCase[] = [
  ...(["f32", "f16"] as const).flatMap((dtype) =>
    (["unrolled", "rolled"] as const).flatMap((form) => [
      {
        label: `absorbed decode ${dtype}`,
        backend: "wgsl-absorbed-tiled",
        dtype,
        shape: "decode" as const,
        form,
      },
      {
        label: `expanded prefill ${dtype}`,
        backend: "wgsl-expanded-tiled",
        dtype,
        shape: "prefill" as const,
        form,
      },
      // A GPU's dense decode (adapter/backends.ts: FA2 with KV splits, and its combine).
      {
        label: `dense decode ${dtype}`,
        backend: "wgsl-expanded-tiled",
        dtype,
        shape: "decode" as const,
        form,
      },
    ])
  ),
  // 32 rows a workgroup (DeepSeek-V3's 128 heads, 32 a workgroup): the tiled decode's
  // largest register share (two value row groups of 16 rows, 18 q vec4s).
  {
    label: "absorbed decode f32, DeepSeek-V3",
    backend: "wgsl-absorbed-tiled",
    dtype: "f32",
    shape: "decode",
    form: "unrolled",
    preset: "deepseek-v3",
  },
  ...([
    ["absorbed decode f32", "wgsl-absorbed-gemm", "decode"],
    ["expanded prefill f32", "wgsl-expanded-gemm", "prefill"],
    ["dense decode f32", "wgsl-expanded", "decode"],
  ] as const).map(([label, backend, shape]) => ({
    label,
    backend,
    dtype: "f32" as const,
    shape,
    form: "cpu-class" as const,
  })),
];

/** One module a case compiled, and its counts. */
export interface AuditedModule extends SpirvAudit {
  /** The case's label and form. */
  readonly label: string;
  readonly form: AuditCase["form"];
  /** The module's file name in the dump directory. */
  readonly file: string;
  /**
   * The driver's compile statistics of the pipeline built from the module (its first
   * executable), by name, where the driver has VK_KHR_pipeline_executable_properties (NVIDIA's
   * report "Register Count", for one); null where it has not (lavapipe 22.3 and 25.0).
   */
  readonly driverStatistics: Readonly<Record<string, string>> | null;
  /**
   * The driver's text representations of the compiled pipeline, where it gives them (the
   * same extension): their size, and the lines that load or store local memory (a register
   * array that left registers): NVIDIA SASS `LDL`/`STL`, PTX `ld.local`/`st.local`.
   */
  readonly driverCode: { readonly bytes: number; readonly localMemoryLines: number } | null;
  /**
   * What RADV's compiler made of the module on null hardware, by `RADV_FORCE_FAMILY`
   * family (tools/radv_null.ts): its statistics (VGPRs, spills, scratch, waves per SIMD) or
   * its error. Empty when not asked for (`radv` option).
   */
  radv: Record<string, CompileResult>;
}

/**
 * Lines of a driver's compiled code that load or store local memory: SASS `LDL`/`STL`, PTX
 * `ld.local`/`st.local`.
 *
 * @example
 * ```ts
 * import { localMemoryLines } from "./spirv_audit.ts";
 * localMemoryLines("  LDL.128 R4, [R1+0x10] ;\n  FFMA R0, R1, R2, R3 ;\n"); // 1
 * ```
 */
export function localMemoryLines(code: string): number {
  return code.split("\n").filter((l) => /\b(LDL|STL)\b|\b(ld|st)\.local\b/.test(l)).length;
}

/**
 * The statistics the shim wrote for one pipeline (`<index>.stats`: an `executable<TAB>name`
 * line per executable, then one `name<TAB>value` line per statistic), those of the first
 * executable, by name. Throws, naming the line, on a line that is neither.
 *
 * @example
 * ```ts
 * import { parseStatistics } from "./spirv_audit.ts";
 * parseStatistics("executable\tCompute\nRegister Count\t40\n"); // { "Register Count": "40" }
 * ```
 */
export function parseStatistics(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let executables = 0;
  for (const [i, line] of text.split("\n").entries()) {
    if (line === "") continue;
    const tab = line.indexOf("\t");
    if (tab <= 0) throw new Error(`statistics line ${i + 1}: "${line}" is not "name<TAB>value"`);
    const [name, value] = [line.slice(0, tab), line.slice(tab + 1)];
    if (name === "executable") executables++;
    else if (executables === 1) out[name] = value;
  }
  return out;
}

/** The child's record of which dumped files each case produced. */
export interface ManifestEntry {
  /** The case's index in the cases given. */
  readonly index: number;
  /** The `.spv` files that appeared while it ran (the modules it compiled first). */
  readonly files: string[];
  /** Why it did not run, when it did not. */
  readonly skipped?: string;
}

const SHIM_SOURCE = new URL("./spirv_shim/icd_shim.c", import.meta.url);

/** The driver library an ICD manifest names, as the Vulkan loader resolves it, or null. */
async function manifestLibrary(manifest: string): Promise<string | null> {
  const json = JSON.parse(await Deno.readTextFile(manifest));
  const lib = json?.ICD?.library_path;
  if (typeof lib !== "string" || lib === "") return null;
  // A bare file name is dlopen's to find (LD_LIBRARY_PATH, the system's folders); a relative
  // path is relative to the manifest's folder (the loader's rules).
  if (!lib.includes("/")) return lib;
  const path = lib.startsWith("/") ? lib : `${manifest.replace(/[^/]*$/, "")}${lib}`;
  return (await Deno.stat(path).catch(() => null))?.isFile ? path : null;
}

/**
 * The libraries of the Vulkan drivers to wrap, in the order to try them: `explicit` alone
 * when given; else those of the manifests the Vulkan loader would read (gpu/backend_choice.ts
 * `findVulkanDrivers`: the files `VK_DRIVER_FILES` or `VK_ICD_FILENAMES` name, which on the GPU
 * machine point at NVIDIA's manifest outside the standard folders, else the ICD folders),
 * each whose library exists, GPUs' before CPU implementations' (lavapipe, SwiftShader), as the
 * harness's adapter request prefers. Mesa installs drivers for hardware a machine may not have: {@link auditCases}
 * takes the first that gives an adapter. Throws, naming what was read, when there is none.
 *
 * @example
 * ```ts ignore
 * import { driverLibraries } from "./spirv_audit.ts";
 * await driverLibraries(); // [..., "/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so"] on this machine
 * ```
 */
export async function driverLibraries(explicit?: string): Promise<string[]> {
  if (explicit) {
    if (explicit.includes("/") && !(await Deno.stat(explicit).catch(() => null))?.isFile) {
      throw new Error(`--driver ${explicit}: no such file (the real driver's shared library)`);
    }
    return [explicit];
  }
  // The manifests the loader would read, as the harness finds them (gpu/backend_choice.ts).
  const { found, looked } = findVulkanDrivers(systemProbe());
  const libs: string[] = [];
  for (const manifest of found) {
    const lib = await manifestLibrary(manifest).catch(() => null);
    if (lib !== null && !libs.includes(lib)) libs.push(lib);
  }
  if (libs.length === 0) {
    throw new Error(
      `no Vulkan driver found (no ICD manifest naming a library that exists; looked in ${looked}); ` +
        "install one (apt-get install mesa-vulkan-drivers) or name its library with --driver",
    );
  }
  const cpu = (p: string) => /lvp|swiftshader/i.test(p);
  return [...libs.filter((p) => !cpu(p)), ...libs.filter(cpu)];
}

/**
 * Build the shim into `dir` with `cc` (or take the `prebuilt` library: a machine without a
 * compiler, the lent GPU's) and write its ICD manifest there; returns the manifest's path.
 * Throws with the compiler's output, or says to install one when `cc` is missing.
 *
 * @example
 * ```ts ignore
 * import { buildShim } from "./spirv_audit.ts";
 * const icd = await buildShim(await Deno.makeTempDir());
 * ```
 */
export async function buildShim(dir: string, prebuilt?: string): Promise<string> {
  const lib = prebuilt ?? `${dir}/libspirv_shim.so`;
  if (prebuilt !== undefined) {
    if (!(await Deno.stat(prebuilt).catch(() => null))?.isFile) {
      throw new Error(
        `--shim ${prebuilt}: no such file (a library built from ${SHIM_SOURCE.pathname})`,
      );
    }
    return await writeManifest(dir, await Deno.realPath(prebuilt));
  }
  const built = await buildSharedLibrary(SHIM_SOURCE.pathname, lib, "the SPIR-V shim");
  if ("error" in built) throw new Error(built.error);
  return await writeManifest(dir, lib);
}

/** An ICD manifest in `dir` naming the shim library `lib`; returns its path. */
async function writeManifest(dir: string, lib: string): Promise<string> {
  const icd = `${dir}/spirv_shim_icd.json`;
  await Deno.writeTextFile(
    icd,
    JSON.stringify({
      file_format_version: "1.0.0",
      ICD: { library_path: lib, api_version: "1.1.0" },
    }),
  );
  return icd;
}

/**
 * Run `cases` in a child process behind the shim and count each module they compiled, on
 * the first of {@link driverLibraries} that gives an adapter (`driver`). Cases a device
 * cannot run (no shader-f16 for an f16 case) are left out, named in `skipped`.
 *
 * @example
 * ```ts ignore
 * import { AUDIT_CASES, auditCases } from "./spirv_audit.ts";
 * const { modules } = await auditCases(AUDIT_CASES, {});
 * ```
 */
export async function auditCases(
  cases: readonly AuditCase[],
  options: {
    driver?: string;
    keep?: string;
    shim?: string;
    cachedOnly?: boolean;
    /** RADV families to compile every module for as well (tools/radv_null.ts). */
    radv?: readonly string[];
    /** With `keep` and `radv`: write RADV's compiled code beside each module there. */
    radvIr?: boolean;
    /** User backend modules (docs/backends.md) the child loads before the cases. */
    backendModules?: readonly string[];
  } = {},
): Promise<
  {
    driver: string;
    modules: AuditedModule[];
    skipped: string[];
    /** Each RADV family's device name, as the driver reports it. */
    radvDevices: Record<string, string>;
  }
> {
  const work = await Deno.makeTempDir({ prefix: "spirv_audit_" });
  try {
    const icd = await buildShim(work, options.shim);
    const drivers = await driverLibraries(options.driver);
    const dumps = options.keep ?? `${work}/spv`;
    await Deno.mkdir(dumps, { recursive: true });
    const manifestPath = `${work}/manifest.json`;
    const failures: string[] = [];
    let driver: string | undefined;
    for (const candidate of drivers) {
      for (const e of Deno.readDirSync(dumps)) {
        if (/\.(spv|stats|ir)$/.test(e.name)) await Deno.remove(`${dumps}/${e.name}`);
      }
      const child = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          ...(options.cachedOnly ? ["--cached-only"] : []),
          new URL(import.meta.url).pathname,
          "--child",
          manifestPath,
          "--cases",
          JSON.stringify(cases),
          "--modules",
          JSON.stringify(options.backendModules ?? []),
        ],
        env: {
          VK_ICD_FILENAMES: icd,
          VK_DRIVER_FILES: icd,
          DENO_WEBGPU_BACKEND: "vulkan",
          SPIRV_SHIM_DRIVER: candidate,
          SPIRV_SHIM_DIR: dumps,
          SPIRV_SHIM_STATS: "1",
        },
        stdout: "piped",
        stderr: "piped",
      }).output();
      if (child.success) {
        driver = candidate;
        break;
      }
      const why = new TextDecoder().decode(child.stderr).trim();
      failures.push(`${candidate}: exit ${child.code}: ${why}`);
      // A driver without its hardware gives no adapter: the next may. Any other failure is
      // the cases', and another driver would not mend it.
      if (!/no WebGPU adapter/.test(why)) break;
    }
    if (driver === undefined) {
      throw new Error(`the cases' child process failed:\n${failures.join("\n")}`);
    }
    const manifest: ManifestEntry[] = JSON.parse(await Deno.readTextFile(manifestPath));
    const read = await readDumps(dumps, manifest, cases);
    const radvDevices: Record<string, string> = {};
    if ((options.radv ?? []).length > 0) {
      const program = await buildPipelineStats(work);
      const jobs = read.modules.map((m) => ({
        file: m.file,
        entryPoint: m.entryPoints[0] ?? "main",
        bindings: m.bindings,
      }));
      for (const family of options.radv ?? []) {
        const { device, results } = await compileOnRadv(jobs, family, {
          program,
          dir: dumps,
          ir: options.radvIr === true && options.keep !== undefined,
        });
        radvDevices[family] = device;
        for (const m of read.modules) {
          const r = results.get(m.file);
          if (r !== undefined) m.radv[family] = r;
        }
      }
    }
    return { driver, ...read, radvDevices };
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

/**
 * The modules of each case from the dump directory: each `.spv` counted, with the `.stats`
 * and `.ir` the shim wrote beside it where the driver gave them.
 *
 * @example
 * ```ts ignore
 * import { readDumps } from "./spirv_audit.ts";
 * await readDumps("/tmp/spv", [{ index: 0, files: ["0003.spv"] }], cases);
 * ```
 */
export async function readDumps(
  dumps: string,
  manifest: readonly ManifestEntry[],
  cases: readonly AuditCase[],
): Promise<{ modules: AuditedModule[]; skipped: string[] }> {
  const modules: AuditedModule[] = [];
  const skipped: string[] = [];
  const beside = (file: string, ext: string) =>
    Deno.readTextFile(`${dumps}/${file.replace(/\.spv$/, ext)}`).catch(() => null);
  for (const entry of manifest) {
    const c = cases[entry.index];
    if (entry.skipped) {
      skipped.push(`${c.label} (${c.form}): ${entry.skipped}`);
      continue;
    }
    for (const file of entry.files) {
      const audit = auditSpirv(await Deno.readFile(`${dumps}/${file}`));
      const stats = await beside(file, ".stats");
      const ir = await beside(file, ".ir");
      modules.push({
        label: c.label,
        form: c.form,
        file,
        driverStatistics: stats === null ? null : parseStatistics(stats),
        driverCode: ir === null
          ? null
          : { bytes: new TextEncoder().encode(ir).length, localMemoryLines: localMemoryLines(ir) },
        radv: {},
        ...audit,
      });
    }
  }
  return { modules, skipped };
}

/** The child: run each case once, recording which dumped files appeared during it. */
async function runChild(
  manifestPath: string,
  cases: AuditCase[],
  backendModules: string[],
): Promise<void> {
  const { loadBackendModules } = await import("../kernels/backend_module.ts");
  await loadBackendModules(backendModules);
  const { presetSpec } = await import("../adapter/presets.ts");
  const { gpuPlanOf, resolve } = await import("../adapter/resolve.ts");
  const { GpuContext, HARNESS_FEATURES } = await import("../gpu/device.ts");
  const { runAttention } = await import("../kernels/attention.ts");
  await import("../kernels/bundled_modules.ts");
  const { makeAttentionInputs } = await import("../reference/inputs.ts");
  const dir = Deno.env.get("SPIRV_SHIM_DIR")!;
  const listed = () =>
    new Set([...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".spv")));
  const ctx = await GpuContext.create({ optionalFeatures: HARNESS_FEATURES });
  // The class set by hand wins over the device's own (adapter/device_class.ts); a GPU has no
  // loop budget, so the gpu-class plans are a GPU's whole (as the tests' gpuClassCaps).
  const { deviceClassFrom: _from, ...own } = ctx.caps;
  const cpuCaps = { ...own, deviceClass: "cpu" as const };
  const caps = { ...own, deviceClass: "gpu" as const, loopIterationBudget: null };
  const manifest: ManifestEntry[] = [];
  for (const [index, c] of cases.entries()) {
    const spec = presetSpec(c.preset ?? "deepseek-v2-lite");
    if (c.dtype === "f16" && !ctx.caps.features.includes("shader-f16")) {
      manifest.push({ index, files: [], skipped: "the adapter has no shader-f16" });
      continue;
    }
    const layout = c.shape === "decode"
      ? { kind: "bshd" as const, batch: 1, seqQ: c.seqQ ?? 1, seqK: 1024, causal: true }
      : { kind: "bshd" as const, batch: 1, seqQ: 64, seqK: 64, causal: true };
    const plan = gpuPlanOf(
      resolve(
        { spec, dtype: c.dtype, backend: c.backend, layout },
        c.form === "cpu-class" ? cpuCaps : caps,
      ),
    );
    const formed = c.form === "rolled"
      ? { ...plan, variant: { ...plan.variant, unrolledLoops: false } }
      : plan;
    const before = listed();
    await runAttention(ctx, formed, {
      spec,
      inputs: makeAttentionInputs(spec, plan.layout, { seed: 1 }),
    });
    manifest.push({ index, files: [...listed()].filter((n) => !before.has(n)).sort() });
  }
  ctx.destroy();
  await Deno.writeTextFile(manifestPath, JSON.stringify(manifest));
}

/**
 * The modules as a table, one row per module with a loop or a private array (the shared
 * kernels without either are counted in a last line).
 *
 * @example
 * ```ts ignore
 * import { auditCases, auditTable, AUDIT_CASES } from "./spirv_audit.ts";
 * console.log(auditTable((await auditCases(AUDIT_CASES)).modules));
 * ```
 */
export function auditTable(modules: readonly AuditedModule[]): string {
  const rows = [
    "| case | form | entry point | loops | wgpu-bounded | private arrays (entry point's 32-bit words) | non-constant private accesses |",
    "| --- | --- | --- | ---: | ---: | ---: | ---: |",
  ];
  const withStats = modules.some((m) => m.driverStatistics !== null);
  if (withStats) {
    rows[0] += " driver statistics |";
    rows[1] += " --- |";
  }
  const families = [...new Set(modules.flatMap((m) => Object.keys(m.radv)))];
  for (const f of families) {
    rows[0] += ` RADV ${f} (null hardware) |`;
    rows[1] += " --- |";
  }
  const withCode = modules.some((m) => m.driverCode !== null);
  if (withCode) {
    rows[0] += " driver code: local-memory lines (bytes) |";
    rows[1] += " ---: |";
  }
  let plain = 0;
  for (const m of modules) {
    if (m.loops === 0 && m.privateArrays === 0) {
      plain++;
      continue;
    }
    rows.push(
      `| ${m.label} | ${m.form} | ${m.entryPoints.join(", ")} | ${m.loops} | ${m.boundedLoops} | ` +
        `${m.privateArrays} (${m.entryArrayWords}) | ${m.dynamicPrivateAccesses} |` +
        (withStats
          ? ` ${Object.entries(m.driverStatistics ?? {}).map(([k, v]) => `${k} ${v}`).join("; ")} |`
          : "") +
        families.map((f) => ` ${radvSummary(m.radv[f])} |`).join("") +
        (withCode
          ? ` ${m.driverCode ? `${m.driverCode.localMemoryLines} (${m.driverCode.bytes})` : "-"} |`
          : ""),
    );
  }
  if (plain > 0) rows.push("", `${plain} more module(s) without loops or private arrays.`);
  if (!withStats) {
    rows.push(
      "No driver statistics: the driver offers no VK_KHR_pipeline_executable_properties " +
        "(lavapipe does not), or gave none.",
    );
  }
  return rows.join("\n");
}

/** Thrown for a bad command line (exit 2). */
class UsageError extends Error {}

/**
 * The cases the command line asks for: the defaults, or one case on `--backend` (loading
 * `--backend-module`s first, so that the id is checked against what they register).
 */
async function casesOf(
  values: {
    backend?: string;
    preset?: string;
    dtype?: string;
    shape?: string;
    class?: string;
  },
  backendModules: readonly string[],
): Promise<readonly AuditCase[]> {
  const given = ["preset", "dtype", "shape", "class"].filter((k) =>
    values[k as keyof typeof values] !== undefined
  );
  if (values.backend === undefined) {
    if (given.length > 0 || backendModules.length > 0) {
      throw new UsageError(
        `--${given[0] ?? "backend-module"} selects a case of --backend ID: give --backend too`,
      );
    }
    return AUDIT_CASES;
  }
  const oneOf = (name: string, value: string | undefined, allowed: readonly string[]) => {
    const v = value ?? allowed[0];
    if (!allowed.includes(v)) {
      throw new UsageError(`--${name} ${v}: expected one of ${allowed.join(", ")}`);
    }
    return v;
  };
  const dtype = oneOf("dtype", values.dtype, ["f32", "f16"]) as AuditCase["dtype"];
  const shape = oneOf("shape", values.shape, ["decode", "prefill"]) as AuditCase["shape"];
  const cls = oneOf("class", values.class, ["gpu", "cpu"]);
  const preset = values.preset ?? "deepseek-v2-lite";
  const { PRESET_NAMES } = await import("../adapter/presets.ts");
  if (!PRESET_NAMES.includes(preset)) {
    throw new UsageError(`--preset ${preset}: expected one of ${PRESET_NAMES.join(", ")}`);
  }
  const { loadBackendModules } = await import("../kernels/backend_module.ts");
  const { backendById, registeredBackendIds } = await import("../adapter/registry.ts");
  await import("../kernels/bundled_modules.ts");
  await loadBackendModules(backendModules);
  if (!backendById(values.backend)) {
    throw new UsageError(
      `--backend ${values.backend}: not a registered backend; registered: ` +
        `${registeredBackendIds().join(", ")} (load yours with --backend-module)`,
    );
  }
  return [{
    label: `${values.backend} ${shape} ${dtype} (${preset})`,
    backend: values.backend,
    dtype,
    shape,
    form: cls === "gpu" ? "gpu-class" : "cpu-class",
    preset,
  }];
}

const HELP = `tools/spirv_audit.ts: count what the SPIR-V of the GPU-class kernels keeps in loops

usage: deno run -A tools/spirv_audit.ts [--json] [--keep DIR] [--driver LIB] [--shim LIB]
                                         [--cached-only] [--radv FAMILIES] [--radv-ir]
                                         [--backend ID [--backend-module PATH]... [--preset P]
                                          [--dtype D] [--shape S] [--class C]]

  --json        print {driver, modules, skipped} as JSON instead of the table
  --keep DIR    write the .spv (and .stats, .ir) files to DIR (its old ones are removed) and
                keep them
  --driver LIB  the real Vulkan driver's library (default: that of the manifest
                VK_DRIVER_FILES or VK_ICD_FILENAMES names, else the first in the system's ICD
                folders that gives an adapter, GPUs' before lavapipe's)
  --shim LIB    a shim library built beforehand from tools/spirv_shim/icd_shim.c (a machine
                without cc: tools/prepare_device_carry.sh builds .device/libspirv_shim.so)
  --cached-only run the cases' child process with --cached-only (a machine with no network)
  --radv FAMILIES
                also compile every module with Mesa's RADV for these AMD GPU families on
                "null hardware" (RADV_FORCE_FAMILY; comma-separated, e.g. navi21,aldebaran)
                and add what AMD's compiler made of it: VGPRs per invocation, spills,
                scratch, waves per SIMD (tools/radv_null.ts). Default "auto": navi21 where
                RADV (mesa-vulkan-drivers) and cc are installed, else none; "none": skip
  --radv-ir     with --keep: also write what RADV compiled, each module's NIR, ACO IR and
                assembly, to DIR/<module>.spv.<family>.txt (to read a loop's instructions)

One backend instead of the default cases (a bundled one, or yours: docs/backends.md):
  --backend ID          the backend whose plan's modules are audited
  --backend-module PATH load a backend module first (repeatable), as run and bench do
  --preset NAME         model widths (default deepseek-v2-lite)
  --dtype f32|f16       (default f32)
  --shape decode|prefill
                        a decode of 1024 keys or a 64-token causal prefill (default decode)
  --class gpu|cpu       plan it as a GPU (default: no loop budget, the class's choices) or
                        as a CPU-class device (lavapipe) would

Where the driver has VK_KHR_pipeline_executable_properties, the table adds the driver's own
compile statistics of each pipeline (register count, spills: whatever it reports) and, where it
gives its compiled code as text, the lines that load or store local memory (SASS LDL/STL).
Needs a Vulkan driver and a C compiler (cc) or --shim. Exit 0 with the table; 2 on bad
arguments; 1 when the shim, the driver or a case fails, with the reason.`;

if (import.meta.main) {
  let values;
  try {
    ({ values } = parseArgs({
      args: Deno.args,
      options: {
        json: { type: "boolean", default: false },
        keep: { type: "string" },
        driver: { type: "string" },
        shim: { type: "string" },
        "cached-only": { type: "boolean", default: false },
        radv: { type: "string", default: "auto" },
        "radv-ir": { type: "boolean", default: false },
        backend: { type: "string" },
        "backend-module": { type: "string", multiple: true },
        preset: { type: "string" },
        dtype: { type: "string" },
        shape: { type: "string" },
        class: { type: "string" },
        child: { type: "string" },
        cases: { type: "string" },
        modules: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${HELP}`);
    Deno.exit(2);
  }
  if (values.help) {
    console.log(HELP);
    Deno.exit(0);
  }
  try {
    if (values.child) {
      await runChild(
        values.child,
        JSON.parse(values.cases ?? "[]"),
        JSON.parse(values.modules ?? "[]"),
      );
    } else {
      if (values["radv-ir"] && !values.keep) {
        throw new Error("--radv-ir writes beside the kept modules: give --keep DIR too");
      }
      let radv: string[] = [];
      let radvNote = "";
      if (values.radv === "auto") {
        const cc = await hasCompiler();
        if (radvManifest() !== null && cc) radv = ["navi21"];
        else radvNote = `no RADV columns: ${cc ? "Mesa's RADV is not installed" : "no cc"}`;
      } else if (values.radv !== "none") {
        radv = values.radv.split(",").map((f) => f.trim()).filter((f) => f !== "");
        if (radv.length === 0) throw new Error(`--radv "${values.radv}": no family named`);
      }
      const backendModules = (values["backend-module"] ?? []).map((m) =>
        /^[a-z]+:/.test(m) ? m : new URL(m, `file://${Deno.cwd()}/`).href
      );
      const cases = await casesOf(values, backendModules);
      const { driver, modules, skipped, radvDevices } = await auditCases(cases, {
        backendModules,
        driver: values.driver,
        keep: values.keep,
        shim: values.shim,
        cachedOnly: values["cached-only"],
        radv,
        radvIr: values["radv-ir"],
      });
      if (values.json) {
        console.log(JSON.stringify({ driver, radvDevices, modules, skipped }, null, 2));
      } else {
        console.log(`driver: ${driver}`);
        for (const [f, d] of Object.entries(radvDevices)) {
          console.log(`RADV ${f}: ${d}${RADV_FAMILIES[f] ? `: ${RADV_FAMILIES[f]}` : ""}`);
        }
        if (radvNote) console.log(radvNote);
        console.log("");
        console.log(auditTable(modules));
        for (const s of skipped) console.log(`skipped: ${s}`);
      }
    }
  } catch (e) {
    console.error(`spirv_audit: ${(e as Error).message}`);
    // A bad command line (or a backend module that breaks the contract on load) is 2.
    Deno.exit(e instanceof UsageError || (e as Error).name === "ConfigError" ? 2 : 1);
  }
}
