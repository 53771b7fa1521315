/** Helpers of the Chromium-runtime tests: is a browser here, the harness as a user runs it. */
import { findChromium } from "../browser/chromium.ts";

const root = new URL("../", import.meta.url).pathname;

/** Why the Chromium tests are ignored here (no browser), or null when one is found. */
export function chromiumMissing(): string | null {
  try {
    findChromium(undefined);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/** A test name that carries why it is ignored when there is no browser. */
export function browserTestName(name: string): string {
  const why = chromiumMissing();
  return why === null ? name : `${name} (ignored: ${why.slice(0, 120)})`;
}

/**
 * The permissions the deno.json `harness` task grants (the tests run the CLI with the
 * same ones, so a missing grant fails here, not for a user).
 */
export function harnessPermissions(): string[] {
  const config = JSON.parse(Deno.readTextFileSync(`${root}deno.json`));
  const task = String(config.tasks.harness);
  return task.split(/\s+/).filter((a) => a.startsWith("--allow-"));
}

/** A spawned harness: `deno run <task permissions> main.ts ...args`. */
export function spawnHarness(args: string[], env: Record<string, string> = {}): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", ...harnessPermissions(), `${root}main.ts`, ...args],
    cwd: root,
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Run the harness to the end and capture everything. */
export async function runHarness(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawnHarness(args, env);
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** The parent pid of a process (null when it is gone or a zombie). */
function liveParent(pid: number): number | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (rest[0] === "Z" || rest[0] === "X") return null;
    return Number(rest[1]);
  } catch {
    return null;
  }
}

/** Every live descendant of a process (Linux: /proc). */
export function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    const pp = liveParent(Number(e.name));
    if (pp !== null) parent.set(Number(e.name), pp);
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [c, pp] of parent) {
      if (pp === p) {
        out.push(c);
        walk(c);
      }
    }
  };
  walk(pid);
  return out;
}

/** The processes among `pids` still alive (zombies count as gone). */
export function stillAlive(pids: readonly number[]): number[] {
  return pids.filter((p) => liveParent(p) !== null);
}

/** The command line of a process ("" when gone). */
export function commandLine(pid: number): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).replaceAll("\0", " ").trim();
  } catch {
    return "";
  }
}
