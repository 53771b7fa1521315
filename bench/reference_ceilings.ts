/**
 * Reference ceilings (`bench --reference-ceilings <report.json>`): the ceilings of an earlier
 * bench report of the same device, joined with the ones this run measures.
 *
 * `bench` judges each case against the better of the ceilings it measures before and after
 * its cases, but on a shared host a spell of contention can cover both measurements: one run
 * on this project's 2-vCPU machine measured a copy ceiling of 2.08 GB/s against 9.8 GB/s at
 * a quieter hour, and judged a decode 0.685 of its roofline ("met") that healthy ceilings put
 * near 0.2. Contention only ever lowers a measurement, so the higher of a run's figure and a
 * reference's, measured on the same adapter at a quiet moment, is the better estimate of
 * what the device can do. A nightly job keeps one such report and passes it to every run.
 *
 * @module
 */
import { z } from "zod";
import { ConfigError, issuesFromSchema } from "../adapter/errors.ts";
import { readJsonFile } from "../adapter/json_file.ts";
import { wrongFileKindIssue } from "../adapter/file_kind.ts";
import type { Ceilings } from "./ceilings.ts";

/** The figures taken from a reference report, and where they came from. */
export interface ReferenceCeilings {
  /** The report file they were read from. */
  readonly file: string;
  /** The adapter the reference was measured on (its `machine.adapter`). */
  readonly adapter: string;
  /**
   * Its device key (`machine.deviceKey`: the adapter and the WebGPU backend, e.g.
   * `llvmpipe-65541-vulkan`); absent in reports written before session 44.
   */
  readonly deviceKey?: string;
  /** Copy bandwidth, GB/s. */
  readonly copyGBps: number;
  /** Read bandwidth, GB/s. */
  readonly readGBps: number;
  /** Texture-read bandwidth, GB/s; absent in a report written before session 15. */
  readonly textureReadGBps?: number;
  /** f32 FMA peak, GFLOP/s. */
  readonly fmaGflops: number;
}

/** A measured figure below this share of the reference's is reported as contention. */
export const REFERENCE_LOW_SHARE = 0.5;

/**
 * The figures a reference can raise, as the reports name them (name, unit): the warnings and
 * the reports' lines said the field names (`copyGBps 1.46`) without a unit.
 *
 * @example
 * ```ts
 * import { CEILING_LABELS } from "./reference_ceilings.ts";
 * CEILING_LABELS.fmaGflops; // ["FMA f32", "GFLOP/s"]
 * ```
 */
export const CEILING_LABELS: Readonly<
  Record<"copyGBps" | "readGBps" | "textureReadGBps" | "fmaGflops", readonly [string, string]>
> = {
  copyGBps: ["copy", "GB/s"],
  readGBps: ["read", "GB/s"],
  textureReadGBps: ["texture read", "GB/s"],
  fmaGflops: ["FMA f32", "GFLOP/s"],
};

const positive = (what: string) =>
  z.number({ error: `must be a positive number (${what})` }).positive({
    error: `must be a positive number (${what})`,
  });

const referenceSchema = z.object({
  machine: z.object({
    adapter: z.string({ error: "must be a string: the adapter the reference ran on" }),
    deviceKey: z.string({ error: "must be a string: the device key of the reference's run" })
      .optional(),
  }, { error: "is required: a bench report (report.json of --out, or bench --json) has it" }),
  ceilings: z.object({
    copyGBps: positive("GB/s"),
    readGBps: positive("GB/s"),
    textureReadGBps: positive("GB/s").optional(),
    fmaGflops: positive("GFLOP/s"),
  }, { error: "is required: a bench report (report.json of --out, or bench --json) has it" }),
});

/**
 * Validate the parsed JSON of a bench report as a reference; a wrong value throws a
 * `ConfigError` naming `file` and every wrong field.
 *
 * @example
 * ```ts
 * import { parseReferenceCeilings } from "./reference_ceilings.ts";
 * const ref = parseReferenceCeilings({
 *   machine: { adapter: "llvmpipe (LLVM 15.0.6, 256 bits)" },
 *   ceilings: { copyGBps: 9.8, readGBps: 10.2, fmaGflops: 123 },
 * }, "quiet/report.json");
 * ref.copyGBps; // 9.8
 * ```
 */
export function parseReferenceCeilings(raw: unknown, file: string): ReferenceCeilings {
  const parsed = referenceSchema.safeParse(raw);
  if (!parsed.success) {
    // another of the harness's files (a run report, a caps file, ...) is named for what it is
    const other = wrongFileKindIssue(raw, "bench-report");
    throw new ConfigError(
      file,
      other === null ? issuesFromSchema(parsed.error.issues, raw) : [other],
      "not a bench report with ceilings (--reference-ceilings)",
    );
  }
  const { machine, ceilings } = parsed.data;
  const { copyGBps, readGBps, textureReadGBps, fmaGflops } = ceilings;
  return {
    file,
    adapter: machine.adapter,
    ...(machine.deviceKey === undefined ? {} : { deviceKey: machine.deviceKey }),
    copyGBps,
    readGBps,
    ...(textureReadGBps === undefined ? {} : { textureReadGBps }),
    fmaGflops,
  };
}

/**
 * Read a reference report from disk: a missing file or one that is not JSON throws a
 * `ConfigError` naming it, as does a report without ceilings.
 *
 * @example
 * ```ts ignore
 * import { readReferenceCeilings } from "./reference_ceilings.ts";
 * const ref = await readReferenceCeilings("nightly/quiet/report.json");
 * ```
 */
export async function readReferenceCeilings(file: string): Promise<ReferenceCeilings> {
  const raw = await readJsonFile(file, {
    what: "reference ceilings (--reference-ceilings)",
    hint: "give the report.json that bench --out wrote",
  });
  return parseReferenceCeilings(raw, file);
}

/**
 * Throw a `ConfigError` naming both adapters unless `reference` was measured on `adapter`
 * (this run's `machine.adapter`): another device's ceilings would make every fraction of
 * the run a fraction of something else. Where both name a device key (`options.deviceKey`,
 * this run's), the keys must agree too: llvmpipe has one adapter name on Vulkan and on the
 * GL fallback, whose ceilings differ, and a GL bench judged by Vulkan's blamed the gaps on
 * contention.
 *
 * @example
 * ```ts
 * import { checkReferenceAdapter, parseReferenceCeilings } from "./reference_ceilings.ts";
 * const ref = parseReferenceCeilings({
 *   machine: { adapter: "llvmpipe" },
 *   ceilings: { copyGBps: 9.8, readGBps: 10.2, fmaGflops: 123 },
 * }, "quiet/report.json");
 * checkReferenceAdapter(ref, "llvmpipe"); // passes
 * ```
 */
export function checkReferenceAdapter(
  reference: ReferenceCeilings,
  adapter: string,
  options: { readonly deviceKey?: string } = {},
): void {
  if (reference.adapter === adapter) {
    const { deviceKey } = options;
    if (
      deviceKey === undefined || reference.deviceKey === undefined ||
      reference.deviceKey === deviceKey
    ) return;
    throw new ConfigError(reference.file, [{
      path: "machine.deviceKey",
      value: reference.deviceKey,
      message: `is another device's: its ceilings were measured as device ` +
        `"${reference.deviceKey}", this run is "${deviceKey}" (one adapter, another WebGPU ` +
        "backend or runtime); give a report of this device (bench --out <dir> writes " +
        "<dir>/report.json)",
    }], "reference ceilings of another device (--reference-ceilings)");
  }
  throw new ConfigError(reference.file, [{
    path: "machine.adapter",
    value: reference.adapter,
    message: `is another adapter's: its ceilings were measured on adapter ` +
      `"${reference.adapter}", this run's adapter is "${adapter}"; give a report of this ` +
      "adapter (bench --out <dir> writes <dir>/report.json)",
  }], "reference ceilings of another adapter (--reference-ceilings)");
}

/**
 * This run's ceilings joined with a reference's: copy, read, texture read (where the
 * reference has it) and FMA take the higher figure (the other figures stay this run's),
 * and a warning names each figure this run measured
 * below {@link REFERENCE_LOW_SHARE} of the reference. `used` lists the figures the
 * reference raised. Without a reference the ceilings come back as they are. The caller
 * checks that both come from the same adapter ({@link checkReferenceAdapter}).
 *
 * @example
 * ```ts ignore
 * import { withReferenceCeilings } from "./reference_ceilings.ts";
 * const { ceilings, warnings } = withReferenceCeilings(measured, reference);
 * ```
 */
export function withReferenceCeilings(
  measured: Ceilings,
  reference: ReferenceCeilings | undefined,
): { ceilings: Ceilings; used: string[]; warnings: string[] } {
  const used: string[] = [];
  const warnings: string[] = [];
  if (reference === undefined) return { ceilings: measured, used, warnings };
  const keys = ["copyGBps", "readGBps", "textureReadGBps", "fmaGflops"] as const;
  const joined: Partial<Record<(typeof keys)[number], number>> = {};
  for (const k of keys) {
    const ref = reference[k];
    const own = measured[k];
    if (ref === undefined) continue;
    if (own === undefined || ref > own) {
      used.push(k);
      joined[k] = ref;
    }
    if (own !== undefined && own < REFERENCE_LOW_SHARE * ref) {
      const [name, unit] = CEILING_LABELS[k];
      warnings.push(
        `this run measured ${name} ${own.toFixed(2)} ${unit}, under half of the ${
          ref.toFixed(2)
        } ${unit} in the reference ${reference.file}: contention while the ceilings ran; ` +
          "fractions are judged against the reference's figure",
      );
    }
  }
  return { ceilings: { ...measured, ...joined }, used, warnings };
}
