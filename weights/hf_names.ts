/**
 * Hugging Face names of one MLA layer's weights, the shapes a spec expects of
 * them, the layer prefix of a file (`model.layers.N.self_attn.` or a bare
 * `self_attn.`), and loading a layer from a safetensors file with every
 * missing, unexpected and mis-shaped tensor listed before anything runs.
 *
 * @module
 */
import { ConfigError, type ConfigIssue } from "../adapter/errors.ts";
import type { LayerWeights, MlaSpec } from "../adapter/types.ts";
import { SafetensorsError } from "./errors.ts";
import { blockScaleShape, decodeE8m0, dequantBlockFp8, FP8_BLOCK_SIZE } from "./fp8.ts";
import { SUPPORTED_DTYPES, type TensorReader } from "./safetensors.ts";

/** One expected tensor: its {@link LayerWeights} field, HF suffix and shape. */
export interface ExpectedTensor {
  /** Field of LayerWeights. */
  readonly field: keyof LayerWeights;
  /** Name after the layer prefix, e.g. `q_proj.weight`. */
  readonly suffix: string;
  /** torch shape ([out, in] for Linear weights, [n] for norms). */
  readonly shape: readonly number[];
  /**
   * How the config makes each dimension, in its HF field names (`kv_lora_rank 512 +
   * qk_rope_head_dim 64`): a wrong-shape message says which fields a dimension comes from.
   */
  readonly dims: readonly string[];
}

/**
 * The tensors a spec's layer needs (HF names, torch Linear layout [out, in]).
 *
 * @example
 * ```ts
 * import { presetSpec } from "../adapter/presets.ts";
 * import { expectedTensors } from "./hf_names.ts";
 * expectedTensors(presetSpec("tiny")).map((t) => t.suffix)[0]; // "q_proj.weight"
 * ```
 */
export function expectedTensors(spec: MlaSpec): ExpectedTensor[] {
  const h = spec.numHeads;
  const r = spec.kvLoraRank;
  const qOut = h * spec.kChannels;
  const heads = `num_attention_heads ${h}`;
  const hidden = `hidden_size ${spec.hiddenSize}`;
  const rank = `kv_lora_rank ${r}`;
  const nope = `qk_nope_head_dim ${spec.qkNopeHeadDim}`;
  const rope = `qk_rope_head_dim ${spec.qkRopeHeadDim}`;
  const v = `v_head_dim ${spec.vHeadDim}`;
  const qRows = `${heads} x (${nope} + ${rope})`;
  const q: ExpectedTensor[] = spec.qLoraRank === null
    ? [{
      field: "qProj",
      suffix: "q_proj.weight",
      shape: [qOut, spec.hiddenSize],
      dims: [qRows, hidden],
    }]
    : [
      {
        field: "qAProj",
        suffix: "q_a_proj.weight",
        shape: [spec.qLoraRank, spec.hiddenSize],
        dims: [`q_lora_rank ${spec.qLoraRank}`, hidden],
      },
      {
        field: "qANorm",
        suffix: "q_a_layernorm.weight",
        shape: [spec.qLoraRank],
        dims: [`q_lora_rank ${spec.qLoraRank}`],
      },
      {
        field: "qBProj",
        suffix: "q_b_proj.weight",
        shape: [qOut, spec.qLoraRank],
        dims: [qRows, `q_lora_rank ${spec.qLoraRank}`],
      },
    ];
  return [
    ...q,
    {
      field: "kvAProj",
      suffix: "kv_a_proj_with_mqa.weight",
      shape: [r + spec.qkRopeHeadDim, spec.hiddenSize],
      dims: [`${rank} + ${rope}`, hidden],
    },
    { field: "kvANorm", suffix: "kv_a_layernorm.weight", shape: [r], dims: [rank] },
    {
      field: "kvBProj",
      suffix: "kv_b_proj.weight",
      shape: [h * (spec.qkNopeHeadDim + spec.vHeadDim), r],
      dims: [`${heads} x (${nope} + ${v})`, rank],
    },
    {
      field: "oProj",
      suffix: "o_proj.weight",
      shape: [spec.hiddenSize, h * spec.vHeadDim],
      dims: [hidden, `${heads} x ${v}`],
    },
  ];
}

// A layer's attention tensors: `<wrapper>layers.N.self_attn.*`, the wrapper `model.` in a
// language model's checkpoint and e.g. `language_model.model.` in a multimodal one's (Kimi-VL,
// Kimi K3, DeepSeek-VL2), whose config the reader takes from its text_config.
// The layer number as HF writes it, without leading zeros: "layers.00." and "layers.0." read
// as one layer 0 ("the file holds the attention of layers 0, 0"; a file of layers.00.* only
// read as layers.0.*, each tensor missing).
const LAYER_RE = /^((?:[A-Za-z0-9_]+\.)*?)layers\.(0|[1-9]\d*)\.self_attn\./;

/**
 * The wrapper of the layers' attention tensors: `model.` by default; the one wrapper present;
 * among several (a multimodal checkpoint whose vision tower also has `layers.N.self_attn`), the
 * one whose attention is MLA (it has kv_a_proj_with_mqa). Several MLA wrappers: a ConfigError.
 */
function layerWrapper(all: readonly string[], source: string | undefined): string {
  const wrappers = [
    ...new Set(all.map((n) => LAYER_RE.exec(n)?.[1]).filter((w) => w !== undefined)),
  ];
  if (wrappers.length <= 1) return wrappers[0] ?? "model.";
  const mla = wrappers.filter((w) =>
    all.some((n) =>
      n.startsWith(w) && /^layers\.\d+\.self_attn\.kv_a_proj_with_mqa\./.test(n.slice(w.length))
    )
  );
  if (mla.length === 1) return mla[0];
  const sets = (mla.length > 1 ? mla : wrappers).map((w) => `${w}layers.N.self_attn.*`);
  throw new ConfigError(source ?? "weights", [{
    path: "(tensors)",
    value: sets.length,
    message: `sets of MLA attention tensors under several wrappers (${sets.join(", ")}: layers ` +
      "of more than one model): which to read is not guessed; give a file holding one model's " +
      "layers",
  }], "ambiguous layer");
}

/**
 * Why a list of tensor names (none under `self_attn.`) holds no layer to read: a file's, or a
 * sharded checkpoint's index's weight_map (`index`).
 */
function noAttentionMessage(all: readonly string[], index: boolean): string {
  // an index was told "0 tensors in the file ... or give a sharded checkpoint's index"
  if (index && all.length === 0) {
    return "tensors in the index's weight_map (it is empty); give the index of the checkpoint " +
      "holding the layer's attention";
  }
  const shown = all.slice(0, 3).map((n) => `"${n}"`).join(", ") +
    (all.length > 3 ? ` and ${all.length - 3} more` : "");
  // DeepSeek's inference/convert.py renames the layers (layers.N.attn.wkv_a.weight, ...)
  const inference = all.some((n) => /(^|\.)layers\.\d+\.attn\.(wq|wq_a|wkv_a|wkv_b|wo)\./.test(n));
  // Megatron-Core's MLA (MLASelfAttention): "give the file holding the layer's attention" sent
  // the user after a file that holds it, under another model code's names
  const megatron = all.some((n) =>
    /(^|\.)layers\.\d+\.self_attention\.(linear_(q_proj|q_down_proj|q_up_proj|kv_down_proj|kv_up_proj|proj)|q_layernorm|kv_layernorm)\./
      .test(n)
  );
  return `${all.length === 1 ? "tensor" : "tensors"} in the ${
    index ? "index's weight_map" : "file"
  }, none an attention tensor (none named ` +
    `*layers.N.self_attn.* or self_attn.*)${all.length > 0 ? `: ${shown}` : ""}; ${
      inference
        ? "its layers.N.attn.* names are DeepSeek's inference format (inference/convert.py): " +
          "give the Hugging Face checkpoint"
        : megatron
        ? "its layers.N.self_attention.linear_* names are Megatron-Core's (linear_kv_down_proj, " +
          "linear_kv_up_proj, linear_proj, ...): the loader reads Hugging Face names " +
          "(kv_a_proj_with_mqa, kv_b_proj, o_proj, ...); export the checkpoint to them (a " +
          "Megatron config.json is read, its weights are not)"
        : index
        ? "give the index of the checkpoint holding the layer's attention"
        : "give the file holding the layer's attention, or a sharded checkpoint's " +
          "model.safetensors.index.json"
    }`;
}

/**
 * The tensors under `prefix` no MLA attention has (k_proj, v_proj, Kimi Linear's KDA
 * f_a_proj, ...: another kind of attention, a hybrid model's other layers), by their first
 * name part; empty where the prefix holds an MLA tensor (kv_a_proj_with_mqa, kv_b_proj) or
 * none of those.
 */
function otherAttention(all: readonly string[], prefix: string): string[] {
  const under = all.filter((n) => n.startsWith(prefix)).map((n) => n.slice(prefix.length));
  if (under.some((s) => /^(\d+\.)?(kv_a_proj_with_mqa|kv_b_proj)\./.test(s))) return [];
  return [
    ...new Set(
      under.map((s) => /^(?:\d+\.)?(k_proj|v_proj|qkv_proj|f_a_proj|k_conv1d)\./.exec(s)?.[1])
        .filter((p) => p !== undefined),
    ),
  ];
}

/**
 * Why the layer under `prefix` cannot be read, after "has": the tensors of another kind of
 * attention than MLA it holds (see {@link otherAttention}) and the layers whose attention is
 * MLA; null when it may be MLA. The loader listed MLA's five tensors missing and the layer's
 * own unexpected, which read like a damaged checkpoint.
 */
function notMlaMessage(
  all: readonly string[],
  options: { prefix: string; wrapper: string; layers: readonly number[]; index?: boolean },
): string | null {
  const { prefix, wrapper, layers } = options;
  const other = otherAttention(all, prefix);
  if (other.length === 0) return null;
  const mla = layers.filter((l) =>
    otherAttention(all, `${wrapper}layers.${l}.self_attn.`).length === 0
  );
  const where = options.index ? "the index's weight_map maps" : "the file holds";
  return `${other.join(", ")} and no kv_a_proj_with_mqa or kv_b_proj: another kind of ` +
    "attention than MLA (a multi-head or grouped-query model's, or a hybrid model's other " +
    `layers: Kimi Linear's KDA, say); ${
      mla.length > 0
        ? `${where} MLA attention in ${layerWord(mla)} ${layerList(mla)}`
        : `${where} no MLA layer's attention`
    }`;
}

/** "layer" or "layers", for a list of layer numbers. */
const layerWord = (layers: readonly number[]) => layers.length === 1 ? "layer" : "layers";

/** "; MLA attention in layers ..., another kind in ..." where the layers' kinds differ. */
function mixed(all: readonly string[], wrapper: string, layers: readonly number[]): string {
  const other = layers.filter((l) =>
    otherAttention(all, `${wrapper}layers.${l}.self_attn.`).length > 0
  );
  if (other.length === 0) return "";
  const mla = layers.filter((l) => !other.includes(l));
  return `; MLA attention in ${
    mla.length > 0 ? `${layerWord(mla)} ${layerList(mla)}` : "none"
  }, another kind (k_proj, v_proj, ...: not read) in ${layerWord(other)} ${layerList(other)}`;
}

/**
 * Layer numbers (sorted, distinct) as a message lists them: a run of three or more as
 * `first-last`, so a checkpoint of 62 layers is "0-61", not 62 numbers.
 */
function layerList(layers: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < layers.length;) {
    let j = i;
    while (j + 1 < layers.length && layers[j + 1] === layers[j] + 1) j++;
    parts.push(
      j - i >= 2 ? `${layers[i]}-${layers[j]}` : layers.slice(i, j + 1).join(", "),
    );
    i = j + 1;
  }
  return parts.join(", ");
}

/**
 * The prefix of the layer's attention tensors in a list of names: with `layer`,
 * `model.layers.N.self_attn.`; without, a bare `self_attn.` when present, else the
 * only layer that has `self_attn` tensors. A multimodal checkpoint's wrapper
 * (`language_model.model.layers.N.self_attn.`) is found in the names. Throws a ConfigError
 * when several layers, or a bare set and a layer, are present and none was chosen.
 *
 * @example
 * ```ts
 * import { layerPrefix } from "./hf_names.ts";
 * layerPrefix(["model.layers.7.self_attn.o_proj.weight"], {}); // "model.layers.7.self_attn."
 * layerPrefix(["language_model.model.layers.3.self_attn.o_proj.weight"], {}); // "language_model.model.layers.3.self_attn."
 * ```
 */
export function layerPrefix(
  names: Iterable<string>,
  options: { layer?: number; source?: string; index?: boolean },
): string {
  const all = [...names];
  // (an attention module's number too: LongCat-Flash's self_attn.0.*, self_attn.1.*)
  const zeros = all.find((n) =>
    /(^|\.)layers\.0\d+\.self_attn\./.test(n) || /(^|\.)self_attn\.0\d+\./.test(n)
  );
  if (zeros !== undefined) {
    const what = /(^|\.)layers\.0\d+\.self_attn\./.test(zeros)
      ? ["layer", "layers", "layers.0.self_attn.*"]
      : ["attention module", "modules", "self_attn.0.*"];
    throw new ConfigError(options.source ?? "weights", [{
      path: "(tensors)",
      value: zeros,
      message: `numbers its ${what[0]} with a leading zero: Hugging Face names number ` +
        `${what[1]} 0, 1, 2, ... (${what[2]}), and which ${what[0]} it is (beside one ` +
        "numbered 0, say) is not guessed; rename the tensors",
    }], `${what[0]} number with a leading zero`);
  }
  const wrapper = layerWrapper(all, options.source);
  const bare = all.some((n) => n.startsWith("self_attn."));
  const layers = [
    ...new Set(
      all.map((n) => LAYER_RE.exec(n))
        .filter((m) => m !== null && m[1] === wrapper)
        .map((m) => m![2]),
    ),
  ].map(Number).sort((a, b) => a - b);
  // No attention tensor at all (the input file, an experts-only shard, DeepSeek's inference
  // format): each expected tensor was listed as missing, which read like a broken file.
  if (layers.length === 0 && !bare) {
    throw new ConfigError(options.source ?? "weights", [{
      path: "(tensors)",
      value: all.length,
      message: noAttentionMessage(all, options.index ?? false),
    }], "no attention tensors");
  }
  if (options.layer !== undefined) {
    const prefix = `${wrapper}layers.${options.layer}.self_attn.`;
    // A layer the file does not hold: said once, with the layers it does hold (each of its
    // tensors was listed as missing, which read like a broken file).
    if (!all.some((n) => n.startsWith(prefix)) && (layers.length > 0 || bare)) {
      throw new ConfigError(options.source ?? "weights", [{
        path: "--layer",
        value: options.layer,
        message: `names a layer whose attention ${
          options.index ? "the index's weight_map does not map" : "the file does not hold"
        }; it ${options.index ? "maps" : "holds"} ${
          layers.length > 0
            ? `the attention of layer${layers.length === 1 ? "" : "s"} ${layerList(layers)} ` +
              `(${wrapper}layers.N.self_attn.*)`
            : "bare self_attn.* tensors, of no numbered layer: drop --layer"
        }`,
      }], "no such layer");
    }
    const notMla = notMlaMessage(all, { prefix, wrapper, layers, index: options.index });
    if (notMla !== null) {
      throw new ConfigError(options.source ?? "weights", [{
        path: "--layer",
        value: options.layer,
        message: `names a layer whose attention is not MLA: ${prefix}* has ${notMla}`,
      }], "not an MLA layer");
    }
    return prefix;
  }
  if (bare && layers.length > 0) {
    // two sets of attention weights (they may differ): reading either silently is a guess
    const sets = layers.map((l) => `${wrapper}layers.${l}.self_attn.*`).join(", ");
    throw new ConfigError(options.source ?? "weights", [{
      path: "--layer",
      value: undefined,
      message: `is needed: the file holds bare self_attn.* tensors and ${sets} tensors; ` +
        `give --layer ${layers[0]} to read ${wrapper}layers.${layers[0]}.self_attn.*, or a ` +
        "file holding one set (the bare self_attn.* set is read from a file without " +
        "layer-prefixed attention tensors)",
    }], "ambiguous layer");
  }
  if (bare) return "self_attn.";
  if (layers.length > 1) {
    throw new ConfigError(options.source ?? "weights", [{
      path: "--layer",
      value: undefined,
      message: `is needed: ${
        options.index ? "the index's weight_map maps" : "the file holds"
      } the attention of layers ${layerList(layers)}${mixed(all, wrapper, layers)}`,
    }], "ambiguous layer");
  }
  const only = `${wrapper}layers.${layers.length === 1 ? layers[0] : 0}.self_attn.`;
  const notMla = notMlaMessage(all, { prefix: only, wrapper, layers, index: options.index });
  if (notMla !== null) {
    // the file's one layer (no --layer given)
    const count = all.filter((n) => n.startsWith(only)).length;
    throw new ConfigError(options.source ?? "weights", [{
      path: "(tensors)",
      value: count,
      message: `tensor${count === 1 ? "" : "s"} under ${only}* (the ${
        options.index ? "index's" : "file's"
      } one layer), with ${notMla}`,
    }], "not an MLA layer");
  }
  return only;
}

/** Options of {@link attentionPrefix} and {@link loadLayerWeights}. */
export interface LoadLayerWeightsOptions {
  /** Layer index (`--layer N`); see {@link layerPrefix} for the default. */
  layer?: number;
  /**
   * Which attention module of the layer (`--attention-module N`), where a layer holds
   * several (LongCat-Flash: `self_attn.0.*` and `self_attn.1.*`); refused where it holds one.
   */
  attentionModule?: number;
  /** Names the file in errors. */
  source?: string;
  /** The names are a sharded checkpoint's index's weight_map (errors say so, not "file"). */
  index?: boolean;
  /**
   * Rows and columns of an FP8 weight's scale block (`quantization_config.weight_block_size`;
   * default [128, 128], DeepSeek-V3's and Kimi K2's).
   */
  fp8BlockSize?: readonly [number, number];
}

/** The block-scale tensor of an FP8 weight: `<name>_scale_inv` (`o_proj.weight_scale_inv`). */
const scaleNameOf = (weight: string) => `${weight}_scale_inv`;

/**
 * The prefix of the one attention module a layer is read from: {@link layerPrefix}, and in
 * a layer holding several modules (LongCat-Flash's `self_attn.0.*`, `self_attn.1.*`) the one
 * `attentionModule` picks. Throws a ConfigError naming the modules where several are present
 * and none (or one not present) was picked, and where a module is picked in a layer of one.
 *
 * @example
 * ```ts
 * import { attentionPrefix } from "./hf_names.ts";
 * const names = ["model.layers.4.self_attn.0.o_proj.weight", "model.layers.4.self_attn.1.o_proj.weight"];
 * attentionPrefix(names, { attentionModule: 1 }); // "model.layers.4.self_attn.1."
 * attentionPrefix(["model.layers.4.self_attn.o_proj.weight"], {}); // "model.layers.4.self_attn."
 * ```
 */
export function attentionPrefix(
  names: Iterable<string>,
  options: LoadLayerWeightsOptions,
): string {
  const all = [...names];
  const source = options.source ?? "weights";
  const prefix = layerPrefix(all, { layer: options.layer, source, index: options.index });
  const modules = [
    ...new Set(
      all.filter((n) => n.startsWith(prefix))
        .map((n) => /^(\d+)\./.exec(n.slice(prefix.length))?.[1])
        .filter((m) => m !== undefined),
    ),
  ].map(Number).sort((a, b) => a - b);
  const picked = options.attentionModule;
  if (modules.length === 0) {
    if (picked === undefined) return prefix;
    throw new ConfigError(source, [{
      path: "--attention-module",
      value: picked,
      message: `picks one of several attention modules in a layer, and ${prefix}* is one ` +
        "module (no numbered modules under it): drop --attention-module",
    }], "no such attention module");
  }
  const list = modules.map((m) => `${prefix}${m}.*`).join(", ");
  if (picked === undefined) {
    throw new ConfigError(source, [{
      path: "--attention-module",
      value: undefined,
      message: `is needed: the layer holds ${modules.length} attention modules (${list}; ` +
        "LongCat-Flash keeps two per layer), which may differ; give --attention-module " +
        `${modules[0]} to read ${prefix}${modules[0]}.*`,
    }], "ambiguous layer");
  }
  if (!modules.includes(picked)) {
    throw new ConfigError(source, [{
      path: "--attention-module",
      value: picked,
      message: `is not in the layer: it holds ${list}; expected one of ${modules.join(", ")}`,
    }], "no such attention module");
  }
  return `${prefix}${picked}.`;
}

/** Options of {@link checkLayerTensors}. */
export interface CheckLayerTensorsOptions {
  /**
   * The tensors' dtypes: a Linear weight stored as F8_E4M3 then needs its block scale
   * `<weight>_scale_inv` of shape [ceil(out/b0), ceil(in/b1)] (DeepSeek-V3's FP8 release).
   * Without it, a `weight_scale_inv` tensor is unexpected.
   */
  dtypes?: ReadonlyMap<string, string>;
  /**
   * The scale block [b0, b1] the config states; absent: [128, 128], and messages say it is
   * the default.
   */
  fp8BlockSize?: readonly [number, number];
}

/** Integer dtypes: a Linear weight of one holds an integer-quantized checkpoint's packed values. */
const INTEGER_DTYPES: ReadonlySet<string> = new Set([
  "U8",
  "I8",
  "U16",
  "I16",
  "U32",
  "I32",
  "U64",
  "I64",
]);

/** What a checkpoint of packed integer weights (and their scales) is. */
const INT_QUANTIZED = "an integer-quantized checkpoint (MLX, GPTQ, AWQ or bitsandbytes)";

/** What a file of lora_A / lora_B tensors is. */
const LORA_ADAPTER = "a LoRA adapter (PEFT's adapter_model.safetensors)";

/** What a checkpoint of U8 weights beside F8_E4M3 `weight_scale` per 16 values is. */
const NVFP4 = "NVFP4 (NVIDIA ModelOpt's FP4: two E2M1 values a byte, an F8_E4M3 scale per 16 " +
  "values, a global weight_scale_2)";

/**
 * Whether the U8 weight `name`, for a weight of `shape` [out, in], is NVFP4: [out, in/2] bytes
 * beside an F8_E4M3 `<name>_scale` of [out, in/16]. Both shapes are the format's; an integer
 * checkpoint has neither an F8_E4M3 scale nor that layout.
 */
function isNvfp4(
  name: string,
  dtypes: ReadonlyMap<string, string> | undefined,
  shapes: ReadonlyMap<string, readonly number[]>,
  shape: readonly number[],
): boolean {
  const [out, inner] = shape;
  const found = shapes.get(name);
  const scale = shapes.get(`${name}_scale`);
  return inner % 16 === 0 && dtypes?.get(`${name}_scale`) === "F8_E4M3" &&
    found !== undefined && sameShape(found, [out, inner / 2]) &&
    scale !== undefined && sameShape(scale, [out, inner / 16]);
}

/** What a checkpoint of `weight_packed` tensors is (compressed-tensors, llm-compressor's). */
const CT_PACKED = "a compressed-tensors checkpoint of packed weights (llm-compressor's INT4 " +
  "pack-quantized or NVFP4: weight_packed, weight_scale, weight_shape)";

/** What to do with a quantized checkpoint the loader cannot read. */
const DEQUANTIZE = "dequantize the checkpoint to BF16 first, or give the unquantized release";

/**
 * Why a tensor of this dtype cannot be loaded as layer weights (naming the dtypes that can),
 * or null when it can (or the dtype is not known). `linear`: a 2-D Linear weight, which may
 * also be F8_E4M3 with its block scale; a norm weight may not. (A block scale, which may also
 * be F8_E8M0, has its own message; only the null here is used for it.)
 */
function dtypeProblem(dtype: string | undefined, linear: boolean): string | null {
  if (dtype === undefined || (SUPPORTED_DTYPES as readonly string[]).includes(dtype)) return null;
  if (linear && dtype === "F8_E4M3") return null;
  return linear
    ? `a Linear weight may be ${SUPPORTED_DTYPES.join(", ")} or F8_E4M3 (with its ` +
      "weight_scale_inv block scale)"
    : `a norm weight may be ${SUPPORTED_DTYPES.join(", ")}`;
}

/**
 * Which config fields make the dimensions a found shape gets wrong ("; dim 0 is
 * num_attention_heads 4 x (...) = 96"): a mismatch then points at the field that differs (a
 * config of another model, a head count of a tensor-parallel shard). Empty when the ranks
 * differ.
 */
function shapeWhy(t: ExpectedTensor, found: readonly number[]): string {
  if (found.length !== t.shape.length) return "";
  // [in, out] where torch's Linear stores [out, in] (a converter that wrote W^T, as x @ W
  // code keeps it): "dim 0 is ..., dim 1 is ..." sent the user after the config
  if (
    found.length === 2 && found[0] === t.shape[1] && found[1] === t.shape[0] &&
    found[0] !== found[1]
  ) {
    return `; found is the transpose of the expected shape: the weight is stored [in, out] ` +
      `([${t.dims[1]}, ${t.dims[0]}]), and a Linear weight is torch's [out, in]: ` +
      "transpose it where the checkpoint was converted";
  }
  const wrong = t.shape.flatMap((d, i) =>
    found[i] === d
      ? []
      : [`dim ${i} is ${t.dims[i]}${/^[a-z_]+ \d+$/.test(t.dims[i]) ? "" : ` = ${d}`}`]
  );
  return `; in the config, ${wrong.join(", ")}`;
}

/**
 * Where the file holds the other q path's tensors than the config's (`q_proj` where the
 * config has a `q_lora_rank`, `q_a_proj`/`q_b_proj` where it is null): which `q_lora_rank`
 * they were written for, said on the config's first missing q tensor. A missing q_proj beside
 * three unexpected tensors named no config field.
 */
function otherQPath(
  spec: MlaSpec,
  shapes: ReadonlyMap<string, readonly number[]>,
  prefix: string,
  field: keyof LayerWeights,
): string {
  const lowRank = ["q_a_proj.weight", "q_a_layernorm.weight", "q_b_proj.weight"]
    .filter((s) => shapes.has(prefix + s));
  if (spec.qLoraRank === null && field === "qProj" && lowRank.length > 0) {
    const a = shapes.get(`${prefix}q_a_proj.weight`);
    const b = shapes.get(`${prefix}q_b_proj.weight`);
    const rank = a?.length === 2 ? a[0] : b?.length === 2 ? b[1] : undefined;
    return ` (the file holds ${lowRank.join(", ")}: the low-rank q path, of a config whose ` +
      `q_lora_rank is ${rank ?? "set"}, and the config's q_lora_rank is null: a config of ` +
      "another model?)";
  }
  if (
    spec.qLoraRank !== null && field === "qAProj" && lowRank.length === 0 &&
    shapes.has(`${prefix}q_proj.weight`)
  ) {
    return " (the file holds q_proj.weight: the direct q path, of a config whose q_lora_rank " +
      `is null, and the config's q_lora_rank is ${spec.qLoraRank}: a config of another model?)`;
  }
  return "";
}

const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Check a file's tensors under the layer prefix against the spec: every missing,
 * unexpected and mis-shaped tensor, each with the expected and found shape; with `dtypes`,
 * also each F8_E4M3 weight's block scale (missing or mis-shaped).
 *
 * @example
 * ```ts
 * import { presetSpec } from "../adapter/presets.ts";
 * import { checkLayerTensors } from "./hf_names.ts";
 * const issues = checkLayerTensors(presetSpec("tiny"), new Map(), "self_attn.");
 * issues.length; // 5 missing tensors
 * ```
 */
export function checkLayerTensors(
  spec: MlaSpec,
  shapes: ReadonlyMap<string, readonly number[]>,
  prefix: string,
  options: CheckLayerTensorsOptions = {},
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const expected = expectedTensors(spec);
  const want = new Set(expected.map((t) => prefix + t.suffix));
  const block = options.fp8BlockSize ?? FP8_BLOCK_SIZE;
  for (const t of expected) {
    const name = prefix + t.suffix;
    const found = shapes.get(name);
    const dtype = options.dtypes?.get(name);
    if (!found) {
      const packed = `${name.slice(0, -"weight".length)}qweight`;
      const lora = `${name.slice(0, -"weight".length)}lora_A.weight`;
      const ctPacked = `${name}_packed`;
      issues.push({
        path: name,
        value: undefined,
        message: `missing: expected shape [${t.shape.join(", ")}], found none${
          shapes.has(packed)
            ? ` (the file holds ${packed.slice(prefix.length)}: ${INT_QUANTIZED}, named below)`
            : shapes.has(lora)
            ? ` (the file holds ${lora.slice(prefix.length)}: ${LORA_ADAPTER}, named below)`
            : shapes.has(ctPacked)
            ? ` (the file holds ${ctPacked.slice(prefix.length)}: ${CT_PACKED}, named below)`
            : otherQPath(spec, shapes, prefix, t.field)
        }`,
      });
    } else if (
      (dtype === "U8" || dtype === "I8") && t.shape.length === 2 && sameShape(found, t.shape) &&
      shapes.has(scaleNameOf(name))
    ) {
      // FP8 bytes under an integer dtype (a writer without float8 support): not an
      // integer-quantized checkpoint's values
      issues.push({
        path: name,
        value: dtype,
        message: `is ${dtype} beside a weight_scale_inv block scale: FP8 values stored as ` +
          `${dtype}? The loader reads block-scaled FP8 only where the header's dtype is ` +
          "F8_E4M3 (e4m3fn); write it so if they are e4m3 values",
      });
    } else if (
      dtype === "U8" && t.shape.length === 2 && isNvfp4(name, options.dtypes, shapes, t.shape)
    ) {
      // NVIDIA ModelOpt's FP4 (the layout of NVIDIA's DeepSeek-R1 FP4 MLP weights): named "an
      // integer-quantized checkpoint (MLX, GPTQ ...)", its scales "another FP8 format's"
      issues.push({
        path: name,
        value: [...found],
        message: `is U8 beside an F8_E4M3 weight_scale ` +
          `[${shapes.get(`${name}_scale`)!.join(", ")}]: ${NVFP4} for a weight ` +
          `[${t.shape.join(", ")}], which the loader cannot read; ${DEQUANTIZE}`,
      });
    } else if (dtype !== undefined && INTEGER_DTYPES.has(dtype) && t.shape.length === 2) {
      // MLX's 4-bit weight is U32 [out, in/8]: "wrong shape ... in the config, dim 1 is
      // hidden_size" sent the user after a config that was right
      issues.push({
        path: name,
        value: [...found],
        message: `is ${dtype}, integers where a float weight [${t.shape.join(", ")}] is ` +
          `expected: the (often packed) values of ${INT_QUANTIZED}, which ` +
          `the loader cannot read (${dtypeProblem(dtype, true)}); ${DEQUANTIZE}`,
      });
    } else if (!sameShape(found, t.shape)) {
      issues.push({
        path: name,
        value: [...found],
        message: `wrong shape: expected [${t.shape.join(", ")}], found [${found.join(", ")}]` +
          shapeWhy(t, found),
      });
    } else if (dtypeProblem(options.dtypes?.get(name), t.shape.length === 2)) {
      const dtype = options.dtypes!.get(name)!;
      issues.push({
        path: name,
        value: dtype,
        message: `is a dtype the loader cannot read: ${dtypeProblem(dtype, t.shape.length === 2)}`,
      });
    } else if (options.dtypes?.get(name) === "F8_E4M3" && t.shape.length === 2) {
      const scale = scaleNameOf(name);
      want.add(scale);
      const need = blockScaleShape(t.shape, block);
      const got = shapes.get(scale);
      const what = `the block scale of the F8_E4M3 weight ${t.suffix} (${block[0]}x${
        block[1]
      } blocks, ${
        options.fp8BlockSize === undefined
          ? "the default: the config states no quantization_config.weight_block_size"
          : "quantization_config.weight_block_size"
      })`;
      if (!got) {
        issues.push({
          path: scale,
          value: undefined,
          message: `missing: ${what}, expected shape [${need.join(", ")}], found none${
            shapes.has(`${name}_scale`)
              ? ` (the file holds ${t.suffix}_scale: another FP8 format's scale, named below)`
              : ""
          }`,
        });
      } else if (!sameShape(got, need)) {
        issues.push({
          path: scale,
          value: [...got],
          message: `wrong shape: ${what}, expected [${need.join(", ")}], found [${got.join(", ")}]`,
        });
      } else if (
        options.dtypes.get(scale) !== "F8_E8M0" && dtypeProblem(options.dtypes.get(scale), false)
      ) {
        const dtype = options.dtypes.get(scale)!;
        issues.push({
          path: scale,
          value: dtype,
          message: `is a dtype the loader cannot read: ${what} may be ${
            SUPPORTED_DTYPES.join(", ")
          } or F8_E8M0 (powers of two)`,
        });
      }
    }
  }
  // DeepSeek-V3.2's (and GLM-5's) sparse-attention indexer, `self_attn.indexer.*`: it picks
  // the keys each query attends to. The harness computes dense MLA, the same where a query
  // sees at most index_topk keys (resolve refuses the rest), so a sparse config's indexer is
  // not read; its weights were "unexpected", and no V3.2 layer could be loaded.
  const indexer = `${prefix}indexer.`;
  for (const [name, shape] of shapes) {
    if (name.startsWith(indexer) && spec.indexTopK !== undefined) continue;
    if (name.startsWith(prefix) && !want.has(name)) {
      const sparse = name.startsWith(indexer)
        ? "; it is a sparse-attention indexer's weight (DeepSeek-V3.2's, GLM-5's), passed " +
          "over with a config of sparse attention (index_topk, or model_type deepseek_v32 or " +
          "glm_moe_dsa), and this config is dense: a config of another model?"
        : "";
      // an FP8 block scale beside a weight that is not F8_E4M3: say so
      const weight = name.endsWith(".weight_scale_inv") ? name.slice(0, -"_scale_inv".length) : "";
      const fp8 = weight
        ? `; it is an FP8 block scale, read only beside an F8_E4M3 weight, and ${
          weight.slice(prefix.length)
        } is ${
          options.dtypes?.get(weight) ?? (shapes.has(weight) ? "of a dtype not given" : "absent")
        }`
        : "";
      // Another FP8 format's scale (llm-compressor's compressed-tensors, FBGEMM FP8):
      // `weight_scale` per tensor, output channel or block, `input_scale` for activations. It
      // read as "unexpected" beside "weight_scale_inv missing", as if block scales were lost.
      const other = /\.(weight_scale|input_scale)$/.exec(name);
      const nvfp4 = /\.(weight_scale|weight_scale_2|input_scale)$/.test(name) &&
        expected.some((t) => {
          const w = prefix + t.suffix;
          return name.startsWith(w.slice(0, -"weight".length)) &&
            t.shape.length === 2 && options.dtypes?.get(w) === "U8" &&
            isNvfp4(w, options.dtypes, shapes, t.shape);
        });
      // a weight_scale beside a weight_packed is the packed checkpoint's, not an FP8 one's
      const packedScale = name.endsWith(".weight_scale") &&
        shapes.has(`${name.slice(0, -"_scale".length)}_packed`);
      const scheme = nvfp4
        ? `; it is part of ${NVFP4}, which the loader cannot read; ${DEQUANTIZE}`
        : packedScale
        ? `; it is part of ${CT_PACKED}, which the loader cannot read; ${DEQUANTIZE}`
        : other
        ? `; it is the ${other[1]} of another FP8 checkpoint format (llm-compressor's ` +
          "compressed-tensors or FBGEMM FP8), which this loader does not read: it reads " +
          "DeepSeek-V3's block-scaled FP8 (weight_scale_inv beside each F8_E4M3 weight) and " +
          "F32, F16, BF16; dequantize the checkpoint to BF16 first, or give the block-scaled " +
          "release"
        : "";
      const intPart =
        /\.(qweight|qzeros|scales|biases|g_idx)$|\.weight\.(absmax|quant_map|quant_state\..+)$/
            .test(name)
          ? `; it is part of ${INT_QUANTIZED}, which the loader cannot read; ${DEQUANTIZE}`
          : /\.(weight_packed|weight_shape|weight_zero_point|weight_global_scale|input_global_scale)$/
              .test(name)
          ? `; it is part of ${CT_PACKED}, which the loader cannot read; ${DEQUANTIZE}`
          : "";
      // PEFT's adapter_model.safetensors: five "missing" and a pair of unexpected tensors per
      // Linear read like a damaged checkpoint
      const loraPart = /\.lora_(A|B|embedding_A|embedding_B|magnitude_vector)(\.[^.]+)?(\.weight)?$/
          .test(name)
        ? `; it is part of ${LORA_ADAPTER}, not the layer's weights; give the base model's ` +
          "weights, with the adapter merged into them (PEFT's merge_and_unload) to run the " +
          "tuned layer"
        : "";
      issues.push({
        path: name,
        value: [...shape],
        message: `unexpected for ${spec.name} (${spec.qPath} q path); expected only ${
          expected.map((t) => t.suffix).join(", ")
        }${sparse}${fp8}${scheme}${intPart}${loraPart}`,
      });
    }
  }
  return issues;
}

/**
 * Load one layer's weights from a safetensors file, or a sharded checkpoint's shards
 * (`ShardedSafetensors`, weights/sharded.ts), as Float32Array (F32, F16 and
 * BF16 converted; an F8_E4M3 Linear weight dequantized with its `weight_scale_inv` block
 * scales as DeepSeek-V3's `weight_dequant` does, weights/fp8.ts), from the tensors under
 * {@link attentionPrefix}. Every tensor is checked against the spec before any data is
 * read; problems throw one ConfigError listing them all (CLI exit 2). A tensor holding
 * NaN or ±Infinity throws a SafetensorsError naming it and the first index (exit 2).
 *
 * @example
 * ```ts ignore
 * import { presetSpec } from "../adapter/presets.ts";
 * import { SafetensorsFile } from "./safetensors.ts";
 * import { loadLayerWeights } from "./hf_names.ts";
 * const file = await SafetensorsFile.open("layer.safetensors");
 * const w = await loadLayerWeights(file, presetSpec("deepseek-v2-lite"), { layer: 0 });
 * ```
 */
export async function loadLayerWeights(
  file: TensorReader,
  spec: MlaSpec,
  options: LoadLayerWeightsOptions = {},
): Promise<LayerWeights> {
  const prefix = attentionPrefix(file.tensors.keys(), { ...options, source: file.source });
  const shapes = new Map([...file.tensors].map(([n, t]) => [n, t.shape]));
  const dtypes = new Map([...file.tensors].map(([n, t]) => [n, t.dtype]));
  const block = options.fp8BlockSize ?? FP8_BLOCK_SIZE;
  const issues = checkLayerTensors(spec, shapes, prefix, {
    dtypes,
    ...(options.fp8BlockSize ? { fp8BlockSize: options.fp8BlockSize } : {}),
  });
  if (issues.length) {
    // A sharded checkpoint's issues are raised on its index: each found tensor's shard named
    // too (a wrong shape named only the index, leaving the user to look the shard up)
    const located = issues.map((i) => {
      const shard = file.tensors.has(i.path) ? file.fileOf(i.path) : file.source;
      return shard === file.source ? i : { ...i, message: `${i.message} (in ${shard})` };
    });
    throw new ConfigError(file.source, located, `tensors do not match ${spec.name}`);
  }
  const out: Partial<Record<keyof LayerWeights, Float32Array>> = {};
  for (const t of expectedTensors(spec)) {
    const name = prefix + t.suffix;
    let data: Float32Array;
    try {
      if (dtypes.get(name) === "F8_E4M3" && t.shape.length === 2) {
        const scaleName = scaleNameOf(name);
        // an F8_E8M0 scale (a power of two a byte) is read as the f32 it equals exactly
        const scale = dtypes.get(scaleName) === "F8_E8M0"
          ? decodeE8m0(await file.readBytes(scaleName))
          : await file.read(scaleName);
        const badScale = nonFiniteAt(scale, file.tensors.get(scaleName)!.shape);
        if (badScale) {
          throw new SafetensorsError(
            file.fileOf(scaleName),
            `tensor "${scaleName}" holds ${badScale.count} non-finite value` +
              `${badScale.count === 1 ? "" : "s"}, the first ${badScale.value} at ` +
              `[${badScale.index.join(", ")}]; block scales must be finite`,
          );
        }
        data = dequantBlockFp8(await file.readBytes(name), t.shape, scale, block);
      } else {
        data = await file.read(name);
      }
    } catch (e) {
      if (e instanceof SafetensorsError) throw e;
      throw new SafetensorsError(file.fileOf(name), `reading "${name}": ${(e as Error).message}`);
    }
    // A NaN or infinite weight makes the layer's output NaN on the GPU and in the float64
    // reference alike, and a NaN matches a NaN in the parity check: refuse it, not pass it.
    const bad = nonFiniteAt(data, t.shape);
    if (bad) {
      throw new SafetensorsError(
        file.fileOf(name),
        `tensor "${name}" holds ${bad.count} non-finite value${bad.count === 1 ? "" : "s"}, ` +
          `the first ${bad.value} at [${bad.index.join(", ")}]; layer weights must be finite`,
      );
    }
    out[t.field] = data;
  }
  return out as unknown as LayerWeights;
}

/** Where a row-major tensor holds NaN or ±Infinity. */
export interface NonFinite {
  /** How many values are NaN or infinite. */
  readonly count: number;
  /** The first one's multi-index. */
  readonly index: readonly number[];
  /** The first one (NaN, Infinity or -Infinity). */
  readonly value: number;
}

/**
 * The non-finite values of a row-major tensor (NaN, ±Infinity), or null when all are
 * finite. With `beyond`, also the values of magnitude `beyond` or more (those a narrower
 * storage dtype rounds to infinity: `F16_OVERFLOW` of weights/dtypes.ts for f16).
 *
 * @example
 * ```ts
 * import { nonFiniteAt } from "./hf_names.ts";
 * nonFiniteAt(new Float32Array([1, 2, NaN, 4]), [2, 2]); // { count: 1, index: [1, 0], value: NaN }
 * nonFiniteAt(new Float32Array([1, 2]), [2]); // null
 * nonFiniteAt(new Float32Array([1, -7e4]), [2], { beyond: 65520 }); // { count: 1, index: [1], value: -70000 }
 * ```
 */
export function nonFiniteAt(
  data: ArrayLike<number>,
  shape: readonly number[],
  options: { beyond?: number } = {},
): NonFinite | null {
  const beyond = options.beyond ?? Infinity;
  let first = -1;
  let count = 0;
  for (let i = 0; i < data.length; i++) {
    if (!(Math.abs(data[i]) < beyond)) {
      if (first < 0) first = i;
      count++;
    }
  }
  if (first < 0) return null;
  const index: number[] = new Array(shape.length).fill(0);
  let rest = first;
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d] || 1;
    index[d] = rest % n;
    rest = Math.floor(rest / n);
  }
  return { count, index, value: data[first] };
}
