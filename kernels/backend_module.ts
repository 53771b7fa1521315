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
import type { Backend, SupportAnswer, SupportQuery } from "../adapter/backends.ts";
import { ConfigError, type ConfigIssue } from "../adapter/errors.ts";
import { backendById, registerBackend } from "../adapter/registry.ts";
import type { AttentionPath } from "../adapter/types.ts";
import { type AttentionLauncher, BACKEND_CONTRACT_VERSION, registerLauncher } from "./launch.ts";
import { sha256Hex16 } from "../util/hash.ts";

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
  for (const [name, type] of Object.entries(TYPES)) {
    const v = ns[name];
    if (v === undefined) {
      issues.push({
        path: name,
        value: undefined,
        message: `must be exported (a ${type}; see docs/backends.md)`,
      });
    } else if (jsType(v) !== type) {
      issues.push({ path: name, value: typeof v, message: `must be a ${type}` });
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
  if (
    ns.files !== undefined &&
    (!Array.isArray(ns.files) || ns.files.some((f) => typeof f !== "string"))
  ) {
    issues.push({ path: "files", value: ns.files, message: "must be an array of paths" });
  }
  if (issues.length) throw new ConfigError(source, issues, "not a backend module");
  return ns as unknown as BackendModule;
}

/**
 * Register a checked module for this process: its support predicate joins the
 * adapter's registry (a GPU backend), its launcher the GPU registry.
 *
 * @example
 * ```ts ignore
 * registerBackendModule(validateBackendModule(await import("./naive.ts"), "naive.ts"));
 * ```
 */
export function registerBackendModule(m: BackendModule): void {
  const backend: Backend = {
    id: m.id,
    description: m.description,
    path: m.path,
    runsOn: "gpu",
    check: (q) => m.check(q),
  };
  registerBackend(backend);
  registerLauncher(m.id, m.launch);
}

const loaded = new Map<string, LoadedBackendModule>();

function toUrl(specifier: string): URL {
  if (/^(https?|file):/.test(specifier)) return new URL(specifier);
  const cwd = Deno.cwd().replace(/\/?$/, "/");
  return new URL(specifier, new URL(`file://${cwd}`));
}

async function readBytes(url: URL): Promise<Uint8Array<ArrayBuffer>> {
  if (url.protocol === "file:") return await Deno.readFile(url);
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url.href}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

/**
 * Load a backend module (a path or URL) with a dynamic import, check it against the
 * contract, hash its sources and register it. A missing file, a module that does
 * not load, or a broken contract is a ConfigError naming the module and the problem.
 * Loading the same specifier twice registers it once.
 *
 * @example
 * ```ts ignore
 * const m = await loadBackendModule("examples/backends/naive/mod.ts");
 * m.module.id; // "naive"
 * ```
 */
export async function loadBackendModule(specifier: string): Promise<LoadedBackendModule> {
  const url = toUrl(specifier);
  const known = loaded.get(url.href);
  if (known) return known;
  let ns: Record<string, unknown>;
  try {
    ns = await import(url.href);
  } catch (e) {
    const why = e instanceof Error ? e.message.split("\n")[0] : String(e);
    throw new ConfigError(specifier, [{
      path: "(module)",
      value: url.href,
      message: `could not be loaded: ${why}`,
    }], "not a backend module");
  }
  const m = validateBackendModule(ns, specifier);
  const hashes: Record<string, string> = {};
  try {
    hashes[`${m.id}:${url.pathname.split("/").pop()}`] = await sha256Hex16(await readBytes(url));
    for (const f of m.files ?? []) {
      hashes[`${m.id}:${f}`] = await sha256Hex16(await readBytes(new URL(f, url)));
    }
  } catch (e) {
    throw new ConfigError(specifier, [{
      path: "files",
      value: m.files,
      message: `could not be read for the fingerprint: ${e instanceof Error ? e.message : e}`,
    }], "not a backend module");
  }
  if (backendById(m.id)) {
    throw new ConfigError(specifier, [{
      path: "id",
      value: m.id,
      message: "is already registered (a bundled backend, or another module); choose another id",
    }], "not a backend module");
  }
  registerBackendModule(m);
  const entry = { module: m, specifier, url: url.href, hashes };
  loaded.set(url.href, entry);
  return entry;
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
