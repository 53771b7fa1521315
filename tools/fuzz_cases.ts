/**
 * Fuzz the adapter and the bundled kernels with seeded random small cases: specs of 1 to 9
 * heads whose nope, rope, v and latent widths are mostly multiples of 8 and sometimes odd
 * (0 rope, non-multiples of 4, low-rank q or not, YaRN, neox pairing), layouts of every kind
 * (BSHD/SBHD with cache lengths, packed THD with empty sequences and padding, paged block
 * tables with odd page sizes, s_q > s_k, causal or not), f32 and f16, every bundled backend
 * and `auto`, sometimes forced KV splits; with `--vary`, plan tuning knobs, a smaller
 * workgroup memory (the case then runs on a device created with it, so that a kernel over
 * it is refused), an SM count and, as a device profile would, lowered binding, grid,
 * alignment and texture limits (the launchers then bind and group by them); with `--wide`,
 * larger shapes (up to 32 heads, widths of 128, 257 keys, 65 queries, splits over many
 * tiles). Each case is planned by `resolve()` and, where it
 * plans a GPU backend, run on this machine's device against the float64 reference (half
 * the runs with one logical key poisoned, whose NaN must reach exactly the rows that see
 * it). The promise checked: a plan whose kernel matches the reference, or "unsupported"
 * with every reason named; never a crash, a plan with a fractional width or count, a
 * WebGPU validation error or a wrong answer. Prints each problem with its case (the case
 * is the line's JSON) and a tally; exit 1 when there is a problem.
 *
 *   deno run -A tools/fuzz_cases.ts [--seed 1] [--count 100] [--no-run] [--caps <file>]
 *     [--gpu-class <sm>] [--vary] [--wide] [--backend <id>]
 *
 * `--no-run` plans only (no device needed with `--caps`); `--caps` plans against a caps
 * file (`devices --json`) instead of the device's; `--gpu-class <sm>` plans as for a
 * gpu-class device of that many SMs (the tiled backends' GPU plans, buffer reads instead
 * of textures), which the device then runs.
 *
 * @module
 */
import { toolArgs } from "./tool_args.ts";
import { readHf } from "../adapter/config.ts";
import { ConfigError } from "../adapter/errors.ts";
import { gpuPlanOf, resolve } from "../adapter/resolve.ts";
import { BUNDLED_BACKENDS } from "../adapter/backends.ts";
import type {
  DeviceCaps,
  Dtype,
  LayoutRequest,
  MlaSpec,
  Paging,
  Plan,
  PlanTuning,
} from "../adapter/types.ts";
import { makePrng, type Prng } from "../util/prng.ts";
import { GpuContext } from "../gpu/device.ts";
import { runAttention } from "../kernels/attention.ts";
import { compareAttention, summarize } from "../parity/compare.ts";
import { toleranceFor } from "../parity/tolerance.ts";
import { denseAttention } from "../reference/attention.ts";
import { makeAttentionInputs } from "../reference/inputs.ts";

/** One drawn case: an HF config fragment, a layout, a dtype, a backend and device changes. */
export interface FuzzCase {
  /** Its index in the run (also the seed of its inputs). */
  readonly index: number;
  /** The config.json fragment the spec is read from (`readHf`). */
  readonly config: Readonly<Record<string, unknown>>;
  /** The layout request. */
  readonly layout: LayoutRequest;
  /** Storage dtype. */
  readonly dtype: Dtype;
  /** A bundled backend id, `auto` or `auto:<path>`. */
  readonly backend: string;
  /** KV splits the case forces (absent: the adapter's). */
  readonly kvSplits?: number;
  /**
   * With `vary`: plan tuning knobs, workgroup memory, SM count and (as a device profile
   * would) lowered binding, grid, alignment and texture limits over the caps'.
   */
  readonly device?: {
    readonly tuning: PlanTuning;
    readonly workgroupStorage: number;
    readonly smCount?: number;
    readonly limits?: Readonly<Partial<Record<ProfileLimit, number>>>;
  };
}

/** How a case was planned, and what is wrong with that, if anything. */
export interface PlanOutcome {
  /** Refused as bad input (config or layout: a `ConfigError`), unsupported, or planned. */
  readonly kind: "config-refused" | "layout-refused" | "unsupported" | "plan";
  /** The spec read from the config (absent when refused). */
  readonly spec?: MlaSpec;
  /** The plan, when planned. */
  readonly plan?: Plan;
  /** Broken promises: a crash, an unnamed reason, a fractional plan number. */
  readonly problems: string[];
}

/** Every backend a case may ask for: the bundled ones, `auto` and both paths. */
export const FUZZ_BACKENDS: readonly string[] = [
  "auto",
  "auto:absorbed",
  "auto:expanded",
  ...Object.keys(BUNDLED_BACKENDS),
];

/** The limits a drawn device lowers as a device profile does (the launchers bind by them). */
type ProfileLimit =
  | "maxStorageBufferBindingSize"
  | "maxComputeWorkgroupsPerDimension"
  | "minStorageBufferOffsetAlignment"
  | "maxTextureDimension2D";

const pick = <T>(prng: Prng, a: readonly T[]): T => a[Math.floor(prng.uniform() * a.length)];
const int = (prng: Prng, lo: number, hi: number): number =>
  lo + Math.floor(prng.uniform() * (hi - lo + 1));
const cumulative = (lengths: readonly number[]): number[] =>
  lengths.reduce((acc, x) => [...acc, acc[acc.length - 1] + x], [0]);

/** Pages of `lengths` (keys per sequence) in a shuffled pool with a spare page or two. */
function paging(prng: Prng, lengths: readonly number[], pageSizes: readonly number[]): Paging {
  const pageSize = pick(prng, pageSizes);
  const per = lengths.map((l) => Math.ceil(l / pageSize));
  const numPages = per.reduce((a, b) => a + b, 0) + int(prng, 0, 2);
  const pool = prng.permutation(numPages);
  let at = 0;
  const blockTable = per.map((p) => pool.slice(at, at += p));
  return { pageSize, numPages, blockTable };
}

function drawConfig(prng: Prng, wide: boolean): Record<string, unknown> {
  const odd = () => prng.uniform() < 0.2;
  const even = wide ? [8, 16, 24, 32, 64, 72, 128] : [8, 16, 24, 32];
  const width = () =>
    odd() ? pick(prng, [1, 2, 3, 4, 5, 6, 7, 9, 12, 17, 20, 33]) : pick(prng, even);
  return {
    hidden_size: pick(prng, [16, 32, 64]),
    num_attention_heads: wide ? pick(prng, [1, 2, 5, 9, 16, 17, 32]) : int(prng, 1, 9),
    q_lora_rank: prng.uniform() < 0.5 ? null : pick(prng, [8, 24]),
    kv_lora_rank: width(),
    qk_nope_head_dim: odd() ? pick(prng, [0, 1, 2, 3, 4, 5, 7, 17]) : pick(prng, [8, 16]),
    qk_rope_head_dim: odd() ? pick(prng, [0, 2, 3, 4, 6, 10]) : pick(prng, [8, 16]),
    v_head_dim: width(),
    rope_theta: pick(prng, [10000, 50000]),
    rope_scaling: prng.uniform() < 0.3
      ? {
        type: "yarn",
        factor: pick(prng, [4, 40]),
        original_max_position_embeddings: pick(prng, [4, 4096]),
        beta_fast: 32,
        beta_slow: 1,
        mscale: 0.707,
        mscale_all_dim: 0.707,
      }
      : null,
    ...(prng.uniform() < 0.3 ? { rope_interleave: false } : {}),
  };
}

function drawLayout(prng: Prng, wide: boolean): LayoutRequest {
  const causal = prng.uniform() < 0.6;
  if (prng.uniform() < 0.5) {
    const batch = int(prng, 1, 3);
    const seqQ = pick(prng, wide ? [1, 2, 5, 17, 33, 40, 65] : [1, 1, 2, 3, 5, 7, 17]);
    const seqK = pick(
      prng,
      wide ? [0, 1, 33, 64, 65, 129, 200, 257] : [0, 1, 2, 3, 5, 9, 16, 17, 33, 70],
    );
    const kvLens = prng.uniform() < 0.25
      ? Array.from({ length: batch }, () => int(prng, 0, seqK))
      : undefined;
    const paged = prng.uniform() < 0.25
      ? paging(prng, new Array(batch).fill(seqK), [1, 3, 5, 7, 16])
      : undefined;
    return {
      kind: prng.uniform() < 0.8 ? "bshd" : "sbhd",
      batch,
      seqQ,
      seqK,
      causal,
      ...(kvLens ? { kvLens } : {}),
      ...(paged ? { paging: paged } : {}),
    };
  }
  const n = int(prng, 1, 4);
  const qLens = Array.from(
    { length: n },
    () => pick(prng, wide ? [0, 1, 5, 33, 40] : [0, 1, 2, 3, 5, 9]),
  );
  const kLens = qLens.map((q) =>
    prng.uniform() < 0.5 ? q : pick(prng, wide ? [0, 1, q + 64, q + 130] : [0, 1, q + 3, q + 10])
  );
  const paged = prng.uniform() < 0.2 ? paging(prng, kLens, [1, 3, 4, 7]) : undefined;
  const padded = !paged && prng.uniform() < 0.3
    ? {
      cuSeqlensQPadded: cumulative(qLens.map((q) => q + int(prng, 0, 2))),
      cuSeqlensKPadded: cumulative(kLens.map((k) => k + int(prng, 0, 3))),
    }
    : {};
  return {
    kind: "thd",
    cuSeqlensQ: cumulative(qLens),
    cuSeqlensK: cumulative(kLens),
    ...padded,
    causal,
    ...(paged ? { paging: paged } : {}),
  };
}

function drawDevice(prng: Prng): NonNullable<FuzzCase["device"]> {
  const some = <T>(values: readonly T[]): T | undefined =>
    prng.uniform() < 0.5 ? pick(prng, values) : undefined;
  const knobs: PlanTuning = {
    tiledMaxRows: some([1, 2, 4, 8, 16, 32]),
    tiledMaxQVec4: some([1, 2, 4, 8, 16, 32, 64]),
    tiledMinKeysPerSplit: some([16, 17, 33, 64]),
    tiledWorkgroupsPerSm: some([1, 2, 7, 32]),
    tiledTier: prng.uniform() < 0.6 ? undefined : pick(prng, [16384, 32768]),
    fa2MaxChunkVec4: some([1, 2, 3, 6, 16]),
    fa2MinKeysPerSplit: some([32, 33, 100]),
    fa2WorkgroupsPerSm: some([1, 3, 32]),
  };
  const tuning = Object.fromEntries(
    Object.entries(knobs).filter(([, v]) => v !== undefined),
  ) as PlanTuning;
  const smCount = some([1, 3, 20, 132]);
  const workgroupStorage = pick(prng, [16384, 32768]);
  // Drawn last, so that the fields above are those of earlier seeds' cases.
  const drawn: Record<ProfileLimit, number | undefined> = {
    maxStorageBufferBindingSize: prng.uniform() < 0.2 ? pick(prng, [256, 1024, 4096]) : undefined,
    maxComputeWorkgroupsPerDimension: prng.uniform() < 0.2 ? pick(prng, [1, 2, 3, 7]) : undefined,
    minStorageBufferOffsetAlignment: prng.uniform() < 0.2 ? pick(prng, [64, 256]) : undefined,
    maxTextureDimension2D: prng.uniform() < 0.2 ? pick(prng, [4, 16, 64]) : undefined,
  };
  const limits = Object.fromEntries(Object.entries(drawn).filter(([, v]) => v !== undefined));
  return {
    tuning,
    workgroupStorage,
    ...(smCount === undefined ? {} : { smCount }),
    ...(Object.keys(limits).length === 0 ? {} : { limits }),
  };
}

/**
 * The case `index` of a run of seed `seed`: the same numbers every time.
 *
 * @example
 * ```ts
 * import { drawCase } from "./fuzz_cases.ts";
 * const c = drawCase(1, 0, { vary: false });
 * c.index; // 0
 * JSON.stringify(drawCase(1, 0, { vary: false })) === JSON.stringify(c); // true
 * ```
 */
export function drawCase(
  seed: number,
  index: number,
  options: { vary: boolean; backend?: string; wide?: boolean },
): FuzzCase {
  const wide = options.wide ?? false;
  const prng = makePrng(seed, wide ? `fuzz_cases.wide.${index}` : `fuzz_cases.${index}`);
  const config = drawConfig(prng, wide);
  const layout = drawLayout(prng, wide);
  const dtype: Dtype = prng.uniform() < 0.5 ? "f32" : "f16";
  const backend = pick(prng, FUZZ_BACKENDS);
  const kvSplits = prng.uniform() < 0.2 ? pick(prng, [1, 2, 3, 5, 17, 64]) : undefined;
  const device = options.vary ? drawDevice(prng) : undefined;
  return {
    index,
    config,
    layout,
    dtype,
    backend: options.backend ?? backend,
    ...(kvSplits === undefined ? {} : { kvSplits }),
    ...(device === undefined ? {} : { device }),
  };
}

/**
 * The caps a case is planned against: `caps` with the case's device changes, and as a
 * gpu-class device of `gpuClass` SMs where given.
 *
 * @example
 * ```ts
 * import { capsFor, drawCase } from "./fuzz_cases.ts";
 * const caps = JSON.parse(Deno.readTextFileSync("tests/fixtures/caps_lavapipe.json"));
 * capsFor(drawCase(1, 0, { vary: false }), caps, { gpuClass: 132 }).deviceClass; // "gpu"
 * ```
 */
export function capsFor(
  c: FuzzCase,
  caps: DeviceCaps,
  options: { gpuClass?: number } = {},
): DeviceCaps {
  const d = c.device;
  return {
    ...caps,
    ...(options.gpuClass === undefined
      ? {}
      : { deviceClass: "gpu" as const, smCount: options.gpuClass }),
    ...(d === undefined ? {} : {
      tuning: d.tuning,
      limits: {
        ...caps.limits,
        maxComputeWorkgroupStorageSize: d.workgroupStorage,
        ...lowered(caps, d.limits ?? {}),
      },
      ...(d.smCount === undefined ? {} : { smCount: d.smCount }),
    }),
  };
}

/** Each of `limits` where it is stricter than the caps' (a larger alignment is the stricter). */
function lowered(
  caps: DeviceCaps,
  limits: Readonly<Partial<Record<ProfileLimit, number>>>,
): Record<string, number> {
  return Object.fromEntries(
    Object.entries(limits).map(([k, v]) => {
      const have = caps.limits[k];
      if (have === undefined) return [k, v];
      return [k, k.startsWith("min") ? Math.max(have, v) : Math.min(have, v)];
    }),
  );
}

/**
 * The numbers of a plan's kernel choice and buffers that are not whole and non-negative
 * (widths, counts, sizes, texture shapes: `attention`, `reference` and `layout` are left
 * out), as `path=value`. A texture 8.5 texels wide is a plan that should have been refused.
 *
 * @example
 * ```ts
 * import { fractionalPlanNumbers } from "./fuzz_cases.ts";
 * fractionalPlanNumbers({ variant: { width: 8.5, rows: 2 } }); // ["plan.variant.width=8.5"]
 * ```
 */
export function fractionalPlanNumbers(plan: unknown): string[] {
  const bad: string[] = [];
  const walk = (v: unknown, path: string): void => {
    if (typeof v === "number") {
      if (!Number.isInteger(v) || v < 0) bad.push(`${path}=${v}`);
    } else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`));
    else if (v !== null && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        if (path === "plan" && (k === "attention" || k === "reference" || k === "layout")) continue;
        walk(x, `${path}.${k}`);
      }
    }
  };
  walk(plan, "plan");
  return bad;
}

/**
 * Plan a case against `caps` (see {@link capsFor}); what `resolve()` answered, and the
 * promises it broke: a throw other than a `ConfigError`, an unsupported answer without a
 * reason or with a reason lacking its code or message, or a fractional plan number.
 *
 * @example
 * ```ts
 * import { drawCase, planCase } from "./fuzz_cases.ts";
 * const caps = JSON.parse(Deno.readTextFileSync("tests/fixtures/caps_lavapipe.json"));
 * planCase(drawCase(1, 3, { vary: false }), caps).problems; // []
 * ```
 */
export function planCase(
  c: FuzzCase,
  caps: DeviceCaps,
  options: { gpuClass?: number } = {},
): PlanOutcome {
  const crash = (where: string, e: unknown) => `crash in ${where}: ${(e as Error)?.stack ?? e}`;
  let spec: MlaSpec;
  try {
    spec = readHf(c.config, { name: `fuzz${c.index}` }).spec;
  } catch (e) {
    if (e instanceof ConfigError) return { kind: "config-refused", problems: [] };
    return { kind: "config-refused", problems: [crash("readHf", e)] };
  }
  let r;
  try {
    r = resolve(
      { spec, dtype: c.dtype, backend: c.backend, layout: c.layout },
      capsFor(c, caps, options),
      c.kvSplits === undefined ? {} : { kvSplits: c.kvSplits },
    );
  } catch (e) {
    if (e instanceof ConfigError) return { kind: "layout-refused", spec, problems: [] };
    return { kind: "layout-refused", spec, problems: [crash("resolve", e)] };
  }
  if (r.kind === "unsupported") {
    const unnamed = r.reasons.length === 0 || r.reasons.some((x) => !x.code || !x.message);
    return {
      kind: "unsupported",
      spec,
      problems: unnamed ? [`unsupported without every reason named: ${JSON.stringify(r)}`] : [],
    };
  }
  const bad = fractionalPlanNumbers(r);
  return {
    kind: "plan",
    spec,
    plan: r,
    problems: bad.length ? [`plan numbers not whole: ${bad.slice(0, 6).join(" ")}`] : [],
  };
}

/**
 * Run a GPU plan on the device against the float64 reference; its problems. The launchers
 * bind and group by the case's caps' limits (as under a device profile), and `ctx` is a
 * device of the case's workgroup memory, so that a kernel over it is refused.
 */
async function runOnDevice(
  ctx: GpuContext,
  c: FuzzCase,
  spec: MlaSpec,
  plan: Plan,
  caps: DeviceCaps,
): Promise<string[]> {
  try {
    const gpuPlan = gpuPlanOf(plan);
    const prng = makePrng(c.index, "fuzz_cases.poison");
    const keys = gpuPlan.layout.totalK;
    const poisonKeys = keys > 0 && prng.uniform() < 0.5 ? [int(prng, 0, keys - 1)] : [];
    const inputs = makeAttentionInputs(spec, gpuPlan.layout, { seed: c.index, poisonKeys });
    const l = caps.limits;
    const limits = {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
      minStorageBufferOffsetAlignment: l.minStorageBufferOffsetAlignment,
    };
    const got = (await runAttention(ctx, gpuPlan, { spec, inputs, limits })).outputs;
    const want = denseAttention(spec, gpuPlan.layout, {
      inputs,
      storedAs: gpuPlan.variant.dtype,
    });
    const res = compareAttention(got, want, {
      tolerance: toleranceFor(gpuPlan.variant.dtype, gpuPlan.path),
      numHeads: spec.numHeads,
      vDim: spec.vHeadDim,
    });
    if (res.pass) return [];
    return [
      `wrong answer on ${plan.backend} (poisoned keys [${poisonKeys}]): ` +
      `${summarize(res.out)} / ${summarize(res.lse)}`,
    ];
  } catch (e) {
    return [`crash running ${plan.backend}: ${(e as Error)?.stack ?? e}`];
  }
}

const USAGE = "usage: deno run -A tools/fuzz_cases.ts [--seed <n>] [--count <n>] [--no-run] " +
  "[--caps <file>] [--gpu-class <sm>] [--vary] [--wide] [--backend <id>]";

async function main(): Promise<void> {
  const { values } = toolArgs({
    options: {
      seed: { type: "string", default: "1" },
      count: { type: "string", default: "100" },
      "no-run": { type: "boolean", default: false },
      caps: { type: "string" },
      "gpu-class": { type: "string" },
      vary: { type: "boolean", default: false },
      backend: { type: "string" },
      wide: { type: "boolean", default: false },
    },
  }, USAGE);
  const whole = (name: string, text: string, min: number): number => {
    const n = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(n) || n < min) {
      console.error(`--${name} ${JSON.stringify(text)}: expected a whole number, at least ${min}`);
      console.error(USAGE);
      Deno.exit(2);
    }
    return n;
  };
  const seed = whole("seed", values.seed, 0);
  const count = whole("count", values.count, 1);
  const gpuClass = values["gpu-class"] === undefined
    ? undefined
    : whole("gpu-class", values["gpu-class"], 1);
  if (values.backend !== undefined && !FUZZ_BACKENDS.includes(values.backend)) {
    console.error(`--backend ${values.backend}: expected one of ${FUZZ_BACKENDS.join(", ")}`);
    console.error(USAGE);
    Deno.exit(2);
  }
  if (values["no-run"] && values.caps === undefined) {
    console.error("--no-run needs --caps <file> (the caps to plan against without a device)");
    console.error(USAGE);
    Deno.exit(2);
  }
  const features: GPUFeatureName[] = ["shader-f16", "timestamp-query"];
  const ctx = values["no-run"] ? null : await GpuContext.create({ optionalFeatures: features });
  // With --vary a case draws its workgroup memory: it runs on a device created with that
  // limit (kit.compile refuses a kernel over the device's), one per value, made when needed.
  const contexts = new Map<number, GpuContext>();
  const contextFor = async (c: FuzzCase): Promise<GpuContext> => {
    const wanted = c.device?.workgroupStorage;
    if (ctx === null || wanted === undefined) return ctx!;
    if (wanted >= ctx.device.limits.maxComputeWorkgroupStorageSize) return ctx;
    let other = contexts.get(wanted);
    if (other === undefined) {
      const have = ctx.device.limits as unknown as Record<string, number>;
      const keep = [
        "maxStorageBufferBindingSize",
        "maxBufferSize",
        "maxComputeInvocationsPerWorkgroup",
        "maxComputeWorkgroupSizeX",
        "maxTextureDimension2D",
      ];
      other = await GpuContext.create({
        optionalFeatures: features,
        requiredLimits: {
          ...Object.fromEntries(keep.map((k) => [k, have[k]])),
          maxComputeWorkgroupStorageSize: wanted,
        },
      });
      contexts.set(wanted, other);
    }
    return other;
  };
  const caps: DeviceCaps = values.caps === undefined
    ? ctx!.caps
    : JSON.parse(await Deno.readTextFile(values.caps));
  const tally: Record<string, number> = {};
  const bump = (k: string) => tally[k] = (tally[k] ?? 0) + 1;
  let problems = 0;
  for (let i = 0; i < count; i++) {
    const c = drawCase(seed, i, { vary: values.vary, backend: values.backend, wide: values.wide });
    const o = planCase(c, caps, { gpuClass });
    bump(o.kind === "plan" ? `plan ${o.plan!.backend}` : o.kind);
    const found = [...o.problems];
    if (ctx !== null && o.kind === "plan" && o.plan!.runsOn === "gpu" && found.length === 0) {
      const caseCaps = capsFor(c, caps, { gpuClass });
      const ran = await runOnDevice(await contextFor(c), c, o.spec!, o.plan!, caseCaps);
      bump(ran.length === 0 ? "ran and matched" : "ran, problem");
      found.push(...ran);
    }
    for (const p of found) console.log(`PROBLEM ${JSON.stringify(c)}\n  ${p}`);
    problems += found.length;
  }
  console.log(JSON.stringify({ seed, count, problems, ...tally }));
  for (const other of contexts.values()) other.destroy();
  ctx?.destroy();
  if (problems > 0) Deno.exit(1);
}

if (import.meta.main) await main();
