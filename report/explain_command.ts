/**
 * The command that explains a failed case as `run` resolved it (`explain --case`), for the
 * reports' failures.
 *
 * @module
 */
import type { RunReport } from "../results/types.ts";
import { absolutePath, backendWords, matrixWord, shellWord } from "./finish_commands.ts";

/**
 * The command that explains a case as `run` resolved it (`explain --case`), for a failure
 * card: a case id copied from a report, with no shape to retype. The run's matrix, its
 * `--config-root`, its `--backend-module`s (each where the report recorded it is: an absolute
 * path) and its `--backend` (when it had them) come along: the case is found where the run
 * found it and resolved on the backend it ran on. A matrix file and `--config-root` are named
 * by their absolute paths (`deno task harness` runs in the harness's folder).
 *
 * @example
 * ```ts
 * import { explainCommandFor } from "./explain_command.ts";
 * explainCommandFor("preset=tiny;b=2", { matrix: "smoke" });
 * // "deno task harness explain --case 'preset=tiny;b=2' --matrix smoke"
 * ```
 */
export function explainCommandFor(
  id: string,
  run:
    & Pick<RunReport, "matrix" | "configRoot" | "backend" | "backendModules">
    & Partial<Pick<RunReport, "backendModulePaths" | "matrixPath" | "configRootPath">>,
): string {
  return [
    "deno task harness explain --case",
    shellWord(id),
    "--matrix",
    shellWord(run.matrixPath ?? matrixWord(run.matrix)),
    ...(run.configRoot === undefined
      ? []
      : ["--config-root", shellWord(run.configRootPath ?? absolutePath(run.configRoot))]),
    ...backendWords(run),
  ].join(" ");
}

/** The file a run in Chromium's explain command reads its browser's caps from. */
export const CHROMIUM_CAPS = "chromium-caps.json";

/** What {@link explainCommandsFor} returns. */
export interface ExplainCommands {
  /**
   * For a run in Chromium: the `devices --runtime chromium --json` that records its browser's
   * caps in {@link CHROMIUM_CAPS}, to run first.
   */
  readonly devices?: string;
  /** The explain command ({@link explainCommandFor}; `--caps` of those caps after a Chromium run). */
  readonly explain: string;
}

/**
 * The commands that explain a case as `run` resolved it, for the reports (report.html's
 * failure cards, summary.md): {@link explainCommandFor}, and for a run in Chromium, which
 * decided on its browser's adapter, first the `devices` command that records that adapter's
 * caps, the explain reading them (explain alone resolves the case on this process's adapter:
 * lavapipe's loop budget and shader-f16, which SwiftShader in Chromium lacks).
 *
 * @example
 * ```ts
 * import { explainCommandsFor } from "./explain_command.ts";
 * const fingerprint = { browser: { path: "/usr/bin/chromium-headless-shell" } };
 * explainCommandsFor("preset=tiny", { matrix: "smoke", fingerprint }).devices;
 * // "deno task harness devices --runtime chromium --chromium /usr/bin/chromium-headless-shell --json > chromium-caps.json"
 * ```
 */
export function explainCommandsFor(
  id: string,
  run:
    & Pick<RunReport, "matrix" | "configRoot" | "backend" | "backendModules">
    & Partial<Pick<RunReport, "backendModulePaths" | "matrixPath" | "configRootPath">>
    & { readonly fingerprint: { readonly browser?: { readonly path: string } } },
): ExplainCommands {
  const explain = explainCommandFor(id, run);
  const browser = run.fingerprint.browser;
  if (browser === undefined) return { explain };
  return {
    devices: `deno task harness devices --runtime chromium --chromium ${
      shellWord(browser.path)
    } --json > ${CHROMIUM_CAPS}`,
    explain: `${explain} --caps ${CHROMIUM_CAPS}`,
  };
}
