/**
 * One run at a time in an output folder: `run.lock`, held with an exclusive advisory file
 * lock (`FsFile.tryLock`, flock on Linux) from before the run claims the folder until it
 * ends, and holding the writer's process id and start. A second run into the same folder
 * meanwhile is refused instead of interleaving its results.jsonl lines with the first's. The
 * operating system drops the lock when its process ends, however it ends (SIGKILL, a
 * crash), so a lock file left behind holds no lock and the next run takes it over: no
 * process table is read (Deno reads /proc only with --allow-all). Once the lock is taken,
 * the temp files of atomic writes (util/fs.ts) that a killed process left there are removed.
 *
 * @module
 */
import { OutputWriteError, ReportFileError } from "../report/errors.ts";
import { isStorageFull, osErrorText, removeAtomicTemps } from "../util/fs.ts";

/** The lock file's name in a run folder. */
export const RUN_LOCK = "run.lock";

/** A held lock: release it when the run ends. */
export interface OutLock {
  /** Removes the lock file and drops the lock. */
  release(): Promise<void>;
}

/** What the holder wrote: `{"pid": 123, "since": "..."}`, or null when unreadable. */
async function holder(path: string): Promise<{ pid: number; since: string } | null> {
  try {
    const v = JSON.parse(await Deno.readTextFile(path));
    return typeof v?.pid === "number" && typeof v?.since === "string" ? v : null;
  } catch {
    return null;
  }
}

/**
 * Opens (creating) the lock file; what stops it is said naming the file (exit 2), where a
 * folder named run.lock, or a lock file the user may not write, was an internal error with a
 * stack trace before any work.
 */
async function openLockFile(out: string, path: string): Promise<Deno.FsFile> {
  try {
    return await Deno.open(path, { read: true, write: true, create: true });
  } catch (e) {
    if (isStorageFull(e)) {
      throw new OutputWriteError(
        path,
        "cannot take the folder's lock: the disk (or a quota) is full; free space and run " +
          "the command again",
        { cause: e },
      );
    }
    const lock = `the lock file that lets one run at a time write ${out}`;
    throw new ReportFileError(
      path,
      e instanceof Deno.errors.IsADirectory
        ? `is a folder, where ${lock} goes: remove it, or pick another --out`
        : `cannot be opened as ${lock} (${osErrorText(e)}): remove it or make it writable, ` +
          "or pick another --out",
      { cause: e },
    );
  }
}

/**
 * Take `<out>/run.lock` for this process. Throws a ReportFileError (exit 2) naming the
 * holding process when another run holds it. A lock file whose process has ended holds no
 * lock and is taken over.
 *
 * @example
 * ```ts ignore
 * import { lockOutDir } from "./out_lock.ts";
 * const lock = await lockOutDir("out/smoke");
 * try {
 *   // ... write the run's files
 * } finally {
 *   await lock.release();
 * }
 * ```
 */
export async function lockOutDir(out: string): Promise<OutLock> {
  const path = `${out.replace(/\/+$/, "") || "."}/${RUN_LOCK}`;
  for (let attempt = 0; attempt < 3; attempt++) {
    const file = await openLockFile(out, path);
    let locked = false;
    try {
      locked = await file.tryLock(true);
      if (!locked) {
        const h = await holder(path);
        throw new ReportFileError(
          out,
          `is being written by another run (${
            h ? `process ${h.pid}, since ${h.since}` : "its process unknown"
          }; ${RUN_LOCK}): two runs in one folder would mix their results. Wait for it, or ` +
            "pick another --out",
        );
      }
      // The holder before us may have removed the file after we opened it: then our lock is
      // on a file no one else will open. Take the one at the path instead.
      const [mine, atPath] = [await file.stat(), await Deno.stat(path).catch(() => null)];
      if (atPath === null || mine.ino !== atPath.ino || mine.dev !== atPath.dev) {
        await file.unlock();
        locked = false;
        file.close();
        continue;
      }
      const body = JSON.stringify({ pid: Deno.pid, since: new Date().toISOString() }) + "\n";
      try {
        await file.truncate(0);
        await file.write(new TextEncoder().encode(body));
      } catch (e) {
        // a full disk: Deno's "No space left on device (os error 28)" named no file
        if (!isStorageFull(e)) throw e;
        await Deno.remove(path).catch(() => {});
        throw new OutputWriteError(
          path,
          "cannot take the folder's lock: the disk (or a quota) is full; free space and run " +
            "the command again",
          { cause: e },
        );
      }
      // The folder is this process's now: the temp files of writes that a killed process
      // left half-done go (each killed run left its own, which no run removed), said.
      const dir = out.replace(/\/+$/, "") || ".";
      for (const t of await removeAtomicTemps(dir)) {
        console.error(
          `note: removed ${dir}/${t.name}, a half-written copy of ${t.of} that a killed ` +
            "process left (its write never finished)",
        );
      }
      return {
        release: async () => {
          // Removed while still locked: a run waiting on it retries on a fresh file.
          await Deno.remove(path).catch(() => {});
          await file.unlock().catch(() => {});
          file.close();
        },
      };
    } catch (e) {
      if (locked) await file.unlock().catch(() => {});
      try {
        file.close();
      } catch {
        // closed already
      }
      throw e;
    }
  }
  throw new ReportFileError(out, `could not take ${RUN_LOCK}: other runs kept replacing it`);
}
