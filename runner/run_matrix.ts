/**
 * Running a whole matrix: select (filter, shard), resume, order cases so kernel
 * variants compile once, stream each result to results.jsonl as soon as it exists,
 * survive a failing case or a lost device, stop cleanly on SIGINT, and write the
 * reports.
 *
 * @module
 */
import type { MlaSpec } from "../adapter/types.ts";
import { GpuContext } from "../gpu/device.ts";
import { DeviceLostError } from "../gpu/errors.ts";
import type { SourceMutation } from "../kernels/source.ts";
import type { Fault } from "../parity/faults.ts";
import { selectMatrixCases } from "../matrix/select.ts";
import type { Case } from "../matrix/types.ts";
import { JsonlWriter, readJsonl } from "../report/jsonl.ts";
import { appendStepSummary, toMarkdown } from "../report/markdown.ts";
import { writeRunOutputs } from "../report/merge.ts";
import { type ProgressOutput, ProgressReporter } from "../report/progress.ts";
import { computeTotals } from "../report/totals.ts";
import { collectFingerprint } from "./fingerprint.ts";
import { runCase } from "./run_case.ts";
import type { CaseResult, RunReport } from "./types.ts";

/** Options of {@link runMatrix}. */
export interface RunMatrixOptions {
  /** Bundled matrix name or matrix file path. */
  matrix: string;
  /** Output directory (created). */
  out: string;
  /** `key=v1,v2;key2=v` selection. */
  filter?: string;
  /** This shard, 1-based ("2/4" = {index 2, count 4}). */
  shard?: { index: number; count: number };
  /** Refuse a selection of more cases than this (default 100000). */
  maxCases?: number;
  /** Folder the matrix's config paths must stay inside (default: the matrix's folder). */
  configRoot?: string;
  /** Skip cases already in out/results.jsonl. */
  resume?: boolean;
  /** Timed repetitions per case. */
  repeats?: number;
  /** Reference rows per case at most. */
  maxRows?: number;
  /** Rewrite kernel sources (fault injection). */
  mutate?: SourceMutation;
  /** Plant a fault in every case's kernel run (proves the checks catch it). */
  fault?: Fault;
  /** Where progress goes (default stdout). */
  progress?: ProgressOutput;
  /** A GPU context to use instead of acquiring one. */
  ctx?: GpuContext;
  /** Stop after the current case when aborted (the CLI wires SIGINT to it). */
  signal?: AbortSignal;
  /** Device losses in a row after which the run stops (default 3). */
  maxLosses?: number;
}

/** What a run selected. */
export interface Selection {
  /** Every case after the filter, in file order. */
  all: Case[];
  /** The ones this shard owns. */
  mine: Case[];
  /** Directory config paths in the matrix are relative to. */
  baseDir: string;
}

/**
 * Load, filter and shard a matrix.
 *
 * @example
 * ```ts
 * import { selectCases } from "./run_matrix.ts";
 * const { all, mine } = await selectCases({ matrix: "smoke", shard: { index: 1, count: 2 } });
 * mine.length < all.length; // true
 * ```
 */
export async function selectCases(
  options: Pick<RunMatrixOptions, "matrix" | "filter" | "shard" | "maxCases" | "configRoot">,
): Promise<Selection> {
  // matrix/select.ts checks the filter against the axes, the case count and config paths
  const { all, mine, baseDir, notes } = await selectMatrixCases(options);
  for (const note of notes) console.error(note);
  return { all, mine, baseDir };
}

/**
 * Group kernel variants: cases sharing path, dtype and shapes run next to each
 * other so each pipeline compiles once (0.4-3.5 s per compile on lavapipe).
 *
 * @example
 * ```ts ignore
 * import { orderForVariants } from "./run_matrix.ts";
 * const ordered = orderForVariants(cases);
 * ```
 */
export function orderForVariants(cases: readonly Case[]): Case[] {
  const key = (c: Case) =>
    [c.params.path, c.params.dtype, c.params.preset, c.params.heads, c.params.mode].join("|");
  const first = new Map<string, number>();
  cases.forEach((c, i) => first.has(key(c)) || first.set(key(c), i));
  return cases
    .map((c, i) => ({ c, i }))
    .sort((a, b) => first.get(key(a.c))! - first.get(key(b.c))! || a.i - b.i)
    .map((x) => x.c);
}

async function acquire(): Promise<GpuContext> {
  // The device gets the adapter's buffer limits (GpuContext's default), which the plans use.
  return await GpuContext.create({ optionalFeatures: ["shader-f16", "timestamp-query"] });
}

/**
 * Run a matrix and write results.jsonl (streamed), report.json, junit.xml and
 * summary.md into `out`. Returns the report; the caller maps it to an exit code.
 * Throws NoAdapterError when there is no adapter, DeviceLostError after repeated
 * device losses (the results so far are kept).
 *
 * @example
 * ```ts ignore
 * import { runMatrix } from "./run_matrix.ts";
 * const report = await runMatrix({ matrix: "smoke", out: "out/smoke" });
 * report.totals.fail; // 0
 * ```
 */
export async function runMatrix(options: RunMatrixOptions): Promise<RunReport> {
  const startedAt = new Date().toISOString();
  const { all, mine, baseDir } = await selectCases(options);
  await Deno.mkdir(options.out, { recursive: true });
  const resultsPath = `${options.out}/results.jsonl`;
  const previous = new Map<string, CaseResult>();
  if (options.resume) {
    try {
      const { results } = await readJsonl(resultsPath, { lenient: true });
      const owned = new Set(mine.map((c) => c.id));
      for (const r of results) if (owned.has(r.id) && !previous.has(r.id)) previous.set(r.id, r);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  const todo = orderForVariants(mine.filter((c) => !previous.has(c.id)));
  const ctx = options.ctx ?? await acquire();
  const fingerprint = await collectFingerprint({
    adapter: ctx.caps,
    kernelDir: new URL("../kernels/", import.meta.url),
  });
  const writer = await JsonlWriter.open(resultsPath, { truncate: !options.resume });
  const progress = new ProgressReporter(mine.length, { out: options.progress });
  for (const r of previous.values()) progress.caseDone(r);
  const fresh: CaseResult[] = [];
  const specCache = new Map<string, Promise<MlaSpec>>();
  let losses = 0;
  let interrupted = false;
  let fatal: Error | null = null;
  try {
    for (const c of todo) {
      if (options.signal?.aborted) {
        interrupted = true;
        break;
      }
      const result = await runCase(c, {
        ctx,
        baseDir,
        repeats: options.repeats,
        maxRows: options.maxRows,
        mutate: options.mutate,
        fault: options.fault,
        specCache,
      });
      await writer.write(result);
      fresh.push(result);
      progress.caseDone(result);
      if (ctx.lost) {
        losses++;
        if (losses >= (options.maxLosses ?? 3)) {
          fatal = new DeviceLostError("repeated", `the device was lost ${losses} times in a row`);
          break;
        }
        await ctx.reacquire();
      } else {
        losses = 0;
      }
    }
  } finally {
    await writer.close();
    progress.finish();
  }
  const byId = new Map<string, CaseResult>([...previous, ...fresh.map((r) => [r.id, r] as const)]);
  const results = mine.map((c) => byId.get(c.id)).filter((r): r is CaseResult => r !== undefined);
  const report: RunReport = {
    version: 1,
    matrix: options.matrix,
    filter: options.filter ?? null,
    shard: options.shard ? `${options.shard.index}/${options.shard.count}` : null,
    matrixIds: all.map((c) => c.id),
    shardIds: mine.map((c) => c.id),
    results,
    fingerprint,
    startedAt,
    endedAt: new Date().toISOString(),
    totals: computeTotals(results),
    interrupted: interrupted || fatal !== null,
  };
  await writeRunOutputs(options.out, report, { jsonl: false });
  await appendStepSummary(toMarkdown(report));
  if (!options.ctx) ctx.destroy();
  if (fatal) throw fatal;
  return report;
}
