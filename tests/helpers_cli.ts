/** Spawning the CLI the way a user does, for tests. */
import { encodeSafetensors } from "../weights/safetensors.ts";

const root = new URL("../", import.meta.url).pathname;

/** Output of one CLI run. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The variables that tell a spawned `deno` where its module cache is, those set here: for a
 * child started with `clearEnv`, which would otherwise look in the default cache and, on an
 * offline machine whose cache is a prepared DENO_DIR, try to download the npm packages.
 * DENO_DIR (the cache), XDG_CACHE_HOME and HOME (its default, `<XDG_CACHE_HOME or
 * HOME/.cache>/deno`), NPM_CONFIG_REGISTRY (the npm cache is kept per registry).
 *
 * @example
 * ```ts
 * import { denoCacheEnv } from "./helpers_cli.ts";
 * new Deno.Command(Deno.execPath(), { args: ["run", "main.ts"], clearEnv: true, env: denoCacheEnv() });
 * ```
 */
export function denoCacheEnv(): Record<string, string> {
  const names = ["DENO_DIR", "XDG_CACHE_HOME", "HOME", "NPM_CONFIG_REGISTRY"];
  const env: Record<string, string> = {};
  for (const n of names) {
    const v = Deno.env.get(n);
    if (v !== undefined && v !== "") env[n] = v;
  }
  return env;
}

/**
 * `deno run -A main.ts <args>` as a command a test can spawn (to signal or kill it) or run:
 * from the repository root, NO_COLOR set, stdout and stderr piped unless `stdout` says.
 *
 * @example
 * ```ts ignore
 * import { cliCommand } from "./helpers_cli.ts";
 * const child = cliCommand(["bench", "--matrix", "tiny"]).spawn();
 * child.kill("SIGINT");
 * ```
 */
export function cliCommand(
  args: readonly string[],
  options: { stdout?: "piped" | "null" } = {},
): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${root}main.ts`, ...args],
    cwd: root,
    env: { NO_COLOR: "1" },
    stdout: options.stdout ?? "piped",
    stderr: "piped",
  });
}

/**
 * Run `main.ts` with arguments and capture everything: with read, write, env and sys
 * permissions, or every permission with `all` (upgrade-check starts subprocesses). With
 * `timeoutMs` the process is killed after that long (a test of a hang fails instead of
 * hanging the suite).
 */
export async function runCli(
  args: string[],
  env: Record<string, string> = {},
  options: { all?: boolean; timeoutMs?: number } = {},
): Promise<CliResult> {
  const permissions = options.all
    ? ["-A"]
    : ["--allow-read", "--allow-write", "--allow-env", "--allow-sys"];
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissions, `${root}main.ts`, ...args],
    cwd: root,
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
    ...(options.timeoutMs === undefined ? {} : { signal: AbortSignal.timeout(options.timeoutMs) }),
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/**
 * Run a maintainer script under `tools/` (`deno run -A tools/<name> ...args`) and capture
 * everything. `env` is added to this process's environment.
 */
export async function runTool(
  name: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<CliResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${root}tools/${name}`, ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/**
 * Write `<dir>/x.safetensors`: a tiny-preset `hidden_states` [1, 4, 64] F32 of sin(i), the
 * input {@link runTinyLayer} reads.
 */
export async function writeTinyInput(dir: string): Promise<void> {
  await Deno.writeFile(
    `${dir}/x.safetensors`,
    encodeSafetensors({
      hidden_states: {
        dtype: "F32",
        shape: [1, 4, 64],
        data: Array.from({ length: 256 }, (_, i) => Math.sin(i)),
      },
    }),
  );
}

/**
 * `layer --config tiny` on the tensors written to `<dir>/x.safetensors`, its output to
 * `<dir>/y.safetensors`, with `extra` flags between (the tests of the layer's input checks).
 *
 * @example
 * ```ts ignore
 * const r = await runTinyLayer(dir, ["--dtype", "f16"]);
 * ```
 */
export function runTinyLayer(
  dir: string,
  extra: string[] = [],
  env: Record<string, string> = {},
): Promise<CliResult> {
  return runCli([
    "layer",
    "--config",
    "tiny",
    "--input",
    `${dir}/x.safetensors`,
    ...extra,
    "--out",
    `${dir}/y.safetensors`,
  ], env);
}

/**
 * `bench` on the tiny matrix's absorbed case, once, with no warm-up, as `--json`: the start
 * of the command line of the tests that bench a (user) backend once. Add its own flags after.
 *
 * @example
 * ```ts ignore
 * const r = await runCli([...BENCH_TINY_ABSORBED_ONCE, "--backend", "naive"]);
 * ```
 */
export const BENCH_TINY_ABSORBED_ONCE: readonly string[] = [
  "bench",
  "--matrix",
  "tiny",
  "--filter",
  "path=absorbed",
  "--reps",
  "1",
  "--warmup-ms",
  "0",
  "--json",
];

/**
 * Read a child's `stream` until what came so far matches `said`, then `act` (send it a signal,
 * look at its files), then read to the end: all the text. A stream that ends before `said`
 * fails the test with what it printed.
 */
export async function readUntilThen(
  stream: ReadableStream<Uint8Array>,
  said: RegExp,
  act: () => void | Promise<void>,
): Promise<string> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!said.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the stream ended before ${said}:\n${text}`);
    text += value;
  }
  await act();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return text;
    text += value;
  }
}

/**
 * The `--backend-module`/`--backend` arguments of the fixture whose launch finishes only once a
 * SIGINT has come (tests/fixtures/backends/launch_waits_for_sigint.ts): a test Ctrl-Cs a
 * command during its last case.
 */
export const WAITS_FOR_SIGINT_BACKEND: readonly string[] = [
  "--backend-module",
  new URL("./fixtures/backends/launch_waits_for_sigint.ts", import.meta.url).pathname,
  "--backend",
  "naive-launch-waits-for-sigint",
];

/**
 * The program's `runProgram` on `args` in this process, with what it writes captured as
 * {@link runCli} captures a child's: console.log and commander's help to stdout,
 * console.error and commander's errors to stderr. For tests of what a command says, where a
 * spawned `deno run main.ts` (a second or more of start-up, then the same function) adds
 * nothing: keep a spawned test for what is about the process (its exit code as the shell
 * sees it, which stream a line goes to, signals). Only for what ends before a device or a
 * run: explain with `--caps` (the probe, when a command asks for it, throws), --help, a bad
 * option (a `run` whose options pass would run here). `Deno.exitCode` is left as it was found.
 *
 * @example
 * ```ts ignore
 * import { runCliInProcess } from "./helpers_cli.ts";
 * const r = await runCliInProcess(["explain", "tiny", "--caps", "tests/fixtures/caps_lavapipe.json"]);
 * r.code; // 0
 * ```
 */
export async function runCliInProcess(args: readonly string[]): Promise<CliResult> {
  const { runProgram } = await import("../cli/program.ts");
  const { default: process } = await import("node:process");
  const out: string[] = [];
  const err: string[] = [];
  const line = (a: unknown[]) =>
    `${a.map((x) => typeof x === "string" ? x : Deno.inspect(x)).join(" ")}\n`;
  const saved = {
    log: console.log,
    error: console.error,
    warn: console.warn,
    outWrite: process.stdout.write,
    errWrite: process.stderr.write,
    exitCode: Deno.exitCode,
  };
  console.log = (...a: unknown[]) => out.push(line(a));
  console.error = (...a: unknown[]) => err.push(line(a));
  console.warn = console.error;
  process.stdout.write = ((s: string | Uint8Array) => {
    out.push(typeof s === "string" ? s : new TextDecoder().decode(s));
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => {
    err.push(typeof s === "string" ? s : new TextDecoder().decode(s));
    return true;
  }) as typeof process.stderr.write;
  const noProbe = () => Promise.reject(new Error("runCliInProcess: the command probed the device"));
  try {
    Deno.exitCode = 0;
    const code = await runProgram(args, { probeCaps: noProbe, probeCapsStrict: noProbe });
    return { code, stdout: out.join(""), stderr: err.join("") };
  } finally {
    console.log = saved.log;
    console.error = saved.error;
    console.warn = saved.warn;
    process.stdout.write = saved.outWrite;
    process.stderr.write = saved.errWrite;
    Deno.exitCode = saved.exitCode;
  }
}
