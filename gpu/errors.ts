/**
 * Typed errors of the GPU layer: no adapter, shader compilation failures with
 * file:line:col, validation / out-of-memory errors caught by error scopes, and
 * device loss.
 *
 * @module
 */

/** The message every "no adapter" error carries: how to get a software adapter. */
export const NO_ADAPTER_FIX: string =
  "on a machine without a GPU install Mesa lavapipe (apt-get install mesa-vulkan-drivers): " +
  "the harness then picks Vulkan by itself (DENO_WEBGPU_BACKEND=vulkan forces it)";

/**
 * No WebGPU adapter (or device) could be acquired. The CLI maps it to exit code 3.
 *
 * @example
 * ```ts
 * import { NoAdapterError } from "./errors.ts";
 * const e = new NoAdapterError("navigator.gpu.requestAdapter() returned null");
 * e.message.includes("DENO_WEBGPU_BACKEND=vulkan"); // true
 * ```
 */
export class NoAdapterError extends Error {
  /** Exit code the CLI uses for this error. */
  readonly exitCode = 3;
  /**
   * `detail` says what failed; the fix is appended: by default {@link NO_ADAPTER_FIX}
   * (Deno's WebGPU), another runtime passes its own.
   */
  constructor(detail: string, fix: string = NO_ADAPTER_FIX) {
    super(`no WebGPU adapter: ${detail}; ${fix}`);
    this.name = "NoAdapterError";
  }
}

/** One diagnostic of a shader compilation, mapped back to the source file. */
export interface ShaderDiagnostic {
  /** "error", "warning" or "info". */
  readonly type: string;
  /** The source file name (e.g. `absorbed.wgsl`). */
  readonly file: string;
  /** 1-based line. */
  readonly line: number;
  /** 1-based column. */
  readonly column: number;
  /** The compiler's message (first line). */
  readonly message: string;
  /** The source line the diagnostic points at. */
  readonly sourceLine: string;
  /**
   * Where `file` is a part included into the compiled kernel (kernels/source.ts,
   * `// @include`): the include's file and line, e.g. `absorb_q.wgsl:24`.
   */
  readonly includedFrom?: string;
}

/**
 * A WGSL module failed to compile. The message lists every error as
 * `file:line:col: message`, then the source line and a caret.
 *
 * @example
 * ```ts
 * import { ShaderCompileError } from "./errors.ts";
 * const e = new ShaderCompileError("x.wgsl", [{
 *   type: "error", file: "x.wgsl", line: 2, column: 9, message: "unknown identifier",
 *   sourceLine: "let y = z;",
 * }]);
 * e.message.startsWith("x.wgsl:2:9"); // true
 * ```
 */
export class ShaderCompileError extends Error {
  /** The file that failed. */
  readonly file: string;
  /** Every diagnostic (errors first). */
  readonly diagnostics: readonly ShaderDiagnostic[];
  /** Every error diagnostic of `file`. */
  constructor(file: string, diagnostics: readonly ShaderDiagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join("\n"));
    this.name = "ShaderCompileError";
    this.file = file;
    this.diagnostics = diagnostics;
  }
}

/**
 * Render a diagnostic as `file:line:col: type: message`, the source line and a caret;
 * a diagnostic in an included part adds ` (included by kernel.wgsl:LINE)` to the message.
 *
 * @example
 * ```ts
 * import { formatDiagnostic } from "./errors.ts";
 * formatDiagnostic({
 *   type: "error", file: "a.wgsl", line: 1, column: 5, message: "bad", sourceLine: "let x",
 * }).split("\n")[0]; // "a.wgsl:1:5: error: bad"
 * ```
 */
export function formatDiagnostic(d: ShaderDiagnostic): string {
  const gutter = `${d.line} | `;
  const via = d.includedFrom ? ` (included by ${d.includedFrom})` : "";
  // the caret's indent keeps the line's tabs (a tab is one column but displays wider: the
  // caret stood left of the error under a tab-indented line)
  const before = d.sourceLine.slice(0, Math.max(0, d.column - 1)).replace(/[^\t]/g, " ");
  const indent = before.padEnd(Math.max(0, d.column - 1), " ");
  return `${d.file}:${d.line}:${d.column}: ${d.type}: ${d.message}${via}\n` +
    `${gutter}${d.sourceLine}\n${" ".repeat(gutter.length)}${indent}^`;
}

/**
 * A validation or out-of-memory error caught by an error scope around a GPU step.
 *
 * @example
 * ```ts
 * import { GpuScopeError } from "./errors.ts";
 * const e = new GpuScopeError("dispatch rope", "validation", "binding too small");
 * e.message; // "dispatch rope: validation error: binding too small"
 * ```
 */
export class GpuScopeError extends Error {
  /** Which filter caught it. */
  readonly filter: "validation" | "out-of-memory" | "internal";
  /** What ran (`label`), which scope caught it and the runtime's message. */
  constructor(label: string, filter: GpuScopeError["filter"], detail: string) {
    super(`${label}: ${filter} error: ${detail}`);
    this.name = "GpuScopeError";
    this.filter = filter;
  }
}

/**
 * The device was lost (driver reset, destroyed). A context can re-acquire one.
 *
 * @example
 * ```ts
 * import { DeviceLostError } from "./errors.ts";
 * new DeviceLostError("destroyed", "device.destroy() called").name; // "DeviceLostError"
 * ```
 */
export class DeviceLostError extends Error {
  /** GPUDeviceLostReason ("destroyed" or "unknown"). */
  readonly reason: string;
  /** The loss reason and the runtime's message. */
  constructor(reason: string, detail: string) {
    super(`WebGPU device lost (${reason}): ${detail}`);
    this.name = "DeviceLostError";
    this.reason = reason;
  }
}
