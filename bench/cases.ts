/**
 * Benchmark cases and the bundled benchmark matrices: the headline shapes the
 * targets are measured on, and the decode / prefill sweeps.
 *
 * @module
 */
import { type DeviceClassName, deviceClassOf } from "../adapter/device_class.ts";
import { PRESET_NAMES, presetSpec } from "../adapter/presets.ts";
import type { AttentionPath, DeviceCaps, Dtype } from "../adapter/types.ts";
import { didYouMean } from "../util/edit_distance.ts";

/** One benchmark case. */
export interface BenchCase {
  /** Preset name. */
  readonly preset: string;
  /** Head count (a tensor-parallel shard of the preset's heads when lower). */
  readonly heads: number;
  /** Attention path. */
  readonly path: AttentionPath;
  /** Storage dtype. */
  readonly dtype: Dtype;
  /** Batch (sequences). */
  readonly b: number;
  /** Query tokens per sequence. */
  readonly sq: number;
  /** Cached keys per sequence. */
  readonly sk: number;
  /** Bottom-right causal mask. */
  readonly causal: boolean;
  /** Page size of a shuffled paged cache (0: contiguous). */
  readonly page: number;
}

/**
 * The stable id of a case: `key=value` pairs in a fixed order.
 *
 * @example
 * ```ts
 * import { benchCaseId } from "./cases.ts";
 * benchCaseId({ preset: "deepseek-v2-lite", heads: 16, path: "absorbed", dtype: "f32", b: 4,
 *   sq: 1, sk: 4096, causal: true, page: 0 });
 * // "preset=deepseek-v2-lite;h=16;path=absorbed;dtype=f32;b=4;sq=1;sk=4096;causal=1;page=0"
 * ```
 */
export function benchCaseId(c: BenchCase): string {
  return `preset=${c.preset};h=${c.heads};path=${c.path};dtype=${c.dtype};b=${c.b};sq=${c.sq};` +
    `sk=${c.sk};causal=${c.causal ? 1 : 0};page=${c.page}`;
}

/** Which headline target a case measures (see docs/benchmarks.md). */
export type TargetName =
  | "absorbed-decode-f32"
  | "absorbed-decode-f16"
  | "dense-decode-f32"
  | "dense-decode-f16"
  | "prefill-absorbed"
  | "prefill-expanded"
  | "prefill-expanded-4096";

/** The targets a device class is held to. */
export interface TargetSet {
  /** Roofline fraction per target case (a case without an entry has no target). */
  readonly fractions: Readonly<Partial<Record<TargetName, number>>>;
  /** Absorbed decode must be this many times faster than dense decode (same shape). */
  readonly absorbedOverDense: number;
}

const LAVAPIPE_TARGETS: TargetSet = {
  fractions: {
    "absorbed-decode-f32": 0.30,
    "absorbed-decode-f16": 0.30,
    "dense-decode-f32": 0.65,
    "dense-decode-f16": 0.65,
    "prefill-absorbed": 0.15,
    "prefill-expanded": 0.15,
  },
  absorbedOverDense: 2.5,
};

/**
 * The targets by device class (adapter/device_class.ts). "cpu" (lavapipe, the GL fallback):
 * issue 7's, which issue 13 keeps for lavapipe. "gpu": issue 13's for an H100/H200 (absorbed
 * decode 0.30 in f32 and f16, expanded causal prefill at 256 and 4096 0.25 of the FMA
 * ceiling, absorbed decode 3x dense decode), with issue 7's dense decode and absorbed
 * prefill targets, which issue 13 leaves as they were.
 *
 * @example
 * ```ts
 * import { TARGET_SETS } from "./cases.ts";
 * TARGET_SETS.gpu.fractions["prefill-expanded"]; // 0.25
 * TARGET_SETS.cpu.absorbedOverDense; // 2.5
 * ```
 */
export const TARGET_SETS: Readonly<Record<"cpu" | "gpu", TargetSet>> = {
  cpu: LAVAPIPE_TARGETS,
  gpu: {
    fractions: {
      ...LAVAPIPE_TARGETS.fractions,
      "prefill-expanded": 0.25,
      "prefill-expanded-4096": 0.25,
    },
    absorbedOverDense: 3,
  },
};

/** Which targets a device is held to, and the class its kernels were planned as when set by hand. */
export interface TargetClassChoice {
  /** The device's own class (the rules of adapter/device_class.ts): whose targets apply. */
  readonly targetClass: DeviceClassName;
  /**
   * The class set by hand (MLA_HARNESS_DEVICE_CLASS, a caps file's `deviceClass`) that the
   * kernels were planned as, when it differs from the device's own; absent otherwise.
   */
  readonly plannedClass?: { readonly kind: DeviceClassName; readonly source: string };
}

/**
 * The targets a device is held to: those of its own class by the rules (adapter/device_class.ts),
 * not of a class set by hand. MLA_HARNESS_DEVICE_CLASS=gpu (or a caps file's `deviceClass`)
 * plans lavapipe's kernels as a GPU's, to run the GPU-class kernels on a CPU; the H100/H200
 * targets of issue 13 then judged lavapipe's fractions as an H100's. No caps: "cpu".
 *
 * @example
 * ```ts
 * import { targetClassOf } from "./cases.ts";
 * const lavapipe = {
 *   adapter: { vendor: "65541", architecture: "", device: "0",
 *     description: "llvmpipe (LLVM 15.0.6, 256 bits)", isFallbackAdapter: false },
 *   features: [], limits: {}, deviceClass: "gpu" as const,
 *   deviceClassFrom: "MLA_HARNESS_DEVICE_CLASS" as const,
 * };
 * targetClassOf(lavapipe);
 * // { targetClass: "cpu", plannedClass: { kind: "gpu", source: "MLA_HARNESS_DEVICE_CLASS" } }
 * ```
 */
export function targetClassOf(caps: DeviceCaps | null): TargetClassChoice {
  const planned = deviceClassOf(caps);
  const own = deviceClassOf(caps === null ? null : { ...caps, deviceClass: undefined });
  const targetClass = own?.kind ?? "cpu";
  if (planned === null || planned.kind === targetClass) return { targetClass };
  return { targetClass, plannedClass: { kind: planned.kind, source: planned.kindSource } };
}

const V2L = { preset: "deepseek-v2-lite", heads: 16, causal: true, page: 0 } as const;

/** The headline cases (DeepSeek-V2-Lite heads), with the target each measures. */
export const HEADLINE: readonly (BenchCase & { target: TargetName })[] = [
  { ...V2L, path: "absorbed", dtype: "f32", b: 4, sq: 1, sk: 4096, target: "absorbed-decode-f32" },
  { ...V2L, path: "absorbed", dtype: "f16", b: 4, sq: 1, sk: 4096, target: "absorbed-decode-f16" },
  { ...V2L, path: "expanded", dtype: "f32", b: 4, sq: 1, sk: 4096, target: "dense-decode-f32" },
  { ...V2L, path: "expanded", dtype: "f16", b: 4, sq: 1, sk: 4096, target: "dense-decode-f16" },
  { ...V2L, path: "absorbed", dtype: "f32", b: 1, sq: 256, sk: 256, target: "prefill-absorbed" },
  { ...V2L, path: "expanded", dtype: "f32", b: 1, sq: 256, sk: 256, target: "prefill-expanded" },
];

/**
 * The one GPU target case outside the headline: expanded causal prefill of 4096 tokens
 * (issue 13). Its own matrix member (`gpu`), because on lavapipe it takes minutes.
 */
export const PREFILL_4096: BenchCase & { target: TargetName } = {
  ...V2L,
  path: "expanded",
  dtype: "f32",
  b: 1,
  sq: 4096,
  sk: 4096,
  target: "prefill-expanded-4096",
};

/** Every case that carries a target: the headline and {@link PREFILL_4096}. */
export const TARGET_CASES: readonly (BenchCase & { target: TargetName })[] = [
  ...HEADLINE,
  PREFILL_4096,
];

function grid(
  base: Omit<BenchCase, "path" | "dtype" | "b" | "sq" | "sk" | "heads">,
  axes: {
    heads: number[];
    path: AttentionPath[];
    dtype: Dtype[];
    b: number[];
    sq: number[];
    sk: number[];
  },
): BenchCase[] {
  const out: BenchCase[] = [];
  for (const heads of axes.heads) {
    for (const sq of axes.sq) {
      for (const sk of axes.sk) {
        for (const b of axes.b) {
          for (const dtype of axes.dtype) {
            for (const path of axes.path) out.push({ ...base, heads, path, dtype, b, sq, sk });
          }
        }
      }
    }
  }
  return out;
}

/**
 * Bundled benchmark matrices. `headline`: the target shapes. `gpu`: the headline and the
 * 4096-token expanded prefill (every GPU target of issue 13). `decode`: absorbed vs
 * dense decode over s_q, s_k and batch for V2-Lite's 16 heads and DeepSeek-V3's 128
 * heads as tensor-parallel shards of 32 and 16. `prefill`: causal prefill over
 * lengths, f32 vs f16, and page sizes. `tiny`: a seconds-long smoke of the runner.
 *
 * @example
 * ```ts
 * import { benchMatrix } from "./cases.ts";
 * benchMatrix("headline").length; // 6
 * ```
 */
export function benchMatrix(name: string): BenchCase[] {
  switch (name) {
    case "headline":
      return HEADLINE.map(({ target: _t, ...c }) => c);
    case "gpu":
      // Every case issue 13 sets a GPU target on (tools/gpu_machine_check.sh benches it).
      return TARGET_CASES.map(({ target: _t, ...c }) => c);
    case "decode":
      return [
        ...grid({ preset: "deepseek-v2-lite", causal: true, page: 0 }, {
          heads: [16],
          path: ["absorbed", "expanded"],
          dtype: ["f32"],
          b: [1, 4, 8],
          sq: [1, 2, 4],
          sk: [512, 2048, 8192],
        }),
        ...grid({ preset: "deepseek-v3", causal: true, page: 0 }, {
          heads: [32, 16],
          path: ["absorbed", "expanded"],
          dtype: ["f32"],
          b: [1, 4],
          sq: [1],
          sk: [512, 4096, 16384],
        }),
      ];
    case "presets":
      // The absorbed / dense crossover of every bundled model preset at its full head count
      // (no tensor-parallel shard): decode, one sequence, seven cache lengths (the short ones
      // where a fixed cost per pass makes dense the faster path; 128 and 512 bracket the
      // crossover that bench prints, measured between 64 and 1024 keys on lavapipe).
      return PRESET_NAMES.filter((p) => !p.startsWith("tiny")).flatMap((preset) =>
        grid({ preset, causal: true, page: 0 }, {
          heads: [presetSpec(preset).numHeads],
          path: ["absorbed", "expanded"],
          dtype: ["f32"],
          b: [1],
          sq: [1],
          sk: [16, 64, 128, 256, 512, 1024, 4096],
        })
      );
    case "prefill":
      return [
        ...grid({ preset: "deepseek-v2-lite", causal: true, page: 0 }, {
          heads: [16],
          path: ["absorbed", "expanded"],
          dtype: ["f32", "f16"],
          b: [1],
          sq: [128, 256, 512],
          sk: [0],
        }).map((c) => ({ ...c, sk: c.sq })),
        ...[16, 64].map((page) => ({
          preset: "deepseek-v2-lite",
          heads: 16,
          path: "absorbed" as const,
          dtype: "f32" as const,
          b: 4,
          sq: 1,
          sk: 4096,
          causal: true,
          page,
        })),
      ];
    case "tiny":
      return grid({ preset: "tiny", causal: true, page: 0 }, {
        heads: [4],
        path: ["absorbed", "expanded"],
        dtype: ["f32"],
        b: [1],
        sq: [1],
        sk: [64],
      });
    default:
      throw new RangeError(
        `unknown benchmark matrix "${name}" (${didYouMean(name, BENCH_MATRICES)}bundled: ${
          BENCH_MATRICES.join(", ")
        })`,
      );
  }
}

/** Names of the bundled benchmark matrices. */
export const BENCH_MATRICES: readonly string[] = [
  "headline",
  "gpu",
  "decode",
  "prefill",
  "presets",
  "tiny",
];

/**
 * A bench case's id as key/value pairs (`preset`, `h`, `path`, ... as {@link benchCaseId}
 * writes them).
 *
 * @example
 * ```ts
 * import { benchCaseParams, benchMatrix } from "./cases.ts";
 * benchCaseParams(benchMatrix("headline")[0]).get("preset"); // "deepseek-v2-lite"
 * ```
 */
export function benchCaseParams(c: BenchCase): Map<string, string> {
  return new Map(
    benchCaseId(c).split(";").map((p) => {
      const eq = p.indexOf("=");
      return [p.slice(0, eq), p.slice(eq + 1)];
    }),
  );
}

/** Filter keys `run` uses for what a bench case id names otherwise. */
const BENCH_KEY_ALIASES: Readonly<Record<string, string>> = { heads: "h" };

/**
 * Parse a bench filter `key=v1,v2;key2=v3` into each key's accepted values. `run`'s words
 * are accepted too: `heads` for `h`, and `causal=true`/`false` for 1/0. No term at all
 * (`""`, `";"`), a part without `=`, an empty key or value, or a repeated key throws a
 * RangeError naming it (keys are checked against the cases by {@link filterBenchCases}).
 *
 * @example
 * ```ts
 * import { parseBenchFilter } from "./cases.ts";
 * parseBenchFilter("path=absorbed;dtype=f16,f32").get("dtype"); // Set {"f16", "f32"}
 * parseBenchFilter("heads=16;causal=true").get("h"); // Set {"16"}
 * ```
 */
export function parseBenchFilter(filter: string): Map<string, Set<string>> {
  const conds = new Map<string, Set<string>>();
  for (const part of filter.split(";").map((s) => s.trim()).filter(Boolean)) {
    const eq = part.indexOf("=");
    // run's words for the same things: its case ids say heads=, and causal=true/false.
    const written = part.slice(0, eq).trim();
    const key = BENCH_KEY_ALIASES[written] ?? written;
    const values = part.slice(eq + 1).split(",").map((x) => x.trim()).map((v) =>
      key === "causal" && (v === "true" || v === "false") ? (v === "true" ? "1" : "0") : v
    );
    if (eq <= 0 || !key) throw new RangeError(`bad filter part "${part}" (key=value)`);
    if (values.some((v) => v === "")) {
      throw new RangeError(`filter part "${part}" has an empty value; give key=v1,v2`);
    }
    if (conds.has(key)) {
      throw new RangeError(
        `filter key "${key}" appears twice; list alternatives with ',', e.g. ${key}=a,b`,
      );
    }
    conds.set(key, new Set(values));
  }
  if (conds.size === 0) {
    throw new RangeError(
      `filter "${filter}" holds no key=value term (it would keep every case); a filter looks ` +
        "like path=absorbed;dtype=f16,f32",
    );
  }
  return conds;
}

/**
 * Keep the cases whose id matches a filter `key=v1,v2;key2=v3` (all keys must match).
 *
 * @example
 * ```ts
 * import { benchMatrix, filterBenchCases } from "./cases.ts";
 * filterBenchCases(benchMatrix("headline"), "path=absorbed;dtype=f32").length; // 2
 * ```
 */
export function filterBenchCases(cases: readonly BenchCase[], filter: string): BenchCase[] {
  const conds = parseBenchFilter(filter);
  return cases.filter((c) => {
    const kv = benchCaseParams(c);
    return [...conds].every(([k, vs]) => {
      if (!kv.has(k)) {
        throw new RangeError(
          `unknown filter key "${k}"; the keys of a bench case: ${[...kv.keys()].join(", ")}`,
        );
      }
      return vs.has(kv.get(k)!);
    });
  });
}
