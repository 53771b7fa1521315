/**
 * Every `--option` that README.md and the reference docs spell, in prose as in command lines,
 * is one that something here reads: an option of a harness command (cli/program.ts), a flag of
 * a tool in tools/, or one of the few Deno, Chromium and valgrind flags the docs quote. The
 * command lines alone are checked with their commands in tests/docs_commands_test.ts; this
 * catches an option renamed in the CLI but still named in a sentence.
 */
import assert from "node:assert/strict";
import { HARNESS_SPEC, ROOT } from "./harness_spec.ts";
import { type CommandSpec, toolFlags } from "../tools/doc_commands.ts";

/** The docs checked: the README and the reference pages (not the dated records). */
const DOCS = [
  "README.md",
  "docs/architecture.md",
  "docs/backends.md",
  "docs/chromium_runtime.md",
  "docs/gl_exit_abort.md",
  "docs/tolerances.md",
];

/** Flags of other programs that the docs quote (Deno, headless Chromium, valgrind, V8). */
const OTHER_PROGRAMS = new Set([
  "--allow-env",
  "--allow-net",
  "--allow-read",
  "--allow-run",
  "--allow-sys",
  "--allow-write",
  "--doc",
  "--lint",
  "--no-run",
  "--parallel",
  "--version",
  "--yes",
  "--enable-unsafe-webgpu",
  "--enable-webgpu-developer-features",
  "--headless",
  "--no-sandbox",
  "--remote-debugging-pipe",
  "--remote-debugging-port",
  "--fair-sched",
  "--jitless",
]);

function harnessOptions(): Set<string> {
  const out = new Set<string>();
  const walk = (c: CommandSpec) => {
    for (const o of c.options) if (o.long) out.add(o.long);
    for (const s of c.commands) walk(s);
  };
  walk(HARNESS_SPEC);
  return out;
}

function toolOptions(): Set<string> {
  const out = new Set<string>();
  for (const e of Deno.readDirSync(`${ROOT}tools`)) {
    if (!e.isFile || !e.name.endsWith(".ts")) continue;
    const source = Deno.readTextFileSync(`${ROOT}tools/${e.name}`);
    // a tool that reads Deno.args itself: the flags it spells
    const flags = toolFlags(source) ?? source.match(/(?<![\w-])--[a-z][a-z0-9-]*/g) ?? [];
    for (const f of flags) out.add(f);
  }
  return out;
}

/** Each `--option` of `text` that `known` lacks, as `file:line: --option`. */
function unknownOptions(file: string, text: string, known: ReadonlySet<string>): string[] {
  const out: string[] = [];
  text.split("\n").forEach((line, i) => {
    for (const m of line.matchAll(/(?<![\w/-])--[a-z][a-z0-9-]*/g)) {
      if (!known.has(m[0])) out.push(`${file}:${i + 1}: ${m[0]}`);
    }
  });
  return out;
}

const known = new Set([...harnessOptions(), ...toolOptions(), ...OTHER_PROGRAMS]);

Deno.test("docs options: every --option the README and reference docs name exists", () => {
  const problems = DOCS.flatMap((f) =>
    unknownOptions(f, Deno.readTextFileSync(`${ROOT}${f}`), known)
  );
  assert.deepEqual(problems, [], `options no command or tool reads:\n${problems.join("\n")}`);
});

Deno.test("docs options: a renamed option in a sentence is found, at its line", () => {
  const text =
    "one\n`run --repeats 5` and `--warmup-ms`, then `--repeat 5` (`compare --fail-on`)\n";
  assert.deepEqual(unknownOptions("README.md", text, known), ["README.md:2: --repeat"]);
  // a word with dashes inside, a path or a URL is not an option
  assert.deepEqual(unknownOptions("x.md", "a--b, ./--x, http://h/--y, `---`\n", known), []);
});
