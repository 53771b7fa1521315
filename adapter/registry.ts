/**
 * The backend registry: the bundled backends, plus the user backends a run
 * registers (`--backend-module`, see docs/backends.md). Only the GPU-free half of a
 * backend (id, path, support check) lives here; kernels/launch.ts keeps launchers.
 *
 * @module
 */
import { type Backend, BUNDLED_BACKENDS } from "./backends.ts";
import { ConfigError } from "./errors.ts";
import type { AttentionPath, BackendId, Reason } from "./types.ts";

const registry = new Map<BackendId, Backend>(Object.entries(BUNDLED_BACKENDS));
/** Where each backend registered from a module came from (its path or URL, as given). */
const modules = new Map<BackendId, string>();

/** Ids a backend may not take: `auto` is the request for the priority order. */
const RESERVED = new Set(["auto"]);

/** The shape every backend id has (so case ids and `--filter` stay unambiguous). */
export const BACKEND_ID_PATTERN: RegExp = /^[a-z][a-z0-9._-]{0,63}$/;

/**
 * What is wrong with a backend id, or null for a good one: it must match
 * {@link BACKEND_ID_PATTERN} and not be `auto`.
 *
 * @example
 * ```ts
 * import { backendIdProblem } from "./registry.ts";
 * backendIdProblem("naive"); // null
 * backendIdProblem("Bad Id!"); // "must match /^[a-z][a-z0-9._-]{0,63}$/ ..."
 * ```
 */
export function backendIdProblem(id: unknown): string | null {
  return typeof id === "string" && BACKEND_ID_PATTERN.test(id) && !RESERVED.has(id)
    ? null
    : `must match ${BACKEND_ID_PATTERN} (lower case letter first, at most 64 characters) ` +
      `and not be "auto"`;
}

/** Options of {@link registerBackend}. */
export interface RegisterBackendOptions {
  /** The module it came from (path or URL): errors about it and its answers name it. */
  module?: string;
}

/**
 * Register a backend's support check for this process: `resolve` plans with it, and a
 * plan of a GPU backend also needs its launcher, which this does not register (kernels/
 * `registerBackendModule` or `loadBackendModule` registers both; `runAttention` refuses a
 * plan whose backend has none). The id must match {@link BACKEND_ID_PATTERN},
 * must not be `auto`, and must not name another backend (a bundled one included):
 * a ConfigError names the conflict (and the module, when given).
 *
 * @example
 * ```ts
 * import { BUNDLED_BACKENDS } from "./backends.ts";
 * import { registerBackend } from "./registry.ts";
 * registerBackend({ ...BUNDLED_BACKENDS["wgsl-absorbed"], id: "my-copy" });
 * ```
 */
export function registerBackend(backend: Backend, options: RegisterBackendOptions = {}): void {
  const id = backend.id;
  const source = options.module ?? "backend";
  const problem = backendIdProblem(id);
  if (problem !== null) {
    throw new ConfigError(source, [{ path: "id", value: id, message: problem }], "invalid backend");
  }
  const old = registry.get(id);
  if (old && old !== backend) {
    throw new ConfigError(source, [{
      path: "id",
      value: id,
      message: `is already registered (${old.description}; ${
        modules.has(id)
          ? `loaded from ${modules.get(id)}`
          : isBundledBackend(id)
          ? "bundled with the harness"
          : "registered in this process"
      }); choose another id`,
    }], "invalid backend");
  }
  registry.set(id, backend);
  if (options.module !== undefined) modules.set(id, options.module);
}

/**
 * The module (path or URL, as given) a backend was registered from, or undefined (a
 * bundled backend, or one a library caller registered itself).
 *
 * @example
 * ```ts
 * import { backendModuleOf } from "./registry.ts";
 * backendModuleOf("wgsl-absorbed"); // undefined: bundled
 * ```
 */
export function backendModuleOf(id: BackendId): string | undefined {
  return modules.get(id);
}

/**
 * A registered backend, or undefined.
 *
 * @example
 * ```ts
 * import { backendById } from "./registry.ts";
 * backendById("wgsl-absorbed")?.path; // "absorbed"
 * ```
 */
export function backendById(id: BackendId): Backend | undefined {
  return registry.get(id);
}

/**
 * Why a named backend cannot run a case of `path`: `backend.path-mismatch` when the
 * registered backend computes the other attention path, else null (also for `auto`
 * requests and unregistered ids, which resolve() itself answers).
 *
 * @example
 * ```ts
 * import { pathMismatch } from "./registry.ts";
 * pathMismatch("wgsl-expanded", "absorbed")?.code; // "backend.path-mismatch"
 * pathMismatch("wgsl-absorbed", "absorbed"); // null
 * ```
 */
export function pathMismatch(id: string, path: AttentionPath): Reason | null {
  const chosen = backendById(id);
  return chosen && chosen.path !== path
    ? {
      code: "backend.path-mismatch",
      message: `backend ${id} computes the ${chosen.path} path; the case asks for path ${path}`,
    }
    : null;
}

/**
 * The ids of every registered backend, bundled first.
 *
 * @example
 * ```ts
 * import { registeredBackendIds } from "./registry.ts";
 * registeredBackendIds().includes("cpu-reference"); // true
 * ```
 */
export function registeredBackendIds(): BackendId[] {
  return [...registry.keys()];
}

/**
 * Whether an id names a bundled backend (planted faults apply only to those).
 *
 * @example
 * ```ts
 * import { isBundledBackend } from "./registry.ts";
 * isBundledBackend("wgsl-expanded"); // true
 * ```
 */
export function isBundledBackend(id: BackendId): boolean {
  return Object.hasOwn(BUNDLED_BACKENDS, id);
}
