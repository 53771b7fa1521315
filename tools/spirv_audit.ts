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
 * parts of naga's output (bounds-check policies follow the device's robustness features).
 *
 * @module
 */
import { parseArgs } from "node:util";
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
  /** The plan's unrolled loops, or the same plan with its loops as written. */
  readonly form: "unrolled" | "rolled";
}

/** The default cases: each GPU-class kernel family in both forms, f32 and f16. */
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
    ])
  ),
];

/** One module a case compiled, and its counts. */
export interface AuditedModule extends SpirvAudit {
  /** The case's label and form. */
  readonly label: string;
  readonly form: AuditCase["form"];
  /** The module's file name in the dump directory. */
  readonly file: string;
}

/** The child's record of which dumped files each case produced. */
interface ManifestEntry {
  readonly index: number;
  readonly files: string[];
  readonly skipped?: string;
}

const SHIM_SOURCE = new URL("./spirv_shim/icd_shim.c", import.meta.url);
const ICD_DIRS = ["/etc/vulkan/icd.d", "/usr/share/vulkan/icd.d", "/usr/local/share/vulkan/icd.d"];

/**
 * The library of the Vulkan driver to wrap: `explicit` when given, else the first ICD manifest
 * in the system's ICD directories whose library exists (lavapipe's first). Throws, naming the
 * directories read, when there is none.
 *
 * @example
 * ```ts ignore
 * import { findDriverLibrary } from "./spirv_audit.ts";
 * await findDriverLibrary(); // "/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so" on this machine
 * ```
 */
export async function findDriverLibrary(explicit?: string): Promise<string> {
  if (explicit) {
    await Deno.stat(explicit).catch(() => {
      throw new Error(`--driver ${explicit}: no such file (the real driver's shared library)`);
    });
    return explicit;
  }
  const found: string[] = [];
  for (const dir of ICD_DIRS) {
    let names: string[] = [];
    try {
      names = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".json"));
    } catch {
      continue;
    }
    for (const name of names.sort()) {
      try {
        const json = JSON.parse(await Deno.readTextFile(`${dir}/${name}`));
        const lib = json?.ICD?.library_path;
        if (typeof lib !== "string") continue;
        const path = lib.startsWith("/") ? lib : `${dir}/${lib}`;
        if ((await Deno.stat(path).catch(() => null))?.isFile) found.push(path);
      } catch {
        // not a manifest this tool can read; the next one may be
      }
    }
  }
  const lvp = found.find((p) => p.includes("lvp"));
  if (lvp ?? found[0]) return lvp ?? found[0];
  throw new Error(
    `no Vulkan driver found (no ICD manifest naming an existing library in ${
      ICD_DIRS.join(", ")
    }); ` +
      "install one (apt-get install mesa-vulkan-drivers) or name its library with --driver",
  );
}

/**
 * Build the shim into `dir` with `cc` and write its ICD manifest there; returns the
 * manifest's path. Throws with the compiler's output, or says to install one when `cc` is
 * missing.
 *
 * @example
 * ```ts ignore
 * import { buildShim } from "./spirv_audit.ts";
 * const icd = await buildShim(await Deno.makeTempDir());
 * ```
 */
export async function buildShim(dir: string): Promise<string> {
  const lib = `${dir}/libspirv_shim.so`;
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("cc", {
      args: ["-shared", "-fPIC", "-O1", "-o", lib, SHIM_SOURCE.pathname, "-ldl"],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error("no C compiler (cc) to build the SPIR-V shim: apt-get install gcc libc6-dev");
    }
    throw e;
  }
  if (!out.success) {
    throw new Error(
      `cc could not build ${SHIM_SOURCE.pathname}:\n${new TextDecoder().decode(out.stderr)}`,
    );
  }
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
 * Run `cases` in a child process behind the shim and count each module they compiled.
 * Cases a device cannot run (no shader-f16 for an f16 case) are left out, named in
 * `skipped`.
 *
 * @example
 * ```ts ignore
 * import { AUDIT_CASES, auditCases } from "./spirv_audit.ts";
 * const { modules } = await auditCases(AUDIT_CASES, {});
 * ```
 */
export async function auditCases(
  cases: readonly AuditCase[],
  options: { driver?: string; keep?: string } = {},
): Promise<{ modules: AuditedModule[]; skipped: string[] }> {
  const work = await Deno.makeTempDir({ prefix: "spirv_audit_" });
  try {
    const icd = await buildShim(work);
    const driver = await findDriverLibrary(options.driver);
    const dumps = options.keep ?? `${work}/spv`;
    await Deno.mkdir(dumps, { recursive: true });
    for (const e of Deno.readDirSync(dumps)) {
      if (e.name.endsWith(".spv")) await Deno.remove(`${dumps}/${e.name}`);
    }
    const manifestPath = `${work}/manifest.json`;
    const child = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL(import.meta.url).pathname,
        "--child",
        manifestPath,
        "--cases",
        JSON.stringify(cases),
      ],
      env: {
        VK_ICD_FILENAMES: icd,
        VK_DRIVER_FILES: icd,
        DENO_WEBGPU_BACKEND: "vulkan",
        SPIRV_SHIM_DRIVER: driver,
        SPIRV_SHIM_DIR: dumps,
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!child.success) {
      throw new Error(
        `the cases' child process failed (exit ${child.code}):\n` +
          new TextDecoder().decode(child.stderr).trim(),
      );
    }
    const manifest: ManifestEntry[] = JSON.parse(await Deno.readTextFile(manifestPath));
    const modules: AuditedModule[] = [];
    const skipped: string[] = [];
    for (const entry of manifest) {
      const c = cases[entry.index];
      if (entry.skipped) {
        skipped.push(`${c.label} (${c.form}): ${entry.skipped}`);
        continue;
      }
      for (const file of entry.files) {
        const audit = auditSpirv(await Deno.readFile(`${dumps}/${file}`));
        modules.push({ label: c.label, form: c.form, file, ...audit });
      }
    }
    return { modules, skipped };
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

/** The child: run each case once, recording which dumped files appeared during it. */
async function runChild(manifestPath: string, cases: AuditCase[]): Promise<void> {
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
  // As tests/gpu_helpers.ts gpuClassCaps: no loop budget, a GPU's name, no class by hand.
  const { deviceClass: _c, deviceClassFrom: _f, ...own } = ctx.caps;
  const caps = {
    ...own,
    loopIterationBudget: null,
    adapter: {
      vendor: "audit",
      architecture: "audit",
      device: "audit",
      description: "a GPU-class plan (tools/spirv_audit.ts)",
      isFallbackAdapter: false,
    },
  };
  const spec = presetSpec("deepseek-v2-lite");
  const manifest: ManifestEntry[] = [];
  for (const [index, c] of cases.entries()) {
    if (c.dtype === "f16" && !ctx.caps.features.includes("shader-f16")) {
      manifest.push({ index, files: [], skipped: "the adapter has no shader-f16" });
      continue;
    }
    const layout = c.shape === "decode"
      ? { kind: "bshd" as const, batch: 1, seqQ: 1, seqK: 1024, causal: true }
      : { kind: "bshd" as const, batch: 1, seqQ: 64, seqK: 64, causal: true };
    const plan = gpuPlanOf(resolve({ spec, dtype: c.dtype, backend: c.backend, layout }, caps));
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
    "| case | form | entry point | loops | wgpu-bounded | private arrays (elements) | non-constant private accesses |",
    "| --- | --- | --- | ---: | ---: | ---: | ---: |",
  ];
  let plain = 0;
  for (const m of modules) {
    if (m.loops === 0 && m.privateArrays === 0) {
      plain++;
      continue;
    }
    rows.push(
      `| ${m.label} | ${m.form} | ${m.entryPoints.join(", ")} | ${m.loops} | ${m.boundedLoops} | ` +
        `${m.privateArrays} (${m.privateArrayElements}) | ${m.dynamicPrivateAccesses} |`,
    );
  }
  if (plain > 0) rows.push("", `${plain} more module(s) without loops or private arrays.`);
  return rows.join("\n");
}

const HELP = `tools/spirv_audit.ts: count what the SPIR-V of the GPU-class kernels keeps in loops

usage: deno run -A tools/spirv_audit.ts [--json] [--keep DIR] [--driver LIB]

  --json        print {modules, skipped} as JSON instead of the table
  --keep DIR    write the .spv files to DIR (its old .spv files are removed) and keep them
  --driver LIB  the real Vulkan driver's library (default: the first ICD manifest's, lavapipe's
                first)

Needs a Vulkan driver and a C compiler (cc). Exit 0 with the table; 2 on bad arguments;
1 when the shim, the driver or a case fails, with the reason.`;

if (import.meta.main) {
  let values;
  try {
    ({ values } = parseArgs({
      args: Deno.args,
      options: {
        json: { type: "boolean", default: false },
        keep: { type: "string" },
        driver: { type: "string" },
        child: { type: "string" },
        cases: { type: "string" },
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
      await runChild(values.child, JSON.parse(values.cases ?? "[]"));
    } else {
      const { modules, skipped } = await auditCases(AUDIT_CASES, {
        driver: values.driver,
        keep: values.keep,
      });
      if (values.json) {
        console.log(JSON.stringify({ modules, skipped }, null, 2));
      } else {
        console.log(auditTable(modules));
        for (const s of skipped) console.log(`skipped: ${s}`);
      }
    }
  } catch (e) {
    console.error(`spirv_audit: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
