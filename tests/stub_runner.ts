/**
 * A case runner that runs nothing: every case passes at once (`runMatrix`'s `runCase`), for
 * tests of what a run does around its cases (resume, merge, outputs).
 */
import type { CaseResult } from "../results/types.ts";
import type { CaseRunner } from "../runner/run_matrix.ts";

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
