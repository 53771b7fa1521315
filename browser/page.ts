/**
 * One page of a launched browser: open (a flattened target session), navigate and wait
 * for the load, evaluate an expression (promises awaited, result by value), collect
 * console errors and exceptions, close.
 *
 * @module
 */
import { CdpError } from "./cdp.ts";
import type { Chromium } from "./chromium.ts";

/** A console message or uncaught exception of the page. */
export interface PageMessage {
  /** `error`, `warning`, `log`, ... or `exception`. */
  readonly level: string;
  /** Its text. */
  readonly text: string;
}

/** An exception thrown by evaluated code (its description, stack included when known). */
export class PageEvaluateError extends Error {
  /** Builds the error. */
  constructor(message: string) {
    super(message);
    this.name = "PageEvaluateError";
  }
}

/**
 * What follows a browser or page that ended while in use: the commands with cases start a
 * fresh one for the next case (devices and compile stop). "in a run, a fresh browser is
 * started" read as if `bench` and `compare-runtimes`, which do the same, did not.
 */
export const NEXT_CASE_BROWSER =
  "run, bench and compare-runtimes start a fresh browser for the next case";

/**
 * The page's renderer process ended (crashed, or was killed: out of memory, a signal):
 * every command of the page pending then, or sent afterwards, rejects with this at once
 * (a crashed page answers nothing, so without it a case would wait for --case-timeout).
 */
export class PageCrashedError extends Error {
  /** Builds the error. */
  constructor(message: string) {
    super(message);
    this.name = "PageCrashedError";
  }
}

/**
 * A page (tab) driven over CDP.
 *
 * @example
 * ```ts ignore
 * import { launchChromium } from "./chromium.ts";
 * import { Page } from "./page.ts";
 * const browser = await launchChromium("/usr/bin/chromium-headless-shell");
 * const page = await Page.open(browser);
 * await page.navigate("http://127.0.0.1:8000/index.html");
 * await page.evaluate("1 + 1"); // 2
 * await browser.close();
 * ```
 */
export class Page {
  /** The browser. */
  readonly browser: Chromium;
  /** The target id. */
  readonly targetId: string;
  /** The flattened session id. */
  readonly sessionId: string;
  /** Console messages and exceptions so far. */
  readonly messages: PageMessage[] = [];
  #crash: PageCrashedError | null = null;
  #onCrash: (e: PageCrashedError) => void = () => {};
  readonly #crashed: Promise<never>;

  private constructor(browser: Chromium, targetId: string, sessionId: string) {
    this.browser = browser;
    this.targetId = targetId;
    this.sessionId = sessionId;
    this.#crashed = new Promise<never>((_, reject) => this.#onCrash = reject);
    this.#crashed.catch(() => {}); // observed through #crash by every later call
  }

  /** Why the page's renderer ended (null while it runs). */
  get crashed(): PageCrashedError | null {
    return this.#crash;
  }

  #crashWith(status: string): void {
    if (this.#crash) return;
    this.#crash = new PageCrashedError(
      `the Chromium page's renderer process ended (${status}): it crashed or was killed, ` +
        `e.g. out of memory or by a signal; a crashed page answers nothing: ${NEXT_CASE_BROWSER}`,
    );
    this.#onCrash(this.#crash);
  }

  /** Open a blank page with Runtime and Page domains enabled. */
  static async open(browser: Chromium): Promise<Page> {
    const cdp = browser.cdp;
    const { targetId } = await cdp.send("Target.createTarget", { url: "about:blank" });
    const { sessionId } = await cdp.send("Target.attachToTarget", { targetId, flatten: true });
    const page = new Page(browser, String(targetId), String(sessionId));
    cdp.on("Runtime.consoleAPICalled", (p) => {
      const args = (p.args as { value?: unknown; description?: string }[] | undefined) ?? [];
      page.messages.push({
        level: String(p.type),
        text: args.map((a) => a.value !== undefined ? String(a.value) : a.description ?? "")
          .join(" "),
      });
    }, page.sessionId);
    cdp.on("Runtime.exceptionThrown", (p) => {
      const d = p.exceptionDetails as { text?: string; exception?: { description?: string } };
      page.messages.push({ level: "exception", text: d.exception?.description ?? d.text ?? "" });
    }, page.sessionId);
    // A crashed renderer answers no pending command: both events end them (Target's,
    // with the process's status, comes when targets are discovered; Inspector's always).
    cdp.on("Target.targetCrashed", (p) => {
      if (p.targetId === page.targetId) {
        page.#crashWith(`status ${String(p.status)}, code ${String(p.errorCode)}`);
      }
    });
    cdp.on(
      "Inspector.targetCrashed",
      () => page.#crashWith("Inspector.targetCrashed"),
      page.sessionId,
    );
    await cdp.send("Target.setDiscoverTargets", { discover: true });
    await page.send("Inspector.enable");
    await page.send("Runtime.enable");
    await page.send("Page.enable");
    return page;
  }

  /**
   * Send a command to this page's session; rejects with a {@link PageCrashedError} as soon
   * as the page's renderer ends (or at once when it already has).
   */
  send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    if (this.#crash) return Promise.reject(this.#crash);
    return Promise.race([this.browser.cdp.send(method, params, this.sessionId), this.#crashed]);
  }

  /**
   * Navigate and wait for the load event (a navigation error, e.g. an unreachable URL,
   * throws naming the URL).
   */
  async navigate(url: string, timeoutMs = 30000): Promise<void> {
    let off = () => {};
    const loaded = new Promise<void>((res) => {
      off = this.browser.cdp.on("Page.loadEventFired", () => res(), this.sessionId);
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const r = await this.send("Page.navigate", { url });
      if (typeof r.errorText === "string" && r.errorText !== "") {
        throw new CdpError("Page.navigate", `${url}: ${r.errorText}`, null);
      }
      await Promise.race([
        loaded,
        new Promise<never>((_, rej) =>
          timer = setTimeout(
            () =>
              rej(new CdpError("Page.navigate", `${url} did not load in ${timeoutMs} ms`, null)),
            timeoutMs,
          )
        ),
      ]);
    } finally {
      clearTimeout(timer);
      off();
    }
  }

  /**
   * Evaluate an expression in the page, awaiting a promise, and return its value (JSON
   * by value). An exception in the page throws a {@link PageEvaluateError}.
   */
  async evaluate(expression: string): Promise<unknown> {
    const r = await this.send("Runtime.evaluate", {
      expression,
      awaitPromise: true,
      returnByValue: true,
    });
    const ex = r.exceptionDetails as
      | { text?: string; exception?: { description?: string; value?: unknown } }
      | undefined;
    if (ex) {
      const what = ex.exception?.description ?? String(ex.exception?.value ?? ex.text ?? "");
      throw new PageEvaluateError(what);
    }
    return (r.result as { value?: unknown } | undefined)?.value;
  }

  /** Close the page (ignored when the browser is already gone). */
  async close(): Promise<void> {
    await this.browser.cdp.send("Target.closeTarget", { targetId: this.targetId }).catch(() => {});
  }
}
