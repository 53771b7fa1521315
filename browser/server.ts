/**
 * The loopback HTTP server the page talks to (127.0.0.1, a free port): it serves the page
 * and its script, hands each case's inputs to the page (`GET /case/<n>`) and takes its
 * outputs (`POST /result/<n>`). Large inputs travel here, not as base64 over CDP (the
 * V2-Lite latent at b 4, s_k 4096 is about 38 MB). An http://127.0.0.1 page is a secure
 * context, so it has navigator.gpu.
 *
 * @module
 */

/** A pending exchange: the request bytes, and where the outputs go. */
interface Slot {
  request: Uint8Array<ArrayBuffer>;
  result: (bytes: ArrayBuffer) => void;
}

/** A fixed file the server serves: its body and content type. */
export interface ServedFile {
  /** The bytes (or text). */
  readonly body: string | Uint8Array<ArrayBuffer>;
  /** Its content type. */
  readonly type: string;
}

const PAGE_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>mla-harness</title></head>
<body><script type="module" src="/page.js"></script></body></html>
`;

/**
 * The server. `exchange()` publishes a request and returns its URLs and a promise of the
 * outputs' bytes.
 *
 * @example
 * ```ts ignore
 * import { PageServer } from "./server.ts";
 * const server = PageServer.start("globalThis.x = 1;");
 * const ex = server.exchange(new Uint8Array(8));
 * await server.close();
 * ```
 */
export class PageServer {
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #slots = new Map<number, Slot>();
  readonly #files = new Map<string, ServedFile>();
  /** The backend module served under each prefix, and the files its `files` export lists. */
  readonly #modules = new Map<string, { module: string; listed: readonly string[] }>();
  /** Paths the page asked for that nothing serves (each said once). */
  readonly #missed = new Set<string>();
  #next = 1;

  private constructor(script: string) {
    this.#server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen: () => {},
    }, (req) => this.#handle(req, script));
  }

  /** Start serving the page with this script. */
  static start(script: string): PageServer {
    return new PageServer(script);
  }

  /** The page's URL. */
  get pageUrl(): string {
    return `${this.origin}/index.html`;
  }

  /** `http://127.0.0.1:<port>`. */
  get origin(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  /**
   * Serve fixed files under a path prefix (a user backend module and its WGSL sources):
   * `files` maps a path below the prefix to its body and content type. Only these paths
   * are served; nothing else of the file system is reachable from the page.
   */
  serveFiles(
    prefix: string,
    files: Record<string, ServedFile>,
    about?: { readonly module: string; readonly listed: readonly string[] },
  ): void {
    for (const [name, file] of Object.entries(files)) this.#files.set(`${prefix}${name}`, file);
    if (about !== undefined) this.#modules.set(prefix, about);
  }

  /**
   * Publish one request; the outputs promise resolves when the page posts them. `drop()`
   * forgets the slot (a case that ended without them).
   */
  exchange(request: Uint8Array<ArrayBuffer>): {
    caseUrl: string;
    resultUrl: string;
    outputs: Promise<ArrayBuffer>;
    drop: () => void;
  } {
    const id = this.#next++;
    let result: (bytes: ArrayBuffer) => void = () => {};
    const outputs = new Promise<ArrayBuffer>((res) => result = res);
    this.#slots.set(id, { request, result });
    return {
      caseUrl: `/case/${id}`,
      resultUrl: `/result/${id}`,
      outputs,
      drop: () => this.#slots.delete(id),
    };
  }

  /**
   * Which module's folder a path not served is in, what it lists, and where the page resolves
   * a fetch: a module that imports another's launch() (which fetches beside itself under Deno)
   * fetches beside the module given, whose bundle carries the import. Empty: no module's.
   */
  #whose(path: string): string {
    for (const [prefix, m] of this.#modules) {
      if (!path.startsWith(prefix)) continue;
      const listed = m.listed.length === 0
        ? "lists no `files`"
        : `lists ${m.listed.map((f) => JSON.stringify(f)).join(", ")}`;
      return `: ${m.module} ${listed}; in the page a fetch(new URL(file, import.meta.url)) by ` +
        "it or by any module it imports resolves beside it (its bundle carries the imports), " +
        `so "${path.slice(prefix.length)}" must be beside ${m.module} and listed there`;
    }
    return "";
  }

  async #handle(req: Request, script: string): Promise<Response> {
    const path = new URL(req.url).pathname;
    if (req.method === "GET" && (path === "/" || path === "/index.html")) {
      return new Response(PAGE_HTML, { headers: { "content-type": "text/html; charset=utf-8" } });
    }
    if (req.method === "GET" && path === "/page.js") {
      return new Response(script, { headers: { "content-type": "text/javascript" } });
    }
    if (path === "/favicon.ico") return new Response(null, { status: 204 });
    const file = req.method === "GET" ? this.#files.get(path) : undefined;
    if (file) return new Response(file.body, { headers: { "content-type": file.type } });
    const m = /^\/(case|result)\/(\d+)$/.exec(path);
    const slot = m ? this.#slots.get(Number(m[2])) : undefined;
    if (!m) {
      // A file the page asked for that nothing serves: a backend module fetching a file its
      // `files` export does not list. Said here, once a path, and in the body (a module that
      // compiles the body without checking the status would otherwise report a WGSL error).
      const text = `mla-harness page server: ${path} is not served; a backend module's files ` +
        "(fetched from its folder) must be listed in its `files` export (docs/backends.md)" +
        this.#whose(path);
      if (req.method === "GET" && !this.#missed.has(path)) {
        this.#missed.add(path);
        console.error(`chromium runtime: ${text}`);
      }
      return new Response(text, { status: 404 });
    }
    if (!slot) return new Response("not found", { status: 404 });
    if (m[1] === "case" && req.method === "GET") {
      return new Response(slot.request, {
        headers: { "content-type": "application/octet-stream" },
      });
    }
    if (m[1] === "result" && req.method === "POST") {
      slot.result(await req.arrayBuffer());
      this.#slots.delete(Number(m[2]));
      return new Response(null, { status: 204 });
    }
    return new Response("method not allowed", { status: 405 });
  }

  /** Stop serving. */
  async close(): Promise<void> {
    this.#slots.clear();
    await this.#server.shutdown();
  }
}
