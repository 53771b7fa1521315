/**
 * `explain --case <id>`: the adapter's answer for one case of a matrix, asked as `run` asks
 * it (runner/run_case.ts): the case's request from its parameters (heads, paging, varlen,
 * KV splits, the device profile, the backend axis), so a case id copied from a report is
 * explained without retyping its shape as flags.
 *
 * @module
 */
import { explainCase, type ExplainOptions, type Explanation } from "../adapter/explain.ts";
import { normalizeLayout } from "../adapter/layout.ts";
import type { DeviceCaps, NormalizedLayout, Reason } from "../adapter/types.ts";
import { ConfigError } from "../adapter/errors.ts";
import type { Case } from "../matrix/types.ts";
import { caseDevice, caseRequest } from "./case_request.ts";
import { caseBackend, caseSeed, type RunCheck, runChecks } from "./run_case.ts";

/** What {@link explainMatrixCase} found: the explanation and what `run` adds to it. */
export interface CaseExplanation {
  /** The adapter's answer for the case's request on the device (its profile applied). */
  readonly explanation: Explanation;
  /**
   * What `run` decides beyond the attention plan (runner/run_case.ts `runChecks`, each as
   * {@link runCheckNotes} words it): a named backend of the other path, or a layer case the
   * layer cannot run (mode layer's self-attention shape, layerReasons).
   */
  readonly runNotes: readonly string[];
}

/**
 * Explain matrix case `c` (config paths relative to `baseDir`) on a device, as `run` would
 * resolve it: `backend` overrides the case's backend as `run --backend` does. A config the
 * adapter rejects throws its ConfigError (`run` records the case as invalid).
 *
 * @example
 * ```ts
 * import { explainMatrixCase } from "./explain_case.ts";
 * import { selectCases } from "./run_matrix.ts";
 * const { all, baseDir } = await selectCases({ matrix: "smoke" });
 * const e = await explainMatrixCase(all[0], baseDir, null);
 * e.explanation.resolution.kind; // "unsupported" (no device)
 * ```
 */
export async function explainMatrixCase(
  c: Case,
  baseDir: string,
  caps: DeviceCaps | null,
  options: { backend?: string; config?: ExplainOptions["config"] } = {},
): Promise<CaseExplanation> {
  const req = await caseRequest(c.params, { seed: caseSeed(c.id, c.seed), baseDir });
  const named = caseBackend(c, { backend: options.backend });
  const at = caseDevice(c, caps);
  const explanation = explainCase({ ...req, backend: named ?? req.backend }, at.caps, {
    ...at.options,
    ...(options.config ? { config: options.config } : {}),
  });
  let layout: NormalizedLayout | null = null;
  if (c.params.mode === "layer") {
    try {
      layout = normalizeLayout(req.layout);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
    }
  }
  const checks = runChecks(c, req.spec, layout, named);
  return { explanation, runNotes: checks.flatMap(runCheckNotes) };
}

/**
 * The lines `explain --case` prints (after `run: `) for one of `run`'s decisions beyond the
 * plan: `unsupported: <code>: <message>` per reason, or `invalid: <message>`.
 *
 * @example
 * ```ts
 * import { runCheckNotes } from "./explain_case.ts";
 * runCheckNotes({ check: "self-attention", message: "sq = sk" }); // ["invalid: sq = sk"]
 * ```
 */
export function runCheckNotes(check: RunCheck): string[] {
  const text = (r: Reason) => `unsupported: ${r.code}: ${r.message}`;
  return check.check === "self-attention" ? [`invalid: ${check.message}`] : check.reasons.map(text);
}
