/**
 * Option parsing shared by commands: integer lists, enums, and the layout flags.
 *
 * @module
 */
import { InvalidArgumentError } from "@commander-js/extra-typings";
import type { LayoutRequest } from "../adapter/types.ts";
import { CliError, EXIT } from "./errors.ts";

/**
 * Parse "0,5,12" into integers; commander reports a bad value with the flag name.
 *
 * @example
 * ```ts
 * import { parseIntList } from "./options.ts";
 * parseIntList("0,5,12"); // [0, 5, 12]
 * ```
 */
export function parseIntList(value: string): number[] {
  const parts = value.split(",").map((s) => s.trim());
  const out = parts.map(Number);
  const bad = out.findIndex((v, i) => parts[i] === "" || !Number.isInteger(v) || v < 0);
  if (bad >= 0) {
    throw new InvalidArgumentError(
      `"${parts[bad]}" (entry ${bad}) is not a non-negative integer; expected a list like 0,5,12`,
    );
  }
  return out;
}

/**
 * Parse a positive integer option value.
 *
 * @example
 * ```ts
 * import { parsePositiveInt } from "./options.ts";
 * parsePositiveInt("4"); // 4
 * ```
 */
export function parsePositiveInt(value: string): number {
  const v = Number(value);
  if (!Number.isInteger(v) || v < 1) {
    throw new InvalidArgumentError(`"${value}" is not an integer >= 1`);
  }
  return v;
}

/**
 * Parse a non-negative integer option value.
 *
 * @example
 * ```ts
 * import { parseNonNegativeInt } from "./options.ts";
 * parseNonNegativeInt("0"); // 0
 * ```
 */
export function parseNonNegativeInt(value: string): number {
  const v = Number(value);
  if (!Number.isInteger(v) || v < 0) {
    throw new InvalidArgumentError(`"${value}" is not an integer >= 0`);
  }
  return v;
}

/** The layout flags as commander parses them. */
export interface LayoutFlags {
  /** bshd | sbhd | thd */
  layout: "bshd" | "sbhd" | "thd";
  /** Batch (bshd/sbhd). */
  batch: number;
  /** Query tokens per sequence (bshd/sbhd). */
  seqQ: number;
  /** Key tokens per sequence (bshd/sbhd). */
  seqK: number;
  /** Per-sequence key lengths (decode against a cache). */
  kvLens?: number[];
  /** Cumulative query lengths (thd). */
  cuSeqlens?: number[];
  /** Cumulative key lengths (thd). */
  cuSeqlensK?: number[];
  /** Causal. */
  causal: boolean;
}

/**
 * Turn layout flags into a LayoutRequest; thd without --cu-seqlens is a usage error
 * (a CliError with exit code 2).
 *
 * @example
 * ```ts
 * import { layoutFromFlags } from "./options.ts";
 * layoutFromFlags({ layout: "thd", batch: 1, seqQ: 1, seqK: 1, cuSeqlens: [0, 5], causal: true });
 * ```
 */
export function layoutFromFlags(f: LayoutFlags): LayoutRequest {
  if (f.layout === "thd") {
    if (!f.cuSeqlens) {
      throw new CliError(
        "--layout thd needs --cu-seqlens, e.g. --cu-seqlens 0,5,12",
        EXIT.badInput,
      );
    }
    return {
      kind: "thd",
      cuSeqlensQ: f.cuSeqlens,
      ...(f.cuSeqlensK ? { cuSeqlensK: f.cuSeqlensK } : {}),
      causal: f.causal,
    };
  }
  return {
    kind: f.layout,
    batch: f.batch,
    seqQ: f.seqQ,
    seqK: f.seqK,
    ...(f.kvLens ? { kvLens: f.kvLens } : {}),
    causal: f.causal,
  };
}
