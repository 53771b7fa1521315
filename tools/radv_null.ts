/**
 * A GPU compiler's view of a SPIR-V module on a machine without a GPU: Mesa's RADV driver
 * compiles for an AMD GPU it knows with `RADV_FORCE_FAMILY=<family>` ("null hardware": a
 * device that can create pipelines but not run them), and reports, through
 * VK_KHR_pipeline_executable_properties, what its compiler (ACO) made of each pipeline:
 * registers per invocation, spills, scratch memory, and how many waves fit per SIMD.
 *
 * `tools/spirv_audit.ts` runs the modules it dumped through this (its `--radv` option), so
 * that the register pressure of the GPU-class kernels, which decides whether they spill and
 * how many workgroups a GPU keeps resident, is measured here rather than guessed. AMD's
 * compiler is not NVIDIA's: the figures say what a real GPU compiler does with the same
 * SPIR-V, not what an H100 does (the GPU machine's `spirv` step reads NVIDIA's own).
 *
 * The program is `tools/spirv_shim/pipeline_stats.c`, built with `cc`.
 *
 * @module
 */
import { findVulkanDrivers, systemProbe } from "../gpu/backend_choice.ts";
import { buildProgram } from "./c_shim.ts";
import type { SpirvBinding } from "./spirv.ts";

const PROGRAM_SOURCE = new URL("./spirv_shim/pipeline_stats.c", import.meta.url);

/** Families `RADV_FORCE_FAMILY` names that the table explains (any other RADV knows works). */
export const RADV_FAMILIES: Readonly<Record<string, string>> = {
  navi21: "RDNA2 (RX 6800/6900), wave32, 256 VGPRs per invocation at most",
  aldebaran: "CDNA2 (MI200), wave64, 256 VGPRs per invocation at most (RADV uses no AGPRs)",
  vega20: "GCN5 (MI50/60, Radeon VII), wave64, 256 VGPRs per invocation at most",
};

/** One module to compile: its file, its entry point and the bindings its layout needs. */
export interface CompileJob {
  readonly file: string;
  readonly entryPoint: string;
  readonly bindings: readonly SpirvBinding[];
}

/** What the driver said of one module: its statistics by name, or why it failed. */
export type CompileResult =
  | { readonly stats: Readonly<Record<string, string>> }
  | { readonly error: string };

/**
 * The RADV ICD manifest installed on this machine (the system's ICD folders, whatever
 * VK_ICD_FILENAMES says), or null when Mesa's radeon driver is not installed.
 *
 * @example
 * ```ts ignore
 * import { radvManifest } from "./radv_null.ts";
 * radvManifest(); // "/usr/share/vulkan/icd.d/radeon_icd.x86_64.json" with mesa-vulkan-drivers
 * ```
 */
export function radvManifest(): string | null {
  const probe = systemProbe();
  // The system's folders, not the list a caller may have narrowed the loader to.
  const { found } = findVulkanDrivers({
    ...probe,
    env: (name) => /^VK_/.test(name) ? undefined : probe.env(name),
  });
  return found.find((m) => /radeon/.test(m.split("/").pop() ?? "")) ?? null;
}

/**
 * Build `pipeline_stats` into `dir` with `cc`; returns the program's path. Throws with the
 * compiler's output, or says to install one when `cc` is missing.
 *
 * @example
 * ```ts ignore
 * import { buildPipelineStats } from "./radv_null.ts";
 * const program = await buildPipelineStats(await Deno.makeTempDir());
 * ```
 */
export async function buildPipelineStats(dir: string): Promise<string> {
  const built = await buildProgram(
    PROGRAM_SOURCE.pathname,
    `${dir}/pipeline_stats`,
    "the pipeline statistics program",
  );
  if ("error" in built) throw new Error(built.error);
  return built.path;
}

/**
 * Read `pipeline_stats`' output: the device line, then per module its statistics or its
 * error. Throws, naming the line, on output that is neither.
 *
 * @example
 * ```ts
 * import { parsePipelineStats } from "./radv_null.ts";
 * const out = parsePipelineStats("device\tNull hardware (RADV NAVI21)\n== a.spv\nVGPRs\t24\n");
 * out.results.get("a.spv"); // { stats: { VGPRs: "24" } }
 * ```
 */
export function parsePipelineStats(
  text: string,
): { device: string; results: Map<string, CompileResult> } {
  let device = "";
  const results = new Map<string, CompileResult>();
  let file: string | null = null;
  let stats: Record<string, string> = {};
  const close = () => {
    if (file !== null && !results.has(file)) results.set(file, { stats });
  };
  for (const [i, line] of text.split("\n").entries()) {
    if (line === "") continue;
    if (line.startsWith("== ")) {
      close();
      file = line.slice(3);
      stats = {};
      continue;
    }
    const tab = line.indexOf("\t");
    if (tab <= 0) {
      throw new Error(`pipeline_stats output line ${i + 1}: "${line}" is not "name<TAB>value"`);
    }
    const [name, value] = [line.slice(0, tab), line.slice(tab + 1)];
    if (file === null) {
      if (name === "device") device = value;
      continue;
    }
    if (name === "error") results.set(file, { error: value });
    else stats[name] = value;
  }
  close();
  return { device, results };
}

/**
 * Compile `jobs` on RADV's null hardware for `family` (a `RADV_FORCE_FAMILY` name: navi21,
 * aldebaran, ...) with the built `program`; file names are resolved in `dir`. Returns the
 * device's name and each file's result. Throws, with the program's message, when RADV is not
 * installed, does not know the family, or gives no device.
 *
 * @example
 * ```ts ignore
 * import { buildPipelineStats, compileOnRadv } from "./radv_null.ts";
 * const program = await buildPipelineStats("/tmp");
 * const { results } = await compileOnRadv(
 *   [{ file: "0005.spv", entryPoint: "absorbed_tiled", bindings: [] }],
 *   "navi21",
 *   { program, dir: "/tmp/spv" },
 * );
 * ```
 */
export async function compileOnRadv(
  jobs: readonly CompileJob[],
  family: string,
  options: {
    program: string;
    dir: string;
    manifest?: string;
    /**
     * Also write each module's compiled code as RADV gives it (NIR, ACO IR, the assembly)
     * to `<file>.<family>.txt` in `dir`.
     */
    ir?: boolean;
  },
): Promise<{ device: string; results: Map<string, CompileResult> }> {
  const manifest = options.manifest ?? radvManifest();
  if (manifest === null) {
    throw new Error(
      "no RADV driver (Mesa's radeon_icd manifest) in the system's Vulkan driver folders; " +
        "install mesa-vulkan-drivers",
    );
  }
  for (const j of jobs) {
    if (/\s/.test(j.file) || /\s/.test(j.entryPoint)) {
      throw new Error(`"${j.file}" / "${j.entryPoint}": names with spaces cannot be passed`);
    }
  }
  const input =
    jobs.map((j) =>
      [j.file, j.entryPoint, ...j.bindings.map((b) => `${b.set}:${b.binding}:${b.type}`)].join(" ")
    ).join("\n") + "\n";
  if (!/^[A-Za-z0-9_]+$/.test(family)) {
    throw new Error(`RADV family "${family}": letters, digits and _ only (e.g. navi21)`);
  }
  const child = new Deno.Command(options.program, {
    args: options.ir ? ["--ir", family] : [],
    cwd: options.dir,
    env: { VK_ICD_FILENAMES: manifest, VK_DRIVER_FILES: manifest, RADV_FORCE_FAMILY: family },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  try {
    await writer.write(new TextEncoder().encode(input));
    await writer.close();
  } catch {
    // The program stopped before reading its jobs (RADV aborts on an unknown family): its
    // exit code and message, read below, say why; a broken pipe here would not.
  }
  const out = await child.output();
  const stderr = new TextDecoder().decode(out.stderr).trim();
  if (!out.success) {
    throw new Error(
      `RADV null hardware for "${family}": exit ${out.code}: ${stderr || "(no message)"}` +
        (/Unknown family/.test(stderr) ? ` (known here: ${Object.keys(RADV_FAMILIES)})` : ""),
    );
  }
  return parsePipelineStats(new TextDecoder().decode(out.stdout));
}

/**
 * One line of what matters in RADV's statistics: VGPRs per invocation (and spilled), scratch
 * bytes, waves per SIMD; or the error.
 *
 * @example
 * ```ts
 * import { radvSummary } from "./radv_null.ts";
 * radvSummary({ stats: { VGPRs: "256", "Spilled VGPRs": "5", "Scratch size": "2048",
 *   "Subgroups per SIMD": "4" } }); // "256 VGPRs (5 spilled), scratch 2048 B, 4 waves/SIMD"
 * ```
 */
export function radvSummary(result: CompileResult | undefined): string {
  if (result === undefined) return "-";
  if ("error" in result) return `error: ${result.error}`;
  const s = result.stats;
  const spilled = Number(s["Spilled VGPRs"] ?? 0);
  return `${s.VGPRs ?? "?"} VGPRs${spilled > 0 ? ` (${spilled} spilled)` : ""}, ` +
    `scratch ${s["Scratch size"] ?? "?"} B, ${s["Subgroups per SIMD"] ?? "?"} waves/SIMD`;
}
