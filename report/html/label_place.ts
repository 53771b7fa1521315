/**
 * Where a line's label goes on a log-log plot so that it covers no plotted point: the plot's
 * geometry in pixels (explicit log domains, as the chart is drawn with them), candidate spots
 * along the label's own line, and the first whose text box is clear of the points, the lines
 * and the labels placed before it.
 *
 * @module
 */
import { textWidth } from "./chart.ts";

/** A log-log plot's drawing area: its size in pixels and the domains its axes span. */
export interface LogPlotFrame {
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** The x domain (both ends positive). */
  readonly x: readonly [number, number];
  /** The y domain (both ends positive). */
  readonly y: readonly [number, number];
}

/** A point in data coordinates. */
export interface DataPoint {
  /** x, in the x axis' units. */
  readonly x: number;
  /** y, in the y axis' units. */
  readonly y: number;
}

/** An axis-aligned box in pixels (y grows downwards, as in SVG). */
export interface PixelBox {
  /** Left edge. */
  readonly x0: number;
  /** Top edge. */
  readonly y0: number;
  /** Right edge. */
  readonly x1: number;
  /** Bottom edge. */
  readonly y1: number;
}

/** A label to place beside its line. */
export interface LineLabel {
  /** The text. */
  readonly text: string;
  /**
   * The stretch of its line the label may sit beside (data coordinates, in order of
   * preference: the label's usual spot is at the first vertex).
   */
  readonly along: readonly DataPoint[];
  /** Which side of its anchor the label's usual spot is (the first candidate tried). */
  readonly usual: LabelSpot;
}

/** Where a label's text sits against its anchor on the line. */
export interface LabelSpot {
  /** "left": the text starts at the anchor; "right": it ends there. */
  readonly align: "left" | "right";
  /** Pixels right of the anchor. */
  readonly dx: number;
  /** Pixels below the anchor (negative: above), to the text's middle. */
  readonly dy: number;
}

/** A placed label: its text's anchor in data coordinates, alignment, and box in pixels. */
export interface PlacedLabel {
  /** The text. */
  readonly text: string;
  /** Anchor x in data coordinates (the text's start or end, as `align` says). */
  readonly x: number;
  /** Anchor y in data coordinates (the text's vertical middle). */
  readonly y: number;
  /** "left": the text starts at the anchor; "right": it ends there. */
  readonly align: "left" | "right";
  /** The text's box in pixels. */
  readonly box: PixelBox;
  /** Points its box overlaps (0 unless no spot along its line was clear). */
  readonly covers: number;
}

/** Options of {@link placeLineLabels}. */
export interface PlaceLabelsOptions {
  /** Font size in pixels (default 11). */
  readonly fontSize?: number;
  /** Radius of a point's mark in pixels (default 4.2, a Vega point of size 70). */
  readonly pointRadius?: number;
  /**
   * Pixels kept clear around a point and between two labels (default 2); a label may touch a
   * line (its usual spot sits just above its own).
   */
  readonly gap?: number;
  /** Anchors tried along each label's line (default 24). */
  readonly steps?: number;
}

/**
 * A data point's position in pixels on a log-log frame.
 *
 * @example
 * ```ts
 * import { toPixels } from "./label_place.ts";
 * toPixels({ width: 300, height: 200, x: [1, 1000], y: [1, 100] }, { x: 10, y: 10 });
 * // { x: 100, y: 100 }
 * ```
 */
export function toPixels(frame: LogPlotFrame, p: DataPoint): { x: number; y: number } {
  const f = (v: number, [a, b]: readonly [number, number]) =>
    (Math.log10(v) - Math.log10(a)) / (Math.log10(b) - Math.log10(a));
  return { x: f(p.x, frame.x) * frame.width, y: (1 - f(p.y, frame.y)) * frame.height };
}

/**
 * The data point at a pixel position of a log-log frame (the inverse of {@link toPixels}).
 *
 * @example
 * ```ts
 * import { fromPixels } from "./label_place.ts";
 * fromPixels({ width: 300, height: 200, x: [1, 1000], y: [1, 100] }, { x: 200, y: 0 });
 * // { x: 100, y: 100 } (to rounding)
 * ```
 */
export function fromPixels(frame: LogPlotFrame, p: { x: number; y: number }): DataPoint {
  const g = (t: number, [a, b]: readonly [number, number]) =>
    10 ** (Math.log10(a) + t * (Math.log10(b) - Math.log10(a)));
  return { x: g(p.x / frame.width, frame.x), y: g(1 - p.y / frame.height, frame.y) };
}

/**
 * The whole decades around `lo` to `hi`: the domain a log scale "nices" to.
 *
 * @example
 * ```ts
 * import { decadeDomain } from "./label_place.ts";
 * decadeDomain(0.5, 400); // [0.1, 1000]
 * ```
 */
export function decadeDomain(lo: number, hi: number): [number, number] {
  const a = 10 ** Math.floor(Math.log10(lo) + 1e-9);
  const b = 10 ** Math.ceil(Math.log10(hi) - 1e-9);
  return [a, b > a ? b : a * 10];
}

/**
 * Whether a segment (pixels) crosses or touches a box (Liang-Barsky clipping).
 *
 * @example
 * ```ts
 * import { segmentHitsBox } from "./label_place.ts";
 * segmentHitsBox([0, 0], [10, 10], { x0: 4, y0: 4, x1: 6, y1: 6 }); // true
 * segmentHitsBox([0, 10], [3, 10], { x0: 4, y0: 4, x1: 6, y1: 6 }); // false
 * ```
 */
export function segmentHitsBox(
  a: readonly [number, number],
  b: readonly [number, number],
  box: PixelBox,
): boolean {
  const dx = b[0] - a[0], dy = b[1] - a[1];
  let t0 = 0, t1 = 1;
  const edges: [number, number][] = [
    [-dx, a[0] - box.x0],
    [dx, box.x1 - a[0]],
    [-dy, a[1] - box.y0],
    [dy, box.y1 - a[1]],
  ];
  for (const [p, q] of edges) {
    if (p === 0) {
      if (q < 0) return false;
      continue;
    }
    const t = q / p;
    if (p < 0) t0 = Math.max(t0, t);
    else t1 = Math.min(t1, t);
    if (t0 > t1) return false;
  }
  return true;
}

/**
 * Whether a circle (pixels) overlaps a box.
 *
 * @example
 * ```ts
 * import { circleHitsBox } from "./label_place.ts";
 * circleHitsBox(0, 0, 5, { x0: 3, y0: -1, x1: 9, y1: 1 }); // true
 * circleHitsBox(0, 0, 2, { x0: 3, y0: -1, x1: 9, y1: 1 }); // false
 * ```
 */
export function circleHitsBox(cx: number, cy: number, r: number, box: PixelBox): boolean {
  const nx = Math.min(Math.max(cx, box.x0), box.x1);
  const ny = Math.min(Math.max(cy, box.y0), box.y1);
  return (cx - nx) ** 2 + (cy - ny) ** 2 < r * r;
}

/**
 * The box of one line of text in pixels: `align` "left" starts it at `x`, "right" ends it
 * there; `y` is its vertical middle.
 *
 * @example
 * ```ts
 * import { textBox } from "./label_place.ts";
 * textBox("mi", 10, 0, 0, "right"); // { x0: -12.5, y0: -5.5, x1: 0, y1: 5.5 }
 * ```
 */
export function textBox(
  text: string,
  fontSize: number,
  x: number,
  y: number,
  align: "left" | "right",
): PixelBox {
  const w = textWidth(text, fontSize, false);
  const h = fontSize * 1.1; // ascender to descender
  return {
    x0: align === "left" ? x : x - w,
    y0: y - h / 2,
    x1: align === "left" ? x + w : x,
    y1: y + h / 2,
  };
}

/**
 * Places each label beside its line, in order: its usual spot where that is clear, else the
 * first spot along its line (anchors from its first vertex on, each side of the line) whose
 * text box lies inside the frame and overlaps no point (nor comes within `gap` of one), no line
 * and no label placed before it.
 * Where none is clear, the inside spot covering the fewest points. Lines are polylines in data
 * coordinates (a label's own line among them: its text never sits on it).
 *
 * @example
 * ```ts
 * import { placeLineLabels } from "./label_place.ts";
 * const frame = { width: 400, height: 200, x: [1, 1000], y: [1, 1000] } as const;
 * const line = [{ x: 1, y: 10 }, { x: 1000, y: 10 }];
 * const [label] = placeLineLabels(frame, [{
 *   text: "peak",
 *   along: [{ x: 1000, y: 10 }, { x: 1, y: 10 }],
 *   usual: { align: "right", dx: -4, dy: -7 },
 * }], [{ x: 800, y: 12 }], [line]);
 * label.covers; // 0
 * ```
 */
export function placeLineLabels(
  frame: LogPlotFrame,
  labels: readonly LineLabel[],
  points: readonly DataPoint[],
  lines: readonly (readonly DataPoint[])[],
  options: PlaceLabelsOptions = {},
): PlacedLabel[] {
  const fontSize = options.fontSize ?? 11;
  const gap = options.gap ?? 2;
  const r = (options.pointRadius ?? 4.2) + gap;
  const steps = Math.max(2, options.steps ?? 24);
  const px = (p: DataPoint) => toPixels(frame, p);
  const dots = points.map(px);
  const segments = lines.flatMap((l) => {
    const v = l.map(px);
    return v.slice(1).map((b, i) =>
      [[v[i].x, v[i].y], [b.x, b.y]] as [[number, number], [number, number]]
    );
  });
  const placed: PlacedLabel[] = [];
  const grow = (b: PixelBox, by: number): PixelBox => ({
    x0: b.x0 - by,
    y0: b.y0 - by,
    x1: b.x1 + by,
    y1: b.y1 + by,
  });
  const inside = (b: PixelBox) =>
    b.x0 >= 0 && b.y0 >= 0 && b.x1 <= frame.width && b.y1 <= frame.height;
  for (const label of labels) {
    const anchors = anchorsAlong(label.along.map(px), steps);
    // The usual spot first, then each anchor with the usual side and the others.
    const spots: LabelSpot[] = [label.usual, ...SPOTS.filter((s) => !sameSpot(s, label.usual))];
    let best: PlacedLabel | null = null;
    search: for (const a of anchors) {
      for (const s of spots) {
        const ax = a.x + s.dx, ay = a.y + s.dy;
        const box = textBox(label.text, fontSize, ax, ay, s.align);
        if (!inside(box)) continue;
        const covers = dots.filter((d) => circleHitsBox(d.x, d.y, r, box)).length;
        const crossed = segments.some(([p, q]) => segmentHitsBox(p, q, box)) ||
          placed.some((o) => overlaps(o.box, grow(box, gap)));
        const anchor = fromPixels(frame, { x: ax, y: ay });
        const candidate = { text: label.text, ...anchor, align: s.align, box, covers };
        if (covers === 0 && !crossed) {
          best = candidate;
          break search;
        }
        if (!crossed && (best === null || covers < best.covers)) best = candidate;
      }
    }
    if (best === null) {
      // nothing inside the frame clear of the lines: the usual spot, whatever it covers
      const a = anchors[0] ?? { x: 0, y: 0 };
      const s = label.usual;
      const box = textBox(label.text, fontSize, a.x + s.dx, a.y + s.dy, s.align);
      best = {
        text: label.text,
        ...fromPixels(frame, { x: a.x + s.dx, y: a.y + s.dy }),
        align: s.align,
        box,
        covers: dots.filter((d) => circleHitsBox(d.x, d.y, r, box)).length,
      };
    }
    placed.push(best);
  }
  return placed;
}

/** The sides of a line a label may sit on: under or over it, starting or ending at its anchor. */
const SPOTS: readonly LabelSpot[] = [
  { align: "left", dx: 4, dy: 12 },
  { align: "right", dx: -4, dy: -7 },
  { align: "left", dx: 4, dy: -7 },
  { align: "right", dx: -4, dy: 12 },
];

function sameSpot(a: LabelSpot, b: LabelSpot): boolean {
  return a.align === b.align && a.dx === b.dx && a.dy === b.dy;
}

function overlaps(a: PixelBox, b: PixelBox): boolean {
  return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
}

/** `steps` anchors evenly spaced along a polyline (pixels), its first vertex first. */
function anchorsAlong(v: readonly { x: number; y: number }[], steps: number) {
  if (v.length < 2) return v.slice();
  const lengths = v.slice(1).map((b, i) => Math.hypot(b.x - v[i].x, b.y - v[i].y));
  const total = lengths.reduce((s, l) => s + l, 0);
  if (total === 0) return [v[0]];
  const out: { x: number; y: number }[] = [];
  for (let k = 0; k < steps; k++) {
    let d = (total * k) / (steps - 1);
    let i = 0;
    while (i < lengths.length - 1 && d > lengths[i]) d -= lengths[i++];
    const t = lengths[i] === 0 ? 0 : Math.min(1, d / lengths[i]);
    out.push({ x: v[i].x + t * (v[i + 1].x - v[i].x), y: v[i].y + t * (v[i + 1].y - v[i].y) });
  }
  return out;
}
