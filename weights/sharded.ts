/**
 * A sharded checkpoint read through its index (`model.safetensors.index.json`, as
 * transformers and DeepSeek/Kimi/MiniCPM releases ship it):
 *
 * ```
 * { "metadata": { "total_size": 123 },
 *   "weight_map": { "model.layers.0.self_attn.q_proj.weight": "model-00001-of-000004.safetensors", ... } }
 * ```
 *
 * Only the shards holding the picked layer's attention tensors are opened (a layer may be split
 * across two shards; under a sparse config, not a shard holding only its indexer's tensors), each one's header validated as a single file's is. The index is checked
 * first: JSON, a `weight_map` object of shard file names (relative to the index's folder, no
 * `..`), no key repeated (JSON.parse would keep the last), and every tensor the index maps under
 * the layer must be in its shard's header, and every tensor under the layer in an opened shard's
 * header must be mapped to that shard (not unmapped, not in a second shard); a tensor its shard
 * lacks is looked for in the index's other shards (their headers only, an unreadable one passed
 * over) to name the one holding it. Each problem is one {@link SafetensorsError} naming the
 * index (or shard) and the tensor.
 *
 * @module
 */
import { dirname, isAbsolute, join } from "node:path";
import { scanJson } from "../adapter/json_scan.ts";
import { SafetensorsError } from "./errors.ts";
import { attentionPrefix, type LoadLayerWeightsOptions } from "./hf_names.ts";
import {
  JSON_TEXT,
  MAX_HEADER_BYTES,
  missingFileDetail,
  SafetensorsFile,
  type TensorInfo,
  type TensorReader,
  unprintableName,
} from "./safetensors.ts";

/** Bytes of a string in UTF-8: a position in the index's text as a byte of the file. */
const utf8Length = (s: string) => new TextEncoder().encode(s).length;

/**
 * Whether a `--weights` path names a sharded checkpoint's index (it ends in `.json`) rather
 * than a `.safetensors` file.
 *
 * @example
 * ```ts
 * import { isShardIndexPath } from "./sharded.ts";
 * isShardIndexPath("ckpt/model.safetensors.index.json"); // true
 * isShardIndexPath("ckpt/model-00001-of-000004.safetensors"); // false
 * ```
 */
export function isShardIndexPath(path: string): boolean {
  return path.toLowerCase().endsWith(".json");
}

/**
 * The `weight_map` of an index's text: tensor name to shard file name. Throws a
 * SafetensorsError naming `source` and the field at the first problem.
 *
 * @example
 * ```ts
 * import { parseShardIndex } from "./sharded.ts";
 * const m = parseShardIndex('{"weight_map": {"a.weight": "model-00001.safetensors"}}', "idx.json");
 * m.get("a.weight"); // "model-00001.safetensors"
 * ```
 */
export function parseShardIndex(text: string, source: string): Map<string, string> {
  const fail = (detail: string): never => {
    throw new SafetensorsError(source, detail);
  };
  // A leading UTF-8 BOM is read past, but it is 3 bytes of the file: a reported byte counts
  // it, so it names the byte an editor or `xxd` shows.
  const bom = text.startsWith("\uFEFF") ? 1 : 0;
  const body = text.slice(bom);
  const byteAt = (offset: number) => utf8Length(text.slice(0, bom + offset));
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    const p = scanJson(body);
    fail(
      `a sharded checkpoint's index must be JSON (${
        p ? `${p.message} at byte ${byteAt(p.offset)}` : "syntax error"
      })`,
    );
  }
  const dup = scanJson(body, { duplicateKeys: true });
  if (dup) {
    fail(
      `index is ambiguous: ${dup.message} (byte ${byteAt(dup.offset)}); ${
        // a key repeated elsewhere (a second weight_map) is no tensor mapped twice
        dup.message.endsWith(" in weight_map")
          ? "each tensor may be mapped once"
          : "each key may appear once (a JSON reader keeps the last, hiding the first)"}`,
    );
  }
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  if (!isObject(json) || !isObject(json.weight_map)) {
    fail(
      'is not a sharded checkpoint\'s index: expected {"weight_map": {"<tensor>": ' +
        '"<shard>.safetensors", ...}} (model.safetensors.index.json), or give a .safetensors file',
    );
  }
  const map = new Map<string, string>();
  for (const [name, shard] of Object.entries((json as { weight_map: object }).weight_map)) {
    const unprintable = unprintableName(name) ??
      (typeof shard === "string" ? unprintableName(shard) : null);
    if (unprintable !== null) {
      fail(
        `weight_map: the ${unprintableName(name) !== null ? "tensor" : "shard"} name ` +
          `${unprintable}; rename it`,
      );
    }
    if (typeof shard !== "string" || shard.trim() === "") {
      fail(`weight_map["${name}"] must be a shard file name, found ${JSON.stringify(shard)}`);
    }
    const file = shard as string;
    if (isAbsolute(file) || file.split(/[\\/]/).includes("..")) {
      // `sub/../a.safetensors` stays inside the folder, but a `..` segment is refused whatever
      // follows it: the message says the rule, not only its purpose.
      fail(
        `weight_map["${name}"] is ${JSON.stringify(file)}: shard files are named relative to ` +
          `the index's folder, inside it (${
            isAbsolute(file) ? "not an absolute path" : 'no ".." segment'
          })`,
      );
    }
    map.set(name, file);
  }
  return map;
}

/** How {@link openWeights} picks the tensors of a sharded checkpoint it opens. */
export interface OpenWeightsOptions extends Omit<LoadLayerWeightsOptions, "source"> {
  /**
   * The config is of sparse attention (`index_topk`: DeepSeek-V3.2's, GLM-5's): the layer's
   * `self_attn.indexer.*` tensors are not read, so a shard only they are mapped to is not
   * opened (nor checked against the index).
   */
  sparse?: boolean;
}

/**
 * The picked layer's attention tensors of a sharded checkpoint, read from the shards its index
 * maps them to. Implements {@link TensorReader}: `tensors` holds the tensors under the layer's
 * prefix (see `attentionPrefix`), `fileOf` names the shard each is read from.
 *
 * @example
 * ```ts ignore
 * import { ShardedSafetensors } from "./sharded.ts";
 * const w = await ShardedSafetensors.open("ckpt/model.safetensors.index.json", { layer: 3 });
 * [...w.tensors.keys()]; // model.layers.3.self_attn.* from one or two shards
 * w.close();
 * ```
 */
export class ShardedSafetensors implements TensorReader {
  /** The index file. */
  readonly source: string;
  /** The layer's tensors, from every shard that holds some. */
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  /**
   * Every shard file the index's weight_map names (paths as opened: the index's folder
   * joined), the picked layer's or not: what an output must never overwrite.
   */
  readonly allShards: readonly string[];
  readonly #shardOf: ReadonlyMap<string, SafetensorsFile>;
  readonly #files: readonly SafetensorsFile[];

  private constructor(
    source: string,
    tensors: ReadonlyMap<string, TensorInfo>,
    shardOf: ReadonlyMap<string, SafetensorsFile>,
    files: readonly SafetensorsFile[],
    allShards: readonly string[],
  ) {
    this.source = source;
    this.tensors = tensors;
    this.#shardOf = shardOf;
    this.#files = files;
    this.allShards = allShards;
  }

  /**
   * Read the index, pick the layer (and attention module) from its tensor names as a single
   * file's are picked, and open the shards holding that layer's attention tensors.
   */
  static async open(
    indexPath: string,
    options: OpenWeightsOptions = {},
  ): Promise<ShardedSafetensors> {
    let size: number;
    try {
      const st = await Deno.stat(indexPath);
      if (st.isDirectory) {
        throw new SafetensorsError(indexPath, "is a folder; give a .safetensors file or an index");
      }
      // A FIFO blocked the index's read forever (a device reads as no bytes, or endless ones)
      if (!st.isFile) {
        throw new SafetensorsError(
          indexPath,
          "is not a regular file (a pipe, socket or device); give a sharded checkpoint's " +
            "index file (model.safetensors.index.json), whose folder holds the shards",
        );
      }
      size = st.size;
    } catch (e) {
      if (e instanceof SafetensorsError) throw e;
      if (e instanceof Deno.errors.NotFound) {
        throw new SafetensorsError(indexPath, await missingFileDetail(indexPath));
      }
      throw new SafetensorsError(indexPath, `cannot open: ${(e as Error).message}`);
    }
    if (size > MAX_HEADER_BYTES) {
      throw new SafetensorsError(
        indexPath,
        `index of ${size} bytes exceeds the limit of ${MAX_HEADER_BYTES} bytes`,
      );
    }
    let text: string;
    try {
      // the BOM kept: parseShardIndex reads past it and counts its bytes in a reported byte
      text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(
        await Deno.readFile(indexPath),
      );
    } catch {
      throw new SafetensorsError(indexPath, "index is not valid UTF-8");
    }
    const map = parseShardIndex(text, indexPath);
    const prefix = attentionPrefix(map.keys(), { ...options, source: indexPath, index: true });
    // A sparse config's indexer tensors are not read (loadLayerWeights passes them over):
    // a shard only they map to was opened, and a download lacking it "cannot be read".
    const unread = (n: string) => options.sparse === true && n.startsWith(`${prefix}indexer.`);
    const names = [...map.keys()].filter((n) => n.startsWith(prefix) && !unread(n));
    const folder = dirname(indexPath);
    // by path: "./a.safetensors" and "a.safetensors" are one shard, opened once
    const opened = new Map<string, { shard: string; file: SafetensorsFile }>();
    const tensors = new Map<string, TensorInfo>();
    const shardOf = new Map<string, SafetensorsFile>();
    try {
      for (const name of names) {
        const shard = map.get(name)!;
        const path = join(folder, shard);
        let file = opened.get(path)?.file;
        if (!file) {
          try {
            file = await SafetensorsFile.open(path);
          } catch (e) {
            // which index sent the reader there, and for which tensor
            if (!(e instanceof SafetensorsError)) throw e;
            throw new SafetensorsError(
              indexPath,
              `weight_map maps tensor "${name}" to ${shard}, which cannot be read: ${e.message}`,
            );
          }
          opened.set(path, { shard, file });
        }
        const info = file.tensors.get(name);
        if (!info) {
          // where it is: "a stale index?" left the user to open every shard's header
          const holder = await shardHolding(name, { map, folder, opened, skip: path });
          throw new SafetensorsError(
            indexPath,
            `weight_map maps tensor "${name}" to ${shard}, whose header has no such tensor` +
              (holder === null
                ? " (a shard of another checkpoint, or a stale index?), and no other shard the " +
                  "index names that could be read holds it"
                : `; ${holder} holds it (a stale index?): map it to ${holder} in weight_map`),
          );
        }
        tensors.set(name, info);
        shardOf.set(name, file);
      }
      // The index and the opened shards' headers must agree on the layer's tensors: a copy
      // in a second shard (which one a loader that reads every shard keeps is not defined)
      // or one the index does not map (a stale index; it read as "missing") is refused.
      for (const [path, { shard, file }] of opened) {
        for (const name of file.tensors.keys()) {
          if (!name.startsWith(prefix) || unread(name)) continue;
          const mapped = map.get(name);
          if (mapped === undefined) {
            throw new SafetensorsError(
              indexPath,
              `${shard} holds tensor "${name}" of the picked layer, and weight_map does not ` +
                "map it (a stale index?): map it to its shard in weight_map, or remove it " +
                "from the shard",
            );
          }
          if (join(folder, mapped) !== path) {
            throw new SafetensorsError(
              indexPath,
              `tensor "${name}" is in two shards: weight_map maps it to ${mapped}, and ` +
                `${shard} holds it too (which copy a loader reading every shard keeps is not ` +
                "defined): remove it from one of them",
            );
          }
        }
      }
    } catch (e) {
      for (const { file } of opened.values()) file.close();
      throw e;
    }
    const all = [...new Set([...map.values()].map((shard) => join(folder, shard)))];
    const files = [...opened.values()].map((o) => o.file);
    return new ShardedSafetensors(indexPath, tensors, shardOf, files, all);
  }

  /** The shard files opened (those holding the layer's tensors). */
  get shards(): string[] {
    return this.#files.map((f) => f.source);
  }

  #file(name: string): SafetensorsFile {
    const f = this.#shardOf.get(name);
    if (!f) {
      throw new SafetensorsError(this.source, `no tensor "${name}" under the picked layer`);
    }
    return f;
  }

  /** The shard a tensor is read from. */
  fileOf(name: string): string {
    return this.#file(name).source;
  }

  /** A tensor's raw bytes, from its shard. */
  readBytes(name: string): Promise<Uint8Array> {
    return this.#file(name).readBytes(name);
  }

  /** A tensor converted to Float32Array, from its shard. */
  read(name: string): Promise<Float32Array> {
    return this.#file(name).read(name);
  }

  /** Close every opened shard. */
  close(): void {
    for (const f of this.#files) f.close();
  }
}

/**
 * The shard (as weight_map names it) whose header holds tensor `name`, looked for in the shards
 * already opened and then in every other shard the index names, each opened for its header
 * and closed again (one that cannot be read is passed over); null when none holds it.
 */
async function shardHolding(
  name: string,
  options: {
    map: ReadonlyMap<string, string>;
    folder: string;
    opened: ReadonlyMap<string, { shard: string; file: SafetensorsFile }>;
    skip: string;
  },
): Promise<string | null> {
  const { map, folder, opened, skip } = options;
  for (const [path, { shard, file }] of opened) {
    if (path !== skip && file.tensors.has(name)) return shard;
  }
  const seen = new Set([skip, ...opened.keys()]);
  for (const shard of new Set(map.values())) {
    const path = join(folder, shard);
    if (seen.has(path)) continue;
    seen.add(path);
    let file: SafetensorsFile;
    try {
      file = await SafetensorsFile.open(path);
    } catch {
      continue;
    }
    const has = file.tensors.has(name);
    file.close();
    if (has) return shard;
  }
  return null;
}

/**
 * Open `--weights`: a sharded checkpoint's index (`*.json`: the shards holding the picked
 * layer) or one `.safetensors` file. A folder is a SafetensorsError naming the index or the
 * one `.safetensors` file in it to give instead.
 *
 * @example
 * ```ts ignore
 * import { openWeights } from "./sharded.ts";
 * const w = await openWeights("ckpt/model.safetensors.index.json", { layer: 0 });
 * w.close();
 * ```
 */
export async function openWeights(
  path: string,
  options: OpenWeightsOptions = {},
): Promise<TensorReader> {
  // A checkpoint's folder (a download's, a clone's) was "is a folder; give a .safetensors
  // file": name the file in it to give, an index or the one .safetensors file.
  const folder = await Deno.stat(path).then((st) => st.isDirectory, () => false);
  if (folder) throw new SafetensorsError(path, await folderHint(path));
  if (isShardIndexPath(path)) return await ShardedSafetensors.open(path, options);
  try {
    return await SafetensorsFile.open(path);
  } catch (e) {
    // a JSON file as --weights: an index under another name (an --input is told no index)
    if (e instanceof SafetensorsError && e.detail.startsWith(JSON_TEXT)) {
      throw new SafetensorsError(
        path,
        `${e.detail}; a sharded checkpoint is given by its index, whose name ends in .json ` +
          "(model.safetensors.index.json)",
      );
    }
    throw e;
  }
}

/** What to give instead of a folder as --weights: the index or .safetensors file in it. */
async function folderHint(path: string): Promise<string> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(path)) {
      if (e.isFile || e.isSymlink) names.push(e.name);
    }
  } catch {
    // unreadable: the plain message
  }
  const indexes = names.filter((n) => n.endsWith(".safetensors.index.json")).sort();
  const files = names.filter((n) => n.endsWith(".safetensors")).sort();
  const pick = indexes.length > 0 ? indexes : files;
  const what = indexes.length > 0 ? "the checkpoint's index" : "the file";
  if (pick.length === 1) {
    return `is a folder; give ${what} in it: --weights ${join(path, pick[0])}`;
  }
  if (pick.length > 1) {
    return `is a folder; give one of the ${pick.length} ${
      indexes.length > 0 ? "indexes" : ".safetensors files"
    } in it (${pick.slice(0, 4).join(", ")}${pick.length > 4 ? ", ..." : ""})`;
  }
  return "is a folder; give a .safetensors file or a sharded checkpoint's index " +
    "(model.safetensors.index.json): the folder holds neither";
}
