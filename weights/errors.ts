/**
 * The error type of malformed safetensors files: one clear message naming the
 * file and what is wrong (with the values found and what would be valid).
 *
 * @module
 */

/**
 * A safetensors file (or byte buffer) that cannot be read: truncated, a header
 * length that lies, invalid JSON, an unknown dtype, offsets out of range or
 * overlapping, a missing tensor. The CLI maps it to exit code 2.
 *
 * @example
 * ```ts
 * import { SafetensorsError } from "./errors.ts";
 * const e = new SafetensorsError("w.safetensors", "file has 3 bytes");
 * e.message; // "w.safetensors: file has 3 bytes"
 * ```
 */
export class SafetensorsError extends Error {
  /** The file name (or label) the problem is in. */
  readonly source: string;
  /** The problem, without the file name. */
  readonly detail: string;
  /**
   * Build the error for a file that cannot be read.
   *
   * @param source the file name (or a label for a byte buffer)
   * @param detail what is wrong, without the file name
   */
  constructor(source: string, detail: string) {
    super(`${source}: ${detail}`);
    this.name = "SafetensorsError";
    this.source = source;
    this.detail = detail;
  }
}

/**
 * An input of the full-layer run is not what it must be (a missing or mis-shaped
 * tensor, cu_seqlens that do not end at the token count, ...). The CLI exits 2.
 *
 * @example
 * ```ts
 * import { LayerInputError } from "./errors.ts";
 * new LayerInputError("hidden_states: expected [tokens, 64], found [5, 32]").name; // "LayerInputError"
 * ```
 */
export class LayerInputError extends Error {
  /** The message names the tensor or field, what was expected and what was found. */
  constructor(message: string) {
    super(message);
    this.name = "LayerInputError";
  }
}
