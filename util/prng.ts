/**
 * A seeded pseudo-random generator that gives the same bits on every machine,
 * written here (no dependency) so test inputs are reproducible across platforms,
 * runtimes and upgrades.
 *
 * ## Algorithm
 * - Generator: **xoshiro128\*\*** (Blackman & Vigna, 2018), 128-bit state of four
 *   32-bit words, implemented with 32-bit integer math (`Math.imul`, shifts, `>>> 0`),
 *   which JavaScript defines exactly. One step:
 *   `out = rotl(s1 * 5, 7) * 9; t = s1 << 9; s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3;
 *   s2 ^= t; s3 = rotl(s3, 11)` (all mod 2^32).
 * - Seeding: **splitmix64** (Steele, Lea & Flood; Vigna's reference `splitmix64.c`),
 *   with BigInt, used only to expand a 64-bit stream seed into the 128-bit state:
 *   two splitmix64 outputs z1, z2 give `[lo32(z1), hi32(z1), lo32(z2), hi32(z2)]`.
 * - Stream seed from a case seed and a tensor name:
 *   `streamSeed(seed, name) = mix64(uint64(seed)) XOR fnv1a64(utf8(name))`, where
 *   `uint64` wraps the integer seed mod 2^64, `mix64` is the splitmix64 finalizer and
 *   `fnv1a64` is 64-bit FNV-1a (offset 0xcbf29ce484222325, prime 0x100000001b3). Each
 *   (seed, name) pair therefore starts its own, statistically independent stream, and
 *   adding a tensor never shifts the numbers of another.
 * - `uniform()`: 53 random bits, `((a >>> 5) * 2^26 + (b >>> 6)) / 2^53` from two
 *   consecutive 32-bit outputs a, b; exact, in [0, 1).
 * - `normal()`: Box-Muller in float64 on `u1 = 1 - uniform()` (in (0, 1]) and
 *   `u2 = uniform()`: `r = sqrt(-2 ln u1)`, returns `r cos(2 pi u2)` then, on the next
 *   call, the cached `r sin(2 pi u2)`. The integer bits are identical everywhere; the
 *   float results rely on V8's `Math.log/cos/sin` (an fdlibm port, platform independent).
 *
 * @module
 */

const MASK64 = (1n << 64n) - 1n;
const GOLDEN_GAMMA = 0x9e3779b97f4a7c15n;

/**
 * The splitmix64 output finalizer (Stafford variant 13) on a 64-bit value.
 *
 * @example
 * ```ts
 * import { mix64 } from "./prng.ts";
 * mix64(0n); // 0n
 * ```
 */
export function mix64(z: bigint): bigint {
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return z ^ (z >> 31n);
}

/**
 * The first `count` outputs of splitmix64 started from `state` (as Vigna's
 * `splitmix64.c`: add the golden gamma, then finalize).
 *
 * @example
 * ```ts
 * import { splitmix64 } from "./prng.ts";
 * splitmix64(1234567n, 1); // [6457827717110365317n]
 * ```
 */
export function splitmix64(state: bigint, count: number): bigint[] {
  let s = BigInt.asUintN(64, state);
  const out: bigint[] = [];
  for (let i = 0; i < count; i++) {
    s = (s + GOLDEN_GAMMA) & MASK64;
    out.push(mix64(s));
  }
  return out;
}

/**
 * 64-bit FNV-1a hash of the UTF-8 bytes of a string.
 *
 * @example
 * ```ts
 * import { fnv1a64 } from "./prng.ts";
 * fnv1a64(""); // 0xcbf29ce484222325n
 * ```
 */
export function fnv1a64(text: string): bigint {
  let h = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(text)) {
    h ^= BigInt(byte);
    h = (h * 0x100000001b3n) & MASK64;
  }
  return h;
}

/**
 * The 64-bit seed of the named stream of a case seed:
 * `mix64(uint64(seed)) XOR fnv1a64(name)`. Throws a RangeError for a seed that is not
 * a safe integer.
 *
 * @example
 * ```ts
 * import { streamSeed } from "./prng.ts";
 * streamSeed(7, "latent") !== streamSeed(7, "kPe"); // true
 * ```
 */
export function streamSeed(seed: number, name = ""): bigint {
  if (!Number.isSafeInteger(seed)) {
    throw new RangeError(`seed must be a safe integer, got ${seed}`);
  }
  return mix64(BigInt.asUintN(64, BigInt(seed))) ^ fnv1a64(name);
}

/**
 * One xoshiro128** step on `s` (the four state words as int32, advanced in place): the
 * output as an int32 (`>>> 0` for the unsigned value). The one copy of the step, shared by
 * {@link Prng.nextUint32} and the fill loops (V8 inlines it; the state in an Int32Array
 * and not in fields keeps each word an untagged int32).
 */
function step(s: Int32Array): number {
  const s1 = s[1];
  const m = Math.imul(s1, 5);
  const result = Math.imul((m << 7) | (m >>> 25), 9);
  const t = s1 << 9;
  s[2] ^= s[0];
  s[3] ^= s1;
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  const s3 = s[3];
  s[3] = (s3 << 11) | (s3 >>> 21);
  return result;
}

/** A uniform float64 in [0, 1) from two steps (53 bits), as {@link Prng.uniform}. */
function uniformOf(s: Int32Array): number {
  const a = step(s) >>> 5;
  const b = step(s) >>> 6;
  return (a * 67108864 + b) / 9007199254740992;
}

/** Options of {@link Prng.fillNormal}. */
export interface FillNormalOptions {
  /** Mean (default 0). */
  mean?: number;
  /** Standard deviation (default 1). */
  std?: number;
}

/** Options of {@link Prng.fillUniform}. */
export interface FillUniformOptions {
  /** Lower bound, inclusive (default 0). */
  low?: number;
  /** Upper bound, exclusive (default 1). */
  high?: number;
}

/**
 * Throw a RangeError unless `options` is an object whose `keys` are absent or finite numbers
 * (`nonNegative`: >= 0 as well). A mean of "1" (a string) concatenated into the first value
 * and made the rest NaN, a std of NaN made every value NaN and one of -1 flipped the draws,
 * null options failed with "Cannot read properties of null", silently or far from the call.
 */
function checkFillOptions(
  options: object,
  where: string,
  keys: readonly string[],
  nonNegative: readonly string[] = [],
): void {
  if (typeof options !== "object" || options === null) {
    throw new RangeError(
      `${where}: options must be an object { ${keys.map((k) => `${k}?`).join(", ")} }, found ` +
        String(options),
    );
  }
  for (const key of keys) {
    const v: unknown = (options as Record<string, unknown>)[key];
    if (v === undefined) continue;
    const least = nonNegative.includes(key);
    if (typeof v !== "number" || !Number.isFinite(v) || (least && v < 0)) {
      throw new RangeError(
        `${where}: ${key} must be a finite number${least ? " >= 0" : ""}, found ${
          typeof v === "string" ? JSON.stringify(v) : String(v)
        }`,
      );
    }
  }
}

/**
 * A xoshiro128** generator with float64 helpers. Build one with {@link makePrng}
 * (seed + stream name) or from a raw state with {@link Prng.fromState}.
 *
 * @example
 * ```ts
 * import { makePrng } from "./prng.ts";
 * const rng = makePrng(42, "qNope");
 * const x = rng.normal();
 * ```
 */
export class Prng {
  /** The four state words (int32). */
  readonly #s = new Int32Array(4);
  /** The cached second value of the last Box-Muller pair, while `#hasSpare`. */
  #spare = 0;
  #hasSpare = false;

  private constructor(state: readonly number[]) {
    for (let i = 0; i < 4; i++) this.#s[i] = state[i] | 0;
    const s = this.#s;
    if ((s[0] | s[1] | s[2] | s[3]) === 0) {
      throw new RangeError("xoshiro128** state must not be all zero");
    }
  }

  /**
   * A generator from a raw 4-word state (each taken mod 2^32; not all zero).
   *
   * @example
   * ```ts
   * import { Prng } from "./prng.ts";
   * Prng.fromState([1, 2, 3, 4]).nextUint32(); // 11520
   * ```
   */
  static fromState(state: readonly number[]): Prng {
    if (state.length !== 4 || !state.every(Number.isInteger)) {
      throw new RangeError("state must be four integers");
    }
    return new Prng(state);
  }

  /**
   * The next 32-bit output as an unsigned integer.
   *
   * @example
   * ```ts
   * import { makePrng } from "./prng.ts";
   * makePrng(1).nextUint32() < 2 ** 32; // true
   * ```
   */
  nextUint32(): number {
    return step(this.#s) >>> 0;
  }

  /**
   * A uniform float64 in [0, 1) with 53 random bits (consumes two 32-bit outputs).
   *
   * @example
   * ```ts
   * import { makePrng } from "./prng.ts";
   * const u = makePrng(1).uniform(); // 0 <= u < 1
   * ```
   */
  uniform(): number {
    return uniformOf(this.#s);
  }

  /**
   * A standard normal float64 (Box-Muller; values come in pairs, the second is cached).
   *
   * @example
   * ```ts
   * import { makePrng } from "./prng.ts";
   * const z = makePrng(1, "noise").normal();
   * ```
   */
  normal(): number {
    if (this.#hasSpare) {
      this.#hasSpare = false;
      return this.#spare;
    }
    const s = this.#s;
    const u1 = 1 - uniformOf(s);
    const u2 = uniformOf(s);
    const r = Math.sqrt(-2 * Math.log(u1));
    const theta = 2 * Math.PI * u2;
    this.#spare = r * Math.sin(theta);
    this.#hasSpare = true;
    return r * Math.cos(theta);
  }

  /**
   * Fill `out` with normal values `mean + std * normal()`, in index order; returns `out`.
   *
   * @example
   * ```ts
   * import { makePrng } from "./prng.ts";
   * const w = makePrng(3, "w").fillNormal(new Float64Array(8), { std: 0.5 });
   * ```
   */
  fillNormal<T extends Float64Array | Float32Array>(out: T, options: FillNormalOptions = {}): T {
    checkFillOptions(options, "fillNormal", ["mean", "std"], ["std"]);
    const mean = options.mean ?? 0;
    const std = options.std ?? 1;
    const n = out.length;
    let i = 0;
    if (n > 0 && this.#hasSpare) {
      this.#hasSpare = false;
      out[i++] = mean + std * this.#spare;
    }
    // normal()'s pairs without its per-value call and cache: the same values, in order.
    const s = this.#s;
    for (; i < n; i += 2) {
      const u1 = 1 - uniformOf(s);
      const u2 = uniformOf(s);
      const r = Math.sqrt(-2 * Math.log(u1));
      const theta = 2 * Math.PI * u2;
      out[i] = mean + std * (r * Math.cos(theta));
      const second = r * Math.sin(theta);
      if (i + 1 < n) {
        out[i + 1] = mean + std * second;
      } else {
        this.#spare = second;
        this.#hasSpare = true;
      }
    }
    return out;
  }

  /**
   * Fill `out` with uniform values in [low, high), in index order; returns `out`.
   *
   * @example
   * ```ts
   * import { makePrng } from "./prng.ts";
   * const u = makePrng(3, "u").fillUniform(new Float64Array(8), { low: -1, high: 1 });
   * ```
   */
  fillUniform<T extends Float64Array | Float32Array>(out: T, options: FillUniformOptions = {}): T {
    checkFillOptions(options, "fillUniform", ["low", "high"]);
    const low = options.low ?? 0;
    const high = options.high ?? 1;
    // high below low drew from [high, low) mirrored, silently
    if (high < low) {
      throw new RangeError(`fillUniform: high ${high} must be >= low ${low}`);
    }
    const s = this.#s;
    for (let i = 0; i < out.length; i++) out[i] = low + (high - low) * uniformOf(s);
    return out;
  }

  /**
   * A uniform integer in [0, n) (rejection sampling on 32-bit outputs, no modulo
   * bias); n must be an integer in [1, 2^32].
   *
   * @example
   * ```ts
   * import { makePrng } from "./prng.ts";
   * makePrng(5).int(6) < 6; // true
   * ```
   */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 2 ** 32) {
      throw new RangeError(`n must be an integer in [1, 2^32], got ${n}`);
    }
    const limit = 2 ** 32 - (2 ** 32 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /**
   * A uniformly random permutation of [0, n): Fisher-Yates from the top, swapping
   * position i (n-1 down to 1) with `int(i + 1)`. The one seeded shuffle of the harness
   * (paged block tables, a decode cache's free pages).
   *
   * @example
   * ```ts
   * import { makePrng } from "./prng.ts";
   * const p = makePrng(1, "block-table").permutation(5);
   * [...p].sort().join(); // "0,1,2,3,4"
   * ```
   */
  permutation(n: number): number[] {
    if (!Number.isInteger(n) || n < 0) {
      throw new RangeError(`n must be an integer >= 0, got ${n}`);
    }
    const p = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [p[i], p[j]] = [p[j], p[i]];
    }
    return p;
  }
}

/**
 * The generator of the named stream of a case seed (see the module doc for the
 * derivation): the state is two splitmix64 outputs of `streamSeed(seed, name)`.
 *
 * @example
 * ```ts
 * import { makePrng } from "./prng.ts";
 * const a = makePrng(42, "latent").uniform();
 * const b = makePrng(42, "latent").uniform(); // a === b
 * ```
 */
export function makePrng(seed: number, name = ""): Prng {
  const [z1, z2] = splitmix64(streamSeed(seed, name), 2);
  const lo = (z: bigint) => Number(z & 0xffffffffn);
  const hi = (z: bigint) => Number(z >> 32n);
  return Prng.fromState([lo(z1), hi(z1), lo(z2), hi(z2)]);
}
