/**
 * The static barrier check (kernels/workgroup_hazards.ts) over a user backend module's
 * WGSL, on load: parity on a device that runs a workgroup in lock step (lavapipe) cannot
 * catch a missing or divergent barrier, so a nightly run there would pass a kernel that
 * races on a GPU. `run`, `explain`, `bench`, `layer` and `upgrade-check` warn of each
 * finding, and a run's report.json and summary.md carry them (docs/backends.md).
 *
 * @module
 */
import { barrierCheck, type BarrierFinding } from "./compile_check.ts";

/** What the barrier check found in a module's WGSL files. */
export interface ModuleBarrierCheck {
  /** Each finding, its location naming the file as the module's `files` lists it. */
  readonly findings: readonly BarrierFinding[];
  /** `file (specialization): why` for each specialization the check could not read. */
  readonly skipped: readonly string[];
}

/**
 * Check the `.wgsl` files among a module's sources, each in f32 and (where its first
 * line is `// @enable-f16`) f16, with and without its subgroup lines and with each named
 * line switch, as `compile` does. Other files are not read.
 *
 * @example
 * ```ts
 * import { checkModuleSources } from "./module_barriers.ts";
 * const code = "var<workgroup> s: array<f32, 4>;\n@compute @workgroup_size(4)\n" +
 *   "fn main(@builtin(local_invocation_index) i: u32) { s[i] = 1.0; let x = s[0]; }";
 * checkModuleSources([{ file: "k.wgsl", code }]).findings[0].location; // "k.wgsl:3"
 * checkModuleSources([{ file: "notes.json", code: "{}" }]).findings.length; // 0
 * ```
 */
export function checkModuleSources(
  sources: readonly { readonly file: string; readonly code: string }[],
): ModuleBarrierCheck {
  const findings: BarrierFinding[] = [];
  const skipped: string[] = [];
  for (const { file, code } of sources) {
    if (!file.endsWith(".wgsl")) continue;
    const dtypes = /^\/\/ @enable-f16$/m.test(code) ? ["f32", "f16"] as const : ["f32"] as const;
    const found = barrierCheck(file, code, dtypes);
    findings.push(...found.findings);
    if (found.skipped !== null) skipped.push(`${file}: ${found.skipped}`);
  }
  return { findings, skipped };
}
