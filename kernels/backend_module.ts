/**
 * Backend modules (docs/backends.md): the contract a user's backend module
 * satisfies, its check on load, and its registration for the run. A module
 * exports `contractVersion`, `id`, `description`, `path`, the GPU-free support
 * predicate `check` and the launcher `launch`; optionally `files`, the paths of its
 * WGSL sources (relative to the module), which are hashed into the run's
 * fingerprint so drift attribution can name them. The bundled `wgsl-absorbed` and
 * `wgsl-expanded` satisfy the same contract (kernels/bundled_modules.ts).
 *
 * @module
 */
import { probeBackend, readOnlyCopy, WROTE_READ_ONLY } from "../adapter/backend_answer.ts";
import type { Backend, SupportAnswer, SupportQuery } from "../adapter/backends.ts";
import { ConfigError, type ConfigIssue } from "../adapter/errors.ts";
import {
  backendById,
  backendIdProblem,
  backendModuleOf,
  isBundledBackend,
  registerBackend,
} from "../adapter/registry.ts";
import type { AttentionPath } from "../adapter/types.ts";
import { type AttentionLauncher, BACKEND_CONTRACT_VERSION, registerLauncher } from "./launch.ts";
import { checkModuleSources, type ModuleBarrierCheck } from "./module_barriers.ts";
import { sha256Hex16 } from "../util/hash.ts";
import { closeName } from "../util/edit_distance.ts";
import { throwSite } from "../util/error_site.ts";

/** What a backend module exports (contract version {@link BACKEND_CONTRACT_VERSION}). */
export interface BackendModule {
  /** The contract version the module was written against. */
  readonly contractVersion: number;
  /** Its backend id (lower case, `[a-z][a-z0-9._-]*`). */
  readonly id: string;
  /** One line for `explain`. */
  readonly description: string;
  /** The attention path it computes ("absorbed" or "expanded"). */
  readonly path: AttentionPath;
  /** GPU-free support predicate: every failing reason, or the variant and buffers. */
  check(query: SupportQuery): SupportAnswer;
  /** The launcher: encodes the plan's attention from the standard buffers. */
  readonly launch: AttentionLauncher;
  /** Its WGSL sources, relative to the module (hashed into the fingerprint). */
  readonly files?: readonly string[];
}

/** A module that was loaded, with the hashes of its sources. */
export interface LoadedBackendModule {
  /** The checked module. */
  readonly module: BackendModule;
  /** Where it came from (path or URL, as given). */
  readonly specifier: string;
  /** Its resolved URL (file: for a path). */
  readonly url: string;
  /** SHA-256 (first 16 hex digits) of the module file and each declared file, by name. */
  readonly hashes: Readonly<Record<string, string>>;
  /** The static barrier check of the `.wgsl` files it declares (kernels/module_barriers.ts). */
  readonly barriers: ModuleBarrierCheck;
}

type JsType = "number" | "string" | "function";

const TYPES: Record<string, JsType> = {
  contractVersion: "number",
  id: "string",
  description: "string",
  path: "string",
  check: "function",
  launch: "function",
};

function jsType(v: unknown): string {
  return typeof v;
}

/** A stand-in for the module's folder: `files` must resolve below it. */
const MODULE_DIR = "file:///module/dir/";

/**
 * What is wrong with one `files` entry, or null: a plain path relative to the module,
 * naming a file next to it or below it (the fingerprint hashes it and `--runtime
 * chromium`'s page server serves it): not absolute, not a URL, no `.` or `..` segment.
 */
function fileProblem(f: string): string | null {
  const where = "must be a file next to the module or below it, as a plain relative path " +
    '(e.g. "kernel.wgsl" or "wgsl/kernel.wgsl"; not absolute, not a URL, no "." or ".." ' +
    "segments)";
  if (f === "" || /[?#\\\0]/.test(f) || /^[a-z][a-z0-9+.-]*:/i.test(f)) return where;
  // One name per file, as the page server serves it: no "", "." or ".." segments.
  const segments = f.split("/").map((s) => s.replace(/%2e/gi, "."));
  if (segments.some((s) => s === "" || s === "." || s === "..")) return where;
  let url: URL;
  try {
    url = new URL(f, `${MODULE_DIR}mod.ts`);
  } catch {
    return where;
  }
  return url.href.startsWith(MODULE_DIR) ? null : where;
}

/**
 * Why a contract export `name` the module lacks may be missing, or "": an export that
 * misspells it (`checks`, `ID`), or a default export object holding it (the harness reads
 * named exports only, and said "must be exported" of a module that had them all in its default).
 */
function missingExportHint(name: string, others: readonly string[], fallback: unknown): string {
  const near = others.find((k) =>
    k.toLowerCase() === name.toLowerCase() || closeName(k, [name]) === name
  );
  if (near !== undefined) return `; the module exports "${near}": is that it, misspelled?`;
  if (
    typeof fallback === "object" && fallback !== null &&
    (fallback as Record<string, unknown>)[name] !== undefined
  ) {
    const how = TYPES[name] === "function"
      ? `export function ${name}(...)`
      : `export const ${name} = ...`;
    return `; the module's default export has "${name}", but the harness reads named ` +
      `exports only: export it by name (\`${how}\`)`;
  }
  return "";
}

/**
 * Check a module namespace against the contract; every problem is one issue of a
 * ConfigError (exit 2 in the CLI) naming the export.
 *
 * @example
 * ```ts
 * import { validateBackendModule } from "./backend_module.ts";
 * try { validateBackendModule({ id: "x" }, "x.ts"); } catch (e) { (e as Error).message; }
 * // "x.ts: not a backend module\n  contractVersion: (missing) must be exported ..."
 * ```
 */
export function validateBackendModule(ns: Record<string, unknown>, source: string): BackendModule {
  const issues: ConfigIssue[] = [];
  const others = Object.keys(ns).filter((k) => !(k in TYPES) && k !== "files" && k !== "default");
  const fallback = ns.default;
  for (const [name, type] of Object.entries(TYPES)) {
    const v = ns[name];
    if (v === undefined) {
      issues.push({
        path: name,
        value: undefined,
        message: `must be exported (a ${type}; see docs/backends.md)` +
          missingExportHint(name, others, fallback),
      });
    } else if (jsType(v) !== type) {
      // the value as found (a function shown as its kind: its source says nothing here)
      issues.push({
        path: name,
        value: typeof v === "function" ? "(a function)" : v,
        message: `must be a ${type}, found a ${typeof v}`,
      });
    }
  }
  if (
    typeof ns.contractVersion === "number" && ns.contractVersion !== BACKEND_CONTRACT_VERSION
  ) {
    issues.push({
      path: "contractVersion",
      value: ns.contractVersion,
      message: `is not supported: this harness implements backend contract version ` +
        `${BACKEND_CONTRACT_VERSION} (docs/backends.md says what changed between versions)`,
    });
  }
  if (typeof ns.path === "string" && ns.path !== "absorbed" && ns.path !== "expanded") {
    issues.push({ path: "path", value: ns.path, message: 'must be "absorbed" or "expanded"' });
  }
  if (typeof ns.description === "string" && !/^[^\r\n]*\S[^\r\n]*$/.test(ns.description)) {
    // explain prints it after the id on one line: "" printed nothing there, and a line
    // break started lines of explain's output that were not explain's
    issues.push({
      path: "description",
      value: ns.description,
      message: "must be one line of text (not empty, no line break): explain prints it " +
        "after the backend id",
    });
  }
  if (typeof ns.id === "string") {
    const problem = backendIdProblem(ns.id);
    if (problem !== null) issues.push({ path: "id", value: ns.id, message: problem });
  }
  if (
    ns.files !== undefined &&
    (!Array.isArray(ns.files) || ns.files.some((f) => typeof f !== "string"))
  ) {
    issues.push({ path: "files", value: ns.files, message: "must be an array of paths" });
  } else if (Array.isArray(ns.files)) {
    ns.files.forEach((f: string, i) => {
      const problem = fileProblem(f);
      if (problem !== null) issues.push({ path: `files[${i}]`, value: f, message: problem });
    });
  }
  if (issues.length) throw new ConfigError(source, issues, "not a backend module");
  return ns as unknown as BackendModule;
}

/**
 * Register a checked module for this process: its support predicate joins the
 * adapter's registry (a GPU backend; `module`, its path or URL, is named by errors about
 * its answers), its launcher the GPU registry.
 *
 * @example
 * ```ts ignore
 * registerBackendModule(validateBackendModule(await import("./naive.ts"), "naive.ts"));
 * ```
 */
export function registerBackendModule(m: BackendModule, module?: string): void {
  const backend = backendOf(m);
  registerBackend(backend, { module });
  registerLauncher(m.id, launchNamingOrigin(m, module));
}

/**
 * The module's launcher, whose errors say where they came from: the backend, its module
 * and the frame that threw (a user kernel's TypeError otherwise reads like the harness's).
 * An Error keeps its class (callers tell device loss and timeouts apart by it); a thrown
 * value that is not one becomes an Error saying what was thrown.
 */
function launchNamingOrigin(m: BackendModule, module: string | undefined) {
  const origin = `backend ${m.id}${module === undefined ? "" : ` (module ${module})`}: launch() ` +
    "threw";
  return async (...[plan, buffers, kit]: Parameters<BackendModule["launch"]>): Promise<void> => {
    try {
      // a frozen copy: a launch that sorted plan.layout.seqs (after encoding its passes
      // right) reordered the layout the harness reads the outputs back by, and the case
      // failed parity as if its kernel were wrong
      await m.launch(readOnlyCopy(plan), buffers, kit);
    } catch (e) {
      if (!(e instanceof Error)) {
        throw new Error(`${origin} ${shownThrown(e)}, not an Error`, { cause: e });
      }
      const readOnly = e instanceof TypeError && WROTE_READ_ONLY.test(e.message)
        ? " (the plan is read-only: launch() must not change it; copy what it sorts or edits)"
        : "";
      const message = `${origin}: ${e.message}${readOnly}${moduleSite(e) ?? throwSite(e)}`;
      try {
        // defineProperty, not assignment: a DOMException (what WebGPU rejects with) has
        // message as a getter only, and assigning to it throws in strict mode
        Object.defineProperty(e, "message", { value: message, configurable: true, writable: true });
      } catch {
        throw new Error(message, { cause: e }); // a frozen error: its class cannot be kept
      }
      throw e;
    }
  };
}

/**
 * How the error of a user launcher begins ({@link launchNamingOrigin}; kernels/attention.ts's
 * for a launch() that encoded no pass or whose passes WebGPU refused), here or in a page.
 */
const USER_LAUNCH_ORIGIN =
  /^backend [a-z][a-z0-9._-]*(?: \(module .*?\))?: (?:launch\(\) (?:threw|encoded no pass)|what its launch\(\) encoded was refused by WebGPU)/;

/**
 * Whether `e` is the error of a user backend's `launch()` (its message names the backend,
 * the module and where it threw; a page's error arrives with the same message), or WebGPU's
 * refusal of what it encoded (kernels/attention.ts): the user's kernel failed, not the
 * harness.
 *
 * @example
 * ```ts
 * import { isUserLaunchError } from "./backend_module.ts";
 * isUserLaunchError(new RangeError("backend naive (module m.ts): launch() threw: no buffer")); // true
 * isUserLaunchError(new RangeError("no buffer")); // false
 * ```
 */
export function isUserLaunchError(e: unknown): boolean {
  return e instanceof Error && USER_LAUNCH_ORIGIN.test(e.message);
}

function shownThrown(v: unknown): string {
  if (v === undefined || v === null) return String(v);
  if (typeof v === "string") return `the string ${JSON.stringify(v)}`;
  try {
    return `${typeof v} ${JSON.stringify(v) ?? String(v)}`;
  } catch {
    return typeof v;
  }
}

function backendOf(m: BackendModule): Backend {
  return {
    id: m.id,
    description: m.description,
    path: m.path,
    runsOn: "gpu",
    check: (q) => m.check(q),
  };
}

const loaded = new Map<string, LoadedBackendModule>();

/** What a module given by URL needs that `deno task harness` does not grant. */
const URL_MODULE_HELP = "loading a module by URL needs Deno's import and net permissions " +
  "beyond those `deno task harness` grants: download the module (and the files it lists) " +
  "and give its path, or run the harness with `deno run -A main.ts ...`";

/** How long a module may take to load (its top-level code and imports): 60 s. */
export const MODULE_LOAD_TIMEOUT_MS = 60_000;

class ModuleLoadTimeout extends Error {
  constructor(ms: number) {
    super(`module load timed out after ${ms} ms`);
  }
}

function toUrl(specifier: string): URL {
  const cwd = Deno.cwd().replace(/\/?$/, "/");
  const url = /^(https?|file):/.test(specifier)
    ? new URL(specifier)
    : new URL(specifier, new URL(`file://${cwd}`));
  // One file, one name: "/tmp/m//good.ts" is "/tmp/m/good.ts".
  if (url.protocol === "file:") url.pathname = url.pathname.replace(/\/{2,}/g, "/");
  return url;
}

/** The key a module is loaded once under: its real path for a local file (links resolved). */
async function moduleKey(url: URL): Promise<string> {
  if (url.protocol !== "file:") return url.href;
  try {
    return new URL(`file://${await Deno.realPath(url)}`).href;
  } catch {
    return url.href; // missing: the import says so
  }
}

async function readBytes(url: URL, signal?: AbortSignal): Promise<Uint8Array<ArrayBuffer>> {
  if (url.protocol === "file:") return await Deno.readFile(url);
  const r = await fetch(url, { signal });
  if (!r.ok) throw new Error(`${url.href}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

/** The import and host permission a URL's import needs (the default port spelled out). */
function importHost(url: URL): string {
  return `${url.hostname}:${url.port || (url.protocol === "https:" ? "443" : "80")}`;
}

/**
 * A module by URL, fetched to hash it: its hash, and the URL to import it under (the URL with
 * a query naming the hash, which Deno's cache has not seen unless it holds these bytes).
 * Without import or net permission, or when the fetch fails, a ConfigError saying what to do.
 */
async function fetchRemoteModule(
  url: URL,
  specifier: string,
  limitMs: number,
): Promise<{ hash: string; importHref: string }> {
  const refuse = (message: string) =>
    new ConfigError(
      specifier,
      [{ path: "(module)", value: url.href, message }],
      "not a backend module",
    );
  const permission = await Deno.permissions.query({ name: "import", host: importHost(url) });
  if (permission.state !== "granted") throw refuse(`could not be loaded: ${URL_MODULE_HELP}`);
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    // The load's time limit holds for the fetch too: a server that never answers was a
    // load that never ended.
    bytes = await readBytes(url, AbortSignal.timeout(limitMs));
  } catch (e) {
    if (e instanceof DOMException && e.name === "TimeoutError") {
      throw refuse(`could not be fetched: no answer within ${limitMs / 1000} s`);
    }
    const text = (e instanceof Error ? e.message : String(e)).split("\n")[0];
    // Deno imports from a few hosts by default, but the harness also fetches the module to
    // hash it, which `deno task harness` (net: the loopback only) does not allow.
    throw refuse(
      /Requires net access/.test(text)
        ? `${URL_MODULE_HELP} (it may be imported, but fetching it to hash it into the ` +
          `fingerprint was refused: ${text})`
        : `could not be fetched: ${text}`,
    );
  }
  const hash = await sha256Hex16(bytes);
  const at = new URL(url);
  at.searchParams.append("mla-harness-sha256", hash);
  return { hash, importHref: at.href };
}

/**
 * Where a relative path was read from, when the current folder is the harness's own: there
 * `deno task harness` runs whatever folder it is started in, so `--backend-module mod.ts`
 * typed next to one's module read the harness's own mod.ts (every export "missing"), and
 * a file beside it was "not found" though it is there. Null for any other path.
 */
function folderHint(specifier: string, url: URL): ConfigIssue | null {
  if (url.protocol !== "file:" || /^(https?|file):/i.test(specifier) || specifier.startsWith("/")) {
    return null;
  }
  const cwd = Deno.cwd().replace(/\/?$/, "/");
  if (new URL(`file://${cwd}`).href !== HARNESS_ROOT) return null;
  return {
    path: "(module)",
    value: specifier,
    message: `was read as ${decodeURIComponent(url.pathname)}: a relative path is read from ` +
      `the current folder, here the harness's own (${cwd}), which is where \`deno task\` runs ` +
      "whatever folder it is started in; give the path from that folder, or an absolute one",
  };
}

/** The `.ts`/`.js` files of a folder that export a backend's `launch` (as text: a guess). */
async function folderModules(url: URL): Promise<string[]> {
  const found: string[] = [];
  try {
    for await (const e of Deno.readDir(url)) {
      if (!e.isFile || !/\.(?:ts|js|mts|mjs)$/.test(e.name)) continue;
      const text = await Deno.readTextFile(new URL(e.name, `${url.href.replace(/\/?$/, "/")}`));
      if (
        /export\s+(?:async\s+)?(?:function|const|let)\s+launch\b|export\s*\{[^}]*\blaunch\b/.test(
          text,
        )
      ) {
        found.push(e.name);
      }
    }
  } catch {
    return found;
  }
  return found.sort();
}

/**
 * Load a backend module (a path or URL) with a dynamic import, check it against the
 * contract, hash its sources and register it. A missing file, a module that does
 * not load, or a broken contract is a ConfigError naming the module and the problem.
 * Loading the same file twice (under any name: relative, absolute, doubled slashes, a link)
 * registers it once. Its check is asked once with no device: an answer that breaks the
 * contract (adapter/backend_answer.ts) is a BackendAnswerError, also a ConfigError.
 * A module still loading after `options.loadTimeoutMs` ({@link MODULE_LOAD_TIMEOUT_MS} by
 * default: a top-level await that never settles) is a ConfigError too; its import stays
 * pending, so a caller that catches it must end the process with `Deno.exit` (main.ts does),
 * or Deno ends it with "Top-level await promise never resolved".
 *
 * @example
 * ```ts ignore
 * const m = await loadBackendModule("examples/backends/naive/mod.ts");
 * m.module.id; // "naive"
 * ```
 */
export async function loadBackendModule(
  specifier: string,
  options: { loadTimeoutMs?: number } = {},
): Promise<LoadedBackendModule> {
  const url = toUrl(specifier);
  const key = await moduleKey(url);
  const known = loaded.get(key);
  if (known) return known;
  let ns: Record<string, unknown>;
  // A top-level await that never settles: with nothing else pending Deno would end the
  // process ("Top-level await promise never resolved", a stack into main.ts, exit 1); the
  // timer keeps it alive to say which module, and how to fix it.
  const limitMs = options.loadTimeoutMs ?? MODULE_LOAD_TIMEOUT_MS;
  // A URL: Deno's cache keeps the first copy it downloaded of a URL, while the harness
  // fetches the module again to hash it, so the fingerprint would name code that did not run
  // (a module changed on its server since it was first imported). Fetched first and imported
  // under a URL that carries its hash, what runs is what was hashed.
  const remote = url.protocol === "file:" ? null : await fetchRemoteModule(url, specifier, limitMs);
  // its files, read before it runs: a Deno.exit in them (at import too) is refused
  const imports = await localImports(url);
  moduleFiles.add(remote?.importHref ?? url.href);
  for (const name of imports.keys()) moduleFiles.add(new URL(name, new URL("./", url)).href);
  guardExit();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ModuleLoadTimeout(limitMs)), limitMs);
  });
  try {
    ns = await Promise.race([import(remote?.importHref ?? url.href), stalled]);
  } catch (e) {
    if (e instanceof ModuleLoadTimeout) {
      throw new ConfigError(specifier, [{
        path: "(module)",
        value: url.href,
        message: `did not finish loading within ${limitMs / 1000} s: a top-level await in it ` +
          "(or in a module it imports) never settled; load work belongs in launch() or check()",
      }], "not a backend module");
    }
    // The first line, and where in the user's file: a syntax error's message ends with
    // "at file:///...:2:27"; a module that throws has it in its stack's first frame.
    const first = e instanceof Error ? e.message.split("\n")[0] : String(e);
    const where = e instanceof Error
      ? [e.message, e.stack ?? ""].join("\n").split("\n").map((l) => l.trim())
        .find((l) => l.startsWith("at file://") && l.includes(url.pathname))
      : undefined;
    // A URL needs import permission, which `deno task harness` does not grant: say what to do.
    // (Deno 2.9.6 throws a TypeError "Requires import access to ...", no permission class)
    const denied = url.protocol !== "file:" && /Requires import access/.test(first);
    // A folder (the example's, say): Deno's "[ERR_UNSUPPORTED_DIR_IMPORT] Directory import
    // ... is not supported resolving ES modules" did not say what to give instead.
    const folder = url.protocol === "file:" && /ERR_UNSUPPORTED_DIR_IMPORT/.test(first)
      ? await folderModules(url)
      : null;
    // A kernel file given as the module: Deno parses the WGSL as TypeScript and reports a
    // syntax error in it, which read as if the kernel were broken.
    const kernel = /\.wgsl$/i.test(url.pathname) && !/Module not found/.test(first)
      ? "it is a WGSL kernel, not a backend module: give the .ts (or .js) module that " +
        "launches it and lists it in its files export (docs/backends.md); `deno task harness " +
        "compile` compiles a kernel on its own"
      // a matrix or config file given as the module: Deno's "Attempted to load JSON module
      // without specifying "type": "json" attribute" said nothing of what to give
      : /\.jsonc?$/i.test(url.pathname) && !/Module not found/.test(first)
      ? "it is a JSON file, not a backend module: give the .ts (or .js) module that exports " +
        "the backend (docs/backends.md); a matrix goes to --matrix"
      : null;
    const why = denied
      ? URL_MODULE_HELP
      : kernel !== null
      ? kernel
      : folder !== null
      ? `it is a folder: give the module file in it${
        folder.length > 0
          ? ` (${folder.map((f) => `${specifier.replace(/\/+$/, "")}/${f}`).join(" or ")})`
          : ""
      }`
      : where === undefined
      ? first
      : `${first} (${where.replace(/^at file:\/\//, "at ")})`;
    const hint = folderHint(specifier, url);
    throw new ConfigError(specifier, [{
      path: "(module)",
      value: url.href,
      message: `could not be loaded: ${why}`,
    }, ...(hint === null ? [] : [hint])], "not a backend module");
  } finally {
    clearTimeout(timer);
  }
  let m: BackendModule;
  try {
    m = validateBackendModule(ns, specifier);
  } catch (e) {
    const hint = folderHint(specifier, url);
    if (!(e instanceof ConfigError) || hint === null) throw e;
    throw new ConfigError(specifier, [...e.issues, hint], "not a backend module");
  }
  const hashes: Record<string, string> = {};
  // the declared files' text, for the barrier check: the bytes hashed are the bytes checked
  const sources: { file: string; code: string }[] = [];
  try {
    hashes[`${m.id}:${url.pathname.split("/").pop()}`] = remote?.hash ??
      await sha256Hex16(await readBytes(url));
    for (const f of m.files ?? []) {
      const bytes = await readBytes(new URL(f, url));
      hashes[`${m.id}:${f}`] = await sha256Hex16(bytes);
      sources.push({ file: f, code: new TextDecoder().decode(bytes) });
    }
    // The module's own local imports (a launch in a helper file): a change there is a change
    // of the kernel, for --resume and for drift, as the module file's is.
    for (const [name, bytes] of imports) {
      hashes[`${m.id}:${name}`] = await sha256Hex16(bytes);
    }
  } catch (e) {
    const text = e instanceof Error ? e.message : String(e);
    // Deno imports from a few hosts by default, but the harness also fetches the module to
    // hash it, which `deno task harness` (net: the loopback only) does not allow.
    if (url.protocol !== "file:" && /Requires net access/.test(text)) {
      throw new ConfigError(specifier, [{
        path: "(module)",
        value: url.href,
        message: `${URL_MODULE_HELP} (it was imported, but fetching it to hash it into the ` +
          `fingerprint was refused: ${text.split("\n")[0]})`,
      }], "not a backend module");
    }
    throw new ConfigError(specifier, [{
      path: "files",
      value: m.files,
      message: `could not be read for the fingerprint: ${text}`,
    }], "not a backend module");
  }
  if (backendById(m.id)) {
    const first = backendModuleOf(m.id);
    throw new ConfigError(specifier, [{
      path: "id",
      value: m.id,
      message: `is already registered (${
        first !== undefined
          ? `by the module ${first}`
          : isBundledBackend(m.id)
          ? "a bundled backend"
          : "a backend registered in this process"
      }); choose another id`,
    }], "not a backend module");
  }
  // Asked once with no device: a contract-breaking answer is refused on load.
  probeBackend(backendOf(m), specifier);
  registerBackendModule(m, specifier);
  const entry = {
    module: m,
    specifier,
    url: url.href,
    hashes,
    barriers: checkModuleSources(sources),
  };
  loaded.set(key, entry);
  return entry;
}

/** The harness's own folder: its files are the harness's revision, not a module's. */
const HARNESS_ROOT = new URL("../", import.meta.url).href;

/** The files of the loaded modules: each module (its URL as imported) and its local imports. */
const moduleFiles = new Set<string>();
let exitGuarded = false;

/**
 * Where the code that called Deno.exit is (`path:line:col`), when it is a loaded module's
 * (a module file or one of its local imports; not a script beside it that loaded it). Null
 * for anyone else's code.
 */
function moduleCaller(stack: string): string | null {
  for (const line of stack.split("\n").slice(1)) {
    const m = /((?:file|https?):\/\/[^\s()]+?):(\d+):(\d+)\)?$/.exec(line.trim());
    if (m === null || m[1] === import.meta.url) continue;
    return moduleFiles.has(m[1]) ? `${m[1].replace(/^file:\/\//, "")}:${m[2]}:${m[3]}` : null;
  }
  return null;
}

/**
 * ` (at <file>:<line>:<col>)` of the first frame of `e`'s stack in a loaded module's files
 * (the module or one of its local imports), or null where none is. An error the harness's
 * code threw when the module called it (the launch kit's refusals: a binding over a limit,
 * the wrong bindings for a pass) was named as thrown at the kit's line in kernels/launch.ts;
 * the module's line that made the call is the one its author can change.
 */
function moduleSite(e: Error): string | null {
  for (const line of (e.stack ?? "").split("\n").slice(1)) {
    const m = /((?:file|https?):\/\/[^\s()]+?):(\d+):(\d+)\)?$/.exec(line.trim());
    if (m !== null && moduleFiles.has(m[1])) return ` (at ${m[1]}:${m[2]}:${m[3]})`;
  }
  return null;
}

/**
 * From the first module load on, a Deno.exit called by a module's own code (left from
 * debugging, an error path) throws instead of ending the process: a launch() that called
 * Deno.exit(0) ended a run after its first case with exit 0, no reports, run.json still
 * "running" and its lock left. Thrown there, it is that call's error (launch: the case's,
 * check: a contract break, the import: a load that fails), naming the line. The harness's
 * own Deno.exit (its end, a signal) is passed through.
 */
function guardExit(): void {
  if (exitGuarded) return;
  exitGuarded = true;
  const exit = Deno.exit;
  const guarded = (code?: number): never => {
    if (moduleCaller(new Error().stack ?? "") !== null) {
      const e = new Error(
        `Deno.exit(${code ?? ""}) was called: a backend must not end the process (the run ` +
          "would stop without its reports, with the module's exit code); throw an Error instead",
      );
      // its stack begins at the module's call, which the messages name as where it threw
      // (V8's, not in the DOM lib the browser page type-checks with: reached through a cast)
      (Error as unknown as { captureStackTrace(e: Error, f: unknown): void })
        .captureStackTrace(e, guarded);
      throw e;
    }
    return exit(code);
  };
  try {
    Object.defineProperty(Deno, "exit", { value: guarded, writable: true, configurable: true });
  } catch {
    // a namespace that cannot be changed: nothing to guard
  }
}

/**
 * The local files a module imports, directly or through each other (static `import ... from`
 * and `export ... from` with a relative specifier, and a dynamic `import()` of a literal one,
 * read from the source; a computed dynamic specifier cannot be followed), outside the
 * harness's own folder, by path relative to the module's folder.
 * A file that cannot be read is left to the import, which has loaded it already.
 */
async function localImports(entry: URL): Promise<Map<string, Uint8Array<ArrayBuffer>>> {
  const found = new Map<string, Uint8Array<ArrayBuffer>>();
  if (entry.protocol !== "file:") return found;
  const base = new URL("./", entry).href;
  const seen = new Set<string>([entry.href]);
  const queue = [entry];
  while (queue.length > 0 && seen.size <= 1000) {
    const at = queue.shift()!;
    let text: string;
    try {
      text = new TextDecoder().decode(await Deno.readFile(at));
    } catch {
      continue;
    }
    // `import x from "./a.ts"`, `import type {...} from "../b.ts"`, `export * from "./c.ts"`,
    // `import "./d.ts"`, written without spaces too (`import{x}from"./e.ts"`), and a dynamic
    // `import("./f.ts")` with a literal specifier: relative specifiers only (a URL or a bare
    // name is not the user's file). The keyword stands alone (not `x.import`, `reimport`).
    for (
      const match of text.matchAll(
        /(?:^|[^\w$.])(?:import|export)(?=[\s{(*"'])[^;]*?["'](\.{1,2}\/[^"']+)["']/g,
      )
    ) {
      const next = new URL(match[1], at);
      if (next.protocol !== "file:" || seen.has(next.href)) continue;
      seen.add(next.href);
      if (next.href.startsWith(HARNESS_ROOT) && !entry.href.startsWith(HARNESS_ROOT)) continue;
      if (next.href.startsWith(HARNESS_ROOT) && !next.href.startsWith(base)) continue;
      try {
        found.set(relativeTo(base, next.href), await Deno.readFile(next));
      } catch {
        continue;
      }
      queue.push(next);
    }
  }
  return found;
}

/**
 * `href` relative to the folder URL `base` (with `../` steps where it lies outside). Not
 * node:path's `relative`: this module is also bundled into the Chromium page, where node:
 * built-ins do not load.
 */
function relativeTo(base: string, href: string): string {
  const from = base.split("/").slice(0, -1);
  const to = href.split("/");
  let i = 0;
  while (i < from.length && i < to.length - 1 && from[i] === to[i]) i++;
  return [...Array(from.length - i).fill(".."), ...to.slice(i)].join("/");
}

/**
 * Load every module of a `--backend-module` list (in order).
 *
 * @example
 * ```ts ignore
 * await loadBackendModules(["examples/backends/naive/mod.ts"]);
 * ```
 */
export async function loadBackendModules(
  specifiers: readonly string[],
): Promise<LoadedBackendModule[]> {
  const out: LoadedBackendModule[] = [];
  for (const s of specifiers) out.push(await loadBackendModule(s));
  return out;
}

/**
 * Every user backend module loaded so far, in load order (another runtime loads the same
 * modules into its page: browser/chromium_gpu.ts).
 *
 * @example
 * ```ts
 * import { loadedBackendModules } from "./backend_module.ts";
 * loadedBackendModules().length; // 0 before any module is loaded
 * ```
 */
export function loadedBackendModules(): LoadedBackendModule[] {
  return [...loaded.values()];
}

/**
 * The source hashes of every user backend module loaded so far (merged into the
 * run's fingerprint, see runner/fingerprint.ts).
 *
 * @example
 * ```ts
 * import { userBackendHashes } from "./backend_module.ts";
 * Object.keys(userBackendHashes()).length; // 0 before any module is loaded
 * ```
 */
export function userBackendHashes(): Record<string, string> {
  return Object.assign({}, ...[...loaded.values()].map((l) => l.hashes));
}
