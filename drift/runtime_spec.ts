/**
 * The runtime spec of one side of `upgrade-check --from/--to`: which WebGPU implementation
 * and version runs the matrix.
 *
 * - `2.9.6` or `deno@2.9.6`: that Deno (fetched with `npx --yes deno@2.9.6`), its wgpu;
 * - `chromium`: this Deno driving the Chromium found as `run --runtime chromium` finds it
 *   (`$CHROME_PATH`, then the Debian default);
 * - `chromium:<path>`: that Chromium executable (e.g. another release).
 *
 * `deno@X` against `chromium` is a port check: the same kernels in another implementation.
 *
 * @module
 */
import { DriftInputError } from "./errors.ts";

/** A parsed runtime spec. */
export type RuntimeSpec =
  | { readonly kind: "deno"; readonly version: string }
  | { readonly kind: "chromium"; readonly path: string | null };

const VERSION = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/;

/**
 * Parse a runtime spec; a bad one is a DriftInputError naming the flag and the forms.
 *
 * @example
 * ```ts
 * import { parseRuntimeSpec } from "./runtime_spec.ts";
 * parseRuntimeSpec("deno@2.9.6", "--from"); // { kind: "deno", version: "2.9.6" }
 * parseRuntimeSpec("chromium:/opt/c/chrome", "--to"); // { kind: "chromium", path: "/opt/c/chrome" }
 * ```
 */
export function parseRuntimeSpec(spec: string, flag: string): RuntimeSpec {
  const s = spec.trim();
  const v = s.startsWith("deno@") ? s.slice(5) : s;
  if (VERSION.test(v)) return { kind: "deno", version: v };
  if (s === "chromium") return { kind: "chromium", path: null };
  if (s.startsWith("chromium:") && s.length > "chromium:".length) {
    return { kind: "chromium", path: s.slice("chromium:".length) };
  }
  throw new DriftInputError(
    flag,
    `"${spec}" is not a Deno version (2.9.6 or deno@2.9.6), chromium, or ` +
      "chromium:<path to a Chromium executable>",
  );
}

/**
 * A side's label: `deno 2.9.6`, `chromium` or `chromium <path>`.
 *
 * @example
 * ```ts
 * import { runtimeSpecLabel } from "./runtime_spec.ts";
 * runtimeSpecLabel({ kind: "deno", version: "2.9.6" }); // "deno 2.9.6"
 * ```
 */
export function runtimeSpecLabel(spec: RuntimeSpec): string {
  return spec.kind === "deno"
    ? `deno ${spec.version}`
    : spec.path === null
    ? "chromium"
    : `chromium ${spec.path}`;
}
