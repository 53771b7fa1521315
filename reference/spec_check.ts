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
