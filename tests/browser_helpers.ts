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

/**
 * The process table: pid -> parent pid, zombies left out. Read through `sh` and `cat`
 * (Deno reads /proc only with --allow-all, which the test task does not grant).
 */
function processTable(): Map<number, number> {
  const out = new Deno.Command("sh", {
    args: ["-c", "cat /proc/[0-9]*/stat 2>/dev/null"],
    stdout: "piped",
    stderr: "null",
  }).outputSync();
  const table = new Map<number, number>();
  for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses
    const close = line.lastIndexOf(")");
    if (close < 0) continue;
    const pid = Number(line.slice(0, line.indexOf(" ")));
    const [state, ppid] = line.slice(close + 2).split(" ");
    if (state === "Z" || state === "X") continue;
    table.set(pid, Number(ppid));
  }
  return table;
}

/** The descendants of `pid` in `table` (pid -> parent pid). */
function descendantsIn(table: ReadonlyMap<number, number>, pid: number): number[] {
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [c, pp] of table) {
      if (pp === p) {
        out.push(c);
        walk(c);
      }
    }
  };
  walk(pid);
  return out;
}

/** Every live descendant of a process (Linux). */
export function descendants(pid: number): number[] {
  return descendantsIn(processTable(), pid);
}

/** The variable that marks the launches of one test's browsers ({@link ownBrowsers}). */
const OWN_BROWSER_VARIABLE = "MLA_HARNESS_TEST_BROWSER";

/** One test's browsers, told apart from the others in its `deno test` process. */
export interface OwnBrowsers {
  /** The extra environment to launch them with (`env` of ChromiumGpu.start or launchChromium). */
  readonly env: Readonly<Record<string, string>>;
  /** The live processes of those browsers (Linux), and of no other browser. */
  pids(): number[];
}

/**
 * One test's own browsers, apart from every other module's browsers in the same shared
 * `deno test --parallel` process, so that a test may stop or kill their processes: launch
 * them with `env` (a variable holding a tag of this call's own), and `pids()` lists the live
 * processes below this process that have the tag in their environment (each launching
 * shell, the wrapper script, the browser), and everything below those (zygotes, renderers,
 * the GPU process: they do not keep the variable, so they are found in the process tree). A
 * re-acquire's fresh browser is launched with the same `env`, so it counts too.
 *
 * @example
 * ```ts ignore
 * import { ChromiumGpu } from "../browser/chromium_gpu.ts";
 * import { ownBrowsers } from "./browser_helpers.ts";
 * const own = ownBrowsers();
 * const gpu = await ChromiumGpu.start({ env: { ...own.env } });
 * own.pids(); // [launching shell, wrapper, browser, zygotes, GPU process, renderers, ...]
 * await gpu.close();
 * ```
 */
export function ownBrowsers(): OwnBrowsers {
  const tag = crypto.randomUUID();
  const entry = `${OWN_BROWSER_VARIABLE}=${tag}`;
  return {
    env: { [OWN_BROWSER_VARIABLE]: tag },
    pids: () => {
      const table = processTable();
      // each environment's entries are NUL-separated: -z reads them as lines, -x whole
      const out = new Deno.Command("sh", {
        args: ["-c", 'grep -lzxF -e "$1" /proc/[0-9]*/environ 2>/dev/null', "sh", entry],
        stdout: "piped",
        stderr: "null",
      }).outputSync();
      const tagged = new Set(
        new TextDecoder().decode(out.stdout).split("\n").map((l) => /^\/proc\/(\d+)\//.exec(l))
          .filter((m) => m !== null).map((m) => Number(m[1])),
      );
      const found = new Set<number>();
      for (const p of descendantsIn(table, Deno.pid)) {
        if (!tagged.has(p) || found.has(p)) continue;
        found.add(p);
        for (const c of descendantsIn(table, p)) found.add(c);
      }
      return [...found];
    },
  };
}

/** The processes among `pids` still alive (zombies count as gone). */
export function stillAlive(pids: readonly number[]): number[] {
  const table = processTable();
  return pids.filter((p) => table.has(p));
}

/** The command line of a process ("" when gone). */
export function commandLine(pid: number): string {
  const out = new Deno.Command("sh", {
    args: ["-c", 'tr "\\0" " " < /proc/$1/cmdline', "sh", String(pid)],
    stdout: "piped",
    stderr: "null",
  }).outputSync();
  return new TextDecoder().decode(out.stdout).trim();
}

/** The call's error, or a test failure when it succeeds or takes longer than `ms` (a hang). */
export async function failsWithin(call: Promise<unknown>, ms: number): Promise<Error> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((r) => timer = setTimeout(() => r("late"), ms));
  try {
    const got = await Promise.race([call.then(() => "ok" as const, (e: Error) => e), late]);
    if (!(got instanceof Error)) {
      throw new Error(`the call ${got === "ok" ? "succeeded" : `ran past ${ms} ms`}`);
    }
    return got;
  } finally {
    clearTimeout(timer);
  }
}
