/**
 * A small Chrome DevTools Protocol (CDP) client: commands with ids and replies, events,
 * flattened target sessions, over either transport Chromium offers:
 *
 * - `--remote-debugging-pipe`: JSON messages separated by a NUL byte, read by Chromium
 *   from its fd 3 and written to its fd 4 ({@link pipeTransport});
 * - `--remote-debugging-port=0`: a WebSocket whose URL Chromium prints on stderr
 *   ({@link webSocketTransport}, Deno's built-in WebSocket).
 *
 * No npm package: the protocol needs a few dozen lines. browser/chromium.ts launches the
 * browser; browser/page.ts drives one page.
 *
 * @module
 */

/** A CDP message channel: text out, text in, and when it ended. */
export interface CdpTransport {
  /** Send one JSON message. */
  send(text: string): void;
  /** Register the receiver of every incoming JSON message (one receiver). */
  onMessage(receiver: (text: string) => void): void;
  /** Resolves when the channel is closed (by either side). */
  readonly closed: Promise<void>;
  /** Close the channel. */
  close(): void;
}

/** An error reply of a CDP command, or a command sent on a closed connection. */
export class CdpError extends Error {
  /** The command's method. */
  readonly method: string;
  /** CDP error code, or null when the connection closed before a reply. */
  readonly code: number | null;
  /** Builds the error. */
  constructor(method: string, message: string, code: number | null) {
    super(`CDP ${method}: ${message}`);
    this.name = "CdpError";
    this.method = method;
    this.code = code;
  }
}

interface Pending {
  method: string;
  resolve: (v: Record<string, unknown>) => void;
  reject: (e: Error) => void;
}

type Listener = (params: Record<string, unknown>, sessionId: string | undefined) => void;

/**
 * A CDP connection: `send` returns the command's result (an error reply rejects with a
 * {@link CdpError}); `on` subscribes to events, optionally of one session.
 *
 * @example
 * ```ts ignore
 * import { CdpConnection, webSocketTransport } from "./cdp.ts";
 * const cdp = new CdpConnection(await webSocketTransport("ws://127.0.0.1:9222/devtools/browser/x"));
 * const { product } = await cdp.send("Browser.getVersion");
 * ```
 */
export class CdpConnection {
  #transport: CdpTransport;
  #nextId = 1;
  #pending = new Map<number, Pending>();
  #listeners = new Map<string, Set<Listener>>();
  #closed = false;

  /** A connection over a transport. */
  constructor(transport: CdpTransport) {
    this.#transport = transport;
    transport.onMessage((text) => this.#receive(text));
    transport.closed.then(() => this.#fail("the browser connection closed"));
  }

  /** Whether the connection has closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Resolves when the connection closes. */
  get whenClosed(): Promise<void> {
    return this.#transport.closed;
  }

  /**
   * Send a command (to a session when `sessionId` is given) and await its result.
   *
   * @example
   * ```ts ignore
   * const { targetId } = await cdp.send("Target.createTarget", { url: "about:blank" });
   * ```
   */
  send(
    method: string,
    params: Record<string, unknown> = {},
    sessionId?: string,
  ): Promise<Record<string, unknown>> {
    if (this.#closed) {
      return Promise.reject(new CdpError(method, "the browser connection is closed", null));
    }
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { method, resolve, reject });
      const msg: Record<string, unknown> = { id, method, params };
      if (sessionId !== undefined) msg.sessionId = sessionId;
      try {
        this.#transport.send(JSON.stringify(msg));
      } catch (e) {
        this.#pending.delete(id);
        reject(new CdpError(method, `cannot send: ${(e as Error).message}`, null));
      }
    });
  }

  /**
   * Subscribe to an event (of one session when `sessionId` is given); returns the
   * unsubscribe function.
   *
   * @example
   * ```ts ignore
   * const off = cdp.on("Runtime.consoleAPICalled", (p) => console.log(p.type));
   * off();
   * ```
   */
  on(event: string, listener: Listener, sessionId?: string): () => void {
    const wrapped: Listener = sessionId === undefined
      ? listener
      : (p, s) => s === sessionId && listener(p, s);
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, set = new Set());
    set.add(wrapped);
    return () => set!.delete(wrapped);
  }

  /** Close the transport; pending commands reject. */
  close(): void {
    this.#fail("the browser connection was closed by the harness");
    this.#transport.close();
  }

  #receive(text: string): void {
    let msg: {
      id?: number;
      result?: Record<string, unknown>;
      error?: { code: number; message: string; data?: string };
      method?: string;
      params?: Record<string, unknown>;
      sessionId?: string;
    };
    try {
      msg = JSON.parse(text);
    } catch {
      return; // not a protocol message: ignored
    }
    if (typeof msg.id === "number") {
      const p = this.#pending.get(msg.id);
      if (!p) return;
      this.#pending.delete(msg.id);
      if (msg.error) {
        const data = msg.error.data ? ` (${msg.error.data})` : "";
        p.reject(new CdpError(p.method, `${msg.error.message}${data}`, msg.error.code));
      } else p.resolve(msg.result ?? {});
      return;
    }
    if (typeof msg.method === "string") {
      for (const l of this.#listeners.get(msg.method) ?? []) {
        // one listener's throw neither keeps the event from the others nor, unwinding into
        // the pipe's read loop, ends the connection (every command after it failed as "the
        // browser connection closed" with the browser alive): said, and the rest go on
        try {
          l(msg.params ?? {}, msg.sessionId);
        } catch (e) {
          console.error(
            `chromium runtime: a handler of the DevTools event ${msg.method} threw (ignored): ` +
              (e instanceof Error ? `${e.name}: ${e.message}` : String(e)),
          );
        }
      }
    }
  }

  #fail(why: string): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const p of this.#pending.values()) p.reject(new CdpError(p.method, why, null));
    this.#pending.clear();
  }
}

/**
 * The transport of `--remote-debugging-pipe`: NUL-terminated JSON written to `writable`
 * (Chromium's fd 3) and read from `readable` (Chromium's fd 4).
 *
 * @example
 * ```ts ignore
 * import { pipeTransport } from "./cdp.ts";
 * const t = pipeTransport(child.stdin, child.stdout); // fds mapped by browser/chromium.ts
 * ```
 */
export function pipeTransport(
  writable: WritableStream<Uint8Array>,
  readable: ReadableStream<Uint8Array>,
): CdpTransport {
  const writer = writable.getWriter();
  const enc = new TextEncoder();
  let receiver: (text: string) => void = () => {};
  let chain = Promise.resolve();
  const closed = (async () => {
    const dec = new TextDecoder();
    let buf = "";
    try {
      for await (const chunk of readable) {
        buf += dec.decode(chunk, { stream: true });
        let nul;
        while ((nul = buf.indexOf("\0")) >= 0) {
          const text = buf.slice(0, nul);
          buf = buf.slice(nul + 1);
          receiver(text);
        }
      }
    } catch {
      // the pipe broke: the browser is gone
    }
  })();
  return {
    send(text) {
      // writes are serialized: each message must reach the pipe whole, in order
      chain = chain.then(() => writer.write(enc.encode(text + "\0"))).catch(() => {});
    },
    onMessage(r) {
      receiver = r;
    },
    closed,
    close() {
      writer.close().catch(() => {});
    },
  };
}

/**
 * The transport of `--remote-debugging-port`: Deno's built-in WebSocket.
 *
 * @example
 * ```ts ignore
 * import { webSocketTransport } from "./cdp.ts";
 * const t = await webSocketTransport("ws://127.0.0.1:40123/devtools/browser/0c1f...");
 * ```
 */
export function webSocketTransport(url: string): Promise<CdpTransport> {
  const ws = new WebSocket(url);
  let receiver: (text: string) => void = () => {};
  const closed = new Promise<void>((res) => ws.addEventListener("close", () => res()));
  ws.addEventListener("message", (e) => {
    if (typeof e.data === "string") receiver(e.data);
  });
  return new Promise((resolve, reject) => {
    ws.addEventListener("open", () =>
      resolve({
        send: (text) => ws.send(text),
        onMessage: (r) => receiver = r,
        closed,
        close: () => ws.close(),
      }), { once: true });
    ws.addEventListener(
      "error",
      () => reject(new CdpError("connect", `cannot open the DevTools WebSocket ${url}`, null)),
      { once: true },
    );
  });
}
