/**
 * File helpers: atomic writes (a temp file in the same folder, flushed, then renamed over
 * the target, so a reader never sees half a file) and existence checks.
 *
 * @module
 */

function dirAndBase(path: string): { dir: string; base: string } {
  const i = path.lastIndexOf("/");
  return i < 0
    ? { dir: ".", base: path }
    : { dir: path.slice(0, i) || "/", base: path.slice(i + 1) };
}

/**
 * Writes bytes atomically: they go to a temp file next to `path`, are flushed to disk, and
 * the temp file is then renamed over `path` (a rename within one folder is atomic on
 * POSIX). On failure the temp file is removed and `path` is left as it was.
 *
 * @example
 * ```ts ignore
 * import { writeFileAtomic } from "./fs.ts";
 * await writeFileAtomic("out/y.bin", new Uint8Array([1, 2, 3]));
 * ```
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const { dir, base } = dirAndBase(path);
  // named as ATOMIC_TEMP matches, so that a killed write's file is found again
  const tmp = `${dir}/.${base}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    const file = await Deno.open(tmp, { write: true, createNew: true });
    try {
      let off = 0;
      while (off < bytes.length) off += await file.write(bytes.subarray(off));
      await file.syncData();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    // A full disk's error names no file when a write (not the open) fails: the target's path
    // goes first, its code is kept ("No space left on device (os error 28)" alone said
    // nothing of which output could not be written)
    if (isStorageFull(e)) {
      throw Object.assign(new Error(`${path}: ${(e as Error).message}`, { cause: e }), {
        code: (e as { code: unknown }).code,
      });
    }
    throw e;
  }
}

/** The temp file name {@link writeFileAtomic} writes before its rename: `.<name>.<8 hex>.tmp`. */
const ATOMIC_TEMP = /^\.(.+)\.[0-9a-f]{8}\.tmp$/;

/**
 * Removes the temp files of {@link writeFileAtomic} in `dir` (not its subfolders): a process
 * killed (SIGKILL, a crash) between the temp file's open and its rename leaves one, half
 * written, which nothing removed (a folder's every killed run left its own). Call it only
 * where no other process writes `dir` now (a run's folder under its run.lock): another's
 * write under way would lose its temp file; `of` names the one file whose temp files go (a
 * folder others write too: only this file's writes are this process's to finish). Returns the
 * names removed, and the files they were a write of; a folder that cannot be read removes none.
 *
 * @example
 * ```ts
 * import { removeAtomicTemps } from "./fs.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/.report.json.0a1b2c3d.tmp`, "{");
 * await removeAtomicTemps(dir); // [{ name: ".report.json.0a1b2c3d.tmp", of: "report.json" }]
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function removeAtomicTemps(
  dir: string,
  options: { of?: string } = {},
): Promise<{ name: string; of: string }[]> {
  const removed: { name: string; of: string }[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      const m = e.isFile ? ATOMIC_TEMP.exec(e.name) : null;
      if (m === null || (options.of !== undefined && m[1] !== options.of)) continue;
      try {
        await Deno.remove(`${dir}/${e.name}`);
        removed.push({ name: e.name, of: m[1] });
      } catch {
        // gone meanwhile, or not ours to remove: left
      }
    }
  } catch {
    // unreadable: none removed
  }
  return removed.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * What the OS said of a failed file operation, without Deno's "(os error N): <syscall>
 * '<path>'" tail: the error's message up to that tail, trimmed (a message without one whole).
 *
 * @example
 * ```ts
 * import { osErrorText } from "./fs.ts";
 * osErrorText(new Error("No space left on device (os error 28): write 'out/x'")); // "No space left on device"
 * ```
 */
export function osErrorText(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  const i = m.indexOf(" (os error");
  return (i < 0 ? m : m.slice(0, i)).trim();
}

/**
 * Whether `e` is the OS saying the disk (or the user's quota) is full: an error whose `code`
 * is ENOSPC or EDQUOT.
 *
 * @example
 * ```ts
 * import { isStorageFull } from "./fs.ts";
 * isStorageFull(Object.assign(new Error("No space left on device"), { code: "ENOSPC" })); // true
 * ```
 */
export function isStorageFull(e: unknown): boolean {
  const code = e instanceof Error ? (e as { code?: unknown }).code : undefined;
  return code === "ENOSPC" || code === "EDQUOT";
}

/**
 * Writes a text file (UTF-8) atomically, as {@link writeFileAtomic}.
 *
 * @example
 * ```ts
 * import { writeTextAtomic } from "./fs.ts";
 * const dir = await Deno.makeTempDir();
 * await writeTextAtomic(`${dir}/summary.md`, "# Summary\n");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function writeTextAtomic(path: string, text: string): Promise<void> {
  return writeFileAtomic(path, new TextEncoder().encode(text));
}

/**
 * Writes a value as pretty JSON (two-space indent, trailing newline) atomically.
 *
 * @example
 * ```ts
 * import { writeJsonAtomic } from "./fs.ts";
 * const dir = await Deno.makeTempDir();
 * await writeJsonAtomic(`${dir}/plan.json`, { backend: "wgsl-absorbed" });
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  return writeTextAtomic(path, JSON.stringify(value, null, 2) + "\n");
}

/**
 * Whether a path exists and is a directory (false when it does not exist or cannot be
 * read).
 *
 * @example
 * ```ts
 * import { isDirectory } from "./fs.ts";
 * await isDirectory("."); // true
 * ```
 */
export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}

/**
 * Whether a path exists (false also when it cannot be read).
 *
 * @example
 * ```ts
 * import { pathExists } from "./fs.ts";
 * await pathExists("/nonexistent"); // false
 * ```
 */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * How to say that `path` does not exist, as it was given: a folder (it ends in `/`), a file
 * (its last part has an extension), or either.
 *
 * @example
 * ```ts
 * import { missingPathWords } from "./fs.ts";
 * missingPathWords("out/shard-1/"); // "the folder does not exist"
 * missingPathWords("base.json"); // "the file does not exist"
 * missingPathWords("out/shard-1"); // "does not exist (no file or folder of that name)"
 * ```
 */
export function missingPathWords(path: string): string {
  if (/[/\\]$/.test(path)) return "the folder does not exist";
  const last = path.slice(Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\")) + 1);
  if (/[^.]\.[A-Za-z0-9]+$/.test(last)) return "the file does not exist";
  return "does not exist (no file or folder of that name)";
}

/**
 * Whether `path` is known not to exist: true only where asking for it says so (not for a
 * path that cannot be read for another reason, which its reader reports).
 *
 * @example
 * ```ts
 * import { pathMissing } from "./fs.ts";
 * await pathMissing("/nonexistent"); // true
 * await pathMissing("."); // false
 * ```
 */
export async function pathMissing(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return false;
  } catch (e) {
    return e instanceof Deno.errors.NotFound;
  }
}

/**
 * Copy the folder `from` to `to` (created): files and folders, links left out, and the
 * top-level entries named in `options.skip` left out (a repository's history and build
 * outputs when a tool or a test works on a copy of the tree).
 *
 * @example
 * ```ts ignore
 * import { copyTree } from "./fs.ts";
 * await copyTree(".", "/tmp/repo", { skip: [".git", "out"] });
 * ```
 */
export async function copyTree(
  from: string,
  to: string,
  options: { skip?: readonly string[] } = {},
): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (options.skip?.includes(e.name)) continue;
    if (e.isDirectory) await copyTree(`${from}/${e.name}`, `${to}/${e.name}`);
    else if (e.isFile) await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}

/**
 * Whether another open file description holds an exclusive lock on the file at `path` (a
 * run's `run.lock` while its run goes on, runner/out_lock.ts); false when there is no file.
 *
 * @example
 * ```ts ignore
 * import { lockHeld } from "./fs.ts";
 * await lockHeld("out/smoke/run.lock"); // true while a run writes out/smoke
 * ```
 */
export async function lockHeld(path: string): Promise<boolean> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true, write: true });
  } catch {
    return false; // none: no run has it
  }
  try {
    if (!(await file.tryLock(true))) return true;
    await file.unlock();
    return false;
  } finally {
    file.close();
  }
}
