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

/** Ids a backend may not take: `auto` is the request for the priority order. */
const RESERVED = new Set(["auto"]);

/** The shape every backend id has (so case ids and `--filter` stay unambiguous). */
export const BACKEND_ID_PATTERN: RegExp = /^[a-z][a-z0-9._-]{0,63}$/;

/**
 * Register a backend for this process. The id must match {@link BACKEND_ID_PATTERN},
 * must not be `auto`, and must not name another backend (a bundled one included):
 * a ConfigError names the conflict.
 *
 * @example
 * ```ts
 * import { BUNDLED_BACKENDS } from "./backends.ts";
 * import { registerBackend } from "./registry.ts";
 * registerBackend({ ...BUNDLED_BACKENDS["wgsl-absorbed"], id: "my-copy" });
 * ```
 */
export function registerBackend(backend: Backend): void {
  const id = backend.id;
  if (typeof id !== "string" || !BACKEND_ID_PATTERN.test(id) || RESERVED.has(id)) {
    throw new ConfigError("backend", [{
      path: "id",
      value: id,
      message: `must match ${BACKEND_ID_PATTERN} and not be "auto"`,
    }]);
  }
  const old = registry.get(id);
  if (old && old !== backend) {
    throw new ConfigError("backend", [{
      path: "id",
      value: id,
      message: `is already registered (${old.description}); choose another id`,
    }]);
  }
  registry.set(id, backend);
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
