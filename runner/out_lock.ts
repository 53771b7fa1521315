/**
 * One run at a time in an output folder: `run.lock`, created exclusively before the run
 * claims the folder and removed when it ends, names the process that writes there. A second
 * run into the same folder meanwhile is refused instead of interleaving its results.jsonl
 * lines with the first's. A lock left by a process that no longer runs (SIGKILL, a crash) is
 * taken over: on Linux, /proc tells whether its process is still a Deno; where there is no
 * /proc, a lock is kept only while younger than a day.
 *
 * @module
 */
import { ReportFileError } from "../report/errors.ts";

/** The lock file's name in a run folder. */
export const RUN_LOCK = "run.lock";

/** What run.lock holds. */
interface LockBody {
  /** The process that holds it. */
  pid: number;
  /** When it was taken (ISO). */
  since: string;
}

/** A held lock: release it when the run ends. */
export interface OutLock {
  /** Removes the lock file (only if it is still this process's). */
  release(): Promise<void>;
}

const DAY_MS = 24 * 3600 * 1000;

/** Whether the process of a lock still runs (null: cannot tell here). */
async function alive(pid: number): Promise<boolean | null> {
  if (pid === Deno.pid) return true;
  try {
    const cmdline = await Deno.readTextFile(`/proc/${pid}/cmdline`);
    // a pid reused by another program is not the run that took the lock
    return /deno/i.test(cmdline);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      return await Deno.stat("/proc/self").then(() => false, () => null);
    }
    return null;
  }
}

async function readBody(path: string): Promise<LockBody | null> {
  try {
    const v = JSON.parse(await Deno.readTextFile(path));
    return typeof v?.pid === "number" && typeof v?.since === "string" ? v : null;
  } catch {
    return null;
  }
}

/**
 * Take `<out>/run.lock` for this process. Throws a ReportFileError (exit 2) naming the
 * process when another live run holds it; a stale lock (its process gone, or unreadable) is
 * replaced.
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
  const body: LockBody = { pid: Deno.pid, since: new Date().toISOString() };
  const text = JSON.stringify(body) + "\n";
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await Deno.writeTextFile(path, text, { createNew: true });
      return {
        release: async () => {
          const now = await readBody(path);
          if (now?.pid === body.pid && now.since === body.since) {
            await Deno.remove(path).catch(() => {});
          }
        },
      };
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    }
    const held = await readBody(path);
    const live = held === null ? false : await alive(held.pid);
    const young = held !== null && Date.now() - Date.parse(held.since) < DAY_MS;
    if (held !== null && (live === true || (live === null && young))) {
      throw new ReportFileError(
        out,
        `is being written by another run (process ${held.pid}, since ${held.since}; ` +
          `${RUN_LOCK}): two runs in one folder would mix their results. Wait for it, or ` +
          `pick another --out${live === null ? `; remove ${path} if no run is writing there` : ""}`,
      );
    }
    // Stale (its process is gone) or unreadable: replaced.
    await Deno.remove(path).catch(() => {});
  }
  throw new ReportFileError(out, `could not take ${RUN_LOCK}: another run took it meanwhile`);
}
