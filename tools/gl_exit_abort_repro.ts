/**
 * Reproduces the GL fallback's exit-time abort of `deno test` and measures how often it
 * happens under a given setting (seldom on an idle machine: docs/gl_exit_abort.md).
 *
 * The abort: `deno test` prints an all-passed summary and then dies with glibc's
 * "corrupted size vs. prev_size in fastbins" (exit 134). It needs wgpu's GL backend
 * (Mesa's EGL on llvmpipe) and test modules that create WebGPU devices. The cause
 * (docs/gl_exit_abort.md): libglvnd's libEGL.so.1 frees every thread's EGL state in its
 * library destructor at exit, while a test module's pooled thread, ending at the same time,
 * frees its own. `--glvnd-shim` preloads tools/glvnd_no_key_destructor.c, which leaves
 * that second free out, and `--load` loads the machine, under which the abort is frequent.
 *
 * This tool writes `--count` tiny test modules into a temporary folder, each creating one
 * device (or only an adapter, `--touch adapter`), runs `deno test` on them `--runs` times
 * with the Vulkan driver hidden (as on a fresh machine), and counts the runs that exit
 * non-zero although every test passed. `--drain S` adds a last module that only waits S
 * seconds. The other shapes hold the same work without several test modules: one module
 * doing it `--count` times (`--shape one-module`), or `deno run` of a script that runs it
 * in `--count` Web Workers one after another (`--shape workers`).
 *
 *   deno run -A tools/gl_exit_abort_repro.ts --count 60 --runs 15
 *   deno run -A tools/gl_exit_abort_repro.ts --count 60 --runs 10 --shape workers
 *   deno run -A tools/gl_exit_abort_repro.ts --count 2 --runs 150 --load 2 [--glvnd-shim]
 *
 * tools/test_runner.ts (`deno task test`) runs each such module in a process of its own on
 * GL and runs one that aborted after passing once more.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { parseSummary } from "./test_runner.ts";
import { buildSharedLibrary } from "./c_shim.ts";
import {
  addStopListener,
  removeStopListener,
  STOP_SIGNALS,
  stopExitCode,
  type StopSignal,
} from "../util/stop_signals.ts";

/** What each generated module does with WebGPU. */
export type Touch = "device" | "adapter" | "none";

/** How the work is laid out: test modules, one test module, or Web Workers in `deno run`. */
export type Shape = "modules" | "one-module" | "workers";

/**
 * The statements that do `touch` once, at the top level of a module (or worker): the
 * adapter stays referenced until the isolate ends, as a test suite's shared GPU context
 * does, and the device is destroyed. In session 20 the variant that left both to the
 * garbage collector inside a block aborted in none of 20 runs of 60 modules.
 *
 * @example
 * ```ts
 * import { touchCode } from "./gl_exit_abort_repro.ts";
 * touchCode("adapter", 1); // const adapter1 = await navigator.gpu.requestAdapter(); ...
 * ```
 */
export function touchCode(touch: Touch, index: number): string {
  return touch === "none" ? "" : [
    `const adapter${index} = await navigator.gpu.requestAdapter();`,
    `if (!adapter${index}) throw new Error("no WebGPU adapter");`,
    touch === "device" ? `const device${index} = await adapter${index}.requestDevice();` : "",
    touch === "device" ? `device${index}.destroy();` : "",
  ].filter((l) => l !== "").join("\n");
}

/**
 * The source of one generated test module, doing `touch` `times` times at load.
 *
 * @example
 * ```ts
 * import { reproModule } from "./gl_exit_abort_repro.ts";
 * reproModule(1, "device"); // an adapter, a device destroyed, one empty test
 * ```
 */
export function reproModule(index: number, touch: Touch, times = 1): string {
  const body = Array.from({ length: times }, (_, i) => touchCode(touch, i + 1)).join("\n");
  return `${body}\nDeno.test("module ${index}", () => {});\n`;
}

/**
 * The `deno run` script of `--shape workers` and the worker it starts `count` times.
 *
 * @example
 * ```ts
 * import { workerScripts } from "./gl_exit_abort_repro.ts";
 * workerScripts("device", 60).main; // starts worker.ts 60 times, one after another
 * ```
 */
export function workerScripts(touch: Touch, count: number): { main: string; worker: string } {
  return {
    worker: `${touchCode(touch, 1)}\nself.postMessage("done");\n`,
    main: [
      `for (let i = 0; i < ${count}; i++) {`,
      '  const w = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });',
      "  await new Promise((resolve) => { w.onmessage = resolve; });",
      "  w.terminate();",
      "}",
      'console.log("all workers done");',
      "",
    ].join("\n"),
  };
}

/**
 * The source of the last module that only waits (names sort after `m<index>_test.ts`).
 *
 * @example
 * ```ts
 * import { drainModule } from "./gl_exit_abort_repro.ts";
 * drainModule(11); // one test that waits 11 s
 * ```
 */
export function drainModule(seconds: number): string {
  return `Deno.test("drain ${seconds} s", async () => {\n` +
    `  await new Promise((resolve) => setTimeout(resolve, ${Math.round(seconds * 1000)}));\n});\n`;
}

/** One run's outcome. */
export interface ReproRun {
  /** Exit code of `deno test`. */
  readonly code: number;
  /** Whether the summary said every test passed. */
  readonly allPassed: boolean;
  /** glibc's heap-corruption message when one was printed (its first line), else null. */
  readonly heapMessage: string | null;
  /** Seconds the run took. */
  readonly seconds: number;
}

/**
 * Whether a `deno test` output's summary line reports no failure.
 *
 * @example
 * ```ts
 * import { summaryAllPassed } from "./gl_exit_abort_repro.ts";
 * summaryAllPassed("ok | 60 passed | 0 failed (19s)"); // true
 * ```
 */
export function summaryAllPassed(output: string): boolean {
  const s = parseSummary(output);
  return s !== null && s.ok && s.failed === 0;
}

/**
 * The first line of glibc's heap-check message in an output, or null.
 *
 * @example
 * ```ts
 * import { heapMessageOf } from "./gl_exit_abort_repro.ts";
 * heapMessageOf("ok | 2 passed | 0 failed\ncorrupted size vs. prev_size in fastbins\n");
 * // "corrupted size vs. prev_size in fastbins"
 * ```
 */
export function heapMessageOf(output: string): string | null {
  // glibc's malloc_printerr messages: "<function>(): <what>" for one of malloc's functions
  // (free, malloc, malloc_consolidate, munmap_chunk, tcache_thread_shutdown, ...), or
  // "corrupted ..." / "double free or corruption (...)"
  const m = output.match(
    /^\s*(?:[a-z_]*(?:alloc|free|chunk|consolidate|tcache)[a-z_]*\(\): .+|corrupted .+|double free or corruption.*)$/m,
  );
  return m ? m[0].trim() : null;
}

/** The line the shim writes (with GLVND_SHIM_LOG set) for each key it changes. */
export const SHIM_LOG_LINE = "glvnd shim: key of";

/**
 * Builds tools/glvnd_no_key_destructor.c into `dir` with `cc` (docs/gl_exit_abort.md): the
 * shared object's path, or why it could not be built.
 *
 * @example
 * ```ts ignore
 * import { buildGlvndShim } from "./gl_exit_abort_repro.ts";
 * const built = await buildGlvndShim(await Deno.makeTempDir());
 * if ("path" in built) console.log(`LD_PRELOAD=${built.path}`);
 * ```
 */
export async function buildGlvndShim(
  dir: string,
  cc = "cc",
): Promise<{ path: string } | { error: string }> {
  const source = new URL("./glvnd_no_key_destructor.c", import.meta.url).pathname;
  return await buildSharedLibrary(
    source,
    `${dir}/glvnd_no_key_destructor.so`,
    "--glvnd-shim",
    cc,
  );
}

/**
 * Starts `count` processes that only spin (`deno eval`), to load the machine as a full test
 * suite does; the caller kills them.
 *
 * @example
 * ```ts ignore
 * import { startLoad } from "./gl_exit_abort_repro.ts";
 * const busy = startLoad(2);
 * for (const p of busy) p.kill("SIGKILL");
 * ```
 */
export function startLoad(count: number): Deno.ChildProcess[] {
  return Array.from(
    { length: count },
    () =>
      new Deno.Command(Deno.execPath(), {
        args: ["eval", "for (;;) {}"],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn(),
  );
}

const HELP = `gl_exit_abort_repro: how often \`deno test\` aborts at exit on the GL fallback

  deno run -A tools/gl_exit_abort_repro.ts [--count N] [--runs K] [--shape S] [--touch T]

  --count N       modules (or devices, or workers) (default 60)
  --runs K        runs (default 10)
  --shape S       modules (default): N test modules, each does it once (deno test);
                  one-module: one test module does it N times (deno test);
                  workers: deno run starts N Web Workers in turn, each does it once
  --touch T       what "it" is: device (default: an adapter and a device), adapter or none
  --drain S       modules shape: a last module that waits S seconds (default 0: none)
  --keep-vulkan   leave the Vulkan driver visible (default: hidden, the GL fallback)
  --load N        keep N busy-looping processes running during the runs (default 0); the
                  abort is much more frequent on a loaded machine
  --glvnd-shim    build tools/glvnd_no_key_destructor.c with cc and LD_PRELOAD it into
                  every run: libglvnd's per-thread EGL state is then freed once, at exit,
                  not also by each exiting thread (the suspected double free); the last
                  line says in how many runs the shim was active
  --help          this text

Prints one line per run and, last, "aborted A of K runs (...)". Exit 0 when it measured,
2 on a bad argument, 3 when the shim cannot be built (no cc, or cc failed).`;

if (import.meta.main) {
  let args;
  try {
    args = parseArgs({
      args: Deno.args,
      options: {
        count: { type: "string", default: "60" },
        shape: { type: "string", default: "modules" },
        runs: { type: "string", default: "10" },
        drain: { type: "string", default: "0" },
        touch: { type: "string", default: "device" },
        "keep-vulkan": { type: "boolean", default: false },
        load: { type: "string", default: "0" },
        "glvnd-shim": { type: "boolean", default: false },
        help: { type: "boolean", default: false },
      },
    }).values;
  } catch (e) {
    console.error(`gl_exit_abort_repro: ${(e as Error).message}\n\n${HELP}`);
    Deno.exit(2);
  }
  if (args.help) {
    console.log(HELP);
    Deno.exit(0);
  }
  const count = Number(args.count);
  const shape = args.shape as Shape;
  const runs = Number(args.runs);
  const drain = Number(args.drain);
  const touch = args.touch as Touch;
  const load = Number(args.load);
  const bad = !Number.isInteger(count) || count < 1
    ? `--count must be a positive integer, got "${args.count}"`
    : !["modules", "one-module", "workers"].includes(shape)
    ? `--shape must be modules, one-module or workers, got "${args.shape}"`
    : !Number.isInteger(runs) || runs < 1
    ? `--runs must be a positive integer, got "${args.runs}"`
    : !Number.isFinite(drain) || drain < 0
    ? `--drain must be a number of seconds >= 0, got "${args.drain}"`
    : !["device", "adapter", "none"].includes(touch)
    ? `--touch must be device, adapter or none, got "${args.touch}"`
    : !Number.isInteger(load) || load < 0 || load > 64
    ? `--load must be a number of processes from 0 to 64, got "${args.load}"`
    : null;
  if (bad) {
    console.error(`gl_exit_abort_repro: ${bad}`);
    Deno.exit(2);
  }
  const dir = await Deno.makeTempDir({ prefix: "gl_exit_repro_" });
  let shim: string | undefined;
  if (args["glvnd-shim"]) {
    const built = await buildGlvndShim(dir);
    if ("error" in built) {
      console.error(`gl_exit_abort_repro: ${built.error}`);
      // (it exited leaving the temp folder)
      await Deno.remove(dir, { recursive: true });
      Deno.exit(3);
    }
    shim = built.path;
  }
  let busy: Deno.ChildProcess[] = [];
  // the deno test (or worker) process of the current run
  let current: Deno.ChildProcess | null = null;
  const stopAll = () => {
    for (const p of [...busy, ...(current ? [current] : [])]) {
      try {
        p.kill("SIGKILL");
      } catch { /* already gone */ }
    }
  };
  // Stopped (Ctrl-C, a timeout's SIGTERM), it left its temp folder of test modules behind, and
  // with SIGTERM its deno test process ran on: both are removed, then it exits 130/143.
  const onSignal = (signal: StopSignal) => () => {
    stopAll();
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch { /* gone */ }
    console.error(`gl_exit_abort_repro: stopped by ${signal}; its temp folder ${dir} removed`);
    Deno.exit(stopExitCode(signal));
  };
  // util/stop_signals.ts's list: SIGHUP (a closed terminal) too, exit 129
  const handlers = STOP_SIGNALS.map((signal) => [signal, onSignal(signal)] as const);
  for (const [signal, handler] of handlers) addStopListener(signal, handler);
  try {
    let command: string[];
    if (shape === "workers") {
      const w = workerScripts(touch, count);
      await Deno.writeTextFile(`${dir}/main.ts`, w.main);
      await Deno.writeTextFile(`${dir}/worker.ts`, w.worker);
      command = ["run", "-A", `${dir}/main.ts`];
    } else {
      const files = shape === "modules" ? count : 1;
      for (let i = 1; i <= files; i++) {
        const times = shape === "modules" ? 1 : count;
        await Deno.writeTextFile(`${dir}/m${i}_test.ts`, reproModule(i, touch, times));
      }
      if (drain > 0) await Deno.writeTextFile(`${dir}/zz_drain_test.ts`, drainModule(drain));
      command = ["test", "-A", dir];
    }
    // glibc writes a heap-check message to the terminal when there is one; to stderr with this
    const env: Record<string, string> = {
      ...Deno.env.toObject(),
      NO_COLOR: "1",
      LIBC_FATAL_STDERR_: "1",
    };
    if (!args["keep-vulkan"]) {
      env.VK_ICD_FILENAMES = `${dir}/no-vulkan-driver.json`;
      // A backend forced from outside (DENO_WEBGPU_BACKEND=vulkan) would find no adapter.
      delete env.DENO_WEBGPU_BACKEND;
    }
    if (shim !== undefined) {
      env.LD_PRELOAD = shim;
      env.GLVND_SHIM_LOG = "1";
    }
    busy = startLoad(load);
    if (load > 0) {
      console.log(`load: ${load} spinning processes (pids ${busy.map((p) => p.pid).join(", ")})`);
    }
    let aborted = 0;
    let shimActive = 0;
    for (let r = 1; r <= runs; r++) {
      const start = performance.now();
      current = new Deno.Command(Deno.execPath(), {
        args: command,
        env,
        clearEnv: true,
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const out = await current.output();
      current = null;
      const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      const run: ReproRun = {
        code: out.code,
        allPassed: shape === "workers" ? text.includes("all workers done") : summaryAllPassed(text),
        heapMessage: heapMessageOf(text),
        seconds: (performance.now() - start) / 1000,
      };
      if (run.code !== 0 && run.allPassed) aborted++;
      if (text.includes(SHIM_LOG_LINE)) shimActive++;
      console.log(
        `run ${r}/${runs}: exit ${run.code}${out.signal ? ` (${out.signal})` : ""}, ` +
          `${run.allPassed ? "all passed" : "NOT all passed"}` +
          `${run.heapMessage ? `, glibc: "${run.heapMessage}"` : ""}, ${run.seconds.toFixed(1)} s`,
      );
    }
    console.log(
      `aborted ${aborted} of ${runs} runs (shape ${shape}, count ${count}, touch ${touch}, ` +
        `drain ${drain} s, ` +
        `${args["keep-vulkan"] ? "Vulkan visible" : "Vulkan hidden"}` +
        `${load > 0 ? `, load ${load}` : ""}` +
        `${args["glvnd-shim"] ? `, glvnd shim active in ${shimActive} of ${runs} runs` : ""})`,
    );
  } finally {
    for (const [signal, handler] of handlers) removeStopListener(signal, handler);
    stopAll();
    for (const p of busy) await p.status;
    await Deno.remove(dir, { recursive: true });
  }
}
