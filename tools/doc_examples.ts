/**
 * Running the JSDoc examples of some rooms in ONE Deno process, where `deno test --doc` starts a
 * worker per example (about 0.3 s each, mostly isolate start and module loading).
 *
 * The examples are the ones `deno test --doc` selects: in every `/** ... *\/` comment, each fence
 * whose first word is a script language (`ts`, `typescript`, `js`, `javascript`, `tsx`, `jsx`,
 * `mts`, `cts`, `mjs`, `cjs`) and which has no `ignore` word; a fence with no language or another
 * one (`json`, `text`) is not an example. As Deno does, each line loses the comment's `* ` (and
 * a `# ` after it), and an example sees the value exports of its source file that it does not
 * import itself. Each example becomes a module in a temp folder, its relative imports resolved against
 * its source file; one driver module imports them in turn, so the examples share one isolate
 * (and its globals), and prints one `FAILED file:start-end: error` line per failing example and
 * `doc examples: N ran, F failed`. Unlike `deno test`, nothing checks for leaked timers or
 * resources, and an example's shebang permissions are not applied (both are unused here). Two
 * more differences: an example that declares its inputs (`declare const r: RunReport;`) is not
 * run ({@link declaresInputs}: it would fail on the undeclared name), and a result comment that
 * starts with a value is checked against what its statement gives (tools/doc_claims.ts).
 *
 * `tests/doc_examples_test.ts` runs the GPU-free rooms this way; by hand:
 * `deno run --allow-read --allow-write --allow-env --allow-run tools/doc_examples.ts util adapter`
 * (`--list` prints the examples instead).
 *
 * @module
 */
import { rewriteClaims } from "./doc_claims.ts";
import { mask, scan } from "./js_scan.ts";

/** One JSDoc example, as `deno test --doc` would run it. */
export interface DocExample {
  /** The source file, as the rooms name it (e.g. `adapter/spec.ts`). */
  file: string;
  /** 1-based line of the opening fence (Deno's name for the example, `spec.ts#20-25.ts`, has
   * this as its first number and the closing fence's line + 1 as its second). */
  start: number;
  /** 1-based line of the closing fence. */
  end: number;
  /** The extension of the example's module, from the fence's language (`.ts`, `.js`, ...). */
  extension: string;
  /** The example's code: the fence's lines without the comment's `* `, one per entry of `lines`. */
  code: string;
  /** The source line of each line of `code`. */
  lines: number[];
  /** A first line `#!...`, which Deno turns into the example's permissions (not applied here). */
  shebang?: string;
}

/** The value exports of a source file that its examples see without importing them. */
export interface SourceExports {
  /** Names exported by a declaration or an `export { ... }` list (types left out). */
  named: string[];
  /** The local name of a named default export (`export default function f`). */
  defaultName?: string;
}

/** One example module of a run, as the driver imports it. */
export interface ExampleEntry {
  /** The module's `file:` URL. */
  url: string;
  /** The source file the example is from, as the rooms name it. */
  file: string;
  /** Line of the opening fence. */
  start: number;
  /** Line of the closing fence. */
  end: number;
  /** The source line of each line of the module after the first (see {@link exampleModule}). */
  lines: number[];
}

/** What {@link runDocExamples} saw. */
export interface DocExampleRun {
  /** How many examples ran: the rooms' examples (as `deno test --doc` picks them) but the
   * type-only ones. */
  count: number;
  /** Examples that declare their inputs ({@link declaresInputs}): type-checked, never run. */
  typeOnly: number;
  /** Result comments checked as claims in them (tools/doc_claims.ts). */
  claims: number;
  /** The driver's exit code: 0 when every example ran without an error. */
  code: number;
  /** The driver's stdout and stderr (examples' own output included). */
  output: string;
  /** The driver's last line, `doc examples: N ran, F failed`, read back; null when missing. */
  summary: { ran: number; failed: number } | null;
}

/** Fence languages whose examples run, with their module's extension (Deno's list). */
const LANGUAGES: Readonly<Record<string, string>> = {
  js: ".js",
  javascript: ".js",
  mjs: ".mjs",
  cjs: ".cjs",
  jsx: ".jsx",
  ts: ".ts",
  typescript: ".ts",
  mts: ".mts",
  cts: ".cts",
  tsx: ".tsx",
};

/** Files whose comments are read (test files are not rooms' code). */
const SOURCE_FILE = /\.(ts|tsx|mts|js|jsx|mjs)$/;
const TEST_FILE = /_test\.(ts|tsx|mts|js|jsx|mjs)$/;

/** A fenced block of a comment: its info string and its text. */
const FENCE = /```([^\r\n]*)\r?\n([\s\S]*?)```/g;
const COMMENT_LINE = /(?:\* ?)((#!+).*)|(?:\* ?)(?:# ?)?(.*)/;

/** A leading `>` of a blockquoted line, after up to three spaces, and one space after it. */
function stripQuoteMarker(line: string): string {
  const m = /^ {0,3}>[ \t]?/.exec(line);
  return m ? line.slice(m[0].length) : line;
}

/**
 * The JSDoc examples of one source text, in order: the fences of its `/** *\/` comments that
 * `deno test --doc` runs (a script language first, no `ignore`), with the comment's `* ` taken
 * off each line and the line numbers of the fences.
 *
 * @example
 * ```ts
 * import { extractExamples } from "./doc_examples.ts";
 * const fence = "`".repeat(3);
 * const source = `/**\n * @example\n * ${fence}ts\n * f(1);\n * ${fence}\n *\/\nexport const f = Math.abs;\n`;
 * const [example] = extractExamples(source, "f.ts");
 * console.log(example.start, example.end, example.code); // 3 5 "f(1);\n"
 * ```
 */
export function extractExamples(source: string, file: string): DocExample[] {
  const examples: DocExample[] = [];
  let line = 0; // 0-based line of `lineAt`
  let lineAt = 0;
  for (const span of scan(source)) {
    if (span.kind !== "block-comment") continue;
    // the comment's text as Deno sees it: between `/*` and `*/`, a JSDoc one starting with `*`
    const closed = source.startsWith("*/", span.end - 2) && span.end - span.start >= 4;
    const text = source.slice(span.start + 2, closed ? span.end - 2 : span.end);
    if (!text.startsWith("*")) continue;
    for (; lineAt < span.start; lineAt++) if (source[lineAt] === "\n") line++;
    for (const m of text.matchAll(FENCE)) {
      const words = m[1].split(" ");
      const extension = LANGUAGES[words[0]];
      if (words.includes("ignore") || extension === undefined) continue;
      const before = text.slice(0, m.index);
      const start = line + before.split("\n").length; // 1-based line of the opening fence
      const end = start + m[0].split("\n").length - 1;
      const fenceLine = before.slice(before.lastIndexOf("\n") + 1);
      const quoted = fenceLine.replace(/^[ \t*]*/, "").startsWith(">");
      const bodyLines = m[2].split("\n");
      if (bodyLines[bodyLines.length - 1] === "") bodyLines.pop();
      const example: DocExample = { file, start, end, extension, code: "", lines: [] };
      bodyLines.forEach((raw, k) => {
        const c = COMMENT_LINE.exec(raw.replace(/\r$/, ""));
        if (c === null) return; // a line without `*`: Deno leaves it out
        let code = c[1] ?? c[3];
        if (quoted) {
          for (let s = stripQuoteMarker(code); s !== code; s = stripQuoteMarker(code)) code = s;
        }
        if (example.lines.length === 0 && example.shebang === undefined && code.startsWith("#!")) {
          example.shebang = code;
          return;
        }
        example.code += code + "\n";
        example.lines.push(start + 1 + k);
      });
      examples.push(example);
    }
  }
  return examples;
}

const IDENT = "[A-Za-z_$][\\w$]*";

/** The binding names of a `const` pattern: `a`, `{ a, b: c, ...d }`, `[a, b]` (one level). */
function patternNames(pattern: string): string[] {
  if (!/^[{[]/.test(pattern)) return [pattern];
  return pattern.slice(1, -1).split(",").map((part) => {
    const name = part.replace(/=[\s\S]*$/, "").replace(/^\s*\.\.\./, "").split(":").pop() ?? "";
    return name.trim();
  }).filter((n) => new RegExp(`^${IDENT}$`).test(n));
}

/**
 * The value exports of a source text that Deno hands its examples without an import: exported
 * functions, classes, enums, namespaces, variables and `export { ... }` names (types and
 * `declare`d names have no value at run time and are left out; `export *` is not followed, as
 * Deno does not). Read by pattern from the code, not parsed: `export const a = 1, b = 2` gives
 * `a` only.
 *
 * @example
 * ```ts
 * import { sourceExports } from "./doc_examples.ts";
 * sourceExports("export function f() {}\nexport type T = 1;\nexport { g as h };");
 * // { named: ["f", "h"] }
 * ```
 */
export function sourceExports(source: string): SourceExports {
  const code = mask(source, scan(source), true);
  const named = new Set<string>();
  const decl = new RegExp(
    `\\bexport\\s+(?:async\\s+function\\b|function\\b|abstract\\s+class\\b|class\\b|` +
      `const\\s+enum\\b|enum\\b|namespace\\b|module\\b)\\s*\\*?\\s*(${IDENT})`,
    "g",
  );
  for (const m of code.matchAll(decl)) named.add(m[1]);
  const variable = new RegExp(
    `\\bexport\\s+(?:const|let|var)\\s+(${IDENT}|\\{[^}]*\\}|\\[[^\\]]*\\])`,
    "g",
  );
  for (const m of code.matchAll(variable)) for (const n of patternNames(m[1])) named.add(n);
  for (const m of code.matchAll(/\bexport\s+(type\s+)?\{([^}]*)\}/g)) {
    if (m[1]) continue;
    for (const spec of m[2].split(",")) {
      const words = spec.trim().split(/\s+/);
      if (words[0] === "type" && words.length > 1) continue;
      const name = words[words.length - 1];
      if (name !== "default" && new RegExp(`^${IDENT}$`).test(name)) named.add(name);
    }
  }
  const result: SourceExports = { named: [...named] };
  const byDecl = new RegExp(
    `\\bexport\\s+default\\s+(?:async\\s+)?(?:function\\b\\s*\\*?|class\\b)\\s*(${IDENT})`,
  ).exec(code);
  const byName = new RegExp(`\\bexport\\s+default\\s+(${IDENT})\\s*(?:;|$)`, "m").exec(code);
  const defaultName = byDecl?.[1] ?? byName?.[1];
  if (defaultName !== undefined && !named.has(defaultName)) result.defaultName = defaultName;
  return result;
}

/** The local names an import clause binds (`a`, `* as ns`, `{ b, c as d, type E }`). */
function importedNames(clause: string): string[] {
  const names: string[] = [];
  const body = clause.replace(/^\s*import\s+(?:type\s+)?/, "").replace(/\bfrom\s*$/, "");
  const braces = /\{([^}]*)\}/.exec(body);
  if (braces) {
    for (const spec of braces[1].split(",")) {
      const words = spec.trim().split(/\s+/);
      if (words[0] !== "") names.push(words[words.length - 1]);
    }
  }
  const outside = body.replace(/\{[^}]*\}/, "");
  const star = new RegExp(`\\*\\s*as\\s+(${IDENT})`).exec(outside);
  if (star) names.push(star[1]);
  const first = new RegExp(`^\\s*(${IDENT})\\s*(?:,|$)`).exec(outside);
  if (first) names.push(first[1]);
  return names;
}

/** Replace `[start, end)` ranges of `text` (none overlapping), last first. */
function applyEdits(text: string, edits: { start: number; end: number; with: string }[]): string {
  let out = text;
  for (const e of [...edits].sort((a, b) => b.start - a.start)) {
    out = out.slice(0, e.start) + e.with + out.slice(e.end);
  }
  return out;
}

/** The newlines of `text`, nothing else (what replaces a moved stretch, keeping lines). */
function newlinesOf(text: string): string {
  return text.replace(/[^\n]/g, "");
}

/**
 * The module that runs one example, for a temp folder: the example's imports (relative ones as
 * `file:` URLs against `sourceUrl`, bare ones left to the import map) and the source's value
 * exports on line 1, then the example's lines inside the async function the module exports as
 * its default, their `export` keywords dropped (as Deno wraps them in `Deno.test`). Line n + 1
 * of the module is line n of `example.code`. `import.meta` reads as the source file's.
 *
 * @example
 * ```ts
 * import { exampleModule } from "./doc_examples.ts";
 * const example = {
 *   file: "util/a.ts",
 *   start: 3,
 *   end: 6,
 *   extension: ".ts",
 *   code: 'import { f } from "./a.ts";\nf();\n',
 *   lines: [4, 5],
 * };
 * exampleModule(example, "file:///p/util/a.ts", { named: ["f", "g"] });
 * // 'import { f } from "file:///p/util/a.ts"; import * as __docSource from ...'
 * ```
 */
export function exampleModule(
  example: DocExample,
  sourceUrl: string,
  exports: SourceExports,
): string {
  if (/^\s*Deno\.test\(/m.test(example.code)) {
    // Deno runs such an example as a test module; `deno run` would register and skip its tests
    return `throw new Error("the example calls Deno.test, which this runner does not run");\n`;
  }
  // 0. result comments checked (tools/doc_claims.ts), line for line
  const claims = rewriteClaims(example.code, (i) => `${example.file}:${example.lines[i]}`);
  const withClaims = claims.code;
  // 1. module specifiers and import.meta against the source file
  let spans = scan(withClaims);
  let masked = mask(withClaims, spans, true);
  const edits: { start: number; end: number; with: string }[] = [];
  let usesMeta = false;
  for (const s of spans) {
    if (s.kind !== "string") continue;
    const specifier = withClaims.slice(s.start + 1, s.end - 1);
    if (!/^\.\.?\//.test(specifier)) continue;
    if (!/(?:\bfrom|\bimport|\bimport\s*\()$/.test(masked.slice(0, s.start).trimEnd())) continue;
    edits.push({
      start: s.start,
      end: s.end,
      with: JSON.stringify(new URL(specifier, sourceUrl).href),
    });
  }
  for (const m of masked.matchAll(/\bimport\s*\.\s*meta\b/g)) {
    edits.push({ start: m.index, end: m.index + m[0].length, with: "__docMeta" });
    usesMeta = true;
  }
  const code = applyEdits(withClaims, edits);

  // 2. imports and re-exports up to the module's first line; `export` keywords off
  spans = scan(code);
  masked = mask(code, spans, true);
  const noComments = mask(code, spans, false);
  const hoisted: string[] = [];
  const imported = new Set<string>();
  edits.length = 0;
  const moduleDecl = new RegExp(
    `(?<=^|[;}\\n])[ \\t]*(?:(import\\b(?!\\s*[.(])[\\s\\w$,{}*]*?(?:\\bfrom\\s*)?)|` +
      `export\\s*(?:type\\s*)?(?:\\*(?:\\s*as\\s+${IDENT})?|\\{[\\s\\w$,]*\\})\\s*from\\s*)` +
      `(["'])_*\\2(?:\\s*(?:with|assert)\\s*\\{[^}]*\\})?[ \\t]*;?`,
    "g",
  );
  for (const m of masked.matchAll(moduleDecl)) {
    const text = noComments.slice(m.index, m.index + m[0].length);
    hoisted.push(text.trim().replace(/\s*\n\s*/g, " ").replace(/;?$/, ";"));
    if (m[1] !== undefined) { for (const n of importedNames(m[1])) imported.add(n); }
    edits.push({ start: m.index, end: m.index + m[0].length, with: newlinesOf(text) });
  }
  const exportKeyword = new RegExp(
    `(?<=^|[;}\\n][ \\t]*)export\\s+(?:default\\s+|(?=(?:async|function|class|const|let|var|` +
      `enum|interface|type\\s+${IDENT}|abstract|declare|namespace|module)\\b))`,
    "g",
  );
  for (const m of masked.matchAll(exportKeyword)) {
    if (edits.some((e) => e.start <= m.index && m.index < e.end)) continue;
    edits.push({ start: m.index, end: m.index + m[0].length, with: newlinesOf(m[0]) });
  }
  const body = applyEdits(code, edits);

  // 3. the module: one first line, then the body's lines as they are
  const bindings = exports.named.filter((n) => !imported.has(n));
  if (exports.defaultName !== undefined && !imported.has(exports.defaultName)) {
    bindings.push(`default: ${exports.defaultName}`);
  }
  const first = [...hoisted];
  if (claims.checked > 0) {
    const url = JSON.stringify(new URL("./doc_claims.ts", import.meta.url).href);
    first.push(`import { checkClaim as __docClaim, checkLogged as __docLogged } from ${url};`);
  }
  if (bindings.length > 0) {
    first.push(`import * as __docSource from ${JSON.stringify(sourceUrl)};`);
    first.push(`const { ${bindings.join(", ")} } = __docSource;`);
  }
  if (usesMeta) {
    const url = JSON.stringify(sourceUrl);
    first.push(
      `const __docMeta = { ...import.meta, url: ${url}, main: false, ` +
        `filename: decodeURIComponent(new URL(${url}).pathname), ` +
        `dirname: decodeURIComponent(new URL(".", ${url}).pathname).replace(/\\/$/, ""), ` +
        `resolve: (s) => /^\\.\\.?\\//.test(s) ? new URL(s, ${url}).href : import.meta.resolve(s) };`,
    );
  }
  // the body runs when the driver calls the default export, not at the module's top level:
  // Deno 2.9.6 stops settling dynamic imports of modules with top-level await after two of them
  // rejected (see runExampleModules)
  first.push("export default async function docExample() {");
  return `${first.join(" ")}\n${body}}\n`;
}

/** List the source files of `rooms` (folders, recursively, or files) under `root`, sorted. */
async function sourceFiles(rooms: string[], root: string): Promise<string[]> {
  const files: string[] = [];
  const walk = async (path: string): Promise<void> => {
    const info = await Deno.stat(`${root}/${path}`);
    if (info.isFile) {
      if (SOURCE_FILE.test(path) && !TEST_FILE.test(path)) files.push(path);
      return;
    }
    for await (const e of Deno.readDir(`${root}/${path}`)) {
      if (!e.name.startsWith(".")) await walk(`${path}/${e.name}`);
    }
  };
  for (const room of rooms) await walk(room.replace(/\/+$/, ""));
  return files.sort();
}

/**
 * Every example of the rooms (folders, read recursively, or files, relative to `root`; `_test`
 * files left out), file by file in path order, with each source file's value exports.
 *
 * @example
 * ```ts
 * import { collectExamples } from "./doc_examples.ts";
 * const { examples } = await collectExamples(["util"], Deno.cwd());
 * console.log(examples.length, examples[0].file); // e.g. 12 "util/edit_distance.ts"
 * ```
 */
export async function collectExamples(
  rooms: string[],
  root: string,
): Promise<{ examples: DocExample[]; exports: Map<string, SourceExports> }> {
  const examples: DocExample[] = [];
  const exports = new Map<string, SourceExports>();
  for (const file of await sourceFiles(rooms, root)) {
    const source = await Deno.readTextFile(`${root}/${file}`);
    const found = extractExamples(source, file);
    if (found.length === 0) continue;
    examples.push(...found);
    exports.set(file, sourceExports(source));
  }
  return { examples, exports };
}

/** `root` as a `file:` URL of a folder (ending in `/`). */
function folderUrl(root: string): URL {
  const url = new URL(`file://${root.startsWith("/") ? "" : "/"}${encodeURI(root)}`);
  if (!url.pathname.endsWith("/")) url.pathname += "/";
  return url;
}

/**
 * Whether an example declares its inputs (`declare const r: RunReport;`): it shows a call on
 * values it does not build, so it is type-checked only (`deno check --doc`) and never run
 * (`deno test --doc` would run it and fail on the undeclared name).
 *
 * @example
 * ```ts
 * import { declaresInputs } from "./doc_examples.ts";
 * declaresInputs("declare const r: Report;\nr.pass;\n"); // true
 * declaresInputs('const s = "declare const x";\n'); // false
 * ```
 */
export function declaresInputs(code: string): boolean {
  return /^[ \t]*declare\s+(?:const|let|var|function)\b/m.test(mask(code, scan(code), true));
}

/**
 * Write the examples of `rooms` as modules into `dir`, and the driver that runs them all
 * (`dir/driver.ts`, which imports {@link runExampleModules} from this file). Returns the
 * driver's path, how many examples there are, and the file where the driver names the example
 * it starts (what a run that stops early was doing).
 *
 * @example
 * ```ts
 * import { writeExampleRun } from "./doc_examples.ts";
 * const dir = await Deno.makeTempDir();
 * const { driver, count } = await writeExampleRun(["util"], Deno.cwd(), dir);
 * console.log(driver, count); // ".../driver.ts" 12
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeExampleRun(
  rooms: string[],
  root: string,
  dir: string,
): Promise<
  { driver: string; count: number; claims: number; typeOnly: number; progress: string }
> {
  const rootUrl = folderUrl(root);
  const { examples, exports } = await collectExamples(rooms, root);
  let claims = 0;
  let typeOnly = 0;
  const entries: ExampleEntry[] = [];
  for (const [i, example] of examples.entries()) {
    if (declaresInputs(example.code)) {
      typeOnly++;
      continue;
    }
    const sourceUrl = new URL(example.file, rootUrl).href;
    const name = `${String(i).padStart(4, "0")}_${example.file.replace(/\W+/g, "_")}_` +
      `${example.start}-${example.end}${example.extension}`;
    const text = exampleModule(example, sourceUrl, exports.get(example.file) ?? { named: [] });
    claims += (text.match(/__doc(?:Claim|Logged)\(/g) ?? []).length;
    await Deno.writeTextFile(`${dir}/${name}`, text);
    const { file, start, end, lines } = example;
    entries.push({ url: new URL(name, folderUrl(dir)).href, file, start, end, lines });
  }
  const driver = `${dir}/driver.ts`;
  const progress = `${dir}/progress.txt`;
  await Deno.writeTextFile(
    driver,
    `// runs the ${entries.length} doc examples of ${rooms.join(", ")}, one after another\n` +
      `import { runExampleModules } from ${JSON.stringify(import.meta.url)};\n` +
      `const entries = ${JSON.stringify(entries)};\n` +
      `const failed = await runExampleModules(\n` +
      `  entries,\n  ${JSON.stringify(rootUrl.href)},\n  ${JSON.stringify(progress)},\n);\n` +
      `Deno.exit(failed > 0 ? 1 : 0);\n`,
  );
  return { driver, count: entries.length, claims, typeOnly, progress };
}

/** The error's stack (or text), module URLs of examples read as their source lines. */
function describe(error: unknown, entry: ExampleEntry, rootUrl: string): string {
  const text = error instanceof Error ? (error.stack ?? String(error)) : String(error);
  const escaped = entry.url.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return text
    .replace(new RegExp(`${escaped}(?::(\\d+)(?::\\d+)?)?`, "g"), (_, line?: string) => {
      const at = line === undefined ? undefined : entry.lines[Number(line) - 2];
      return at === undefined ? `${entry.file}:${entry.start}-${entry.end}` : `${entry.file}:${at}`;
    })
    .replaceAll(rootUrl, "");
}

/**
 * The driver's part: import each example module in turn, print `FAILED file:start-end: error`
 * (and the error's stack, examples' lines as source lines) for each one that throws, rejects
 * later, or raises an uncaught error, then `doc examples: N ran, F failed`. Returns F. Before
 * each example, `progress` (when given) gets its `file:start-end`: an example that ends the
 * process (`Deno.exit`, a promise that can never settle) leaves no summary, only that.
 *
 * @example
 * ```ts ignore
 * import { runExampleModules } from "./doc_examples.ts";
 * const failed = await runExampleModules(entries, "file:///repo/", "/tmp/x/progress.txt");
 * Deno.exit(failed > 0 ? 1 : 0);
 * ```
 */
export async function runExampleModules(
  entries: ExampleEntry[],
  rootUrl: string,
  progress?: string,
): Promise<number> {
  const failed = new Set<ExampleEntry>();
  let current: ExampleEntry | undefined;
  const fail = (entry: ExampleEntry | undefined, error: unknown, how = "") => {
    if (entry === undefined) {
      console.log(`FAILED (before the first example)${how}: ${String(error)}`);
      return;
    }
    failed.add(entry);
    const [head, ...stack] = describe(error, entry, rootUrl).split("\n");
    console.log(`FAILED ${entry.file}:${entry.start}-${entry.end}${how}: ${head}`);
    const driver = new URL("driver.ts", entry.url).href;
    const own = stack.filter((l) => !l.includes("runExampleModules") && !l.includes(driver));
    for (const line of own.slice(0, 8)) console.log(`  ${line.trim()}`);
  };
  const onRejection = (e: PromiseRejectionEvent) => {
    e.preventDefault();
    fail(current, e.reason, " (unhandled rejection)");
  };
  const onError = (e: ErrorEvent) => {
    e.preventDefault();
    fail(current, e.error ?? e.message, " (uncaught error)");
  };
  globalThis.addEventListener("unhandledrejection", onRejection);
  globalThis.addEventListener("error", onError);
  for (const entry of entries) {
    current = entry;
    if (progress !== undefined) {
      Deno.writeTextFileSync(progress, `${entry.file}:${entry.start}-${entry.end}\n`);
    }
    try {
      // not the module's top-level await: in Deno 2.9.6, once two dynamically imported modules
      // rejected their top-level await, the next such import never settles
      const module: { default?: unknown } = await import(entry.url);
      if (typeof module.default === "function") await module.default();
    } catch (error) {
      fail(entry, error);
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 0)); // late rejections surface
  globalThis.removeEventListener("unhandledrejection", onRejection);
  globalThis.removeEventListener("error", onError);
  console.log(`doc examples: ${entries.length} ran, ${failed.size} failed`);
  return failed.size;
}

/**
 * Run every example of `rooms` in one `deno run --no-check` process: write the modules and the
 * driver into `tmp/examples/`, run the driver with `root` as its working folder and config,
 * reading the project and writing only in `tmp` (which is also the examples' `TMPDIR`).
 *
 * @example
 * ```ts
 * import { runDocExamples } from "./doc_examples.ts";
 * declare const root: string; // the project's root folder (it spawns deno: needs --allow-run)
 * const tmp = await Deno.makeTempDir();
 * const run = await runDocExamples(["util"], root, tmp);
 * console.log(run.summary); // as many ran as util has examples, and failed: 0
 * await Deno.remove(tmp, { recursive: true });
 * ```
 */
export async function runDocExamples(
  rooms: string[],
  root: string,
  tmp: string,
): Promise<DocExampleRun> {
  const dir = `${tmp}/examples`;
  await Deno.mkdir(dir, { recursive: true });
  const { driver, count, claims, typeOnly, progress } = await writeExampleRun(rooms, root, dir);
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-check",
      "--config",
      `${root}/deno.json`,
      "--allow-read",
      `--allow-write=${tmp}`,
      "--allow-env",
      driver,
    ],
    cwd: root,
    env: { NO_COLOR: "1", TMPDIR: tmp },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  let output = decoder.decode(out.stdout) + decoder.decode(out.stderr);
  const m = /^doc examples: (\d+) ran, (\d+) failed$/m.exec(output);
  const summary = m ? { ran: Number(m[1]), failed: Number(m[2]) } : null;
  if (summary === null) {
    const last = await Deno.readTextFile(progress).catch(() => "(none started)\n");
    output += `doc examples: the run stopped in the example ${last}`;
  }
  return { count, claims, typeOnly, code: out.code, output, summary };
}

const USAGE = `usage: deno run --allow-read --allow-write --allow-env --allow-run \\
         tools/doc_examples.ts [--list] ROOM...

Runs the JSDoc examples of the ROOMs (folders or .ts files, relative to the working directory)
in one Deno process, as \`deno test --doc\` would pick them; --list prints them instead.
Exit 0 when every example ran, 1 when one failed, 2 on bad arguments.`;

if (import.meta.main) {
  if (Deno.args.includes("--help") || Deno.args.includes("-h")) {
    console.log(USAGE);
    Deno.exit(0);
  }
  const list = Deno.args.includes("--list");
  const rooms = Deno.args.filter((a) => a !== "--list");
  const unknown = rooms.filter((a) => a.startsWith("-"));
  if (rooms.length === 0 || unknown.length > 0) {
    console.error(
      (unknown.length > 0 ? `doc_examples: unknown option ${unknown.join(", ")}\n` : "") + USAGE,
    );
    Deno.exit(2);
  }
  const root = Deno.cwd();
  const missing = rooms.filter((r) => {
    try {
      Deno.statSync(`${root}/${r}`);
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) {
    console.error(
      `doc_examples: no such room (folder or file) under ${root}: ${missing.join(", ")}`,
    );
    Deno.exit(2);
  }
  // a file that holds no JSDoc it reads (README.md, a _test.ts file) ran "0 examples", exit 0
  const notSource = rooms.filter((r) =>
    Deno.statSync(`${root}/${r}`).isFile && (!SOURCE_FILE.test(r) || TEST_FILE.test(r))
  );
  if (notSource.length > 0) {
    console.error(
      `doc_examples: not a source file whose JSDoc examples it runs (a .ts or .js file, not a ` +
        `_test file; Markdown is not read): ${notSource.join(", ")}`,
    );
    Deno.exit(2);
  }
  if (list) {
    const { examples } = await collectExamples(rooms, root);
    for (const e of examples) console.log(`${e.file}:${e.start}-${e.end}`);
    console.log(`${examples.length} examples`);
  } else {
    const tmp = await Deno.makeTempDir({ prefix: "doc_examples_" });
    try {
      const run = await runDocExamples(rooms, root, tmp);
      console.log(run.output.trimEnd());
      if (run.summary?.ran !== run.count) console.log(`expected ${run.count} examples to run`);
      Deno.exitCode = run.code === 0 && run.summary?.ran === run.count ? 0 : 1;
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  }
}
