/**
 * From a matrix case to what the adapter resolves: the spec (with a head-count
 * override), the layout request (with per-sequence key lengths drawn from the
 * case's seeded stream), the backend request (`auto:<path>`: the adapter chooses the
 * path's backend for the device), and the device profile applied to caps.
 *
 * @module
 */
import { isMinLimit } from "../adapter/caps_file.ts";
import { ConfigError } from "../adapter/errors.ts";
import { thdQueriesOfSequence } from "../adapter/layout.ts";
import { loadSpec } from "../adapter/source.ts";
import { withParams } from "../adapter/spec.ts";
import { specForKeys } from "../adapter/longrope.ts";
import type {
  CaseRequest,
  DeviceCaps,
  LayoutRequest,
  MlaSpec,
  Resolution,
} from "../adapter/types.ts";
import { resolve, type ResolveOptions } from "../adapter/resolve.ts";
import {
  configFileOf,
  type ConfigPlace,
  isConfigPath,
  resolveConfigPath,
} from "../matrix/config_paths.ts";
import type { Case, CaseParams, DeviceProfile } from "../matrix/types.ts";
import { shuffledPaging } from "../reference/paging.ts";
import { makePrng } from "../util/prng.ts";

/**
 * Per-sequence key lengths of a case. `none`: all sk. `normal`: round(N(sk, sk/2))
 * clamped to [1, sk] (FlashMLA's varlen draw). `normal-empty`: the same, with every
 * sequence i where i % 3 == 1 given an empty cache (FlashMLA's zero-length corner).
 *
 * @example
 * ```ts
 * import { keyLengths } from "./case_request.ts";
 * keyLengths({ b: 3, sk: 10, varlen: "none" }, { seed: 1 }); // [10, 10, 10]
 * ```
 */
export function keyLengths(
  p: Pick<CaseParams, "b" | "sk" | "varlen">,
  options: { seed: number },
): number[] {
  if (p.varlen === "none") return Array(p.b).fill(p.sk);
  const rng = makePrng(options.seed, "varlen");
  return Array.from({ length: p.b }, (_, i) => {
    const x = Math.round(p.sk + (p.sk / 2) * rng.normal());
    const len = Math.min(Math.max(x, 1), p.sk);
    return p.varlen === "normal-empty" && i % 3 === 1 ? 0 : len;
  });
}

// The rule lives beside the matrix check that refuses such a layer case on load.
export { notSelfAttention } from "../matrix/expand.ts";

/**
 * The layout request of a case. bshd/sbhd: b sequences of sq queries over a cache of
 * sk rows (kvLens when varlen). thd: packed; decode/MTP (sq < sk) packs sq queries
 * per sequence, prefill (sq >= sk) packs as many queries as keys (self-attention): the
 * rule of adapter/layout.ts `thdQueriesOfSequence`, which the matrix check of a thd case
 * reads too.
 *
 * @example
 * ```ts
 * import { layoutOfCase } from "./case_request.ts";
 * import { CASE_DEFAULTS } from "../matrix/types.ts";
 * layoutOfCase({ ...CASE_DEFAULTS, layout: "thd", b: 2, sq: 1, sk: 4 }, { seed: 1 });
 * // { kind: "thd", cuSeqlensQ: [0, 1, 2], cuSeqlensK: [0, 4, 8], causal: true }
 * ```
 */
export function layoutOfCase(p: CaseParams, options: { seed: number }): LayoutRequest {
  const kLens = keyLengths(p, options);
  const paging = p.page > 0
    ? { paging: shuffledPaging(kLens, { pageSize: p.page, seed: options.seed }) }
    : {};
  if (p.layout === "thd") {
    const qLens = kLens.map((k) => thdQueriesOfSequence(p, k));
    const cum = (xs: number[]) => xs.reduce((acc, x) => [...acc, acc[acc.length - 1] + x], [0]);
    return {
      kind: "thd",
      cuSeqlensQ: cum(qLens),
      cuSeqlensK: cum(kLens),
      causal: p.causal,
      ...paging,
    };
  }
  return {
    kind: p.layout,
    batch: p.b,
    seqQ: p.sq,
    seqK: p.sk,
    ...(p.varlen === "none" ? {} : { kvLens: kLens }),
    causal: p.causal,
    ...paging,
  };
}

/**
 * The value of one limit under a profile: the more restrictive of the profile's and the
 * device's (the smaller for max* limits, the larger for min* alignments); the profile's
 * when the device reports none.
 */
function profileLimit(name: string, asked: number, device: number | undefined): number {
  if (device === undefined) return asked;
  return isMinLimit(name) ? Math.max(asked, device) : Math.min(asked, device);
}

/**
 * Device caps as a profile pretends them: features removed, limits made more restrictive
 * (a max* limit lowered, a min* alignment raised; a profile cannot make a device bigger
 * than it is: {@link profileLimitClamps} lists where it asks to), the loop budget replaced.
 *
 * @example
 * ```ts
 * import { applyProfile } from "./case_request.ts";
 * const caps = { adapter: { vendor: "", architecture: "", device: "", description: "x",
 *   isFallbackAdapter: false }, features: ["shader-f16"],
 *   limits: { maxBufferSize: 1024, minStorageBufferOffsetAlignment: 256 } };
 * applyProfile(caps, { removeFeatures: ["shader-f16"] }).features; // []
 * applyProfile(caps, { limits: { minStorageBufferOffsetAlignment: 512 } }).limits;
 * // { maxBufferSize: 1024, minStorageBufferOffsetAlignment: 512 }
 * ```
 */
export function applyProfile(caps: DeviceCaps, profile: DeviceProfile): DeviceCaps {
  const remove = new Set(profile.removeFeatures ?? []);
  const limits = { ...caps.limits };
  for (const [k, v] of Object.entries(profile.limits ?? {})) {
    limits[k] = profileLimit(k, v, caps.limits[k]);
  }
  const out = { ...caps, features: caps.features.filter((f) => !remove.has(f)), limits };
  // A profile's loop budget replaces the measured one (null: a device without one).
  return profile.loopIterationBudget === undefined
    ? out
    : { ...out, loopIterationBudget: profile.loopIterationBudget };
}

/** A profile limit less restrictive than the device's: the device's value is used. */
export interface ProfileLimitClamp {
  /** The profile's name (the matrix's `devices` key). */
  readonly profile: string;
  /** The limit. */
  readonly limit: string;
  /** What the profile asks. */
  readonly asked: number;
  /** The device's value, which is used instead. */
  readonly used: number;
}

/**
 * Where profiles ask for more than the device has (a max* limit above the device's, a min*
 * alignment below it): {@link applyProfile} keeps the device's value there. A matrix is
 * shared across devices, so `run` warns ({@link formatProfileLimitClamp}) and goes on.
 *
 * @example
 * ```ts
 * import { profileLimitClamps } from "./case_request.ts";
 * const caps = { adapter: { vendor: "", architecture: "", device: "", description: "x",
 *   isFallbackAdapter: false }, features: [], limits: { maxBufferSize: 1024 } };
 * profileLimitClamps(caps, { big: { limits: { maxBufferSize: 4096 } } });
 * // [{ profile: "big", limit: "maxBufferSize", asked: 4096, used: 1024 }]
 * ```
 */
export function profileLimitClamps(
  caps: DeviceCaps,
  profiles: Readonly<Record<string, DeviceProfile>>,
): ProfileLimitClamp[] {
  return Object.entries(profiles).flatMap(([profile, p]) =>
    Object.entries(p.limits ?? {}).flatMap(([limit, asked]) => {
      const used = profileLimit(limit, asked, caps.limits[limit]);
      return used === asked ? [] : [{ profile, limit, asked, used }];
    })
  );
}

/**
 * The warning line `run` prints for a {@link ProfileLimitClamp}.
 *
 * @example
 * ```ts
 * import { formatProfileLimitClamp } from "./case_request.ts";
 * formatProfileLimitClamp({ profile: "big", limit: "maxBufferSize", asked: 4096, used: 1024 });
 * // 'warning: device profile "big" asks maxBufferSize 4096, above this device's 1024; ...'
 * ```
 */
export function formatProfileLimitClamp(c: ProfileLimitClamp): string {
  const side = c.asked > c.used ? "above" : "below";
  return `warning: device profile "${c.profile}" asks ${c.limit} ${c.asked}, ${side} this ` +
    `device's ${c.used}; its cases use ${c.used} (a profile can make a device more ` +
    "restrictive, never less)";
}

/**
 * The warning lines for the profiles of `cases` on a device ({@link profileLimitClamps}),
 * one per profile and limit, each profile once however many cases use it.
 *
 * @example
 * ```ts ignore
 * import { profileLimitWarnings } from "./case_request.ts";
 * for (const line of profileLimitWarnings(cases, ctx.caps)) console.error(line);
 * ```
 */
export function profileLimitWarnings(
  cases: readonly Pick<Case, "params" | "deviceProfile">[],
  caps: DeviceCaps,
): string[] {
  const profiles = Object.fromEntries(cases.map((c) => [c.params.device, c.deviceProfile]));
  return profileLimitClamps(caps, profiles).map(formatProfileLimitClamp);
}

/**
 * The adapter's answer for a matrix case on a device, as `run` asks it: the case's
 * request (on `backend` when one is named: `run --backend`, the matrix's backend axis, a
 * planted fault's), against the caps with the case's device profile applied, with the
 * case's forced KV splits. A bad layout throws the adapter's ConfigError.
 *
 * @example
 * ```ts ignore
 * import { caseRequest, resolveCase } from "./case_request.ts";
 * const r = resolveCase(await caseRequest(c.params, { seed: 1 }), c, caps);
 * r.kind === "plan" ? r.backend : r.reasons;
 * ```
 */
export function resolveCase(
  req: CaseRequest,
  c: Pick<Case, "params" | "deviceProfile">,
  caps: DeviceCaps,
  backend?: string,
): Resolution {
  const at = caseDevice(c, caps);
  return resolve(backend === undefined ? req : { ...req, backend }, at.caps, at.options);
}

/**
 * What a matrix case asks of the adapter besides its request: the device with the case's
 * profile applied (null without one) and the resolve options (its forced KV splits). The
 * one source {@link resolveCase} (`run`) and `explain --case` (runner/explain_case.ts)
 * both read.
 *
 * @example
 * ```ts
 * import { caseDevice } from "./case_request.ts";
 * import { CASE_DEFAULTS } from "../matrix/types.ts";
 * caseDevice({ params: { ...CASE_DEFAULTS, splits: 3 }, deviceProfile: {} }, null);
 * // { caps: null, options: { kvSplits: 3 } }
 * ```
 */
export function caseDevice(
  c: Pick<Case, "params" | "deviceProfile">,
  caps: DeviceCaps | null,
): { caps: DeviceCaps | null; options: ResolveOptions } {
  return {
    caps: caps === null ? null : applyProfile(caps, c.deviceProfile),
    options: c.params.splits > 0 ? { kvSplits: c.params.splits } : {},
  };
}

/** Options of {@link caseRequest}. */
export interface CaseRequestOptions {
  /** Seed of the case. */
  seed: number;
  /** Directory config paths are relative to. */
  baseDir?: string;
  /**
   * Where config paths must stay (matrix/config_paths.ts): when given, a path that
   * resolves outside `place.root` throws a ConfigError instead of being read. `run`
   * checks every path of the matrix before it starts; this is the same check per case.
   */
  place?: ConfigPlace;
  /** Spec cache shared across cases (keyed by preset/path). */
  specCache?: Map<string, Promise<MlaSpec>>;
}

/**
 * Build the adapter request of a case (loads the spec; a bad config throws a
 * ConfigError, which the runner records as an "invalid" decision).
 *
 * @example
 * ```ts
 * import { caseRequest } from "./case_request.ts";
 * import { CASE_DEFAULTS } from "../matrix/types.ts";
 * const req = await caseRequest(CASE_DEFAULTS, { seed: 1 });
 * req.backend; // "auto:absorbed"
 * ```
 */
export async function caseRequest(
  p: CaseParams,
  options: CaseRequestOptions,
): Promise<CaseRequest> {
  const isPath = isConfigPath(p.preset);
  if (isPath && options.place) {
    const r = await resolveConfigPath(p.preset, options.place);
    if ("problem" in r) {
      throw new ConfigError(
        p.preset,
        [{ path: "preset", value: p.preset, message: r.problem }],
        "config path outside its folder",
      );
    }
  }
  const where = isPath && options.baseDir ? configFileOf(p.preset, options.baseDir) : p.preset;
  const cache = options.specCache;
  let pending = cache?.get(where);
  if (!pending) {
    pending = loadSpec(where);
    cache?.set(where, pending);
  }
  let spec = await pending;
  if (p.heads > 0) spec = withParams(spec, { numHeads: p.heads });
  // LongRoPE (MiniCPM3): the factor list its model picks for the case's longest key sequence.
  spec = specForKeys(spec, Math.max(0, ...keyLengths(p, options)));
  return {
    spec,
    layout: layoutOfCase(p, options),
    dtype: p.dtype,
    // The adapter chooses among the path's backends by device class (pathPriority).
    backend: `auto:${p.path}`,
  };
}
