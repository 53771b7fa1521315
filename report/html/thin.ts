/**
 * Thinning a scatter plot's points to a cap, so that a page of many cases stays within its
 * size: points that would be drawn within a small distance of each other on a log axis, in
 * the same row and colour, become one point that carries their count. Points a reader must
 * find one by one (a failure, a significant drift) are never merged.
 *
 * @module
 */

/** Most points one scatter plot draws before its points are thinned (report and compare). */
export const PLOT_POINT_CAP = 2000;

/**
 * Bin widths tried in turn, in decades of the log axis: the first that brings the plot under
 * its cap is used. On the report's 420 px headroom axis (about 6 decades) 0.01 decade is
 * under 1 px, less than a point's width; 0.5 decade is the coarsest (a plot that still has too
 * many points then has that many distinct rows and colours).
 */
export const THIN_WIDTHS: readonly number[] = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5];

/** Options of {@link thinPoints}. */
export interface ThinOptions<T> {
  /** Most points drawn (default {@link PLOT_POINT_CAP}). */
  readonly cap?: number;
  /** Points never merged while those alone fit the cap (default: none). */
  readonly keep?: (p: T) => boolean;
}

/** What {@link thinPoints} drew. */
export interface Thinned<T> {
  /** The points to draw: each kept one, and one per occupied bin, with its count. */
  readonly points: (T & { readonly count: number })[];
  /** The bin width used, in decades; `null` when nothing was merged. */
  readonly width: number | null;
  /** Points before thinning. */
  readonly total: number;
}

/**
 * Thins `points` to at most `cap` (when the ones that `keep` holds alone fit it): points in the
 * same row (`row(p)`, which names everything else that places or colours the point) whose
 * `value` (positive, drawn on a log axis) falls in the same bin are drawn as one, the one of
 * them `worse` ranks first, with their count. The narrowest width of {@link THIN_WIDTHS}
 * that fits is used. Under the cap, every point is returned with count 1.
 *
 * @example
 * ```ts
 * import { thinPoints } from "./thin.ts";
 * const pts = [1, 1.001, 1.002, 5].map((v, i) => ({ id: `c${i}`, v }));
 * const t = thinPoints(pts, (p) => "row", {
 *   value: (p) => p.v,
 *   worse: (a, b) => b.v - a.v,
 *   cap: 2,
 * });
 * t.points.map((p) => `${p.id} x${p.count}`); // ["c2 x3", "c3 x1"]
 * ```
 */
export function thinPoints<T>(
  points: readonly T[],
  row: (p: T) => string,
  options: ThinOptions<T> & {
    /** The value on the log axis (positive). */
    readonly value: (p: T) => number;
    /** Negative when `a` should represent a bin rather than `b` (e.g. the larger error). */
    readonly worse: (a: T, b: T) => number;
  },
): Thinned<T> {
  const cap = options.cap ?? PLOT_POINT_CAP;
  const keep = options.keep ?? (() => false);
  const total = points.length;
  if (total <= cap) return { points: points.map((p) => ({ ...p, count: 1 })), width: null, total };
  const kept = points.filter(keep);
  // Kept points stay whole unless they alone pass the cap; then they are binned too (apart
  // from the others: a merged failure still reads as a failure).
  const mergeKept = kept.length >= cap;
  const loose = mergeKept ? points : points.filter((p) => !keep(p));
  let best: Thinned<T> | undefined;
  for (const width of THIN_WIDTHS) {
    const bins = new Map<string, { rep: T; count: number }>();
    for (const p of loose) {
      const v = options.value(p);
      const bin = v > 0 && Number.isFinite(v) ? Math.floor(Math.log10(v) / width) : "x";
      const key = `${keep(p) ? "k" : "m"}\u0000${row(p)}\u0000${bin}`;
      const b = bins.get(key);
      if (b === undefined) bins.set(key, { rep: p, count: 1 });
      else {
        b.count += 1;
        if (options.worse(p, b.rep) < 0) b.rep = p;
      }
    }
    const merged = [...bins.values()].map((b) => ({ ...b.rep, count: b.count }));
    best = {
      points: mergeKept ? merged : [...kept.map((p) => ({ ...p, count: 1 })), ...merged],
      width,
      total,
    };
    if (best.points.length <= cap) break;
  }
  return best!;
}

/**
 * A caption's sentence on thinning, or "" when nothing was merged: `what` was merged, along
 * `axis`, each bin drawn as `pick` of its points.
 *
 * @example
 * ```ts
 * import { thinNote, type Thinned } from "./thin.ts";
 * declare const t: Thinned<unknown>;
 * thinNote(t, { what: "passing sides", axis: "headroom", pick: "the worst" });
 * // e.g. "The 9000 points are drawn as 1460: passing sides in the same row and colour whose
 * // headroom is within 0.02 decade of each other are one point, the worst of them (hover:
 * // their count)."
 * ```
 */
export function thinNote(
  t: Thinned<unknown>,
  words: { readonly what: string; readonly axis: string; readonly pick: string },
): string {
  if (t.width === null) return "";
  return `The ${t.total} points are drawn as ${t.points.length}: ${words.what} in the same ` +
    `row and colour whose ${words.axis} is within ${t.width} decade of each other are one ` +
    `point, ${words.pick} of them (hover: their count).`;
}
