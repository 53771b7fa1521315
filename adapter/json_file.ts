/**
 * Reading a JSON input file with errors that name the file: unreadable (missing,
 * no permission), not JSON (with the line and column, never the file's content:
 * a matrix may point at a file that is not ours to show), or an object that
 * repeats a key (JSON.parse would keep the last one silently). Used for configs,
 * matrices and caps files.
 *
 * @module
 */
import { ConfigError } from "./errors.ts";
import { jsonLinesKind } from "./file_kind.ts";
import { type JsonProblem, scanJson } from "./json_scan.ts";

/** Options of {@link readJsonFile}. */
export interface ReadJsonFileOptions {
  /** What the file is, for the message ("config", "matrix", "caps file"). */
  what: string;
  /** Name shown as the source (default: the path). */
  name?: string;
  /** Appended to the message, e.g. the valid alternatives. */
  hint?: string;
  /**
   * The most bytes such a file can sensibly have: a larger one (a model's weights or a
   * run's folder of results given by mistake) is refused from its size, before it is read
   * whole into memory and parsed (a 200 MB file took 11 s and 1.2 GB to be called not JSON).
   */
  maxBytes?: number;
}

/** The refusal of a file over `maxBytes` (its size from `stat`), or nothing. */
function checkSize(size: number, name: string, options: ReadJsonFileOptions): void {
  if (options.maxBytes === undefined || size <= options.maxBytes) return;
  fileError(name, options)(
    `is ${size} bytes, more than a ${options.what} can be (at most ${options.maxBytes}): ` +
      "is it the file meant?",
    "oversized",
  );
}

/** A ConfigError naming the file, what is wrong and the hint. */
function fileError(name: string, options: ReadJsonFileOptions) {
  const hint = options.hint ? `; ${options.hint}` : "";
  return (problem: string, what: string): never => {
    throw new ConfigError(
      name,
      [{ path: "(file)", value: name, message: `${problem}${hint}` }],
      `${what} ${options.what}`,
    );
  };
}

/**
 * What a text that is not JSON looks like, when it is plainly another format: a report.html,
 * an XML file or a YAML file given for a JSON one read only "not valid JSON ... at line 1,
 * column 1", naming nothing to fix.
 */
function otherFormat(text: string): string | null {
  const head = text.trimStart().slice(0, 200).toLowerCase();
  if (head.startsWith("<!doctype html") || head.startsWith("<html")) {
    return "it is HTML (a report page?)";
  }
  if (head.startsWith("<")) return "it is XML or HTML (it starts with <)";
  const first = text.split("\n").map((l) => l.trim()).find((l) => l !== "" && !l.startsWith("#"));
  if (first !== undefined && (first === "---" || /^[A-Za-z_][\w.-]*:(\s|$)/.test(first))) {
    return "it looks like YAML (`key: value` lines)";
  }
  return null;
}

/**
 * Where and why JSON text failed (`p`), naming the likely cause when it is a habit of other formats: a
 * comment, a trailing comma, single quotes. Said instead of the scanner's "expected a
 * property name in double quotes" (a `// comment`) or "expected a value" (a trailing comma
 * in an array), which named what the parser wanted, not what to fix.
 */
function causeAt(text: string, p: JsonProblem): string {
  const at = `at line ${p.line}, column ${p.column}`;
  if (text.startsWith("//", p.offset) || text.startsWith("/*", p.offset)) {
    return `a comment ${at}: JSON has no comments (remove it)`;
  }
  const c = text[p.offset];
  if ((c === "}" || c === "]") && text.slice(0, p.offset).trimEnd().endsWith(",")) {
    return `a trailing comma before ${c} ${at} (remove the comma)`;
  }
  if (c === "'") return `single quotes ${at}: JSON strings and names take double quotes`;
  return `${p.message} ${at}`;
}

/** A folder given for a file: its JSON files, to name what to give instead (at most 5). */
function jsonFilesIn(dir: string): string {
  try {
    const names = [...Deno.readDirSync(dir)]
      .filter((e) => e.isFile && e.name.endsWith(".json"))
      .map((e) => e.name)
      .sort();
    if (names.length === 0) return "";
    const shown = names.slice(0, 5).join(", ");
    return ` (its JSON files: ${shown}${names.length > 5 ? ", ..." : ""})`;
  } catch {
    return "";
  }
}

/** The refusal of an unreadable file: a folder said as one, else the OS's words. */
function unreadable(e: unknown, path: string | URL, options: ReadJsonFileOptions): string {
  if (e instanceof Deno.errors.IsADirectory) {
    // "caps file" and "tuning file" already say file: "not a caps file file" read doubled
    const file = /\bfile\b/.test(options.what) ? options.what : `${options.what} file`;
    return `is a folder, not a ${file}: give the file itself${
      jsonFilesIn(path instanceof URL ? path.pathname : path)
    }`;
  }
  return `cannot be read (${e instanceof Error ? e.message : String(e)})`;
}

/** The path of the first own "__proto__" key in a parsed JSON value, or null (any depth). */
function protoKeyPath(value: unknown): string | null {
  const todo: [unknown, string][] = [[value, ""]];
  while (todo.length > 0) {
    const [v, path] = todo.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (Array.isArray(v)) {
      v.forEach((x, i) => todo.push([x, `${path}[${i}]`]));
      continue;
    }
    for (const [k, x] of Object.entries(v)) {
      const at = path === "" ? k : `${path}.${k}`;
      if (k === "__proto__") return at;
      todo.push([x, at]);
    }
  }
  return null;
}

/** Parse a file's text as JSON: the checks of {@link readJsonFile} after the read. */
function parseFileText(text: string, name: string, options: ReadJsonFileOptions): unknown {
  const fail = fileError(name, options);
  if (text.startsWith("\uFEFF")) {
    // JSON.parse refuses it at "line 1, column 1" and Python's json.loads (which reads
    // a model's config.json) refuses it too; say what it is.
    fail(
      "starts with a UTF-8 byte order mark (BOM), which JSON does not allow; save the file " +
        "as UTF-8 without a BOM",
      "malformed",
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the text; say where instead.
    const p = scanJson(text);
    // a run's results.jsonl given for a JSON file: "unexpected content after the JSON value
    // at line 2" alone did not say what the file is
    const lines = jsonLinesKind(text);
    return fail(
      text.trim() === ""
        ? "is not valid JSON: the file is empty"
        : lines !== null
        ? `is not one JSON value: it is ${lines}`
        : `is not valid JSON${otherFormat(text) === null ? "" : `: ${otherFormat(text)}`}: ${
          p ? causeAt(text, p) : "syntax error"
        }`,
      "malformed",
    );
  }
  const dup = scanJson(text, { duplicateKeys: true });
  if (dup) fail(`${dup.message} (line ${dup.line}, column ${dup.column})`, "malformed");
  // JSON.parse keeps a "__proto__" key as an own key, which the schemas' records then drop
  // without a word (a caps file's limit, a plan-tuning knob so named vanished)
  const reserved = protoKeyPath(value);
  if (reserved !== null) {
    fail(
      `holds the key "__proto__" at ${reserved}, which JavaScript objects reserve (it would ` +
        "be dropped): give it another name",
      "malformed",
    );
  }
  return value;
}

/**
 * Read and parse a JSON file; a ConfigError names the file and what went wrong.
 *
 * @example
 * ```ts ignore
 * import { readJsonFile } from "./json_file.ts";
 * const raw = await readJsonFile("config.json", { what: "config" });
 * ```
 */
export async function readJsonFile(
  path: string | URL,
  options: ReadJsonFileOptions,
): Promise<unknown> {
  const name = options.name ?? String(path);
  let text = "";
  try {
    if (options.maxBytes !== undefined) checkSize((await Deno.stat(path)).size, name, options);
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof ConfigError) throw e; // over maxBytes
    fileError(name, options)(unreadable(e, path, options), "unreadable");
  }
  return parseFileText(text, name, options);
}

/**
 * {@link readJsonFile}, synchronously: for a file read while a device's caps are put
 * together (a plan-tuning file), where nothing awaits.
 *
 * @example
 * ```ts ignore
 * import { readJsonFileSync } from "./json_file.ts";
 * const raw = readJsonFileSync("tuning.json", { what: "tuning file" });
 * ```
 */
export function readJsonFileSync(path: string | URL, options: ReadJsonFileOptions): unknown {
  const name = options.name ?? String(path);
  let text = "";
  try {
    if (options.maxBytes !== undefined) checkSize(Deno.statSync(path).size, name, options);
    text = Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof ConfigError) throw e; // over maxBytes
    fileError(name, options)(unreadable(e, path, options), "unreadable");
  }
  return parseFileText(text, name, options);
}
