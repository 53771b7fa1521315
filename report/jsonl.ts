/**
 * results.jsonl: one {@link CaseResult} per line, each made durable as soon as it is
 * written, so a run killed halfway loses nothing it had finished.
 *
 * @module
 */
import type { CaseResult } from "../results/types.ts";
import { ReportFileError } from "./errors.ts";
import { caseResultProblem } from "./validate.ts";
import { jsonSyntaxProblem } from "../adapter/json_scan.ts";
import { cutText } from "./md_text.ts";

const encoder = new TextEncoder();
const NEWLINE = 0x0a;

/**
 * One result as a JSONL line (compact JSON and a trailing newline).
 *
 * @example
 * ```ts
 * import { formatJsonlLine } from "./jsonl.ts";
 * import type { CaseResult } from "../results/types.ts";
 * declare const r: CaseResult;
 * formatJsonlLine(r).endsWith("\n"); // true
 * ```
 */
export function formatJsonlLine(result: CaseResult): string {
  return jsonLine(result);
}

/** A value as one JSONL line: results.jsonl's, or bench's records.jsonl's. */
function jsonLine(value: unknown): string {
  const json = JSON.stringify(value);
  // JSON.stringify escapes control characters, so a line never contains a raw newline.
  return json + "\n";
}

/**
 * Where a value holds what JSON cannot write (a bigint, a cycle, a `toJSON` that throws)
 * and what it is, as `path: what` (`reasons[0].detail: a bigint`), or null when
 * `JSON.stringify` writes it. A result that cannot be written is its case's error, not a
 * disk that cannot take it.
 *
 * @example
 * ```ts
 * import { unwritableJson } from "./jsonl.ts";
 * unwritableJson({ a: [1, 2n] }); // "a[1]: a bigint (2n)"
 * unwritableJson({ a: 1 }); // null
 * ```
 */
export function unwritableJson(value: unknown): string | null {
  try {
    JSON.stringify(value);
    return null;
  } catch (e) {
    const why = e instanceof Error ? e.message.split("\n")[0] : String(e);
    return findUnwritable(value, "", new Set()) ?? `(the result): ${why}`;
  }
}

/** The first place under `v` JSON cannot write, or null. */
function findUnwritable(v: unknown, at: string, path: Set<object>): string | null {
  const where = at === "" ? "(the result)" : at.replace(/^\./, "");
  if (typeof v === "bigint") return `${where}: a bigint (${v}n)`;
  if (typeof v !== "object" || v === null) return null;
  if (path.has(v)) return `${where}: a cycle (it contains itself)`;
  const toJson = (v as { toJSON?: unknown }).toJSON;
  if (typeof toJson === "function") {
    try {
      JSON.stringify(v);
      return null;
    } catch (e) {
      return `${where}: its toJSON() threw (${e instanceof Error ? e.message : String(e)})`;
    }
  }
  path.add(v);
  try {
    for (const [k, x] of Object.entries(v)) {
      const found = findUnwritable(x, Array.isArray(v) ? `${at}[${k}]` : `${at}.${k}`, path);
      if (found !== null) return found;
    }
    return null;
  } finally {
    path.delete(v);
  }
}

/** Options of {@link JsonlWriter.open}. */
export interface JsonlWriterOptions {
  /** Start an empty file instead of appending (default: false, append). */
  readonly truncate?: boolean;
  /**
   * Make each line durable with `syncData` before {@link JsonlWriter.write} resolves
   * (default: true; turn off only in tests or when durability does not matter).
   */
  readonly sync?: boolean;
}

/**
 * Appends results to a JSONL file, one line per result (`T`: a {@link CaseResult} by
 * default; bench's records.jsonl writes its records through it too). Each line is written with a
 * single write call on a file opened for append and then flushed to disk (`syncData`), so
 * after `write` resolves the line survives a crash. Writes are serialized: concurrent
 * calls land in call order, never interleaved.
 *
 * Opening an existing file whose last line is truncated (a crash mid-write) first cuts
 * that line off with {@link repairJsonl}, so new lines never glue onto a fragment.
 *
 * @example
 * ```ts
 * import { JsonlWriter } from "./jsonl.ts";
 * import type { CaseResult } from "../results/types.ts";
 * declare const result: CaseResult;
 * const w = await JsonlWriter.open("out/results.jsonl");
 * await w.write(result);
 * await w.close();
 * ```
 */
export class JsonlWriter<T = CaseResult> {
  /** The file written. */
  readonly path: string;
  #file: Deno.FsFile;
  #sync: boolean;
  #queue: Promise<void> = Promise.resolve();
  #closed = false;
  #count = 0;

  private constructor(path: string, file: Deno.FsFile, sync: boolean) {
    this.path = path;
    this.#file = file;
    this.#sync = sync;
  }

  /**
   * Opens (creating when absent) a JSONL file for appending.
   *
   * @param path the file
   * @param options truncate instead of append; sync after each line
   */
  static async open<T = CaseResult>(
    path: string,
    options: JsonlWriterOptions = {},
  ): Promise<JsonlWriter<T>> {
    if (!options.truncate) await repairJsonl(path);
    const file = await Deno.open(path, {
      write: true,
      create: true,
      append: !options.truncate,
      truncate: options.truncate ?? false,
    });
    return new JsonlWriter<T>(path, file, options.sync ?? true);
  }

  /** Lines written through this writer. */
  get count(): number {
    return this.#count;
  }

  /**
   * Appends one result as a line and makes it durable.
   *
   * @param result the case result
   */
  write(result: T): Promise<void> {
    if (this.#closed) return Promise.reject(new Error(`JsonlWriter(${this.path}) is closed`));
    const bytes = encoder.encode(jsonLine(result));
    const next = this.#queue.then(async () => {
      await writeAll(this.#file, bytes);
      if (this.#sync) await this.#file.syncData();
      this.#count++;
    });
    // A failed write rejects its own promise; later writes still run.
    this.#queue = next.catch(() => {});
    return next;
  }

  /** Waits for every pending write. */
  flush(): Promise<void> {
    return this.#queue;
  }

  /** Waits for pending writes, then closes the file. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue;
    this.#file.close();
  }
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  // One call writes the whole line on regular files; the loop only guards short writes.
  let off = 0;
  while (off < bytes.length) off += await file.write(bytes.subarray(off));
}

/** A line of a JSONL file that could not be read as a result. */
export interface BadLine {
  /** 1-based line number. */
  readonly line: number;
  /** The text of the line (cut to 200 characters). */
  readonly text: string;
}

/** What {@link readJsonl} found. */
export interface JsonlContents {
  /** The results, in file order. */
  readonly results: CaseResult[];
  /** Whether the last line was truncated (no newline and not a whole record). */
  readonly corruptTail: boolean;
  /** Lines skipped: the truncated tail, and malformed lines when `lenient`. */
  readonly badLines: BadLine[];
}

/** Options of {@link readJsonl}. */
export interface ReadJsonlOptions {
  /** Collect malformed lines in `badLines` instead of throwing (default: false). */
  readonly lenient?: boolean;
}

function clip(text: string): string {
  return text.length > 200 ? cutText(text, 200) + "…" : text;
}

/**
 * Reads a results.jsonl file. The last line may be truncated (a crash mid-write): it is
 * skipped, `corruptTail` is set and the line is listed in `badLines`. A malformed line
 * anywhere else throws a {@link ReportFileError} naming the file and the line (unless
 * `lenient`). Blank lines and a leading byte order mark are ignored.
 *
 * @example
 * ```ts
 * import { readJsonl } from "./jsonl.ts";
 * declare const out: string; // a run's output folder (run --out)
 * const { results, corruptTail } = await readJsonl(`${out}/results.jsonl`);
 * if (corruptTail) console.warn("the run was killed while writing a result");
 * ```
 */
export async function readJsonl(
  path: string,
  options: ReadJsonlOptions = {},
): Promise<JsonlContents> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new ReportFileError(path, `cannot read: ${(e as Error).message}`, { cause: e });
  }
  // A byte order mark (a file saved by a Windows editor) read as line 1's "not valid JSON
  // ... at line 1, column 1", naming nothing to fix: it is no part of the first record.
  const lines = text.replace(/^\uFEFF/, "").split("\n");
  // With a trailing newline the last element is "", otherwise it is the unterminated tail.
  const tail = lines.pop() ?? "";
  const results: CaseResult[] = [];
  const badLines: BadLine[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() === "") continue;
    const problem = parseLine(line, results);
    if (problem === null) continue;
    if (!options.lenient) throw new ReportFileError(path, problem, { line: i + 1 });
    badLines.push({ line: i + 1, text: clip(line) });
  }
  let corruptTail = false;
  if (tail.trim() !== "") {
    // An unterminated last line that still parses is a whole record (the crash hit
    // between the last byte of JSON and the newline, or the file was edited by hand).
    if (parseLine(tail, results) !== null) {
      corruptTail = true;
      badLines.push({ line: lines.length + 1, text: clip(tail) });
    }
  }
  return { results, corruptTail, badLines };
}

/** Parses one line into `into`; returns what is wrong, or null. */
function parseLine(line: string, into: CaseResult[]): string | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return jsonSyntaxProblem(line);
  }
  const problem = caseResultProblem(value);
  if (problem !== null) return `not a case result: ${problem}`;
  into.push(value as CaseResult);
  return null;
}

/**
 * Cuts a truncated last line off a JSONL file (a crash mid-write), so the file ends with
 * a newline after its last whole record. An unterminated last line that is a whole record
 * gets its newline instead. A missing file is left missing.
 *
 * @returns the bytes removed (0 when the file was fine or absent)
 *
 * @example
 * ```ts
 * import { repairJsonl } from "./jsonl.ts";
 * const cut = await repairJsonl("out/results.jsonl");
 * if (cut > 0) console.warn(`dropped ${cut} bytes of a half-written line`);
 * ```
 */
export async function repairJsonl(path: string): Promise<number> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return 0;
    throw new ReportFileError(path, `cannot read: ${(e as Error).message}`, { cause: e });
  }
  if (bytes.length === 0 || bytes[bytes.length - 1] === NEWLINE) return 0;
  const lastNewline = bytes.lastIndexOf(NEWLINE);
  const keep = lastNewline + 1; // 0 when the whole file is one unterminated line
  const tail = new TextDecoder().decode(bytes.subarray(keep));
  const file = await Deno.open(path, { write: true });
  try {
    if (tail.trim() !== "" && parseLine(tail, []) === null) {
      await file.seek(0, Deno.SeekMode.End);
      await writeAll(file, encoder.encode("\n"));
      await file.syncData();
      return 0;
    }
    await file.truncate(keep);
    await file.syncData();
    return bytes.length - keep;
  } finally {
    file.close();
  }
}
