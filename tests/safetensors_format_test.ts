/**
 * The safetensors reader/writer and the F16/BF16 conversions: known bit patterns,
 * round trips, files written by another writer (tests/fixtures/safetensors/
 * make_fixtures.py, Python standard library), and every malformed-file case with
 * its message.
 */
import assert from "node:assert/strict";
import {
  bf16BitsToNumber,
  decodeF16,
  f16BitsToNumber,
  numberToBf16Bits,
  numberToF16Bits,
} from "../weights/dtypes.ts";
import { SafetensorsError } from "../weights/errors.ts";
import {
  type ByteSource,
  bytesSource,
  encodeSafetensors,
  MAX_HEADER_BYTES,
  SafetensorsFile,
  writeSafetensorsFile,
} from "../weights/safetensors.ts";

const FIXTURES = new URL("./fixtures/safetensors/", import.meta.url).pathname;

Deno.test("f16: known bit patterns decode exactly (zeros, subnormals, normals, inf, NaN)", () => {
  const cases: [number, number][] = [
    [0x0000, 0],
    [0x3c00, 1],
    [0xc000, -2],
    [0x3555, 0.333251953125],
    [0x7bff, 65504],
    [0x0400, 2 ** -14], // smallest normal
    [0x0001, 2 ** -24], // smallest subnormal
    [0x03ff, 1023 * 2 ** -24], // largest subnormal
    [0x8001, -(2 ** -24)],
    [0x7c00, Infinity],
    [0xfc00, -Infinity],
  ];
  for (const [bits, value] of cases) assert.equal(f16BitsToNumber(bits), value, bits.toString(16));
  assert.ok(Object.is(f16BitsToNumber(0x8000), -0));
  assert.ok(Number.isNaN(f16BitsToNumber(0x7e00)));
  assert.ok(Number.isNaN(f16BitsToNumber(0xfc01)));
});

Deno.test("f16: every bit pattern agrees with the runtime's Float16Array, both ways", () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const mine = decodeF16(all);
  const theirs = new Float16Array(all.buffer);
  for (let i = 0; i < 65536; i++) {
    const a = mine[i];
    const b = theirs[i];
    if (Number.isNaN(b)) {
      assert.ok(Number.isNaN(a), `0x${i.toString(16)}`);
      continue;
    }
    assert.ok(Object.is(a, b), `0x${i.toString(16)}: ${a} vs ${b}`);
    assert.equal(numberToF16Bits(a), i, `re-encode 0x${i.toString(16)}`);
  }
});

Deno.test("f16: narrowing rounds to nearest even, overflows to inf, keeps NaN and -0", () => {
  assert.equal(numberToF16Bits(1 + 2 ** -11), 0x3c00); // tie -> even (down)
  assert.equal(numberToF16Bits(1 + 3 * 2 ** -11), 0x3c02); // tie -> even (up)
  assert.equal(numberToF16Bits(1 + 2 ** -11 + 2 ** -20), 0x3c01); // above the tie
  assert.equal(numberToF16Bits(65504), 0x7bff);
  assert.equal(numberToF16Bits(65519.99), 0x7bff);
  assert.equal(numberToF16Bits(65520), 0x7c00); // the tie to 2^16 rounds to inf
  assert.equal(numberToF16Bits(-1e9), 0xfc00);
  assert.equal(numberToF16Bits(2 ** -25), 0x0000); // half the smallest subnormal: tie -> 0
  assert.equal(numberToF16Bits(3 * 2 ** -25), 0x0002); // 1.5 ulp: tie -> even 2
  assert.equal(numberToF16Bits(2 ** -14 - 2 ** -26), 0x0400); // rounds up into the normals
  assert.equal(numberToF16Bits(-0), 0x8000);
  assert.equal(numberToF16Bits(NaN), 0x7e00);
  assert.equal(numberToF16Bits(-Infinity), 0xfc00);
});

Deno.test("bf16: known bit patterns, round to nearest even, NaN stays NaN", () => {
  assert.equal(bf16BitsToNumber(0x3f80), 1);
  assert.equal(bf16BitsToNumber(0xc040), -3);
  assert.equal(bf16BitsToNumber(0x7f7f), 3.3895313892515355e38); // largest finite
  assert.equal(bf16BitsToNumber(0x0001), 2 ** -133); // smallest subnormal
  assert.equal(bf16BitsToNumber(0x7f80), Infinity);
  assert.equal(bf16BitsToNumber(0xff80), -Infinity);
  assert.ok(Object.is(bf16BitsToNumber(0x8000), -0));
  assert.ok(Number.isNaN(bf16BitsToNumber(0x7fc0)));
  assert.equal(numberToBf16Bits(1), 0x3f80);
  assert.equal(numberToBf16Bits(1 + 2 ** -8), 0x3f80); // tie -> even (down)
  assert.equal(numberToBf16Bits(1 + 3 * 2 ** -8), 0x3f82); // tie -> even (up)
  assert.equal(numberToBf16Bits(1 + 2 ** -8 + 2 ** -12), 0x3f81);
  assert.equal(numberToBf16Bits(3.4e38), 0x7f80); // rounds past the largest finite
  assert.equal(numberToBf16Bits(-Infinity), 0xff80);
  assert.equal(numberToBf16Bits(NaN), 0x7fc0);
  assert.equal(numberToBf16Bits(2 ** -133), 0x0001);
});

Deno.test("safetensors: write then read round-trips F32, F16, BF16 and metadata", async () => {
  const data = [1, -2.5, 0.1, 65504, 1e-7, -0];
  const bytes = encodeSafetensors({
    a: { dtype: "F32", shape: [2, 3], data },
    b: { dtype: "F16", shape: [6], data },
    c: { dtype: "BF16", shape: [3, 2], data },
    empty: { dtype: "F32", shape: [0, 4], data: [] },
  }, { metadata: { format: "pt" } });
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal(n % 8, 0, "header padded to 8 bytes");
  const f = await SafetensorsFile.fromBytes(bytes, { source: "mem" });
  assert.deepEqual(f.metadata, { format: "pt" });
  assert.deepEqual([...f.tensors.keys()], ["a", "b", "c", "empty"]);
  assert.deepEqual(f.info("c").shape, [3, 2]);
  assert.deepEqual([...await f.read("a")], [...Float32Array.from(data)]);
  assert.deepEqual([...await f.read("b")], data.map((v) => f16BitsToNumber(numberToF16Bits(v))));
  assert.deepEqual(
    [...await f.read("c")],
    data.map((v) => bf16BitsToNumber(numberToBf16Bits(v))),
  );
  assert.equal((await f.read("empty")).length, 0);
  await assert.rejects(() => f.read("nope"), /mem: no tensor "nope"/);
});

Deno.test("safetensors: reads files written by make_fixtures.py (Python) lazily", async () => {
  const thd = await SafetensorsFile.open(`${FIXTURES}tiny_input_thd.safetensors`);
  try {
    const t = thd.info("hidden_states");
    assert.equal(t.dtype, "BF16");
    assert.deepEqual(t.shape, [12, 64]);
    const x = await thd.read("hidden_states");
    // The Python reader (make_fixtures.py --check) prints these first values.
    assert.deepEqual([...x.subarray(0, 3)], [0.53125, -0.142578125, 3.59375]);
  } finally {
    thd.close();
  }
  const bare = await SafetensorsFile.open(`${FIXTURES}tiny_yarn_bare.safetensors`);
  try {
    assert.equal(bare.metadata, null);
    assert.equal(bare.info("self_attn.q_a_layernorm.weight").dtype, "F16");
    const w = await bare.read("self_attn.q_a_layernorm.weight");
    assert.equal(w.length, 24);
    assert.ok(w.every((v) => Math.abs(v - 1) < 0.5));
  } finally {
    bare.close();
  }
});

Deno.test("safetensors: a file this writer wrote is read by the Python reader", async () => {
  const py = await new Deno.Command("python3", { args: ["--version"] }).output().catch(() => null);
  if (!py?.success) {
    // python3 is optional here; the fixtures above cover the other direction
    console.warn("python3 not found: skipping the Python-reader check");
    return;
  }
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/w.safetensors`;
    await writeSafetensorsFile(path, {
      output: { dtype: "F32", shape: [2, 2], data: [1, 2, 3, 4.5] },
      lse: { dtype: "BF16", shape: [3], data: [1, -2, 0.5] },
      h: { dtype: "F16", shape: [1], data: [0.25] },
    }, { metadata: { k: "v" } });
    const out = await new Deno.Command("python3", {
      args: [`${FIXTURES}make_fixtures.py`, "--check", path],
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const summary = JSON.parse(new TextDecoder().decode(out.stdout));
    assert.deepEqual(summary.__metadata__, { k: "v" });
    assert.deepEqual(summary.output, {
      dtype: "F32",
      shape: [2, 2],
      sum: 10.5,
      first: [1, 2, 3],
    });
    assert.equal(summary.lse.sum, -0.5);
    assert.equal(summary.h.sum, 0.25);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["w.safetensors"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A file of `header` (JSON text or raw bytes) with `bufferBytes` bytes after it. */
function rawFile(header: string | Uint8Array, bufferBytes = 0, claimed?: bigint): Uint8Array {
  const h = typeof header === "string" ? new TextEncoder().encode(header) : header;
  const out = new Uint8Array(8 + h.length + bufferBytes);
  new DataView(out.buffer).setBigUint64(0, claimed ?? BigInt(h.length), true);
  out.set(h, 8);
  return out;
}

async function rejectsWith(bytes: Uint8Array, pattern: RegExp): Promise<void> {
  await assert.rejects(
    () => SafetensorsFile.fromBytes(bytes, { source: "bad.safetensors" }),
    (e: unknown) => {
      assert.ok(e instanceof SafetensorsError, String(e));
      assert.match(e.message, /^bad\.safetensors: /);
      assert.match(e.message, pattern);
      return true;
    },
  );
}

Deno.test("malformed: a file shorter than the 8-byte prefix", async () => {
  await rejectsWith(
    new Uint8Array(3),
    /truncated: the file has 3 bytes, fewer than the 8-byte header length prefix/,
  );
});

Deno.test("malformed: a header length larger than the file (a lie) allocates nothing", async () => {
  await rejectsWith(
    rawFile("{}", 0, 2n ** 62n),
    /header length 4611686018427387904 is larger than the 2 bytes after the 8-byte prefix/,
  );
  await rejectsWith(rawFile("{}", 0, 3n), /header length 3 is larger than the 2 bytes/);
});

Deno.test("malformed: a text file (Git LFS pointer, JSON, HTML) or a .bin/GGUF is named as such", async () => {
  // Its first 8 bytes read as a header length of about 2^61: the message was "truncated file
  // or a header size that lies", for a checkout that never fetched its weights.
  const text = (s: string) => new TextEncoder().encode(s);
  const cases: [string, RegExp][] = [
    [
      "version https://git-lfs.github.com/spec/v1\noid sha256:4d7a21\nsize 8589934592\n",
      /is a Git LFS pointer file, not the tensors: .*git lfs pull/,
    ],
    ["../../.git/annex/objects/Xx/Yy/SHA256E-s12--ab/x", /is a git-annex pointer file/],
    [
      '{"metadata": {}, "weight_map": {}}',
      // no word of an index: that is --weights' (openWeights), not every file's
      /is JSON text \(it starts "\{"metadata": \{\}, "weight_map": \{\}\}"\), not a safetensors file$/,
    ],
    [
      "<!DOCTYPE html>\n<html>Entry not found",
      /is HTML or XML text \(it starts "<!DOCTYPE html>"\)/,
    ],
    ["hello, these are not tensors", /is text \(it starts "hello, these are not tensors"\), not a/],
  ];
  for (const [content, pattern] of cases) await rejectsWith(text(content), pattern);
  // other formats by their magic bytes: a PyTorch .bin (zip), an old one (pickle), GGUF, gzip
  const bytes = (...b: number[]) => new Uint8Array([...b, ...new Uint8Array(40)]);
  const binary: [Uint8Array, RegExp][] = [
    [bytes(0x50, 0x4b, 0x03, 0x04, 0x14, 0, 0x08, 0x08), /is a zip archive \(a PyTorch \.bin/],
    [bytes(0x80, 0x02, 0x7d, 0x71, 0x00, 0x28, 0x58, 0x01), /is a Python pickle/],
    [bytes(0x47, 0x47, 0x55, 0x46, 3, 0, 0, 0), /is a GGUF file \(llama\.cpp's format\)/],
    [bytes(0x1f, 0x8b, 0x08, 0, 0x55, 0x66, 0x77, 0x01), /is gzip-compressed/],
  ];
  for (const [b, pattern] of binary) await rejectsWith(b, pattern);
  // a binary prefix claiming too much is still "a header size that lies", and a truncated
  // safetensors file whose (plausible) length starts 0x80 0x02 is no pickle
  await rejectsWith(rawFile("{}", 0, 2n ** 62n + 0x20n), /header size that lies/);
  await rejectsWith(rawFile("{}", 0, 0x0280n), /header length 640 is larger than the 2 bytes/);
});

Deno.test("malformed: a header length that lies long, into F32 data, names the length", async () => {
  // a valid file whose prefix claims 4 more bytes: the header then ends in the tensor's bytes
  const f = encodeSafetensors({ x: { dtype: "F32", shape: [2], data: [-1.5, 2] } });
  const n = new DataView(f.buffer).getBigUint64(0, true);
  new DataView(f.buffer).setBigUint64(0, n + 4n, true);
  await rejectsWith(
    f,
    new RegExp(
      `header is not valid UTF-8 \\(byte 0xC0 at byte ${8n + n + 2n} of the file, after the ` +
        `JSON header and its padding end at byte ${8n + n}\\): header length ${n + 4n} is too ` +
        `long \\(${n}\\?\\), it reaches into the tensor data`,
    ),
  );
});

Deno.test("malformed: a header beyond the 100 MB cap is refused before it is read", async () => {
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(MAX_HEADER_BYTES + 1), true);
  const reads: number[] = [];
  const src: ByteSource = {
    size: 300_000_000,
    read: (offset, length) => {
      reads.push(length);
      return Promise.resolve(offset === 0 ? prefix.slice(0, length) : new Uint8Array(length));
    },
    close: () => {},
  };
  await assert.rejects(
    () => SafetensorsFile.fromSource(src, { source: "huge.safetensors" }),
    /huge\.safetensors: header length 100000001 exceeds the limit of 100000000 bytes/,
  );
  assert.deepEqual(reads, [8], "only the prefix was read");
});

Deno.test("malformed: header that is not JSON, not UTF-8, or not an object", async () => {
  await rejectsWith(rawFile('{"a": {"dtype": "F32",'), /header is not valid JSON \(/);
  await rejectsWith(rawFile(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])), /header is not valid UTF-8/);
  // A name in another encoding (Latin-1 "é") inside a header whose length is right: the bad
  // byte is named, not the length ("header length 41 may be wrong" sent the user after it).
  const latin1 = new TextEncoder().encode(
    '{"caf\u00e9": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}}',
  );
  const at = latin1.indexOf(0xc3);
  const bytes = [...latin1.subarray(0, at), 0xe9, ...latin1.subarray(at + 2)];
  await rejectsWith(
    rawFile(new Uint8Array(bytes)),
    new RegExp(
      `header is not valid UTF-8: byte 0xE9 at byte ${8 + at} of the file is inside the JSON ` +
        "header \\(a tensor name or __metadata__ text in another encoding\\?\\)",
    ),
  );
  await rejectsWith(rawFile("[1, 2]"), /header must be a JSON object of tensors, found an array/);
  await rejectsWith(
    rawFile('{"__metadata__": {"a": 1}}'),
    /__metadata__\.a must be a string, found 1/,
  );
});

Deno.test("__metadata__: null reads as no metadata, as the reference reader takes it", async () => {
  // safetensors' own reader (an optional string map) opens such a file; it was refused
  const x = '"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}';
  const bytes = rawFile(`{"__metadata__": null, ${x}}`, 4);
  new DataView(bytes.buffer).setFloat32(bytes.length - 4, 2.5, true);
  const f = await SafetensorsFile.fromBytes(bytes, { source: "n.safetensors" });
  assert.equal(f.metadata, null);
  assert.deepEqual([...f.tensors.keys()], ["x"]);
  assert.deepEqual([...await f.read("x")], [2.5]);
  // a value of another kind is still refused, naming what it is
  await rejectsWith(
    rawFile('{"__metadata__": "pt"}'),
    /__metadata__ must be an object of string values \(or null\), found a string/,
  );
  await rejectsWith(rawFile('{"__metadata__": []}'), /\(or null\), found an array/);
});

Deno.test("malformed: a tensor name with a control character or a bidi override is refused, escaped", async () => {
  // printed as it was, a name's line break forged a line of output and its escape sequence
  // recoloured the terminal
  const entry = '{"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}';
  const cases: [string, string][] = [
    ["o_proj\\n  parity: PASS", "U\\+000A, a control character"],
    ["o_proj\\u001b[32m", "U\\+001B, a control character"],
    ["o_proj\\u009b", "U\\+009B, a control character"],
    ["o_proj\\u202eb", "U\\+202E, a bidirectional override"],
  ];
  for (const [name, what] of cases) {
    await assert.rejects(
      () => SafetensorsFile.fromBytes(rawFile(`{"${name}": ${entry}}`), { source: "bad" }),
      (e: unknown) => {
        assert.ok(e instanceof SafetensorsError, String(e));
        assert.match(
          e.message,
          new RegExp(
            `^bad: tensor name "o_proj\\\\u[0-9a-f]{4}.*" holds ${what} \\(shown escaped\\).*; rename the tensor$`,
          ),
        );
        // nothing below U+0020, no DEL or C1 control, no override reaches the message
        // deno-lint-ignore no-control-regex
        assert.doesNotMatch(e.message, /[\u0000-\u001f\u007f-\u009f\u202a-\u202e]/);
        return true;
      },
      name,
    );
  }
  // any printable name, non-ASCII included, is read
  const f = await SafetensorsFile.fromBytes(rawFile(`{"权重.é 1": ${entry}}`), { source: "ok" });
  assert.deepEqual([...f.tensors.keys()], ["权重.é 1"]);
});

Deno.test("malformed: a header that is not JSON names the byte, never quotes the header", async () => {
  await rejectsWith(
    rawFile("root:x:0:0:root:/root:/bin/bash"),
    /header is not valid JSON \(expected a value .* at byte 8 of the file\)/,
  );
  await assert.rejects(
    () => SafetensorsFile.fromBytes(rawFile('{"secret-token-xyz": 1'), { source: "s" }),
    (e: unknown) => e instanceof SafetensorsError && !e.message.includes("secret-token-xyz"),
  );
  // After a name of 2-byte characters the byte is the file's, not the text's index (it was
  // 4 short after "\u00e9\u00e9\u00e9\u00e9"): the syntax error, the non-integer and the
  // repeated key alike
  const name = '"\u00e9\u00e9\u00e9\u00e9"';
  const entry = '{"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}';
  // (bytes: "{" 1, the name 10, ": " 2, the entry 54, "," 1: the "}" is at 8 + 68 = 76)
  await rejectsWith(rawFile(`{${name}: ${entry},}`, 4), /at byte 76 of the file/);
  await rejectsWith(
    rawFile(`{${name}: ${entry.replace("[1]", "[1.0]")}}`, 4),
    /header number 1\.0 \(byte 48 of the file\)/,
  );
  await rejectsWith(
    rawFile(`{${name}: ${entry}, ${name}: ${entry}}`, 4),
    /appears more than once in \(root\) \(byte 77 of the file\)/,
  );
});

Deno.test("malformed: a tensor named twice in the header is refused, naming it", async () => {
  const entry = '{"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}';
  const other = '{"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}';
  // JSON.parse would keep the second entry and the file would read without complaint.
  await rejectsWith(
    rawFile(`{"hidden_states": ${entry}, "hidden_states": ${other}}`, 8),
    /header is ambiguous: key "hidden_states" appears more than once in \(root\)/,
  );
  // a repeated field inside an entry, and a repeated metadata key
  await rejectsWith(
    rawFile('{"w": {"dtype": "F32", "shape": [1], "shape": [2], "data_offsets": [0, 4]}}', 8),
    /key "shape" appears more than once in w/,
  );
  await rejectsWith(
    rawFile('{"__metadata__": {"format": "pt", "format": "np"}}'),
    /key "format" appears more than once in __metadata__/,
  );
  // an escaped spelling of the same name is the same key
  await rejectsWith(
    rawFile(`{"w": ${entry}, "\\u0077": ${other}}`, 8),
    /key "w" appears more than once/,
  );
});

Deno.test("malformed: unknown dtype, and a known dtype this reader does not convert", async () => {
  await rejectsWith(
    rawFile('{"w": {"dtype": "F17", "shape": [1], "data_offsets": [0, 4]}}', 4),
    /tensor "w": unknown dtype "F17"; this reader knows BOOL, .*F8_E4M3.*, and layer weights may be F32, F16, BF16 or F8_E4M3 with weight_scale_inv block scales/,
  );
  const f = await SafetensorsFile.fromBytes(
    rawFile('{"ids": {"dtype": "I64", "shape": [2], "data_offsets": [0, 16]}}', 16),
    { source: "i64.safetensors" },
  );
  await assert.rejects(
    () => f.read("ids"),
    /i64\.safetensors: unsupported dtype I64 for tensor "ids"; supported: F32, F16, BF16/,
  );
});

Deno.test("dtypes of the reference reader: F8_E8M0, F4, F6, C64, fnuz FP8 tensors beside the layer read", async () => {
  // A checkpoint whose experts are MXFP4 (F4 or packed values, F8_E8M0 scales) and whose
  // attention is BF16: the whole file was refused for "unknown dtype F8_E8M0", though the
  // layer never reads those tensors. Their sizes are checked as the reference reader does.
  const header = JSON.stringify({
    "experts.w": { dtype: "F4", shape: [2, 4], data_offsets: [0, 4] },
    "experts.s": { dtype: "F8_E8M0", shape: [2, 1], data_offsets: [4, 6] },
    "experts.f6": { dtype: "F6_E2M3", shape: [4], data_offsets: [6, 9] },
    "c": { dtype: "C64", shape: [1], data_offsets: [9, 17] },
    "attn": { dtype: "BF16", shape: [1], data_offsets: [17, 19] },
  });
  const bytes = rawFile(header, 19);
  bytes.set([0x80, 0x3f], bytes.length - 2); // attn = 1 (BF16 0x3f80)
  const f = await SafetensorsFile.fromBytes(bytes, { source: "mx.safetensors" });
  assert.deepEqual([...await f.read("attn")], [1]);
  await assert.rejects(
    () => f.read("experts.s"),
    /unsupported dtype F8_E8M0 for tensor "experts\.s"/,
  );
  // the fnuz FP8 variants (AMD's), which the reference reader knows: the whole file was
  // refused for "unknown dtype F8_E4M3FNUZ"
  const fnuz = rawFile(
    JSON.stringify({
      "e4.w": { dtype: "F8_E4M3FNUZ", shape: [2], data_offsets: [0, 2] },
      "e5.w": { dtype: "F8_E5M2FNUZ", shape: [2], data_offsets: [2, 4] },
      "attn": { dtype: "BF16", shape: [1], data_offsets: [4, 6] },
    }),
    6,
  );
  fnuz.set([0x80, 0x3f], fnuz.length - 2);
  const g = await SafetensorsFile.fromBytes(fnuz, { source: "fnuz.safetensors" });
  assert.deepEqual([...await g.read("attn")], [1]);
  await assert.rejects(() => g.read("e4.w"), /unsupported dtype F8_E4M3FNUZ for tensor "e4\.w"/);
  // torch's spelling is named with the format's
  await rejectsWith(
    rawFile('{"w": {"dtype": "float8_e4m3fnuz", "shape": [1], "data_offsets": [0, 1]}}', 1),
    /unknown dtype "float8_e4m3fnuz" \(F8_E4M3FNUZ is the format's spelling of it\)/,
  );
  // three F4 values are a byte and a half
  await rejectsWith(
    rawFile('{"w": {"dtype": "F4", "shape": [3], "data_offsets": [0, 2]}}', 2),
    /tensor "w": shape \[3\] x F4 \(0\.5 bytes\) = 1\.5 bytes, but data_offsets \[0, 2\] span 2 bytes/,
  );
});

Deno.test("malformed: shape x dtype size differs from the data_offsets span", async () => {
  await rejectsWith(
    rawFile('{"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 20]}}', 20),
    /tensor "w": shape \[2, 3\] x F32 \(4 bytes\) = 24 bytes, but data_offsets \[0, 20\] span 20 bytes/,
  );
});

Deno.test("malformed: malformed entries name the tensor and field", async () => {
  await rejectsWith(
    rawFile('{"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}', 4),
    /tensor "w": shape must be a list of non-negative integers, found \[-1\]/,
  );
  await rejectsWith(
    rawFile('{"w": {"dtype": "F32", "shape": [1], "data_offsets": [8, 4]}}', 8),
    /tensor "w": data_offsets must be \[begin, end\] with 0 <= begin <= end, found \[8,4\]/,
  );
  await rejectsWith(rawFile('{"w": 5}'), /tensor "w": entry must be an object/);
  // a missing field was "found undefined"; a long value was quoted whole (a shape of 100000
  // numbers made a message of half a megabyte)
  await rejectsWith(
    rawFile('{"w": {"dtype": "F32", "data_offsets": [0, 4]}}', 4),
    /tensor "w": shape must be a list of non-negative integers, found no such field$/,
  );
  await rejectsWith(
    rawFile('{"w": {"shape": [1], "data_offsets": [0, 4]}}', 4),
    /tensor "w": dtype must be a string, found no such field$/,
  );
  const long = `[${new Array(100000).fill(-1).join(",")}]`;
  await assert.rejects(
    () =>
      SafetensorsFile.fromBytes(
        rawFile(`{"w": {"dtype": "F32", "shape": ${long}, "data_offsets": [0, 4]}}`, 4),
        { source: "bad" },
      ),
    (e: unknown) =>
      e instanceof SafetensorsError && e.message.length < 400 &&
      /found \[-1,-1,.*\.\.\. \(300001 characters\)$/.test(e.message),
  );
  // a metadata key's control character is escaped, as a tensor name's
  await rejectsWith(
    rawFile('{"__metadata__": {"a\\u001bb": 1}}'),
    /__metadata__\."a\\u001bb" must be a string, found 1$/,
  );
  // whole numbers of 2^53 or more were "must be non-negative integers" (which they are)
  await rejectsWith(
    rawFile('{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 9007199254740992]}}', 4),
    /tensor "w": data_offsets \[0,9007199254740992\] hold a number of 2\^53 or more .*beyond any file: the byte buffer is 4 bytes; the header is corrupt$/,
  );
  await rejectsWith(
    rawFile('{"w": {"dtype": "F32", "shape": [18446744073709551615], "data_offsets": [0, 4]}}', 4),
    /tensor "w": shape \[18446744073709552000\] hold a number of 2\^53 or more \(digits past 2\^53 are lost in reading\)/,
  );
});

// [2^40, 2^40, 0] read as an empty tensor; the reference reader multiplies the dimensions in
// order in 64 bits and refuses it ("overflow computing buffer size").
Deno.test("malformed: an empty tensor whose dimensions overflow 64 bits before its 0 is refused", async () => {
  const big = 2 ** 40;
  await rejectsWith(
    rawFile(`{"w": {"dtype": "F32", "shape": [${big}, ${big}, 0], "data_offsets": [0, 0]}}`),
    /tensor "w": shape \[1099511627776, 1099511627776, 0\] has 0 elements, but its dimensions multiplied in order pass 2\^64 - 1 before the 0, which the reference reader .* refuses as an overflow/,
  );
  // the 0 first, or dimensions within 64 bits: an empty tensor, as the reference reads it
  for (const shape of [[0, big, big], [2 ** 32, 2 ** 31, 0]]) {
    const f = await SafetensorsFile.fromBytes(
      rawFile(`{"w": {"dtype": "F32", "shape": [${shape}], "data_offsets": [0, 0]}}`),
      { source: "ok" },
    );
    assert.deepEqual(f.tensors.get("w")?.shape, shape);
  }
  // and the writer does not write what its reader refuses
  assert.throws(
    () => encodeSafetensors({ w: { dtype: "F32", shape: [big, big, 0], data: [] } }),
    /tensor "w": shape \[1099511627776, 1099511627776, 0\] multiplies past 2\^64 - 1/,
  );
});

Deno.test("malformed: offsets outside the byte buffer (a truncated file)", async () => {
  const good = encodeSafetensors({ w: { dtype: "F32", shape: [4], data: [1, 2, 3, 4] } });
  await rejectsWith(
    good.slice(0, good.length - 5),
    /tensor "w": data_offsets \[0, 16\] lie outside the byte buffer of 11 bytes \(the file is truncated or the offsets are wrong\)/,
  );
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/cut.safetensors`;
    await Deno.writeFile(path, good.slice(0, good.length - 5));
    await assert.rejects(
      () => SafetensorsFile.open(path),
      /cut\.safetensors: tensor "w": data_offsets/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("malformed: overlapping tensors", async () => {
  await rejectsWith(
    rawFile(
      '{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, ' +
        '"b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}',
      12,
    ),
    /tensor "b" data_offsets \[4, 12\] overlap tensor "a" \[0, 8\]/,
  );
});

Deno.test("malformed: bytes no tensor covers (a gap, trailing bytes) name the byte range", async () => {
  const a = '"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}';
  // trailing bytes after the last tensor
  const trailing = rawFile(`{${a}}`, 12);
  await rejectsWith(
    trailing,
    /bytes \[8, 12\) of the byte buffer \(file bytes \[\d+, \d+\)\) belong to no tensor \(after tensor "a"\)/,
  );
  // a gap between two tensors, and one before the first
  await rejectsWith(
    rawFile(`{${a}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [12, 16]}}`, 16),
    /bytes \[8, 12\) .* belong to no tensor \(between tensor "a" and "b"\)/,
  );
  await rejectsWith(
    rawFile('{"b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}', 8),
    /bytes \[0, 4\) .* belong to no tensor \(before tensor "b"\)/,
  );
  // a header of no tensors with a byte buffer
  await rejectsWith(
    rawFile('{"__metadata__": {}}', 3),
    /bytes \[0, 3\) .*the header has no tensor/,
  );
  // the file bytes are right: 8-byte prefix + header
  const h = `{${a}}`;
  await rejectsWith(
    rawFile(h, 9),
    new RegExp(`file bytes \\[${16 + h.length}, ${17 + h.length}\\)`),
  );
  // exact tiling still reads, empty tensors anywhere included
  const ok = await SafetensorsFile.fromBytes(
    rawFile(`{${a}, "e": {"dtype": "F32", "shape": [0], "data_offsets": [8, 8]}}`, 8),
    { source: "ok" },
  );
  assert.deepEqual([...ok.tensors.keys()], ["a", "e"]);
});

// Leading blanks were refused ("it must start with {"), though the reference reader (Rust,
// under the Python package) parses the header with serde_json, which skips them, and tests
// a header padded before its "{" as intended.
Deno.test("malformed: a header starting with a UTF-8 BOM is refused; JSON whitespace pads it before and after", async () => {
  const h = '{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}';
  const enc = new TextEncoder();
  const bom = new Uint8Array([0xef, 0xbb, 0xbf, ...enc.encode(h)]);
  await rejectsWith(rawFile(bom, 4), /header starts with a UTF-8 byte order mark \(bytes EF BB BF/);
  // trailing space padding (the writer pads to 8 bytes), and leading whitespace, as the
  // reference's own test pads a header ("\t\n{}\r ")
  for (const padded of [`${h}       `, ` ${h}`, `\t\n${h}\r `]) {
    const f = await SafetensorsFile.fromBytes(rawFile(padded, 4), { source: "pad" });
    assert.deepEqual([...f.tensors.keys()], ["a"], JSON.stringify(padded.slice(0, 2)));
  }
});

Deno.test("malformed: a missing file", async () => {
  await assert.rejects(
    () => SafetensorsFile.open("/nonexistent/x.safetensors"),
    /\/nonexistent\/x\.safetensors: no such file/,
  );
});

Deno.test("bytesSource reads ranges", async () => {
  const s = bytesSource(new Uint8Array([1, 2, 3, 4]));
  assert.deepEqual([...await s.read(1, 2)], [2, 3]);
});
