// tools/doc_claims.ts: which result comments of a JSDoc example are claims, how a value is
// compared with one, the rewrite that checks them line for line, and a run in which a stale
// comment fails its example (as tools/doc_examples.ts runs the project's examples).
import assert from "node:assert/strict";
import {
  checkClaim,
  claimDifference,
  claimSource,
  claimValue,
  rewriteClaims,
} from "../tools/doc_claims.ts";
import { runDocProject } from "./doc_project_helpers.ts";

const F = "`".repeat(3); // a fence, kept out of this file's own comments

Deno.test("doc_claims: a comment that starts with a value claims it; prose does not", () => {
  const cases: [string, string | null][] = [
    [" 5", "5"],
    [" -0.25", "-0.25"],
    [' "megatron"', '"megatron"'],
    [" [256, 16, 1, 8]", "[256, 16, 1, 8]"],
    [" { count: 3, exact: true }", "{ count: 3, exact: true }"],
    [" null", "null"],
    [" NaN", "NaN"],
    [" 6 * 4 * 16", "6 * 4 * 16"],
    [" 1 / sqrt(24)", "1 / sqrt(24)"],
    [" 32768 (lavapipe)", "32768"],
    [' "unsupported": there is no device', '"unsupported"'],
    [" 187: the 100 keys scored in 50 trips, not 100", "187"],
    [" 3 - a dash, then prose", "3"],
    [" (4 + 2) x 16 = 96", "96"],
    // prose: a word or an operator after the number, or no value at the start
    [" 16 hex digits", null],
    [" 1 row, ropeDim 4", null],
    [" 0 <= u < 1", null],
    [" 16 rows * 32; rows 13..15 are NaN", null],
    [" fine: the f32 case is left", null],
    [' e.g. 12 "util/edit_distance.ts"', null],
    [" a === b", null],
    [" v ~ [0, 1]", null],
    [" close", null], // a name (here one of Deno's globals) is never a value
    [" (Deno.exit(1))", null], // nor a property of one: never evaluated
    [" [(1).constructor]", null],
    [" 2 (x.y)", "2"],
  ];
  for (const [comment, want] of cases) assert.equal(claimSource(comment), want, comment);
  assert.equal(claimValue("1 / sqrt(4)"), 0.5);
  assert.deepEqual(claimValue("{ a: 1e-6, b: 0x10, c: 5n }"), { a: 1e-6, b: 16, c: 5n });
  assert.throws(() => claimValue("Deno.pid"), /not a value: Deno\.pid/);
});

Deno.test("doc_claims: numbers to their last digit, strings with dots, arrays whole, objects by their keys", () => {
  // numbers: a fraction matches what rounds to it; a whole number only itself
  assert.equal(claimDifference(0.70711, 0.707), null);
  assert.equal(claimDifference(0.7076, 0.707), "0.7076, not 0.707");
  assert.equal(claimDifference(3.14e-6, 3.1e-6), null);
  assert.equal(claimDifference(3.16e-6, 3.1e-6), "0.00000316, not 0.0000031");
  assert.equal(claimDifference(2.4, 2), "2.4, not 2");
  assert.equal(claimDifference(NaN, NaN), null);
  assert.equal(claimDifference(1, NaN), "1, not NaN");
  assert.equal(claimDifference("5", 5), '"5", not 5');
  // strings: equal, or pieces around `...` in order, the first at the start, the last at the end
  assert.equal(claimDifference("abc", "abc"), null);
  assert.equal(claimDifference("abcd", "abc"), '"abcd", not "abc"');
  assert.equal(claimDifference("max abs err 1; rel 2; ok", "max abs err 1; ...; ok"), null);
  assert.equal(
    claimDifference("max abs err 1; rel 2; ok!", "max abs err 1; ...; ok"),
    '"max abs err 1; rel 2; ok!", not "max abs err 1; ...; ok"',
  );
  assert.equal(claimDifference("a then b", "a ..."), null);
  assert.equal(claimDifference("b, then a", "... a"), null);
  assert.equal(claimDifference("x a", "... b ..."), '"x a", not "... b ..."');
  assert.equal(claimDifference("aXa", "aXa ... aXa"), '"aXa", not "aXa ... aXa"'); // no overlap
  // arrays: the same length, element by element (typed arrays too)
  assert.equal(claimDifference(new Float64Array([1, 2]), [1, 2]), null);
  assert.equal(claimDifference([1, 2, 3], [1, 2]), "3 elements, not 2: [1,2,3]");
  assert.equal(claimDifference([[1, 2]], [[1, 3]]), "[0][1]: 2, not 3");
  // objects: each key the comment shows
  assert.equal(claimDifference({ a: 1, b: { c: "x", d: 2 } }, { b: { c: "x" } }), null);
  assert.equal(claimDifference({ a: 1 }, { a: 1, b: 2 }), ".b: undefined, not 2");
  assert.equal(claimDifference(null, { a: 1 }), 'null, not {"a":1}');
  assert.equal(claimDifference(undefined, null), "undefined, not null");
  assert.equal(claimDifference(5n, 5n), null);
  assert.equal(checkClaim("a.ts:3", "[1, 2]", [1, 2])[1], 2);
  assert.throws(
    () => checkClaim("a.ts:3", "2", 3),
    /^Error: a\.ts:3: the comment says 2, the code gives 3, not 2$/,
  );
});

Deno.test("doc_claims: the rewrite checks each claim where its statement ends, line for line", () => {
  const code = [
    "const x = f(1); // 2", // 0: a declaration: x is checked after it
    "g(x); // [1, 2]", // 1: an expression
    "console.log(h()); // true", // 2: console.log of one value
    "console.log(1, 2); // 1", // 3: of two: left alone
    "const y = k({", // 4
    "  a: 1,", // 5
    "}); // 640 (the sum)", // 6: a statement over three lines
    "presetReading(p)", // 7
    '  .reading.ropeShape; // "none"', // 8: continued from the line above
    "if (x > 1) {", // 9
    "  m(x); // 3", // 10: inside a block
    "}", // 11
    "const { a } = n(); // 4", // 12: destructuring: which name? left alone
    "return q(); // 5", // 13: left alone
    "r(); // fine", // 14: prose
    "s(1, // 7", // 15: not the end of a statement
    "  2);",
    "let z = 1; t(z); // 8", // 17: the last statement of the line
    "",
  ].join("\n");
  const { code: out, checked } = rewriteClaims(code, (i) => `a.ts:${i + 10}`);
  const lines = out.split("\n");
  assert.equal(lines.length, code.split("\n").length);
  assert.equal(lines[0], 'const x = f(1); __docClaim("a.ts:10", "2", x);');
  assert.equal(lines[1], '__docClaim("a.ts:11", "[1, 2]", (g(x)));');
  assert.equal(lines[2], '__docLogged("a.ts:12", "true", h());');
  assert.equal(lines[3], "console.log(1, 2); // 1");
  assert.equal(lines[6], '}); __docClaim("a.ts:16", "640", y);');
  assert.equal(lines[7], '__docClaim("a.ts:18", "\\"none\\"", (presetReading(p)');
  assert.equal(lines[8], "  .reading.ropeShape));");
  assert.equal(lines[10], '  __docClaim("a.ts:20", "3", (m(x)));');
  assert.deepEqual(lines.slice(12, 17), code.split("\n").slice(12, 17));
  assert.equal(lines[17], 'let z = 1; __docClaim("a.ts:27", "8", (t(z)));');
  assert.equal(checked, 7);
});

Deno.test("doc_claims: a run fails the example whose comment the code no longer gives, naming its line", async () => {
  const run = await runDocProject({
    "lib/math.ts": [
      "/**", // 1
      ` * ${F}ts`, // 2
      " * add(1, 2); // 3", // 3
      " * add(0.1, 0.2); // 0.3 (rounded)", // 4
      ` * ${F}`, // 5
      ` * ${F}ts`, // 6
      " * const s = add(2, 2); // 5", // 7: stale
      ` * ${F}`, // 8
      ` * ${F}ts`, // 9
      " * add(", // 10
      " *   1, 1,", // 11
      " * ); // 3", // 12: stale, over three lines
      ` * ${F}`, // 13
      " */", // 14
      "export function add(a: number, b: number): number {",
      "  return a + b;",
      "}",
    ].join("\n"),
  }, ["lib"]);
  assert.deepEqual(run.summary, { ran: 3, failed: 2 }, run.output);
  assert.match(
    run.output,
    /^FAILED lib\/math\.ts:6-8: Error: lib\/math\.ts:7: the comment says 5, the code gives 4, not 5$/m,
  );
  assert.match(
    run.output,
    /^FAILED lib\/math\.ts:9-13: Error: lib\/math\.ts:12: the comment says 3, the code gives 2, not 3$/m,
  );
});
