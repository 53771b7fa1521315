/**
 * FP8 weights with 128x128 block scales (DeepSeek-V3/R1's and Kimi K2's release): before the
 * fix every `weight_scale_inv` was refused as unexpected ("dequantize the checkpoint to BF16
 * first"), so the released checkpoints could not be read. Now an F8_E4M3 Linear weight is
 * dequantized as DeepSeek's `weight_dequant` does (each value times its block's scale, in f32),
 * the scale's shape is checked against the weight's and the block size
 * (`quantization_config.weight_block_size`), and a missing or mis-shaped scale, a non-finite
 * scale or an e4m3 NaN is exit 2 naming the tensor.
 */
import assert from "node:assert/strict";
import { ConfigError } from "../adapter/errors.ts";
import { presetSpec } from "../adapter/presets.ts";
import { expectedTensors, loadLayerWeights } from "../weights/hf_names.ts";
import {
  blockScaleShape,
  decodeE8m0,
  dequantBlockFp8,
  e4m3BitsToNumber,
  e8m0BitsToNumber,
  fp8BlockSizeOf,
} from "../weights/fp8.ts";
import { encodeSafetensors, SafetensorsFile } from "../weights/safetensors.ts";
import { SafetensorsError } from "../weights/errors.ts";
import { runCli } from "./helpers_cli.ts";

Deno.test("e4m3: known bit patterns (zeros, subnormals, 1, 448, NaN), increasing codes", () => {
  const cases: [number, number][] = [
    [0x00, 0],
    [0x01, 2 ** -9],
    [0x07, 7 * 2 ** -9],
    [0x08, 2 ** -6],
    [0x38, 1],
    [0x39, 1.125],
    [0x40, 2],
    [0x7e, 448],
    [0xb8, -1],
    [0xfe, -448],
  ];
  for (const [bits, value] of cases) assert.equal(e4m3BitsToNumber(bits), value, `0x${bits}`);
  assert.ok(Object.is(e4m3BitsToNumber(0x80), -0));
  assert.ok(Number.isNaN(e4m3BitsToNumber(0x7f)) && Number.isNaN(e4m3BitsToNumber(0xff)));
  for (let b = 1; b < 0x7f; b++) assert.ok(e4m3BitsToNumber(b) > e4m3BitsToNumber(b - 1));
});

Deno.test("dequantBlockFp8: 128x128 blocks, a partial last block, f32 products", () => {
  assert.deepEqual(blockScaleShape([576, 7168]), [5, 56]);
  assert.deepEqual(blockScaleShape([130, 3]), [2, 1]);
  const bytes = new Uint8Array(130 * 3).fill(0x39); // 1.125
  const w = dequantBlockFp8(bytes, [130, 3], new Float32Array([0.1, 3]));
  assert.equal(w[127 * 3 + 2], Math.fround(1.125 * Math.fround(0.1))); // row 127: block 0
  assert.equal(w[128 * 3], 3.375); // row 128: block 1
  assert.throws(() => dequantBlockFp8(bytes, [130, 3], [1]), /needs 390 bytes and 2 block scales/);
});

Deno.test("fp8BlockSizeOf: quantization_config at the top or in text_config; malformed refused", () => {
  assert.deepEqual(
    fp8BlockSizeOf({ text_config: { quantization_config: { weight_block_size: [64, 32] } } }),
    [64, 32],
  );
  assert.equal(fp8BlockSizeOf({ quantization_config: { quant_method: "fp8" } }), undefined);
  assert.throws(
    () => fp8BlockSizeOf({ quantization_config: { weight_block_size: [128, 0] } }),
    /quantization_config\.weight_block_size must be two positive integers/,
  );
});

// ---- a `tiny` layer stored as DeepSeek-V3 stores it: F8_E4M3 Linear weights + F32 scales ----

const SPEC = presetSpec("tiny");
const P = "model.layers.0.self_attn.";
const BLOCK: [number, number] = [32, 16]; // several blocks per tiny weight

interface Raw {
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

function rawFile(tensors: Record<string, Raw>): Uint8Array {
  const header: Record<string, unknown> = {};
  let off = 0;
  for (const [n, t] of Object.entries(tensors)) {
    header[n] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + t.bytes.length] };
    off += t.bytes.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const t of Object.values(tensors)) {
    out.set(t.bytes, at);
    at += t.bytes.length;
  }
  return out;
}

/** The FP8 layer's tensors and, independently computed, the dequantized F32 weights. */
function fp8Layer(block: [number, number]): {
  raw: Record<string, Raw>;
  want: Record<string, Float32Array>;
} {
  const raw: Record<string, Raw> = {};
  const want: Record<string, Float32Array> = {};
  let k = 0;
  for (const t of expectedTensors(SPEC)) {
    const name = P + t.suffix;
    if (t.shape.length === 1) {
      const v = Float32Array.from({ length: t.shape[0] }, (_, i) => 1 + i / 64);
      raw[name] = { dtype: "F32", shape: [...t.shape], bytes: new Uint8Array(v.buffer) };
      want[name] = v;
      continue;
    }
    const [rows, cols] = t.shape;
    const [sr, sc] = [Math.ceil(rows / block[0]), Math.ceil(cols / block[1])];
    const scale = Float32Array.from({ length: sr * sc }, (_, i) => 2 ** -(5 + ((i + k) % 4)));
    // codes 0x30..0x3f and 0xb0..0xbf: +-[0.5, 1.875]
    const q = Uint8Array.from(
      { length: rows * cols },
      (_, i) => ((i * 7 + k) % 16) + 0x30 + (i % 3 === 0 ? 0x80 : 0),
    );
    const d = new Float32Array(rows * cols);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const b = q[r * cols + c];
        const mag = (1 + (b & 7) / 8) * 2 ** (((b >> 3) & 0xf) - 7);
        d[r * cols + c] = (b & 0x80 ? -mag : mag) *
          scale[Math.floor(r / block[0]) * sc + Math.floor(c / block[1])];
      }
    }
    raw[name] = { dtype: "F8_E4M3", shape: [rows, cols], bytes: q };
    raw[`${name}_scale_inv`] = {
      dtype: "F32",
      shape: [sr, sc],
      bytes: new Uint8Array(scale.buffer),
    };
    want[name] = d;
    k++;
  }
  return { raw, want };
}

async function load(raw: Record<string, Raw>, block?: [number, number]) {
  const f = await SafetensorsFile.fromBytes(rawFile(raw), { source: "fp8.safetensors" });
  return loadLayerWeights(f, SPEC, { fp8BlockSize: block });
}

Deno.test("loadLayerWeights: F8_E4M3 weights with block scales dequantize as weight_dequant does", async () => {
  const { raw, want } = fp8Layer(BLOCK);
  const w = await load(raw, BLOCK);
  for (const t of expectedTensors(SPEC)) {
    assert.deepEqual(w[t.field], want[P + t.suffix], t.suffix);
  }
});

Deno.test("loadLayerWeights: F8_E8M0 block scales (powers of two a byte) read as the f32 ones", async () => {
  // weight_scale_inv stored as F8_E8M0 beside F8_E4M3 weights was "a dtype the loader cannot
  // read: ... may be F32, F16, BF16"
  assert.equal(e8m0BitsToNumber(127), 1);
  assert.equal(e8m0BitsToNumber(0), 2 ** -127);
  assert.equal(e8m0BitsToNumber(254), 2 ** 127);
  assert.ok(Number.isNaN(e8m0BitsToNumber(0xff)));
  assert.deepEqual([...decodeE8m0(new Uint8Array([0, 254]))], [2 ** -127, 2 ** 127]);
  const { raw, want } = fp8Layer(BLOCK);
  const e8m0: Record<string, Raw> = {};
  for (const [n, t] of Object.entries(raw)) {
    if (!n.endsWith("_scale_inv")) {
      e8m0[n] = t;
      continue;
    }
    // the fixture's scales are 2^-5 .. 2^-8: exponent byte 127 + e
    const f = new Float32Array(t.bytes.buffer, t.bytes.byteOffset, t.bytes.length / 4);
    e8m0[n] = {
      dtype: "F8_E8M0",
      shape: t.shape,
      bytes: Uint8Array.from(f, (v) => 127 + Math.log2(v)),
    };
  }
  const w = await load(e8m0, BLOCK);
  for (const t of expectedTensors(SPEC)) {
    assert.deepEqual(w[t.field], want[P + t.suffix], t.suffix);
  }
  // 0xFF is E8M0's NaN: named as a non-finite scale
  const o = `${P}o_proj.weight_scale_inv`;
  const nan = e8m0[o].bytes.slice();
  nan[2] = 0xff;
  await assert.rejects(
    () => load({ ...e8m0, [o]: { ...e8m0[o], bytes: nan } }, BLOCK),
    /tensor "model\.layers\.0\.self_attn\.o_proj\.weight_scale_inv" holds 1 non-finite value, the first NaN at \[0, 2\]; block scales must be finite/,
  );
  // another scale dtype is named with the readable ones
  await assert.rejects(
    () => load({ ...e8m0, [o]: { ...e8m0[o], dtype: "I8" } }, BLOCK),
    /o_proj\.weight_scale_inv: "I8" is a dtype the loader cannot read: .* may be F32, F16, BF16 or F8_E8M0 \(powers of two\)/,
  );
});

Deno.test("loadLayerWeights: a missing, mis-shaped or non-finite scale, an e4m3 NaN: named", async () => {
  const { raw } = fp8Layer(BLOCK);
  const o = `${P}o_proj.weight`;
  const errorOf = async (p: Promise<unknown>) => {
    try {
      await p;
    } catch (e) {
      return e as Error;
    }
    return assert.fail("expected an error");
  };
  // the default 128x128 blocks do not fit scales made for 32x16 ones; the message says the
  // blocks are the default (before, it credited them to quantization_config.weight_block_size,
  // which the config did not state)
  const wrong = await errorOf(load(raw));
  assert.ok(wrong instanceof ConfigError);
  assert.match(
    wrong.message,
    /o_proj\.weight_scale_inv: \[2,4\] wrong shape: the block scale of the F8_E4M3 weight o_proj\.weight \(128x128 blocks, the default: the config states no quantization_config\.weight_block_size\), expected \[1, 1\], found \[2, 4\]/,
  );
  // a block the config states that does not fit is named as the config's
  const stated = await errorOf(load(raw, [64, 64]));
  assert.ok(stated instanceof ConfigError);
  assert.match(
    stated.message,
    /o_proj\.weight_scale_inv: \[2,4\] wrong shape: the block scale of the F8_E4M3 weight o_proj\.weight \(64x64 blocks, quantization_config\.weight_block_size\), expected \[1, 1\], found \[2, 4\]/,
  );
  const { [`${o}_scale_inv`]: _, ...noScale } = raw;
  const missing = await errorOf(load(noScale, BLOCK));
  assert.ok(missing instanceof ConfigError);
  assert.match(
    missing.message,
    /o_proj\.weight_scale_inv: \(missing\) missing: the block scale of the F8_E4M3 weight o_proj\.weight .*expected shape \[2, 4\], found none/,
  );
  const nanScale = new Float32Array(8).fill(1);
  nanScale[5] = Infinity;
  const badScale = await errorOf(
    load({
      ...raw,
      [`${o}_scale_inv`]: { dtype: "F32", shape: [2, 4], bytes: new Uint8Array(nanScale.buffer) },
    }, BLOCK),
  );
  assert.ok(badScale instanceof SafetensorsError);
  assert.match(
    badScale.message,
    /tensor "model\.layers\.0\.self_attn\.o_proj\.weight_scale_inv" holds 1 non-finite value, the first Infinity at \[1, 1\]; block scales must be finite/,
  );
  const q = raw[o].bytes.slice();
  q[64 + 3] = 0x7f; // e4m3 NaN at [1, 3]
  const nan = await errorOf(load({ ...raw, [o]: { ...raw[o], bytes: q } }, BLOCK));
  assert.ok(nan instanceof SafetensorsError);
  assert.match(
    nan.message,
    /tensor "model\.layers\.0\.self_attn\.o_proj\.weight" holds 1 non-finite value, the first NaN at \[1, 3\]/,
  );
});

Deno.test("layer --weights <FP8 file>: runs with the config's weight_block_size; a malformed one is exit 2", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla-fp8-" });
  try {
    const { raw } = fp8Layer(BLOCK);
    await Deno.writeFile(`${dir}/w.safetensors`, rawFile(raw));
    const config = (block: unknown) => ({
      hidden_size: SPEC.hiddenSize,
      num_attention_heads: SPEC.numHeads,
      q_lora_rank: null,
      kv_lora_rank: SPEC.kvLoraRank,
      qk_nope_head_dim: SPEC.qkNopeHeadDim,
      qk_rope_head_dim: SPEC.qkRopeHeadDim,
      v_head_dim: SPEC.vHeadDim,
      quantization_config: { quant_method: "fp8", fmt: "e4m3", weight_block_size: block },
    });
    await Deno.writeTextFile(`${dir}/c.json`, JSON.stringify(config(BLOCK)));
    await Deno.writeTextFile(`${dir}/bad.json`, JSON.stringify(config([32])));
    await Deno.writeFile(
      `${dir}/x.safetensors`,
      encodeSafetensors({
        hidden_states: {
          dtype: "F32",
          shape: [1, 4, SPEC.hiddenSize],
          data: Array.from({ length: 4 * SPEC.hiddenSize }, (_, i) => Math.cos(i)),
        },
      }),
    );
    const run = (c: string) =>
      runCli([
        "layer",
        "--config",
        `${dir}/${c}`,
        "--weights",
        `${dir}/w.safetensors`,
        "--input",
        `${dir}/x.safetensors`,
        "--out",
        `${dir}/y_${c}.safetensors`,
      ]);
    const [ok, bad] = await Promise.all([run("c.json"), run("bad.json")]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /F8_E4M3 weights dequantized by 32x16 block scales/);
    assert.match(ok.stdout, /PASS/);
    assert.equal(bad.code, 2, bad.stdout + bad.stderr);
    assert.match(
      bad.stderr,
      /bad\.json: quantization_config\.weight_block_size must be two positive integers \[rows, columns\], found \[32\]/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
