/**
 * Baselines: a {@link RunReport} reduced to what drift detection compares (per case: the
 * support decision, plan digest and reasons, the error metrics, the output digest, the
 * timing samples with median, spread and count, and the kernel source hash; plus the full
 * environment fingerprint), written to `baselines/<device-key>.json` and read back with
 * every field checked.
 *
 * @module
 */
import {
  isDirectory,
  missingPathWords,
  pathExists,
  pathMissing,
  removeAtomicTemps,
  writeTextAtomic,
} from "../util/fs.ts";
import {
  repeatedId,
  runReportProblem,
  timingRecordProblem,
  toleranceRecordProblem,
  versionProblem,
} from "../report/validate.ts";
import { CASE_STATUSES } from "../report/totals.ts";
import type { CaseResult, ParityRecord, RunReport } from "../results/types.ts";
import { deviceKey, runBackend } from "./device_key.ts";
import { DriftInputError } from "./errors.ts";
import { kernelDigest, kernelFilesFor } from "./kernel_files.ts";
import { iqr } from "./stats.ts";
import { median } from "../util/stats.ts";
import {
  type Baseline,
  type BaselineCase,
  type BaselineTiming,
  type CaseMetrics,
  METRIC_NAMES,
} from "./types.ts";
import { parseDriftJson } from "./json_text.ts";
import { wrongFileKind } from "../adapter/file_kind.ts";
import { isRecord } from "../util/is_record.ts";
import { hostLoadProblem } from "../util/host_load.ts";
import { runFolderReport, upgradeFolderProblem } from "../report/run_folder.ts";
// moved to report/ (which reads run folders, and may not import drift/); kept in drift's API
export { upgradeFolderProblem };
import { RUN_FILES } from "../report/merge.ts";
import { basename, dirname } from "node:path";

const num = (v: number | null | undefined): number | null =>
  typeof v === "number" && Number.isFinite(v) ? v : null;

function metricsOf(out?: ParityRecord, lse?: ParityRecord): CaseMetrics | null {
  if (!out && !lse) return null;
  return {
    outMaxAbs: num(out?.maxAbs),
    outMaxRel: num(out?.maxRel),
    outCosDiff: num(out?.cosDiff),
    outNormRel: num(out?.normRel),
    lseMaxAbs: num(lse?.maxAbs),
    lseMaxRel: num(lse?.maxRel),
  };
}

function timingOf(r: CaseResult): BaselineTiming | null {
  const samples = (r.timing?.samplesMs ?? []).filter((v) => Number.isFinite(v));
  if (!r.timing || samples.length === 0) return null;
  return {
    source: r.timing.source,
    ...(r.timing.scope === undefined ? {} : { scope: r.timing.scope }),
    ...(r.timing.warmupMs ? { warmupMs: r.timing.warmupMs } : {}),
    ...(r.timing.rules === undefined ? {} : { rules: r.timing.rules }),
    samplesMs: samples,
    medianMs: median(samples),
    spreadMs: iqr(samples),
    count: samples.length,
  };
}

/**
 * {@link kernelDigest} of a file list, computed once per list in `digests`: a report's cases
 * share a few lists (one per backend), and each digest is a round trip to WebCrypto.
 */
function digestOf(
  files: readonly string[],
  kernelHashes: Readonly<Record<string, string>>,
  digests: Map<string, Promise<string | null>>,
): Promise<string | null> {
  const key = files.join("\n");
  let digest = digests.get(key);
  if (digest === undefined) {
    digest = kernelDigest(files, kernelHashes);
    digests.set(key, digest);
  }
  return digest;
}

/**
 * One case result as a baseline entry. `digests` carries the kernel digests computed so far
 * across the cases of one report (its kernel hashes), so each file list is hashed once.
 *
 * @example
 * ```ts ignore
 * import { baselineCase } from "./baseline.ts";
 * const entry = await baselineCase(report.results[0], report.fingerprint.kernelHashes);
 * ```
 */
export async function baselineCase(
  r: CaseResult,
  kernelHashes: Readonly<Record<string, string>>,
  digests: Map<string, Promise<string | null>> = new Map(),
): Promise<BaselineCase> {
  const ranKernel = r.decision === "supported" && r.backend !== undefined;
  // The backend table covers attention cases; any other mode (e.g. a full layer) depends,
  // conservatively, on every kernel file.
  const attention = (r.params?.mode ?? "attention") === "attention";
  const kernelFiles = !ranKernel
    ? []
    : attention
    ? kernelFilesFor(r.backend ?? null, kernelHashes)
    : Object.keys(kernelHashes).sort();
  return {
    id: r.id,
    params: r.params ?? null,
    status: r.status,
    decision: r.decision,
    backend: r.backend ?? null,
    planDigest: r.planDigest ?? null,
    reasons: r.reasons ? r.reasons.map((x) => ({ code: x.code, message: x.message })) : null,
    parity: r.out && r.lse ? { out: r.out.pass, lse: r.lse.pass } : null,
    metrics: metricsOf(r.out, r.lse),
    tolerance: r.tolerance ?? null,
    outputDigest: r.outputDigest ?? null,
    timing: timingOf(r),
    kernelFiles,
    kernelHash: await digestOf(kernelFiles, kernelHashes, digests),
    message: r.message,
    ...(r.seed === undefined ? {} : { seed: r.seed }),
  };
}

/**
 * Reduce a run report to a baseline. The device key comes from the fingerprint's adapter
 * and the backend (default: `DENO_WEBGPU_BACKEND`, see `device_key.ts`).
 *
 * @example
 * ```ts ignore
 * import { baselineFromReport } from "./baseline.ts";
 * const b = await baselineFromReport(report, { backend: "vulkan" });
 * b.deviceKey; // "llvmpipe-65541-vulkan"
 * ```
 */
export async function baselineFromReport(
  report: RunReport,
  options: { backend?: string } = {},
): Promise<Baseline> {
  const backend = runBackend(report.fingerprint, options);
  const hashes = report.fingerprint.kernelHashes ?? {};
  const cases: BaselineCase[] = [];
  const digests = new Map<string, Promise<string | null>>();
  for (const r of report.results) cases.push(await baselineCase(r, hashes, digests));
  return {
    format: "mla-harness-baseline",
    version: 1,
    deviceKey: deviceKey(report.fingerprint, { backend }),
    backend,
    createdAt: report.startedAt,
    matrix: report.matrix,
    filter: report.filter,
    shard: report.shard,
    scope: [...report.shardIds],
    interrupted: report.interrupted,
    fingerprint: report.fingerprint,
    cases,
    ...(report.plantedFault === undefined ? {} : { plantedFault: report.plantedFault }),
    // which backend and modules ran, so that a compare can name a change of them
    ...(report.backend === undefined ? {} : { backendOverride: report.backend }),
    ...(report.backendModules?.length ? { backendModules: [...report.backendModules] } : {}),
    ...(report.backendModulePaths?.length
      ? { backendModulePaths: [...report.backendModulePaths] }
      : {}),
    // how many reference rows checked each case, so that a compare can name a change of it
    ...(report.maxRows === undefined ? {} : { maxRows: report.maxRows }),
    // the host's load as the run timed its cases, so that a compare can say when it was busy
    ...(report.hostLoad === undefined ? {} : { hostLoad: report.hostLoad }),
  };
}

const isStr = (v: unknown): v is string => typeof v === "string";
const isNullableStr = (v: unknown) => v === null || typeof v === "string";
const isNullableMeasure = (v: unknown) =>
  v === null || (typeof v === "number" && Number.isFinite(v) && v >= 0);

function metricsProblem(m: unknown): string | null {
  if (m === null) return null;
  if (!isRecord(m)) return 'field "metrics" must be an object or null';
  // Every metric, by its name: a missing or misspelt one compared as undefined, and no growth
  // over undefined is drift, so numeric drift went unseen without a word.
  const names: readonly string[] = METRIC_NAMES;
  const unknown = Object.keys(m).find((k) => !names.includes(k));
  if (unknown !== undefined) {
    return `field "metrics.${unknown}" is not a metric (the metrics are ${names.join(", ")})`;
  }
  for (const k of names) {
    if (!(k in m)) {
      return `field "metrics.${k}" is missing (a number or null; the metrics are ${
        names.join(", ")
      })`;
    }
    if (!isNullableMeasure(m[k])) {
      return `field "metrics.${k}" must be a finite number >= 0 or null (got ${
        JSON.stringify(m[k])
      })`;
    }
  }
  return null;
}

function reasonsProblem(v: unknown): string | null {
  if (v === null) return null;
  if (!Array.isArray(v)) return 'field "reasons" must be an array or null';
  const bad = v.findIndex((r) =>
    !isRecord(r) || typeof r.code !== "string" || typeof r.message !== "string"
  );
  return bad < 0
    ? null
    : `field "reasons[${bad}]" must be an object with string "code" and "message" (got ${
      JSON.stringify(v[bad])
    })`;
}

function parityProblem(p: unknown): string | null {
  if (p === null) return null;
  if (!isRecord(p) || typeof p.out !== "boolean" || typeof p.lse !== "boolean") {
    return 'field "parity" must be null or an object with booleans "out" and "lse"';
  }
  return null;
}

function timingProblem(t: unknown): string | null {
  if (t === null) return null;
  if (t === undefined) return 'field "timing" must be an object or null';
  const p = timingRecordProblem(t);
  if (p !== null || !isRecord(t)) return p;
  // compare reads the samples only: a count or median edited by hand that disagrees with them
  // was accepted, and read by nobody but the file's reader
  const samples = t.samplesMs as readonly number[];
  if (t.count !== samples.length) {
    return `field "timing.count" must be the number of "timing.samplesMs" (${samples.length}; ` +
      `got ${JSON.stringify(t.count)}): compare reads the samples, not the count`;
  }
  if (samples.length === 0) return null; // no median to check (compare says "too few samples")
  const m = median(samples);
  const medianMs = t.medianMs as number;
  if (Math.abs(medianMs - m) > 1e-9 * Math.max(1, Math.abs(m))) {
    return `field "timing.medianMs" must be the median of "timing.samplesMs" (${m}; got ` +
      `${medianMs}): compare reads the samples, not the median`;
  }
  return null;
}

function caseProblem(c: unknown): string | null {
  if (!isRecord(c)) return "not a JSON object";
  if (!isStr(c.id) || c.id === "") return 'field "id" must be a non-empty string';
  if (!isStr(c.status) || !(CASE_STATUSES as readonly string[]).includes(c.status)) {
    return `field "status" must be one of ${CASE_STATUSES.join(", ")} (got ${
      JSON.stringify(c.status)
    })`;
  }
  if (!["supported", "unsupported", "invalid", "not-reached"].includes(String(c.decision))) {
    return `field "decision" must be supported, unsupported, invalid or not-reached (got ${
      JSON.stringify(c.decision)
    })`;
  }
  for (const k of ["backend", "planDigest", "outputDigest", "kernelHash"]) {
    if (!isNullableStr(c[k])) return `field "${k}" must be a string or null`;
  }
  const p = reasonsProblem(c.reasons) ?? metricsProblem(c.metrics) ?? parityProblem(c.parity) ??
    timingProblem(c.timing) ?? toleranceRecordProblem(c.tolerance);
  if (p !== null) return p;
  if (!Array.isArray(c.kernelFiles) || !c.kernelFiles.every(isStr)) {
    return 'field "kernelFiles" must be an array of kernel file names';
  }
  if (c.params !== null && c.params !== undefined && !isRecord(c.params)) {
    return `field "params" must be the case's parameters (an object) or null (got ${
      JSON.stringify(c.params)
    })`;
  }
  if (!isStr(c.message)) return 'field "message" must be a string';
  if (c.seed !== undefined && !Number.isSafeInteger(c.seed)) {
    return 'field "seed" must be an integer or absent';
  }
  return null;
}

/**
 * What is wrong with a value that should be a {@link Baseline}, or null when it is one.
 * Another of the harness's files (a run report, a caps file, ...) is named for what it is
 * (adapter/file_kind.ts).
 *
 * @example
 * ```ts
 * import { baselineProblem } from "./baseline.ts";
 * baselineProblem({ format: "x" }); // 'field "format" must be "mla-harness-baseline" ...'
 * ```
 */
export function baselineProblem(v: unknown): string | null {
  const other = wrongFileKind(v, "baseline");
  if (other !== null) return other;
  if (!isRecord(v)) return "not a JSON object";
  if (v.format !== "mla-harness-baseline") {
    return `field "format" must be "mla-harness-baseline" (got ${
      JSON.stringify(v.format)
    }): not a baseline`;
  }
  const version = versionProblem(v.version, "remake it with this one (baseline update)");
  if (version !== null) return version;
  for (const k of ["deviceKey", "backend", "createdAt", "matrix"]) {
    if (!isStr(v[k])) return `field "${k}" must be a string`;
  }
  if (!isNullableStr(v.filter)) return 'field "filter" must be a string or null';
  // a shard edited to a number, or an interrupted flag to "no", read as another selection or
  // as a run stopped early ("no" is true), without a word
  if (v.shard !== null && !(isStr(v.shard) && /^\d+\/\d+$/.test(v.shard))) {
    return `field "shard" must be the run's shard "i/n" or null (got ${JSON.stringify(v.shard)})`;
  }
  if (typeof v.interrupted !== "boolean") {
    return `field "interrupted" must be true or false (got ${JSON.stringify(v.interrupted)})`;
  }
  if (!Array.isArray(v.scope) || !v.scope.every(isStr)) {
    return 'field "scope" must be an array of strings';
  }
  const fp = v.fingerprint;
  // each of the four the message names: a baseline without its adapter would read as a
  // change of driver in every compare
  if (
    !isRecord(fp) || !isRecord(fp.runtime) || !isRecord(fp.host) || !isRecord(fp.adapter) ||
    !isRecord(fp.kernelHashes)
  ) {
    const lacks = isRecord(fp)
      ? ["runtime", "host", "adapter", "kernelHashes"].filter((k) => !isRecord(fp[k]))
      : [];
    return 'field "fingerprint" must be a fingerprint (runtime, host, adapter, kernelHashes)' +
      (lacks.length > 0 ? `; it lacks ${lacks.join(", ")}` : "");
  }
  if (v.plantedFault !== undefined && (!isStr(v.plantedFault) || v.plantedFault === "")) {
    return 'field "plantedFault" must be a fault id or absent';
  }
  if (
    v.backendOverride !== undefined && (!isStr(v.backendOverride) || v.backendOverride === "")
  ) {
    return 'field "backendOverride" must be a backend id or absent (absent: the adapter chose)';
  }
  if (
    v.backendModules !== undefined &&
    (!Array.isArray(v.backendModules) || !v.backendModules.every((m) => isStr(m) && m !== ""))
  ) {
    return 'field "backendModules" must be the --backend-module paths or absent';
  }
  if (
    v.backendModulePaths !== undefined &&
    (!Array.isArray(v.backendModulePaths) || !v.backendModulePaths.every(isStr) ||
      v.backendModulePaths.length !==
        (Array.isArray(v.backendModules) ? v.backendModules.length : 0))
  ) {
    return 'field "backendModulePaths" must be where each of "backendModules" is, or absent';
  }
  if (
    v.maxRows !== undefined &&
    (typeof v.maxRows !== "number" || !Number.isInteger(v.maxRows) || v.maxRows < 1)
  ) {
    return 'field "maxRows" must be the run\'s --max-rows (an integer >= 1) or absent';
  }
  if (v.hostLoad !== undefined) {
    const load = hostLoadProblem(v.hostLoad, "hostLoad");
    if (load !== null) return load;
  }
  if (!Array.isArray(v.cases)) return 'field "cases" must be an array';
  for (let i = 0; i < v.cases.length; i++) {
    const p = caseProblem(v.cases[i]);
    if (p !== null) return `cases[${i}]: ${p}`;
  }
  const dup = repeatedId(v.cases.map((c) => (c as { id: string }).id));
  if (dup !== null) {
    return `cases[${dup.at}]: id ${JSON.stringify(dup.id)} repeats cases[${dup.first}] ` +
      "(each case appears once in a baseline; which entry would count is ambiguous)";
  }
  return null;
}

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new DriftInputError(path, "no such file");
    if (e instanceof Deno.errors.IsADirectory) throw new DriftInputError(path, "is a directory");
    throw new DriftInputError(path, `cannot read (${e instanceof Error ? e.message : e})`);
  }
  return parseDriftJson(path, text, { written: true });
}

/**
 * Read and check a baseline file; a DriftInputError names the file and the field.
 *
 * @example
 * ```ts ignore
 * import { readBaseline } from "./baseline.ts";
 * const b = await readBaseline("baselines/llvmpipe-65541-vulkan.json");
 * ```
 */
export async function readBaseline(path: string): Promise<Baseline> {
  const v = await readJson(path);
  const problem = baselineProblem(v);
  if (problem !== null) throw new DriftInputError(path, problem);
  return v as Baseline;
}

/**
 * Write a baseline as `<dir>/<deviceKey>.json` (2-space JSON, the layout `deno fmt`
 * keeps) and return the path.
 *
 * @example
 * ```ts ignore
 * import { writeBaseline } from "./baseline.ts";
 * await writeBaseline("baselines", baseline); // "baselines/llvmpipe-65541-vulkan.json"
 * ```
 */
export async function writeBaseline(dir: string, baseline: Baseline): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  const folder = dir.replace(/\/+$/, "");
  const name = `${baseline.deviceKey}.json`;
  // A write of this baseline that a killed update left half-done (its temp file) goes: it
  // stayed in the baselines folder for good, an untracked file beside the committed ones.
  // Only this device's: another device's update may be writing its own there now.
  for (const t of await removeAtomicTemps(folder || "/", { of: name })) {
    console.error(
      `note: removed ${folder}/${t.name}, a half-written copy of ${name} that a killed ` +
        "update left (its write never finished)",
    );
  }
  const path = `${folder}/${name}`;
  await writeTextAtomic(path, JSON.stringify(baseline, null, 2) + "\n");
  return path;
}

/** Where a `--baseline <file|dir>` points for a device. */
export interface BaselineLocation {
  /** The file (for a directory: `<dir>/<key>.json`). */
  readonly path: string;
  /** Whether the argument was a directory. */
  readonly fromDir: boolean;
  /** Whether the file exists. */
  readonly exists: boolean;
  /**
   * The key the file is named after when it is this device's baseline under another one:
   * the device key an older harness gave it (before d25df28 lavapipe's ended in
   * `-fallback-vulkan`), which this harness's rules make `key`. Absent for `<key>.json`.
   */
  readonly writtenAs?: string;
}

/**
 * Resolve `--baseline <file|dir>`: a directory picks `<dir>/<deviceKey>.json`, or, when the
 * folder has none, the one baseline in it whose device key under this harness's rules is
 * `key` (a baseline an older harness named by its own key rules: `writtenAs` says so). Two
 * such files throw DriftInputError naming them.
 *
 * @example
 * ```ts ignore
 * import { locateBaseline } from "./baseline.ts";
 * const loc = await locateBaseline("baselines/", "llvmpipe-65541-vulkan");
 * if (!loc.exists) console.warn(`no baseline for this device: ${loc.path}`);
 * ```
 */
export async function locateBaseline(fileOrDir: string, key: string): Promise<BaselineLocation> {
  if (await isDirectory(fileOrDir)) {
    const dir = fileOrDir.replace(/\/+$/, "");
    const path = `${dir}/${key}.json`;
    if (await pathExists(path)) return { path, fromDir: true, exists: true };
    const renamed = await baselinesKeyedAs(dir, key);
    if (renamed.length > 1) {
      throw new DriftInputError(
        dir,
        `has no ${key}.json, and ${renamed.join(", ")} are each this device's baseline under ` +
          `the key an older harness gave it: keep the one to compare with as ${key}.json`,
      );
    }
    if (renamed.length === 1) {
      const [name] = renamed;
      return { path: `${dir}/${name}`, fromDir: true, exists: true, writtenAs: name.slice(0, -5) };
    }
    return { path, fromDir: true, exists: false };
  }
  return { path: fileOrDir, fromDir: false, exists: await pathExists(fileOrDir) };
}

/** The names of the baselines in `dir` whose device key under this harness's rules is `key`. */
async function baselinesKeyedAs(dir: string, key: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && e.name.endsWith(".json") && e.name !== `${key}.json`) names.push(e.name);
    }
  } catch {
    return []; // unreadable: none
  }
  const found: string[] = [];
  for (const name of names.sort()) {
    let v: unknown;
    try {
      v = JSON.parse(await Deno.readTextFile(`${dir}/${name}`));
    } catch {
      continue; // not a baseline: another file of the folder
    }
    if (baselineProblem(v) !== null) continue;
    const b = v as Baseline;
    if (deviceKey(b.fingerprint, { backend: b.backend }) === key) found.push(name);
  }
  return found;
}

/** What either side of a comparison may be, as {@link loadComparable} reads it. */
export const COMPARABLE_INPUTS = "give a baseline file, a report.json or a run output folder";

/**
 * Refuse (DriftInputError, exit 2) a drift input that does not exist, naming it as given (a
 * folder, a file, or either: util/fs.ts missingPathWords) and then `valid`, what it may be.
 * A path that exists, or cannot be asked about, is left to its reader.
 *
 * @example
 * ```ts ignore
 * import { checkInputExists } from "./baseline.ts";
 * await checkInputExists("out/gone/", "give a run output folder");
 * // throws: out/gone/: the folder does not exist; give a run output folder
 * ```
 */
export async function checkInputExists(path: string, valid: string): Promise<void> {
  if (await pathMissing(path)) {
    throw new DriftInputError(path, `${missingPathWords(path)}; ${valid}`);
  }
}

/**
 * Read either side of a comparison: a baseline file, a run's report.json, or a run output
 * directory (its report.json). Reports become baselines with {@link baselineFromReport}.
 * A path that does not exist is named as such ({@link checkInputExists}).
 *
 * @example
 * ```ts ignore
 * import { loadComparable } from "./baseline.ts";
 * const current = await loadComparable("out/smoke"); // a run directory
 * const base = await loadComparable("baselines/llvmpipe-65541-vulkan.json");
 * ```
 */
export async function loadComparable(
  path: string,
  options: { backend?: string } = {},
): Promise<Baseline> {
  await checkInputExists(path, COMPARABLE_INPUTS);
  const upgrade = await upgradeFolderProblem(path);
  if (upgrade !== null) throw new DriftInputError(path, upgrade.problem);
  const found = await runFolderReport(path, {
    valid: `${COMPARABLE_INPUTS} (a baselines folder needs the current run's device key)`,
  });
  if (found.problem !== undefined) throw new DriftInputError(path, found.problem);
  const file = found.file;
  let v: unknown;
  try {
    v = await readJson(file);
  } catch (e) {
    // not JSON at all (results.jsonl, summary.md): say what to give, and which folder; a
    // .json file that does not parse (a truncated report.json) is the right kind, broken
    const name = basename(file);
    if (
      !(e instanceof DriftInputError) || !e.message.startsWith(`${file}: not valid JSON`) ||
      name.endsWith(".json")
    ) {
      throw e;
    }
    const runFile = Object.values(RUN_FILES).some((f) => f === name);
    throw new DriftInputError(
      file,
      `${e.message.slice(file.length + 2)}; ${COMPARABLE_INPUTS}` +
        (runFile
          ? ` (${name} is one of a run folder's files: give the folder, ${dirname(file)})`
          : ""),
    );
  }
  if (isRecord(v) && v.format === "mla-harness-baseline") {
    const p = baselineProblem(v);
    if (p !== null) throw new DriftInputError(file, p);
    return v as unknown as Baseline;
  }
  // A run report of any version: one of another version is named for it (a newer harness's),
  // not as neither kind of file.
  if (isRecord(v) && "version" in v && "results" in v) {
    const p = runReportProblem(v) ??
      (v.hostLoad === undefined ? null : hostLoadProblem(v.hostLoad, "hostLoad"));
    if (p !== null) throw new DriftInputError(file, p);
    return await baselineFromReport(v as unknown as RunReport, options);
  }
  throw new DriftInputError(
    file,
    wrongFileKind(v, ["baseline", "run-report"]) ??
      'neither a baseline (field "format": "mla-harness-baseline") nor a run report ' +
        '(fields "version": 1 and "results")',
  );
}
