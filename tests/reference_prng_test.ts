/**
 * PRNG: published test vectors, values cross-checked with an independent Python
 * implementation, determinism, stream independence and distribution moments.
 *
 * The "Python" literals below were produced by this independent script (Python
 * integers, no shared code), run once and pasted:
 *
 * ```py
 * M = (1 << 64) - 1
 * def mix(z):
 *     z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & M
 *     z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & M
 *     return z ^ (z >> 31)
 * def fnv(t):
 *     h = 0xcbf29ce484222325
 *     for b in t.encode(): h ^= b; h = (h * 0x100000001b3) & M
 *     return h
 * def rotl(x, k): return ((x << k) | (x >> (32 - k))) & 0xffffffff
 * def xoshiro(s):
 *     while True:
 *         r = (rotl((s[1] * 5) & 0xffffffff, 7) * 9) & 0xffffffff
 *         t = (s[1] << 9) & 0xffffffff
 *         s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 11)
 *         yield r
 * def make(seed, name):
 *     s = mix(seed & M) ^ fnv(name)
 *     z1 = mix((s + 0x9e3779b97f4a7c15) & M); z2 = mix((s + 2 * 0x9e3779b97f4a7c15) & M)
 *     return xoshiro([z1 & 0xffffffff, z1 >> 32, z2 & 0xffffffff, z2 >> 32])
 * def uni(g): a = next(g) >> 5; b = next(g) >> 6; return (a * 67108864 + b) / 2**53
 * # normal: u1 = 1 - uni(g); u2 = uni(g); r = sqrt(-2 log u1); r cos(2 pi u2), r sin(2 pi u2)
 * ```
 */
import assert from "node:assert/strict";
import { fnv1a64, makePrng, mix64, Prng, splitmix64, streamSeed } from "../util/prng.ts";

Deno.test("prng: splitmix64 matches the published vector for seed 1234567", () => {
  // The sequence quoted by Vigna's splitmix64.c users (e.g. rand_xoshiro's SplitMix64 test).
  assert.deepEqual(splitmix64(1234567n, 5), [
    6457827717110365317n,
    3203168211198807973n,
    9817491932198370423n,
    4593380528125082431n,
    16408922859458223821n,
  ]);
  assert.equal(mix64(0n), 0n);
});

Deno.test("prng: xoshiro128** from state [1, 2, 3, 4]", () => {
  const g = Prng.fromState([1, 2, 3, 4]);
  // By hand: out = rotl(s1 * 5, 7) * 9 = rotl(10, 7) * 9 = 1280 * 9 = 11520.
  // Then t = 2 << 9 = 1024 and s becomes [1 ^ 6, 2 ^ 2, 2 ^ 1024, rotl(6, 11)] = [7, 0, 1026,
  // 12288], so the second output is rotl(0, 7) * 9 = 0. The rest: Python script above.
  assert.deepEqual(
    Array.from({ length: 6 }, () => g.nextUint32()),
    [11520, 0, 5927040, 70819200, 2031721883, 1637235492],
  );
  assert.throws(() => Prng.fromState([0, 0, 0, 0]), RangeError);
});

Deno.test("prng: FNV-1a 64 test vectors", () => {
  assert.equal(fnv1a64(""), 0xcbf29ce484222325n);
  assert.equal(fnv1a64("a"), 0xaf63dc4c8601ec8cn);
});

Deno.test("prng: named stream values match the independent Python implementation", () => {
  assert.equal(streamSeed(42, "qNope"), 9242451101209979870n);
  const g = makePrng(42, "qNope");
  assert.deepEqual(
    Array.from({ length: 4 }, () => g.nextUint32()),
    [2852366169, 1408644106, 2190861208, 709268954],
  );
  assert.deepEqual(
    Array.from({ length: 3 }, () => g.uniform()),
    [0.4435761728496239, 0.898293983317853, 0.7474156032364829],
  );
  const n = makePrng(-1, "latent");
  const z = Array.from({ length: 4 }, () => n.normal());
  const py = [0.19048060238763748, 1.3216771777552445, 0.4307971765381579, -0.0642365211119681];
  // Integer bits are exact; log/cos/sin may differ from CPython's libm in the last ulp.
  z.forEach((v, i) => assert.ok(Math.abs(v - py[i]) <= 1e-15 * Math.abs(py[i]) + 1e-17));
});

Deno.test("prng: deterministic for the same seed and name", () => {
  const a = makePrng(7, "kPe");
  const b = makePrng(7, "kPe");
  for (let i = 0; i < 1000; i++) assert.equal(a.normal(), b.normal());
  const x = makePrng(7, "kPe").fillUniform(new Float64Array(64));
  const y = makePrng(7, "kPe").fillUniform(new Float64Array(64));
  assert.deepEqual(x, y);
});

Deno.test("prng: streams of different names or seeds are different and uncorrelated", () => {
  const n = 20000;
  const a = makePrng(7, "latent").fillNormal(new Float64Array(n));
  const b = makePrng(7, "kPe").fillNormal(new Float64Array(n));
  const c = makePrng(8, "latent").fillNormal(new Float64Array(n));
  const d = makePrng(7, "latent2").fillNormal(new Float64Array(n));
  const corr = (x: Float64Array, y: Float64Array) => {
    let sxy = 0, sxx = 0, syy = 0;
    for (let i = 0; i < x.length; i++) {
      sxy += x[i] * y[i];
      sxx += x[i] * x[i];
      syy += y[i] * y[i];
    }
    return sxy / Math.sqrt(sxx * syy);
  };
  for (const other of [b, c, d]) {
    assert.notEqual(other[0], a[0]);
    // 4 sigma for n = 20000 is about 0.028.
    assert.ok(Math.abs(corr(a, other)) < 0.03, `corr ${corr(a, other)}`);
  }
  // Lagged self-correlation is small too.
  assert.ok(Math.abs(corr(a.subarray(0, n - 1), a.subarray(1))) < 0.03);
  assert.notEqual(streamSeed(1, "a"), streamSeed(1, "b"));
  assert.notEqual(streamSeed(1, "a"), streamSeed(2, "a"));
});

Deno.test("prng: uniform and normal moments", () => {
  const n = 40000;
  const g = makePrng(123, "moments");
  let su = 0, min = 1, max = 0;
  for (let i = 0; i < n; i++) {
    const u = g.uniform();
    su += u;
    min = Math.min(min, u);
    max = Math.max(max, u);
  }
  assert.ok(min >= 0 && max < 1);
  assert.ok(Math.abs(su / n - 0.5) < 0.006, `uniform mean ${su / n}`);
  const z = makePrng(123, "normal").fillNormal(new Float64Array(n));
  const mean = z.reduce((s, v) => s + v, 0) / n;
  const variance = z.reduce((s, v) => s + (v - mean) ** 2, 0) / n;
  const kurt = z.reduce((s, v) => s + (v - mean) ** 4, 0) / n / variance ** 2;
  // Standard errors: mean 0.005, variance 0.007, kurtosis ~0.025.
  assert.ok(Math.abs(mean) < 0.025, `mean ${mean}`);
  assert.ok(Math.abs(variance - 1) < 0.035, `variance ${variance}`);
  assert.ok(Math.abs(kurt - 3) < 0.15, `kurtosis ${kurt}`);
  const w = makePrng(5, "w").fillNormal(new Float64Array(n), { mean: 3, std: 0.5 });
  const wm = w.reduce((s, v) => s + v, 0) / n;
  const wsd = Math.sqrt(w.reduce((s, v) => s + (v - wm) ** 2, 0) / n);
  assert.ok(Math.abs(wm - 3) < 0.0125 && Math.abs(wsd - 0.5) < 0.01, `${wm} ${wsd}`);
  const u = makePrng(5, "u").fillUniform(new Float32Array(1000), { low: -2, high: -1 });
  assert.ok(u.every((v) => v >= -2 && v <= -1));
});

Deno.test("prng: int() is in range and roughly uniform; bad seeds throw", () => {
  const g = makePrng(9, "int");
  const counts = new Array(6).fill(0);
  for (let i = 0; i < 6000; i++) counts[g.int(6)]++;
  assert.ok(counts.every((c) => c > 850 && c < 1150), `${counts}`);
  assert.throws(() => g.int(0), RangeError);
  assert.throws(() => makePrng(1.5), RangeError);
  assert.throws(() => makePrng(2 ** 60), RangeError);
});

/**
 * The generator as it was before its fill loops were sped up (session 61): one value at a
 * time, the state in four numbers, the Box-Muller spare in a `number | null`. Kept here only
 * to hold the fast loops to its numbers, bit for bit.
 */
function perValueGenerator(seed: number, name: string) {
  const [z1, z2] = splitmix64(streamSeed(seed, name), 2);
  let s0 = Number(z1 & 0xffffffffn) | 0, s1 = Number(z1 >> 32n) | 0;
  let s2 = Number(z2 & 0xffffffffn) | 0, s3 = Number(z2 >> 32n) | 0;
  let spare: number | null = null;
  const rotl = (x: number, k: number) => (x << k) | (x >>> (32 - k));
  const next = () => {
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return result;
  };
  const uniform = () => ((next() >>> 5) * 67108864 + (next() >>> 6)) / 9007199254740992;
  const normal = () => {
    if (spare !== null) {
      const z = spare;
      spare = null;
      return z;
    }
    const u1 = 1 - uniform();
    const u2 = uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    spare = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  };
  return { next, uniform, normal };
}

Deno.test("prng: the fill loops give the numbers of the one-value-at-a-time generator, bit for bit", () => {
  const same = (got: ArrayLike<number>, want: ArrayLike<number>, what: string) => {
    assert.equal(got.length, want.length, what);
    for (let i = 0; i < want.length; i++) {
      if (!Object.is(got[i], want[i])) assert.fail(`${what}: [${i}] ${got[i]} != ${want[i]}`);
    }
  };
  // Long fills, even and odd, as the input generators make them.
  for (const [n, mean, std] of [[20001, 0, 1], [4096, 1, 0.1], [777, 0, 1 / Math.sqrt(512)]]) {
    const old = perValueGenerator(5, "attention.latent");
    const want = Float64Array.from({ length: n }, () => mean + std * old.normal());
    same(
      makePrng(5, "attention.latent").fillNormal(new Float64Array(n), { mean, std }),
      want,
      `n ${n}`,
    );
  }
  // Interleaved: a spare left by an odd fill is the next value of normal() or of the next
  // fill; uniforms and raw outputs continue the same stream; Float32Array rounds the same.
  const g = makePrng(-12, "mixed");
  const old = perValueGenerator(-12, "mixed");
  const f32 = (xs: number[]) => Array.from(Float32Array.from(xs));
  const steps: [string, () => ArrayLike<number>, () => ArrayLike<number>][] = [
    [
      "fill 7",
      () => g.fillNormal(new Float64Array(7)),
      () => Array.from({ length: 7 }, old.normal),
    ],
    ["normal", () => [g.normal()], () => [old.normal()]],
    [
      "fill 3",
      () => g.fillNormal(new Float64Array(3)),
      () => Array.from({ length: 3 }, old.normal),
    ],
    ["fill 0", () => g.fillNormal(new Float64Array(0)), () => []],
    ["fill 1", () => g.fillNormal(new Float64Array(1)), () => [old.normal()]],
    [
      "f32 fill 5, std 3",
      () => g.fillNormal(new Float32Array(5), { std: 3 }),
      () => f32(Array.from({ length: 5 }, () => 3 * old.normal())),
    ],
    ["normal x3", () => [g.normal(), g.normal(), g.normal()], () => [0, 0, 0].map(old.normal)],
    ["uniform", () => [g.uniform()], () => [old.uniform()]],
    ["uint32", () => [g.nextUint32(), g.nextUint32()], () => [old.next(), old.next()]],
    [
      "fillUniform 5 in [-2, 5)",
      () => g.fillUniform(new Float64Array(5), { low: -2, high: 5 }),
      () => Array.from({ length: 5 }, () => -2 + 7 * old.uniform()),
    ],
    [
      "f32 fillUniform 3",
      () => g.fillUniform(new Float32Array(3)),
      () => f32(Array.from({ length: 3 }, old.uniform)),
    ],
    ["normal after uniforms", () => [g.normal(), g.normal()], () => [old.normal(), old.normal()]],
  ];
  for (const [what, got, want] of steps) same(got(), want(), what);
});

Deno.test("prng: fillNormal and fillUniform refuse a mean, std or bound that is no finite number, naming it", () => {
  type No = Parameters<ReturnType<typeof makePrng>["fillNormal"]>[1];
  type Uo = Parameters<ReturnType<typeof makePrng>["fillUniform"]>[1];
  const g = makePrng(1, "x");
  const cases: [() => unknown, RegExp][] = [
    // "1" + the first draw concatenated (11.13...), the rest NaN, silently
    [
      () => g.fillNormal(new Float64Array(3), { mean: "1" } as unknown as No),
      /^fillNormal: mean must be a finite number, found "1"$/,
    ],
    // every value NaN, silently
    [
      () => g.fillNormal(new Float64Array(3), { std: NaN }),
      /^fillNormal: std must be a finite number >= 0, found NaN$/,
    ],
    // the draws flipped, silently
    [
      () => g.fillNormal(new Float64Array(3), { std: -1 }),
      /^fillNormal: std must be a finite number >= 0, found -1$/,
    ],
    // "Cannot read properties of null (reading 'mean')"
    [
      () => g.fillNormal(new Float64Array(3), null as unknown as No),
      /^fillNormal: options must be an object \{ mean\?, std\? \}, found null$/,
    ],
    [
      () => g.fillUniform(new Float64Array(3), { high: Infinity }),
      /^fillUniform: high must be a finite number, found Infinity$/,
    ],
    // drew from [high, low) mirrored, silently
    [
      () => g.fillUniform(new Float64Array(3), { low: 1, high: 0 } as Uo),
      /^fillUniform: high 0 must be >= low 1$/,
    ],
  ];
  for (const [f, message] of cases) {
    assert.throws(
      f,
      (e: Error) => e instanceof RangeError && message.test(e.message),
      `${message}`,
    );
  }
});
