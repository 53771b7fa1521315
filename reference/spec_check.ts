/**
 * The checks the float64 references make of a spec before they size arrays by it or compute
 * with it: a hand-built spec (`{ ...spec, kvLoraRank: 0.5 }`, a stale `kChannels`, a NaN
 * scale, a short `invFreq`) from an untyped caller made arrays of another size than the spec
 * says, or NaN or wrong outputs, silently. Internal to reference/ (not re-exported by mod.ts).
 *
 * @module
 */
import type { MlaSpec, NormalizedLayout } from "../adapter/types.ts";

/** Throw a RangeError naming `spec.<field>` unless it is a whole number >= `min`. */
function whole(spec: MlaSpec, field: keyof MlaSpec, where: string, min = 1): number {
  const v = spec[field];
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min) {
    throw new RangeError(
      `${where}: spec.${field} must be a whole number >= ${min}, found ${
        typeof v === "string" ? JSON.stringify(v) : String(v)
      }`,
    );
  }
  return v;
}

/**
 * Check the spec fields the attention core's arrays are sized by: `numHeads`,
 * `qkNopeHeadDim`, `vHeadDim`, `kvLoraRank` whole numbers >= 1, `qkRopeHeadDim` an even one
 * >= 2. Throws a RangeError naming the field and `where`.
 */
export function checkAttentionSpec(spec: MlaSpec, where: string): void {
  if (typeof spec !== "object" || spec === null) {
    throw new RangeError(`${where}: spec must be an MlaSpec, found ${spec}`);
  }
  for (const f of ["numHeads", "qkNopeHeadDim", "vHeadDim", "kvLoraRank"] as const) {
    whole(spec, f, where);
  }
  const rope = whole(spec, "qkRopeHeadDim", where, 2);
  if (rope % 2 !== 0) {
    throw new RangeError(
      `${where}: spec.qkRopeHeadDim must be even (RoPE rotates pairs of channels), found ${rope}`,
    );
  }
}

/**
 * {@link checkAttentionSpec}, and the fields the layer's weights are sized by as well:
 * `hiddenSize` a whole number >= 1, `qLoraRank` one or null, `kChannels` equal to
 * `qkNopeHeadDim + qkRopeHeadDim`.
 */
export function checkLayerSpec(spec: MlaSpec, where: string): void {
  checkAttentionSpec(spec, where);
  whole(spec, "hiddenSize", where);
  if (spec.qLoraRank !== null) whole(spec, "qLoraRank", where);
  const k = spec.qkNopeHeadDim + spec.qkRopeHeadDim;
  if (spec.kChannels !== k) {
    throw new RangeError(
      `${where}: spec.kChannels must be qkNopeHeadDim + qkRopeHeadDim = ${k}, found ` +
        `${spec.kChannels} (a spec edited by hand: build it again with buildSpec)`,
    );
  }
}

/**
 * Check what the attention core computes with beyond the sizes: `softmaxScale` a finite
 * number, `invFreq` rope/2 finite numbers (one per rotated pair), `ropePairing`
 * "interleaved" or "neox", `ropeCosSinScale` finite when given.
 */
export function checkAttentionMath(spec: MlaSpec, where: string): void {
  checkAttentionSpec(spec, where);
  if (typeof spec.softmaxScale !== "number" || !Number.isFinite(spec.softmaxScale)) {
    throw new RangeError(
      `${where}: spec.softmaxScale must be a finite number, found ${spec.softmaxScale}`,
    );
  }
  const pairs = spec.qkRopeHeadDim / 2;
  if (
    !Array.isArray(spec.invFreq) || spec.invFreq.length !== pairs ||
    !spec.invFreq.every((f) => typeof f === "number" && Number.isFinite(f))
  ) {
    throw new RangeError(
      `${where}: spec.invFreq must hold qkRopeHeadDim / 2 = ${pairs} finite numbers, found ` +
        (Array.isArray(spec.invFreq) ? `${spec.invFreq.length} values` : `${spec.invFreq}`),
    );
  }
  if (spec.ropePairing !== "interleaved" && spec.ropePairing !== "neox") {
    throw new RangeError(
      `${where}: spec.ropePairing must be "interleaved" or "neox", found ${
        JSON.stringify(spec.ropePairing)
      }`,
    );
  }
  const cs = spec.ropeCosSinScale;
  if (cs !== undefined && (typeof cs !== "number" || !Number.isFinite(cs))) {
    throw new RangeError(`${where}: spec.ropeCosSinScale must be a finite number, found ${cs}`);
  }
}

/**
 * Throw a RangeError unless `layout` is a normalized layout (a layout request passed as is,
 * from an untyped caller, made empty tensors or failed with "used is not iterable").
 */
export function checkNormalized(layout: NormalizedLayout, where: string): void {
  const l = layout as Partial<NormalizedLayout> | null;
  if (
    typeof l !== "object" || l === null || !Number.isSafeInteger(l.qRows) ||
    !Number.isSafeInteger(l.kRows) || !Array.isArray(l.qRowOf) || !Array.isArray(l.kRowOf)
  ) {
    throw new RangeError(
      `${where}: layout is not a normalized layout (it has no qRows, kRows, qRowOf, kRowOf): ` +
        "pass normalizeLayout(request) (adapter/layout.ts), not the request",
    );
  }
}

/**
 * A value as a message shows it: a string quoted, an array or object as JSON (at most 60
 * characters of it), anything else as `String` does.
 */
export function shown(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "object" && v !== null && !ArrayBuffer.isView(v)) {
    let text: string;
    try {
      text = JSON.stringify(v) ?? String(v);
    } catch {
      text = String(v);
    }
    return text.length > 60 ? `${text.slice(0, 57)}...` : text;
  }
  return String(v);
}

/**
 * Throw a RangeError unless `options` is an object (an untyped caller's missing, null or
 * positional options failed with "Cannot read properties of undefined" or "Cannot
 * destructure property"); `expected` lists its keys, e.g. `{ inputs, rows?, storedAs? }`.
 */
export function checkOptions(options: unknown, where: string, expected: string): void {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new RangeError(
      `${where}: options must be an object ${expected}, found ${shown(options)}`,
    );
  }
}

/**
 * Throw a RangeError unless `rows` (the option or argument named `name`) is an array whose
 * entries are whole numbers in [0, n) (`what` names n): a string "0,1" was taken a
 * character at a time ("query row 0 is outside [0, 2)" for the string "0"), a number
 * failed with "is not iterable".
 */
export function checkRowList(
  rows: unknown,
  where: string,
  name: string,
  bound: { n: number; what: string },
): void {
  const { n, what } = bound;
  if (!Array.isArray(rows)) {
    throw new RangeError(
      `${where}: ${name} must be an array of row indices (integers in [0, ${what} = ${n})), ` +
        `found ${shown(rows)}`,
    );
  }
  rows.forEach((r, i) => {
    if (typeof r !== "number" || !Number.isInteger(r) || r < 0 || r >= n) {
      throw new RangeError(
        `${where}: ${name}[${i}] = ${shown(r)} is not a row (valid: integers in [0, ${what} = ` +
          `${n}))`,
      );
    }
  });
}

/** Throw a RangeError unless `value` (the option `name`) is absent or a boolean. */
export function checkFlag(value: unknown, where: string, name: string): void {
  if (value !== undefined && typeof value !== "boolean") {
    throw new RangeError(
      `${where}: ${name} must be true, false or absent, found ${shown(value)}` +
        (typeof value === "string" ? " (a string: every non-empty one is true)" : ""),
    );
  }
}

/**
 * Throw a RangeError unless `t` (the tensor named `name`) is an array or typed array of
 * numbers' shape (a `length` and indices): a missing one failed with "Cannot read properties
 * of undefined (reading 'length')".
 */
export function checkTensor(t: unknown, where: string, name: string): void {
  const isArrayLike = Array.isArray(t) ||
    (ArrayBuffer.isView(t) && !(t instanceof DataView));
  if (!isArrayLike) {
    throw new RangeError(
      `${where}: ${name} must be an array or typed array of numbers, found ${shown(t)}`,
    );
  }
}

/**
 * Throw a RangeError naming `where` unless `seed` is a safe integer (the PRNG's own message,
 * "seed must be a safe integer, got 1", showed the string "1" as the number it is not).
 */
export function checkSeed(seed: unknown, where: string): void {
  if (typeof seed !== "number" || !Number.isSafeInteger(seed)) {
    throw new RangeError(
      `${where}: seed must be a safe integer (the case seed), found ${shown(seed)}`,
    );
  }
}
