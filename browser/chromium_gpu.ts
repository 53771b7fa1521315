/**
 * The Chromium runtime as the runner sees it: a WebGPU device in a headless Chromium page
 * that runs the harness's own runAttention and launchers (browser/page_main.ts), with the
 * caps of Chromium's adapter, and the same life cycle as a GpuContext (`lost`,
 * `destroy()`, `reacquire()`). Inputs go to the page, outputs come back, over the
 * loopback server (browser/server.ts); everything else stays in Deno.
 *
 * @module
 */
import { addCompiledFindings } from "../kernels/module_barriers.ts";
import type {
  AttentionInputs,
  DeviceCaps,
  GpuPlan,
  LayerWeights,
  Tensor,
} from "../adapter/types.ts";
import { environmentCapsOverrides } from "../gpu/device.ts";
import { DeviceLostError, NO_ADAPTER_FIX, NoAdapterError } from "../gpu/errors.ts";
import type { RemoteRun, RemoteRunOptions } from "../gpu/runtime.ts";
import { bundleBackendModule, pageBundle } from "./bundle.ts";
import { loadedBackendModules } from "../kernels/backend_module.ts";
import {
  type Chromium,
  ChromiumExitedError,
  ChromiumLaunchError,
  type ChromiumLocation,
  ChromiumTimeoutError,
  findChromium,
  launchChromium,
} from "./chromium.ts";
import { ConfigError } from "../adapter/errors.ts";
import { NEXT_CASE_BROWSER, Page, type PageMessage } from "./page.ts";
import type {
  PageBenchReply,
  PageCaseReply,
  PageCeilingsReply,
  PageCompileReply,
  PageError,
  PageFailure,
  PageInitReply,
  PageLateGpuError,
  PageLoadBackendReply,
  PageReply,
  PageSaturationReply,
  PageSettleReply,
} from "./page_api.ts";
import type { Measured, MeasureOptions } from "../kernels/measure.ts";
import type { Ceilings, CeilingsOptions } from "../bench/ceilings.ts";
import type { Saturation } from "../bench/saturation.ts";
import { PageServer, type ServedFile } from "./server.ts";
import { type CaseKind, decodeOutputs, encodeCaseRequest } from "./wire.ts";

/** Options of {@link ChromiumGpu.start}. */
export interface ChromiumGpuOptions {
  /** `--chromium <path>` (else $CHROME_PATH, else the Debian default). */
  chromium?: string;
  /** Extra environment of the browser (e.g. VK_ICD_FILENAMES). */
  env?: Record<string, string>;
  /**
   * Time limit in milliseconds of each step outside a case: start-up (launch, page load,
   * device, backend modules), a re-acquire after a device loss, a compile, a ceilings or
   * saturation measurement. 0: no limit. Default: `MLA_HARNESS_CHROMIUM_TIMEOUT` seconds,
   * else {@link DEFAULT_CHROMIUM_TIMEOUT_S}.
   */
  timeoutMs?: number;
  /**
   * Hears each line that says a console message or an uncaught exception of the page (a
   * user backend's `console.warn`, a throw in its timer), with the case it came in. Default:
   * stderr.
   */
  onPageMessage?: (line: string) => void;
}

/** The page's console messages and uncaught exceptions said one by one, at most. */
export const PAGE_MESSAGES_SAID = 20;

/**
 * The line that says one console message or uncaught exception of the page, with the case
 * during which it came (`during`) or the case before it (`after`): the harness's page code
 * writes none, so each is a user backend's (its `console.*`, or a throw in a timer or an
 * un-awaited promise, which under Deno ends the process).
 *
 * @example
 * ```ts
 * import { pageMessageLine } from "./chromium_gpu.ts";
 * pageMessageLine({ level: "warning", text: "slow path" }, { during: "c1" });
 * // 'chromium page: console.warn during case "c1": slow path'
 * ```
 */
export function pageMessageLine(
  m: PageMessage,
  when: { during?: string | null; after?: string },
): string {
  const where = when.during === null
    ? " during a case"
    : when.during !== undefined
    ? ` during case "${when.during}"`
    : when.after !== undefined
    ? ` after case "${when.after}"`
    : " before any case";
  if (m.level === "exception") {
    const [first, ...rest] = m.text.split("\n");
    const at = rest.map((l) => l.trim()).find((l) => l.startsWith("at "));
    return `chromium page: an uncaught exception${where} (a throw in a timer, an event or ` +
      `an un-awaited promise: no case's result includes it): ${first}${
        at === undefined ? "" : ` (${at})`
      }`;
  }
  const call = m.level === "warning" ? "warn" : m.level;
  return `chromium page: console.${call}${where}: ${m.text.split("\n")[0]}`;
}

/**
 * The modules an ES module bundle still imports by a bare name (`node:fs`, `npm:x`, `x`), not
 * by a URL or a path: a browser page cannot resolve them (no import map).
 *
 * @example
 * ```ts
 * import { bareImports } from "./chromium_gpu.ts";
 * bareImports('import { readFileSync } from "node:fs";\nvar u = new URL("./a", import.meta.url);');
 * // ["node:fs"]
 * ```
 */
export function bareImports(js: string): string[] {
  const found = new Set<string>();
  const statement =
    /^\s*(?:import|export)\s[^;]*?\bfrom\s*["']([^"']+)["']|^\s*import\s*["']([^"']+)["']/gm;
  for (const m of js.matchAll(statement)) {
    const spec = m[1] ?? m[2];
    if (!/^(?:\.{0,2}\/|https?:|data:|blob:)/.test(spec)) found.add(spec);
  }
  return [...found];
}

/** The environment variable that sets the Chromium runtime's step limit, in seconds. */
export const CHROMIUM_TIMEOUT_ENV = "MLA_HARNESS_CHROMIUM_TIMEOUT";

/**
 * Default limit, in seconds, of each Chromium step outside a case. Start-up took 0.5-0.8 s
 * and a re-acquire 0.5 s on this 2-core machine (SwiftShader), compile of every bundled
 * kernel about 1 s, `devices --measure` 7 s: 120 s leaves room for a slower machine's first
 * shader compile.
 */
export const DEFAULT_CHROMIUM_TIMEOUT_S = 120;

/** The longest timer (2^31 - 1 ms), in whole seconds. */
const MAX_TIMEOUT_S = 2147483;

/**
 * The limit in MLA_HARNESS_CHROMIUM_TIMEOUT, in milliseconds (seconds in decimal digits,
 * e.g. 300 or 0.5; 0: no limit), or undefined when unset or empty. Any other value throws
 * a ConfigError (exit 2).
 *
 * @example
 * ```ts
 * import { chromiumTimeoutOf } from "./chromium_gpu.ts";
 * chromiumTimeoutOf("300"); // 300000
 * chromiumTimeoutOf(undefined); // undefined
 * ```
 */
export function chromiumTimeoutOf(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const v = value.trim();
  const n = /^([0-9]+\.?[0-9]*|\.[0-9]+)$/.test(v) ? Number(v) : NaN;
  if (!Number.isFinite(n) || n > MAX_TIMEOUT_S) {
    throw new ConfigError(CHROMIUM_TIMEOUT_ENV, [{
      path: CHROMIUM_TIMEOUT_ENV,
      value,
      message: `must be a number of seconds from 0 to ${MAX_TIMEOUT_S} in decimal digits, ` +
        `e.g. 300 or 0.5 (0: no limit; unset: ${DEFAULT_CHROMIUM_TIMEOUT_S})`,
    }], "invalid environment variable");
  }
  // a positive limit under half a millisecond is 1 ms, not 0 (no limit at all)
  return n > 0 ? Math.max(1, Math.round(n * 1000)) : 0;
}

/**
 * The limit in this process's MLA_HARNESS_CHROMIUM_TIMEOUT, in milliseconds, or undefined
 * when it is unset, empty or not readable (no env permission); a bad value throws a
 * ConfigError (exit 2), as {@link chromiumTimeoutOf}. The CLI calls it before every command,
 * as it checks every MLA_HARNESS_* value.
 *
 * @example
 * ```ts
 * import { chromiumTimeoutFromEnv } from "./chromium_gpu.ts";
 * Deno.env.set("MLA_HARNESS_CHROMIUM_TIMEOUT", "5");
 * chromiumTimeoutFromEnv(); // 5000
 * Deno.env.delete("MLA_HARNESS_CHROMIUM_TIMEOUT");
 * ```
 */
export function chromiumTimeoutFromEnv(): number | undefined {
  let granted = false;
  try {
    granted = Deno.permissions.querySync({ name: "env", variable: CHROMIUM_TIMEOUT_ENV })
      .state === "granted";
  } catch {
    // no permission API: the default
  }
  return granted ? chromiumTimeoutOf(Deno.env.get(CHROMIUM_TIMEOUT_ENV)) : undefined;
}

/** The limit of a start: the option, else the environment, else the default. */
function timeoutOf(options: ChromiumGpuOptions): number {
  if (options.timeoutMs !== undefined) return options.timeoutMs;
  return chromiumTimeoutFromEnv() ?? DEFAULT_CHROMIUM_TIMEOUT_S * 1000;
}

/** Where a limit came from, for messages. */
function limitText(ms: number): string {
  return `${ms / 1000} s (${CHROMIUM_TIMEOUT_ENV}, default ${DEFAULT_CHROMIUM_TIMEOUT_S} s)`;
}

/** The repetitions a measurement's step limit is given for: the default `--reps`. */
const LIMIT_REPS = 7;

/**
 * The limit of a ceilings or saturation measurement of `reps` repetitions in the page:
 * `timeoutMs` (MLA_HARNESS_CHROMIUM_TIMEOUT) per 7 repetitions, the default `--reps`; 0 (no
 * limit) stays 0. Such a measurement runs as long as its repetitions (on SwiftShader 100 took
 * 80 s): with the one limit every step has, `bench --runtime chromium --reps 150` was killed
 * at 120 s, exit 3, whatever the browser did.
 *
 * @example
 * ```ts
 * import { measurementLimitMs } from "./chromium_gpu.ts";
 * measurementLimitMs(120_000, 70); // 1_200_000
 * measurementLimitMs(120_000, 3); // 120_000
 * ```
 */
export function measurementLimitMs(timeoutMs: number, reps: number | undefined): number {
  if (timeoutMs <= 0) return 0;
  return timeoutMs * Math.max(1, Math.ceil((reps ?? LIMIT_REPS) / LIMIT_REPS));
}

/**
 * Run `work` within `limitMs` (0: no limit). `at(step)` records the step it is in; past the
 * limit, `expire(step)` runs (it kills the browser) and its error is thrown. The work left
 * behind fails once the browser is gone; its error is dropped.
 */
async function withinLimit<T>(
  limitMs: number,
  work: (at: (step: string) => void) => Promise<T>,
  expire: (step: string) => Promise<Error>,
): Promise<T> {
  let step = "";
  const running = work((s) => step = s);
  if (!(limitMs > 0)) return await running;
  running.catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<null>((r) => timer = setTimeout(() => r(null), limitMs));
  try {
    const r = await Promise.race([running.then((value) => ({ value })), expired]);
    if (r === null) throw await expire(step);
    return r.value;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The error of a step past its limit, after the browser was killed: the phase and step, the
 * limit, what became of the browser, and what to do.
 */
function timeoutError(
  phase: string,
  step: string,
  limitMs: number,
  browser: { version: string; path: string; stderrSinceStart(): string[] },
  page: Page | null,
): ChromiumTimeoutError {
  const problems = (page?.messages ?? []).filter((m) =>
    m.level === "error" || m.level === "exception"
  ).map((m) => m.text.split("\n")[0]).slice(0, 3);
  // after start-up, only what it printed since (each start-up's dbus and sandbox warnings
  // read as the hang's cause)
  const err = browser.stderrSinceStart().slice(-3);
  return new ChromiumTimeoutError(
    `Chromium ${phase}: ${step} did not finish within ${limitText(limitMs)} ` +
      `(${browser.version || "browser"}, ${browser.path}); the browser was hung there, so it ` +
      "was killed and its profile removed. Rerun the command; if it hangs again, check the " +
      "browser alone with `devices --runtime chromium`, and on a slow machine raise " +
      `${CHROMIUM_TIMEOUT_ENV} (seconds; 0: no limit)` +
      (problems.length ? `; the page's errors: ${problems.join(" | ")}` : "") +
      (err.length ? `; the browser's stderr: ${err.join(" | ")}` : ""),
    step,
    limitMs,
  );
}

/** An error raised in the page, re-raised here with the page's name and message. */
export class PageSideError extends Error {
  /** Builds the error. */
  constructor(e: PageError) {
    super(e.message);
    this.name = e.name;
  }
}

/** The browser facts a fingerprint and a device key carry. */
export interface BrowserIdentity {
  /** `chromium`. */
  readonly name: "chromium";
  /** Browser.getVersion's product, e.g. "HeadlessChrome/156.0.8078.114". */
  readonly version: string;
  /** The executable. */
  readonly path: string;
  /** The page's user agent. */
  readonly userAgent: string;
  /** Every GPUAdapterInfo field Chromium reports (driver, backend, ...). */
  readonly adapterInfo: Readonly<Record<string, unknown>>;
}

/**
 * A WebGPU device in headless Chromium.
 *
 * @example
 * ```ts ignore
 * import { ChromiumGpu } from "./chromium_gpu.ts";
 * const gpu = await ChromiumGpu.start();
 * gpu.caps.adapter.description; // "SwiftShader Device (Subzero)"
 * const r = await gpu.runAttention(plan, { spec, inputs });
 * await gpu.close();
 * ```
 */
export class ChromiumGpu {
  /** Which runtime this is. */
  readonly runtime = "chromium" as const;
  /** The adapter's caps (read in the page by GpuContext, like any device's). */
  caps: DeviceCaps;
  /** Browser and adapter facts. */
  identity: BrowserIdentity;
  #browser: Chromium;
  #page: Page;
  readonly #server: PageServer;
  readonly #options: ChromiumGpuOptions;
  /** The limit of each step outside a case, in ms (0: none). */
  readonly #timeoutMs: number;
  /** The browser's path and what named it. */
  readonly #where: ChromiumLocation;
  /** User backend modules whose bundle the server already serves, by id. */
  readonly #served = new Set<string>();
  #lost = false;
  /** Who hears of the page's GPU errors outside every error scope. */
  readonly #lateListeners = new Set<(late: PageLateGpuError) => void>();
  /** How many of the page's messages were said (of this page; a fresh page starts at 0). */
  #messagesSaid = 0;
  /** How many lines said them, in all pages (at most {@link PAGE_MESSAGES_SAID}, then one). */
  #messageLines = 0;
  /** The case whose reply came last (its id), which a message before the next one follows. */
  #lastCase: string | undefined;

  private constructor(
    parts: {
      browser: Chromium;
      page: Page;
      server: PageServer;
      init: PageInitReply & { ok: true };
    },
    options: ChromiumGpuOptions,
    timeoutMs: number,
    where: ChromiumLocation,
  ) {
    this.#where = where;
    this.#browser = parts.browser;
    this.#page = parts.page;
    this.#server = parts.server;
    this.#options = options;
    this.#timeoutMs = timeoutMs;
    // the page's adapter: a tuning measured on another device says so, as under Deno
    this.caps = { ...parts.init.caps, ...environmentCapsOverrides(parts.init.caps.adapter) };
    this.identity = identityOf(parts.browser, parts.init);
  }

  /**
   * Find and launch Chromium, serve the page, acquire its device. Throws
   * ChromiumNotFoundError (no browser), ChromiumLaunchError, or NoAdapterError (the page
   * has no WebGPU adapter), or ChromiumTimeoutError when start-up takes longer than
   * `options.timeoutMs` (the browser killed).
   */
  static async start(options: ChromiumGpuOptions = {}): Promise<ChromiumGpu> {
    // MLA_HARNESS_SM_COUNT / MLA_HARNESS_DEVICE_CLASS: read (and a bad value refused)
    // before any browser starts; added to the page's caps, which read no environment.
    environmentCapsOverrides();
    const timeoutMs = timeoutOf(options);
    const where = findChromium(options.chromium);
    const server = PageServer.start(await pageBundle());
    try {
      const deadline = performance.now() + timeoutMs;
      const { browser, page, init } = await openPage(where, server, options, {
        timeoutMs,
        deadline,
        phase: "start-up",
      });
      const gpu = new ChromiumGpu({ browser, page, server, init }, options, timeoutMs, where);
      try {
        await gpu.#bounded("start-up", deadline, (at) => gpu.#loadUserBackends(at));
      } catch (e) {
        await browser.close();
        throw e;
      }
      return gpu;
    } catch (e) {
      await server.close();
      throw e;
    }
  }

  /**
   * Load into the page every user backend module this process loaded (`--backend-module`):
   * each is bundled for the browser once and served with the WGSL files it lists, and the
   * page imports, checks and registers it, so plans resolved here for it launch there.
   */
  async #loadUserBackends(at: (step: string) => void = () => {}): Promise<void> {
    for (const l of loadedBackendModules()) {
      const id = l.module.id;
      at(`loading backend module ${l.specifier} into the page (mlaHarness.loadBackend())`);
      const prefix = `/backend/${encodeURIComponent(id)}/`;
      if (!this.#served.has(id)) {
        const url = new URL(l.url);
        const js = await bundleBackendModule(url);
        const unresolvable = bareImports(js);
        if (unresolvable.length > 0) {
          // the page's import failed with only "Failed to fetch dynamically imported module"
          throw new ConfigError(l.specifier, [{
            path: "(module)",
            value: l.url,
            message:
              `loaded in Deno, but its bundle for the Chromium page still imports ${
                unresolvable.map((m) => JSON.stringify(m)).join(", ")
              }, which a browser page cannot load (a Deno or Node built-in, or a package the ` +
              "bundle left outside); a module that runs in the page may import only what " +
              "deno bundle can carry",
          }], "not a backend module in the browser page");
        }
        const files: Record<string, ServedFile> = {
          "mod.js": { body: js, type: "text/javascript" },
        };
        for (const f of l.module.files ?? []) {
          files[f] = { body: await Deno.readFile(new URL(f, url)), type: "text/plain" };
        }
        this.#server.serveFiles(prefix, files, {
          module: l.specifier,
          listed: l.module.files ?? [],
        });
        this.#served.add(id);
      }
      const reply = await this.#evaluate(
        `mlaHarness.loadBackend(${JSON.stringify(`${this.#server.origin}${prefix}mod.js`)}, ${
          JSON.stringify(l.specifier)
        })`,
      ) as PageLoadBackendReply;
      if (!reply.ok) {
        if (reply.lost) {
          this.#lost = true;
          throw new PageSideError({
            ...reply.error,
            message: `backend module ${l.specifier} in the page: ${reply.error.message}`,
          });
        }
        // The module loaded in Deno but not in the page (it threw at import there, or its
        // bundle exports another shape): the user's module, as the same failure under Deno is
        // (exit 2 naming it), where it was an internal error with the harness's stack, exit 1.
        throw new ConfigError(l.specifier, [{
          path: "(module)",
          value: l.url,
          message: `loaded in Deno but could not be loaded in the Chromium page (its bundle ` +
            `${prefix}mod.js, run as browser code: no Deno namespace): ${reply.error.name}: ` +
            reply.error.message,
        }], "not a backend module in the browser page");
      }
    }
  }

  /**
   * Run a step outside a case within this runtime's limit, ending at `deadline`
   * (performance.now() milliseconds; undefined: the full limit from now). Past it the browser
   * is killed (the device counts as lost) and a ChromiumTimeoutError names the step.
   */
  #bounded<T>(
    phase: string,
    deadline: number | undefined,
    work: (at: (step: string) => void) => Promise<T>,
    fullLimitMs: number = this.#timeoutMs,
  ): Promise<T> {
    const limit = fullLimitMs <= 0
      ? 0
      : Math.max(1, (deadline ?? performance.now() + fullLimitMs) - performance.now());
    return withinLimit(limit, work, async (step) => {
      this.#lost = true;
      await this.#browser.close();
      return timeoutError(phase, step, fullLimitMs, this.#browser, this.#page);
    });
  }

  /** Whether the page's device (or the browser) was lost. */
  get lost(): boolean {
    return this.#lost || this.#browser.cdp.closed || this.#page.crashed !== null;
  }

  /**
   * Evaluate in the page. When the page crashed or the browser ended meanwhile, the error
   * says so (with how the browser ended and the end of its stderr), and the device is lost:
   * the runner starts a fresh browser for the next case.
   */
  async #evaluate(expression: string): Promise<unknown> {
    try {
      return await this.#page.evaluate(expression);
    } catch (e) {
      if (this.#page.crashed) {
        this.#lost = true;
        throw this.#page.crashed;
      }
      if (this.#browser.cdp.closed) {
        this.#lost = true;
        throw await browserEnded(this.#browser, e);
      }
      throw e;
    }
  }

  /**
   * Run one GPU plan's attention in the page (runAttention): the checked run, then
   * `repeats` timed runs. An error in the page throws with the page's error name and
   * message.
   */
  runAttention(
    plan: GpuPlan,
    options: RemoteRunOptions & { inputs: AttentionInputs },
  ): Promise<RemoteRun> {
    const { inputs, ...rest } = options;
    return this.#run("attention", plan, rest, { ...inputs });
  }

  /** Run a full layer in the page (runLayer) on host weights and hidden states. */
  runLayer(
    plan: GpuPlan,
    options: RemoteRunOptions & { weights: LayerWeights; hidden: Tensor },
  ): Promise<RemoteRun> {
    const { weights, hidden, ...rest } = options;
    return this.#run("layer", plan, rest, { hidden, ...weights });
  }

  /**
   * Compile WGSL sources (already specialized) with the page's compiler (Tint); one result
   * per source, its diagnostics mapped to file:line:col.
   */
  async compile(
    sources: readonly { fileName: string; code: string }[],
  ): Promise<{ ok: boolean; message: string }[]> {
    const n = sources.length;
    const reply = await this.#bounded("compile", undefined, (at) => {
      at(`compiling ${n} WGSL source${n === 1 ? "" : "s"} (mlaHarness.compile())`);
      return this.#evaluate(`mlaHarness.compile(${JSON.stringify(sources)})`);
    }) as PageCompileReply;
    if (!reply.ok) throw this.#stepFailure(reply, "compile");
    return [...reply.results];
  }

  /** The benchmark's measurement of a plan in the page (kernels/measure.ts). */
  async measureAttention(plan: GpuPlan, o: MeasureOptions): Promise<Measured> {
    if (o.mutate) throw new Error("a source mutation cannot run in another runtime");
    const { spec, inputs } = o;
    const measure = {
      scope: o.scope,
      reps: o.reps,
      warmup: o.warmup,
      ...(o.replay === undefined ? {} : { replay: o.replay }),
      ...(o.warmupMs ? { warmupMs: o.warmupMs } : {}),
    };
    const ex = this.#server.exchange(
      encodeCaseRequest({ kind: "bench", plan, spec, repeats: 0, measure }, { ...inputs }),
    );
    try {
      const reply = await this.#evaluate(
        `mlaHarness.bench(${JSON.stringify(ex.caseUrl)})`,
      ) as PageBenchReply;
      if (!reply.ok) {
        if (reply.lost) this.#lost = true;
        throw new PageSideError(reply.error);
      }
      addCompiledFindings(reply.barrierFindings ?? []);
      return reply.measured;
    } finally {
      ex.drop();
    }
  }

  /** The device ceilings measured in the page (bench/ceilings.ts). */
  async measureCeilings(o: CeilingsOptions): Promise<Ceilings> {
    return (await this.#probe<PageCeilingsReply>("ceilings", o)).ceilings;
  }

  /** The saturation point measured in the page (bench/saturation.ts). */
  async measureSaturation(o: { reps?: number } = {}): Promise<Saturation> {
    return (await this.#probe<PageSaturationReply>("saturation", o)).saturation;
  }

  /**
   * Call a measuring function of the page; its failure is thrown (and a loss recorded). Its
   * limit grows with its repetitions ({@link measurementLimitMs}).
   */
  async #probe<R extends PageReply<unknown>>(
    fn: "ceilings" | "saturation",
    options: { reps?: number },
  ): Promise<Extract<R, { ok: true }>> {
    const limit = measurementLimitMs(this.#timeoutMs, options.reps);
    const reply = await this.#bounded(`${fn} measurement`, undefined, (at) => {
      at(
        `measuring the device's ${fn} (mlaHarness.${fn}()` +
          (limit > this.#timeoutMs
            ? `, ${options.reps} repetitions: the limit is per ${LIMIT_REPS}`
            : "") +
          ")",
      );
      return this.#evaluate(`mlaHarness.${fn}(${JSON.stringify(options)})`);
    }, limit) as R;
    if (!reply.ok) throw this.#stepFailure(reply as PageFailure, `the ${fn} measurement`);
    return reply as Extract<R, { ok: true }>;
  }

  /**
   * The error of a page call outside a case that failed: a lost device (its GPU process killed
   * or crashed) is a DeviceLostError naming the step (exit 3, as a lost Deno device; it was an
   * internal error with a stack trace, `AbortError: Failed to execute 'mapAsync' ...`), any
   * other the page's error.
   */
  #stepFailure(failed: PageFailure, step: string): Error {
    if (!failed.lost) return new PageSideError(failed.error);
    this.#lost = true;
    return new DeviceLostError(
      "unknown",
      `the Chromium page's device was lost during ${step} (its GPU process crashed or was ` +
        `killed?): ${failed.error.name}: ${failed.error.message}`,
    );
  }

  async #run(
    kind: CaseKind,
    plan: GpuPlan,
    options: RemoteRunOptions,
    tensors: Record<string, Tensor | undefined>,
  ): Promise<RemoteRun> {
    const request = encodeCaseRequest({
      kind,
      plan,
      spec: options.spec,
      repeats: options.repeats ?? 0,
      ...(options.warmupMs ? { warmupMs: options.warmupMs } : {}),
      ...(options.replay === undefined ? {} : { replay: options.replay }),
      ...(options.faultId === undefined ? {} : { faultId: options.faultId }),
      ...(options.limits === undefined ? {} : { limits: options.limits }),
    }, tensors);
    const ex = this.#server.exchange(request);
    // what the page said before this case (after the one before) and during it, said once its
    // reply (or its failure) is in: it was kept in the page's log, which nothing read
    this.#sayPageMessages({ after: this.#lastCase });
    try {
      const reply = await this.#evaluate(
        `mlaHarness.runCase(${JSON.stringify(ex.caseUrl)}, ${JSON.stringify(ex.resultUrl)})`,
      ) as PageCaseReply;
      this.#lateGpuErrors(reply.lateGpuErrors ?? []);
      if (!reply.ok) {
        if (reply.lost) this.#lost = true;
        throw new PageSideError(reply.error);
      }
      // the page's barrier check of what user backends compiled there, kept with Deno's own
      addCompiledFindings(reply.barrierFindings ?? []);
      const outputs = decodeOutputs(await ex.outputs);
      return {
        outputs,
        samplesMs: reply.samplesMs,
        ...(reply.clockFaults ? { clockFaults: reply.clockFaults } : {}),
        source: reply.source,
        scope: reply.scope,
        outsideCoreMs: reply.outsideCoreMs,
      };
    } finally {
      ex.drop();
      this.#sayPageMessages({ during: options.caseId ?? null });
      this.#lastCase = options.caseId;
    }
  }

  /**
   * Say the page's console messages and uncaught exceptions not said yet: during a case (its
   * id; null: none given), or after the last case (before the next one started).
   */
  #sayPageMessages(when: { during?: string | null; after?: string }): void {
    const messages = this.#page.messages;
    const say = this.#options.onPageMessage ?? ((line: string) => console.error(line));
    for (; this.#messagesSaid < messages.length; this.#messagesSaid++) {
      this.#messageLines++;
      if (this.#messageLines > PAGE_MESSAGES_SAID + 1) continue;
      say(
        this.#messageLines > PAGE_MESSAGES_SAID
          ? `chromium page: more console messages or exceptions than ${PAGE_MESSAGES_SAID}: ` +
            "the rest are not said"
          : pageMessageLine(messages[this.#messagesSaid], when),
      );
    }
  }

  #lateGpuErrors(late: readonly PageLateGpuError[]): void {
    for (const e of late) for (const f of this.#lateListeners) f(e);
  }

  /**
   * Hear of each GPU error the page's device raises outside every error scope (a pass a
   * launch() left floating; "uncapturederror" in the page, lost before), handed back with
   * the next case's reply or by {@link settleLateGpuErrors}. Returns the function that stops.
   *
   * @example
   * ```ts ignore
   * const stop = gpu.watchLateGpuErrors((e) => console.error(e.message));
   * stop();
   * ```
   */
  watchLateGpuErrors(onError: (late: PageLateGpuError) => void): () => void {
    this.#lateListeners.add(onError);
    return () => this.#lateListeners.delete(onError);
  }

  /**
   * Wait for the work the page's cases submitted to land, and hand on the GPU errors outside
   * every error scope that it raised since the last case's reply (nothing when lost).
   */
  async settleLateGpuErrors(): Promise<void> {
    if (this.lost) return;
    const reply = await this.#bounded("settle", undefined, (at) => {
      at("waiting for the submitted GPU work (mlaHarness.settle())");
      return this.#evaluate("mlaHarness.settle()");
    }) as PageSettleReply;
    if (!reply.ok) throw this.#stepFailure(reply, "the wait for the submitted GPU work");
    this.#lateGpuErrors(reply.lateGpuErrors);
    // and what the page said after the last case (the end of a run waits here)
    this.#sayPageMessages({ after: this.#lastCase });
  }

  /** Drop the browser (a hung case): the next {@link reacquire} starts a fresh one. */
  destroy(): void {
    this.#lost = true;
    this.#browser.close().catch(() => {});
  }

  /** A fresh browser, page and device (after a loss or a hung case). */
  async reacquire(): Promise<void> {
    await this.#browser.close();
    const deadline = performance.now() + this.#timeoutMs;
    const phase = "re-acquire after a device loss";
    const { browser, page, init } = await openPage(
      this.#where,
      this.#server,
      this.#options,
      {
        timeoutMs: this.#timeoutMs,
        deadline,
        phase,
      },
    );
    this.#browser = browser;
    this.#page = page;
    this.#messagesSaid = 0;
    this.caps = { ...init.caps, ...environmentCapsOverrides(init.caps.adapter) };
    this.identity = identityOf(browser, init);
    this.#lost = false;
    await this.#bounded(phase, deadline, (at) => this.#loadUserBackends(at));
  }

  /** End the browser and the server. */
  async close(): Promise<void> {
    await this.#browser.close();
    await this.#server.close();
  }
}

/** The error of a browser that ended under the harness: how it ended, its last stderr. */
async function browserEnded(
  browser: Chromium,
  cause: unknown,
  phase?: string,
): Promise<ChromiumExitedError> {
  // the pipe closes as the browser ends; its launching shell follows within moments
  let timer: ReturnType<typeof setTimeout> | undefined;
  const status = await Promise.race([
    browser.process.status.catch(() => null),
    new Promise<null>((r) => timer = setTimeout(() => r(null), 1000)),
  ]);
  clearTimeout(timer);
  const how = status === null
    ? "its connection closed"
    : status.code > 128
    ? `it exited on signal ${status.code - 128}${status.code === 137 ? " (SIGKILL)" : ""}`
    : `it exited with code ${status.code}`;
  // in use: only what it printed since its start-up (each start-up's dbus and sandbox
  // warnings were quoted as the cause of a kill, with the shell's "Killed")
  const err = browser.stderrSinceStart().slice(-3).join(" | ");
  return new ChromiumExitedError(
    `Chromium (${browser.version}, ${browser.path}) ended ` +
      (phase === undefined ? "while in use" : `during its ${phase}`) +
      `: ${how} (killed, crashed or out of memory)` +
      (phase === undefined ? `; ${NEXT_CASE_BROWSER}` : "") +
      (err ? `; its stderr: ${err}` : ""),
    { cause },
  );
}

function identityOf(browser: Chromium, init: PageInitReply & { ok: true }): BrowserIdentity {
  return {
    name: "chromium",
    version: browser.version,
    path: browser.path,
    userAgent: init.userAgent,
    adapterInfo: init.info,
  };
}

/**
 * What to do when Chromium's page finds no WebGPU adapter. Deno's fix (lavapipe,
 * DENO_WEBGPU_BACKEND) changes nothing there: Chromium picks its own adapter (a GPU, or
 * SwiftShader on the CPU).
 */
export const CHROMIUM_NO_ADAPTER_FIX: string =
  "Chromium's WebGPU uses its own adapter (a GPU, else SwiftShader on the CPU), not Deno's, " +
  "so lavapipe and DENO_WEBGPU_BACKEND do not change it: use a Chromium build with WebGPU " +
  "(Debian's chromium-headless-shell has it), started without flags or policies that turn " +
  "WebGPU or the GPU process off (the harness passes --enable-unsafe-webgpu)";

/**
 * The page's error of a failed init, as one line: its own "no WebGPU adapter: ...; <Deno's
 * fix>" (the page runs the harness's GPU code) reduced to what failed.
 *
 * @example
 * ```ts
 * import { pageAdapterError } from "./chromium_gpu.ts";
 * const message = "no WebGPU adapter: requestAdapter() returned null";
 * pageAdapterError({ name: "NoAdapterError", message }); // "NoAdapterError: requestAdapter() returned null"
 * ```
 */
export function pageAdapterError(error: { name: string; message: string }): string {
  const message = error.message.replace(`; ${NO_ADAPTER_FIX}`, "")
    .replace(/^no WebGPU adapter: /, "");
  return `${error.name}: ${message}`;
}

/**
 * Launch the browser, open the harness page and acquire its device, all by `limit.deadline`
 * (performance.now() ms; `limit.timeoutMs` 0: no limit). The launch has its own limit (at
 * most 30 s); past the deadline the browser is killed and a ChromiumTimeoutError names the
 * step it hung in.
 */
async function openPage(
  where: ChromiumLocation,
  server: PageServer,
  options: ChromiumGpuOptions,
  limit: { timeoutMs: number; deadline: number; phase: string },
): Promise<{ browser: Chromium; page: Page; init: PageInitReply & { ok: true } }> {
  const browser = await launchChromium(where.path, {
    env: options.env,
    location: where,
    ...(limit.timeoutMs > 0 ? { startTimeoutMs: Math.min(30000, limit.timeoutMs) } : {}),
  });
  let page: Page | null = null;
  const left = limit.timeoutMs > 0 ? Math.max(1, limit.deadline - performance.now()) : 0;
  try {
    return await withinLimit(
      left,
      (at) => startPage(browser, server, at, (p) => page = p),
      async (step) => {
        await browser.close();
        return timeoutError(limit.phase, step, limit.timeoutMs, browser, page);
      },
    );
  } catch (e) {
    // the browser ended between its launch and the page's device (killed, crashed): the
    // CdpError of the step it was in ("the browser connection closed") was an internal
    // error with a stack trace, exit 1; it is a browser that ended (exit 3), saying how
    const ended = browser.cdp.closed && !(e instanceof ChromiumTimeoutError)
      ? await browserEnded(browser, e, limit.phase)
      : null;
    await browser.close();
    throw ended ?? e;
  }
}

/**
 * Wait until the harness page's script has defined `mlaHarness`, polling every `intervalMs`:
 * [] once it has, or the first lines of the page's uncaught exceptions when one comes first
 * (a script that failed never defines it). No limit of its own: the caller's
 * (MLA_HARNESS_CHROMIUM_TIMEOUT, 0: none) bounds it; a fixed 10 s failed a slow page on a
 * loaded machine whatever that limit said.
 *
 * @example
 * ```ts
 * import { waitForPageScript } from "./chromium_gpu.ts";
 * const page = { messages: [], evaluate: () => Promise.resolve(true) };
 * await waitForPageScript(page); // []
 * ```
 */
export async function waitForPageScript(
  page: {
    evaluate(expression: string): Promise<unknown>;
    readonly messages: readonly { level: string; text: string }[];
  },
  intervalMs = 25,
): Promise<string[]> {
  while (await page.evaluate("typeof mlaHarness === 'object'") !== true) {
    const failed = page.messages.filter((m) => m.level === "exception")
      .map((m) => m.text.split("\n")[0]);
    if (failed.length) return failed;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return [];
}

/** The steps of {@link openPage} after the launch, each named through `at`. */
async function startPage(
  browser: Chromium,
  server: PageServer,
  at: (step: string) => void,
  opened: (page: Page) => void,
): Promise<{ browser: Chromium; page: Page; init: PageInitReply & { ok: true } }> {
  at("opening a page (Target.createTarget)");
  const page = await Page.open(browser);
  opened(page);
  at(`loading the harness page ${server.pageUrl}`);
  await page.navigate(server.pageUrl);
  // the module script may still be evaluating after the load event
  at("waiting for the harness page's script (mlaHarness)");
  const problems = await waitForPageScript(page);
  if (problems.length) {
    throw new ChromiumLaunchError(
      `the harness page's script failed in Chromium (${browser.version}): ` +
        problems.slice(0, 3).join(" | "),
    );
  }
  at("acquiring the WebGPU adapter and device (mlaHarness.init())");
  const init = await page.evaluate("mlaHarness.init()") as PageInitReply;
  if (!init.ok) {
    const problems = page.messages.filter((m) => m.level === "error" || m.level === "exception");
    throw new NoAdapterError(
      `Chromium (${browser.version}) has no usable WebGPU adapter: ` +
        `${pageAdapterError(init.error)}${problems.length ? `; page: ${problems[0].text}` : ""}`,
      CHROMIUM_NO_ADAPTER_FIX,
    );
  }
  browser.markStarted();
  return { browser, page, init };
}
