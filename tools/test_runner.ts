/**
 * `deno task test`: runs the suite with `deno test`, and on wgpu's GL fallback runs each
 * test module that can create a WebGPU device in a `deno test` process of its own.
 *
 * Why: on the GL fallback (Mesa's EGL on llvmpipe, what a machine without a Vulkan driver
 * gets), a `deno test` process whose modules create WebGPU devices sometimes aborts at exit,
 * after printing an all-passed summary (glibc: "corrupted size vs. prev_size in fastbins",
 * exit 134): about one full-suite run in five. With one such module per process the abort
 * is rarer (1 in 100 single-module runs) and costs one module's rerun, not the suite's.
 * The cause is a double free in the system's libglvnd at exit (docs/gl_exit_abort.md,
 * `tools/gl_exit_abort_repro.ts`).
 *
 * - Vulkan (lavapipe, a GPU) or another backend: one `deno test --parallel` over the paths,
 *   its output and exit status passed through unchanged.
 * - GL fallback: the modules whose imports never reach `navigator.gpu` run in one process;
 *   every other module in its own, as many at once as there are jobs. Each process's output
 *   is passed through (as it comes with one job; whole, when the process ends, with more);
 *   the last line sums their summaries in `deno test`'s format. A process killed
 *   by SIGABRT or SIGSEGV after a summary with no failure (the exit-time abort, which also
 *   hit one single-module process in 100) is run again, up to twice, and its last result
 *   counts; every rerun is named in the last lines. Any other non-zero exit after a summary with no
 *   failure counts as one failure. Before them, one `deno test --no-run` type-checks every
 *   module at once, and the processes run with `--no-check` ({@link precheckFlags}): on a
 *   fresh machine (no type-check cache) each process checking its own module graph cost
 *   about 3.5 CPU seconds, some 4 minutes of the suite's 10 on 2 CPUs, where one check of
 *   the whole suite takes 6.5 s. A type error fails the run before any module runs.
 *
 * Jobs: modules run side by side, as many as `DENO_JOBS` says (default: the CPUs, at most 4;
 * `deno test --parallel` gets the same number). On this project's 2-vCPU machine that took the suite
 * from 9m53s to 6m22s on lavapipe: while one module waits on a subprocess, Chromium or a
 * type check, the other computes. `DENO_JOBS=1` runs one module at a time, as before.
 *
 *   deno task test                                  # tests/
 *   deno task test tests/matrix_test.ts --filter smoke
 *   DENO_JOBS=1 deno task test                      # one module at a time
 *
 * Modules that time kernels and compare the timings (a line `// test_runner: alone` in the
 * module, {@link runsAlone}) run after all the others, one at a time, in a `deno test` of
 * their own: beside another module on a 2-vCPU machine, tests/drift_real_test.ts saw a rerun
 * of the same code move by 3x (2 of 3 clean-clone CI runs failed one of its timing tests;
 * alone it passed every time). The last line then sums every process's summary. (The modules
 * that stop or kill Chromium processes, tests/browser_crash_test.ts and two more, ran alone
 * too until session 53: each now acts only on the processes of the browsers it started itself,
 * the process tree below their launching shells (`ownBrowsers` in tests/browser_helpers.ts), so
 * in the shared `deno test --parallel` process they no longer reach other modules' browsers.)
 *
 * Modules with a line `// test_runner: early` (the suite's longest) start before the others
 * ({@link earlyFirst}), so that the last minute is not one long module beside an idle job.
 *
 * Arguments that name an existing file or folder are the paths (default `tests/`); the
 * rest go to every `deno test` as they are (the value after `--filter` and deno test's other
 * value flags too, {@link VALUE_FLAGS}).
 *
 * Flags that deno test refuses (a typo, `--filter` without its value) are said once, with
 * deno's own message, before any module runs (exit 2).
 *
 * SIGINT, SIGTERM or SIGHUP (a CI job's timeout, a Ctrl-C) stops every running `deno test`
 * with SIGTERM and starts no more; where the runner sums processes (GL, or a module that runs
 * alone) the last lines still name each stopped process and sum the counts, and the exit
 * status is 128 + the signal's number (143 for SIGTERM). Until then a runner killed by a CI
 * timeout left its `deno test` processes running, and no summary.
 *
 * @module
 */
import { chooseBackend, systemProbe } from "../gpu/backend_choice.ts";
import { listenableStopSignals, stopExitCode, type StopSignal } from "../util/stop_signals.ts";

/**
 * ANSI colour codes (deno test colours its output even into a pipe), global: for `replace`.
 *
 * @example
 * ```ts
 * import { ANSI_COLOR } from "./test_runner.ts";
 * `${String.fromCharCode(27)}[32mok${String.fromCharCode(27)}[0m`.replace(ANSI_COLOR, ""); // "ok"
 * ```
 */
export const ANSI_COLOR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");

/**
 * Permissions every `deno test` process gets (what the suite needs; no FFI, and the network
 * only on 127.0.0.1, where a test that drives headless Chromium in its own process serves
 * the page and speaks the DevTools protocol, as the harness task does).
 */
export const TEST_PERMISSIONS: readonly string[] = [
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-run",
  "--allow-sys",
  "--allow-net=127.0.0.1",
];

/** Folders never searched for test modules (as deno.json's `test.exclude`). */
const EXCLUDED_DIRS = new Set(["out", ".device", ".gl", "node_modules", ".git"]);

/**
 * The `deno test` flags (Deno 2.9) whose value may come as the next argument (`--filter
 * parity`): that argument is the flag's value, never a path, even when a file or folder
 * of that name exists (parity/, drift/, ... are folders of this repo).
 */
export const VALUE_FLAGS: ReadonlySet<string> = new Set([
  "--filter",
  "--coverage-threshold",
  "--reporter",
  "--junit-path",
  "--retry",
  "--repeats",
  "--shard",
  "--related",
  "--ext",
  "--import-map",
  "--node-modules-linker",
  "-c",
  "--config",
  "--cert",
  "--min-dep-age",
  "--inspect-publish-uid",
  "--location",
  "--seed",
  "--preload",
  "--require",
  "--conditions",
]);

/**
 * The command line split into paths (existing files or folders) and `deno test` flags.
 * The argument after a flag of {@link VALUE_FLAGS} is that flag's value. An argument that
 * looks like a path (a script file, or one with a `/`) but names nothing is an error naming
 * it, not a flag passed on to every `deno test`.
 *
 * @example
 * ```ts
 * import { splitArgs } from "./test_runner.ts";
 * splitArgs(["tests/x_test.ts", "--filter", "smoke"], (p) => p.endsWith(".ts"));
 * // { paths: ["tests/x_test.ts"], flags: ["--filter", "smoke"] }
 * ```
 */
export function splitArgs(
  args: readonly string[],
  exists: (path: string) => boolean,
): { paths: string[]; flags: string[] } {
  const paths: string[] = [];
  const flags: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (VALUE_FLAGS.has(a) && i + 1 < args.length) flags.push(a, args[++i]);
    else if (!a.startsWith("-") && exists(a)) paths.push(a);
    else if (!a.startsWith("-") && /\/|\.(ts|js|mts|mjs|tsx|jsx)$/.test(a)) {
      throw new Error(
        `no such test file or folder: ${a} (give paths under tests/, or none for all)`,
      );
    } else flags.push(a);
  }
  return { paths: paths.length > 0 ? paths : ["tests/"], flags };
}

/**
 * Test modules (`*_test.ts`) in the paths, sorted, as `deno test` would find them.
 *
 * @example
 * ```ts
 * import { testModules } from "./test_runner.ts";
 * testModules(["tests/"]); // ["tests/adapter_device_class_test.ts", ...]
 * ```
 */
export function testModules(paths: readonly string[]): string[] {
  const found = new Set<string>();
  const walk = (dir: string) => {
    for (const e of Deno.readDirSync(dir)) {
      const p = `${dir.replace(/\/$/, "")}/${e.name}`;
      if (e.isDirectory && !EXCLUDED_DIRS.has(e.name)) walk(p);
      else if (e.isFile && /_test\.(ts|js|mts|mjs|tsx|jsx)$/.test(e.name)) found.add(p);
    }
  };
  for (const p of paths) {
    if (Deno.statSync(p).isDirectory) walk(p);
    else found.add(p);
  }
  return [...found].sort();
}

/** The line that makes a test module run alone, after the others ({@link runsAlone}). */
export const ALONE_MARKER = "// test_runner: alone";

/**
 * Whether a test module's source asks to run alone: a line starting with
 * {@link ALONE_MARKER} (what follows on the line says why). Timing comparisons need a machine
 * that no other test module is loading.
 *
 * @example
 * ```ts
 * import { runsAlone } from "./test_runner.ts";
 * runsAlone("// test_runner: alone (it compares timings)\nDeno.test(...)"); // true
 * runsAlone('Deno.test("a", () => {});'); // false
 * ```
 */
export function runsAlone(source: string): boolean {
  return hasMarkerLine(source, ALONE_MARKER);
}

/** Whether a module's source has a line starting with a runner marker. */
function hasMarkerLine(source: string, marker: string): boolean {
  return source.split("\n").some((line) => line.startsWith(marker));
}

/** The line that makes a test module start before the unmarked ones ({@link earlyFirst}). */
export const EARLY_MARKER = "// test_runner: early";

/**
 * The modules in the order they are started: those with a line starting with
 * {@link EARLY_MARKER} (the suite's longest, about a minute each) first, then the rest, each
 * part in its given order. With two modules at a time, a long module started last would run
 * on with the other job idle; started first, the short ones fill in beside it.
 *
 * @example
 * ```ts
 * import { earlyFirst } from "./test_runner.ts";
 * const src: Record<string, string> = { "a.ts": "", "z.ts": "// test_runner: early (60 s)" };
 * earlyFirst(["a.ts", "z.ts"], (m) => src[m]); // ["z.ts", "a.ts"]
 * ```
 */
export function earlyFirst(modules: readonly string[], read: (m: string) => string): string[] {
  const early = modules.filter((m) => hasMarkerLine(read(m), EARLY_MARKER));
  return [...early, ...modules.filter((m) => !early.includes(m))];
}

/**
 * Relative module specifiers a source imports statically or with a literal dynamic import.
 *
 * @example
 * ```ts
 * import { relativeImports } from "./test_runner.ts";
 * relativeImports('import { a } from "./a.ts";'); // ["./a.ts"]
 * ```
 */
export function relativeImports(source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(/(?:\bfrom|\bimport)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)) {
    out.push(m[1]);
  }
  return out;
}

/**
 * Whether a module, or any local module it imports (transitively), mentions
 * `navigator.gpu`: one that can create a WebGPU device. Over-counting only costs a process.
 *
 * @example
 * ```ts
 * import { reachesWebGpu } from "./test_runner.ts";
 * reachesWebGpu("tests/kernels_parity_test.ts"); // true: gpu_helpers.ts -> gpu/device.ts
 * ```
 */
export function reachesWebGpu(path: string, cache: Map<string, boolean> = new Map()): boolean {
  const seen = new Set<string>();
  const stack = [new URL(path, `file://${Deno.cwd()}/`).pathname];
  while (stack.length > 0) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const known = cache.get(file);
    if (known === true) return true;
    let source: string;
    try {
      source = Deno.readTextFileSync(file);
    } catch {
      continue;
    }
    if (/\bnavigator\.gpu\b/.test(source)) {
      cache.set(file, true);
      return true;
    }
    for (const rel of relativeImports(source)) stack.push(new URL(rel, `file://${file}`).pathname);
  }
  return false;
}

/** The counts of one `deno test` summary line (tests, and steps where it gives them). */
export interface TestSummary {
  readonly ok: boolean;
  readonly passed: number;
  readonly passedSteps: number;
  readonly failed: number;
  readonly failedSteps: number;
  readonly ignored: number;
  readonly ignoredSteps: number;
  readonly filteredOut: number;
}

/**
 * The last `deno test` summary in an output (colours stripped), or null when there is none.
 *
 * @example
 * ```ts
 * import { parseSummary } from "./test_runner.ts";
 * parseSummary("ok | 5 passed | 0 failed | 2 ignored (3s)"); // { ok: true, passed: 5, ignored: 2, ... }
 * ```
 */
export function parseSummary(output: string): TestSummary | null {
  // deno test: "ok | 5 passed (2 steps) | 0 failed | 3 ignored | 4 filtered out (2s)".
  const plain = output.replace(ANSI_COLOR, "");
  const re =
    /^(ok|FAILED) \| (\d+) passed(?: \((\d+) steps?\))? \| (\d+) failed(?: \((\d+) steps?\))?(?: \| (\d+) ignored(?: \((\d+) steps?\))?)?(?: \| \d+ measured)?(?: \| (\d+) filtered out)?/gm;
  let last: RegExpExecArray | null = null;
  for (let m = re.exec(plain); m !== null; m = re.exec(plain)) last = m;
  if (last === null) return null;
  const n = (i: number) => Number(last[i] ?? 0);
  return {
    ok: last[1] === "ok",
    passed: n(2),
    passedSteps: n(3),
    failed: n(4),
    failedSteps: n(5),
    ignored: n(6),
    ignoredSteps: n(7),
    filteredOut: n(8),
  };
}

/**
 * A duration as `deno test` prints it: 42ms, 19s, 6m20s.
 *
 * @example
 * ```ts
 * import { formatElapsed } from "./test_runner.ts";
 * formatElapsed(380_000); // "6m20s"
 * ```
 */
export function formatElapsed(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.floor(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${s % 60}s`;
}

/**
 * The summed summary line, in `deno test`'s format.
 *
 * @example
 * ```ts
 * import { formatSummary, parseSummary } from "./test_runner.ts";
 * formatSummary(parseSummary("ok | 5 passed | 0 failed (3s)")!, 4200); // "ok | 5 passed | 0 failed (4s)"
 * ```
 */
export function formatSummary(total: TestSummary, elapsedMs: number): string {
  const steps = (n: number) => n > 0 ? ` (${n} step${n === 1 ? "" : "s"})` : "";
  return `${total.ok ? "ok" : "FAILED"} | ${total.passed} passed${steps(total.passedSteps)}` +
    ` | ${total.failed} failed${steps(total.failedSteps)}` +
    (total.ignored > 0 || total.ignoredSteps > 0
      ? ` | ${total.ignored} ignored${steps(total.ignoredSteps)}`
      : "") +
    (total.filteredOut > 0 ? ` | ${total.filteredOut} filtered out` : "") +
    ` (${formatElapsed(elapsedMs)})`;
}

/** Running totals of several `deno test` processes. */
export type TestTotal = { -readonly [K in keyof TestSummary]: TestSummary[K] };

/**
 * Zero counts, ok.
 *
 * @example
 * ```ts
 * import { emptyTotal } from "./test_runner.ts";
 * emptyTotal().passed; // 0
 * ```
 */
export function emptyTotal(): TestTotal {
  return {
    ok: true,
    passed: 0,
    passedSteps: 0,
    failed: 0,
    failedSteps: 0,
    ignored: 0,
    ignoredSteps: 0,
    filteredOut: 0,
  };
}

/**
 * Adds one process's summary to the totals. A process that failed with no summary, or
 * exited non-zero although its summary had no failure (the exit-time abort), counts as one
 * failed test; the returned line names it (null when the process needs no line).
 *
 * @example
 * ```ts
 * import { addRun, emptyTotal, parseSummary } from "./test_runner.ts";
 * const total = emptyTotal();
 * addRun(total, parseSummary("ok | 3 passed | 0 failed (1s)"), { success: false, code: 134, signal: "SIGABRT" }, "tests/a_test.ts");
 * // "tests/a_test.ts: deno test signal SIGABRT after all its tests passed (counted as a failure)"
 * ```
 */
export function addRun(
  total: TestTotal,
  summary: TestSummary | null,
  status: Deno.CommandStatus,
  label: string,
): string | null {
  if (summary) {
    for (const k of Object.keys(total) as (keyof TestTotal)[]) {
      if (k !== "ok") total[k] += summary[k];
    }
  }
  if (status.success) return null;
  total.ok = false;
  const how = status.signal ? `signal ${status.signal}` : `exit ${status.code}`;
  if (summary === null) {
    total.failed += 1;
    return `${label}: deno test ${how} without a summary`;
  }
  if (summary.failed === 0) {
    total.failed += 1;
    // deno test's exit 1 for a test marked only (the others filtered out), whose "error:"
    // line went by on stderr: said here, where the summary is read
    const only = status.code === 1 && status.signal === null && summary.filteredOut > 0
      ? `; ${summary.filteredOut} filtered out: a Deno.test.only (or a step's only) left in ` +
        "the module fails the run"
      : "";
    return `${label}: deno test ${how} after all its tests passed${only} (counted as a failure)`;
  }
  return null;
}

/**
 * Flags that decide about type checking themselves: with any of them the GL fallback's runner
 * leaves each process to check as the flags say ({@link precheckFlags}).
 */
const CHECK_FLAGS = /^--(no-check|check|no-run|doc)(=|$)/;

/**
 * The flags of the one type check the GL fallback's runner does before its processes
 * (`deno test --no-run` over every module), and of the processes after it (`--no-check`
 * added: the check already passed); null when the user's flags decide about checking
 * (`--no-check`, `--check`, `--no-run`, `--doc`), so that each process checks as they say.
 * One check of the whole suite instead of one per process: on a fresh machine (no check
 * cache) 85 processes each type-checked their own module graph, most of it the same code.
 *
 * @example
 * ```ts
 * import { precheckFlags } from "./test_runner.ts";
 * precheckFlags(["--filter", "smoke"]);
 * // { check: ["--no-run", "--filter", "smoke"], run: ["--no-check", "--filter", "smoke"] }
 * precheckFlags(["--no-check"]); // null
 * ```
 */
export function precheckFlags(
  flags: readonly string[],
): { check: string[]; run: string[] } | null {
  if (flags.some((f) => CHECK_FLAGS.test(f))) return null;
  return { check: ["--no-run", ...flags], run: ["--no-check", ...flags] };
}

/**
 * Reruns of a module whose process died of the GL exit-time abort. Under load it hit about
 * one run in 35 of a small `deno test` process (docs/gl_exit_abort.md: 4 of 150, 2 of 60).
 * With one rerun, a module would fail after two aborts in a row, and a suite of 64 WebGPU
 * modules about 64 / 35^2 = 5% of the time; with two reruns, 64 / 35^3 = 0.15%.
 */
export const MAX_ABORT_RERUNS = 2;

/**
 * Whether a process died of the GL exit-time abort: killed by SIGABRT or SIGSEGV after a
 * summary with no failure. Only such a process is run again; a failed test never is.
 *
 * @example
 * ```ts
 * import { isExitAbort, parseSummary } from "./test_runner.ts";
 * isExitAbort({ success: false, code: 134, signal: "SIGABRT" }, parseSummary("ok | 2 passed | 0 failed (1s)")); // true
 * ```
 */
export function isExitAbort(status: Deno.CommandStatus, summary: TestSummary | null): boolean {
  return !status.success && (status.signal === "SIGABRT" || status.signal === "SIGSEGV") &&
    summary !== null && summary.failed === 0 && summary.failedSteps === 0;
}

/**
 * The most modules run at once when `DENO_JOBS` is not set, whatever the CPUs: a lavapipe
 * or llvmpipe device already spreads each dispatch over every CPU, so more modules add
 * memory (the suite's largest process peaked at 2.3 GB with 2 at once), not speed.
 */
export const DEFAULT_MAX_JOBS = 4;

/**
 * How many test modules run at once: `DENO_JOBS` when it is a whole number of at least 1,
 * else the CPUs, at most {@link DEFAULT_MAX_JOBS}. Anything else in `DENO_JOBS` is an error
 * naming it.
 *
 * @example
 * ```ts
 * import { jobCount } from "./test_runner.ts";
 * jobCount("3", 2); // 3
 * jobCount(undefined, 2); // 2
 * jobCount(undefined, 64); // 4
 * ```
 */
export function jobCount(env: string | undefined, cpus: number): number {
  if (env === undefined || env.trim() === "") {
    return Math.max(1, Math.min(DEFAULT_MAX_JOBS, Math.floor(cpus)));
  }
  const n = Number(env.trim());
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`DENO_JOBS must be a whole number of at least 1 (got "${env}")`);
  }
  return n;
}

/**
 * Runs `work` over the items with at most `jobs` at once, in order of the items; stops
 * taking new items once `stop()` is true. Resolves when every started item has ended.
 *
 * @example
 * ```ts
 * import { runPool } from "./test_runner.ts";
 * await runPool([1, 2, 3], 2, async (n) => console.log(n), () => false);
 * ```
 */
export async function runPool<T>(
  items: readonly T[],
  jobs: number,
  work: (item: T, index: number) => Promise<void>,
  stop: () => boolean,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length && !stop()) {
      const i = next++;
      await work(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, worker));
}

/** Writes all of a text, synchronously (a pipe may take it in several writes). */
function writeAllSync(to: { writeSync(p: Uint8Array): number }, text: string): void {
  let bytes = new TextEncoder().encode(text);
  while (bytes.length > 0) bytes = bytes.subarray(to.writeSync(bytes));
}

/** The `deno test` processes running now ({@link spawnTracked}): stopped with the runner. */
const running = new Set<Deno.ChildProcess>();

/** The signal that stopped the runner (SIGINT, SIGTERM, SIGHUP), null while none has. */
let stoppedBy: StopSignal | null = null;

/** Starts a command, kept in {@link running} until it ends. */
function spawnTracked(cmd: Deno.Command): Deno.ChildProcess {
  const child = cmd.spawn();
  running.add(child);
  child.status.finally(() => running.delete(child));
  return child;
}

/**
 * On SIGINT, SIGTERM or SIGHUP (a CI job's timeout, a Ctrl-C): every running `deno test` is
 * sent SIGTERM, no module is started after it, and the runner goes on to its last lines, each
 * stopped process counted as it is for any signal ("signal SIGTERM without a summary"), so the
 * summary line still comes and no `deno test` is left running on its own. Returns the function
 * that removes the listeners.
 */
function stopOnSignals(): () => void {
  const listeners = listenableStopSignals().map((sig) => {
    const listener = () => {
      if (stoppedBy !== null) return;
      stoppedBy = sig;
      console.log(
        `test_runner: ${sig}: stopping ${running.size} running deno test ` +
          `process${running.size === 1 ? "" : "es"}; no module is started after it`,
      );
      for (const child of running) {
        try {
          child.kill("SIGTERM");
        } catch {
          // it ended meanwhile
        }
      }
    };
    Deno.addSignalListener(sig, listener);
    return [sig, listener] as const;
  });
  return () => {
    for (const [sig, listener] of listeners) Deno.removeSignalListener(sig, listener);
  };
}

/**
 * What deno test says when it refuses the flags (an unknown flag, a flag without its value),
 * or null when it takes them: `deno test --no-run --permit-no-files` over an empty folder with
 * the flags, which runs and checks nothing. Not asked with `--watch` (it would not end).
 */
async function refusedFlags(deno: string, flags: readonly string[]): Promise<string | null> {
  if (flags.length === 0 || flags.some((f) => /^--watch(=|$)/.test(f))) return null;
  const empty = await Deno.makeTempDir({ prefix: "test_runner_flags_" });
  try {
    // the folder first: a flag left without its value must not take it
    const r = await new Deno.Command(deno, {
      args: ["test", "--no-run", "--permit-no-files", empty, ...flags],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    return r.success ? null : new TextDecoder().decode(r.stderr);
  } finally {
    await Deno.remove(empty, { recursive: true });
  }
}

/** Runs a command and returns its output, none of it copied through until the end. */
async function runQuiet(
  cmd: Deno.Command,
): Promise<{ status: Deno.CommandStatus; stdout: string; stderr: string }> {
  const r = await spawnTracked(cmd).output();
  const d = new TextDecoder();
  return { status: r, stdout: d.decode(r.stdout), stderr: d.decode(r.stderr) };
}

/** Runs a command, copying its output through as it comes, and returns its stdout text. */
async function runTee(cmd: Deno.Command): Promise<{ status: Deno.CommandStatus; stdout: string }> {
  const child = spawnTracked(cmd);
  const chunks: string[] = [];
  const decoder = new TextDecoder();
  const copy = async (from: ReadableStream<Uint8Array>, to: typeof Deno.stdout, keep: boolean) => {
    for await (const chunk of from) {
      await to.write(chunk);
      if (keep) chunks.push(decoder.decode(chunk, { stream: true }));
    }
  };
  await Promise.all([
    copy(child.stdout, Deno.stdout, true),
    copy(child.stderr, Deno.stderr, false),
  ]);
  return { status: await child.status, stdout: chunks.join("") };
}

/** What `--help` prints (the runner's own; `deno test --help` has deno's flags). */
const USAGE = "usage: deno run -A tools/test_runner.ts [PATH ...] [deno test flags ...]\n" +
  "       deno task test [PATH ...] [deno test flags ...]\n\n" +
  "Runs the test modules under the PATHs (default tests/) with `deno test`: one `deno test " +
  "--parallel` on Vulkan,\neach module that can create a WebGPU device in a process of its " +
  "own on the GL fallback. DENO_JOBS: modules at once\n(default: the CPUs, at most 4). Other " +
  "arguments go to every `deno test` (e.g. --filter smoke).";

async function main(args: string[]): Promise<number> {
  const unlisten = stopOnSignals();
  try {
    const code = await runAll(args);
    return stoppedBy === null ? code : stopExitCode(stoppedBy);
  } finally {
    unlisten();
  }
}

/** What {@link main} runs, its exit status before a stopping signal is accounted for. */
async function runAll(args: string[]): Promise<number> {
  // deno test's own help would list flags this runner does not take (--parallel, --doc)
  if (args.some((a) => a === "--help" || a === "-h")) {
    console.log(USAGE);
    return 0;
  }
  let split;
  try {
    split = splitArgs(args, (p) => {
      try {
        Deno.statSync(p);
        return true;
      } catch {
        return false;
      }
    });
  } catch (e) {
    console.error(`test_runner: ${(e as Error).message}`);
    return 2;
  }
  const { paths, flags } = split;
  let jobs: number;
  try {
    jobs = jobCount(Deno.env.get("DENO_JOBS"), navigator.hardwareConcurrency);
  } catch (e) {
    console.error(`test_runner: ${(e as Error).message}`);
    return 2;
  }
  // deno test's own refusal of a flag, once, before any module: a typo (--filtr) failed every
  // process, said as "the type check ... failed" on GL and as one failure per process on Vulkan
  const refused = await refusedFlags(Deno.env.get("TEST_RUNNER_DENO") ?? Deno.execPath(), flags);
  if (refused !== null) {
    writeAllSync(Deno.stderr, refused);
    console.error(`test_runner: deno test refused the arguments (above): no module was run`);
    return 2;
  }
  const choice = chooseBackend(systemProbe());
  // TEST_RUNNER_DENO: another executable in deno's place (tests/tools_test_runner_test.ts
  // plants one that aborts at exit).
  const deno = Deno.env.get("TEST_RUNNER_DENO") ?? Deno.execPath();
  const found = testModules(paths);
  if (found.length === 0 && !flags.includes("--permit-no-files")) {
    // as deno test does (exit 1), on every backend: on GL the runner once summed no process
    // to "ok | 0 passed | 0 failed", exit 0, after a type check of the whole working folder
    console.error(
      `test_runner: no test modules (*_test.ts) in ${paths.join(", ")} ` +
        `(--permit-no-files to allow that)`,
    );
    return 1;
  }
  const modules = earlyFirst(found, (m) => Deno.readTextFileSync(m));
  const alone = modules.filter((m) => runsAlone(Deno.readTextFileSync(m)));
  const failFast = flags.some((f) => f === "--fail-fast" || f.startsWith("--fail-fast="));
  const aloneLine = () =>
    `test_runner: ${alone.join(", ")} ${alone.length === 1 ? "runs" : "run"} alone, after ` +
    `the others (${ALONE_MARKER}: timing comparisons need a machine no other module is loading)`;
  if (choice.backend !== "gl") {
    // tee: the output copied through as it comes and read for its summary (runTee)
    const parallel = (args: readonly string[], tee: boolean) =>
      new Deno.Command(deno, {
        args: [
          "test",
          ...TEST_PERMISSIONS,
          ...(flags.includes("--parallel") ? [] : ["--parallel"]),
          ...flags,
          ...args,
        ],
        // deno test --parallel reads DENO_JOBS; without it, it would take every CPU
        env: { DENO_JOBS: String(jobs) },
        stdin: "inherit",
        stdout: tee ? "piped" : "inherit",
        stderr: tee ? "piped" : "inherit",
      });
    if (alone.length === 0) {
      // One deno test over the paths (over the modules, in order, where some start early),
      // its output and exit status passed through unchanged.
      const reordered = modules.some((m, i) => m !== found[i]);
      const status = await spawnTracked(parallel(reordered ? modules : paths, false)).status;
      // deno test stopped by the signal printed no summary: the run's last line said nothing
      // of why the counts never came
      if (stoppedBy !== null) {
        console.log(
          `test_runner: stopped by ${stoppedBy}: deno test ended without its summary ` +
            "(no counts: the run did not finish)",
        );
        return stopExitCode(stoppedBy);
      }
      return status.signal ? 128 + (SIGNALS[status.signal] ?? 1) : status.code;
    }
    const start = performance.now();
    const total = emptyTotal();
    const problems: string[] = [];
    const rest = modules.filter((m) => !alone.includes(m));
    console.log(aloneLine());
    const runs = [
      ...(rest.length > 0 ? [{ label: `${rest.length} modules`, args: rest }] : []),
      ...alone.map((m) => ({ label: m, args: [m] })),
    ];
    let begun = 0;
    for (const { label, args } of runs) {
      if ((!total.ok && failFast) || stoppedBy !== null) break;
      begun++;
      const { status, stdout } = await runTee(parallel(args, true));
      const problem = addRun(total, parseSummary(stdout), status, label);
      if (problem) problems.push(problem);
    }
    if (stoppedBy !== null && begun < runs.length) {
      problems.push(notStarted(stoppedBy, runs.length - begun, runs.length));
    }
    for (const p of problems) console.log(`test_runner: ${p}`);
    console.log(formatSummary(total, performance.now() - start));
    return total.ok && total.failed === 0 ? 0 : 1;
  }
  const cache = new Map<string, boolean>();
  const own = modules.filter((m) => reachesWebGpu(m, cache) && !alone.includes(m));
  const shared = modules.filter((m) => !own.includes(m) && !alone.includes(m));
  console.log(
    `test_runner: GL fallback (${choice.reason}): ${own.length} modules that can create a ` +
      `WebGPU device run in a deno test process each, ${shared.length} others in one ` +
      `(on GL, deno test can abort at exit after its tests passed, a double free in the system's ` +
      `libglvnd; such a module is run again: docs/gl_exit_abort.md); ${jobs} at once`,
  );
  if (alone.length > 0) console.log(aloneLine());
  const pooled = [...(shared.length > 0 ? [shared] : []), ...own.map((m) => [m])];
  const groups = [...pooled, ...alone.map((m) => [m])];
  const start = performance.now();
  const total = emptyTotal();
  // One type check of every module, then processes that do not check again
  // (precheckFlags): a type error fails the run before any module runs, as in deno test.
  const pre = precheckFlags(flags);
  let runFlags = flags;
  if (pre !== null && modules.length > 0) {
    const r = await runQuiet(
      new Deno.Command(deno, {
        args: ["test", ...TEST_PERMISSIONS, ...pre.check, ...modules],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }),
    );
    if (!r.status.success) {
      writeAllSync(Deno.stdout, r.stdout);
      writeAllSync(Deno.stderr, r.stderr);
      const how = r.status.signal ? `signal ${r.status.signal}` : `exit ${r.status.code}`;
      console.log(
        stoppedBy !== null
          ? `test_runner: stopped by ${stoppedBy} during the type check: no module was run`
          : `test_runner: the type check of the ${modules.length} test modules failed ` +
            `(deno test --no-run, ${how}; the errors are above): no module was run`,
      );
      total.ok = false;
      total.failed = 1;
      console.log(formatSummary(total, performance.now() - start));
      return 1;
    }
    console.log(
      `test_runner: ${modules.length} modules type-checked at once ` +
        `(${formatElapsed(performance.now() - start)}); each process runs them with --no-check`,
    );
    runFlags = pre.run;
  }
  const problems: string[] = [];
  let begun = 0;
  const work = async (group: string[], i: number) => {
    begun++;
    const label = group.length === 1 ? group[0] : `${group.length} modules without WebGPU`;
    const header = `test_runner: [${i + 1}/${groups.length}] ${label}`;
    const cmd = () =>
      new Deno.Command(deno, {
        args: ["test", ...TEST_PERMISSIONS, ...runFlags, ...group],
        // glibc's heap-check message of an abort goes to stderr (copied through in order),
        // not to the terminal
        env: { LIBC_FATAL_STDERR_: "1" },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      });
    // One job: the output as it comes. More: each process's output whole when it ends, so
    // that modules running side by side do not interleave their lines.
    const run = async () => {
      if (jobs === 1) return await runTee(cmd());
      const r = await runQuiet(cmd());
      // written synchronously, header and output at once: no other job's lines between them
      writeAllSync(Deno.stdout, `${header}\n${r.stdout}`);
      writeAllSync(Deno.stderr, r.stderr);
      return r;
    };
    if (jobs === 1) console.log(header);
    let { status, stdout } = await run();
    // The GL exit-time abort, libglvnd's double free (docs/gl_exit_abort.md): every test
    // passed and was reported, then the process died at exit. Run the module again, up to
    // MAX_ABORT_RERUNS times; the last result counts.
    for (
      let rerun = 1;
      rerun <= MAX_ABORT_RERUNS && stoppedBy === null && isExitAbort(status, parseSummary(stdout));
      rerun++
    ) {
      const what = `${label}: deno test killed by ${status.signal} at exit after all its tests ` +
        `passed (the GL exit-time abort, libglvnd's double free: docs/gl_exit_abort.md)`;
      console.log(`test_runner: ${what}; running it again (${rerun} of ${MAX_ABORT_RERUNS})`);
      ({ status, stdout } = await run());
      problems.push(`${what}; rerun ${rerun} ${status.success ? "passed" : "did not pass"}`);
    }
    const problem = addRun(total, parseSummary(stdout), status, label);
    if (problem) problems.push(problem);
  };
  const stop = () => (!total.ok && failFast) || stoppedBy !== null;
  await runPool(pooled, jobs, work, stop);
  // the modules that run alone: one at a time, once the pool is done
  await runPool(
    alone.map((m) => [m]),
    1,
    (g, i) => work(g, pooled.length + i),
    stop,
  );
  if (stoppedBy !== null && begun < groups.length) {
    problems.push(notStarted(stoppedBy, groups.length - begun, groups.length));
  }
  for (const p of problems) console.log(`test_runner: ${p}`);
  console.log(formatSummary(total, performance.now() - start));
  return total.ok && total.failed === 0 ? 0 : 1;
}

/** The line naming the `deno test` processes a stopping signal kept from starting. */
function notStarted(signal: Deno.Signal, left: number, all: number): string {
  return `stopped by ${signal}: ${left} of the ${all} deno test processes not started ` +
    `(their modules are not in the counts)`;
}

/** Signal numbers for the exit status of a child killed by one (Linux). */
const SIGNALS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGABRT: 6,
  SIGKILL: 9,
  SIGSEGV: 11,
  SIGTERM: 15,
};

if (import.meta.main) Deno.exit(await main(Deno.args));
