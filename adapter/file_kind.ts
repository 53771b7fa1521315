/**
 * Which of the JSON files the harness reads or writes a value is, from its shape, and the
 * one wording every reader uses when it is given the wrong one: what the file is (with the
 * keys that show it), what was expected, and which command takes the file instead. A run
 * report given as a caps file, a baseline given where a report is expected, or a model
 * config.json given as `--caps` is named the same way by each reader.
 *
 * @module
 */
import type { ConfigIssue } from "./errors.ts";
import { detectConfigFormat } from "./config_format.ts";
import { isRecord } from "../util/is_record.ts";

/** The JSON files of the harness: those it writes, and those it reads from users. */
export type FileKind =
  | "run-report"
  | "run-state"
  | "results-line"
  | "bench-report"
  | "baseline"
  | "compare-report"
  | "caps"
  | "model-config"
  | "matrix"
  | "thresholds"
  | "tuning";

interface KindWords {
  /** What the file is, with its article ("a bench report"). */
  readonly name: string;
  /** Who writes it (or reads it, for a user's file), before the keys that show it. */
  readonly origin: string;
  /** What a reader expecting this kind asks for. */
  readonly wanted: string;
  /** Where to give such a file instead, or null where no command reads it. */
  readonly giveTo: string | null;
}

const KINDS: Readonly<Record<FileKind, KindWords>> = {
  "run-report": {
    name: "a run report",
    origin: "run --out <dir> and merge write it as report.json",
    wanted: "the report.json of a run (run --out <dir>, or merge)",
    giveTo: "compare, baseline update --from-report or history --add",
  },
  "run-state": {
    name: "a run's run.json",
    origin: "run writes it beside report.json",
    wanted: "a run's run.json (its state and header)",
    giveTo: "merge or run --resume, as the run's folder",
  },
  "results-line": {
    name: "a line of a run's results.jsonl",
    origin: "run writes one case result a line to <dir>/results.jsonl",
    wanted: "a case result (a line of a run's results.jsonl)",
    giveTo: "merge or run --resume, as the run's folder",
  },
  "bench-report": {
    name: "a bench report",
    origin: "bench --out writes it",
    wanted: "a bench report with ceilings (bench --out <dir> writes <dir>/report.json)",
    giveTo: "bench --reference-ceilings",
  },
  "baseline": {
    name: "a drift baseline",
    origin: "baseline update writes it",
    wanted: 'a drift baseline (baseline update writes it: "format": "mla-harness-baseline")',
    giveTo: "run --baseline, compare or baseline key",
  },
  "compare-report": {
    name: "a compare report",
    origin: "compare --json writes it, and upgrade-check as compare.json",
    wanted: 'a compare report ("format": "mla-harness-compare")',
    giveTo: null,
  },
  "caps": {
    name: "a device capabilities file",
    origin: "devices --json writes it",
    wanted: "a caps file: the JSON of devices --json (adapter, features, limits)",
    giveTo: "explain --caps",
  },
  "model-config": {
    name: "a model config.json",
    origin: "HF or Megatron naming",
    wanted: "a model config.json (HF keys qk_nope_head_dim, qk_rope_head_dim, kv_lora_rank, " +
      "or Megatron keys qk_head_dim, qk_pos_emb_head_dim)",
    giveTo: "explain as its <config> argument, or a matrix as a preset",
  },
  "matrix": {
    name: "a matrix",
    origin: "run, bench and upgrade-check read it with --matrix",
    wanted: "a matrix (name and groups of axes)",
    giveTo: "run, bench or upgrade-check as --matrix",
  },
  "thresholds": {
    name: "a drift thresholds file",
    origin: "compare and run read it with --thresholds",
    wanted: "a drift thresholds file (metricFactor, floorFraction, absoluteFloors, alpha, " +
      "speedRatio, minSamples)",
    giveTo: "compare, run or upgrade-check as --thresholds",
  },
  "tuning": {
    name: "a plan-tuning file",
    origin: "tools/tune_plan.ts writes it",
    wanted: 'a plan-tuning file ({"knobs": {...}}, as tools/tune_plan.ts writes it)',
    giveTo: 'MLA_HARNESS_TUNING=<file>, or put its knobs under a caps file\'s "tuning" key',
  },
};

/** Keys of a model config.json (HF or Megatron naming) that no other file of ours has. */
const MODEL_CONFIG_KEYS = [
  "kv_lora_rank",
  "qk_rope_head_dim",
  "qk_nope_head_dim",
  "qk_pos_emb_head_dim",
  "qk_head_dim",
  "v_head_dim",
  "hidden_size",
  "num_attention_heads",
] as const;

/** A file recognized by its shape. */
export interface FileKindMatch {
  /** The kind it is. */
  readonly kind: FileKind;
  /** The key that shows it (the first of them), for an issue's path. */
  readonly path: string;
  /** The value at that key. */
  readonly value: unknown;
  /** The keys that show it, as shown in messages (`records and targets`). */
  readonly shows: string;
}

function match(
  o: Record<string, unknown>,
  kind: FileKind,
  path: string,
  shows: string,
): FileKindMatch {
  return { kind, path, value: o[path], shows };
}

/**
 * The kind of a parsed JSON file, from the keys that only that kind has, or null when it
 * looks like none of them (or like several). The marks, first match wins: a `format` of
 * mla-harness-baseline or mla-harness-compare; `records` with `targets`, `ceilings` or
 * `machine` (a bench report); `state` with `report` (run.json); `version` 1 with `results`
 * (a run report); `id`, `status`, `decision` and `expect` (a line of results.jsonl);
 * `adapter` with `limits` (a caps file); an MLA head width, or two model
 * config keys (a config.json); `groups` of objects with `axes` (a matrix); `knobs` without
 * `adapter` (a plan-tuning file, tools/tune_plan.ts). Drift thresholds
 * have no key of their own and are never recognized.
 *
 * @example
 * ```ts
 * import { recognizeFileKind } from "./file_kind.ts";
 * recognizeFileKind({ machine: {}, records: [], targets: [] })?.kind; // "bench-report"
 * recognizeFileKind({ hidden_size: 64, kv_lora_rank: 32 })?.path; // "kv_lora_rank"
 * recognizeFileKind({ hello: 1 }); // null
 * ```
 */
export function recognizeFileKind(v: unknown): FileKindMatch | null {
  if (!isRecord(v)) return null;
  if (v.format === "mla-harness-baseline") {
    return match(v, "baseline", "format", '"format": "mla-harness-baseline"');
  }
  if (v.format === "mla-harness-compare") {
    return match(v, "compare-report", "format", '"format": "mla-harness-compare"');
  }
  if (Array.isArray(v.records) && ("targets" in v || "ceilings" in v || "machine" in v)) {
    return match(v, "bench-report", "records", "records and targets");
  }
  if (typeof v.state === "string" && "report" in v && !("results" in v)) {
    return match(v, "run-state", "state", "state and report");
  }
  if (
    typeof v.id === "string" && typeof v.status === "string" &&
    typeof v.decision === "string" && isRecord(v.expect)
  ) {
    return match(v, "results-line", "id", "id, status, decision and expect");
  }
  if (v.version === 1 && Array.isArray(v.results)) {
    return match(v, "run-report", "results", '"version": 1 and "results"');
  }
  if ("adapter" in v && "limits" in v && !("results" in v)) {
    return match(v, "caps", "adapter", "adapter, features, limits");
  }
  const configKeys = MODEL_CONFIG_KEYS.filter((k) => k in v);
  if (configKeys.length > 1 || detectConfigFormat(v) !== null) {
    return match(v, "model-config", configKeys[0], configKeys.slice(0, 3).join(", "));
  }
  if (Array.isArray(v.groups) && v.groups.some((g) => isRecord(g) && "axes" in g)) {
    return match(v, "matrix", "groups", "groups of axes");
  }
  if (isRecord(v.knobs) && !("adapter" in v)) {
    return match(v, "tuning", "knobs", "knobs");
  }
  return null;
}

/**
 * How a recognized file is named in messages: what it is, who writes it and the keys that
 * show it.
 *
 * @example
 * ```ts
 * import { describeFileKind, recognizeFileKind } from "./file_kind.ts";
 * describeFileKind(recognizeFileKind({ records: [], targets: [] })!);
 * // "a bench report (bench --out writes it: records and targets)"
 * ```
 */
export function describeFileKind(found: FileKindMatch): string {
  const words = KINDS[found.kind];
  return `${words.name} (${words.origin}: ${found.shows})`;
}

/**
 * What a reader expecting `expected` asks for, as its messages say it.
 *
 * @example
 * ```ts
 * import { wantedFileKind } from "./file_kind.ts";
 * wantedFileKind("run-report"); // "the report.json of a run (run --out <dir>, or merge)"
 * ```
 */
export function wantedFileKind(expected: FileKind): string {
  return KINDS[expected].wanted;
}

/**
 * When a value read where `expected` (one kind, or any of several) belongs is recognizably
 * another of the harness's files: the words every reader uses, `it is <what it is>;
 * expected <what was asked for>; give it to <the command that takes it>`. Null when it is
 * of an expected kind or of none recognized: the reader's own checks then say what is wrong.
 *
 * @example
 * ```ts
 * import { wrongFileKind } from "./file_kind.ts";
 * wrongFileKind({ adapter: {}, features: [], limits: {} }, "baseline");
 * // "it is a device capabilities file (devices --json writes it: adapter, features, limits);
 * //  expected a drift baseline (...); give it to explain --caps"
 * wrongFileKind({ adapter: {}, features: [], limits: {} }, "caps"); // null
 * ```
 */
export function wrongFileKind(
  v: unknown,
  expected: FileKind | readonly FileKind[],
): string | null {
  const found = recognizeFileKind(v);
  return found === null ? null : wrongKindWords(found, expected);
}

function wrongKindWords(
  found: FileKindMatch,
  expected: FileKind | readonly FileKind[],
): string | null {
  const wanted: readonly FileKind[] = typeof expected === "string" ? [expected] : expected;
  if (wanted.includes(found.kind)) return null;
  const giveTo = KINDS[found.kind].giveTo;
  return `it is ${describeFileKind(found)}; expected ${wanted.map(wantedFileKind).join(" or ")}` +
    (giveTo === null ? "" : `; give it to ${giveTo}`);
}

/**
 * {@link wrongFileKind} as a `ConfigIssue`, for the readers that throw a `ConfigError`: at
 * the key that shows the kind, with its value; the message is the same words after "shows".
 *
 * @example
 * ```ts
 * import { wrongFileKindIssue } from "./file_kind.ts";
 * wrongFileKindIssue({ hidden_size: 64, kv_lora_rank: 32 }, "caps")?.path; // "kv_lora_rank"
 * wrongFileKindIssue({ adapter: {}, features: [], limits: {} }, "caps"); // null
 * ```
 */
export function wrongFileKindIssue(
  v: unknown,
  expected: FileKind | readonly FileKind[],
): ConfigIssue | null {
  const found = recognizeFileKind(v);
  const words = found === null ? null : wrongKindWords(found, expected);
  return found === null || words === null
    ? null
    : { path: found.path, value: found.value, message: `shows ${words}` };
}

/**
 * When `text` is JSON lines rather than one JSON value and its first line is recognizably
 * one of the harness's files (a run's results.jsonl, one case result a line): the words for
 * it, "JSON lines, the first a line of a run's results.jsonl (...); give it to ...". Null
 * otherwise (one line, or a first line of no recognized kind).
 *
 * @example
 * ```ts
 * import { jsonLinesKind } from "./file_kind.ts";
 * const line = '{"id":"a","status":"pass","decision":"supported","expect":{}}';
 * jsonLinesKind(`${line}\n${line}\n`)?.startsWith("JSON lines"); // true
 * jsonLinesKind("{}"); // null
 * ```
 */
export function jsonLinesKind(text: string): string | null {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  if (lines.length < 2) return null;
  let first: unknown;
  try {
    first = JSON.parse(lines[0]);
  } catch {
    return null;
  }
  const found = recognizeFileKind(first);
  if (found === null) return null;
  const giveTo = KINDS[found.kind].giveTo;
  return `JSON lines (${lines.length} values, one a line), the first ${describeFileKind(found)}` +
    (giveTo === null ? "" : `; give it to ${giveTo}`);
}
