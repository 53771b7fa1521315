/**
 * The `--backend-module` and `--backend` options shared by run, explain, bench, layer,
 * upgrade-check, compare-runtimes and baseline update: load user backend modules (docs/backends.md) before the
 * command's work, and check a backend id against the registry.
 *
 * @module
 */
import { autoPathOf } from "../adapter/backends.ts";
import { ConfigError } from "../adapter/errors.ts";
import { backendById, registeredBackendIds } from "../adapter/registry.ts";
import { loadBackendModules, type LoadedBackendModule } from "../kernels/backend_module.ts";
import type { BackendBarrierFinding } from "../results/types.ts";
import { findingKey } from "../kernels/module_barriers.ts";
import { plural } from "../util/plural.ts";
import { didYouMean } from "../util/edit_distance.ts";
import { unselectedReason } from "../report/unused_backends.ts";

/** Help text of `--backend-module`. */
export const BACKEND_MODULE_HELP =
  "load a backend module (a path, or a URL under `deno run -A main.ts`; repeatable) and " +
  "register its backend for this run: " +
  "it must export the contract of docs/backends.md (a wrong or missing export, or a check() " +
  "answer that breaks it on load, is exit 2 naming the module); " +
  "select it with --backend <id>. Only the command line loads code: a matrix names backends " +
  "by registered id, never by module path. Its listed .wgsl files, and what its launch " +
  "compiles, get the static barrier check: each finding a warning, not a failure";

/**
 * Commander collector of a repeatable option.
 *
 * @example
 * ```ts
 * import { collect } from "./backend_options.ts";
 * collect("b.ts", ["a.ts"]); // ["a.ts", "b.ts"]
 * ```
 */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/**
 * Load the modules of `--backend-module` (exit 2 naming the problem via ConfigError).
 *
 * @example
 * ```ts ignore
 * await loadBackendModuleOptions(opts.backendModule);
 * ```
 */
export async function loadBackendModuleOptions(
  specifiers: readonly string[] | undefined,
): Promise<LoadedBackendModule[]> {
  const loaded = await loadBackendModules(specifiers ?? []);
  for (const line of barrierWarningLines(loaded)) console.error(line);
  return loaded;
}

/**
 * What the static barrier check found in loaded modules' WGSL, as stderr lines: a
 * `warning:` per finding and a `note:` per file it could not read, then one line on what
 * the check is. Empty when it found nothing.
 *
 * @example
 * ```ts
 * import { barrierWarningLines } from "./backend_options.ts";
 * barrierWarningLines([]); // []
 * ```
 */
export function barrierWarningLines(
  loaded: readonly Pick<LoadedBackendModule, "module" | "specifier" | "barriers">[],
): string[] {
  const lines: string[] = [];
  for (const l of loaded) {
    const who = `backend ${l.module.id} (module ${l.specifier})`;
    for (const f of l.barriers.findings) {
      const kind = f.kind === "hazard" ? "hazard" : "barrier";
      lines.push(
        `warning: ${who}: ${kind} ${f.location} (${f.labels.join("; ")}): ${f.message}`,
      );
    }
    for (const s of l.barriers.skipped) {
      lines.push(`note: ${who}: barrier check skipped for ${s}`);
    }
  }
  if (lines.some((l) => l.startsWith("warning:"))) {
    lines.push(
      '  (the static barrier check of docs/backends.md, "Checking a kernel\'s barriers": ' +
        "parity on a device that runs a workgroup in lock step, such as lavapipe, cannot " +
        "catch these; `deno task harness compile <file>` repeats it, and a line that is safe " +
        "for a reason it cannot see is marked `// @no-race: <why>`)",
    );
  }
  return lines;
}

/**
 * Check a `--backend` id: a registered backend, or with `allowAuto` also `auto` and
 * `auto:absorbed` / `auto:expanded` (what a matrix case of that path asks for), else a
 * ConfigError listing the registered ids (exit 2).
 *
 * @example
 * ```ts
 * import { checkBackendId } from "./backend_options.ts";
 * checkBackendId("wgsl-absorbed"); // "wgsl-absorbed"
 * ```
 */
export function checkBackendId(id: string, options: { allowAuto?: boolean } = {}): string {
  if ((options.allowAuto && (id === "auto" || autoPathOf(id) !== null)) || backendById(id)) {
    return id;
  }
  const ids = registeredBackendIds();
  const autos = options.allowAuto ? ["auto", "auto:absorbed", "auto:expanded"] : [];
  // a module's path where its id belongs (--backend ./mine/mod.ts), or a misspelt id, got the
  // list of ids alone
  const path = /[\\/]|\.[cm]?[jt]s$/.test(id)
    ? "a module's path goes to --backend-module, and --backend takes the id that module " +
      "exports (its `id`); "
    : "";
  throw new ConfigError("--backend", [{
    path: "--backend",
    value: id,
    message: `is not a registered backend; ${path}${didYouMean(id, [...ids, ...autos])}` +
      `registered: ${ids.join(", ")}` +
      `${autos.length ? `, or ${autos.join(", ")}` : ""} (load a user backend with ` +
      "--backend-module)",
  }], "unknown backend");
}

/**
 * A `warning:` line for each finding of a run (`RunReport.barrierFindings`) that the load of
 * its module did not already name: one in a source its `launch()` compiled (a kernel built in
 * code, or a listed file specialized otherwise).
 *
 * @example
 * ```ts
 * import { compiledBarrierLines } from "./backend_options.ts";
 * const f = { backend: "b", location: "gen.wgsl:3", labels: ["f32"], kind: "hazard", message: "m" };
 * compiledBarrierLines([f], []); // ["warning: backend b: hazard gen.wgsl:3 (f32), as its launch compiled it: m"]
 * ```
 */
export function compiledBarrierLines(
  findings: readonly BackendBarrierFinding[],
  loaded: readonly Pick<LoadedBackendModule, "module" | "barriers">[],
): string[] {
  const named = new Set(
    loaded.flatMap((l) =>
      l.barriers.findings.map((f) => findingKey({ backend: l.module.id, ...f }))
    ),
  );
  return findings.filter((f) => !named.has(findingKey(f))).map((f) =>
    `warning: backend ${f.backend}: ${f.kind === "hazard" ? "hazard" : "barrier"} ${f.location} ` +
    `(${f.labels.join("; ")}), as its launch compiled it: ${f.message}`
  );
}

/**
 * What a command that ran user backends says of the static barrier check as it ends:
 * {@link compiledBarrierLines}, then (when the run found any) one line counting all its
 * findings and saying where they are written (`where`: "summary.md under \"Barrier
 * check\""), where a long run's reader looks once the load's lines have scrolled away.
 *
 * @example
 * ```ts
 * import { barrierEndLines } from "./backend_options.ts";
 * const f = { backend: "b", location: "gen.wgsl:3", labels: ["f32"], kind: "hazard", message: "m" };
 * barrierEndLines([f], [], "summary.md").at(-1);
 * // "warning: the static barrier check found 1 problem in the user backends' WGSL (in summary.md)"
 * ```
 */
export function barrierEndLines(
  findings: readonly BackendBarrierFinding[],
  loaded: readonly Pick<LoadedBackendModule, "module" | "barriers">[],
  where: string,
): string[] {
  const lines = compiledBarrierLines(findings, loaded);
  if (findings.length > 0) {
    lines.push(
      `warning: the static barrier check found ${
        plural(findings.length, "problem")
      } in the user backends' WGSL (in ${where})`,
    );
  }
  return lines;
}

/**
 * A `warning:` line for each loaded module whose backend none of `used` names (`--backend`
 * first, then, for `explain --case`, the case's backend axis): `explain` and `layer` given
 * `--backend-module` without `--backend` planned a bundled backend, as `run`, `bench` and
 * `compare-runtimes` warn when no case ran on a module's backend (report/unused_backends.ts).
 * `what`: the command's work, as "this explanation".
 *
 * @example
 * ```ts
 * import { unselectedModuleLines } from "./backend_options.ts";
 * const naive = { module: { id: "naive" }, specifier: "naive.ts" };
 * unselectedModuleLines([naive], ["wgsl-absorbed"], "this explanation").length; // 1
 * unselectedModuleLines([naive], ["naive"], "this explanation").length; // 0
 * ```
 */
export function unselectedModuleLines(
  loaded: readonly { readonly module: { readonly id: string }; readonly specifier: string }[],
  used: readonly (string | undefined)[],
  what: string,
): string[] {
  // a concrete backend asked for (not auto's choice) is the reason, where there is one: the
  // --backend given, else the case's axis
  const [flag, ...axis] = used;
  const named = axis.find((u) => unselectedReason("", u) !== null);
  return loaded.filter((l) => !used.includes(l.module.id)).map((l) =>
    `warning: --backend-module ${l.specifier} registers backend ${l.module.id}, which ${what} ` +
    `does not use: ${
      unselectedReason(l.module.id, flag) ??
        (named === undefined
          ? `auto picks only the bundled backends, so select it with --backend ${l.module.id}`
          : `the case's backend axis names ${named}, so select it with --backend ${l.module.id}`)
    }`
  );
}
