// tools/doc_examples.ts: which fences of a source are examples (as `deno test --doc` picks
// them), their line numbers, the modules written for them (imports resolved against the source
// file), and a run of a small project in which one example fails.
import assert from "node:assert/strict";
import { runTool } from "./helpers_cli.ts";
import { exampleModule, extractExamples, sourceExports } from "../tools/doc_examples.ts";
import { runDocProject } from "./doc_project_helpers.ts";

const F = "`".repeat(3); // a fence, kept out of this file's own comments

/** A source with one runnable example per language, and fences that are not examples. */
const SOURCE = [
  "/**", // 1
  " * Adds.", // 2
  " *", // 3
  " * @example", // 4
  ` * ${F}ts`, // 5
  ' * import { add } from "./math.ts";', // 6
  " * add(1, 2); // 3", // 7
  ` * ${F}`, // 8
  " *", // 9
  ` * ${F}ts ignore`, // 10
  " * add(undefinedThing);", // 11
  ` * ${F}`, // 12
  ` * ${F}json`, // 13
  ' * { "a": 1 }', // 14
  ` * ${F}`, // 15
  ` * ${F}`, // 16
  " * no language", // 17
  ` * ${F}`, // 18
  " */", // 19
  "export function add(a: number, b: number): number {", // 20
  "  return a + b;", // 21
  "}", // 22
  `/* not JSDoc:\n * ${F}ts\n * notAnExample();\n * ${F}\n */`, // 23-27
  `const s = "/** ${F}ts in a string ${F} */";`, // 28
  `// ${F}ts in a line comment ${F}`, // 29
  "/**", // 30
  ` * ${F}js`, // 31
  " * const x = `${add(1, 1)}`; // a template", // 32
  ` * ${F}`, // 33
  ` * ${F}typescript title="t"`, // 34
  " * const y: number = add(2, 2);", // 35
  ` * ${F}`, // 36
  " */", // 37
  "export const two = 2, s2 = s;", // 38
].join("\n");

Deno.test("doc_examples: the fences deno test --doc runs, with their lines", () => {
  const found = extractExamples(SOURCE, "lib/math.ts");
  assert.deepEqual(
    found.map((e) => [e.start, e.end, e.extension]),
    [[5, 8, ".ts"], [31, 33, ".js"], [34, 36, ".ts"]],
  );
  const [first, js, ts] = found;
  assert.equal(first.file, "lib/math.ts");
  assert.equal(first.code, 'import { add } from "./math.ts";\nadd(1, 2); // 3\n\n');
  assert.deepEqual(first.lines, [6, 7, 8]); // the closing fence's ` * ` is an empty last line
  assert.equal(js.code, "const x = `${add(1, 1)}`; // a template\n\n");
  assert.equal(ts.code, "const y: number = add(2, 2);\n\n");
});

Deno.test("doc_examples: comment prefixes as Deno strips them, and blockquoted fences", () => {
  const source = [
    "/**",
    ` *   ${F}ts`,
    " * # hidden(); // a `# ` is taken off, as in rustdoc",
    " *   indented();",
    "*no space();",
    "   a line without a star is left out",
    ` * ${F}`,
    ` * > ${F}ts`,
    " * > quoted();",
    ` * > ${F}`,
    " */",
  ].join("\n");
  const [plain, quoted] = extractExamples(source, "x.ts");
  assert.equal(
    plain.code,
    "hidden(); // a `# ` is taken off, as in rustdoc\n  indented();\nno space();\n\n",
  );
  assert.deepEqual(plain.lines, [3, 4, 5, 7]);
  assert.equal(quoted.code, "quoted();\n\n");
  assert.deepEqual([quoted.start, quoted.end], [8, 10]);
});

Deno.test("doc_examples: the source's value exports, types and declare left out", () => {
  const exports = sourceExports(
    [
      "export async function f() {}",
      "export function* gen() {}",
      "export class C {}",
      "export enum E { A }",
      "export const { a, b: bee, ...rest } = obj, notSeen = 1;",
      "export let [p, q] = pair;",
      "export type T = number;",
      "export interface I {}",
      "export declare const d: number;",
      "export { g, h as hh, type K, default as fromDefault } from './g.ts';",
      "export type { L } from './l.ts';",
      "export * from './all.ts';",
      "// export const commented = 1;",
      "const text = 'export const inString = 1';",
      "export default function main() {}",
    ].join("\n"),
  );
  assert.deepEqual(exports.named.sort(), [
    "C",
    "E",
    "a",
    "bee",
    "f",
    "fromDefault",
    "g",
    "gen",
    "hh",
    "p",
    "q",
    "rest",
  ]);
  assert.equal(exports.defaultName, "main");
});

Deno.test("doc_examples: an example's module resolves relative imports against its source", () => {
  const code = [
    'import { add } from "./math.ts";',
    "import type { Spec } from '../adapter/spec.ts';",
    "import {",
    "  z,",
    '} from "zod"; // bare: the import map\'s',
    'const m = await import("./lazy.ts");',
    'const here = new URL("./data.json", import.meta.url).href;',
    'const text = "from \\"./not_a_specifier.ts\\"";',
    "export function local() { return add(1, 2); }",
    "",
  ].join("\n");
  const example = {
    file: "lib/math.ts",
    start: 10,
    end: 21,
    extension: ".ts",
    code,
    lines: [11, 12, 13, 14, 15, 16, 17, 18, 19, 20],
  };
  const url = "file:///p/lib/math.ts";
  const text = exampleModule(example, url, { named: ["add", "sub"], defaultName: "main" });
  const lines = text.split("\n");
  // line 1: the imports, the source's exports not imported by the example, import.meta
  assert.match(lines[0], /^import \{ add \} from "file:\/\/\/p\/lib\/math\.ts";/);
  assert.match(lines[0], /import type \{ Spec \} from "file:\/\/\/p\/adapter\/spec\.ts";/);
  assert.match(lines[0], /import \{ z, \} from "zod";/);
  assert.match(lines[0], /import \* as __docSource from "file:\/\/\/p\/lib\/math\.ts";/);
  assert.match(lines[0], /const \{ sub, default: main \} = __docSource;/);
  assert.match(
    lines[0],
    /const __docMeta = \{ \.\.\.import\.meta, url: "file:\/\/\/p\/lib\/math\.ts"/,
  );
  assert.match(lines[0], /export default async function docExample\(\) \{$/);
  // then the example's lines, one for one: imports moved up, `export` dropped
  assert.deepEqual(lines.slice(1, 6), ["", "", "", "", " // bare: the import map's"]);
  assert.equal(lines[6], 'const m = await import("file:///p/lib/lazy.ts");');
  assert.equal(lines[7], 'const here = new URL("./data.json", __docMeta.url).href;');
  assert.equal(lines[8], 'const text = "from \\"./not_a_specifier.ts\\"";');
  assert.equal(lines[9], "function local() { return add(1, 2); }");
  assert.equal(lines[10], "}");
  assert.equal(lines.length, 12);
});

Deno.test("doc_examples: a run reports the failing example's file and lines", async () => {
  const run = await runDocProject({
    "lib/math.ts": [
      "/**", // 1
      ` * ${F}ts`, // 2
      ' * import { double } from "./sub/double.ts";', // 3
      ' * if (double(add(1, 2)) !== 6) throw new Error("wrong"); // add: injected', // 4
      ` * ${F}`, // 5
      ` * ${F}ts`, // 6
      " * const dir = await Deno.makeTempDir(); // in the run's TMPDIR", // 7
      ' * await Deno.writeTextFile(`${dir}/x.txt`, "x");', // 8
      ` * ${F}`, // 9
      ` * ${F}ts`, // 10
      " * const sum = add(2, 2);", // 11
      " * if (sum !== 5) throw new Error(`add(2, 2) is ${sum}`);", // 12
      ` * ${F}`, // 13
      // two more that fail after an await (Deno 2.9.6 left the import after two such
      // rejections unsettled), then one that passes
      ` * ${F}ts`, // 14
      " * await Promise.resolve();", // 15
      ' * throw new Error("second");', // 16
      ` * ${F}`, // 17
      ` * ${F}ts`, // 18
      " * await Promise.resolve();", // 19
      ' * throw new Error("third");', // 20
      ` * ${F}`, // 21
      ` * ${F}ts`, // 22
      " * await Promise.resolve();", // 23
      ' * if (add(1, 1) !== 2) throw new Error("wrong");', // 24
      ` * ${F}`, // 25
      // declares its input: type-checked only, never run (it would throw)
      ` * ${F}ts`, // 26
      " * declare const n: number;", // 27
      " * add(n, 1);", // 28
      ` * ${F}`, // 29
      " */", // 30
      "export function add(a: number, b: number): number {",
      "  return a + b;",
      "}",
    ].join("\n"),
    "lib/sub/double.ts": "/** Doubles. */\nexport const double = (n: number): number => 2 * n;\n",
  }, ["lib"]);
  assert.equal(run.count, 6);
  assert.equal(run.typeOnly, 1);
  assert.equal(run.code, 1, run.output);
  assert.deepEqual(run.summary, { ran: 6, failed: 3 }, run.output);
  assert.match(run.output, /^FAILED lib\/math\.ts:10-13: Error: add\(2, 2\) is 4$/m);
  assert.match(run.output, /^ {2}at .*lib\/math\.ts:12\b/m); // the example's line, not the module's
  assert.match(run.output, /^FAILED lib\/math\.ts:14-17: Error: second$/m);
  assert.match(run.output, /^FAILED lib\/math\.ts:18-21: Error: third$/m);
  assert.equal((run.output.match(/^FAILED/gm) ?? []).length, 3, run.output);
});

Deno.test("doc_examples' command line: --help is exit 0; an unknown option or a missing room is exit 2, named, with no stack trace", async () => {
  const help = await runTool("doc_examples.ts", ["--help"]);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /^usage: [\s\S]*tools\/doc_examples\.ts \[--list\] ROOM\.\.\./);
  const bad = await runTool("doc_examples.ts", ["--bogus", "util"]);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /^doc_examples: unknown option --bogus\nusage: /);
  const missing = await runTool("doc_examples.ts", ["no_such_room", "util"]);
  assert.equal(missing.code, 2, missing.stderr);
  assert.match(
    missing.stderr,
    /^doc_examples: no such room \(folder or file\) under .*: no_such_room$/m,
  );
  // a file it reads no example from: it said "doc examples: 0 ran, 0 failed", exit 0
  const notSource = await runTool("doc_examples.ts", ["README.md", "tests/tools_args_test.ts"]);
  assert.equal(notSource.code, 2, notSource.stdout + notSource.stderr);
  assert.match(
    notSource.stderr,
    /^doc_examples: not a source file whose JSDoc examples it runs .*: README\.md, tests\/tools_args_test\.ts$/m,
  );
  assert.equal(notSource.stdout, "");
  for (const r of [bad, missing, notSource]) assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/);
});
