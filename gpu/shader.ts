/**
 * Shader compilation with diagnostics mapped to the .wgsl file and line:col,
 * and a per-device pipeline cache keyed by (source hash, entry point, constants)
 * so a variant compiles once per device.
 *
 * @module
 */
import type { GpuContext } from "./device.ts";
import { GpuScopeError, ShaderCompileError, type ShaderDiagnostic } from "./errors.ts";
import { withErrorScopes } from "./scopes.ts";

/** A shader source and the file it came from (used in diagnostics). */
export interface ShaderSource {
  /** File name shown in diagnostics, e.g. `absorbed.wgsl`. */
  readonly fileName: string;
  /** WGSL text. */
  readonly code: string;
}

/**
 * FNV-1a 64-bit hash of a string, as 16 hex digits (cache keys, not security).
 *
 * @example
 * ```ts
 * import { hashSource } from "./shader.ts";
 * hashSource("abc").length; // 16
 * ```
 */
export function hashSource(text: string): string {
  let h = 0xcbf29ce484222325n;
  const prime = 0x100000001b3n;
  const mask = 0xffffffffffffffffn;
  for (let i = 0; i < text.length; i++) {
    h ^= BigInt(text.charCodeAt(i));
    h = (h * prime) & mask;
  }
  return h.toString(16).padStart(16, "0");
}

/**
 * A marker line of a kernel source with its `// @include`s expanded (kernels/source.ts):
 * the lines below it, up to the next marker, are the part named in group 1, included by
 * the file and line of groups 2 and 3.
 */
export const INCLUDED_MARKER: RegExp = /^\/\/ @included (\S+) from (.+):(\d+)$/;

/**
 * The marker line above the appended text of an included part ({@link INCLUDED_MARKER}).
 *
 * @example
 * ```ts
 * import { includedMarker } from "./shader.ts";
 * includedMarker("w_kv_b_rows.wgsl", "absorb_q.wgsl", 24);
 * // "// @included w_kv_b_rows.wgsl from absorb_q.wgsl:24"
 * ```
 */
export function includedMarker(part: string, from: string, line: number): string {
  return `// @included ${part} from ${from}:${line}`;
}

/**
 * Map `GPUCompilationInfo` messages to diagnostics with the file name, 1-based
 * line and column, and the source line. A line in the appended text of an included part
 * (below an {@link INCLUDED_MARKER} line) is named by the part and its own line, with the
 * include that brought it in (`includedFrom`).
 *
 * @example
 * ```ts
 * import { mapDiagnostics } from "./shader.ts";
 * const d = mapDiagnostics({ fileName: "a.wgsl", code: "let x = y;" }, [
 *   { type: "error", lineNum: 1, linePos: 9, offset: 8, length: 1, message: "unknown identifier" },
 * ]);
 * d[0].line; // 1
 * ```
 */
export function mapDiagnostics(
  source: ShaderSource,
  messages: readonly Pick<
    GPUCompilationMessage,
    "type" | "lineNum" | "linePos" | "offset" | "length" | "message"
  >[],
): ShaderDiagnostic[] {
  const lines = source.code.split("\n");
  // A part is read from its including file's folder: named with that folder, as the file is
  // (it said "part.wgsl:5:10" beside "/elsewhere/main.wgsl:1", not a path to open)
  const folder = source.fileName.slice(0, source.fileName.lastIndexOf("/") + 1);
  const inFolder = (name: string): string => name.includes("/") ? name : folder + name;
  return messages.map((m) => {
    let line = m.lineNum;
    let column = m.linePos;
    // wgpu gives some errors no span (line 1, column 1, offset and length 0) while its message
    // names the place (`┌─ wgsl:3:24`): that place, not the file's first character.
    const named = m.length === 0 && m.offset === 0
      ? /┌─ [^\n]*?:(\d+):(\d+)/.exec(m.message)
      : null;
    if (named) {
      line = Number(named[1]);
      column = Number(named[2]);
    } else if (!(line > 0) && m.offset >= 0) {
      const before = source.code.slice(0, m.offset).split("\n");
      line = before.length;
      column = before[before.length - 1].length + 1;
    }
    // The compiler's message is multi-line (it repeats the source); keep the gist.
    const text = m.message.split("\n").map((s) => s.trim()).filter((s) => s.length > 0);
    const gist = text.find((s) => !s.startsWith("┌") && !s.startsWith("│")) ?? m.message;
    // without a CRLF file's carriage return (it rode into the printed line and logs)
    const sourceLine = (lines[line - 1] ?? "").replace(/\r$/, "");
    // The nearest marker above the line: the included part it belongs to, if any.
    let marker = -1;
    for (let i = Math.min(line, lines.length) - 2; i >= 0 && marker < 0; i--) {
      if (INCLUDED_MARKER.test(lines[i])) marker = i;
    }
    const part = marker >= 0 ? INCLUDED_MARKER.exec(lines[marker]) : null;
    return {
      type: m.type,
      file: part ? inFolder(part[1]) : source.fileName,
      line: part ? line - 1 - marker : line,
      column,
      message: gist.replace(/^Shader '[^']*' (parsing|validation) error: /, "") +
        // naga says `found "\u{feff}"` of a character the printed line does not show
        (sourceLine[column - 1] === "\uFEFF"
          ? " (a byte order mark, U+FEFF, which WGSL compilers reject: save the file without it)"
          : ""),
      sourceLine,
      ...(part ? { includedFrom: `${inFolder(part[2])}:${part[3]}` } : {}),
    };
  }).sort((a, b) => (a.type === "error" ? 0 : 1) - (b.type === "error" ? 0 : 1));
}

/**
 * Compile a WGSL module and throw a {@link ShaderCompileError} (file:line:col,
 * source line, caret) when it has errors.
 *
 * @example
 * ```ts
 * // needs a WebGPU device: run where one is (tests/doc_examples_gpu_test.ts)
 * import { GpuContext } from "./device.ts";
 * import { compileShader } from "./shader.ts";
 * const ctx = await GpuContext.create();
 * const mod = await compileShader(ctx.device, {
 *   fileName: "noop.wgsl", code: "@compute @workgroup_size(1) fn main() {}",
 * });
 * ```
 */
export async function compileShader(
  device: GPUDevice,
  source: ShaderSource,
): Promise<GPUShaderModule> {
  device.pushErrorScope("validation");
  const module = device.createShaderModule({ label: source.fileName, code: source.code });
  const info = await module.getCompilationInfo();
  const scopeError = await device.popErrorScope();
  const diagnostics = mapDiagnostics(source, info.messages);
  const errors = diagnostics.filter((d) => d.type === "error");
  if (errors.length > 0) throw new ShaderCompileError(source.fileName, errors);
  if (scopeError) {
    throw new ShaderCompileError(source.fileName, [{
      type: "error",
      file: source.fileName,
      line: 0,
      column: 0,
      message: scopeError.message,
      sourceLine: "",
    }]);
  }
  return module;
}

/**
 * The names of the functions of `code` marked `@compute`, in order, or null where comments
 * or attributes make that uncertain (a block comment; the source is left to WebGPU then).
 *
 * @example
 * ```ts
 * import { computeEntryPoints } from "./shader.ts";
 * computeEntryPoints("@compute @workgroup_size(64)\nfn main() {}\nfn helper() {}"); // ["main"]
 * ```
 */
export function computeEntryPoints(code: string): string[] | null {
  if (code.includes("/*")) return null;
  const plain = code.replace(/\/\/[^\n]*/g, "");
  const names: string[] = [];
  const marked =
    /@compute\b((?:\s*@\s*\w+\s*(?:\([^()]*(?:\([^()]*\)[^()]*)*\))?)*)\s*fn\s+([A-Za-z_]\w*)/g;
  for (const m of plain.matchAll(marked)) names.push(m[2]);
  return names;
}

/**
 * A pipeline creation's rejection (wgpu's GPUPipelineError "Unable to find entry point
 * 'mian'", which named no file) as an Error naming the file and the entry point, with the
 * file's compute entry points where the one asked for is not among them; another error as
 * it is.
 */
function pipelineErrorNamingFile(e: unknown, source: ShaderSource, entryPoint: string): unknown {
  if (!(e instanceof Error) || e instanceof GpuScopeError) return e;
  const entries = computeEntryPoints(source.code);
  const hint = entries === null || entries.includes(entryPoint)
    ? ""
    : entries.length === 0
    ? " (the file has no function marked @compute)"
    : ` (its compute entry points: ${entries.join(", ")})`;
  const named = new Error(
    `${source.fileName}: no pipeline of entry point "${entryPoint}"${hint}: ${e.message}`,
    { cause: e },
  );
  named.name = e.name;
  return named;
}

/** Options of {@link PipelineCache.get}. */
export interface PipelineOptions {
  /** Entry point name. */
  entryPoint: string;
  /** Pipeline-overridable constants. */
  constants?: Record<string, number>;
}

/**
 * Compute pipelines cached per device by (source hash, entry point, constants).
 * Compilation on lavapipe costs 0.4-3.5 s per pipeline, so every variant should
 * compile once. The cache empties itself when the context re-acquires a device.
 *
 * @example
 * ```ts
 * // needs a WebGPU device: run where one is (tests/doc_examples_gpu_test.ts)
 * import { GpuContext } from "./device.ts";
 * import { PipelineCache } from "./shader.ts";
 * const ctx = await GpuContext.create();
 * const cache = new PipelineCache(ctx);
 * const p = await cache.get({ fileName: "noop.wgsl", code: "@compute @workgroup_size(1) fn main() {}" },
 *   { entryPoint: "main" });
 * ```
 */
export class PipelineCache {
  readonly #ctx: GpuContext;
  #generation: number;
  #pipelines = new Map<string, Promise<GPUComputePipeline>>();
  /** Pipelines compiled so far (cache misses). */
  compiled = 0;
  /** Cache hits so far. */
  hits = 0;

  /** A cache bound to a context's current device. */
  constructor(ctx: GpuContext) {
    this.#ctx = ctx;
    this.#generation = ctx.generation;
  }

  /** Get (or compile) the pipeline of `source` at `options.entryPoint`. */
  get(source: ShaderSource, options: PipelineOptions): Promise<GPUComputePipeline> {
    if (this.#generation !== this.#ctx.generation) {
      this.#pipelines.clear();
      this.#generation = this.#ctx.generation;
    }
    const constants = options.constants ?? {};
    const constKey = Object.keys(constants).sort().map((k) => `${k}=${constants[k]}`).join(",");
    const key = `${hashSource(source.code)}|${options.entryPoint}|${constKey}`;
    const hit = this.#pipelines.get(key);
    if (hit) {
      this.hits++;
      return hit;
    }
    this.compiled++;
    const device = this.#ctx.device;
    const pending = (async () => {
      const module = await compileShader(device, source);
      try {
        return await withErrorScopes(
          device,
          `pipeline ${source.fileName}:${options.entryPoint}`,
          () =>
            device.createComputePipelineAsync({
              label: `${source.fileName}:${options.entryPoint}`,
              layout: "auto",
              compute: { module, entryPoint: options.entryPoint, constants },
            }),
        );
      } catch (e) {
        throw pipelineErrorNamingFile(e, source, options.entryPoint);
      }
    })();
    this.#pipelines.set(key, pending);
    // A failed compile must not poison the cache.
    pending.catch(() => this.#pipelines.delete(key));
    return pending;
  }

  /** Number of cached pipelines. */
  get size(): number {
    return this.#pipelines.size;
  }
}
