/**
 * The full MLA layer from files: read and check a safetensors input (and weights),
 * run the layer on the GPU, write the output atomically, and compare with the
 * float64 reference. The `layer` command is a thin wrapper around this.
 *
 * @module
 */
import { removeAtomicTemps } from "../util/fs.ts";
import { cuSeqlensIssues, normalizeLayout } from "../adapter/layout.ts";
import { specForLayout } from "../adapter/longrope.ts";
import { loadSpec } from "../adapter/source.ts";
import type {
  AttentionPath,
  Dtype,
  GpuPlan,
  LayerWeights,
  LayoutRequest,
  MlaSpec,
  NormalizedLayout,
  Plan,
} from "../adapter/types.ts";
import { GpuContext, HARNESS_FEATURES } from "../gpu/device.ts";
import { isRemoteDevice, type RunDevice } from "../gpu/runtime.ts";
import { runLayer } from "../kernels/layer.ts";
import { layerFault } from "../kernels/layer_faults.ts";
import { compareLayer, type LayerParity } from "../parity/compare_layer.ts";
import { layerToleranceFor } from "../parity/tolerance.ts";
import { makeLayerWeights } from "../reference/inputs.ts";
import { mlaLayer } from "../reference/layer.ts";
import { sampleRows, withNonFiniteRows } from "../reference/sample_rows.ts";
import { SafetensorsError } from "../weights/errors.ts";
import {
  attentionPrefix,
  expectedTensors,
  loadLayerWeights,
  type NonFinite,
  nonFiniteAt,
} from "../weights/hf_names.ts";
import { F16_OVERFLOW } from "../weights/dtypes.ts";
import {
  SafetensorsFile,
  type TensorReader,
  writeSafetensorsFile,
} from "../weights/safetensors.ts";
import { openWeights, ShardedSafetensors } from "../weights/sharded.ts";
import { FP8_BLOCK_SIZE, fp8BlockSizeOf } from "../weights/fp8.ts";
import { PRESET_CONFIGS } from "../adapter/presets.ts";
import { sameFile } from "../report/output_overlap.ts";
import { checkOutputFile } from "../report/output_paths.ts";
import { LayerInputError } from "../weights/errors.ts";
import { resolveLayerPlan } from "./layer_plan.ts";
import { BUNDLED_BACKENDS } from "../adapter/backends.ts";

/** Name of the input tensor. */
export const INPUT_TENSOR = "hidden_states";

/** Reference rows computed by default (the first and last of each sequence always). */
export const DEFAULT_CHECK_ROWS = 64;

/** Options of {@link layerFromFiles}. */
export interface LayerFilesOptions {
  /** Preset name or config.json path. */
  config: string;
  /**
   * Weights: a .safetensors file, or a sharded checkpoint's index (`*.json`,
   * model.safetensors.index.json: the shards holding the layer are read); seeded random when
   * absent.
   */
  weights?: string;
  /** Input file with `hidden_states`. */
  input: string;
  /** Output file (written atomically). */
  out: string;
  /** Attention path (default absorbed). */
  path?: AttentionPath;
  /** A registered backend id: it decides the path (a `path` that differs is refused). */
  backend?: string;
  /** Storage dtype (default f32). */
  dtype?: Dtype;
  /** Packed input [tokens, hidden] with these cumulative sequence lengths. */
  cuSeqlens?: readonly number[];
  /** Layer index in the weights file. */
  layer?: number;
  /** Which attention module of the layer, where it holds several (LongCat-Flash: 0 or 1). */
  attentionModule?: number;
  /** Compare with the float64 reference (default true). */
  check?: boolean;
  /**
   * Most reference rows (default {@link DEFAULT_CHECK_ROWS}); boundaries always in. A whole
   * number from 1; with `check: false` it is refused (LayerInputError), not ignored.
   */
  checkRows?: number;
  /** Seed of the random weights (default 1); with `weights` it is refused, not ignored. */
  seed?: number;
  /** Plant a layer fault (kernels/layer_faults.ts) to prove the check catches it. */
  plantFault?: string;
  /**
   * The device to run on: a GPU context, or another runtime's device (`layer --runtime
   * chromium`: the layer runs in the page, a planted fault applied there by id). Default: a
   * new GPU context, destroyed afterwards.
   */
  ctx?: RunDevice;
}

/** What {@link layerFromFiles} did. */
export interface LayerFilesResult {
  /** The spec. */
  readonly spec: MlaSpec;
  /** The attention plan. */
  readonly plan: Plan;
  /** Where the weights came from. */
  readonly weightsFrom: string;
  /** Shape of `hidden_states`. */
  readonly inputShape: readonly number[];
  /** Output [tokens, hidden] and LSE [tokens, heads] (logical order = input order). */
  readonly out: Float32Array;
  /** LSE [tokens, heads]. */
  readonly lse: Float32Array;
  /** Parity, or null with check off. */
  readonly parity: LayerParity | null;
}

const shapeStr = (s: readonly number[]) => `[${s.join(", ")}]`;

/**
 * Input tensor names that would describe the token layout (positions, masks, lengths) or
 * keys cached before these tokens (a decode step's past_key_value, a KV or latent cache).
 */
const LAYOUT_TENSOR = /position|mask|cu_seq|seq_?len|lengths|offsets|past|cache/i;

function bad(message: string): LayerInputError {
  return new LayerInputError(message);
}

/** A tensor (`what`: the file and tensor) holding values f16 storage makes infinite. */
function beyondF16(what: string, over: NonFinite): LayerInputError {
  return new LayerInputError(
    `${what} holds ${over.count} value${over.count === 1 ? "" : "s"} beyond f16's range ` +
      `(|x| <= 65504), the first ${over.value} at [${over.index.join(", ")}]; --dtype f16 ` +
      "stores it as f16, where it is infinite: use --dtype f32",
  );
}

/** The layout of the input tensor's shape (bshd, or thd with cu_seqlens). */
function inputLayout(
  spec: MlaSpec,
  shape: readonly number[],
  cuSeqlens: readonly number[] | undefined,
  source: string,
): LayoutRequest {
  const hs = spec.hiddenSize;
  const name = `${source}: ${INPUT_TENSOR}`;
  if (cuSeqlens) {
    if (shape.length !== 2 || shape[1] !== hs || shape[0] < 1) {
      throw bad(
        `${name} has shape ${shapeStr(shape)}; with --cu-seqlens expected [tokens, ${hs}] ` +
          `(hidden_size of ${spec.name}, tokens >= 1)`,
      );
    }
    // a malformed list first (decreasing offsets, ...): its last offset would mislead
    const [issue] = cuSeqlensIssues("--cu-seqlens", cuSeqlens);
    if (issue) {
      const entry = issue.path.slice("--cu-seqlens".length); // "[2]", or "" for the list
      throw bad(
        `--cu-seqlens ${cuSeqlens.join(",")}: ${entry ? `entry ${entry}: ${issue.value} ` : ""}` +
          issue.message,
      );
    }
    const last = cuSeqlens[cuSeqlens.length - 1];
    if (last !== shape[0]) {
      throw bad(
        `--cu-seqlens ${
          cuSeqlens.join(",")
        }: the last offset is ${last}, expected the token count ` +
          `${shape[0]} of ${name} ${shapeStr(shape)}`,
      );
    }
    return { kind: "thd", cuSeqlensQ: [...cuSeqlens], causal: true };
  }
  if (shape.length === 2) {
    throw bad(
      `${name} has shape ${shapeStr(shape)}: a packed [tokens, hidden] input needs --cu-seqlens ` +
        `(e.g. --cu-seqlens 0,${shape[0]}); otherwise expected [batch, seq, ${hs}]`,
    );
  }
  if (shape.length !== 3 || shape[2] !== hs || shape[0] < 1 || shape[1] < 1) {
    throw bad(
      `${name} has shape ${shapeStr(shape)}; expected [batch, seq, ${hs}] (hidden_size of ` +
        `${spec.name}, batch and seq >= 1) or [tokens, ${hs}] with --cu-seqlens`,
    );
  }
  return { kind: "bshd", batch: shape[0], seqQ: shape[1], seqK: shape[1], causal: true };
}

async function openFile(path: string): Promise<SafetensorsFile> {
  try {
    return await SafetensorsFile.open(path);
  } catch (e) {
    if (e instanceof SafetensorsError) throw bad(e.message);
    throw e;
  }
}

/**
 * The FP8 scale block of a config file's `quantization_config.weight_block_size` (undefined
 * for a preset or a config without one); a malformed one is a LayerInputError naming the file.
 */
async function configFp8BlockSize(config: string): Promise<[number, number] | undefined> {
  if (Object.hasOwn(PRESET_CONFIGS, config)) return undefined;
  try {
    // loadSpec has read and parsed the same file
    return fp8BlockSizeOf(JSON.parse(await Deno.readTextFile(config)));
  } catch (e) {
    if (e instanceof RangeError) throw bad(`${config}: ${e.message}`);
    throw e;
  }
}

/**
 * Refuse weight options that would be ignored: `layer` or `attentionModule` without
 * `weights` (a layer or module of no file), or `seed` with `weights` (`seedGiven`, by default
 * whether `seed` is set: the CLI's --seed has a default, so only it knows whether the user
 * gave one). Throws LayerInputError (exit 2).
 *
 * @example
 * ```ts
 * import { checkWeightOptions } from "./layer_files.ts";
 * checkWeightOptions({ weights: "w.safetensors", layer: 3 }); // fine
 * ```
 */
export function checkWeightOptions(
  options: Pick<LayerFilesOptions, "weights" | "layer" | "attentionModule" | "seed">,
  seedGiven: boolean = options.seed !== undefined,
): void {
  if (options.layer !== undefined && options.weights === undefined) {
    throw new LayerInputError(
      `--layer ${options.layer} picks a layer of the --weights file, and there is none (the ` +
        "weights are seeded random, --seed): give --weights or drop --layer",
    );
  }
  if (options.attentionModule !== undefined && options.weights === undefined) {
    throw new LayerInputError(
      `--attention-module ${options.attentionModule} picks an attention module of the ` +
        "--weights file, and there is none (the weights are seeded random, --seed): give " +
        "--weights or drop --attention-module",
    );
  }
  if (seedGiven && options.weights !== undefined) {
    throw new LayerInputError(
      `--seed ${options.seed} seeds the random weights, and --weights ${options.weights} ` +
        "replaces them: drop --seed or --weights",
    );
  }
}

/**
 * `checkRows` bounds the reference check: with `check: false` there is none, and a count
 * below 1 or not whole is no bound (the CLI's --check-rows is refused the same ways).
 */
function checkCheckRows(options: Pick<LayerFilesOptions, "check" | "checkRows">): void {
  const n = options.checkRows;
  if (n === undefined) return;
  if (options.check === false) {
    throw new LayerInputError(
      `--check-rows ${n} bounds the float64 reference check, and --no-check skips it: drop ` +
        "--check-rows or --no-check",
    );
  }
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new LayerInputError(`--check-rows ${n} must be a whole number of rows from 1`);
  }
}

/**
 * Run the layer from files: read and check the input (and weights: every tensor
 * against the spec before anything runs), run it on the GPU, write `output` (the
 * input's leading shape, hidden wide, F32) and `lse` ([tokens, heads], F32)
 * atomically, and (unless `check` is false) compare with the float64 reference.
 * Bad input (`layer` without `weights` included) throws LayerInputError or ConfigError, an
 * unusable `out` (a folder, a missing or
 * unwritable folder, the input or weights file) OutputPathError or LayerInputError, all
 * before anything is read or run (the CLI exits 2); an
 * unsupported device LayerUnsupportedError (exit 3); no adapter NoAdapterError.
 *
 * @example
 * ```ts
 * import { layerFromFiles } from "./layer_files.ts";
 * declare const input: string; // a .safetensors file holding hidden_states [1, 5, 64]
 * const r = await layerFromFiles({ config: "tiny", input, out: "y.safetensors" });
 * r.parity?.pass;
 * ```
 */
export async function layerFromFiles(options: LayerFilesOptions): Promise<LayerFilesResult> {
  // 0. Usage, then the output path, before anything is read or run.
  checkWeightOptions(options);
  checkCheckRows(options);
  await checkOutputFile(options.out, { label: "--out" });
  // A --config that is a file (not a preset name) is an input too.
  const configFile = Object.hasOwn(PRESET_CONFIGS, options.config) ? undefined : options.config;
  for (
    const [flag, file] of [
      ["--input", options.input],
      ["--weights", options.weights],
      ["--config", configFile],
    ]
  ) {
    if (file !== undefined && await sameFile(options.out, file)) {
      throw new LayerInputError(
        `--out ${options.out} is the ${flag} file ${file}: writing the output would overwrite ` +
          `it; give another --out`,
      );
    }
  }
  let spec = await loadSpec(options.config);
  const path = options.path ?? "absorbed";
  const dtype = options.dtype ?? "f32";
  const fault = options.plantFault ? layerFault(options.plantFault) : undefined;
  if (fault && options.check === false) {
    throw new LayerInputError(
      `--plant-fault ${fault.id} is there to show the parity check failing, and --no-check ` +
        "skips the check: drop one of them",
    );
  }

  // 1. Everything is read and checked before the GPU is touched.
  const input = await openFile(options.input);
  let hiddenF32: Float32Array;
  let inputShape: readonly number[];
  let layout: NormalizedLayout;
  let request: LayoutRequest;
  try {
    const info = input.tensors.get(INPUT_TENSOR);
    if (!info) {
      const names = [...input.tensors.keys()];
      throw bad(
        `${options.input}: no tensor "${INPUT_TENSOR}" (expected shape [batch, seq, ` +
          `${spec.hiddenSize}] or [tokens, ${spec.hiddenSize}]); found ${
            names.length ? names.map((n) => `"${n}"`).join(", ") : "no tensors"
          }`,
      );
    }
    inputShape = info.shape;
    // Only hidden_states is read. A tensor that would say how the tokens are laid out or
    // where they sit (positions, a mask, sequence lengths), or the keys before them (a
    // captured decode step's past_key_value), would be ignored, and the layer run as
    // something else: refused by name.
    const layoutish = [...input.tensors.keys()].filter((n) =>
      n !== INPUT_TENSOR && LAYOUT_TENSOR.test(n)
    );
    if (layoutish.length > 0) {
      throw bad(
        `${options.input}: ${layoutish.map((n) => `"${n}"`).join(", ")} would be ignored: ` +
          `the layer reads only "${INPUT_TENSOR}", each sequence at positions 0, 1, ... with ` +
          "a causal mask and no keys cached before it (a decode step against a cache is " +
          "kernels/decode.ts decodeStep's), packed sequences through --cu-seqlens; remove " +
          `${layoutish.length === 1 ? "it" : "them"} (and give --cu-seqlens for a packed input)`,
      );
    }
    request = inputLayout(spec, info.shape, options.cuSeqlens, options.input);
    layout = normalizeLayout(request, { source: options.input });
    // LongRoPE (MiniCPM3): the factor list the model uses for the longest sequence's keys
    spec = specForLayout(spec, layout);
    hiddenF32 = await input.read(INPUT_TENSOR);
    // A NaN or infinite input gives NaN rows on the GPU and in the float64 reference alike,
    // and a NaN matches a NaN in the parity check: a PASS that checked nothing. Refuse it.
    const nonFinite = nonFiniteAt(hiddenF32, info.shape);
    const overF16 = dtype === "f16"
      ? nonFiniteAt(hiddenF32, info.shape, { beyond: F16_OVERFLOW })
      : null;
    if (!nonFinite && overF16) throw beyondF16(`${options.input}: ${INPUT_TENSOR}`, overF16);
    if (nonFinite) {
      const { count, value, index } = nonFinite;
      throw new LayerInputError(
        `${options.input}: ${INPUT_TENSOR} holds ${count} non-finite value` +
          `${count === 1 ? "" : "s"}, the first ${value} at [${index.join(", ")}]; the ` +
          "layer's input must be finite",
      );
    }
  } catch (e) {
    if (e instanceof SafetensorsError) throw bad(e.message);
    throw e;
  } finally {
    input.close();
  }

  let weights: LayerWeights;
  let weightsFrom: string;
  if (options.weights) {
    const fp8BlockSize = await configFp8BlockSize(options.config);
    const pick = { layer: options.layer, attentionModule: options.attentionModule };
    let file: TensorReader;
    try {
      // a sparse config's indexer is not read: a shard holding only it is not opened
      file = await openWeights(options.weights, { ...pick, sparse: spec.indexTopK !== undefined });
    } catch (e) {
      if (e instanceof SafetensorsError) throw bad(e.message);
      throw e;
    }
    try {
      if (file instanceof ShardedSafetensors) {
        // --out must not be any shard of the checkpoint (checked above for --weights), the
        // picked layer's or another's: overwriting one corrupts the checkpoint
        for (const shard of file.allShards) {
          if (await sameFile(options.out, shard)) {
            throw new LayerInputError(
              `--out ${options.out} is the shard ${shard} of --weights ${options.weights}: ` +
                "writing the output would overwrite it; give another --out",
            );
          }
        }
      }
      weights = await loadLayerWeights(file, spec, { ...pick, fp8BlockSize });
      const shards = file instanceof ShardedSafetensors ? `; shards ${file.shards.join(", ")}` : "";
      const prefix = attentionPrefix(file.tensors.keys(), pick);
      // --dtype f16 stores the weights as f16: a value of |x| >= 65520 becomes Infinity, and
      // the run died after the GPU work with "a value beyond f16's range inside the layer,
      // from this input or these weights". Named here, before the GPU is touched.
      if (dtype === "f16") {
        for (const t of expectedTensors(spec)) {
          const name = prefix + t.suffix;
          const over = nonFiniteAt(weights[t.field]!, t.shape, { beyond: F16_OVERFLOW });
          if (over) throw beyondF16(`${file.fileOf(name)}: tensor "${name}"`, over);
        }
      }
      const fp8 = [...file.tensors.values()].some((t) =>
          t.name.startsWith(prefix) && t.dtype === "F8_E4M3"
        )
        ? `; F8_E4M3 weights dequantized by ${
          (fp8BlockSize ?? FP8_BLOCK_SIZE).join("x")
        } block scales${
          fp8BlockSize ? "" : " (the default: no quantization_config.weight_block_size)"
        }`
        : "";
      weightsFrom = `${options.weights} (${prefix}${shards}${fp8})`;
    } catch (e) {
      if (e instanceof SafetensorsError) throw bad(e.message);
      throw e;
    } finally {
      file.close();
    }
  } else {
    const seed = options.seed ?? 1;
    weights = makeLayerWeights(spec, { seed });
    weightsFrom = `random (seed ${seed})`;
  }

  // 2. The GPU.
  const ctx = options.ctx ??
    await GpuContext.create({ optionalFeatures: HARNESS_FEATURES });
  let result: { out: Float32Array; lse: Float32Array; plan: GpuPlan };
  try {
    // The case's one resolve(): kernels/ runs the plan it is given.
    const plan = resolveLayerPlan(ctx.caps, {
      spec,
      layout: request,
      path,
      backend: options.backend,
      dtype,
    });
    // --backend picks the path; an explicit --path that says otherwise is a contradiction,
    // not a preference to drop without a word.
    if (options.backend !== undefined && options.path !== undefined && plan.path !== path) {
      throw new LayerInputError(
        `--path ${path} contradicts --backend ${options.backend}, which runs the ${plan.path} ` +
          `path; drop --path (the backend decides) or give a backend of the ${path} path`,
      );
    }
    result = isRemoteDevice(ctx)
      ? {
        ...(await ctx.runLayer(plan, {
          spec,
          weights,
          hidden: hiddenF32,
          repeats: 0,
          faultId: fault?.id,
        })).outputs,
        plan,
      }
      : await runLayer(ctx, { spec, plan, weights, hidden: hiddenF32, mutate: fault?.mutate });
  } finally {
    if (!options.ctx && !isRemoteDevice(ctx)) ctx.destroy();
  }

  // 3. Parity against the float64 reference: the sampled rows, and the first 16 rows where
  //    the GPU wrote a non-finite value (a NaN outside the sample would otherwise pass unseen).
  const tokens = layout.totalQ;
  let parity: LayerParity | null = null;
  if (options.check ?? true) {
    const sampled = sampleRows(layout, { max: options.checkRows ?? DEFAULT_CHECK_ROWS, seed: 1 });
    const rows = withNonFiniteRows(sampled, { out: result.out, lse: result.lse, rows: tokens });
    const all = rows.length === tokens;
    const ref = mlaLayer(spec, layout, {
      weights,
      hidden: Float64Array.from(hiddenF32),
      path: "expanded",
      rows: all ? undefined : rows,
      storedAs: dtype,
    });
    parity = compareLayer(result, ref, {
      rows,
      hidden: spec.hiddenSize,
      heads: spec.numHeads,
      tolerance: layerToleranceFor(dtype, result.plan.path, {
        absorbedQuery: Object.hasOwn(BUNDLED_BACKENDS, result.plan.backend) ? "f32" : "storage",
      }),
      // positions as the files' own: output [batch, seq, hidden] or [token, hidden], lse
      // [token, head] (they counted the compared rows: "at [1,61]" of an output [2, 5, 64])
      rowShape: inputShape.slice(0, -1),
    });
    // The input is finite (checked above), so a value non-finite in the kernel's output AND
    // in the reference, which stores what the kernel stores, overflowed the storage dtype
    // inside the layer: NaN matches NaN there, a PASS that checked nothing. Refused.
    const overflow = bothNonFinite(result, ref, rows, spec);
    if (overflow !== null) {
      const range = dtype === "f16" ? "f16's range (|x| <= 65504)" : "f32's range (about 3.4e38)";
      throw new LayerInputError(
        `${overflow.tensor} of token ${overflow.row} is non-finite in the GPU's output and in ` +
          `the float64 reference, which stores what --dtype ${dtype} stores: a value beyond ` +
          `${range} inside the layer, from this input or these weights; nothing can be checked ` +
          `there (no output written): ${
            dtype === "f16" ? "use --dtype f32, or " : "use "
          }inputs and weights of smaller magnitude`,
      );
    }
  }

  // 4. The output, atomically; a write of it that a killed layer left half-done (its temp
  // file beside it, as large as the output) goes first: it stayed there for good.
  const slash = options.out.lastIndexOf("/");
  await removeAtomicTemps(slash < 0 ? "." : options.out.slice(0, slash) || "/", {
    of: options.out.slice(slash + 1),
  });
  await writeSafetensorsFile(options.out, {
    output: {
      dtype: "F32",
      shape: [...inputShape.slice(0, -1), spec.hiddenSize],
      data: result.out,
    },
    lse: { dtype: "F32", shape: [tokens, spec.numHeads], data: result.lse },
  }, {
    // The path and backend that ran (a --backend decides the path), not the ones asked for;
    // and what makes the output reproducible and tells whether it can be trusted: the
    // weights (file or seed), the input, its packing, and the check's verdict.
    metadata: {
      producer: "mla-harness layer",
      config: spec.name,
      path: result.plan.path,
      backend: result.plan.backend,
      dtype,
      weights: weightsFrom,
      input: options.input,
      ...(options.cuSeqlens === undefined ? {} : { cu_seqlens: options.cuSeqlens.join(",") }),
      check: parity === null
        ? "not checked (--no-check)"
        : `${parity.pass ? "pass" : "FAIL"} (${parity.rows.length} of ${tokens} token rows)`,
      ...(fault === undefined ? {} : { planted_fault: fault.id }),
    },
  });
  return {
    spec,
    plan: result.plan,
    weightsFrom,
    inputShape,
    out: result.out,
    lse: result.lse,
    parity,
  };
}

/**
 * The first checked position non-finite in both the GPU's layer output and the reference's
 * (`rows`: the token rows the reference computed; both arrays hold every token's row), or null.
 */
function bothNonFinite(
  got: { out: ArrayLike<number>; lse: ArrayLike<number> },
  want: { out: ArrayLike<number>; lse: ArrayLike<number> },
  rows: readonly number[],
  spec: MlaSpec,
): { tensor: "output" | "lse"; row: number } | null {
  // (the reference fills only `rows`, as compareLayer reads them)
  for (const [tensor, w] of [["output", spec.hiddenSize], ["lse", spec.numHeads]] as const) {
    const g = tensor === "output" ? got.out : got.lse;
    const e = tensor === "output" ? want.out : want.lse;
    for (const row of rows) {
      for (let c = 0; c < w; c++) {
        if (!Number.isFinite(g[row * w + c]) && !Number.isFinite(e[row * w + c])) {
          return { tensor, row };
        }
      }
    }
  }
  return null;
}
