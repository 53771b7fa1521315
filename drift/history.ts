/**
 * The run history: every run appended to one embedded SQLite file (`node:sqlite`) with
 * three tables (environments, runs, case_results), and the series of one metric of the
 * matching cases over runs, with step detection.
 *
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { type CaseFilter, fnv1a32, matchesFilter, parseFilter } from "../matrix/case_id.ts";
import type { CaseParams } from "../matrix/types.ts";
import type { Fingerprint, RunReport } from "../results/types.ts";
import { baselineFromReport } from "./baseline.ts";
import type { Baseline } from "./types.ts";
import { deviceKey } from "./device_key.ts";
import { DriftInputError } from "./errors.ts";
import { benjaminiHochberg, geometricMean } from "./stats.ts";
import { sha256Hex16 } from "../util/hash.ts";
import { isRecord } from "../util/is_record.ts";
import {
  DEFAULT_STEP_ALPHA,
  detectSteps,
  firstSplitP,
  minSegmentOf,
  minStepRuns,
  type Step,
  STEP_PERMUTATIONS,
  type StepOptions,
} from "./step_detect.ts";
import { plural } from "../util/plural.ts";
import { osErrorText } from "../util/fs.ts";
import { attributeEnvironment } from "./attribution.ts";

/**
 * Metrics a history series can show (column names of case_results).
 *
 * @example
 * ```ts
 * import { HISTORY_METRICS } from "./history.ts";
 * HISTORY_METRICS.includes("median_ms"); // true
 * ```
 */
export const HISTORY_METRICS = [
  "median_ms",
  "out_max_abs",
  "out_max_rel",
  "out_cos_diff",
  "out_norm_rel",
  "lse_max_abs",
  "lse_max_rel",
] as const;

/** One of {@link HISTORY_METRICS}. */
export type HistoryMetric = typeof HISTORY_METRICS[number];

/** One run as the history lists it. */
export interface HistoryRun {
  /** Run id (row id). */
  readonly id: number;
  /** Start (ISO). */
  readonly startedAt: string;
  /** Matrix. */
  readonly matrix: string;
  /** Filter. */
  readonly filter: string | null;
  /** Free label (e.g. "nightly", "upgrade-check from"). */
  readonly label: string | null;
  /** Device key. */
  readonly deviceKey: string;
  /** Deno version. */
  readonly deno: string;
  /** Harness revision. */
  readonly harnessRevision: string | null;
  /** Cases stored. */
  readonly cases: number;
}

/** One value of a series. */
export interface SeriesPoint {
  /** Run id. */
  readonly runId: number;
  /** Run start (ISO). */
  readonly startedAt: string;
  /** Deno version of the run. */
  readonly deno: string;
  /** Harness revision of the run. */
  readonly harnessRevision: string | null;
  /** Device key of the run (drift/ `deviceKey`). */
  readonly deviceKey: string;
  /**
   * `median_ms` only: how the samples were timed (source, scope, warm-up, timing rules, as
   * drift compares them before speed), e.g. "timestamp-query, scope core, warm-up 0 ms,
   * rules 1"; "not recorded" for what a database row of an older harness lacks.
   */
  readonly timing?: string;
  /**
   * Error metrics only: the inputs the case ran on, "seed 7" (the matrix's input seed; other
   * inputs have other errors); "seed not recorded" for a row of an older harness.
   */
  readonly inputs?: string;
  /**
   * The `*` series only: which of the matched cases the run's geometric mean is over, "N
   * cases <digest of their ids>". Runs of other case sets are searched for steps apart: a case
   * added, or one that stopped giving the metric, moves the mean without anything changing
   * speed (a flat pair of cases joined by a slower third read as a +115% step).
   */
  readonly cases?: string;
  /**
   * The run's label (`history --add --label`, `upgrade-check`'s "upgrade-check from"), where
   * it has one: stored, and shown nowhere before.
   */
  readonly label?: string;
  /** The metric's value. */
  readonly value: number;
}

/** A step of a history series, with what the runs record changed at it. */
export interface HistoryStep extends Step {
  /**
   * The run before the step among those searched with it (one device's, timed alike, on one
   * input), and what changed between the two: first the backend the series' cases ran on
   * (the adapter's choice moved to another kernel), then what the two runs' recorded
   * environments differ in, one line per group (drift/attribution.ts: Deno, adapter or
   * driver, plan tuning, kernel source, harness revision, host); empty when nothing recorded
   * changed. Absent where the step has no run before it.
   */
  readonly since?: { readonly runId: number; readonly changes: readonly string[] };
}

/** A metric over runs for one case (or the geometric mean over the matched cases). */
export interface Series {
  /** Case id, or `*` for the geometric mean of the matched cases per run. */
  readonly caseId: string;
  /** Values in run order (runs where the metric was absent are left out). */
  readonly points: readonly SeriesPoint[];
  /** Steps found (indices into points). */
  readonly steps: readonly HistoryStep[];
  /**
   * The `*` series only: runs left out because every matched case's value was 0 there (an
   * error metric of exactly 0 has no geometric mean); absent when none was.
   */
  readonly noMean?: readonly number[];
  /**
   * How its steps were tested, the same for every series of one query (absent: a series
   * made without {@link HistoryStore.series}, tested alone).
   */
  readonly stepTest?: StepTest;
}

/** Which correction for testing many series at once `history --correction` names. */
export const STEP_CORRECTIONS = ["bh", "none"] as const;

/** One of {@link STEP_CORRECTIONS}. */
export type StepCorrection = typeof STEP_CORRECTIONS[number];

/**
 * How the steps of a query's series were tested: each step search (a series' runs of one
 * device, timed alike, on one input) with enough runs for a step is one test; with more than
 * one and correction "bh", the Benjamini-Hochberg threshold over their first splits' p-values
 * at `alpha` (a false-discovery rate) is the level every split is held to.
 */
export interface StepTest {
  /** "benjamini-hochberg" (several searches, corrected) or "none" (one search, or --correction none). */
  readonly correction: "benjamini-hochberg" | "none";
  /** Step searches tested together (searches with too few runs for any step are not). */
  readonly searches: number;
  /** The significance asked for (--alpha): a false-discovery rate when corrected. */
  readonly alpha: number;
  /**
   * The level a split's p is held to: a step needs p <= threshold when corrected (0: no
   * search passed), p < alpha when not.
   */
  readonly threshold: number;
  /**
   * The fewest runs in which a lone step among the searches can be flagged (at p <= alpha /
   * searches when corrected: more than one series alone needs); null when none is enough.
   */
  readonly loneStepRuns: number | null;
}

/**
 * The points whose steps are looked for together: one device's, timed alike, on one input
 * (and, for the geometric mean, over one set of cases); points of two keys are not compared.
 *
 * @example
 * ```ts
 * import { stepGroupKey } from "./history.ts";
 * const p = { runId: 1, startedAt: "", deno: "2.9.6", harnessRevision: null, deviceKey: "d" };
 * stepGroupKey({ ...p, value: 1 }) === stepGroupKey({ ...p, value: 2 }); // true
 * ```
 */
export function stepGroupKey(p: SeriesPoint): string {
  return `${p.deviceKey}\n${p.timing ?? ""}\n${p.inputs ?? ""}\n${p.cases ?? ""}`;
}

/**
 * " 1-4, 7" (" 3" for one run), after "run": run ids, consecutive ones as ranges.
 *
 * @example
 * ```ts
 * import { runList } from "./history.ts";
 * `run${runList([1, 2, 3, 7])}`; // "runs 1-3, 7"
 * ```
 */
export function runList(ids: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < ids.length; i++) {
    let j = i;
    while (j + 1 < ids.length && ids[j + 1] === ids[j] + 1) j++;
    parts.push(j > i ? `${ids[i]}-${ids[j]}` : String(ids[i]));
    i = j;
  }
  return `${ids.length === 1 ? "" : "s"} ${parts.join(", ")}`;
}

/**
 * A harness revision cut to 12 characters, its -dirty mark kept (a dirty run is not its
 * clean commit).
 *
 * @example
 * ```ts
 * import { shortRevision } from "./history.ts";
 * shortRevision("0123456789abcdef0123-dirty"); // "0123456789ab-dirty"
 * ```
 */
export function shortRevision(r: string): string {
  return r.slice(0, 12) + (r.endsWith("-dirty") && r.length > 12 ? "-dirty" : "");
}

/** A short digest (FNV-1a, 8 hex) of case ids, sorted: which cases a run's mean is over. */
function idsDigest(ids: readonly string[]): string {
  return fnv1a32([...ids].sort().join("\n")).toString(16).padStart(8, "0");
}

/**
 * The most points of a series that steps are looked for among together (those of one device,
 * timed alike, run on the same inputs: see {@link HistoryStore.series}). A step needs at
 * least `minSegment` of them on each side, and more in all ({@link stepRunsNeeded}).
 *
 * @example
 * ```ts
 * import { stepSearchRuns } from "./history.ts";
 * stepSearchRuns({ caseId: "*", points: [], steps: [] }); // 0
 * ```
 */
export function stepSearchRuns(series: Series): number {
  const n = new Map<string, number>();
  for (const p of series.points) n.set(stepGroupKey(p), (n.get(stepGroupKey(p)) ?? 0) + 1);
  return Math.max(0, ...n.values());
}

/**
 * The series among `series` with too few runs for a step to be found: fewer searched together
 * ({@link stepSearchRuns}) than {@link stepRunsNeeded} at `minSegment` and `alpha`. Their "no
 * step" is no finding.
 *
 * @example
 * ```ts
 * import { tooShortForSteps } from "./history.ts";
 * tooShortForSteps([{ caseId: "*", points: [], steps: [] }], { minSegment: 3 }).length; // 1
 * ```
 */
export function tooShortForSteps(
  series: readonly Series[],
  options: { readonly minSegment?: number; readonly alpha?: number } = {},
): Series[] {
  return series.filter((s) => tooShortForStep(s, options));
}

/**
 * Whether one series has too few runs for a step to be found (see {@link tooShortForSteps}).
 *
 * @example
 * ```ts
 * import { tooShortForStep } from "./history.ts";
 * tooShortForStep({ caseId: "*", points: [], steps: [] }); // true
 * ```
 */
export function tooShortForStep(
  series: Series,
  options: { readonly minSegment?: number; readonly alpha?: number } = {},
): boolean {
  const need = stepRunsNeeded(options);
  return series.steps.length === 0 && (need === null || stepSearchRuns(series) < need);
}

/**
 * The fewest runs a series needs for a step to be flagged (step_detect.ts `minStepRuns`, at
 * `minSegment` and `alpha`, defaults 3 and 0.05); null when no number of runs is enough.
 *
 * @example
 * ```ts
 * import { stepRunsNeeded } from "./history.ts";
 * stepRunsNeeded({}); // 8
 * ```
 */
export function stepRunsNeeded(
  options: { readonly minSegment?: number; readonly alpha?: number } = {},
): number | null {
  return minStepRuns(minSegmentOf(options.minSegment), options.alpha ?? DEFAULT_STEP_ALPHA);
}

/**
 * The step options every search of one query uses, and how they test (see {@link StepTest}).
 * Each search with at least {@link stepRunsNeeded} runs (fewer can have no step at `alpha`
 * even alone) is one test. With more than one and `correction` "bh" (the default), the
 * first split of each is tested at `alpha` / tests resolution, and the Benjamini-Hochberg
 * threshold over those p-values is the level every split of every search is held to.
 *
 * Why Benjamini-Hochberg (false-discovery rate) and not Holm (family-wise error): tested one
 * by one at 0.05, about 4% of 2,000 series of pure noise had a step (80 a night), so a nightly
 * failing on steps over a large filter failed most nights. Holm stops that but holds a night
 * where an upgrade moved 500 cases to alpha / 2000 for the first of them, and finds few;
 * Benjamini-Hochberg holds a lone step to the same alpha / 2000, but its level rises with the
 * steps found (k of them: alpha k / m), and of the steps it flags at most a share alpha are
 * noise on average, also where the cases' timings move together (one device's load), the
 * positive dependence it allows.
 *
 * @example
 * ```ts
 * import { correctedStepOptions } from "./history.ts";
 * const flat = [1, 1, 1, 1, 1, 1, 1, 1];
 * correctedStepOptions([flat, flat], {}).stepTest.correction; // "benjamini-hochberg"
 * correctedStepOptions([flat], {}).stepTest.correction; // "none"
 * ```
 */
export function correctedStepOptions(
  searches: readonly (readonly number[])[],
  options: StepOptions & {
    readonly correction?: StepCorrection;
    /** Filled with each tested search's first-split p, when corrected. */
    readonly firstPs?: Map<readonly number[], number>;
  } = {},
): { stepOptions: StepOptions; stepTest: StepTest } {
  const alpha = options.alpha ?? DEFAULT_STEP_ALPHA;
  const need = stepRunsNeeded(options);
  const tested = need === null ? [] : searches.filter((v) => v.length >= need);
  const plain = { minSegment: options.minSegment, minChange: options.minChange, alpha };
  if ((options.correction ?? "bh") === "none" || tested.length <= 1) {
    return {
      stepOptions: plain,
      stepTest: {
        correction: "none",
        searches: tested.length,
        alpha,
        threshold: alpha,
        loneStepRuns: need,
      },
    };
  }
  // a lone step is held to alpha / searches, resolved to it (the inclusive p <= of the
  // correction, as detectSteps's strict p < is given it)
  const lone = alpha / tested.length;
  const loneStepRuns = minStepRuns(minSegmentOf(options.minSegment), lone * (1 + 1e-9), {
    level: lone,
  });
  // The p-values are resolved to the level the steps found call for: first from the shuffles
  // every search gets; where those find k steps, alpha k / searches, and shuffles go on only
  // where a p is under 10 / 2000 (a year of nights where an upgrade moved every case took
  // three times as long resolving each to alpha / searches).
  const coarse = tested.map((v) => firstSplitP(v, plain));
  const coarseCut = benjaminiHochberg(coarse, alpha);
  const found = coarseCut > 0 ? coarse.filter((p) => p <= coarseCut).length : 0;
  const level = alpha * Math.max(1, found) / tested.length;
  const ps = tested.map((v, i) => {
    const p = coarse[i] <= 10 / (1 + STEP_PERMUTATIONS) && Math.ceil(2 / level) > STEP_PERMUTATIONS
      ? firstSplitP(v, { ...plain, level })
      : coarse[i];
    options.firstPs?.set(v, p);
    return p;
  });
  const threshold = benjaminiHochberg(ps, alpha);
  return {
    // detectSteps keeps p < alpha; the threshold keeps p <= it (0: nothing is kept)
    stepOptions: { ...plain, alpha: threshold * (1 + 1e-9), level },
    stepTest: {
      correction: "benjamini-hochberg",
      searches: tested.length,
      alpha,
      threshold,
      loneStepRuns,
    },
  };
}

/** What {@link heldSteps} gives: the steps of one search, and how they were tested. */
export interface StepHeld {
  /** How the searches were tested. */
  readonly stepTest: StepTest;
  /** The steps of one of the searches given (the same array), or of other values. */
  steps(values: readonly number[]): Step[];
}

/**
 * {@link correctedStepOptions} with its first-split p-values kept: a search whose first split
 * is above the corrected threshold has no step, and is not shuffled a second time (two
 * thousand cases' permutation tests are most of `history`'s time).
 *
 * @example
 * ```ts
 * import { heldSteps } from "./history.ts";
 * const flat = [1, 1, 1, 1, 1, 1, 1, 1];
 * heldSteps([flat, flat], {}).steps(flat); // []
 * ```
 */
export function heldSteps(
  searches: readonly (readonly number[])[],
  options: StepOptions & { readonly correction?: StepCorrection } = {},
): StepHeld {
  const firstP = new Map<readonly number[], number>();
  const { stepOptions, stepTest } = correctedStepOptions(searches, { ...options, firstPs: firstP });
  return {
    stepTest,
    steps: (values) => {
      const p = firstP.get(values);
      if (
        stepTest.correction !== "none" &&
        (stepTest.threshold === 0 || (p ?? 0) > stepTest.threshold)
      ) {
        return [];
      }
      return detectSteps(values, { ...stepOptions, firstP: p });
    },
  };
}

/** How long a database another process is writing is waited for (ms). */
const BUSY_TIMEOUT_MS = 60_000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS environments (
  id INTEGER PRIMARY KEY,
  digest TEXT NOT NULL UNIQUE,
  device_key TEXT NOT NULL,
  deno TEXT NOT NULL,
  adapter TEXT,
  harness_revision TEXT,
  fingerprint TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY,
  started_at TEXT NOT NULL,
  ended_at TEXT NOT NULL,
  matrix TEXT NOT NULL,
  filter TEXT,
  shard TEXT,
  label TEXT,
  environment_id INTEGER NOT NULL REFERENCES environments(id),
  totals TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS case_results (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  case_id TEXT NOT NULL,
  params TEXT,
  status TEXT NOT NULL,
  decision TEXT NOT NULL,
  backend TEXT,
  plan_digest TEXT,
  output_digest TEXT,
  kernel_hash TEXT,
  out_max_abs REAL,
  out_max_rel REAL,
  out_cos_diff REAL,
  out_norm_rel REAL,
  lse_max_abs REAL,
  lse_max_rel REAL,
  timing_source TEXT,
  median_ms REAL,
  samples_ms TEXT,
  timing_scope TEXT,
  warmup_ms REAL,
  timing_rules INTEGER,
  seed INTEGER,
  wall_ms REAL,
  PRIMARY KEY (run_id, case_id)
);
CREATE INDEX IF NOT EXISTS case_results_case ON case_results(case_id);
`;

/**
 * The SQLite application id that marks a history database of this harness ("MLAH" in
 * ASCII; `PRAGMA application_id`, the header field SQLite reserves for this).
 */
export const HISTORY_APPLICATION_ID = 0x4d4c4148;

const HISTORY_TABLES = ["case_results", "environments", "runs"];

/**
 * The version of the history's tables (`PRAGMA user_version`). 1: the tables as first
 * written; 2: case_results records how each case was timed (timing_scope, warmup_ms,
 * timing_rules), so `median_ms` series keep samples timed differently apart, and the input
 * seed it ran with (seed), so error-metric series keep other inputs apart, and each case's
 * wall time (wall_ms: a merged run and its shards are the same measurements where no timing
 * samples tell them). A database of version 1, or of a version 2 without the seed or wall_ms
 * column, gets the columns when opened (its rows: not recorded); one of a later version is
 * refused, naming it.
 */
export const HISTORY_SCHEMA_VERSION = 2;

/** The columns version 2 added to case_results, with their SQL types. */
const ADDED_COLUMNS = [
  ["timing_scope", "TEXT"],
  ["warmup_ms", "REAL"],
  ["timing_rules", "INTEGER"],
  ["seed", "INTEGER"],
  // each case's wall time: how a merged run and its shards are told without timing samples
  ["wall_ms", "REAL"],
] as const;

function newerMessage(version: number): string {
  return `is a history database of a newer harness (history schema ${version}; this harness ` +
    `reads schemas 1 to ${HISTORY_SCHEMA_VERSION}): read it with that harness, or give ` +
    "another --db";
}

function schemaVersion(db: DatabaseSync): number {
  return Number((db.prepare("PRAGMA user_version").get() as Row).user_version);
}

/** What an open SQLite database is: ours, ours before the marker, empty, or someone else's. */
type HistoryKind = "ours" | "legacy" | "empty" | { appId: number; tables: string[] };

function historyKind(db: DatabaseSync): HistoryKind {
  const appId = Number((db.prepare("PRAGMA application_id").get() as Row).application_id);
  const version = Number((db.prepare("PRAGMA user_version").get() as Row).user_version);
  const tables = (db.prepare(
    "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
  ).all() as Row[]).map((r) => str(r.name));
  if (appId === HISTORY_APPLICATION_ID) return "ours";
  // Databases written before the marker: exactly the history's tables at schema version 1.
  if (appId === 0 && version === 1 && tables.join(",") === HISTORY_TABLES.join(",")) {
    return "legacy";
  }
  if (appId === 0 && version === 0 && tables.length === 0) return "empty";
  return { appId, tables };
}

function foreignMessage(k: { appId: number; tables: string[] }): string {
  const tables = k.tables.length
    ? `tables ${k.tables.slice(0, 8).join(", ")}${k.tables.length > 8 ? ", ..." : ""}`
    : "no tables";
  return `is a SQLite database of something else (application_id ${k.appId}, ${tables}), ` +
    "not a history database of this harness; refusing to add tables to it. Give a new file " +
    "name (it is created) or a database that run --history created";
}

/**
 * Check a history database path without changing anything: a missing file is fine (it
 * will be created); an existing one must be a history database of this harness (marked
 * with {@link HISTORY_APPLICATION_ID}, or one written before the marker: exactly the
 * history's tables at user_version 1) or an empty file. A folder, a file that is not
 * SQLite, or another program's SQLite database throws DriftInputError naming the file.
 * `run --history` calls this before the run, so a bad path costs no run.
 *
 * @example
 * ```ts ignore
 * import { checkHistoryFile } from "./history.ts";
 * await checkHistoryFile("out/history.sqlite"); // fine: missing or ours
 * await checkHistoryFile("/etc/hosts"); // throws: not a SQLite database
 * ```
 */
export async function checkHistoryFile(
  path: string,
  options: {
    /** How long a database another process is writing is waited for (default 60 s). */
    readonly busyTimeoutMs?: number;
    /**
     * Whether runs are to be stored (default true): an existing file that cannot be written
     * (a read-only file or filesystem) is then refused, before a run rather than after it.
     */
    readonly write?: boolean;
  } = {},
): Promise<void> {
  const busyTimeoutMs = options.busyTimeoutMs ?? BUSY_TIMEOUT_MS;
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (e) {
    // A new file is created (with its folders) when the run is stored: a folder that could
    // not be made or written was found out after the whole run ("internal error: Read-only
    // file system ... mkdir", "cannot open (unable to open database file)").
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) {
      if (options.write === false) return;
      const why = await cannotCreate(path);
      if (why === null) return;
      throw new DriftInputError(path, `cannot be created: ${why}`);
    }
    throw new DriftInputError(path, `cannot be read (${e instanceof Error ? e.message : e})`);
  }
  if (info.isDirectory) {
    throw new DriftInputError(
      path,
      "is a folder; a history database is a file (run --history <file>, history --db <file>)",
    );
  }
  if (options.write !== false && info.isFile) await refuseUnwritable(path);
  if (info.size === 0) return;
  let db: DatabaseSync | null = null;
  let kind: HistoryKind;
  let version: number;
  try {
    db = new DatabaseSync(path, { readOnly: true });
    db.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
    kind = historyKind(db);
    version = schemaVersion(db);
  } catch (e) {
    // SQLITE_BUSY: another process's write held it past the wait (it read "not a history
    // database (database is locked)", of a history database)
    if ((e as { errcode?: unknown }).errcode === 5) {
      throw new DriftInputError(
        path,
        `is locked by another process writing to it (a run --history, baseline update ` +
          `--history or history --add?), still after ${busyTimeoutMs / 1000} s of waiting; ` +
          "try again when that write ends",
      );
    }
    throw notHistoryDatabase(path, e);
  } finally {
    db?.close();
  }
  if (typeof kind === "object") throw new DriftInputError(path, foreignMessage(kind));
  if (version > HISTORY_SCHEMA_VERSION) throw new DriftInputError(path, newerMessage(version));
}

/** Refuse (DriftInputError) an existing history file that cannot be written. */
async function refuseUnwritable(path: string): Promise<void> {
  const why = await notWritable(path);
  if (why === null) return;
  throw new DriftInputError(
    path,
    `cannot be written (${why}: a read-only file or filesystem?), and storing a run ` +
      "writes to it: copy it to a writable folder and give the copy, or give another file",
  );
}

/**
 * Why a missing file `path` could not be created with its folders, or null when it can: the
 * nearest folder above it that exists must be a folder and writable (a hidden probe file is
 * created and removed there). Nothing else is created.
 */
async function cannotCreate(path: string): Promise<string | null> {
  let up = path;
  for (;;) {
    const i = up.replace(/\/+$/, "").lastIndexOf("/");
    up = i < 0 ? "." : i === 0 ? "/" : up.slice(0, i);
    const info = await Deno.stat(up).catch((e) => e instanceof Deno.errors.NotFound ? null : e);
    if (info === null) continue;
    if (info instanceof Error) return `${up} cannot be inspected (${osErrorText(info)})`;
    if (!info.isDirectory) return `${up} is a file, not a folder; give a path of folders`;
    try {
      await Deno.remove(await Deno.makeTempFile({ dir: up, prefix: ".mla-harness-write-check-" }));
      return null;
    } catch (e) {
      return `cannot write in ${up} (${osErrorText(e)})`;
    }
  }
}

/**
 * Why the existing file `path` cannot be opened for writing (the OS's words), or null when
 * it can. Nothing is written. A history database on a read-only filesystem read as "not a
 * history database (attempt to write a readonly database)".
 */
async function notWritable(path: string): Promise<string | null> {
  try {
    (await Deno.open(path, { write: true })).close();
    return null;
  } catch (e) {
    return osErrorText(e);
  }
}

type Row = Record<string, unknown>;

/**
 * Stored device keys an older harness computed by other rules, recomputed from each
 * environment's stored fingerprint under this harness's ({@link deviceKey}): before d25df28 a
 * fallback adapter's key had `-fallback` and no device id (lavapipe's was
 * `llvmpipe-65541-fallback-vulkan`, now `llvmpipe-65541-vulkan`), so a database that spans
 * the change read as two devices, and `history` looked for steps in each half alone. The
 * backend is the fingerprint's where it records one, else the stored key's last part (what
 * the older harness passed). Rows whose fingerprint cannot be read keep their key, and a
 * table without those columns is left alone.
 */
function rekeyEnvironments(db: DatabaseSync): void {
  const columns = new Set(
    (db.prepare("PRAGMA table_info(environments)").all() as Row[]).map((r) => str(r.name)),
  );
  if (!columns.has("device_key") || !columns.has("fingerprint")) return;
  const rows = db.prepare("SELECT id, device_key, fingerprint FROM environments").all() as Row[];
  const update = db.prepare("UPDATE environments SET device_key = ? WHERE id = ?");
  for (const r of rows) {
    const stored = str(r.device_key);
    let fp: unknown;
    try {
      fp = JSON.parse(str(r.fingerprint));
    } catch {
      continue;
    }
    if (!isRecord(fp) || !isRecord(fp.adapter)) continue;
    const key = deviceKey(fp as unknown as Fingerprint, {
      backend: stored.slice(stored.lastIndexOf("-") + 1),
    });
    if (key !== stored) update.run(key, n(r.id));
  }
}

/**
 * How a stored case was timed, as drift compares it before speed: source, scope, warm-up and
 * timing rules ("not recorded" where a row of history schema 1 lacks them).
 */
function timingLabel(r: Row): string {
  const known = (v: unknown, shown: (v: unknown) => string) =>
    v === null || v === undefined ? "not recorded" : shown(v);
  return [
    known(r.timing_source, (v) => str(v)),
    `scope ${known(r.timing_scope, (v) => str(v))}`,
    `warm-up ${known(r.warmup_ms, (v) => `${n(v)} ms`)}`,
    `rules ${known(r.timing_rules, (v) => String(n(v)))}`,
  ].join(", ");
}
/** The inputs a stored case ran on: "seed 7" ("seed not recorded" in an older row). */
function inputsLabel(r: Row): string {
  return r.seed === null || r.seed === undefined ? "seed not recorded" : `seed ${n(r.seed)}`;
}
const str = (v: unknown): string => (typeof v === "string" ? v : String(v ?? ""));
const nstr = (v: unknown): string | null => (typeof v === "string" ? v : null);
const n = (v: unknown): number => Number(v);

/** A report's cases as findRun compares them with stored rows (ids, statuses, samples). */
function caseKeys(report: RunReport): string {
  const key = (r: RunReport["results"][number]) => `${r.id}\n${r.status}\n${samplesOf(r)}`;
  return report.results.map(key).sort().join("\n\n");
}

/**
 * What tells a case's measurement from another run's of the same case: its timing samples,
 * or without any its status and wall time (ms, to 0.1); null when neither is there.
 */
function measurementKey(samples: string | null, wallMs: number | null, status: string) {
  if (samples !== null) return `samples ${samples}`;
  return wallMs !== null && Number.isFinite(wallMs) ? `wall ${wallMs} ${status}` : null;
}

/** A result's timing samples as stored (JSON), or null without any. */
function samplesOf(r: RunReport["results"][number]): string | null {
  const samples = (r.timing?.samplesMs ?? []).filter((v) => Number.isFinite(v));
  return samples.length ? JSON.stringify(samples) : null;
}

/** A stored run that holds a report's measurements ({@link HistoryOverlapError}). */
export interface StoredRun {
  /** Its id. */
  readonly id: number;
  /** Its start (ISO). */
  readonly startedAt: string;
  /** Its shard ("1/2"), or null for a whole run. */
  readonly shard: string | null;
  /** How many of the report's cases it holds with the same timing samples. */
  readonly cases: number;
  /**
   * "wall": told by the cases' statuses and wall times, the runs having no timing samples
   * (`run --repeats 0`); absent: by timing samples.
   */
  readonly by?: "wall";
}

/**
 * A run refused by {@link HistoryStore.appendAll} because the database holds its measurements
 * already in another run (a merged run and one of its shards): stored twice, each night would
 * count twice in every series and step test. Nothing of the call is stored.
 *
 * @example
 * ```ts ignore
 * import { HistoryOverlapError } from "./history.ts";
 * try {
 *   await store.appendAll([shard1, merged]);
 * } catch (e) {
 *   if (e instanceof HistoryOverlapError) console.error(e.report.startedAt, e.stored.id);
 * }
 * ```
 */
export class HistoryOverlapError extends DriftInputError {
  /** The report refused. */
  readonly report: RunReport;
  /** The stored run that holds its measurements. */
  readonly stored: StoredRun;
  /** What is wrong, without the run's start that the message leads with. */
  readonly problem: string;

  /**
   * Build the error.
   *
   * @param report the report refused
   * @param stored the stored run that holds its measurements
   */
  constructor(report: RunReport, stored: StoredRun) {
    const problem =
      `${plural(stored.cases, "of its cases has", "of its cases have")} the very ${
        stored.by === "wall"
          ? "statuses and wall times (the runs have no timing samples)"
          : "timing samples"
      } of stored run ${stored.id} (started ${stored.startedAt}${
        stored.shard === null ? "" : `, shard ${stored.shard}`
      }): the same measurements (a merged run and its shards, or a folder rebuilt from a ` +
      "stored run), which stored twice would count twice in every series and step test; " +
      "add either the merged run or its shards (nothing added)";
    super(`the run started ${report.startedAt}`, problem);
    this.name = "HistoryOverlapError";
    this.problem = problem;
    this.report = report;
    this.stored = stored;
  }
}

/** What {@link HistoryStore.appendAll} did with one run. */
export interface AppendedRun {
  /** The run's id in the database. */
  readonly id: number;
  /**
   * `stored`: the run was there already (or earlier in the same call) and was not stored
   * again; `appended`: a new run; `replaced`: a resumed run that replaced its earlier stop.
   */
  readonly outcome: "stored" | "appended" | "replaced";
  /**
   * A stored run given another label (`history --add <run> --label <text>` of a run stored
   * already): the label it had (null: none); absent where the label did not change.
   */
  readonly relabeled?: { readonly from: string | null };
}

/** A run with what storing it needs computed ahead of the transaction. */
interface PreparedRun {
  readonly report: RunReport;
  readonly b: Baseline;
  readonly fpText: string;
  readonly envDigest: string;
}

/** The error of a file SQLite could not read as a history database (`e` itself where it says so). */
function notHistoryDatabase(path: string, e: unknown): DriftInputError {
  if (e instanceof DriftInputError) return e;
  return new DriftInputError(
    path,
    `not a history database (${e instanceof Error ? e.message : String(e)})`,
  );
}

/**
 * The history database. Open it, append runs, read series; close it when done.
 *
 * @example
 * ```ts ignore
 * import { HistoryStore } from "./history.ts";
 * const store = await HistoryStore.open("out/history.sqlite");
 * await store.append(report, { label: "nightly" });
 * const series = store.series("preset=tiny;dtype=f32", "median_ms");
 * store.close();
 * ```
 */
export class HistoryStore {
  readonly #db: DatabaseSync;
  /** The database file. */
  readonly path: string;

  private constructor(db: DatabaseSync, path: string) {
    this.#db = db;
    this.path = path;
  }

  /**
   * Open (creating the file, its folder and the tables when needed). An existing file must
   * be a history database of this harness (see {@link checkHistoryFile}); anything else
   * throws DriftInputError naming the file, and the file is left untouched.
   *
   * With `readOnly: "when-needed"` (a query, which stores nothing), an existing file that
   * cannot be written (a read-only file or filesystem) is opened read-only, where it needs
   * no update (a database of an older harness gets columns and keys when opened, which
   * needs writing: refused, naming what to do).
   *
   * @example
   * ```ts ignore
   * import { HistoryStore } from "./history.ts";
   * const store = await HistoryStore.open("out/history.sqlite");
   * ```
   */
  static async open(
    path: string,
    options: { readonly readOnly?: "when-needed" } = {},
  ): Promise<HistoryStore> {
    if (options.readOnly === "when-needed") {
      const info = await Deno.stat(path).catch(() => null);
      const why = info?.isFile ? await notWritable(path) : null;
      if (why !== null) return await HistoryStore.#openReadOnly(path, why);
    }
    await checkHistoryFile(path);
    const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
    if (dir) await Deno.mkdir(dir, { recursive: true });
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(path);
      // another process writing it (a second `history --add`, a run's --history) is waited
      // for, not "database is locked"
      db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    } catch (e) {
      throw new DriftInputError(
        path,
        `cannot open (${e instanceof Error ? e.message : String(e)})`,
      );
    }
    try {
      // Checked and (for a new file) created under the write lock: a second process opening
      // the file meanwhile saw the tables without the application id, "something else".
      db.exec("BEGIN IMMEDIATE");
      // Re-checked on the open handle: the file may have changed since the check.
      const kind = historyKind(db);
      if (typeof kind === "object") throw new DriftInputError(path, foreignMessage(kind));
      const version = schemaVersion(db);
      if (version > HISTORY_SCHEMA_VERSION) {
        throw new DriftInputError(path, newerMessage(version));
      }
      db.exec(SCHEMA);
      // Version 1's case_results (or one an older harness wrote into again) lacks the timing
      // and seed columns: added, its rows "not recorded".
      const have = new Set(
        (db.prepare("PRAGMA table_info(case_results)").all() as Row[]).map((r) => str(r.name)),
      );
      for (const [name, type] of ADDED_COLUMNS) {
        if (!have.has(name)) db.exec(`ALTER TABLE case_results ADD COLUMN ${name} ${type}`);
      }
      rekeyEnvironments(db);
      db.exec(`PRAGMA application_id = ${HISTORY_APPLICATION_ID}`);
      db.exec(`PRAGMA user_version = ${HISTORY_SCHEMA_VERSION}`);
      db.prepare("SELECT run_id, case_id, median_ms, samples_ms FROM case_results LIMIT 1").all();
      db.exec("COMMIT");
    } catch (e) {
      if (db.isTransaction) db.exec("ROLLBACK");
      db.close();
      throw notHistoryDatabase(path, e);
    }
    return new HistoryStore(db, path);
  }

  /** Open a history database that cannot be written (`why`), read-only: see {@link open}. */
  static async #openReadOnly(path: string, why: string): Promise<HistoryStore> {
    await checkHistoryFile(path, { write: false });
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(path, { readOnly: true });
      db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    } catch (e) {
      throw new DriftInputError(path, `cannot open (${e instanceof Error ? e.message : e})`);
    }
    try {
      const have = new Set(
        (db.prepare("PRAGMA table_info(case_results)").all() as Row[]).map((r) => str(r.name)),
      );
      const current = historyKind(db) === "ours" && schemaVersion(db) === HISTORY_SCHEMA_VERSION &&
        ADDED_COLUMNS.every(([name]) => have.has(name));
      if (!current) {
        throw new DriftInputError(
          path,
          `cannot be written (${why}: a read-only file or filesystem?), and it is a history ` +
            "database of an older harness, which is brought up to date (columns added) when " +
            "opened: copy it to a writable folder and give the copy",
        );
      }
    } catch (e) {
      db.close();
      throw notHistoryDatabase(path, e);
    }
    return new HistoryStore(db, path);
  }

  /**
   * The id of the stored run this report is, or null: the same start and end times,
   * matrix, filter, shard, totals and environment fingerprint, and the same cases (ids,
   * statuses and timing samples). That is the same report.json added twice, or a run
   * already recorded by `run --history`.
   *
   * @example
   * ```ts ignore
   * const id = store.findRun(report);
   * if (id !== null) console.error(`already stored as run ${id}`);
   * ```
   */
  findRun(report: RunReport): number | null {
    const candidates = this.#db.prepare(
      `SELECT r.id FROM runs r JOIN environments e ON r.environment_id = e.id
       WHERE r.started_at = ? AND r.ended_at = ? AND r.matrix = ? AND r.filter IS ?
         AND r.shard IS ? AND r.totals = ? AND e.fingerprint = ?
       ORDER BY r.id`,
    ).all(
      report.startedAt,
      report.endedAt,
      report.matrix,
      report.filter,
      report.shard,
      JSON.stringify(report.totals),
      JSON.stringify(report.fingerprint),
    ) as Row[];
    const want = caseKeys(report);
    const cases = this.#db.prepare(
      "SELECT case_id, status, samples_ms FROM case_results WHERE run_id = ?",
    );
    for (const c of candidates) {
      const rows = cases.all(n(c.id)) as Row[];
      const got = rows.map((r) => `${str(r.case_id)}\n${str(r.status)}\n${nstr(r.samples_ms)}`);
      if (got.sort().join("\n\n") === want) return n(c.id);
    }
    return null;
  }

  /**
   * The id of a stored run this report resumes, or null: an interrupted run with the same
   * start, matrix, filter and shard whose every case is in this report with the same status
   * and timing samples (a case that errored there: in it, run again or not), and which has
   * fewer cases than it or a case it ran again (`run --resume` keeps the run's
   * start and its finished results). Storing the resumed report replaces that run, so its
   * cases are not counted twice.
   *
   * @example
   * ```ts ignore
   * const earlier = store.findEarlierStop(resumedReport);
   * if (earlier !== null) console.error(`replaces run ${earlier}`);
   * ```
   */
  findEarlierStop(report: RunReport): number | null {
    const candidates = this.#db.prepare(
      `SELECT id, totals FROM runs WHERE started_at = ? AND matrix = ? AND filter IS ?
         AND shard IS ? ORDER BY id`,
    ).all(report.startedAt, report.matrix, report.filter, report.shard) as Row[];
    const want = new Map(
      report.results.map((r) => [r.id, `${r.status}\n${samplesOf(r)}`]),
    );
    const cases = this.#db.prepare(
      "SELECT case_id, status, samples_ms FROM case_results WHERE run_id = ?",
    );
    for (const c of candidates) {
      const rows = cases.all(n(c.id)) as Row[];
      if (rows.length > want.size) continue;
      // a case that errored there may have run again (`run --resume` runs a case lost to a
      // device loss or a timeout again): it is in the report, with its new result; such a
      // resume was stored as a run of its own, or refused as a merge of shards
      let ranAgain = false;
      const kept = rows.every((r) => {
        const now = want.get(str(r.case_id));
        if (now === undefined) return false;
        if (now === `${str(r.status)}\n${nstr(r.samples_ms)}`) return true;
        if (str(r.status) !== "error") return false;
        ranAgain = true;
        return true;
      });
      if (kept && (rows.length < want.size || ranAgain)) return n(c.id);
    }
    return null;
  }

  /**
   * Append a run (its environment deduplicated by fingerprint) and return its id. A run
   * already stored ({@link HistoryStore.findRun}) is not stored again: its id is returned,
   * so a run counts once in every series and step test. A resumed run replaces its earlier
   * stop ({@link HistoryStore.findEarlierStop}), keeping that run's id and place.
   *
   * @example
   * ```ts ignore
   * const id = await store.append(report, { label: "nightly", backend: "vulkan" });
   * ```
   */
  async append(
    report: RunReport,
    options: { label?: string; backend?: string } = {},
  ): Promise<number> {
    const known = this.findRun(report);
    if (known !== null) return known;
    return (await this.appendAll([report], options))[0].id;
  }

  /**
   * Throw the {@link HistoryOverlapError} that {@link HistoryStore.append} would throw for
   * this report, storing nothing: a command that writes something else before it appends
   * (`baseline update --from-report --history` writes the baseline) checks first, so a
   * refusal leaves nothing half done.
   *
   * @example
   * ```ts ignore
   * await store.checkAppend(mergedReport, { backend: "vulkan" }); // throws when a shard is stored
   * ```
   */
  async checkAppend(report: RunReport, options: { backend?: string } = {}): Promise<void> {
    if (this.findRun(report) !== null) return;
    const b = await baselineFromReport(report, { backend: options.backend });
    const same = this.#sameMeasurements(report, b.deviceKey, this.findEarlierStop(report));
    if (same !== null) throw new HistoryOverlapError(report, same);
  }

  /**
   * Append runs as {@link HistoryStore.append} does, all in one transaction: a process
   * stopped halfway (SIGKILL, a full disk) stores none of them, so `history --add` of many
   * reports is all or nothing. Each run's outcome is returned in order: stored before (or
   * earlier in `reports`), appended, or replacing its earlier stop. With `relabel`, a run
   * stored before is given `label` (`history --add --label`; {@link AppendedRun.relabeled}).
   *
   * @example
   * ```ts ignore
   * const [night1, night2] = await store.appendAll([r1, r2], { label: "nightly" });
   * night2.outcome; // "appended"
   * ```
   */
  async appendAll(
    reports: readonly RunReport[],
    options: { label?: string; backend?: string; relabel?: boolean } = {},
  ): Promise<AppendedRun[]> {
    // The environments first (async: a baseline's kernel digests), then every write under
    // one lock.
    const prepared: PreparedRun[] = [];
    for (const report of reports) {
      const b = await baselineFromReport(report, { backend: options.backend });
      const fpText = JSON.stringify(report.fingerprint);
      prepared.push({
        report,
        b,
        fpText,
        envDigest: await sha256Hex16(`${b.deviceKey}\n${fpText}`),
      });
    }
    const db = this.#db;
    // The write lock first, then the checks: two `history --add`s of one run at once both
    // found it absent and stored it twice.
    db.exec("BEGIN IMMEDIATE");
    try {
      const out = prepared.map((p) => this.#store(p, options));
      db.exec("COMMIT");
      return out;
    } catch (e) {
      db.exec("ROLLBACK");
      throw e;
    }
  }

  /** Store one prepared run inside the caller's transaction. */
  #store(p: PreparedRun, options: { label?: string; relabel?: boolean }): AppendedRun {
    const { report, b, fpText, envDigest } = p;
    const db = this.#db;
    const stored = this.findRun(report);
    if (stored !== null) {
      // the label given is put on it, as on a resumed run's earlier stop (it was dropped
      // without a word: "not added again", and the run kept its old label)
      const had = db.prepare("SELECT label FROM runs WHERE id = ?").get(stored) as Row;
      const from = had.label === null || had.label === undefined ? null : String(had.label);
      if (!options.relabel || options.label === undefined || options.label === from) {
        return { id: stored, outcome: "stored" };
      }
      db.prepare("UPDATE runs SET label = ? WHERE id = ?").run(options.label, stored);
      return { id: stored, outcome: "stored", relabeled: { from } };
    }
    const earlier = this.findEarlierStop(report);
    const same = this.#sameMeasurements(report, b.deviceKey, earlier);
    if (same !== null) throw new HistoryOverlapError(report, same);
    db.prepare(
      `INSERT OR IGNORE INTO environments
       (digest, device_key, deno, adapter, harness_revision, fingerprint)
       VALUES (?, ?, ?, ?, ?, ?)`,
    ).run(
      envDigest,
      b.deviceKey,
      report.fingerprint.runtime.deno,
      JSON.stringify(report.fingerprint.adapter),
      report.fingerprint.harnessRevision,
      fpText,
    );
    const env = db.prepare("SELECT id FROM environments WHERE digest = ?").get(envDigest) as Row;
    let runId: number;
    if (earlier !== null) {
      // The resumed report holds the earlier stop's cases and the rest: it replaces them.
      db.prepare("DELETE FROM case_results WHERE run_id = ?").run(earlier);
      db.prepare(
        `UPDATE runs SET ended_at = ?, label = COALESCE(?, label), environment_id = ?,
           totals = ? WHERE id = ?`,
      ).run(
        report.endedAt,
        options.label ?? null,
        n(env.id),
        JSON.stringify(report.totals),
        earlier,
      );
      runId = earlier;
    } else {
      const run = db.prepare(
        `INSERT INTO runs (started_at, ended_at, matrix, filter, shard, label, environment_id, totals)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        report.startedAt,
        report.endedAt,
        report.matrix,
        report.filter,
        report.shard,
        options.label ?? null,
        n(env.id),
        JSON.stringify(report.totals),
      );
      runId = n(run.lastInsertRowid);
    }
    const insert = db.prepare(
      `INSERT INTO case_results (run_id, case_id, params, status, decision, backend,
         plan_digest, output_digest, kernel_hash, out_max_abs, out_max_rel, out_cos_diff,
         out_norm_rel, lse_max_abs, lse_max_rel, timing_source, median_ms, samples_ms,
         timing_scope, warmup_ms, timing_rules, seed, wall_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const walls = new Map(report.results.map((r) => [r.id, r.wallMs]));
    for (const c of b.cases) {
      const wall = walls.get(c.id);
      const m = c.metrics;
      insert.run(
        runId,
        c.id,
        c.params ? JSON.stringify(c.params) : null,
        c.status,
        c.decision,
        c.backend,
        c.planDigest,
        c.outputDigest,
        c.kernelHash,
        m?.outMaxAbs ?? null,
        m?.outMaxRel ?? null,
        m?.outCosDiff ?? null,
        m?.outNormRel ?? null,
        m?.lseMaxAbs ?? null,
        m?.lseMaxRel ?? null,
        c.timing?.source ?? null,
        c.timing?.medianMs ?? null,
        c.timing ? JSON.stringify(c.timing.samplesMs) : null,
        // absent in a report: every pass ("all"), no warm-up, rules not recorded
        c.timing ? c.timing.scope ?? "all" : null,
        c.timing ? c.timing.warmupMs ?? 0 : null,
        c.timing?.rules ?? null,
        c.seed ?? null,
        typeof wall === "number" && Number.isFinite(wall) ? wall : null,
      );
    }
    return { id: runId, outcome: earlier === null ? "appended" : "replaced" };
  }

  /**
   * A stored run (other than `exclude`, the earlier stop a resumed run replaces) that holds
   * this report's measurements: a run of the same device and matrix whose time overlaps this
   * one's and whose every case shared with it has the same timing samples, or, for a case
   * without any (`run --repeats 0`, a refused case), the same status and wall time. That is a
   * merged run and one of its shards (each has the other's measurements), or a folder rebuilt
   * from a stored run; storing both counts each measurement twice. A run without timing
   * samples was never recognised, and both were stored. Null when none, or when neither
   * samples nor wall times tell (rows stored before wall times were).
   */
  #sameMeasurements(report: RunReport, key: string, exclude: number | null): StoredRun | null {
    const mine = new Map<string, string>();
    for (const r of report.results) {
      const k = measurementKey(samplesOf(r), r.wallMs, r.status);
      if (k !== null) mine.set(r.id, k);
    }
    if (mine.size === 0) return null;
    const candidates = this.#db.prepare(
      `SELECT r.id, r.started_at, r.shard FROM runs r JOIN environments e ON r.environment_id = e.id
       WHERE e.device_key = ? AND r.matrix = ? AND r.started_at <= ? AND r.ended_at >= ?
         AND r.id IS NOT ? ORDER BY r.id`,
    ).all(key, report.matrix, report.endedAt, report.startedAt, exclude) as Row[];
    const cases = this.#db.prepare(
      "SELECT case_id, status, samples_ms, wall_ms FROM case_results WHERE run_id = ?",
    );
    for (const c of candidates) {
      const shared = (cases.all(n(c.id)) as Row[]).flatMap((r) => {
        const samples = nstr(r.samples_ms);
        const k = measurementKey(
          samples === "[]" ? null : samples,
          r.wall_ms === null || r.wall_ms === undefined ? null : n(r.wall_ms),
          str(r.status),
        );
        const id = str(r.case_id);
        return k !== null && mine.has(id) ? [{ id, k }] : [];
      });
      if (shared.length > 0 && shared.every((r) => mine.get(r.id) === r.k)) {
        return {
          id: n(c.id),
          startedAt: str(c.started_at),
          shard: nstr(c.shard),
          cases: shared.length,
          ...(shared.some((r) => r.k.startsWith("samples ")) ? {} : { by: "wall" as const }),
        };
      }
    }
    return null;
  }

  /**
   * Every run, oldest first.
   *
   * @example
   * ```ts ignore
   * store.runs().length; // 3
   * ```
   */
  runs(): HistoryRun[] {
    const rows = this.#db.prepare(
      `SELECT r.id, r.started_at, r.matrix, r.filter, r.label, e.device_key, e.deno,
              e.harness_revision, (SELECT COUNT(*) FROM case_results c WHERE c.run_id = r.id) AS cases
       FROM runs r JOIN environments e ON r.environment_id = e.id
       ORDER BY r.started_at, r.id`,
    ).all() as Row[];
    return rows.map((r) => ({
      id: n(r.id),
      startedAt: str(r.started_at),
      matrix: str(r.matrix),
      filter: nstr(r.filter),
      label: nstr(r.label),
      deviceKey: str(r.device_key),
      deno: str(r.deno),
      harnessRevision: nstr(r.harness_revision),
      cases: n(r.cases),
    }));
  }

  /**
   * The series of one metric for every case matching a filter (`--filter` syntax; null:
   * every case), oldest run first, with steps detected; when more than one case matches,
   * a last series `*` holds the geometric mean over the matched cases per run.
   * A malformed filter throws RangeError (from the matrix filter parser).
   *
   * @example
   * ```ts ignore
   * for (const s of store.series("preset=tiny;dtype=f32", "median_ms")) {
   *   console.log(s.caseId, s.points.map((p) => p.value), s.steps);
   * }
   * ```
   */
  series(
    filter: string | null,
    metric: HistoryMetric,
    options: StepOptions & { deviceKey?: string; correction?: StepCorrection } = {},
  ): Series[] {
    if (!(HISTORY_METRICS as readonly string[]).includes(metric)) {
      throw new DriftInputError(
        "--metric",
        `"${metric}" is not one of ${HISTORY_METRICS.join(", ")}`,
      );
    }
    const f = filter ? parseFilter(filter) : null;
    // Only the rows asked for leave SQLite: those of the device, and of the cases whose params
    // match the filter (each distinct params text parsed once, not once per run).
    const where = [`c.${metric} IS NOT NULL`];
    const args: string[] = [];
    if (options.deviceKey) {
      where.push("e.device_key = ?");
      args.push(options.deviceKey);
    }
    if (f) {
      const kept = this.#matchingCases(metric, f);
      if (kept.length === 0) return [];
      where.push(
        "(c.case_id, c.params) IN (SELECT json_extract(value, '$[0]'), json_extract(value, " +
          "'$[1]') FROM json_each(?))",
      );
      args.push(JSON.stringify(kept));
    }
    const timed = metric === "median_ms";
    const rows = this.#db.prepare(
      `SELECT c.case_id, c.${metric} AS value, r.id AS run_id, r.started_at, r.label, e.deno,
              e.harness_revision, e.device_key, e.id AS env_id, c.backend, c.timing_source, c.timing_scope, c.warmup_ms,
              c.timing_rules, c.seed
       FROM case_results c JOIN runs r ON c.run_id = r.id
       JOIN environments e ON r.environment_id = e.id
       WHERE ${where.join(" AND ")}
       ORDER BY r.started_at, r.id, c.case_id`,
    ).iterate(...args) as Iterable<Row>;
    const byCase = new Map<string, SeriesPoint[]>();
    // each run's environment row, and each point's backend, for what changed at a step
    const envOf = new Map<number, number>();
    const backendsOf = new Map<string, (string | null)[]>();
    // row by row: a year of nightly runs is hundreds of thousands of rows
    for (const r of rows) {
      const id = str(r.case_id);
      // The harness writes a finite number >= 0 or NULL (a time or an error magnitude;
      // drift/baseline.ts drops the rest): any other value was put there by hand or by damage,
      // and would poison the step search (a negative one was charted and searched as read).
      if (typeof r.value !== "number" || !Number.isFinite(r.value) || r.value < 0) {
        throw new DriftInputError(
          this.path,
          `run ${n(r.run_id)}, case ${id}: case_results.${metric} is ${
            JSON.stringify(typeof r.value === "number" ? String(r.value) : r.value)
          }, not a finite number >= 0 (the harness writes such numbers or NULL: the database was ` +
            "edited or damaged); delete that run's rows, or record the runs again in a new " +
            "database with history --add",
        );
      }
      envOf.set(n(r.run_id), n(r.env_id));
      const list = byCase.get(id) ?? [];
      list.push({
        runId: n(r.run_id),
        startedAt: str(r.started_at),
        deno: str(r.deno),
        harnessRevision: nstr(r.harness_revision),
        deviceKey: str(r.device_key),
        ...(timed ? { timing: timingLabel(r) } : { inputs: inputsLabel(r) }),
        ...(typeof r.label === "string" ? { label: r.label } : {}),
        value: n(r.value),
      });
      byCase.set(id, list);
      const backends = backendsOf.get(id) ?? [];
      backends.push(nstr(r.backend));
      backendsOf.set(id, backends);
    }
    // Steps are looked for within each device's runs timed alike, or (error metrics) run on
    // the same inputs: a move from one device to another is not a step of either (a database
    // may hold several devices' runs), nor is a move to samples that time other work (another
    // scope, warm-up or timing rules: an upgrade of the harness), nor one to other inputs (the
    // matrix's seed edited: other inputs have other errors), which drift does not compare
    // either.
    const environmentSince = this.#sinceFor(envOf);
    // the backend a case ran on in a run (null: none recorded, or not in the run)
    const backendIn = (caseId: string, runId: number): string | null => {
      const at = byCase.get(caseId)?.findIndex((p) => p.runId === runId) ?? -1;
      return at < 0 ? null : backendsOf.get(caseId)?.[at] ?? null;
    };
    // what changed at a step: the backend of the series' cases (the adapter's choice moved to
    // another kernel), then the recorded environment
    const since = (from: number, to: number, caseIds: readonly string[]) => {
      const env = environmentSince(from, to);
      const moves = new Map<string, number>();
      for (const id of caseIds) {
        const [a, b] = [backendIn(id, from), backendIn(id, to)];
        if (a !== null && b !== null && a !== b) {
          moves.set(`${a} → ${b}`, (moves.get(`${a} → ${b}`) ?? 0) + 1);
        }
      }
      if (moves.size === 0) return env;
      const moved = [...moves.values()].reduce((x, y) => x + y, 0);
      const text = caseIds.length === 1
        ? `backend: ${[...moves.keys()][0]}`
        : `backend of ${moved} of ${caseIds.length} cases: ${
          [...moves].map(([m, k]) => `${m} (${k})`).join(", ")
        }`;
      return { ...env, changes: [text, ...env.changes] };
    };
    // The step searches: each series' points of one device, timed alike, on one input
    const groupsOf = (points: readonly SeriesPoint[]): number[][] => {
      const byDevice = new Map<string, number[]>();
      points.forEach((p, i) => {
        const key = stepGroupKey(p);
        const at = byDevice.get(key);
        if (at) at.push(i);
        else byDevice.set(key, [i]);
      });
      return [...byDevice.values()];
    };
    const steps = (
      points: readonly SeriesPoint[],
      caseIds: readonly string[],
      searches: readonly { at: number[]; values: number[] }[],
      held: StepHeld,
    ): HistoryStep[] =>
      searches
        .flatMap(({ at, values }) =>
          held.steps(values).map((st) => {
            const before = st.index > 0 ? points[at[st.index - 1]] : undefined;
            const here = points[at[st.index]];
            return {
              ...st,
              index: at[st.index],
              ...(before === undefined ? {} : { since: since(before.runId, here.runId, caseIds) }),
            };
          })
        )
        .sort((a, b) => a.index - b.index);
    const found: { caseId: string; points: SeriesPoint[]; caseIds: string[]; noMean?: number[] }[] =
      [...byCase.keys()].sort().map((id) => ({
        caseId: id,
        points: byCase.get(id)!,
        caseIds: [id],
      }));

    if (found.length > 1) {
      const perRun = new Map<
        number,
        {
          point: SeriesPoint;
          values: number[];
          ids: string[];
          timings: Set<string>;
          inputs: Set<string>;
        }
      >();
      for (const s of found) {
        for (const p of s.points) {
          const e = perRun.get(p.runId) ??
            { point: p, values: [], ids: [], timings: new Set(), inputs: new Set() };
          e.values.push(p.value);
          // the cases the mean is over: geometricMean skips values <= 0 (an error metric
          // of exactly 0), so they name no case of it
          if (Number.isFinite(p.value) && p.value > 0) e.ids.push(s.caseId);
          if (p.timing !== undefined) e.timings.add(p.timing);
          if (p.inputs !== undefined) e.inputs.add(p.inputs);
          perRun.set(p.runId, e);
        }
      }
      const noMean: number[] = [];
      const points = [...perRun.values()]
        .sort((a, b) =>
          a.point.startedAt < b.point.startedAt
            ? -1
            : a.point.startedAt > b.point.startedAt
            ? 1
            : a.point.runId - b.point.runId
        )
        .flatMap((e) => {
          const g = geometricMean(e.values);
          // a run's mean is timed as its cases are, together
          const timing = timed
            ? { timing: [...e.timings].sort().join(" + ") }
            : { inputs: [...e.inputs].sort().join(" + ") };
          const n = e.ids.length;
          const cases = `${plural(n, "case")} ${idsDigest(e.ids)}`;
          if (g === null) noMean.push(e.point.runId);
          return g === null ? [] : [{ ...e.point, ...timing, cases, value: g }];
        });
      found.push({
        caseId: "*",
        points,
        caseIds: [...byCase.keys()],
        ...(noMean.length > 0 ? { noMean } : {}),
      });
    }
    const searchesOf = found.map((s) =>
      groupsOf(s.points).map((at) => ({ at, values: at.map((i) => s.points[i].value) }))
    );
    const held = heldSteps(searchesOf.flat().map((g) => g.values), options);
    return found.map(({ caseId, points, caseIds, noMean }, i) => ({
      caseId,
      points,
      steps: steps(points, caseIds, searchesOf[i], held),
      ...(noMean !== undefined ? { noMean } : {}),
      stepTest: held.stepTest,
    }));
  }

  /**
   * The ids of the cases with a value of the metric (of one device's runs, when given),
   * sorted: the case ids of {@link HistoryStore.series} without a filter, without
   * computing a series.
   *
   * @example
   * ```ts ignore
   * store.caseIds("median_ms"); // ["preset=tiny;path=absorbed;...", ...]
   * ```
   */
  caseIds(metric: HistoryMetric, options: { deviceKey?: string } = {}): string[] {
    if (!(HISTORY_METRICS as readonly string[]).includes(metric)) {
      throw new DriftInputError(
        "--metric",
        `"${metric}" is not one of ${HISTORY_METRICS.join(", ")}`,
      );
    }
    const rows = (options.deviceKey
      ? this.#db.prepare(
        `SELECT DISTINCT c.case_id FROM case_results c JOIN runs r ON c.run_id = r.id
         JOIN environments e ON r.environment_id = e.id
         WHERE c.${metric} IS NOT NULL AND e.device_key = ?`,
      ).all(options.deviceKey)
      : this.#db.prepare(
        `SELECT DISTINCT case_id FROM case_results WHERE ${metric} IS NOT NULL`,
      ).all()) as Row[];
    return rows.map((r) => str(r.case_id)).sort();
  }

  /**
   * What changed between two runs' recorded environments (one line per group; none when the
   * same), their fingerprints read once each.
   */
  #sinceFor(
    envOf: ReadonlyMap<number, number>,
  ): (from: number, to: number) => { runId: number; changes: readonly string[] } {
    const read = this.#db.prepare("SELECT fingerprint FROM environments WHERE id = ?");
    const prints = new Map<number, Fingerprint | null>();
    const print = (env: number): Fingerprint | null => {
      if (!prints.has(env)) {
        const row = read.get(env) as Row | undefined;
        let fp: Fingerprint | null = null;
        try {
          const v: unknown = JSON.parse(str(row?.fingerprint));
          if (isRecord(v)) fp = v as unknown as Fingerprint;
        } catch {
          // an unreadable fingerprint: nothing said of it
        }
        prints.set(env, fp);
      }
      return prints.get(env) ?? null;
    };
    return (from, to) => {
      const [a, b] = [envOf.get(from), envOf.get(to)];
      if (a === undefined || b === undefined || a === b) return { runId: from, changes: [] };
      const [fa, fb] = [print(a), print(b)];
      if (fa === null || fb === null) return { runId: from, changes: [] };
      return { runId: from, changes: attributeEnvironment(fa, fb).summary };
    };
  }

  /** The (case id, params text) pairs with a value of the metric whose params match `f`. */
  #matchingCases(metric: HistoryMetric, f: CaseFilter): [string, string][] {
    const rows = this.#db.prepare(
      `SELECT DISTINCT case_id, params FROM case_results
       WHERE ${metric} IS NOT NULL AND params IS NOT NULL`,
    ).all() as Row[];
    return rows.flatMap((r) =>
      typeof r.params === "string" &&
        matchesFilter(JSON.parse(r.params) as CaseParams, f)
        ? [[str(r.case_id), r.params] as [string, string]]
        : []
    );
  }

  /**
   * Close the database.
   *
   * @example
   * ```ts ignore
   * store.close();
   * ```
   */
  close(): void {
    this.#db.close();
  }
}
