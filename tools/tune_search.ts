/**
 * The plan tuner's search (tools/tune_plan.ts is its command line and its runs): one knob at
 * a time, each candidate value run with the knobs kept so far, a candidate kept only when
 * every case passes and the cases whose plan it changed got faster by the minimum gain. The
 * runs come from a `MatrixRunner`, so the search is tested with made-up runs (every verdict,
 * a kept candidate judged against, the file saved after each trial, a run that dies halfway).
 *
 * @module
 */
import { DEFAULT_TUNING, parseTuningFile } from "../adapter/plan_tuning.ts";
import type { PlanTuning } from "../adapter/types.ts";
import { geometricMean } from "../drift/stats.ts";

/** The values each knob is tried at (the default among them). */
export const TUNING_CANDIDATES: Readonly<Record<keyof PlanTuning, readonly number[]>> = {
  tiledMaxRows: [8, 16, 32],
  tiledMaxQVec4: [8, 16, 32],
  tiledMinKeysPerSplit: [32, 64, 128, 256],
  tiledWorkgroupsPerSm: [1, 2, 4],
  tiledTier: [16384, 32768, 49152],
  fa2MaxChunkVec4: [4, 8, 16],
  fa2MinKeysPerSplit: [128, 256, 512],
  fa2WorkgroupsPerSm: [1, 2, 4],
};

/** One case of one run. */
export interface TrialCase {
  /** The case id. */
  readonly id: string;
  /** pass, fail, unexpected or error. */
  readonly status: string;
  /** The plan's digest (absent where there was no plan). */
  readonly planDigest?: string;
  /** Median of the timed repetitions, ms (absent where not timed). */
  readonly medianMs?: number;
}

/** One run of the matrix with one tuning. */
export interface Trial {
  /** Every knob of the run (the knobs found so far plus the candidate). */
  readonly knobs: PlanTuning;
  /** The knob tried (absent: the untuned run). */
  readonly knob?: keyof PlanTuning;
  /** Its value. */
  readonly value?: number;
  /** The run's exit code. */
  readonly exitCode: number;
  /** Per case. */
  readonly cases: readonly TrialCase[];
  /** What became of it: the baseline, kept, slower, failed, or changed no plan. */
  readonly verdict: "untuned" | "kept" | "not faster" | "failed" | "no plan changed";
  /** The geometric mean of the changed cases' medians against the best so far (ratio). */
  readonly ratio?: number;
}

/**
 * The geometric-mean time ratio of `cand` against `best` over the cases whose plan digest
 * differs between them (null: no case's plan changed, or a changed case was not timed).
 *
 * @example
 * ```ts
 * import { changedRatio } from "./tune_search.ts";
 * changedRatio(
 *   [{ id: "a", status: "pass", planDigest: "1", medianMs: 2 }, { id: "b", status: "pass", planDigest: "x", medianMs: 5 }],
 *   [{ id: "a", status: "pass", planDigest: "2", medianMs: 1 }, { id: "b", status: "pass", planDigest: "x", medianMs: 9 }],
 * ); // 0.5
 * ```
 */
export function changedRatio(
  best: readonly TrialCase[],
  cand: readonly TrialCase[],
): number | null {
  const byId = new Map(best.map((c) => [c.id, c]));
  const pairs: [number, number][] = [];
  for (const c of cand) {
    const b = byId.get(c.id);
    if (b === undefined || b.planDigest === c.planDigest) continue;
    if (b.medianMs === undefined || c.medianMs === undefined) return null;
    pairs.push([b.medianMs, c.medianMs]);
  }
  if (pairs.length === 0) return null;
  return geometricMean(pairs.map(([b, c]) => c / b));
}

/** What one run of the matrix gave. */
export interface MatrixRun {
  /** The run's exit code. */
  readonly exitCode: number;
  /** Its cases (empty: it wrote no report). */
  readonly cases: readonly TrialCase[];
  /** Its stderr (said when the untuned run fails). */
  readonly stderr: string;
  /** The device it ran on, `description (vendor v, device d)`, where its report names one. */
  readonly device?: string;
}

/** Runs the matrix once with `knobs` (`label` names the run's files). */
export type MatrixRunner = (label: string, knobs: PlanTuning) => Promise<MatrixRun>;

/** The tuning file the tuner writes (adapter/plan_tuning.ts reads its `format` and `knobs`). */
export interface TuningFileBody {
  /** Always "mla-harness-tuning/1". */
  readonly format: "mla-harness-tuning/1";
  /** The knobs kept so far (validated as a tuning file's). */
  readonly knobs: PlanTuning;
  /** The device of the untuned run. */
  readonly device?: string;
  /** False until the last trial is in. */
  readonly complete: boolean;
  /** How the file was made. */
  readonly note: string;
  /** Every trial so far, the untuned run first. */
  readonly trials: readonly Trial[];
}

/** Options of {@linkcode tuneSearch}. */
export interface TuneSearchOptions {
  /** The knobs to tune, in order. */
  readonly knobs: readonly (keyof PlanTuning)[];
  /** A candidate is kept at a ratio of at most 1 - minGain. */
  readonly minGain: number;
  /** The file's `note`. */
  readonly note: string;
  /** Writes the file; called once before the first candidate and after every trial. */
  readonly save: (body: TuningFileBody) => Promise<void>;
  /** One line per run (default: none). */
  readonly progress?: (line: string) => void;
}

/** What the search ended with. */
export type TuneOutcome =
  | { readonly kind: "untuned-failed"; readonly run: MatrixRun }
  | { readonly kind: "done"; readonly knobs: PlanTuning; readonly trials: readonly Trial[] };

const failedRun = (r: MatrixRun) =>
  r.exitCode !== 0 || r.cases.length === 0 || r.cases.some((c) => c.status !== "pass");

/**
 * The coordinate search: a first unrecorded run (it compiles the untuned kernels and warms
 * the driver, costs the untuned run would otherwise carry alone), the untuned run, then per
 * knob every candidate but the current value. Each candidate is judged against the best run
 * so far (the untuned one until a candidate is kept): "failed" where a case does not pass,
 * "no plan changed", "kept" at a ratio of at most 1 - minGain, else "not faster". The file is
 * saved after every trial (`complete: false` until the last), so a run stopped halfway
 * leaves the knobs found and the trials made.
 *
 * @example
 * ```ts
 * import { tuneSearch } from "./tune_search.ts";
 * const outcome = await tuneSearch(
 *   async () => ({ exitCode: 0, cases: [{ id: "a", status: "pass", planDigest: "p", medianMs: 1 }], stderr: "" }),
 *   { knobs: ["tiledMaxRows"], minGain: 0.03, note: "example", save: async () => {} },
 * );
 * outcome.kind; // "done" (every candidate "no plan changed": the plan digest never moved)
 * ```
 */
export async function tuneSearch(
  run: MatrixRunner,
  options: TuneSearchOptions,
): Promise<TuneOutcome> {
  const say = options.progress ?? (() => {});
  let runs = 0;
  await run("warmup", {});
  const base = await run(`run${runs++}`, {});
  if (failedRun(base)) return { kind: "untuned-failed", run: base };
  const trials: Trial[] = [{ knobs: {}, exitCode: 0, cases: base.cases, verdict: "untuned" }];
  say(`untuned: ${base.cases.length} cases pass`);
  let best = base.cases;
  const knobs: Record<string, number> = {};
  const save = async (complete: boolean) => {
    const found = parseTuningFile({ knobs }, "the tuner's knobs");
    await options.save({
      format: "mla-harness-tuning/1",
      knobs: found,
      ...(base.device === undefined ? {} : { device: base.device }),
      complete,
      note: options.note,
      trials: [...trials],
    });
    return found;
  };
  await save(false);
  for (const knob of options.knobs) {
    const current = knobs[knob] ?? DEFAULT_TUNING[knob];
    for (const value of TUNING_CANDIDATES[knob]) {
      if (value === current) continue;
      const tried = { ...knobs, [knob]: value };
      const r = await run(`run${runs++}`, tried);
      let verdict: Trial["verdict"];
      let ratio: number | undefined;
      if (failedRun(r)) {
        verdict = "failed";
      } else {
        const q = changedRatio(best, r.cases);
        if (q === null) verdict = "no plan changed";
        else {
          ratio = q;
          verdict = q <= 1 - options.minGain ? "kept" : "not faster";
        }
      }
      trials.push({
        knobs: tried,
        knob,
        value,
        exitCode: r.exitCode,
        cases: r.cases,
        verdict,
        ...(ratio === undefined ? {} : { ratio }),
      });
      say(`${knob} ${value}: ${verdict}${ratio === undefined ? "" : ` (x${ratio.toFixed(3)})`}`);
      if (verdict === "kept") {
        knobs[knob] = value;
        best = r.cases;
      }
      await save(false);
    }
  }
  return { kind: "done", knobs: await save(true), trials };
}
