/**
 * Case and matrix-file types: pure data with stable ids.
 *
 * @module
 */

/** How per-sequence key lengths are drawn. */
export type Varlen = "none" | "normal" | "normal-empty";

/** What a case runs: the attention core, or the whole layer. */
export type CaseMode = "attention" | "layer";

/** A device profile: the real adapter, or the real adapter with features removed / limits lowered. */
export interface DeviceProfile {
  /** Features to pretend are absent. */
  readonly removeFeatures?: readonly string[];
  /** Limits to pretend are lower. */
  readonly limits?: Readonly<Record<string, number>>;
  /** Loop budget to pretend (null: none), replacing the measured one. */
  readonly loopIterationBudget?: number | null;
}

/** The parameters of one case. Every field takes part in the id (in {@link CASE_ID_ORDER}). */
export interface CaseParams {
  /** Preset name or config file path. */
  readonly preset: string;
  /** Override of the head count (odd counts, tensor-parallel shards); 0 = the spec's. */
  readonly heads: number;
  /** Attention path: absorbed (wgsl-absorbed) or expanded (wgsl-expanded). */
  readonly path: "absorbed" | "expanded";
  /** Storage dtype. */
  readonly dtype: "f32" | "f16";
  /** Sequences. */
  readonly b: number;
  /** Query tokens per sequence. */
  readonly sq: number;
  /** Key tokens per sequence (the cache capacity with varlen). */
  readonly sk: number;
  /** Per-sequence key lengths. */
  readonly varlen: Varlen;
  /** Token layout. */
  readonly layout: "bshd" | "sbhd" | "thd";
  /** Causal (bottom-right). */
  readonly causal: boolean;
  /** Forced KV splits (0 = the adapter's choice). */
  readonly splits: number;
  /** Page size of a paged key cache with a shuffled block table (0 = contiguous). */
  readonly page: number;
  /** Device profile name ("native" = as probed). */
  readonly device: string;
  /** Attention core or full layer. */
  readonly mode: CaseMode;
  /**
   * A registered backend id to run on ("" = the bundled backend of `path`). Matrices name
   * backends by id only: a user backend must be loaded from the command line
   * (`--backend-module`), so a matrix cannot load code.
   */
  readonly backend: string;
}

/** The expected support decision of a case. */
export interface CaseExpect {
  /** "supported", "unsupported", or "invalid" (the config or layout must be rejected). */
  readonly support: "supported" | "unsupported" | "invalid";
  /**
   * For unsupported: reason codes that must all be present (known codes, checked when the
   * matrix loads: matrix/reason_codes.ts). For invalid: substrings the error message must
   * contain. None for supported.
   */
  readonly codes?: readonly string[];
}

/** One case of an expanded matrix. */
export interface Case {
  /** Stable id built from the params in a fixed order. */
  readonly id: string;
  /** The parameters. */
  readonly params: CaseParams;
  /** What the adapter must decide (default: supported). */
  readonly expect: CaseExpect;
  /** Seed for inputs (from the matrix; combined with the id by the runner). */
  readonly seed: number;
  /** The device profile named by params.device. */
  readonly deviceProfile: DeviceProfile;
  /** The matrix group it came from: its name, or `groups[i]` (reports group cases by it). */
  readonly group?: string;
}

/** The order (and short names) in which params make up a case id. */
export const CASE_ID_ORDER: readonly (keyof CaseParams)[] = [
  "preset",
  "heads",
  "path",
  "dtype",
  "b",
  "sq",
  "sk",
  "varlen",
  "layout",
  "causal",
  "splits",
  "page",
  "device",
  "mode",
  "backend",
];

/** Defaults of every param; a param at its default is left out of the id. */
export const CASE_DEFAULTS: CaseParams = {
  preset: "tiny",
  heads: 0,
  path: "absorbed",
  dtype: "f32",
  b: 1,
  sq: 1,
  sk: 16,
  varlen: "none",
  layout: "bshd",
  causal: true,
  splits: 0,
  page: 0,
  device: "native",
  mode: "attention",
  backend: "",
};

/** One group of a matrix file: axes (a value or a list each), excludes, expectation. */
export interface MatrixGroup {
  /** Optional label. */
  readonly name?: string;
  /** Axis values (see matrix/schema.ts for each axis). */
  readonly axes: Readonly<Partial<Record<keyof CaseParams, unknown>>>;
  /** Partial assignments whose matching combinations are dropped. */
  readonly exclude?: readonly Readonly<Partial<Record<keyof CaseParams, unknown>>>[];
  /** Expected decision of every case of the group (default supported). */
  readonly expect?: CaseExpect;
}

/** A validated matrix file. */
export interface MatrixFile {
  /** Short name. */
  readonly name: string;
  /** What it covers. */
  readonly description?: string;
  /** Input seed of every case (mixed with the case id). */
  readonly seed?: number;
  /** Named device profiles. */
  readonly devices?: Readonly<Record<string, DeviceProfile>>;
  /** The groups. */
  readonly groups: readonly MatrixGroup[];
}
