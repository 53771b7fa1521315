/**
 * The static barrier check (kernels/workgroup_hazards.ts) over a user backend's WGSL:
 * the files its module lists, on load, and each source its `launch()` compiles, as it
 * compiles it. Parity on a device that runs a workgroup in lock step (lavapipe) cannot
 * catch a missing or divergent barrier, so a nightly run there would pass a kernel that
 * races on a GPU. `run`, `explain`, `bench`, `layer` and `upgrade-check` warn of each
 * finding in the listed files; a run's report.json, summary.md and report.html carry
 * both kinds (docs/backends.md).
 *
 * @module
 */
import { barrierCheck, type BarrierFinding } from "./compile_check.ts";
import { sourceLocation, workgroupHazards } from "./workgroup_hazards.ts";
import { mergeLabels } from "../util/merge_labels.ts";

/** What the barrier check found in a module's WGSL files. */
export interface ModuleBarrierCheck {
  /** Each finding, its location naming the file as the module's `files` lists it. */
  readonly findings: readonly BarrierFinding[];
  /** `file: specialization: why` for the specializations the check could not read. */
  readonly skipped: readonly string[];
}

/**
 * Check the `.wgsl` files among a module's sources, each in f32 and (where it has the
 * `// @enable-f16` marker line) f16, with and without its subgroup lines and with each named
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
    let found;
    try {
      found = barrierCheck(file, code, dtypes);
    } catch (e) {
      // a file the harness cannot specialize is a note, never a failed load
      skipped.push(`${file}: ${e instanceof Error ? e.message : String(e)}`);
      continue;
    }
    findings.push(...found.findings);
    if (found.skipped !== null) skipped.push(`${file}: ${found.skipped}`);
  }
  return { findings, skipped };
}

/** A finding of the barrier check in a user backend's kernel, with the backend's id. */
export interface BackendFinding extends BarrierFinding {
  /** The backend whose module lists the file, or whose launch compiled the source. */
  readonly backend: string;
}

/** Compiled sources already checked (backend, file name, label and code). */
const compiledChecks = new Set<string>();
/** Their findings, in the order the sources were compiled. */
const compiledOrder: { backend: string; findings: BarrierFinding[] }[] = [];
/** The findings {@link addCompiledFindings} kept (backend, location, kind, message, labels). */
const addedFindings = new Set<string>();

/**
 * Check a source a user backend's `launch()` compiles (`LaunchKit.compile`, after the
 * harness's specialization, before unrolling): what a module builds in code, not listed in
 * its `files`, is checked as it runs. Each distinct source is checked once per process;
 * source the check cannot parse is left out (a listed file's is named on load).
 *
 * @example
 * ```ts
 * import { checkCompiledKernel, compiledBarrierFindings } from "./module_barriers.ts";
 * const code = "var<workgroup> s: array<f32, 4>;\n@compute @workgroup_size(4)\n" +
 *   "fn main(@builtin(local_invocation_index) i: u32) { s[i] = 1.0; let x = s[0]; }";
 * checkCompiledKernel("mine", { fileName: "gen.wgsl", code }, "f32");
 * // the process's list: other sources checked before are in it too
 * compiledBarrierFindings().some((f) => f.location === "gen.wgsl:3"); // true
 * ```
 */
export function checkCompiledKernel(
  backend: string,
  source: { readonly fileName: string; readonly code: string },
  label: string,
): void {
  const key = `${backend}\u0000${source.fileName}\u0000${label}\u0000${source.code}`;
  if (compiledChecks.has(key)) return;
  let findings: BarrierFinding[] = [];
  try {
    findings = workgroupHazards(source.code, { fileName: source.fileName }).map((h) => ({
      location: sourceLocation(source.code, source.fileName, h.second.line),
      labels: [label],
      kind: h.kind,
      message: h.message,
    }));
  } catch {
    // outside the subset the check parses: nothing to say of it here
  }
  compiledChecks.add(key);
  compiledOrder.push({ backend, findings });
}

/**
 * Record findings another runtime's {@link checkCompiledKernel} made (the Chromium page's,
 * sent with each case's reply), so that {@link compiledBarrierFindings} lists them too.
 *
 * @example
 * ```ts
 * import { addCompiledFindings, compiledBarrierFindings } from "./module_barriers.ts";
 * addCompiledFindings([
 *   { backend: "mine", location: "gen.wgsl:3", labels: ["f32"], kind: "hazard", message: "m" },
 * ]);
 * compiledBarrierFindings().some((f) => f.backend === "mine" && f.location === "gen.wgsl:3"); // true
 * ```
 */
export function addCompiledFindings(findings: readonly BackendFinding[]): void {
  for (const { backend, ...f } of findings) {
    // each reply carries the page's whole list: a finding is kept once
    const key = JSON.stringify([backend, f.location, f.kind, f.message, f.labels]);
    if (addedFindings.has(key)) continue;
    addedFindings.add(key);
    compiledOrder.push({ backend, findings: [{ ...f, labels: [...f.labels] }] });
  }
}

/**
 * Every finding of {@link checkCompiledKernel} so far, each once with the labels of the
 * specializations it was found in.
 *
 * @example
 * ```ts
 * import { compiledBarrierFindings } from "./module_barriers.ts";
 * // empty until a user backend's launch compiled a racy kernel (or a page reported one)
 * compiledBarrierFindings().every((f) => f.labels.length > 0); // true
 * ```
 */
export function compiledBarrierFindings(): BackendFinding[] {
  return mergeFindings(
    compiledOrder.flatMap((c) => c.findings.map((f) => ({ backend: c.backend, ...f }))),
  );
}

/**
 * Findings of one backend, location, kind and message merged into one, their labels joined
 * (in first-seen order).
 *
 * @example
 * ```ts
 * import { mergeFindings } from "./module_barriers.ts";
 * const f = { backend: "b", location: "k.wgsl:3", kind: "hazard", message: "m" };
 * mergeFindings([{ ...f, labels: ["f32"] }, { ...f, labels: ["f16"] }])[0].labels; // ["f32", "f16"]
 * ```
 */
export function mergeFindings(findings: readonly BackendFinding[]): BackendFinding[] {
  return mergeLabels(findings, findingKey);
}

/**
 * What makes two findings one: backend, location, kind and message (not the labels).
 *
 * @example
 * ```ts
 * import { findingKey } from "./module_barriers.ts";
 * findingKey({ backend: "b", location: "k.wgsl:3", kind: "hazard", message: "m" });
 * // '["b","k.wgsl:3","hazard","m"]'
 * ```
 */
export function findingKey(
  f: { backend: string; location: string; kind: string; message: string },
): string {
  return JSON.stringify([f.backend, f.location, f.kind, f.message]);
}
