/**
 * `explain --case <id>`: the adapter's answer for one case of a matrix, asked as `run` asks
 * it (runner/run_case.ts): the case's request from its parameters (heads, paging, varlen,
 * KV splits, the device profile, the backend axis), so a case id copied from a report is
 * explained without retyping its shape as flags.
 *
 * @module
 */
import { explainCase, type ExplainOptions, type Explanation } from "../adapter/explain.ts";
import { isSelfAttention, normalizeLayout } from "../adapter/layout.ts";
import { pathMismatch } from "../adapter/registry.ts";
import { layerReasons } from "../adapter/resolve.ts";
import type { DeviceCaps, Reason } from "../adapter/types.ts";
import { ConfigError } from "../adapter/errors.ts";
import type { Case } from "../matrix/types.ts";
import { applyProfile, caseRequest } from "./case_request.ts";
import { caseBackend, caseSeed, LAYER_SELF_ATTENTION } from "./run_case.ts";

/** What {@link explainMatrixCase} found: the explanation and what `run` adds to it. */
export interface CaseExplanation {
  /** The adapter's answer for the case's request on the device (its profile applied). */
  readonly explanation: Explanation;
  /**
   * What `run` decides beyond the attention plan: a named backend of the other path, or a
   * layer case the layer cannot run (mode layer's self-attention shape, layerReasons).
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
  const explanation = explainCase(
    { ...req, backend: named ?? req.backend },
    caps === null ? null : applyProfile(caps, c.deviceProfile),
    {
      ...(c.params.splits > 0 ? { kvSplits: c.params.splits } : {}),
      ...(options.config ? { config: options.config } : {}),
    },
  );
  const runNotes: string[] = [];
  const text = (r: Reason) => `unsupported: ${r.code}: ${r.message}`;
  const mismatch = named === undefined ? null : pathMismatch(named, c.params.path);
  if (mismatch) runNotes.push(text(mismatch));
  if (c.params.mode === "layer") {
    let layout;
    try {
      layout = normalizeLayout(req.layout);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
    }
    if (layout && !isSelfAttention(layout)) {
      runNotes.push(`invalid: ${LAYER_SELF_ATTENTION}`);
    }
    runNotes.push(...layerReasons(req.spec).map(text));
  }
  return { explanation, runNotes };
}
