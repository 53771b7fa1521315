/**
 * The command lines of the Markdown docs, checked against the code they call: every
 * `deno task harness <command> ...`, `deno run ... main.ts <command> ...` and `deno task <task>`
 * (expanded from deno.json) names a command that exists and only options its help lists (an
 * option's value, where the option has a fixed set of values, is one of them); every
 * `deno run ... tools/X.ts --flag` names a tool that exists and flags it reads. A user copies
 * these lines, so one that drifted from the code fails `tests/docs_commands_test.ts`.
 *
 * Where commands are found: in fenced code blocks (a line ending in `\` continues on the next,
 * and a shell comment `# ...` is not read), and in inline code spans (`` `deno task harness
 * bench --json` ``, also when the span breaks across lines). A command ends at `|`, `&&`, `||`,
 * `;` or `>`. Placeholders stay readable: `<dir>` is any value, `[--knobs a,b]` an optional
 * flag, and a word `...` ends the check of that line (the rest is left out). A span of prose
 * that starts with a command's name and shows an option (`` `bench --replay waited` ``,
 * `` `run --baseline/--history` ``) is a fragment: its options are checked, not whether it is a
 * whole command line.
 *
 * GPU-free and free of commander: the commands arrive as {@link CommandSpec}s, made from
 * commander's objects by {@link commandSpec}.
 *
 * @module
 */
import { mask, scan } from "./js_scan.ts";

/** One command line of a Markdown text. */
export interface DocCommandLine {
  /** 1-based line of the Markdown text where the command starts. */
  line: number;
  /** The command, from `deno` (or `npx ... deno@X`) on, continuation lines joined. */
  text: string;
  /** Whether it is in a fenced code block (else an inline code span). */
  fenced: boolean;
  /** Whether it is a fragment of prose, a span that starts with a command name and has an
   * option (`` `bench --replay waited` ``): its options are checked, not its completeness. */
  fragment?: boolean;
}

/** What a command line runs, as {@link parseDocCommand} reads it. */
export type DocCommand =
  | {
    /** The harness CLI (`main.ts`), through `deno task harness`, a task or `deno run`. */
    kind: "harness";
    /** The arguments after `main.ts`. */
    args: string[];
  }
  | {
    /** A script under tools/. */
    kind: "tool";
    /** Its path as written (`tools/tune_plan.ts`). */
    script: string;
    /** The arguments after it. */
    args: string[];
  }
  | {
    /** A deno.json task that runs neither (`deno task test`): not checked further. */
    kind: "other";
  }
  | {
    /** Something the line names that does not exist (an unknown task). */
    kind: "error";
    /** What is wrong. */
    message: string;
  };

/** An option of a command, as the checks need it. */
export interface OptionSpec {
  /** `--name` (with `--no-` for a negatable one), if any. */
  long?: string;
  /** `-x`, if any. */
  short?: string;
  /** Whether the option takes a value (`--out <dir>`, `--level [n]`). */
  takesValue: boolean;
  /** Whether that value may be left out (`[n]`). */
  optionalValue: boolean;
  /** Whether it takes several values (`<reports...>`). */
  variadic: boolean;
  /** Whether the command refuses to run without it. */
  mandatory: boolean;
  /** The values it accepts, where they are a fixed set. */
  choices?: readonly string[];
}

/** A positional argument of a command. */
export interface ArgumentSpec {
  /** Its name (`baseline`). */
  name: string;
  /** Whether it must be given. */
  required: boolean;
  /** Whether it takes every remaining word. */
  variadic: boolean;
}

/** A command (or the program) with its options, positional arguments and subcommands. */
export interface CommandSpec {
  /** Its name (`run`; the program's own name at the root). */
  name: string;
  /** Its options. */
  options: OptionSpec[];
  /** Its positional arguments. */
  args: ArgumentSpec[];
  /** Its subcommands (`baseline update`). */
  commands: CommandSpec[];
}

/**
 * The shape of a commander `Command` that {@link commandSpec} reads (so that this module needs
 * no commander import).
 */
export interface CommanderLike {
  /** The command's name. */
  name(): string;
  /** Its options. */
  readonly options: readonly {
    long?: string;
    short?: string;
    required: boolean;
    optional: boolean;
    variadic: boolean;
    mandatory: boolean;
    argChoices?: string[];
  }[];
  /** Its positional arguments. */
  readonly registeredArguments: readonly {
    name(): string;
    required: boolean;
    variadic: boolean;
  }[];
  /** Its subcommands. */
  readonly commands: readonly CommanderLike[];
}

/**
 * A commander command as a {@link CommandSpec}, its subcommands included.
 *
 * @example
 * ```ts
 * import { Command } from "@commander-js/extra-typings";
 * import { commandSpec } from "./doc_commands.ts";
 * const spec = commandSpec(new Command("x").option("--out <dir>"));
 * spec.options[0].long; // "--out"
 * spec.options[0].takesValue; // true
 * ```
 */
export function commandSpec(cmd: CommanderLike): CommandSpec {
  return {
    name: cmd.name(),
    options: cmd.options.map((o) => ({
      ...(o.long === undefined ? {} : { long: o.long }),
      ...(o.short === undefined ? {} : { short: o.short }),
      takesValue: o.required || o.optional,
      optionalValue: o.optional,
      variadic: o.variadic,
      mandatory: o.mandatory,
      ...(o.argChoices === undefined ? {} : { choices: [...o.argChoices] }),
    })),
    args: cmd.registeredArguments.map((a) => ({
      name: a.name(),
      required: a.required,
      variadic: a.variadic,
    })),
    commands: cmd.commands.map(commandSpec),
  };
}

/** Where a command starts: `deno task`/`deno run`, also as `npx --yes deno@2.9.6 task`. */
const COMMAND_START = /(?:\bnpx\s+(?:--yes\s+|-y\s+)?)?\bdeno(?:@[\w.-]+)?\s+(?:task|run)\b/g;

/** A line that opens or closes a fenced code block: its fence (``` or ~~~, 3 or more). */
const FENCE = /^\s*(`{3,}|~{3,})/;

/**
 * The command lines of a Markdown text: every `deno task ...` / `deno run ...` in a fenced
 * code block (shell comments left out, `\` continuations joined) or in an inline code span.
 *
 * @example
 * ```ts
 * import { commandLines } from "./doc_commands.ts";
 * commandLines("Run `deno task harness devices --json`.")[0].text; // "deno task harness devices --json"
 * const fence = "`".repeat(3);
 * const sh = `${fence}sh\n# deno task x (a comment)\ndeno task harness run \\\n  --matrix smoke\n${fence}\n`;
 * commandLines(sh).map((c) => c.line); // [3]
 * commandLines(sh)[0].text; // "deno task harness run --matrix smoke"
 * ```
 */
export function commandLines(
  markdown: string,
  commandNames: readonly string[] = [],
): DocCommandLine[] {
  const lines = markdown.split("\n");
  const found: DocCommandLine[] = [];
  let fence: string | null = null;
  let prose: { line: number; text: string }[] = [];
  const flushProse = () => {
    found.push(...inlineCommands(prose, commandNames));
    prose = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const f = FENCE.exec(lines[i]);
    if (fence === null && f) {
      flushProse();
      fence = f[1];
      continue;
    }
    if (fence !== null) {
      if (
        f && f[1][0] === fence[0] && f[1].length >= fence.length && !/\S/.test(
          lines[i].slice(lines[i].indexOf(f[1]) + f[1].length),
        )
      ) {
        fence = null;
        continue;
      }
      // a line ending in `\` continues on the next one
      const start = i;
      let text = lines[i];
      while (/\\\s*$/.test(text) && i + 1 < lines.length && !FENCE.test(lines[i + 1])) {
        text = text.replace(/\s*\\\s*$/, " ") + lines[++i].trim();
      }
      const code = stripShellComment(text);
      for (const m of code.matchAll(COMMAND_START)) {
        found.push({ line: start + 1, text: code.slice(m.index).trim(), fenced: true });
        break; // one command a line: a second `deno` is in the first one's arguments
      }
      continue;
    }
    // prose: paragraphs, whose inline code spans may break across lines
    if (lines[i].trim() === "") flushProse();
    else prose.push({ line: i + 1, text: lines[i] });
  }
  flushProse();
  return found;
}

/** The commands in the inline code spans of one paragraph (lines in order). */
function inlineCommands(
  paragraph: { line: number; text: string }[],
  commandNames: readonly string[],
): DocCommandLine[] {
  if (paragraph.length === 0) return [];
  const text = paragraph.map((l) => l.text).join("\n");
  const lineAt = (offset: number) => paragraph[text.slice(0, offset).split("\n").length - 1].line;
  const found: DocCommandLine[] = [];
  // a code span: a run of backticks, then text up to the same run (CommonMark)
  const span = /(`+)([\s\S]*?[^`])\1(?!`)/g;
  for (const m of text.matchAll(span)) {
    // COMMAND_START's white space takes a line break too: `deno task\nharness`
    const c = [...m[2].matchAll(COMMAND_START)][0];
    if (c !== undefined) {
      found.push({
        line: lineAt(m.index + m[1].length + c.index),
        text: m[2].slice(c.index).replace(/\s*\n\s*/g, " ").trim(),
        fenced: false,
      });
      continue;
    }
    // `bench --replay waited`: a command of the program named with an option
    const words = m[2].trim().split(/\s+/);
    if (commandNames.includes(words[0]) && words.some((w) => /^-/.test(w))) {
      found.push({
        line: lineAt(m.index + m[1].length),
        text: m[2].replace(/\s*\n\s*/g, " ").trim(),
        fenced: false,
        fragment: true,
      });
    }
  }
  return found;
}

/** A shell line without its comment (a `#` that starts a word outside quotes). */
function stripShellComment(line: string): string {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === "\\") i++;
    else if (c === "#" && (i === 0 || /\s/.test(line[i - 1]))) return line.slice(0, i);
  }
  return line;
}

/** Words that end a command: what follows is another command or a redirection. */
const COMMAND_END = new Set(["|", "||", "&&", ";", ">", ">>", "2>&1", "&"]);

/**
 * The words of a shell command as the shell splits them (quotes removed, a `#` word start
 * ends it), up to the first control operator (`|`, `&&`, `;`, `>`). `<dir>`-style
 * placeholders stay words.
 *
 * @example
 * ```ts
 * import { shellWords } from "./doc_commands.ts";
 * shellWords(`run --filter 'a;b' --out "x y" | tee z`); // ["run", "--filter", "a;b", "--out", "x y"]
 * shellWords("run --resume # a comment"); // ["run", "--resume"]
 * ```
 */
export function shellWords(text: string): string[] {
  const words: string[] = [];
  let word: string | null = null;
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = null;
      else word += c;
      continue;
    }
    if (/\s/.test(c)) {
      if (word !== null) {
        if (COMMAND_END.has(word)) return words;
        words.push(word);
      }
      word = null;
      continue;
    }
    if (c === "#" && word === null) break;
    if (c === "'" || c === '"') {
      quote = c;
      word ??= "";
      continue;
    }
    if (c === "\\" && i + 1 < text.length) {
      word = (word ?? "") + text[++i];
      continue;
    }
    word = (word ?? "") + c;
  }
  if (word !== null && !COMMAND_END.has(word)) words.push(word);
  return words;
}

/**
 * What a command line runs: the harness CLI with its arguments (`deno task harness ...`,
 * `deno run ... main.ts ...`, or a deno.json task that runs main.ts, its own arguments first),
 * a tool under tools/ with its arguments, another task, or null for a `deno run` of nothing
 * this checks (`deno run -A` alone, a URL). `tasks` is deno.json's `tasks`.
 *
 * @example
 * ```ts
 * import { parseDocCommand } from "./doc_commands.ts";
 * const tasks = { run: "deno run -A main.ts run --matrix smoke", harness: "deno run -A main.ts" };
 * const c = parseDocCommand("deno task run --resume", tasks);
 * c?.kind === "harness" ? c.args : []; // ["run", "--matrix", "smoke", "--resume"]
 * parseDocCommand("deno run -A tools/x.ts --n 3", tasks); // { kind: "tool", script: "tools/x.ts" }
 * ```
 */
export function parseDocCommand(text: string, tasks: Record<string, string>): DocCommand | null {
  const words = shellWords(text);
  // `npx --yes deno@2.9.6 task ...`: from the deno word on
  const at = words.findIndex((w) => /^deno(@[\w.-]+)?$/.test(w));
  if (at < 0) return null;
  const [verb, ...rest] = words.slice(at + 1);
  if (verb === "task") {
    const [name, ...extra] = rest;
    if (name === undefined || isPlaceholder(name) || isEllipsis(name)) return null;
    const task = tasks[name];
    if (task === undefined) {
      return {
        kind: "error",
        message: `deno task ${name}: deno.json has no such task (tasks: ${
          Object.keys(tasks).join(", ")
        })`,
      };
    }
    const inner = parseDocCommand(task, {});
    if (inner === null || inner.kind === "other" || inner.kind === "error") {
      return { kind: "other" };
    }
    return { ...inner, args: [...inner.args, ...extra] };
  }
  if (verb !== "run") return null;
  // deno's own flags (`-A`, `--allow-read`, `--allow-env=X`), then the script
  const script = rest.findIndex((w) => !w.startsWith("-"));
  if (script < 0) return null;
  const file = rest[script].replace(/^\.\//, "");
  const args = rest.slice(script + 1);
  if (file === "main.ts") return { kind: "harness", args };
  if (/^tools\/[\w.-]+\.ts$/.test(file)) return { kind: "tool", script: file, args };
  return null;
}

/** Whether a word stands for a value the docs leave open (`<dir>`, `a|b`, `[-sg]`, `$VAR`). */
function isPlaceholder(word: string): boolean {
  return /[<>|[\]$*]|\.\.\./.test(word);
}

/** Whether a word ends what a doc line shows of a command (`...`: the rest is left out). */
function isEllipsis(word: string): boolean {
  return word === "..." || word === "…";
}

/**
 * The problems of one harness command line (the arguments after `main.ts`) against the
 * program's commands: an unknown command or subcommand, an option the command does not list,
 * a value outside an option's fixed set, an option without its value, more positional
 * arguments than the command takes, and, unless the line ends in `...`, a missing required
 * argument or option. Empty when the line would parse. `--help` is every command's. With
 * `optionsOnly` (a prose fragment such as `` `run --out --resume` ``) only the options' names and
 * fixed values are checked: not their values' presence, the positional arguments or what is
 * required.
 *
 * @example
 * ```ts
 * import { checkHarnessArgs, type CommandSpec } from "./doc_commands.ts";
 * const run: CommandSpec = {
 *   name: "run",
 *   args: [],
 *   commands: [],
 *   options: [{ long: "--out", takesValue: true, optionalValue: false, variadic: false, mandatory: false }],
 * };
 * const program: CommandSpec = { name: "mla-harness", options: [], args: [], commands: [run] };
 * checkHarnessArgs(["run", "--out", "x"], program); // []
 * checkHarnessArgs(["run", "--ouT", "x"], program); // ['run: unknown option "--ouT" (run --help lists: --out)']
 * checkHarnessArgs(["run", "--out"], program); // ["run: --out needs a value"]
 * checkHarnessArgs(["run", "--out"], program, { optionsOnly: true }); // []
 * ```
 */
export function checkHarnessArgs(
  words: readonly string[],
  program: CommandSpec,
  options: { optionsOnly?: boolean } = {},
): string[] {
  // prose names two options at once: `--from-ref/--to-ref`
  const args = words.flatMap((w) => /^--[\w-]+(\/--[\w-]+)+$/.test(w) ? w.split("/") : [w]);
  const problems: string[] = [];
  let cmd = program;
  const path: string[] = [];
  let i = 0;
  while (cmd.commands.length > 0) {
    const w = args[i];
    if (w === undefined || isEllipsis(w) || isPlaceholder(w)) return problems;
    if (w === "--help" || w === "-h") return problems;
    const sub = cmd.commands.find((c) => c.name === w);
    if (!sub) {
      const where = path.length ? `${path.join(" ")}: unknown subcommand` : "unknown command";
      problems.push(
        `${where} "${w}" (commands: ${cmd.commands.map((c) => c.name).join(", ")})`,
      );
      return problems;
    }
    cmd = sub;
    path.push(w);
    i++;
  }
  const name = path.join(" ");
  const positionals: string[] = [];
  const given = new Set<OptionSpec>();
  // a prose fragment shows options, not a whole command line
  let partial = options.optionsOnly === true;
  let unknown = false;
  let bracket = false;
  for (; i < args.length; i++) {
    let w = args[i];
    if (isEllipsis(w)) {
      partial = true;
      break;
    }
    // `[--knobs a,b]`: an optional flag as a usage line writes it
    if (w.startsWith("[-")) {
      w = w.slice(1);
      bracket = true;
    }
    if (bracket && w.endsWith("]")) {
      w = w.slice(0, -1);
      bracket = false;
    }
    if (w === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (w === "--help" || w === "-h") return problems;
    if (!w.startsWith("-") || w === "-") {
      positionals.push(w);
      continue;
    }
    const eq = w.indexOf("=");
    const flag = eq >= 0 ? w.slice(0, eq) : w;
    const opt = cmd.options.find((o) => o.long === flag || o.short === flag);
    if (!opt) {
      const listed = cmd.options.map((o) => o.long ?? o.short).join(", ");
      problems.push(`${name}: unknown option "${flag}" (${name} --help lists: ${listed})`);
      // whether it took the next word as its value is unknown: positionals are not counted
      unknown = true;
      continue;
    }
    given.add(opt);
    if (!opt.takesValue) {
      if (eq >= 0) problems.push(`${name}: ${flag} takes no value ("${w}")`);
      continue;
    }
    const values: string[] = [];
    if (eq >= 0) values.push(w.slice(eq + 1));
    else {
      const next = args[i + 1];
      if (next !== undefined && !isEllipsis(next) && (!next.startsWith("-") || next === "-")) {
        values.push(next.replace(/\]$/, ""));
        if (bracket && next.endsWith("]")) bracket = false;
        i++;
        // a variadic option takes every following word up to the next option
        while (opt.variadic && args[i + 1] !== undefined && !args[i + 1].startsWith("-")) {
          if (isEllipsis(args[i + 1])) break;
          values.push(args[++i]);
        }
      } else if (next !== undefined && isEllipsis(next)) {
        partial = true;
        break;
      } else if (!opt.optionalValue && !partial) {
        problems.push(`${name}: ${flag} needs a value`);
      }
    }
    if (opt.choices) {
      for (const v of values) {
        if (!isPlaceholder(v) && !opt.choices.includes(v)) {
          problems.push(
            `${name}: ${flag} ${v}: not one of its values (${opt.choices.join(", ")})`,
          );
        }
      }
    }
  }
  const variadic = cmd.args.some((a) => a.variadic);
  if (!partial && !unknown && !variadic && positionals.length > cmd.args.length) {
    problems.push(
      `${name}: ${positionals.length} arguments (${
        positionals.map((p) => `"${p}"`).join(", ")
      }), it takes ${cmd.args.length ? cmd.args.map((a) => `<${a.name}>`).join(" ") : "none"}`,
    );
  }
  if (!partial && !unknown) {
    const required = cmd.args.filter((a) => a.required).length;
    if (positionals.length < required) {
      problems.push(
        `${name}: missing argument <${cmd.args[positionals.length].name}>`,
      );
    }
    for (const o of cmd.options) {
      if (o.mandatory && !given.has(o)) problems.push(`${name}: missing required ${o.long}`);
    }
  }
  return problems;
}

/**
 * The flags a tool's source declares through `node:util`'s `parseArgs` (the keys of the
 * `options` object of its first `parseArgs({...})` call, or of tools/tool_args.ts
 * `toolArgs({...})`, as `--key`, and each `short` as `-x`), or null when it has no such
 * call (it reads `Deno.args` itself).
 *
 * @example
 * ```ts
 * import { toolFlags } from "./doc_commands.ts";
 * const src = 'parseArgs({ args: Deno.args, options: { rounds: { type: "string" }, ' +
 *   '"min-gain": { type: "string" }, help: { type: "boolean", short: "h" } } });';
 * toolFlags(src); // ["--rounds", "--min-gain", "--help", "-h"]
 * toolFlags("const n = Number(Deno.args[0]);"); // null
 * ```
 */
export function toolFlags(source: string): string[] | null {
  const masked = mask(source, scan(source), true);
  const call = masked.search(/\b(?:parseArgs|toolArgs)\s*\(\s*\{/);
  if (call < 0) return null;
  const opts = /\boptions\s*:\s*\{/g;
  opts.lastIndex = call;
  const m = opts.exec(masked);
  if (!m) return null;
  const flags: string[] = [];
  const shorts: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = m.index + m[0].length - 1; i < masked.length; i++) {
    const c = masked[i];
    if (c === "{" || c === "[" || c === "(") {
      depth++;
      if (depth === 1) expectKey = true;
      continue;
    }
    if (c === "}" || c === "]" || c === ")") {
      depth--;
      if (depth === 0) break;
      continue;
    }
    if (depth === 1 && c === ",") {
      expectKey = true;
      continue;
    }
    if (depth === 1 && expectKey && /\S/.test(c)) {
      // a key: a name, or a quoted string (read from the source, the mask blanks it)
      const key = c === '"' || c === "'"
        ? /^(["'])(.*?)\1/.exec(source.slice(i))?.[2]
        : /^[\w$]+/.exec(masked.slice(i))?.[0];
      if (key !== undefined) flags.push(`--${key}`);
      expectKey = false;
      continue;
    }
    if (depth === 2 && masked.startsWith("short", i) && /^short\s*:/.test(masked.slice(i))) {
      const s = /^short\s*:\s*(["'])(.*?)\1/.exec(source.slice(i))?.[2];
      if (s) shorts.push(`-${s}`);
    }
  }
  return [...flags, ...shorts];
}

/**
 * The problems of one tool command line: each `--flag` (and `-x`) must be one the tool
 * declares ({@link toolFlags}); a tool that reads `Deno.args` itself must at least spell the
 * flag in its source. Words after a `...` are not checked.
 *
 * @example
 * ```ts
 * import { checkToolArgs } from "./doc_commands.ts";
 * const src = 'parseArgs({ options: { seeds: { type: "string" } } });';
 * checkToolArgs("tools/t.ts", ["--seeds", "6"], src); // []
 * checkToolArgs("tools/t.ts", ["--seed", "6"], src); // ['tools/t.ts: unknown flag "--seed" (it reads: --seeds)']
 * ```
 */
export function checkToolArgs(script: string, args: readonly string[], source: string): string[] {
  const declared = toolFlags(source);
  const problems: string[] = [];
  for (const raw of args) {
    if (isEllipsis(raw)) break;
    const w = raw.replace(/^\[/, "").replace(/\]$/, "");
    if (!w.startsWith("-") || w === "-" || w === "--") continue;
    const flag = w.includes("=") ? w.slice(0, w.indexOf("=")) : w;
    if (declared !== null) {
      if (!declared.includes(flag)) {
        problems.push(`${script}: unknown flag "${flag}" (it reads: ${declared.join(", ")})`);
      }
    } else if (!new RegExp(`["'\`]${escapeRegExp(flag)}["'\`=]`).test(source)) {
      problems.push(`${script}: "${flag}" is not in its source (it reads Deno.args itself)`);
    }
  }
  return problems;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** What {@link checkDocCommands} needs besides the text. */
export interface DocCheckContext {
  /** The program, as {@link commandSpec} gives it. */
  program: CommandSpec;
  /** deno.json's `tasks`. */
  tasks: Record<string, string>;
  /** The source of a tool (`tools/x.ts`), or null where there is no such file. */
  readTool: (script: string) => string | null;
  /** Tools whose arguments go on to another program (`tools/test_runner.ts`: to `deno test`):
   * their flags are not checked. */
  passThrough?: readonly string[];
}

/** One command line of a doc, and its problems. */
export interface DocCommandCheck extends DocCommandLine {
  /** What it runs (null: nothing checked, e.g. a `deno run` of a URL). */
  command: DocCommand | null;
  /** What is wrong with it; empty when nothing is. */
  problems: string[];
}

/**
 * Every command line of a Markdown text ({@link commandLines}), each checked against the
 * program, the tasks and the tools.
 *
 * @example
 * ```ts
 * import { checkDocCommands } from "./doc_commands.ts";
 * const program = { name: "mla-harness", options: [], args: [], commands: [] };
 * const ctx = { program, tasks: {}, readTool: () => null };
 * const [c] = checkDocCommands("Run `deno run -A tools/gone.ts --x`.", ctx);
 * c.problems; // ["tools/gone.ts: no such file"]
 * ```
 */
export function checkDocCommands(markdown: string, ctx: DocCheckContext): DocCommandCheck[] {
  const names = ctx.program.commands.map((c) => c.name);
  return commandLines(markdown, names).map((l) => {
    const command: DocCommand | null = l.fragment
      ? { kind: "harness", args: shellWords(l.text) }
      : parseDocCommand(l.text, ctx.tasks);
    let problems: string[] = [];
    if (command?.kind === "error") problems = [command.message];
    else if (command?.kind === "harness") {
      problems = checkHarnessArgs(command.args, ctx.program, { optionsOnly: l.fragment });
    } else if (command?.kind === "tool") {
      const source = ctx.readTool(command.script);
      problems = source === null
        ? [`${command.script}: no such file`]
        : ctx.passThrough?.includes(command.script)
        ? []
        : checkToolArgs(command.script, command.args, source);
    }
    return { ...l, command, problems };
  });
}
