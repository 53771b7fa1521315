/**
 * The command lines of README.md and docs/*.md run as written: every `deno task harness ...`,
 * `deno run ... main.ts ...` and `deno task <task> ...` names a command of cli/program.ts and
 * only options its help lists (a fixed-choice option's value among its choices), and every
 * `deno run ... tools/X.ts ...` names a tool that exists and flags it reads
 * (tools/doc_commands.ts). The commands come from commander's objects, not from spawned
 * processes.
 */
import assert from "node:assert/strict";
import { HARNESS_SPEC, ROOT, TASKS } from "./harness_spec.ts";
import {
  checkDocCommands,
  checkHarnessArgs,
  commandLines,
  type DocCheckContext,
  parseDocCommand,
  toolFlags,
} from "../tools/doc_commands.ts";

const F = "`".repeat(3); // a fence, kept out of this file's own comments

const program = HARNESS_SPEC;
const tasks = TASKS;

function readTool(script: string): string | null {
  try {
    return Deno.readTextFileSync(`${ROOT}${script}`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

// `deno task test <args>`: the runner hands its arguments to `deno test`
const ctx: DocCheckContext = { program, tasks, readTool, passThrough: ["tools/test_runner.ts"] };

/** README.md and every docs/*.md, by their path from the root. */
async function docs(): Promise<Map<string, string>> {
  const out = new Map<string, string>([["README.md", await Deno.readTextFile(`${ROOT}README.md`)]]);
  const names: string[] = [];
  for await (const e of Deno.readDir(`${ROOT}docs`)) {
    if (e.isFile && e.name.endsWith(".md")) names.push(e.name);
  }
  for (const n of names.sort()) out.set(`docs/${n}`, await Deno.readTextFile(`${ROOT}docs/${n}`));
  return out;
}

/** Every problem of one doc text, as `file:line: problem`. */
function problemsOf(file: string, text: string): string[] {
  return checkDocCommands(text, ctx).flatMap((c) =>
    c.problems.map((p) => `${file}:${c.line}: ${p}`)
  );
}

Deno.test("docs commands: every harness, task and tool command line in the docs parses", async () => {
  const problems: string[] = [];
  const kinds = { harness: 0, tool: 0 };
  for (const [file, text] of await docs()) {
    problems.push(...problemsOf(file, text));
    for (const c of checkDocCommands(text, ctx)) {
      if (c.command?.kind === "harness") kinds.harness++;
      if (c.command?.kind === "tool") kinds.tool++;
    }
  }
  assert.deepEqual(problems, [], `\n${problems.join("\n")}`);
  // the extractor found the docs' commands (a broken one would find none and pass)
  assert.ok(kinds.harness >= 100, `harness commands checked: ${kinds.harness}`);
  assert.ok(kinds.tool >= 30, `tool commands checked: ${kinds.tool}`);
});

Deno.test("docs commands: deno.json's tasks that run main.ts pass the same check", () => {
  const checked: string[] = [];
  for (const [name, task] of Object.entries(tasks)) {
    const c = parseDocCommand(task, {});
    if (c?.kind !== "harness") continue;
    checked.push(name);
    assert.deepEqual(checkHarnessArgs(c.args, program), [], `task ${name}: ${task}`);
  }
  for (const name of ["harness", "run", "bench", "upgrade-check"]) {
    assert.ok(checked.includes(name), `task ${name} was not read as a main.ts command`);
  }
});

Deno.test("docs commands: a bogus flag planted in a copy of README.md is found, at its line", async () => {
  const readme = await Deno.readTextFile(`${ROOT}README.md`);
  const line = "deno task harness run --out out/smoke --resume";
  assert.ok(readme.includes(line), "README's resume example moved: update this test");
  const planted = readme.replace(line, "deno task harness run --out out/smoke --resmue");
  const at = readme.slice(0, readme.indexOf(line)).split("\n").length;
  assert.deepEqual(problemsOf("README.md", readme), []);
  const found = problemsOf("README.md", planted);
  assert.equal(found.length, 1, found.join("\n"));
  assert.match(found[0], new RegExp(`^README\\.md:${at}: run: unknown option "--resmue"`));
  // and in a tool's line: tune_plan.ts reads --repeats, not --repeat
  const tool = readme.replace("[--repeats 20]", "[--repeat 20]");
  assert.notEqual(tool, readme);
  assert.match(
    problemsOf("README.md", tool).join("\n"),
    /tools\/tune_plan\.ts: unknown flag "--repeat" \(it reads: --out, --knobs/,
  );
  // and in a prose fragment of docs/architecture.md
  const arch = await Deno.readTextFile(`${ROOT}docs/architecture.md`);
  assert.ok(arch.includes("`history --label`"), "architecture.md's history --label moved");
  assert.match(
    problemsOf("docs/architecture.md", arch.replace("`history --label`", "`history --lable`"))
      .join("\n"),
    /^docs\/architecture\.md:\d+: history: unknown option "--lable"/,
  );
});

Deno.test("docs commands: the extractor on a small text (fences, spans, comments, continuations)", () => {
  const md = [
    "# Title", // 1
    "", // 2
    "Run `deno task harness devices --json` or", // 3
    "`deno task", // 4
    "harness bench --matrix tiny --bogus`, then `deno task harness run --out`.", // 5
    "", // 6
    `${F}sh`, // 7
    "# deno task harness run --not-checked (a comment)", // 8
    "deno task harness run --matrix smoke \\", // 9
    "  --plant-fault no-such-fault   # a wrong choice", // 10
    "DENO_WEBGPU_BACKEND=vulkan deno run -A tools/derive_tolerances.ts --seeds 2 --seed 1", // 11
    "deno task harness explian tiny", // 12
    "deno task harness baseline updat", // 13
    "deno task harness compare a.json b.json c.json", // 14
    "deno task harness merge --out x ... ", // 15
    "deno task nosuchtask", // 16
    "npx --yes deno@2.9.6 task run --resume", // 17
    "deno task harness layer --config tiny --input x.safetensors", // 18
    F, // 19
    "", // 20
    "`deno run -A tools/no_such_tool.ts --x`", // 21
    "", // 22
    "Prose: `run --baseline/--histroy`, `bench --replay waited`, `run --out --resume`, `deno task ...`.", // 23
  ].join("\n");
  const names = program.commands.map((c) => c.name);
  assert.deepEqual(commandLines(md, names).map((c) => [c.line, c.fenced]), [
    [3, false],
    [4, false],
    [5, false],
    [9, true],
    [11, true],
    [12, true],
    [13, true],
    [14, true],
    [15, true],
    [16, true],
    [17, true],
    [18, true],
    [21, false],
    [23, false],
    [23, false],
    [23, false],
    [23, false],
  ]);
  assert.equal(commandLines(md)[1].text, "deno task harness bench --matrix tiny --bogus");
  // a prose fragment: a command of the program and an option, in a span of its own
  assert.deepEqual(
    commandLines(md, names).filter((c) => c.fragment).map((c) => c.text),
    ["run --baseline/--histroy", "bench --replay waited", "run --out --resume"],
  );
  const found = checkDocCommands(md, ctx).flatMap((c) => c.problems.map((p) => `${c.line}: ${p}`))
    .map((p) => p.replace(/ \((run|bench) --help lists: .*\)$/, "").replace(/ \(.*\)$/, ""));
  assert.deepEqual(found, [
    '4: bench: unknown option "--bogus"',
    "5: run: --out needs a value",
    "9: run: --plant-fault no-such-fault: not one of its values",
    '11: tools/derive_tolerances.ts: unknown flag "--seed"',
    '12: unknown command "explian"',
    '13: baseline: unknown subcommand "updat"',
    '14: compare: 3 arguments ("a.json", "b.json", "c.json"), it takes <baseline> <current>',
    "16: deno task nosuchtask: deno.json has no such task",
    "18: layer: missing required --out",
    "21: tools/no_such_tool.ts: no such file",
    '23: run: unknown option "--histroy"',
  ]);
});

Deno.test("docs commands: the flags of the tools that use parseArgs are read from their source", () => {
  assert.deepEqual(toolFlags(readTool("tools/derive_tolerances.ts")!), [
    "--matrix",
    "--seeds",
    "--filter",
    "--mode",
    "--backend",
  ]);
  const tune = toolFlags(readTool("tools/tune_plan.ts")!)!;
  for (const f of ["--out", "--knobs", "--repeats", "--min-gain", "--help", "-h"]) {
    assert.ok(tune.includes(f), `${f} in ${tune.join(", ")}`);
  }
  assert.deepEqual(toolFlags(readTool("tools/compile_time.ts")!), ["--decode", "--prefill"]);
  // a tool that reads Deno.args itself: its flags are looked for in its source
  assert.equal(toolFlags(readTool("tools/asm_loops.ts")!), null);
});

Deno.test("README's matrix file example loads: its groups expand and its expectation is the schema's form", async () => {
  const { loadMatrix } = await import("../matrix/expand.ts");
  const readme = await Deno.readTextFile(`${ROOT}README.md`);
  const at = readme.indexOf('"name": "mine"');
  const start = readme.lastIndexOf(`${F}json\n`, at) + `${F}json\n`.length;
  const text = readme.slice(start, readme.indexOf(F, start));
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/mine.json`, text);
    const { cases } = await loadMatrix(`${dir}/mine.json`);
    assert.equal(cases.length, 5);
    const refused = cases.filter((c) => c.expect.support === "unsupported");
    assert.equal(refused.length, 1);
    assert.equal(refused[0].deviceProfile.removeFeatures?.[0], "shader-f16");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
