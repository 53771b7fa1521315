/**
 * The matrix groups of the cases a report has no result for (an interrupted run's, a merge's
 * missing ones): results carry their group, cases that never ran do not, so the matrix is
 * expanded again to count them in their groups.
 *
 * @module
 */
import type { RunReport } from "../results/types.ts";
import { loadMatrix } from "../matrix/expand.ts";
import { parseFilter } from "../matrix/case_id.ts";
import { notRunIds } from "./totals.ts";

/**
 * The matrix group of each case of `report` without a result, by id, from its matrix
 * expanded again with its filter and config root (empty when every case ran). A matrix that cannot be read
 * again (moved, changed, or relative to another folder) gives what it can: ids it no longer
 * has are left out, and the reports count them in a group of their own.
 *
 * @example
 * ```ts ignore
 * import { notRunGroups } from "./case_groups.ts";
 * const groups = await notRunGroups(report);
 * groups.get("preset=tiny;path=absorbed;dtype=f32;b=2;sq=1;sk=20;layout=bshd;causal=1");
 * ```
 */
export async function notRunGroups(report: RunReport): Promise<Map<string, string>> {
  const groups = new Map<string, string>();
  const ids = new Set(notRunIds(report));
  if (ids.size === 0) return groups;
  try {
    // the absolute paths where recorded: as typed, they read from another folder named
    // other files (a merge run elsewhere than the shards)
    const { cases } = await loadMatrix(report.matrixPath ?? report.matrix, {
      filter: report.filter === null ? null : parseFilter(report.filter),
      configRoot: report.configRootPath ?? report.configRoot,
      // the run expanded it once already; its limit was checked then
      maxCases: Number.MAX_SAFE_INTEGER,
    });
    for (const c of cases) if (ids.has(c.id) && c.group !== undefined) groups.set(c.id, c.group);
  } catch {
    // the matrix is gone or changed: the reports count those cases apart
  }
  return groups;
}
