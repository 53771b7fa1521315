/**
 * Weight files that are not what they claim, read as a demanding user would give them: each
 * must be refused with a message naming the file, the tensor and what would be valid (a
 * silent misreading is the worst outcome). Files are tiny and made here, in memory.
 */
import assert from "node:assert/strict";
import { ConfigError } from "../adapter/errors.ts";
import { presetSpec } from "../adapter/presets.ts";
import { blockScaleShape, dequantBlockFp8 } from "../weights/fp8.ts";
import { expectedTensors, loadLayerWeights } from "../weights/hf_names.ts";
import { encodeSafetensors, SafetensorsFile, type TensorToWrite } from "../weights/safetensors.ts";

/** A layer's tensors under `prefix`, each as `edit` leaves it. */
function layerFile(
  specName: string,
  options: {
    prefix?: string;
    edit?: (name: string, t: TensorToWrite) => Record<string, TensorToWrite>;
  } = {},
): Uint8Array {
  const prefix = options.prefix ?? "model.layers.0.self_attn.";
  const tensors: Record<string, TensorToWrite> = {};
  for (const t of expectedTensors(presetSpec(specName))) {
    const n = prefix + t.suffix;
    const count = t.shape.reduce((a, b) => a * b, 1);
    const data = Float32Array.from({ length: count }, (_, i) => 1 + (i % 5) / 8);
    const tensor: TensorToWrite = { dtype: "F32", shape: t.shape, data };
    Object.assign(tensors, options.edit ? options.edit(n, tensor) : { [n]: tensor });
  }
  return encodeSafetensors(tensors);
}

/** A safetensors file of any dtypes, written byte by byte (encodeSafetensors writes floats). */
function rawTensors(): {
  add(name: string, dtype: string, shape: number[], bytes: Uint8Array): void;
  bytes(): Uint8Array;
} {
  const header: Record<string, unknown> = {};
  const parts: Uint8Array[] = [];
  let off = 0;
  return {
    add(name, dtype, shape, bytes) {
      header[name] = { dtype, shape, data_offsets: [off, off + bytes.length] };
      parts.push(bytes);
      off += bytes.length;
    },
    bytes() {
      const json = new TextEncoder().encode(JSON.stringify(header));
      const out = new Uint8Array(8 + json.length + off);
      new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
      out.set(json, 8);
      let at = 8 + json.length;
      for (const p of parts) {
        out.set(p, at);
        at += p.length;
      }
      return out;
    },
  };
}

async function loadError(bytes: Uint8Array, specName: string): Promise<ConfigError> {
  const file = await SafetensorsFile.fromBytes(bytes, { source: "w.safetensors" });
  try {
    await loadLayerWeights(file, presetSpec(specName));
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("loaded");
}

Deno.test("weights: a transposed Linear weight is named as such, not sent after the config", async () => {
  // kv_b_proj [r, h*(nope+v)] and q_b_proj [q_lora, h*(nope+rope)]: stored [in, out]
  for (
    const [spec, suffix, want] of [["tiny", "kv_b_proj", [128, 32]], ["tiny-yarn", "q_b_proj", [
      96,
      24,
    ]]] as const
  ) {
    const e = await loadError(
      layerFile(spec, {
        edit: (n, t) => ({
          [n]: n.endsWith(`${suffix}.weight`) ? { ...t, shape: [t.shape[1], t.shape[0]] } : t,
        }),
      }),
      spec,
    );
    assert.equal(e.issues.length, 1);
    assert.match(
      e.message,
      new RegExp(
        `^w\\.safetensors: .*\\n  model\\.layers\\.0\\.self_attn\\.${suffix}\\.weight: .*wrong shape: ` +
          `expected \\[${want[0]}, ${want[1]}\\], found \\[${want[1]}, ${
            want[0]
          }\\]; found is the ` +
          "transpose of the expected shape: the weight is stored \\[in, out\\] .*torch's \\[out, in\\]",
      ),
    );
  }
  // a shape merely wrong keeps the config's explanation
  const e = await loadError(
    layerFile("tiny", {
      edit: (n, t) => ({ [n]: n.endsWith("kv_b_proj.weight") ? { ...t, shape: [64, 64] } : t }),
    }),
    "tiny",
  );
  assert.match(e.message, /found \[64, 64\]; in the config, dim 0 is/);
});

Deno.test("weights: a layer or attention module number with a leading zero is named, not read as another", async () => {
  // layers.00.* alone read as layers.0.*, each tensor "missing"; beside layers.0.* the
  // message was "the file holds the attention of layers 0, 0"
  const zeros = layerFile("tiny", { prefix: "model.layers.00.self_attn." });
  const both = layerFile("tiny", {
    edit: (n, t) => ({ [n]: t, [n.replace("layers.0.", "layers.00.")]: t }),
  });
  for (const bytes of [zeros, both]) {
    const e = await loadError(bytes, "tiny");
    assert.match(
      e.message,
      /^w\.safetensors: layer number with a leading zero\n {2}\(tensors\): "model\.layers\.00\.self_attn\.q_proj\.weight" numbers its layer with a leading zero: .*layers 0, 1, 2, .*rename the tensors/,
    );
  }
  // an attention module's number (LongCat-Flash's self_attn.0.*) with a leading zero: was
  // read as module 0
  const modules = layerFile("tiny", {
    edit: (n, t) => ({
      [n.replace("self_attn.", "self_attn.0.")]: t,
      [n.replace("self_attn.", "self_attn.00.")]: t,
    }),
  });
  const file = await SafetensorsFile.fromBytes(modules, { source: "w.safetensors" });
  await assert.rejects(
    () => loadLayerWeights(file, presetSpec("tiny"), { attentionModule: 0 }),
    /^ConfigError: w\.safetensors: attention module number with a leading zero\n {2}\(tensors\): "model\.layers\.0\.self_attn\.00\.q_proj\.weight" numbers its attention module with a leading zero: .*modules 0, 1, 2, .*\(self_attn\.0\.\*\)/,
  );
});

Deno.test("fp8: a weight that is not 2-D or a block that is not two positive integers is refused", () => {
  // were [2, NaN] scales; a block of 1.5 or -1 dequantized with the wrong scales (or NaN)
  const shape = /an FP8 block-scaled weight is 2-D \[out, in\] of whole numbers >= 0, found shape/;
  assert.throws(() => blockScaleShape([130]), shape);
  assert.throws(() => dequantBlockFp8(new Uint8Array(4), [-2, -2], [1], [2, 2]), shape);
  assert.throws(() => dequantBlockFp8(new Uint8Array(8), [2, 2, 2], [1], [2, 2]), shape);
  const block = /an FP8 scale block is two whole numbers >= 1 \[rows, columns\]/;
  for (const b of [[1.5, 2], [-1, -1], [0, 2]] as [number, number][]) {
    assert.throws(() => dequantBlockFp8(new Uint8Array(4), [2, 2], [1, 1, 1, 1], b), block);
  }
  // a ragged last block: ceil, as DeepSeek's weight_dequant grid
  assert.deepEqual(blockScaleShape([129, 3], [128, 2]), [2, 2]);
});

Deno.test("weights: another FP8 format's weight_scale / input_scale is named as such", async () => {
  // compressed-tensors (llm-compressor) FP8: F8_E4M3 weights, a per-tensor weight_scale and
  // input_scale; was "weight_scale_inv missing" beside "weight_scale unexpected"
  const raw = rawTensors();
  const one = new Uint8Array(new Float32Array([0.5]).buffer);
  for (const t of expectedTensors(presetSpec("tiny"))) {
    const n = "model.layers.0.self_attn." + t.suffix;
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (t.shape.length === 2) {
      raw.add(n, "F8_E4M3", [...t.shape], new Uint8Array(count).fill(0x38));
      raw.add(n.replace(/weight$/, "weight_scale"), "F32", [], one);
      raw.add(n.replace(/weight$/, "input_scale"), "F32", [], one);
    } else {
      raw.add(n, "F32", [...t.shape], new Uint8Array(new Float32Array(count).fill(1).buffer));
    }
  }
  const bytes = raw.bytes();
  const e = await loadError(bytes, "tiny");
  assert.match(
    e.message,
    /\n {2}model\.layers\.0\.self_attn\.o_proj\.weight_scale_inv: \(missing\) missing: .*found none \(the file holds o_proj\.weight_scale: another FP8 format's scale, named below\)/,
  );
  for (const s of ["weight_scale", "input_scale"]) {
    assert.match(
      e.message,
      new RegExp(
        `\\n {2}model\\.layers\\.0\\.self_attn\\.o_proj\\.${s}: \\[\\] unexpected for tiny .*; it is the ` +
          `${s} of another FP8 checkpoint format \\(llm-compressor's compressed-tensors or FBGEMM ` +
          "FP8\\), which this loader does not read: .*dequantize the checkpoint to BF16 first",
      ),
    );
  }
});

Deno.test("weights: an integer-quantized checkpoint (MLX, GPTQ) is named, not sent after the config", async () => {
  // MLX 4-bit: U32 weights [out, in/8] beside BF16 scales and biases; the weight read as
  // "wrong shape ... in the config, dim 1 is hidden_size 64"
  const mlx = rawTensors();
  const gptq = rawTensors();
  for (const t of expectedTensors(presetSpec("tiny"))) {
    const n = "model.layers.0.self_attn." + t.suffix;
    if (t.shape.length === 2) {
      const [o, i] = t.shape;
      mlx.add(n, "U32", [o, i / 8], new Uint8Array(o * i / 2));
      mlx.add(n.replace(/weight$/, "scales"), "BF16", [o, i / 32], new Uint8Array(o * i / 16));
      mlx.add(n.replace(/weight$/, "biases"), "BF16", [o, i / 32], new Uint8Array(o * i / 16));
      gptq.add(n.replace(/weight$/, "qweight"), "I32", [i / 8, o], new Uint8Array(o * i / 2));
    } else {
      const ones = new Uint8Array(new Float32Array(t.shape[0]).fill(1).buffer);
      mlx.add(n, "F32", [...t.shape], ones);
      gptq.add(n, "F32", [...t.shape], ones);
    }
  }
  const e = await loadError(mlx.bytes(), "tiny");
  assert.doesNotMatch(e.message, /in the config/);
  assert.match(
    e.message,
    /\n {2}model\.layers\.0\.self_attn\.q_proj\.weight: \[96,8\] is U32, integers where a float weight \[96, 64\] is expected: the \(often packed\) values of an integer-quantized checkpoint \(MLX, GPTQ, AWQ or bitsandbytes\), which the loader cannot read .*; dequantize the checkpoint to BF16 first/,
  );
  assert.match(
    e.message,
    /\n {2}model\.layers\.0\.self_attn\.q_proj\.scales: \[96,2\] unexpected .*; it is part of an integer-quantized checkpoint/,
  );
  // GPTQ/AWQ: q_proj.qweight in place of q_proj.weight
  const g = await loadError(gptq.bytes(), "tiny");
  assert.match(
    g.message,
    /\n {2}model\.layers\.0\.self_attn\.o_proj\.weight: \(missing\) missing: expected shape \[64, 64\], found none \(the file holds o_proj\.qweight: an integer-quantized checkpoint/,
  );
  assert.match(
    g.message,
    /o_proj\.qweight: \[8,64\] unexpected .*; it is part of an integer-quantized/,
  );
  // U8 bytes beside a weight_scale_inv are FP8 stored under an integer dtype, not MLX or GPTQ
  const u8 = rawTensors();
  for (const t of expectedTensors(presetSpec("tiny"))) {
    const n = "model.layers.0.self_attn." + t.suffix;
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (t.shape.length === 2) {
      u8.add(n, "U8", [...t.shape], new Uint8Array(count).fill(0x38));
      u8.add(`${n}_scale_inv`, "F32", [1, 1], new Uint8Array(new Float32Array([0.5]).buffer));
    } else {
      u8.add(n, "F32", [...t.shape], new Uint8Array(new Float32Array(count).fill(1).buffer));
    }
  }
  const f = await loadError(u8.bytes(), "tiny");
  assert.doesNotMatch(f.message, /integer-quantized/);
  assert.match(
    f.message,
    /\n {2}model\.layers\.0\.self_attn\.o_proj\.weight: "U8" is U8 beside a weight_scale_inv block scale: FP8 values stored as U8\? .*header's dtype is F8_E4M3/,
  );
});

Deno.test("safetensors: data_offsets counted from the start of the file are named as such", async () => {
  // a writer that counted from byte 0 of the file: was "the file is truncated or the offsets
  // are wrong", for a file that is whole
  const file = (shift: number) => {
    const header: Record<string, unknown> = {};
    let off = shift;
    for (const [n, size] of [["a", 16], ["b", 8]] as const) {
      header[n] = { dtype: "F32", shape: [size / 4], data_offsets: [off, off + size] };
      off += size;
    }
    // padded to 128 bytes: the header's length does not depend on the offsets
    const json = new TextEncoder().encode(JSON.stringify(header).padEnd(128, " "));
    const out = new Uint8Array(8 + 128 + 24);
    new DataView(out.buffer).setBigUint64(0, 128n, true);
    out.set(json, 8);
    return SafetensorsFile.fromBytes(out, { source: "x.safetensors" });
  };
  assert.equal((await file(0)).tensors.size, 2);
  await assert.rejects(
    () => file(136),
    /^SafetensorsError: x\.safetensors: tensor "a": data_offsets \[136, 152\] lie outside the byte buffer of 24 bytes \(the offsets count from the start of the file: they span file bytes \[136, 160\), .*write each less 136\)$/,
  );
  // other offsets past the buffer keep the plain message
  await assert.rejects(() => file(100), /\(the file is truncated or the offsets are wrong\)$/);
});

Deno.test("safetensors: a dtype spelled another way is named with the format's spelling", async () => {
  const file = (dtype: string) => {
    const raw = rawTensors();
    raw.add("x", dtype, [2], new Uint8Array(4));
    return SafetensorsFile.fromBytes(raw.bytes(), { source: "x.safetensors" });
  };
  for (
    const [dtype, near] of [
      ["bf16", "BF16"],
      ["torch.bfloat16", "BF16"],
      ["float16", "F16"],
      ["F8_E4M3FN", "F8_E4M3"],
    ]
  ) {
    await assert.rejects(
      () => file(dtype),
      new RegExp(
        `^SafetensorsError: x\\.safetensors: tensor "x": unknown dtype "${
          dtype.replace(".", "\\.")
        }" \\(${near} is the format's spelling of it\\); this reader knows BOOL, `,
      ),
    );
  }
  await assert.rejects(() => file("Q4_K"), /unknown dtype "Q4_K"; this reader knows BOOL, /);
});

Deno.test("weights: a LoRA adapter (PEFT's adapter_model.safetensors) is named, not read as a damaged layer", async () => {
  // each Linear "missing" beside an unexpected lora_A / lora_B pair read like a broken file
  const lora = rawTensors();
  const p = "base_model.model.model.layers.0.self_attn.";
  for (const t of expectedTensors(presetSpec("tiny"))) {
    if (t.shape.length !== 2) continue;
    const [o, i] = t.shape;
    const stem = p + t.suffix.replace(/weight$/, "");
    lora.add(`${stem}lora_A.weight`, "F32", [8, i], new Uint8Array(8 * i * 4));
    lora.add(`${stem}lora_B.weight`, "F32", [o, 8], new Uint8Array(o * 8 * 4));
  }
  const e = await loadError(lora.bytes(), "tiny");
  assert.match(
    e.message,
    /\n {2}base_model\.model\.model\.layers\.0\.self_attn\.o_proj\.weight: \(missing\) missing: expected shape \[64, 64\], found none \(the file holds o_proj\.lora_A\.weight: a LoRA adapter \(PEFT's adapter_model\.safetensors\), named below\)/,
  );
  assert.match(
    e.message,
    /\n {2}base_model\.model\.model\.layers\.0\.self_attn\.kv_b_proj\.lora_B\.weight: \[128,8\] unexpected .*; it is part of a LoRA adapter \(PEFT's adapter_model\.safetensors\), not the layer's weights; give the base model's weights, with the adapter merged into them \(PEFT's merge_and_unload\)/,
  );
  // kv_a_layernorm has no adapter: plainly missing
  assert.match(
    e.message,
    /kv_a_layernorm\.weight: \(missing\) missing: expected shape \[32\], found none\n/,
  );
});

Deno.test("weights: an NVFP4 checkpoint (ModelOpt: U8 [out, in/2] beside F8_E4M3 weight_scale) is named as such", async () => {
  // it was "an integer-quantized checkpoint (MLX, GPTQ, AWQ or bitsandbytes)", its scales
  // "another FP8 checkpoint format's"
  const nv = rawTensors();
  for (const t of expectedTensors(presetSpec("tiny"))) {
    const n = "model.layers.0.self_attn." + t.suffix;
    if (t.shape.length === 2) {
      const [o, i] = t.shape;
      nv.add(n, "U8", [o, i / 2], new Uint8Array(o * i / 2));
      nv.add(`${n}_scale`, "F8_E4M3", [o, i / 16], new Uint8Array(o * i / 16));
      nv.add(`${n}_scale_2`, "F32", [], new Uint8Array(4));
      nv.add(n.replace(/weight$/, "input_scale"), "F32", [], new Uint8Array(4));
    } else {
      nv.add(n, "F32", [...t.shape], new Uint8Array(t.shape[0] * 4));
    }
  }
  const e = await loadError(nv.bytes(), "tiny");
  assert.doesNotMatch(e.message, /integer-quantized|another FP8 checkpoint format/);
  assert.match(
    e.message,
    /\n {2}model\.layers\.0\.self_attn\.o_proj\.weight: \[64,32\] is U8 beside an F8_E4M3 weight_scale \[64, 4\]: NVFP4 \(NVIDIA ModelOpt's FP4: two E2M1 values a byte, an F8_E4M3 scale per 16 values, a global weight_scale_2\) for a weight \[64, 64\], which the loader cannot read; dequantize the checkpoint to BF16 first/,
  );
  for (const part of ["weight_scale", "weight_scale_2", "input_scale"]) {
    assert.match(
      e.message,
      new RegExp(
        `\\n {2}model\\.layers\\.0\\.self_attn\\.kv_b_proj\\.${part}: .* unexpected .*; it is part of NVFP4 `,
      ),
      part,
    );
  }
});

Deno.test("weights: a compressed-tensors packed checkpoint (weight_packed, weight_shape) is named as such", async () => {
  // each weight was "missing ... found none" beside unexpected weight_packed / weight_shape
  // with no word, and its weight_scale "another FP8 checkpoint format's"
  const ct = rawTensors();
  for (const t of expectedTensors(presetSpec("tiny"))) {
    const n = "model.layers.0.self_attn." + t.suffix;
    if (t.shape.length === 2) {
      const [o, i] = t.shape;
      ct.add(`${n}_packed`, "I32", [o, i / 8], new Uint8Array(o * i / 2));
      ct.add(`${n}_scale`, "BF16", [o, i / 32], new Uint8Array(o * i / 16));
      ct.add(`${n}_shape`, "I64", [2], new Uint8Array(16));
    } else {
      ct.add(n, "F32", [...t.shape], new Uint8Array(t.shape[0] * 4));
    }
  }
  const e = await loadError(ct.bytes(), "tiny");
  assert.doesNotMatch(e.message, /another FP8 checkpoint format/);
  const what = "a compressed-tensors checkpoint of packed weights \\(llm-compressor's INT4 " +
    "pack-quantized or NVFP4: weight_packed, weight_scale, weight_shape\\)";
  assert.match(
    e.message,
    new RegExp(
      `\\n {2}model\\.layers\\.0\\.self_attn\\.o_proj\\.weight: \\(missing\\) missing: expected shape \\[64, 64\\], found none \\(the file holds o_proj\\.weight_packed: ${what}, named below\\)`,
    ),
  );
  for (const part of ["weight_packed", "weight_scale", "weight_shape"]) {
    assert.match(
      e.message,
      new RegExp(
        `\\n {2}model\\.layers\\.0\\.self_attn\\.o_proj\\.${part}: .* unexpected .*; it is part of ${what}, which the loader cannot read; dequantize`,
      ),
      part,
    );
  }
});
