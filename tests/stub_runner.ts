/**
 * A case runner that runs nothing: every case passes at once (`runMatrix`'s `runCase`), for
 * tests of what a run does around its cases (resume, merge, outputs).
 */
import assert from "node:assert/strict";
import type { CaseResult, RunReport } from "../results/types.ts";
import { type CaseRunner, runMatrix, type RunMatrixOptions } from "../runner/run_matrix.ts";

/** Every case a pass, message "stub", without running anything. */
export const PASS_STUB: CaseRunner = (c) =>
  Promise.resolve<CaseResult>({
    id: c.id,
    status: "pass",
    decision: "supported",
    expect: c.expect,
    params: c.params,
    message: "stub",
    wallMs: 0,
  });

/**
 * A run that stops after its first case (SIGINT's path: the signal aborts after that case),
 * every case stubbed: its report, interrupted with one result.
 */
export async function stoppedRun(options: RunMatrixOptions): Promise<RunReport> {
  const stop = new AbortController();
  const report = await runMatrix({
    ...options,
    signal: stop.signal,
    testOnlyCaseRunner: async (c, o) => {
      stop.abort();
      // as a real run records it: the backend the case ran on (--backend's, when given)
      const r = await PASS_STUB(c, o);
      return options.backend === undefined ? r : { ...r, backend: options.backend };
    },
  });
  assert.equal(report.interrupted, true);
  assert.equal(report.results.length, 1);
  return report;
}
