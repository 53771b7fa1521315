/** kernels/unroll.ts: `// @unroll` loops unrolled in a kernel's source, and what it refuses. */
import assert from "node:assert/strict";
import { loadKernel } from "../kernels/source.ts";
import { evalConst, unrollLoops } from "../kernels/unroll.ts";

Deno.test("unrollLoops: one copy per trip, the variable bound to its constant, lines kept", () => {
  const src = [
    "const N: u32 = 3u;",
    "fn f() {",
    "  for (var i = 0u; i < N; i++) { // @unroll",
    "    // a comment",
    "    s += a[i];",
    "  }",
    "}",
  ].join("\n");
  const out = unrollLoops(src);
  const lines = out.split("\n");
  assert.equal(lines.length, src.split("\n").length, "every line keeps its number");
  assert.equal(
    lines[2],
    "  { let i: u32 = 0u; s += a[i]; } { let i: u32 = 1u; s += a[i]; } { let i: u32 = 2u; s += a[i]; }",
  );
  assert.deepEqual(lines.slice(3, 6), ["", "", ""]);
  assert.equal(lines[6], "}");
  // no marker: the source as it is
  const plain = src.replace(" // @unroll", "");
  assert.equal(unrollLoops(plain), plain);
});

Deno.test("unrollLoops: nested loops (inner first), constant starts, i += 1u, typed vars, other markers after it", () => {
  const src = [
    "const A: u32 = 2u;",
    "const B: u32 = A + 1u;",
    "for (var i: u32 = 0u; i < A; i += 1u) { // @unroll // @nosg",
    "  for (var j = 1u; j < B; j++) { // @unroll",
    "    t += m[i * B + j];",
    "  }",
    "}",
  ].join("\n");
  const line = unrollLoops(src).split("\n")[2];
  const copies = [...line.matchAll(/let (\w): u32 = (\d)u;/g)].map((m) => `${m[1]}${m[2]}`);
  assert.deepEqual(copies, ["i0", "j1", "j2", "i1", "j1", "j2"]);
  // an empty range gives no copy
  assert.equal(
    unrollLoops("for (var i = 2u; i < 2u; i++) { // @unroll\n  x += 1.0;\n}").split("\n")[0],
    "",
  );
});

Deno.test("unrollLoops: a commented-out loop (another variant's line) is left alone", () => {
  const src =
    "// for (var i = 0u; i < 2u; i++) { // @unroll // @nosg\n//   x += 1.0; // @nosg\n// } // @nosg";
  assert.equal(unrollLoops(src), src);
});

Deno.test("unrollLoops: what it refuses is an error naming the line", () => {
  const bad: [string, RegExp][] = [
    [
      "for (var i = 0u; i < n; i++) { // @unroll\n  x += 1.0;\n}",
      /line 1: "n" is not a const of the file/,
    ],
    [
      "const N: u32 = 2u;\nfor (var i = 0u; i < N; i += 2u) { // @unroll\n  x += 1.0;\n}",
      /line 2: \/\/ @unroll needs "for \(var i = S; i < N; i\+\+\) \{"/,
    ],
    [
      "for (var i = 0u; i < 4u; i++) { // @unroll\n  if (x > 1.0) { break; }\n}",
      /line 1: a \/\/ @unroll loop's body may not break or continue/,
    ],
    [
      "for (var i = 0u; i < 4u; i++) { x += 1.0; } // @unroll",
      /line 1: .*closing line that is only/,
    ],
    [
      "for (var i = 0u; i < 4u; i++) { // @unroll\n  x += 1.0;",
      /line 1: the \/\/ @unroll loop is never closed/,
    ],
    [
      "for (var i = 0u; i < 4u; i++) { // @unroll\n  x += 1.0;\n} else {\n}",
      /closing line that is only "}"/,
    ],
  ];
  for (const [src, want] of bad) assert.throws(() => unrollLoops(src), want, src);
});

Deno.test("evalConst: literals, consts, + - * / % (integer division), parentheses, min and max", () => {
  const c = new Map([["KC", "144u"], ["S", "WG / R"], ["WG", "128u"], ["R", "16u"]]);
  assert.equal(evalConst("(KC + S - 1u) / S", c, "t"), 18);
  assert.equal(evalConst("min(KC, 7u) * 2 % 5", c, "t"), 4);
  assert.equal(evalConst("max(1u, R - 20u + 10u)", c, "t"), 6);
  assert.throws(() => evalConst("KC / (S - 8u)", c, "t"), /t: a division by zero/);
  assert.throws(
    () => evalConst("X", new Map([["X", "X + 1u"]]), "t"),
    /defined in terms of itself/,
  );
  assert.throws(() => evalConst("1u - 2u", c, "t"), /the value -1 is not a u32/);
  assert.throws(() => evalConst("KC << 1u", c, "t"), /not a u32 constant expression/);
});

Deno.test("absorbed_tiled.wgsl unrolled: no constant-trip loop left, the runtime ones kept, every line kept", async () => {
  // As a gpu-class plan gives them (VU_N 8: the whole-tile value form, 8 keys).
  const params = {
    WG: 128,
    HT: 16,
    QT: 1,
    KT: 8,
    RG: 1,
    KEY_VEC4: 144,
    VAL_VEC4: 128,
    VU_N: 8,
  };
  for (const dtype of ["f32", "f16"] as const) {
    const rolled = (await loadKernel("absorbed_tiled.wgsl", { dtype, params })).code;
    const code = (await loadKernel("absorbed_tiled.wgsl", { dtype, params, unroll: true })).code;
    assert.equal(code.split("\n").length, rolled.split("\n").length);
    const loops = (s: string) =>
      [...s.matchAll(/^\s*for \(var (\w+) = [^;]+; \1 < ([^;]+);/gm)].map((m) => m[2]);
    // As written: the constant loops over CPV, STAGE_N, QSEG, SEGS and RPG are there.
    for (const n of ["CPV", "STAGE_N", "QSEG", "SEGS", "RPG", "VU_N"]) {
      assert.ok(loops(rolled).includes(n), `${dtype}: a loop over ${n} as written`);
    }
    // Unrolled: only the loops whose trip counts are known at run time are left (the
    // pair sums and the softmax's pairs, the tiles, the score phase's keys, and the value
    // phase's keys of a tile that is not whole).
    assert.deepEqual(
      loops(code).sort(),
      ["PAIRS", "PAIRS", "end", "nk", "select(nk, 0u, whole)"],
      dtype,
    );
    // The whole tile's value form: its 8 keys as constants.
    assert.ok(code.includes("let k: u32 = 7u;"), dtype);
    assert.doesNotMatch(code, /let k: u32 = 8u;/);
    // V2-Lite's 16 rows: the value phase's accumulator is indexed by constants only.
    assert.ok(code.includes("let r: u32 = 15u;"), dtype);
    assert.doesNotMatch(code, /let r: u32 = 16u;/);
  }
});
