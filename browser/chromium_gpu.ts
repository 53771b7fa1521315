/**
 * The Chromium runtime as the runner sees it: a WebGPU device in a headless Chromium page
 * that runs the harness's own runAttention and launchers (browser/page_main.ts), with the
 * caps of Chromium's adapter, and the same life cycle as a GpuContext (`lost`,
 * `destroy()`, `reacquire()`). Inputs go to the page, outputs come back, over the
 * loopback server (browser/server.ts); everything else stays in Deno.
 *
 * @module
 */
import type {
  AttentionInputs,
  DeviceCaps,
  GpuPlan,
  LayerWeights,
  Tensor,
} from "../adapter/types.ts";
import { environmentCapsOverrides } from "../gpu/device.ts";
import { NO_ADAPTER_FIX, NoAdapterError } from "../gpu/errors.ts";
import type { RemoteRun, RemoteRunOptions } from "../gpu/runtime.ts";
import { bundleBackendModule, pageBundle } from "./bundle.ts";
import { loadedBackendModules } from "../kernels/backend_module.ts";
import {
  type Chromium,
  ChromiumExitedError,
  ChromiumLaunchError,
  findChromium,
  launchChromium,
} from "./chromium.ts";
import { Page } from "./page.ts";
import type {
  PageBenchReply,
  PageCaseReply,
  PageCeilingsReply,
  PageCompileReply,
  PageError,
  PageFailure,
  PageInitReply,
  PageLoadBackendReply,
  PageReply,
  PageSaturationReply,
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
  /** User backend modules whose bundle the server already serves, by id. */
  readonly #served = new Set<string>();
  #lost = false;

  private constructor(
    parts: {
      browser: Chromium;
      page: Page;
      server: PageServer;
      init: PageInitReply & { ok: true };
    },
    options: ChromiumGpuOptions,
  ) {
    this.#browser = parts.browser;
    this.#page = parts.page;
    this.#server = parts.server;
    this.#options = options;
    this.caps = { ...parts.init.caps, ...environmentCapsOverrides() };
    this.identity = identityOf(parts.browser, parts.init);
  }

  /**
   * Find and launch Chromium, serve the page, acquire its device. Throws
   * ChromiumNotFoundError (no browser), ChromiumLaunchError, or NoAdapterError (the page
   * has no WebGPU adapter).
   */
  static async start(options: ChromiumGpuOptions = {}): Promise<ChromiumGpu> {
    // MLA_HARNESS_SM_COUNT / MLA_HARNESS_DEVICE_CLASS: read (and a bad value refused)
    // before any browser starts; added to the page's caps, which read no environment.
    environmentCapsOverrides();
    const where = findChromium(options.chromium);
    const server = PageServer.start(await pageBundle());
    try {
      const { browser, page, init } = await openPage(where.path, server, options);
      const gpu = new ChromiumGpu({ browser, page, server, init }, options);
      try {
        await gpu.#loadUserBackends();
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
  async #loadUserBackends(): Promise<void> {
    for (const l of loadedBackendModules()) {
      const id = l.module.id;
      const prefix = `/backend/${encodeURIComponent(id)}/`;
      if (!this.#served.has(id)) {
        const url = new URL(l.url);
        const files: Record<string, ServedFile> = {
          "mod.js": { body: await bundleBackendModule(url), type: "text/javascript" },
        };
        for (const f of l.module.files ?? []) {
          files[f] = { body: await Deno.readFile(new URL(f, url)), type: "text/plain" };
        }
        this.#server.serveFiles(prefix, files);
        this.#served.add(id);
      }
      const reply = await this.#evaluate(
        `mlaHarness.loadBackend(${JSON.stringify(`${this.#server.origin}${prefix}mod.js`)})`,
      ) as PageLoadBackendReply;
      if (!reply.ok) {
        throw new PageSideError({
          ...reply.error,
          message: `backend module ${l.specifier} in the page: ${reply.error.message}`,
        });
      }
    }
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
    const reply = await this.#evaluate(
      `mlaHarness.compile(${JSON.stringify(sources)})`,
    ) as PageCompileReply;
    if (!reply.ok) {
      if (reply.lost) this.#lost = true;
      throw new PageSideError(reply.error);
    }
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

  /** Call a measuring function of the page; its failure is thrown (and a loss recorded). */
  async #probe<R extends PageReply<unknown>>(
    fn: "ceilings" | "saturation",
    options: object,
  ): Promise<Extract<R, { ok: true }>> {
    const reply = await this.#evaluate(
      `mlaHarness.${fn}(${JSON.stringify(options)})`,
    ) as R;
    if (!reply.ok) {
      const failed = reply as PageFailure;
      if (failed.lost) this.#lost = true;
      throw new PageSideError(failed.error);
    }
    return reply as Extract<R, { ok: true }>;
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
    try {
      const reply = await this.#evaluate(
        `mlaHarness.runCase(${JSON.stringify(ex.caseUrl)}, ${JSON.stringify(ex.resultUrl)})`,
      ) as PageCaseReply;
      if (!reply.ok) {
        if (reply.lost) this.#lost = true;
        throw new PageSideError(reply.error);
      }
      const outputs = decodeOutputs(await ex.outputs);
      return {
        outputs,
        samplesMs: reply.samplesMs,
        source: reply.source,
        scope: reply.scope,
        outsideCoreMs: reply.outsideCoreMs,
      };
    } finally {
      ex.drop();
    }
  }

  /** Drop the browser (a hung case): the next {@link reacquire} starts a fresh one. */
  destroy(): void {
    this.#lost = true;
    this.#browser.close().catch(() => {});
  }

  /** A fresh browser, page and device (after a loss or a hung case). */
  async reacquire(): Promise<void> {
    await this.#browser.close();
    const { browser, page, init } = await openPage(this.#browser.path, this.#server, this.#options);
    this.#browser = browser;
    this.#page = page;
    this.caps = { ...init.caps, ...environmentCapsOverrides() };
    this.identity = identityOf(browser, init);
    this.#lost = false;
    await this.#loadUserBackends();
  }

  /** End the browser and the server. */
  async close(): Promise<void> {
    await this.#browser.close();
    await this.#server.close();
  }
}

/** The error of a browser that ended under the harness: how it ended, its last stderr. */
async function browserEnded(browser: Chromium, cause: unknown): Promise<ChromiumExitedError> {
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
  const err = browser.stderrTail.filter((l) => l.trim() !== "").slice(-3).join(" | ");
  return new ChromiumExitedError(
    `Chromium (${browser.version}, ${browser.path}) ended during the case: ${how} ` +
      `(killed, crashed or out of memory); a fresh browser is started for the next case` +
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

async function openPage(
  path: string,
  server: PageServer,
  options: ChromiumGpuOptions,
): Promise<{ browser: Chromium; page: Page; init: PageInitReply & { ok: true } }> {
  const browser = await launchChromium(path, { env: options.env });
  try {
    const page = await Page.open(browser);
    await page.navigate(server.pageUrl);
    // the module script may still be evaluating after the load event
    let ready = false;
    for (let i = 0; i < 400 && !ready; i++) {
      ready = await page.evaluate("typeof mlaHarness === 'object'") === true;
      if (!ready) await new Promise((r) => setTimeout(r, 25));
    }
    if (!ready) {
      const problems = page.messages.filter((m) => m.level === "error" || m.level === "exception")
        .map((m) => m.text.split("\n")[0]);
      throw new ChromiumLaunchError(
        `the harness page did not start in Chromium (${browser.version}) within 10 s` +
          (problems.length ? `: ${problems.slice(0, 3).join(" | ")}` : ""),
      );
    }
    const init = await page.evaluate("mlaHarness.init()") as PageInitReply;
    if (!init.ok) {
      const problems = page.messages.filter((m) => m.level === "error" || m.level === "exception");
      throw new NoAdapterError(
        `Chromium (${browser.version}) has no usable WebGPU adapter: ` +
          `${pageAdapterError(init.error)}${problems.length ? `; page: ${problems[0].text}` : ""}`,
        CHROMIUM_NO_ADAPTER_FIX,
      );
    }
    return { browser, page, init };
  } catch (e) {
    await browser.close();
    throw e;
  }
}
