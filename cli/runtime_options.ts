/**
 * `--runtime deno|chromium` and `--chromium <path>`: which WebGPU implementation runs the
 * kernels. `deno` (default): this process's wgpu. `chromium`: headless Chromium's Dawn,
 * running the harness's own GPU code in a page (browser/chromium_gpu.ts); plans, inputs,
 * the float64 reference, parity and reports stay in Deno.
 *
 * @module
 */
import { Option } from "@commander-js/extra-typings";
import {
  CHROMIUM_TIMEOUT_ENV,
  ChromiumGpu,
  type ChromiumGpuOptions,
  DEFAULT_CHROMIUM_TIMEOUT_S,
} from "../browser/chromium_gpu.ts";
import { type RuntimeName, RUNTIMES } from "../gpu/runtime.ts";
import { CliError, EXIT } from "./errors.ts";
import {
  addStopListener,
  removeStopListener,
  stopExitCode,
  type StopSignal,
} from "./stop_signals.ts";
import { STOP_SIGNALS } from "../util/stop_signals.ts";

/**
 * The `--runtime` option.
 *
 * @example
 * ```ts ignore
 * new Command("run").addOption(runtimeOption()); // opts.runtime: "deno" | "chromium"
 * ```
 */
export function runtimeOption() {
  return new Option(
    "--runtime <name>",
    "WebGPU implementation that runs the kernels: deno (this process: wgpu/naga) or " +
      "chromium (headless Chromium: Dawn/Tint; the float64 reference, parity and reports " +
      "stay in Deno)",
  ).choices(RUNTIMES).default("deno" as RuntimeName);
}

/**
 * The end of every `--chromium` help: the time limit of Chromium's steps outside a case.
 */
export const CHROMIUM_TIMEOUT_HELP: string =
  `. Each Chromium step outside a case (start-up, a re-acquire after a device loss, a ` +
  `compile, a ceilings or saturation measurement) is limited to ${CHROMIUM_TIMEOUT_ENV} seconds (default ` +
  `${DEFAULT_CHROMIUM_TIMEOUT_S}; 0: no limit; a measurement's limit is that per 7 --reps); ` +
  "past it the browser is killed and the command exits 3 naming the step";

/**
 * The `--chromium <path>` option.
 *
 * @example
 * ```ts ignore
 * new Command("run").addOption(chromiumOption()); // opts.chromium: string | undefined
 * ```
 */
export function chromiumOption() {
  return new Option(
    "--chromium <path>",
    "Chromium executable for --runtime chromium (default: $CHROME_PATH, then " +
      "/usr/bin/chromium-headless-shell)" + CHROMIUM_TIMEOUT_HELP,
  );
}

/**
 * Refuse what the Chromium runtime cannot do: a user backend module given by a remote URL
 * (the page gets each module bundled from its local file, with the WGSL files it lists).
 * Exit 2 naming the flag. `command`: a command that always runs Chromium (compare-runtimes),
 * named instead of `--runtime chromium`, which it does not take.
 *
 * @example
 * ```ts
 * import { checkRuntimeCombination } from "./runtime_options.ts";
 * checkRuntimeCombination("chromium", { backendModules: ["m.ts"] }); // fine: a local file
 * ```
 */
export function checkRuntimeCombination(
  runtime: RuntimeName,
  options: { backendModules?: readonly string[]; command?: string },
): void {
  if (runtime !== "chromium") return;
  for (const m of options.backendModules ?? []) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(m) && !/^file:/i.test(m)) {
      throw new CliError(
        `--backend-module ${m}: ${
          options.command === undefined
            ? "with --runtime chromium"
            : `${options.command} runs it in Chromium too, so`
        } a backend module must be a local ` +
          "file (it is bundled for the page with the WGSL files it lists); download it" +
          (options.command === undefined ? ", or use --runtime deno" : ""),
        EXIT.badInput,
      );
    }
  }
}

/**
 * Refuse `--chromium <path>` on a command that takes `--runtime` but runs on another runtime
 * (`devices --chromium x`, `run --runtime deno --chromium x`): the path would be ignored
 * without a word. Exit 2 naming both flags. Options without a `runtime` key (compare-runtimes,
 * which always starts Chromium) pass. The program runs it before every command's action.
 *
 * @example
 * ```ts
 * import { checkChromiumFlag } from "./runtime_options.ts";
 * checkChromiumFlag("run", { runtime: "chromium", chromium: "/opt/chrome" }); // fine
 * checkChromiumFlag("compare-runtimes", { chromium: "/opt/chrome" }); // fine: no --runtime
 * ```
 */
export function checkChromiumFlag(command: string, opts: Readonly<Record<string, unknown>>): void {
  if (opts.chromium === undefined || !("runtime" in opts) || opts.runtime === "chromium") return;
  throw new CliError(
    `${command}: --chromium ${String(opts.chromium)} is only read with --runtime chromium, ` +
      `and this runs on --runtime ${String(opts.runtime)}; add --runtime chromium, or drop ` +
      "--chromium",
    EXIT.badInput,
  );
}

/**
 * Start the Chromium runtime and print its header line (browser, adapter, Dawn backend).
 *
 * @example
 * ```ts ignore
 * const gpu = await startChromiumRuntime({ chromium: undefined });
 * await gpu.close();
 * ```
 */
export async function startChromiumRuntime(options: ChromiumGpuOptions): Promise<ChromiumGpu> {
  const gpu = await ChromiumGpu.start(options);
  console.log(chromiumHeader(gpu));
  return gpu;
}

/**
 * One line for headers: `runtime: chromium (HeadlessChrome/156..., SwiftShader Device
 * (Subzero), Dawn backend vulkan, /usr/bin/chromium-headless-shell)`.
 *
 * @example
 * ```ts ignore
 * console.log(chromiumHeader(await ChromiumGpu.start()));
 * ```
 */
export function chromiumHeader(gpu: ChromiumGpu): string {
  const info = gpu.identity.adapterInfo;
  const backend = typeof info.backend === "string" ? `, Dawn backend ${info.backend}` : "";
  return `runtime: chromium (${gpu.identity.version}, ${gpu.caps.adapter.description}` +
    `${backend}, ${gpu.identity.path})`;
}

/** What {@link exitOnStopDuringStart} returns: remove its listeners. */
export interface StartStopListener {
  /** Remove the listeners (once the command's own stop listeners are installed). */
  dispose(): void;
}

/**
 * Until `dispose()`, a Ctrl-C (SIGINT) or SIGTERM during a command's start-up (its folder
 * locked, a runtime starting, before its own stop listeners: cli/stop_signals.ts) ends what
 * has started (`end`: the browser closed, run.lock released), says so, and exits 130 or 143.
 * Without it the process died at once with no word, its run.lock left for the next run to
 * take over. A second signal while `end` runs exits at once.
 *
 * @example
 * ```ts ignore
 * const startup = exitOnStopDuringStart(() => lock.release());
 * const gpu = await startChromiumRuntime({ chromium: undefined });
 * const stop = listenForStop();
 * startup.dispose();
 * ```
 */
export function exitOnStopDuringStart(
  end: () => Promise<void>,
  options: {
    log?: (line: string) => void;
    exit?: (code: number) => void;
    /**
     * What was cut short, after "interrupted by SIGINT " (default: "during start-up, before
     * any case ran: nothing was written"; a command without cases says its own).
     */
    what?: string;
  } = {},
): StartStopListener {
  const log = options.log ?? ((line: string) => console.error(line));
  const exit = options.exit ?? ((code: number) => Deno.exit(code));
  const what = options.what ?? "during start-up, before any case ran: nothing was written";
  let stopping = false;
  const on = (signal: StopSignal) => async () => {
    const code = stopExitCode(signal);
    if (stopping) return exit(code);
    stopping = true;
    log(`interrupted by ${signal} ${what}`);
    try {
      await end();
    } catch (e) {
      log(`while stopping: ${e instanceof Error ? e.message : String(e)}`);
    }
    exit(code);
  };
  const handlers = new Map(STOP_SIGNALS.map((s) => [s, on(s)] as const));
  for (const [s, handler] of handlers) addStopListener(s, handler);
  let disposed = false;
  return {
    dispose: () => {
      if (disposed) return;
      disposed = true;
      for (const [s, handler] of handlers) removeStopListener(s, handler);
    },
  };
}

/**
 * Chromium started for a command without cases (`devices`, `compile`): a Ctrl-C or SIGTERM
 * during its start-up (seconds) is said, with what it cut short, and exits 130 / 143 (it
 * exited with no word).
 *
 * @example
 * ```ts ignore
 * const gpu = await startChromiumStoppable({ chromium: undefined }, "nothing was compiled");
 * await gpu.close();
 * ```
 */
export async function startChromiumStoppable(
  options: ChromiumGpuOptions,
  cutShort: string,
): Promise<ChromiumGpu> {
  const startup = exitOnStopDuringStart(async () => {}, {
    what: `while Chromium started: ${cutShort}`,
  });
  try {
    return await ChromiumGpu.start(options);
  } finally {
    startup.dispose();
  }
}

/**
 * Run `use` with Chromium started (`devices --runtime chromium`, `compile --runtime
 * chromium`), then close it. A Ctrl-C or SIGTERM meanwhile (a measurement or a compile takes
 * seconds) says "interrupted by SIGINT <what>", closes the browser and exits 130 / 143; it
 * exited 130 with no word once start-up was over. The error the closing browser gives `use`
 * is not reported over it.
 *
 * @example
 * ```ts ignore
 * const gpu = await startChromiumStoppable({ chromium: undefined }, "nothing was compiled");
 * await useChromiumStoppable(gpu, "while Chromium compiled: no result was printed", () =>
 *   gpu.compile([]));
 * ```
 */
export async function useChromiumStoppable<T>(
  gpu: { close(): Promise<void> },
  what: string,
  use: () => Promise<T>,
  options: { log?: (line: string) => void; exit?: (code: number) => void } = {},
): Promise<T> {
  let stopped = false;
  const stop = exitOnStopDuringStart(() => {
    stopped = true;
    return gpu.close();
  }, { ...options, what });
  try {
    return await use();
  } catch (e) {
    // the browser closed under `use` by the stop: the listener says it and exits
    if (stopped) return await new Promise<never>(() => {});
    throw e;
  } finally {
    stop.dispose();
    if (!stopped) await gpu.close();
  }
}
