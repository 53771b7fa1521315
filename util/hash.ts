/**
 * SHA-256 digests as lowercase hex: the one hash helper of the harness (plan and
 * output digests, kernel and module hashes, history keys).
 *
 * @module
 */

/**
 * The SHA-256 of a string (its UTF-8 bytes) or of some bytes, as lowercase hex: all 64
 * digits, or the first `digits` of them (an even number from 2 to 64).
 *
 * @example
 * ```ts
 * import { sha256Hex } from "./hash.ts";
 * await sha256Hex(""); // "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
 * await sha256Hex(new Uint8Array([97]), 8); // "ca978112"
 * ```
 */
export async function sha256Hex(data: string | ArrayBufferView, digits = 64): Promise<string> {
  if (!Number.isInteger(digits) || digits < 2 || digits > 64 || digits % 2 !== 0) {
    throw new RangeError(`digits must be an even integer from 2 to 64, got ${digits}`);
  }
  // A copy into a fresh ArrayBuffer: subtle.digest refuses SharedArrayBuffer views.
  const bytes = typeof data === "string"
    ? new TextEncoder().encode(data)
    : new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  const h = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(h.subarray(0, digits / 2), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The first 16 hex digits of the SHA-256 of a string or some bytes: the short digest
 * results, fingerprints and baselines record (64 bits: collisions are not a concern for
 * telling versions apart).
 *
 * @example
 * ```ts
 * import { sha256Hex16 } from "./hash.ts";
 * await sha256Hex16(new TextEncoder().encode("")); // "e3b0c44298fc1c14"
 * ```
 */
export function sha256Hex16(data: string | ArrayBufferView): Promise<string> {
  return sha256Hex(data, 16);
}
