/**
 * Reading a JSON input file with errors that name the file: unreadable (missing,
 * no permission) or not JSON. Used for configs, matrices and caps files.
 *
 * @module
 */
import { ConfigError } from "./errors.ts";

/** Options of {@link readJsonFile}. */
export interface ReadJsonFileOptions {
  /** What the file is, for the message ("config", "matrix", "caps file"). */
  what: string;
  /** Name shown as the source (default: the path). */
  name?: string;
  /** Appended to the message, e.g. the valid alternatives. */
  hint?: string;
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
  const hint = options.hint ? `; ${options.hint}` : "";
  const fail = (problem: string, e: unknown, what: string): never => {
    throw new ConfigError(name, [{
      path: "(file)",
      value: name,
      message: `${problem} (${e instanceof Error ? e.message : String(e)})${hint}`,
    }], `${what} ${options.what}`);
  };
  let text = "";
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    fail("cannot be read", e, "unreadable");
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    return fail("is not valid JSON", e, "malformed");
  }
}
