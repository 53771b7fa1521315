/**
 * The safetensors format, read and written without dependencies (the npm
 * `safetensors` package is an unmaintained 0.0.1 placeholder):
 *
 * ```
 * [8 bytes: N, little-endian u64] [N bytes: JSON header] [byte buffer]
 * header = { "<name>": { "dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end] },
 *            "__metadata__": { "<key>": "<string>" } (optional; null reads as absent) }
 * ```
 *
 * Offsets are relative to the byte buffer. Reading is lazy: the header is
 * validated in full before any tensor data is touched, and each tensor is read
 * from its own byte range, so a lying header can never cause an allocation
 * larger than the file (nor a header larger than {@link MAX_HEADER_BYTES}).
 * Checks: file shorter than 8 bytes, a text file (a Git LFS or git-annex pointer, JSON, HTML:
 * named as such), header length beyond the file or the cap,
 * invalid UTF-8/JSON, a header that is not an object, malformed entries, unknown
 * dtypes, shape x dtype size != the offsets' span, offsets beyond the buffer
 * (truncated file), overlapping tensors, bytes no tensor covers (a gap between tensors or
 * trailing bytes), a header starting with a UTF-8 BOM (JSON whitespace may pad it before and
 * after, as the reference reader takes it), a key repeated in any object of the header
 * (JSON.parse would keep the last silently), a tensor name holding a control character or a
 * bidirectional override (messages print names). F32, F16 and BF16 tensors convert to
 * Float32Array on read; other known dtypes are listed but refused on read.
 *
 * @module
 */
import { decodeBf16, decodeF16, encodeBf16, encodeF16 } from "./dtypes.ts";
import { SafetensorsError } from "./errors.ts";
import { scanJson } from "../adapter/json_scan.ts";
import { writeFileAtomic } from "../util/fs.ts";

/** Largest header accepted (the reference Rust implementation's limit). */
export const MAX_HEADER_BYTES = 100_000_000;

/** Dtypes converted to Float32Array on read (and written by {@link encodeSafetensors}). */
export const SUPPORTED_DTYPES = ["F32", "F16", "BF16"] as const;

/** A dtype this module reads and writes. */
export type SupportedDtype = typeof SUPPORTED_DTYPES[number];

/**
 * Element sizes in bytes of every dtype the format knows (others are "unknown"): those of the
 * reference implementation, the OCP microscaling ones included (F8_E8M0 scales; F4 and F6
 * pack values across bytes: 0.5 and 0.75 bytes, a tensor a whole number of bytes), and the
 * "fnuz" FP8 variants (F8_E4M3FNUZ, F8_E5M2FNUZ), which the reference reader (0.8) knows. A file
 * holding them is read; a layer weight of such a dtype is refused by name.
 */
export const DTYPE_BYTES: Readonly<Record<string, number>> = Object.freeze({
  BOOL: 1,
  F4: 0.5,
  F6_E2M3: 0.75,
  F6_E3M2: 0.75,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  F8_E8M0: 1,
  // the "fnuz" FP8 variants (AMD MI300's: no negative zero, NaN 0x80, exponent bias one more)
  F8_E4M3FNUZ: 1,
  F8_E5M2FNUZ: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  C64: 8,
  F64: 8,
  I64: 8,
  U64: 8,
});

/** One tensor's header entry, validated. */
export interface TensorInfo {
  /** Tensor name. */
  readonly name: string;
  /** Dtype as the header spells it. */
  readonly dtype: string;
  /** Shape (row-major). */
  readonly shape: readonly number[];
  /** [begin, end) byte offsets inside the byte buffer. */
  readonly dataOffsets: readonly [number, number];
}

/** A validated header. */
export interface SafetensorsHeader {
  /** Tensors by name, in header order. */
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  /** The optional `__metadata__` string map (null when absent or written as null). */
  readonly metadata: Readonly<Record<string, string>> | null;
}

/** Random access to the bytes of a file or an in-memory buffer. */
export interface ByteSource {
  /** Total bytes. */
  readonly size: number;
  /** Read exactly `length` bytes at `offset` (the caller has checked the range). */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Release the source. */
  close(): void;
}

/** torch's and numpy's names of the format's dtypes (a writer that wrote str(tensor.dtype)). */
const DTYPE_ALIASES: Readonly<Record<string, string>> = {
  BOOL_: "BOOL",
  FLOAT64: "F64",
  DOUBLE: "F64",
  FLOAT32: "F32",
  FLOAT: "F32",
  FLOAT16: "F16",
  HALF: "F16",
  BFLOAT16: "BF16",
  FLOAT8_E4M3FN: "F8_E4M3",
  F8_E4M3FN: "F8_E4M3",
  FLOAT8_E5M2: "F8_E5M2",
  FLOAT8_E8M0FNU: "F8_E8M0",
  FLOAT8_E4M3FNUZ: "F8_E4M3FNUZ",
  FLOAT8_E5M2FNUZ: "F8_E5M2FNUZ",
  INT8: "I8",
  UINT8: "U8",
  INT16: "I16",
  UINT16: "U16",
  INT32: "I32",
  UINT32: "U32",
  INT64: "I64",
  UINT64: "U64",
  COMPLEX64: "C64",
};

/**
 * The format's spelling of a dtype written another way ("bf16", "torch.bfloat16",
 * "float8_e4m3fn"), or null: such a file was refused with the list of dtypes only.
 */
function nearDtype(dtype: string): string | null {
  const key = dtype.trim().toUpperCase().replace(/^(TORCH|NUMPY|NP)\./, "");
  const near = key in DTYPE_BYTES ? key : DTYPE_ALIASES[key];
  return near !== undefined && near !== dtype ? near : null;
}

/**
 * Characters no tensor name holds and none is printed as: C0 and C1 controls, DEL and the
 * bidirectional overrides. Messages print names as they are, so a line break in one forged a
 * line of the terminal's output, an escape sequence recoloured it, an override reordered it.
 */
// deno-lint-ignore no-control-regex
const NAME_FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/**
 * Why `name` (a tensor's, or a shard's in an index) cannot be printed in a message as it is:
 * it holds a control character or a bidirectional override, named with the name escaped
 * (cut at 120 characters); null when it can.
 *
 * @example
 * ```ts
 * import { unprintableName } from "./safetensors.ts";
 * unprintableName("model.layers.0.self_attn.o_proj.weight"); // null
 * unprintableName("o_proj\u0007"); // '"o_proj\\u0007" holds U+0007, a control character (shown ...'
 * ```
 */
export function unprintableName(name: string): string | null {
  const bad = NAME_FORBIDDEN.exec(name);
  if (bad === null) return null;
  const code = bad[0].charCodeAt(0);
  const cut = name.length > 120 ? `${name.slice(0, 120)}...` : name;
  const shown = cut.replace(
    new RegExp(NAME_FORBIDDEN.source, "g"),
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  return `"${shown}" holds U+${code.toString(16).toUpperCase().padStart(4, "0")}, ${
    code >= 0x202a ? "a bidirectional override" : "a control character"
  } (shown escaped), which a message would print to the terminal as it is (a line break ` +
    "forging a line of output, an escape sequence recolouring it)";
}

/**
 * A header value as a message shows it: a missing field said so (it was "found undefined"),
 * a long one (a shape of a million numbers) cut at 120 characters, control characters and
 * bidirectional overrides escaped.
 */
function shown(v: unknown): string {
  if (v === undefined) return "no such field";
  // JSON escapes C0 controls, not DEL, C1 or the bidirectional overrides
  const text = JSON.stringify(v).replace(
    new RegExp(NAME_FORBIDDEN.source, "g"),
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  return text.length > 120 ? `${text.slice(0, 120)}... (${text.length} characters)` : text;
}

/** 2^64 - 1: the reference reader counts a shape's elements in a u64. */
const U64_MAX = 2n ** 64n - 1n;

/**
 * Whether the dimensions of a shape, multiplied left to right in 64 bits as the reference
 * reader does (stopping at a 0), overflow: `[2^40, 2^40, 0]` does, `[0, 2^40, 2^40]` not.
 */
function emptyShapeOverflows(dims: readonly number[]): boolean {
  let running = 1n;
  for (const d of dims) {
    running *= BigInt(d);
    if (running > U64_MAX) return true;
    if (running === 0n) return false;
  }
  return false;
}

const isIndex = (v: unknown): v is number =>
  typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

/**
 * Validate a parsed header object against a byte buffer of `bufferBytes` bytes (starting at
 * byte `dataStart` of the file, for messages; default 0). Throws a {@link SafetensorsError}
 * naming the tensor and field at the first problem, or the byte range no tensor covers (the
 * tensors must tile the buffer exactly: no overlap, gap or trailing bytes).
 *
 * @example
 * ```ts
 * import { parseHeader } from "./safetensors.ts";
 * const h = parseHeader({ x: { dtype: "F32", shape: [2], data_offsets: [0, 8] } }, {
 *   bufferBytes: 8, source: "mem",
 * });
 * h.tensors.get("x")?.shape; // [2]
 * ```
 */
export function parseHeader(
  header: unknown,
  options: { bufferBytes: number; source: string; dataStart?: number },
): SafetensorsHeader {
  const { source, bufferBytes, dataStart = 0 } = options;
  const fail = (detail: string): never => {
    throw new SafetensorsError(source, detail);
  };
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    fail(
      `header must be a JSON object of tensors, found ${
        Array.isArray(header) ? "an array" : typeof header
      }`,
    );
  }
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> | null = null;
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      // null is no metadata, as the reference reader (an optional map) takes it: a writer
      // that serialized an absent map as null wrote a file every other reader opens
      if (entry === null) continue;
      if (typeof entry !== "object" || Array.isArray(entry)) {
        fail(
          `__metadata__ must be an object of string values (or null), found ${
            Array.isArray(entry) ? "an array" : `a ${typeof entry}`
          }`,
        );
      }
      for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof v !== "string") {
          fail(
            `__metadata__.${unprintableName(k) === null ? k : shown(k)} must be a string, ` +
              `found ${shown(v)}`,
          );
        }
      }
      metadata = { ...(entry as Record<string, string>) };
      continue;
    }
    const unprintable = unprintableName(name);
    if (unprintable !== null) fail(`tensor name ${unprintable}; rename the tensor`);
    const where = `tensor "${name}"`;
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      fail(`${where}: entry must be an object {dtype, shape, data_offsets}`);
    }
    const e = entry as Record<string, unknown>;
    const { dtype, shape } = e;
    const offsets = e.data_offsets;
    if (typeof dtype !== "string") {
      fail(`${where}: dtype must be a string, found ${shown(dtype)}`);
    }
    const size = DTYPE_BYTES[dtype as string];
    if (size === undefined) {
      const near = nearDtype(dtype as string);
      fail(
        `${where}: unknown dtype ${shown(dtype)}${
          near ? ` (${near} is the format's spelling of it)` : ""
        }; this reader knows ${Object.keys(DTYPE_BYTES).join(", ")}, and layer weights may be ${
          SUPPORTED_DTYPES.join(", ")
        } or F8_E4M3 with weight_scale_inv block scales`,
      );
    }
    // a whole number past 2^53 - 1 was "must be non-negative integers", which it is
    const huge = (v: unknown, what: string) =>
      Array.isArray(v) && v.every((n) => Number.isInteger(n) && n >= 0) && !v.every(isIndex)
        ? fail(
          `${where}: ${what} ${shown(v)} hold a number of 2^53 or more (digits past ` +
            `2^53 are lost in reading), beyond any file: the byte buffer is ${bufferBytes} ` +
            "bytes; the header is corrupt",
        )
        : undefined;
    huge(shape, "shape");
    huge(offsets, "data_offsets");
    if (!Array.isArray(shape) || !shape.every(isIndex)) {
      fail(
        `${where}: shape must be a list of non-negative integers, found ${shown(shape)}`,
      );
    }
    if (
      !Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isIndex) ||
      offsets[0] > offsets[1]
    ) {
      fail(
        `${where}: data_offsets must be [begin, end] with 0 <= begin <= end, found ${
          shown(offsets)
        }`,
      );
    }
    const dims = shape as number[];
    const [begin, end] = offsets as [number, number];
    const count = dims.reduce((a, b) => a * b, 1);
    // An empty tensor whose dimensions before the 0 multiply past 2^64 - 1 ([2^40, 2^40, 0])
    // read as 0 elements here; the reference reader (the Rust crate, and the Python package
    // over it) multiplies left to right in 64 bits and refuses it as an overflow.
    if (count === 0 && emptyShapeOverflows(dims)) {
      fail(
        `${where}: shape [${dims.join(", ")}] has 0 elements, but its dimensions multiplied ` +
          "in order pass 2^64 - 1 before the 0, which the reference reader (safetensors' " +
          "Rust crate, under its Python package) refuses as an overflow; the header is " +
          "corrupt (an empty tensor's shape is [0], or small dimensions with a 0)",
      );
    }
    const want = count * size;
    if (!Number.isSafeInteger(want) || want !== end - begin) {
      fail(
        `${where}: shape [${dims.join(", ")}] x ${dtype} (${size} bytes) = ${want} bytes, but ` +
          `data_offsets [${begin}, ${end}] span ${end - begin} bytes`,
      );
    }
    if (end > bufferBytes) {
      fail(
        `${where}: data_offsets [${begin}, ${end}] lie outside the byte buffer of ${bufferBytes} ` +
          `bytes (${
            fileOffsets(header as Record<string, unknown>, dataStart, bufferBytes)
              ? `the offsets count from the start of the file: they span file bytes ` +
                `[${dataStart}, ${dataStart + bufferBytes}), the byte buffer after the 8-byte ` +
                `prefix and the header; data_offsets are relative to the byte buffer, so ` +
                `write each less ${dataStart}`
              : "the file is truncated or the offsets are wrong"
          })`,
      );
    }
    tensors.set(name, { name, dtype: dtype as string, shape: dims, dataOffsets: [begin, end] });
  }
  // The tensors must tile the byte buffer exactly, as the reference readers (the Rust crate,
  // Python safetensors) require: no overlap, no gap between tensors, no trailing bytes.
  const byStart = [...tensors.values()].filter((t) => t.dataOffsets[1] > t.dataOffsets[0])
    .sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0]);
  const unused = (begin: number, end: number, where: string): never =>
    fail(
      `bytes [${begin}, ${end}) of the byte buffer (file bytes [${dataStart + begin}, ` +
        `${dataStart + end})) belong to no tensor (${where}); the tensors' data_offsets ` +
        "must cover the byte buffer without gaps or trailing bytes",
    );
  let covered = 0;
  let prev: TensorInfo | null = null;
  for (const cur of byStart) {
    const [begin, end] = cur.dataOffsets;
    if (prev && begin < covered) {
      fail(
        `tensor "${cur.name}" data_offsets [${cur.dataOffsets.join(", ")}] overlap tensor ` +
          `"${prev.name}" [${prev.dataOffsets.join(", ")}]`,
      );
    }
    if (begin > covered) {
      unused(
        covered,
        begin,
        prev ? `between tensor "${prev.name}" and "${cur.name}"` : `before tensor "${cur.name}"`,
      );
    }
    covered = end;
    prev = cur;
  }
  if (covered < bufferBytes) {
    unused(covered, bufferBytes, prev ? `after tensor "${prev.name}"` : "the header has no tensor");
  }
  return { tensors, metadata };
}

/**
 * Whether a header's data_offsets, all together, span exactly the file bytes of the byte
 * buffer (a writer that counted them from the start of the file, not from the buffer: "the
 * file is truncated" sent the user after a download that was whole).
 */
function fileOffsets(
  header: Record<string, unknown>,
  dataStart: number,
  bufferBytes: number,
): boolean {
  if (dataStart <= 0) return false;
  let lo = Infinity;
  let hi = -Infinity;
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const o = (entry as { data_offsets?: unknown } | null)?.data_offsets;
    if (!Array.isArray(o) || o.length !== 2 || !o.every(isIndex)) return false;
    lo = Math.min(lo, o[0]);
    hi = Math.max(hi, o[1]);
  }
  return lo === dataStart && hi === dataStart + bufferBytes;
}

/**
 * The file offset of a position in the header's text: the 8-byte prefix and the UTF-8 bytes
 * before it (a UTF-16 index counts "\u00e9" once, the file twice).
 */
function fileByte(headerText: string, offset: number): number {
  return 8 + new TextEncoder().encode(headerText.slice(0, offset)).length;
}

/** How {@link notSafetensorsFile}'s detail for a JSON file begins. */
export const JSON_TEXT = "is JSON text";

/** Bytes read from the start of a file to tell another format (see {@link notSafetensorsFile}). */
const TEXT_PROBE_BYTES = 256;

/**
 * What a file starting with these bytes is, when it is another format than safetensors (whose
 * first 8 bytes are a little-endian header length, its high bytes zero): a PyTorch checkpoint
 * (a zip archive or a pickle), a GGUF file, gzip, or text (printable ASCII, tabs and line
 * ends: a Git LFS or git-annex pointer, JSON, HTML), with what to do; null otherwise.
 *
 * @example
 * ```ts
 * import { notSafetensorsFile } from "./safetensors.ts";
 * const lfs = new TextEncoder().encode("version https://git-lfs.github.com/spec/v1\n");
 * notSafetensorsFile(lfs)?.startsWith("is a Git LFS pointer"); // true
 * notSafetensorsFile(new Uint8Array([16, 0, 0, 0, 0, 0, 0, 0])); // null
 * ```
 */
export function notSafetensorsFile(head: Uint8Array): string | null {
  if (head.length < 8) return null;
  const magic = (...bytes: number[]) => bytes.every((b, i) => head[i] === b);
  if (magic(0x50, 0x4b, 0x03, 0x04)) {
    return "is a zip archive (a PyTorch .bin/.pt checkpoint, torch.save's format), not a " +
      "safetensors file: convert it (safetensors.torch.save_file) or download the .safetensors";
  }
  // pickle protocol 2 to 5 (torch.save before PyTorch 1.6, pickle.dump)
  if (head[0] === 0x80 && head[1] >= 2 && head[1] <= 5) {
    return "is a Python pickle (an old PyTorch .bin/.pt checkpoint?), not a safetensors file: " +
      "convert it (safetensors.torch.save_file) or download the .safetensors";
  }
  if (magic(0x47, 0x47, 0x55, 0x46)) {
    return "is a GGUF file (llama.cpp's format), not a safetensors file: give the model's " +
      ".safetensors weights";
  }
  if (magic(0x1f, 0x8b)) return "is gzip-compressed: decompress it first (gunzip)";
  const isText = (b: number) => (b >= 0x20 && b < 0x7f) || b === 0x09 || b === 0x0a || b === 0x0d;
  // the probe may end inside a UTF-8 character of a longer text: only ASCII is judged
  if (!head.subarray(0, 8).every(isText)) return null;
  const text = new TextDecoder("utf-8", { fatal: false }).decode(head);
  // the first line, as text: no quotes escaped, a character that is not printable ASCII "?"
  const firstLine = `"${
    text.trimStart().split(/\r?\n/)[0].slice(0, 60).replace(/[^\x20-\x7e]/g, "?")
  }"`;
  const start = text.trimStart();
  if (start.startsWith("version https://git-lfs.github.com/spec/")) {
    return "is a Git LFS pointer file, not the tensors: the repository was cloned without its " +
      "LFS content; fetch it (git lfs pull, or download the file itself)";
  }
  if (/^(\.\.\/)*\.git\/annex\/objects\/|^\/annex\/objects\//.test(start)) {
    return "is a git-annex pointer file, not the tensors: get its content (git annex get)";
  }
  if (start.startsWith("{") || start.startsWith("[")) {
    // (openWeights adds where a sharded checkpoint's index goes: --weights only)
    return `${JSON_TEXT} (it starts ${firstLine}), not a safetensors file`;
  }
  if (start.startsWith("<")) {
    return `is HTML or XML text (it starts ${firstLine}), not a safetensors file (an error ` +
      "page saved in place of a download?)";
  }
  return `is text (it starts ${firstLine}), not a safetensors file, whose first 8 bytes are ` +
    "the header length (a little-endian u64)";
}

/**
 * Why a path that stat() does not find is missing: "no such file", or, for a symlink whose
 * target is gone (a Hugging Face cache's snapshot link to a blob an interrupted download never
 * wrote), the link and its target.
 *
 * @example
 * ```ts
 * import { missingFileDetail } from "./safetensors.ts";
 * await missingFileDetail("/no/such/model.safetensors"); // "no such file"
 * ```
 */
export async function missingFileDetail(path: string): Promise<string> {
  try {
    if ((await Deno.lstat(path)).isSymlink) {
      return `is a symlink to ${await Deno.readLink(path)}, which does not exist (a ` +
        "download that did not finish, or a cache whose blob was removed?)";
    }
  } catch {
    // not there at all
  }
  return "no such file";
}

/**
 * Why a header (the `raw` bytes after the 8-byte prefix) is not UTF-8: where its first bad
 * byte is, and whether the JSON ended before it (a header length that lies long reaches into
 * the tensor data, which is rarely UTF-8) or the bad byte is inside the JSON (a tensor name
 * or metadata value written in another encoding: "header length ... may be wrong" sent the
 * user after a length that was right).
 */
function notUtf8Detail(raw: Uint8Array): string {
  // the shortest invalid prefix (a streaming decode takes a cut-off character, not a bad one)
  const invalid = (k: number) => {
    try {
      new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(raw.subarray(0, k), {
        stream: true,
      });
      return false;
    } catch {
      return true;
    }
  };
  let lo = 0;
  let hi = raw.length; // invalid(hi) holds: the whole header did not decode
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (invalid(mid)) hi = mid;
    else lo = mid;
  }
  // The byte that made the prefix invalid, or the lead byte of the character it cut short
  // (Latin-1 "\u00e9", 0xE9, reads as the start of a 3-byte character): where a complete
  // decode of the bytes before it succeeds.
  const complete = (k: number) => {
    try {
      new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(raw.subarray(0, k));
      return true;
    } catch {
      return false;
    }
  };
  let bad = hi - 1;
  for (let j = 1; j <= 3 && !complete(bad) && bad - 1 >= 0; j++) bad--;
  const byte = `0x${raw[bad].toString(16).toUpperCase().padStart(2, "0")}`;
  const valid = new TextDecoder("utf-8", { ignoreBOM: true }).decode(raw.subarray(0, bad));
  const p = scanJson(valid);
  if (p !== null && p.message.startsWith("unexpected content after the JSON value")) {
    const end = fileByte(valid, p.offset);
    return `header is not valid UTF-8 (byte ${byte} at byte ${8 + bad} of the file, after ` +
      `the JSON header and its padding end at byte ${end}): header length ${raw.length} is ` +
      `too long (${end - 8}?), it reaches into the tensor data`;
  }
  return `header is not valid UTF-8: byte ${byte} at byte ${8 + bad} of the file is inside ` +
    "the JSON header (a tensor name or __metadata__ text in another encoding?); the header " +
    "must be UTF-8";
}

/**
 * A byte source over a file, read with seeks (never loaded whole).
 *
 * @example
 * ```ts ignore
 * import { fileSource } from "./safetensors.ts";
 * const src = await fileSource("model.safetensors");
 * src.size;
 * src.close();
 * ```
 */
export async function fileSource(path: string): Promise<ByteSource> {
  const file = await Deno.open(path, { read: true });
  const size = (await file.stat()).size;
  return {
    size,
    async read(offset: number, length: number): Promise<Uint8Array> {
      const out = new Uint8Array(length);
      await file.seek(offset, Deno.SeekMode.Start);
      let got = 0;
      while (got < length) {
        const n = await file.read(out.subarray(got));
        if (n === null) {
          throw new SafetensorsError(
            path,
            `file ended after ${offset + got} bytes while reading ${length} bytes at ${offset} ` +
              "(truncated while being read?)",
          );
        }
        got += n;
      }
      return out;
    },
    close: () => file.close(),
  };
}

/**
 * A byte source over an in-memory buffer.
 *
 * @example
 * ```ts
 * import { bytesSource } from "./safetensors.ts";
 * bytesSource(new Uint8Array(16)).size; // 16
 * ```
 */
export function bytesSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read: (offset: number, length: number) => Promise.resolve(bytes.slice(offset, offset + length)),
    close: () => {},
  };
}

/**
 * What the layer loader reads tensors from: one safetensors file ({@link SafetensorsFile}) or
 * the shards of a sharded checkpoint (`ShardedSafetensors`, weights/sharded.ts).
 *
 * @example
 * ```ts
 * import { encodeSafetensors, SafetensorsFile, type TensorReader } from "./safetensors.ts";
 * const r: TensorReader = await SafetensorsFile.fromBytes(
 *   encodeSafetensors({ x: { dtype: "F32", shape: [1], data: [2] } }),
 *   { source: "mem" },
 * );
 * await r.read("x"); // Float32Array [2]
 * ```
 */
export interface TensorReader {
  /** The file (or index) named in messages. */
  readonly source: string;
  /** Tensors by name. */
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  /** The file a tensor is read from (messages name it). */
  fileOf(name: string): string;
  /** A tensor's raw bytes. */
  readBytes(name: string): Promise<Uint8Array>;
  /** A tensor converted to Float32Array (F32, F16, BF16). */
  read(name: string): Promise<Float32Array>;
  /** Release the file(s). */
  close(): void;
}

/**
 * A safetensors file opened for lazy reading: the header is validated on open,
 * tensors are read (and converted to Float32Array) one at a time.
 *
 * @example
 * ```ts
 * import { encodeSafetensors, SafetensorsFile } from "./safetensors.ts";
 * const bytes = encodeSafetensors({ x: { dtype: "BF16", shape: [2], data: [1, -2] } });
 * const f = await SafetensorsFile.fromBytes(bytes, { source: "mem" });
 * await f.read("x"); // Float32Array [1, -2]
 * ```
 */
export class SafetensorsFile implements TensorReader {
  /** File name or label used in messages. */
  readonly source: string;
  /** Tensors by name, in header order. */
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  /** `__metadata__`, or null. */
  readonly metadata: Readonly<Record<string, string>> | null;
  readonly #src: ByteSource;
  readonly #dataStart: number;

  private constructor(
    source: string,
    src: ByteSource,
    header: SafetensorsHeader,
    dataStart: number,
  ) {
    this.source = source;
    this.#src = src;
    this.tensors = header.tensors;
    this.metadata = header.metadata;
    this.#dataStart = dataStart;
  }

  /** Open and validate a file (closed again when the header is bad). */
  static async open(path: string): Promise<SafetensorsFile> {
    let src: ByteSource;
    try {
      // A folder opens on Linux, and its first read fails with an OS error: say what it is.
      const st = await Deno.stat(path);
      if (st.isDirectory) {
        throw new SafetensorsError(path, "is a folder; give a .safetensors file");
      }
      // A FIFO would block the first read forever, a device (/dev/zero) reads as no bytes.
      if (!st.isFile) {
        throw new SafetensorsError(
          path,
          "is not a regular file (a pipe, socket or device); give a .safetensors file",
        );
      }
      src = await fileSource(path);
    } catch (e) {
      if (e instanceof SafetensorsError) throw e;
      if (e instanceof Deno.errors.NotFound) {
        throw new SafetensorsError(path, await missingFileDetail(path));
      }
      throw new SafetensorsError(path, `cannot open: ${(e as Error).message}`);
    }
    try {
      return await SafetensorsFile.fromSource(src, { source: path });
    } catch (e) {
      src.close();
      throw e;
    }
  }

  /** Validate an in-memory file. */
  static fromBytes(bytes: Uint8Array, options: { source: string }): Promise<SafetensorsFile> {
    return SafetensorsFile.fromSource(bytesSource(bytes), options);
  }

  /** Validate the header of any byte source. */
  static async fromSource(src: ByteSource, options: { source: string }): Promise<SafetensorsFile> {
    const source = options.source;
    if (src.size < 8) {
      throw new SafetensorsError(
        source,
        `truncated: the file has ${src.size} bytes, fewer than the 8-byte header length prefix`,
      );
    }
    const prefix = await src.read(0, 8);
    const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
    const room = BigInt(src.size - 8);
    if (n > BigInt(MAX_HEADER_BYTES)) {
      // Another file where a safetensors file was expected (a Git LFS pointer cloned without
      // its content, an index or an error page saved under the name, a PyTorch .bin, a GGUF)
      // reads as a huge header length: "a header size that lies" sent the user after a
      // corrupt download. (Only a length no header has: a truncated safetensors file whose
      // length happens to start 0x80 0x02 is not called a pickle. The prefix first: a file
      // of no other format reads nothing more.)
      if (notSafetensorsFile(prefix) !== null) {
        const head = await src.read(0, Math.min(src.size, TEXT_PROBE_BYTES));
        throw new SafetensorsError(source, notSafetensorsFile(head)!);
      }
    }
    if (n > room) {
      throw new SafetensorsError(
        source,
        `header length ${n} is larger than the ${room} bytes after the 8-byte prefix ` +
          "(truncated file or a header size that lies)",
      );
    }
    if (n > BigInt(MAX_HEADER_BYTES)) {
      throw new SafetensorsError(
        source,
        `header length ${n} exceeds the limit of ${MAX_HEADER_BYTES} bytes`,
      );
    }
    const len = Number(n);
    const raw = await src.read(8, len);
    // TextDecoder drops a byte order mark silently; the format (and the reference readers)
    // start the header with "{".
    if (raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf) {
      throw new SafetensorsError(
        source,
        "header starts with a UTF-8 byte order mark (bytes EF BB BF at byte 8 of the file); " +
          'the header must start with "{" (write it without a BOM)',
      );
    }
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(raw);
    } catch {
      throw new SafetensorsError(source, notUtf8Detail(raw));
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      // JSON.parse's message quotes the header; name the position instead.
      const p = scanJson(text);
      throw new SafetensorsError(
        source,
        `header is not valid JSON (${
          p ? `${p.message} at byte ${fileByte(text, p.offset)} of the file` : "syntax error"
        }); header length ${len} may be wrong`,
      );
    }
    // JSON.parse keeps the last of repeated keys: two entries for one tensor would pass
    // silently with whichever came last.
    const dup = scanJson(text, { duplicateKeys: true });
    if (dup) {
      throw new SafetensorsError(
        source,
        `header is ambiguous: ${dup.message} (byte ${
          fileByte(text, dup.offset)
        } of the file); each ` +
          "tensor name and field may appear once",
      );
    }
    // Shapes and offsets are unsigned integers: the reference reader (serde, usize) refuses
    // 1024.0 or 1.024e3, which JSON.parse reads as 1024 without a word.
    const notInteger = scanJson(text, { integersOnly: true });
    if (notInteger !== null) {
      const token = /^-?[0-9.eE+-]+/.exec(text.slice(notInteger.offset))?.[0] ?? "";
      throw new SafetensorsError(
        source,
        `header number ${token} (byte ${
          fileByte(text, notInteger.offset)
        } of the file) is not a plain ` +
          "integer; shapes and data_offsets are unsigned integers, written without a fraction " +
          'or exponent (e.g. 1024, not "1024.0" or "1.024e3")',
      );
    }
    // Leading JSON whitespace (" {...}") is read, as JSON.parse read it: the format's text
    // says the header must begin with "{", but the reference reader (the Rust crate, and
    // the Python package over it) parses it with serde_json, which skips it, and its own
    // test takes a header padded before the "{" as intended (padding to align the data). A
    // file every other reader opens was refused here.
    const header = parseHeader(json, {
      bufferBytes: src.size - 8 - len,
      source,
      dataStart: 8 + len,
    });
    return new SafetensorsFile(source, src, header, 8 + len);
  }

  /** Whether a tensor is present. */
  has(name: string): boolean {
    return this.tensors.has(name);
  }

  /** The file a tensor is read from: this one. */
  fileOf(_name: string): string {
    return this.source;
  }

  /** A tensor's header entry; throws when absent. */
  info(name: string): TensorInfo {
    const t = this.tensors.get(name);
    if (!t) {
      throw new SafetensorsError(this.source, `no tensor "${name}"`);
    }
    return t;
  }

  /** The raw bytes of a tensor. */
  async readBytes(name: string): Promise<Uint8Array> {
    const t = this.info(name);
    const [begin, end] = t.dataOffsets;
    return await this.#src.read(this.#dataStart + begin, end - begin);
  }

  /**
   * A tensor converted to Float32Array (F32, F16, BF16); other dtypes throw
   * "unsupported dtype X for tensor T; supported: F32, F16, BF16".
   */
  async read(name: string): Promise<Float32Array> {
    const t = this.info(name);
    if (!(SUPPORTED_DTYPES as readonly string[]).includes(t.dtype)) {
      throw new SafetensorsError(
        this.source,
        `unsupported dtype ${t.dtype} for tensor "${name}"; supported: ${
          SUPPORTED_DTYPES.join(", ")
        }`,
      );
    }
    const bytes = await this.readBytes(name);
    // A fresh, aligned copy (readBytes returns an owned buffer starting at 0).
    const buf = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
      ? bytes.buffer as ArrayBuffer
      : bytes.slice().buffer as ArrayBuffer;
    if (t.dtype === "F32") return new Float32Array(buf, 0, bytes.byteLength / 4);
    const bits = new Uint16Array(buf, 0, bytes.byteLength / 2);
    return t.dtype === "F16" ? decodeF16(bits) : decodeBf16(bits);
  }

  /** Close the underlying file. */
  close(): void {
    this.#src.close();
  }
}

/** A tensor to write. */
export interface TensorToWrite {
  /** Stored dtype (values are rounded to it). */
  readonly dtype: SupportedDtype;
  /** Shape; its product must equal `data.length`. */
  readonly shape: readonly number[];
  /** Values, row-major. */
  readonly data: ArrayLike<number>;
}

/**
 * Encode tensors as a safetensors file (header padded with spaces to a multiple
 * of 8 bytes, tensors in the given order, contiguous).
 *
 * @example
 * ```ts
 * import { encodeSafetensors } from "./safetensors.ts";
 * const bytes = encodeSafetensors({ output: { dtype: "F32", shape: [1, 2], data: [1, 2] } }, {
 *   metadata: { format: "pt" },
 * });
 * ```
 */
export function encodeSafetensors(
  tensors: Readonly<Record<string, TensorToWrite>>,
  options: { metadata?: Readonly<Record<string, string>> } = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (options.metadata) header.__metadata__ = options.metadata;
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    if (name === "__metadata__") throw new RangeError("__metadata__ is not a tensor name");
    const unprintable = unprintableName(name);
    if (unprintable !== null) throw new RangeError(`tensor name ${unprintable}`);
    // what the reader (parseHeader) takes: a file it would refuse is not written
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new RangeError(
        `tensor "${name}": shape [${t.shape.join(", ")}] must hold non-negative whole numbers`,
      );
    }
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count === 0 && emptyShapeOverflows(t.shape)) {
      throw new RangeError(
        `tensor "${name}": shape [${
          t.shape.join(", ")
        }] multiplies past 2^64 - 1 before its 0, which readers refuse as an overflow`,
      );
    }
    if (count !== t.data.length) {
      throw new RangeError(
        `tensor "${name}": shape [${
          t.shape.join(", ")
        }] holds ${count} values, data has ${t.data.length}`,
      );
    }
    let bytes: Uint8Array;
    if (t.dtype === "F32") {
      const f = Float32Array.from(t.data);
      bytes = new Uint8Array(f.buffer);
    } else if (t.dtype === "F16" || t.dtype === "BF16") {
      const b = t.dtype === "F16" ? encodeF16(t.data) : encodeBf16(t.data);
      bytes = new Uint8Array(b.buffer);
    } else {
      throw new RangeError(`tensor "${name}": cannot write dtype ${t.dtype}`);
    }
    header[name] = {
      dtype: t.dtype,
      shape: [...t.shape],
      data_offsets: [offset, offset + bytes.length],
    };
    parts.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  const enc = new TextEncoder();
  let headerBytes = enc.encode(json);
  const pad = (8 - (headerBytes.length % 8)) % 8;
  if (pad) {
    json += " ".repeat(pad);
    headerBytes = enc.encode(json);
  }
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Write tensors to `path` atomically: to a temporary file in the same folder,
 * then renamed over `path`, so a failure never leaves a partial file there.
 *
 * @example
 * ```ts ignore
 * import { writeSafetensorsFile } from "./safetensors.ts";
 * await writeSafetensorsFile("y.safetensors", { output: { dtype: "F32", shape: [2], data: [1, 2] } });
 * ```
 */
export async function writeSafetensorsFile(
  path: string,
  tensors: Readonly<Record<string, TensorToWrite>>,
  options: { metadata?: Readonly<Record<string, string>> } = {},
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, options));
}
