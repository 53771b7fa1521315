/**
 * Finding and launching headless Chromium, tied to the harness's life.
 *
 * - Discovery: `--chromium <path>`, then `$CHROME_PATH`, then the Debian default
 *   `/usr/bin/chromium-headless-shell`; none: {@link ChromiumNotFoundError} (exit 3)
 *   with the install command.
 * - Launch: CDP over `--remote-debugging-pipe` (default) or over the WebSocket of
 *   `--remote-debugging-port=0`. Chromium cannot outlive the harness, whatever ends it,
 *   SIGKILL included: it always gets `--remote-debugging-pipe`, reading its fd 3 from a
 *   pipe whose write end only the harness holds. When the harness dies the kernel closes
 *   that end, Chromium reads EOF and shuts down (a closed debugging pipe ends the browser,
 *   by design), children included; the shell that launched it then removes its temporary
 *   profile. tests/browser_lifetime_test.ts checks SIGINT, SIGTERM and SIGKILL.
 *
 * @module
 */
import { CdpConnection, pipeTransport, webSocketTransport } from "./cdp.ts";

/** Where Debian's `chromium-headless-shell` package installs the browser. */
export const DEBIAN_CHROMIUM_PATH = "/usr/bin/chromium-headless-shell";

/** The command that installs the browser on Debian/Ubuntu. */
export const CHROMIUM_INSTALL_COMMAND = "apt-get install -y chromium-headless-shell";

/** No Chromium found (the CLI maps it to exit 3: infrastructure). */
export class ChromiumNotFoundError extends Error {
  /** Builds the error. */
  constructor(message: string) {
    super(message);
    this.name = "ChromiumNotFoundError";
  }
}

/**
 * `--chromium` (or `$CHROME_PATH`) names a file that cannot be run: bad input, which the CLI
 * maps to exit 2, found before any launch is tried.
 */
export class ChromiumPathError extends Error {
  /** Builds the error. */
  constructor(message: string) {
    super(message);
    this.name = "ChromiumPathError";
  }
}

/** The browser did not start or stopped answering. */
export class ChromiumLaunchError extends Error {
  /** Builds the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ChromiumLaunchError";
  }
}

/**
 * A step of the Chromium runtime outside a case (start-up, a re-acquire after a device loss,
 * a compile, a device measurement) did not finish within its time limit: the browser was
 * killed and its profile removed. The CLI maps it to exit 3 (infrastructure).
 */
export class ChromiumTimeoutError extends Error {
  /** The step that was running when the limit ran out, e.g. "mlaHarness.init()". */
  readonly step: string;
  /** The limit, in milliseconds. */
  readonly limitMs: number;
  /** Builds the error. */
  constructor(message: string, step: string, limitMs: number) {
    super(message);
    this.name = "ChromiumTimeoutError";
    this.step = step;
    this.limitMs = limitMs;
  }
}

/**
 * The browser ended while the harness was using it (killed, crashed, out of memory): the
 * case it was running is an error naming how it ended, and the device counts as lost.
 */
export class ChromiumExitedError extends Error {
  /** Builds the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ChromiumExitedError";
  }
}

/** What {@link findChromium} reads; injectable for tests. */
export interface ChromiumProbe {
  /** Environment variable, undefined when unset or not permitted. */
  readonly env: (name: string) => string | undefined;
  /** Whether a path is an existing file. */
  readonly isFile: (path: string) => boolean;
  /** Whether an existing file may be executed (absent: every file may). */
  readonly isExecutable?: (path: string) => boolean;
  /** Whether a path is an existing folder (absent: never). */
  readonly isDirectory?: (path: string) => boolean;
}

/** The browser found, and which rule found it. */
export interface ChromiumLocation {
  /** Executable path. */
  readonly path: string;
  /** `flag` (--chromium), `env` ($CHROME_PATH) or `default` (Debian's path). */
  readonly source: "flag" | "env" | "default";
}

/**
 * The probe of this process (anything not permitted counts as absent).
 *
 * @example
 * ```ts
 * import { systemChromiumProbe } from "./chromium.ts";
 * systemChromiumProbe().isFile("/no/such/file"); // false
 * ```
 */
export function systemChromiumProbe(): ChromiumProbe {
  const granted = (d: Deno.PermissionDescriptor) => {
    try {
      return Deno.permissions.querySync(d).state === "granted";
    } catch {
      return false;
    }
  };
  return {
    env: (name) => granted({ name: "env", variable: name }) ? Deno.env.get(name) : undefined,
    isFile: (path) => {
      try {
        return Deno.statSync(path).isFile;
      } catch {
        return false;
      }
    },
    isDirectory: (path) => {
      try {
        return Deno.statSync(path).isDirectory;
      } catch {
        return false;
      }
    },
    // an execute bit for anyone (Deno has no access(2)); no mode (Windows): executable
    isExecutable: (path) => {
      try {
        const mode = Deno.statSync(path).mode;
        return mode === null || (mode & 0o111) !== 0;
      } catch {
        return false;
      }
    },
  };
}

/**
 * Find the browser: `flag` (the `--chromium` value), then `$CHROME_PATH`, then
 * {@link DEBIAN_CHROMIUM_PATH}. A flag or variable naming a missing file is an error
 * naming it (never silently skipped); nothing found is an error with the install command;
 * a flag or variable naming a folder, or a file that is not executable, is a
 * {@link ChromiumPathError} naming it (exit 2: bad input, not a missing browser), before any
 * launch.
 *
 * @example
 * ```ts
 * import { findChromium } from "./chromium.ts";
 * const where = findChromium(undefined, { env: () => undefined, isFile: () => true });
 * where.path; // "/usr/bin/chromium-headless-shell"
 * ```
 */
export function findChromium(
  flag: string | undefined,
  probe: ChromiumProbe = systemChromiumProbe(),
): ChromiumLocation {
  const hint = `install it with \`${CHROMIUM_INSTALL_COMMAND}\`, or pass --chromium <path> ` +
    "or set CHROME_PATH to a Chromium or Chrome executable";
  const notExecutable = (named: string) =>
    new ChromiumPathError(
      `${named}: not executable (the file has no execute permission); name the Chromium or ` +
        "Chrome executable, or make this file executable (chmod +x)",
    );
  const folder = (named: string) =>
    new ChromiumPathError(
      `${named}: is a folder, not a file; name the Chromium or Chrome executable (e.g. ` +
        `${DEBIAN_CHROMIUM_PATH}, or the chrome file inside this folder)`,
    );
  // A bare name (`--chromium chromium-headless-shell`, `CHROME_PATH=google-chrome`) is a file
  // in this folder, not looked up on PATH: told only to install what was installed, a reader
  // could not see why; the message says a path is wanted, and how to get it.
  const missing = (named: string, value: string) =>
    new ChromiumNotFoundError(
      value.includes("/")
        ? `${named}: no such file; ${hint}`
        : `${named}: no such file in this folder; --chromium and CHROME_PATH take the ` +
          `executable's path, not a command name looked up on PATH: give ` +
          `"$(command -v ${value})" where it is installed; else ${hint}`,
    );
  if (flag !== undefined && flag.trim() !== "") {
    if (probe.isDirectory?.(flag)) throw folder(`--chromium ${flag}`);
    if (!probe.isFile(flag)) throw missing(`--chromium ${flag}`, flag);
    if (probe.isExecutable?.(flag) === false) throw notExecutable(`--chromium ${flag}`);
    return { path: flag, source: "flag" };
  }
  const env = probe.env("CHROME_PATH")?.trim();
  if (env) {
    if (probe.isDirectory?.(env)) throw folder(`CHROME_PATH=${env}`);
    if (!probe.isFile(env)) throw missing(`CHROME_PATH=${env}`, env);
    if (probe.isExecutable?.(env) === false) throw notExecutable(`CHROME_PATH=${env}`);
    return { path: env, source: "env" };
  }
  if (probe.isFile(DEBIAN_CHROMIUM_PATH)) return { path: DEBIAN_CHROMIUM_PATH, source: "default" };
  throw new ChromiumNotFoundError(
    `no Chromium found (no --chromium, CHROME_PATH unset, ${DEBIAN_CHROMIUM_PATH} absent); ${hint}`,
  );
}

/**
 * How a browser's path was named, for messages: `--chromium <path>`, `CHROME_PATH=<path>`, or
 * the path and that it is the default.
 *
 * @example
 * ```ts
 * import { namedChromium } from "./chromium.ts";
 * namedChromium({ path: "/bin/ls", source: "flag" }); // "--chromium /bin/ls"
 * ```
 */
export function namedChromium(where: ChromiumLocation): string {
  return where.source === "flag"
    ? `--chromium ${where.path}`
    : where.source === "env"
    ? `CHROME_PATH=${where.path}`
    : `${where.path} (the default: no --chromium, CHROME_PATH unset)`;
}

/**
 * What a path that did not start as Chromium must be, and where to change it: the flag or
 * variable that named it, or (the default) the package to reinstall.
 */
function notChromiumHint(where: ChromiumLocation): string {
  const valid = "a Chromium or Chrome executable that the harness starts headless and drives " +
    `over the DevTools protocol (e.g. Debian's ${DEBIAN_CHROMIUM_PATH}: ` +
    `\`${CHROMIUM_INSTALL_COMMAND}\`, or a Chrome/Chromium \`chrome\` binary)`;
  return where.source === "flag"
    ? `--chromium must name ${valid}`
    : where.source === "env"
    ? `CHROME_PATH must name ${valid}; fix it, or unset it for the default`
    : `the default path must be ${valid}; reinstall it, or pass --chromium <path> or set ` +
      "CHROME_PATH";
}

/**
 * Flags every launch uses: headless, no sandbox (containers, root), WebGPU on (Chromium's
 * software adapter, SwiftShader, when there is no GPU) with the adapter's info, and
 * nothing that talks to the network or writes outside the temporary profile.
 */
export const CHROMIUM_FLAGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--enable-unsafe-webgpu",
  "--enable-webgpu-developer-features",
  "--no-first-run",
  "--no-default-browser-check",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-extensions",
  "--mute-audio",
];

/** Temporary profiles are `<tmp>/mla-harness-chromium-<harness pid>-<random>`. */
const PROFILE_PREFIX = "mla-harness-chromium-";

/** Options of {@link launchChromium}. */
export interface LaunchChromiumOptions {
  /** `pipe` (default): --remote-debugging-pipe; `port`: --remote-debugging-port=0. */
  transport?: "pipe" | "port";
  /** More flags (after {@link CHROMIUM_FLAGS}). */
  args?: readonly string[];
  /** Extra environment of the browser process. */
  env?: Record<string, string>;
  /** Milliseconds to wait for the browser to answer (default 30000). */
  startTimeoutMs?: number;
  /**
   * Where the path came from (findChromium's answer): a failed launch names the flag or
   * variable that named it and what it must be. Absent: the path alone.
   */
  location?: ChromiumLocation;
}

/**
 * A running browser: its CDP connection, its process id, its version line, and `close()`,
 * which ends it and removes its temporary profile.
 */
export class Chromium {
  /** The browser-level CDP connection. */
  readonly cdp: CdpConnection;
  /** The launched process: the shell whose child Chromium is (it removes the profile). */
  readonly process: Deno.ChildProcess;
  /** Its executable. */
  readonly path: string;
  /** `Browser.getVersion`'s product, e.g. "HeadlessChrome/156.0.8078.114". */
  version = "";
  /** The last lines of the browser's stderr (for error messages). */
  readonly stderrTail: readonly string[];
  readonly #profile: string;
  readonly #stderrLines: () => number;
  #startedAt = 0;
  #closing: Promise<void> | null = null;

  /** Use {@link launchChromium}. */
  constructor(
    cdp: CdpConnection,
    process: Deno.ChildProcess,
    options: {
      path: string;
      profile: string;
      stderrTail: readonly string[];
      /** Lines read from its stderr so far (the tail keeps the last 20); the tail's length when absent. */
      stderrLines?: () => number;
    },
  ) {
    this.cdp = cdp;
    this.process = process;
    this.path = options.path;
    this.#profile = options.profile;
    this.stderrTail = options.stderrTail;
    this.#stderrLines = options.stderrLines ?? (() => options.stderrTail.length);
  }

  /**
   * Mark the browser started (its page and device ready): {@link stderrSinceStart} leaves
   * out what it printed before (dbus, sandbox and GPU-probe warnings of every start-up).
   */
  markStarted(): void {
    this.#startedAt = this.#stderrLines();
  }

  /**
   * The non-blank lines of its stderr since {@link markStarted} (all of the tail before it),
   * the launching shell's "Killed" (its word for a browser killed by a signal, which the
   * exit status already says) left out.
   *
   * @example
   * ```ts ignore
   * browser.stderrSinceStart().slice(-3); // [] for a browser killed quietly
   * ```
   */
  stderrSinceStart(): string[] {
    const fresh = this.#stderrLines() - this.#startedAt;
    const tail = this.stderrTail;
    return tail.slice(Math.max(0, tail.length - fresh))
      .filter((l) => l.trim() !== "" && l.trim() !== "Killed");
  }

  /** The launching shell's process id (Chromium is its child). */
  get pid(): number {
    return this.process.pid;
  }

  /**
   * End the browser (Browser.close; after 5 s its whole process session is killed) and
   * remove its profile.
   *
   * @example
   * ```ts ignore
   * const browser = await launchChromium("/usr/bin/chromium-headless-shell");
   * await browser.close();
   * ```
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const status = this.process.status;
      if (!this.cdp.closed) {
        await Promise.race([
          this.cdp.send("Browser.close").catch(() => {}),
          new Promise((r) => setTimeout(r, 2000)),
        ]);
      }
      this.cdp.close();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const killed = new Promise<void>((res) => {
        timer = setTimeout(() => {
          // the launching shell kills the browser's whole session, then exits
          try {
            this.process.kill("SIGUSR1");
          } catch {
            // already gone
          }
          res();
        }, 5000);
      });
      await Promise.race([status, killed]);
      clearTimeout(timer);
      const last = setTimeout(() => {
        try {
          this.process.kill("SIGKILL");
        } catch {
          // already gone
        }
      }, 5000);
      await status.catch(() => {});
      clearTimeout(last);
      await Deno.remove(this.#profile, { recursive: true }).catch(() => {});
    })();
    return this.#closing;
  }
}

/**
 * Launch headless Chromium and connect to it over CDP. Throws a
 * {@link ChromiumLaunchError} (with the end of its stderr) when it does not answer.
 *
 * @example
 * ```ts ignore
 * import { findChromium, launchChromium } from "./chromium.ts";
 * const browser = await launchChromium(findChromium(undefined).path);
 * console.log(browser.version);
 * await browser.close();
 * ```
 */
export async function launchChromium(
  path: string,
  options: LaunchChromiumOptions = {},
): Promise<Chromium> {
  const transport = options.transport ?? "pipe";
  const named = options.location ? namedChromium(options.location) : path;
  const hint = options.location ? `; ${notChromiumHint(options.location)}` : "";
  const profile = await Deno.makeTempDir({ prefix: `${PROFILE_PREFIX}${Deno.pid}-` });
  const flags = [
    ...CHROMIUM_FLAGS,
    `--user-data-dir=${profile}`,
    transport === "pipe" ? "--remote-debugging-pipe" : "--remote-debugging-port=0",
    ...(options.args ?? []),
    "about:blank",
  ];
  // fd 3 = our stdin pipe: commands in (pipe mode), and in both modes the browser's
  // lifeline: only this process holds the write end, so when it dies (SIGKILL included)
  // Chromium reads EOF there and shuts down. fd 4 = our stdout pipe: replies out (pipe
  // mode); in port mode nothing is sent on the pipe, so nothing comes back there.
  // (Killing a pid would not do: /usr/bin/chromium-headless-shell is a wrapper script.)
  // The shell starts Chromium and, once it has ended (however: Browser.close, or EOF on
  // fd 3 because the harness died), kills whatever is left of its session (a hung renderer
  // or GPU process that the browser's exit did not end), removes its profile and exits with
  // the browser's status. SIGUSR1 (close() of a browser that does not end) kills the whole
  // session at once. It ignores INT/TERM/HUP so that a signal to the harness's process group
  // cannot skip that. setsid: Chromium gets a session (and process group) of its own, so a
  // Ctrl-C at the terminal (SIGINT to the foreground group) reaches the harness, which
  // finishes its case, and not the browser. A watchdog beside the browser checks each second
  // that the harness is alive and, once it is gone, ends the browser as SIGUSR1 does: a
  // program that never reads fd 3 (hung before it answers, or not Chromium) sees no EOF
  // there, and lived on with its profile. fd 3 goes through fd 5: an `&` command's stdin
  // is /dev/null in a shell without job control.
  const script = 'p="$0"; trap "" INT TERM HUP; ' +
    // Profiles a killed run left: a harness killed with its whole process group (SIGKILL to
    // the group, as a CI job's timeout sends) takes this shell with it, and its browser, in a
    // session of its own, ends on the pipe's EOF with no one left to remove its profile (about
    // 5 MB a run, kept until a reboot). Each is named after its harness's pid: one whose
    // harness is gone is removed here (a live one's, or another user's, stays).
    'for o in "${p%/*}"/' + PROFILE_PREFIX + "*; do " +
    '[ -d "$o" ] || continue; q="${o##*/' + PROFILE_PREFIX + '}"; q="${q%%-*}"; ' +
    'case "$q" in ""|*[!0-9]*) continue;; esac; ' +
    'kill -0 "$q" 2>/dev/null || rm -rf "$o" 2>/dev/null; done; ' +
    "command -v setsid >/dev/null 2>&1 && s=setsid || s=; exec 5<&0; " +
    '$s "$@" 3<&5 4>&1 5<&- 0</dev/null 1>/dev/null & c=$!; exec 5<&-; ' +
    'end() { if [ -n "$s" ]; then kill -KILL "-$c" 2>/dev/null; else kill -KILL "$c" 2>/dev/null; fi; }; ' +
    "trap end USR1; " +
    // the watchdog: a program that never reads the debugging pipe (one hung before it
    // answers, or not Chromium) outlived a harness stopped while it waited, with its profile.
    // SIGPIPE ignored (here, not in the browser): with the harness gone, the shell's own
    // "Killed" on its stderr pipe ended it before it removed the profile
    'trap "" PIPE; ' +
    // (it ends too once the shell is gone: killed by close() after its 5 s, say)
    'h=$PPID; ( while kill -0 "$h" 2>/dev/null && kill -0 $$ 2>/dev/null; do sleep 1; done; ' +
    "kill -USR1 $$ 2>/dev/null ) " +
    "0</dev/null 1>/dev/null 2>&1 & w=$!; " +
    'while :; do wait "$c"; st=$?; kill -0 "$c" 2>/dev/null || break; done; ' +
    'kill -KILL "$w" 2>/dev/null; ' +
    '[ -n "$s" ] && kill -KILL "-$c" 2>/dev/null; rm -rf "$p"; exit $st';
  if (transport === "port") flags.push("--remote-debugging-pipe");
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("sh", {
      args: ["-c", script, profile, path, ...flags],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: options.env,
    }).spawn();
  } catch (e) {
    await Deno.remove(profile, { recursive: true }).catch(() => {});
    throw new ChromiumLaunchError(`cannot start ${named}: ${(e as Error).message}${hint}`, {
      cause: e,
    });
  }
  const tail: string[] = [];
  let stderrCount = 0;
  let wsUrl: (url: string) => void = () => {};
  const wsUrlSeen = new Promise<string>((res) => wsUrl = res);
  (async () => {
    const dec = new TextDecoder();
    let buf = "";
    try {
      for await (const chunk of child.stderr) {
        buf += dec.decode(chunk, { stream: true });
        const lines = buf.split("\n");
        buf = lines.pop()!;
        for (const line of lines) {
          const m = /DevTools listening on (ws:\/\/\S+)/.exec(line);
          if (m) wsUrl(m[1]);
          tail.push(line);
          stderrCount++;
          if (tail.length > 20) tail.shift();
        }
      }
    } catch {
      // stderr closed
    }
  })();
  const fail = async (why: string): Promise<never> => {
    // SIGUSR1: the launching shell kills the whole session of what it started (a program
    // that is not Chromium ignores the debugging pipe's EOF); SIGKILL if it does not exit
    try {
      child.kill("SIGUSR1");
    } catch {
      // gone
    }
    const last = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch {
        // gone
      }
    }, 1000);
    await child.status.catch(() => {});
    clearTimeout(last);
    await Deno.remove(profile, { recursive: true }).catch(() => {});
    // ("Killed": the launching shell's word for what the kill above ended)
    const err = tail.filter((l) => l.trim() !== "" && l.trim() !== "Killed").slice(-5)
      .join(" | ");
    throw new ChromiumLaunchError(
      `${named}: ${why}${err ? `; its stderr: ${err}` : ""}${hint}`,
    );
  };
  const timeoutMs = options.startTimeoutMs ?? 30000;
  let cdp: CdpConnection;
  if (transport === "pipe") {
    cdp = new CdpConnection(pipeTransport(child.stdin, child.stdout));
  } else {
    // drain fd 4 (nothing should come) so the browser never blocks on it
    (async () => {
      for await (const _ of child.stdout) { /* discarded */ }
    })().catch(() => {});
    const url = await Promise.race([
      wsUrlSeen,
      child.status.then(() => null),
      new Promise<null>((r) => setTimeout(() => r(null), timeoutMs)),
    ]);
    if (url === null) return await fail("did not start as Chromium: printed no DevTools URL");
    try {
      cdp = new CdpConnection(await webSocketTransport(url));
    } catch (e) {
      return await fail((e as Error).message);
    }
  }
  const browser = new Chromium(cdp, child, {
    path,
    profile,
    stderrTail: tail,
    stderrLines: () => stderrCount,
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const version = await Promise.race([
      cdp.send("Browser.getVersion"),
      child.status.then((s) => {
        throw new Error(
          `did not start as Chromium: it exited (code ${s.code}) before answering the ` +
            "DevTools protocol",
        );
      }),
      new Promise<never>((_, rej) =>
        timer = setTimeout(
          () =>
            rej(
              new Error(
                `did not start as Chromium: no answer over the DevTools protocol within ` +
                  `${timeoutMs / 1000} s (it was killed)`,
              ),
            ),
          timeoutMs,
        )
      ),
    ]);
    browser.version = String(version.product ?? "");
  } catch (e) {
    cdp.close();
    // A program that exits at once (`--chromium /bin/ls`) closes its end of the pipe before
    // its exit status arrives, so the send may fail first ("the browser connection closed"):
    // give the status a moment, and say the exit where it came.
    const message = (e as Error).message;
    if (!message.startsWith("did not start as Chromium")) {
      let wait: ReturnType<typeof setTimeout> | undefined;
      const exited = await Promise.race([
        child.status.then((s) => s.code),
        new Promise<null>((res) => wait = setTimeout(() => res(null), 2000)),
      ]);
      clearTimeout(wait);
      if (exited !== null) {
        return await fail(
          `did not start as Chromium: it exited (code ${exited}) before answering the ` +
            "DevTools protocol",
        );
      }
    }
    return await fail((e as Error).message);
  } finally {
    clearTimeout(timer);
  }
  return browser;
}
