// The history's series query hands SQLite the device and the cases a filter selects, where
// it read every row of the metric and filtered each in JavaScript: the points of every
// series are still those of that row-by-row reading, for each filter and device, also when
// one case id was stored with two params texts (only the matching rows count); caseIds()
// lists the ids series() would show.
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { HistoryStore } from "../drift/mod.ts";
import type { SeriesPoint } from "../drift/mod.ts";
import { caseId, matchesFilter, parseFilter } from "../matrix/case_id.ts";
import { CASE_DEFAULTS, type CaseParams } from "../matrix/types.ts";
import type { CaseResult } from "../results/types.ts";
import { reportOf, samples } from "./drift_helpers.ts";

function result(p: Partial<CaseParams>, medianMs: number | null, seed: number): CaseResult {
  const params = { ...CASE_DEFAULTS, preset: "tiny", b: 2, sk: 20, ...p };
  return {
    id: caseId(params),
    status: medianMs === null ? "error" : "pass",
    decision: "supported",
    expect: { support: "supported" },
    params,
    message: medianMs === null ? "lost" : "ok",
    backend: `wgsl-${params.path}`,
    ...(medianMs === null ? {} : {
      timing: { source: "timestamp-query", samplesMs: samples(medianMs, 5, seed), medianMs },
    }),
    wallMs: 10,
  };
}

/** The series' points as the query read them before: every row, filtered one by one. */
function rowByRow(db: string, filter: string | null, deviceKey?: string) {
  const f = filter ? parseFilter(filter) : null;
  const sql = new DatabaseSync(db, { readOnly: true });
  try {
    const rows = sql.prepare(
      `SELECT c.case_id, c.params, c.median_ms AS value, r.id AS run_id, r.started_at, e.deno,
              e.harness_revision, e.device_key
       FROM case_results c JOIN runs r ON c.run_id = r.id
       JOIN environments e ON r.environment_id = e.id
       WHERE c.median_ms IS NOT NULL
       ORDER BY r.started_at, r.id, c.case_id`,
    ).all() as Record<string, unknown>[];
    const byCase = new Map<string, SeriesPoint[]>();
    for (const r of rows) {
      if (deviceKey && r.device_key !== deviceKey) continue;
      if (f && !(typeof r.params === "string" && matchesFilter(JSON.parse(r.params), f))) {
        continue;
      }
      const list = byCase.get(String(r.case_id)) ?? [];
      list.push({
        runId: Number(r.run_id),
        startedAt: String(r.started_at),
        deno: String(r.deno),
        harnessRevision: r.harness_revision as string | null,
        deviceKey: String(r.device_key),
        value: Number(r.value),
      });
      byCase.set(String(r.case_id), list);
    }
    return [...byCase.keys()].sort().map((caseId) => ({ caseId, points: byCase.get(caseId) }));
  } finally {
    sql.close();
  }
}

Deno.test("history series: the device and filter go to SQLite; the points are the row-by-row reading's", async () => {
  const dir = await Deno.makeTempDir();
  const db = `${dir}/history.sqlite`;
  const store = await HistoryStore.open(db);
  try {
    for (let night = 0; night < 12; night++) {
      const day = String(night + 1).padStart(2, "0");
      const a = result({ path: "absorbed" }, 1 + night / 100, night + 1);
      const results = [
        // night 3 stored the absorbed case's params with another sk: the id is the same, but
        // a filter on sk=20 selects that night's row no more
        night === 3 ? { ...a, params: { ...a.params, sk: 21 } } : a,
        result({ path: "expanded" }, 2, night + 20),
        result({ path: "absorbed", dtype: "f16" }, night % 4 === 0 ? null : 3, night + 40),
      ];
      await store.append(
        reportOf(results, {
          startedAt: `2026-05-${day}T02:00:00.000Z`,
          endedAt: `2026-05-${day}T02:01:00.000Z`,
        }),
        { backend: night >= 8 ? "gl" : "vulkan" },
      );
    }
    const filters = [null, "path=absorbed", "dtype=f16", "sk=20", "path=expanded;sk=20", "b=1"];
    for (const device of [undefined, "llvmpipe-65541-vulkan", "llvmpipe-65541-gl", "nodev"]) {
      for (const filter of filters) {
        // how each point was timed is checked in drift_history_test.ts; here, which rows
        const got = store.series(filter, "median_ms", { deviceKey: device })
          .filter((s) => s.caseId !== "*")
          .map(({ caseId, points }) => ({
            caseId,
            points: points.map(({ timing: _, ...p }) => p),
          }));
        assert.deepEqual(got, rowByRow(db, filter, device), `${filter} on ${device}`);
      }
      assert.deepEqual(
        store.caseIds("median_ms", { deviceKey: device }),
        rowByRow(db, null, device).map((s) => s.caseId),
      );
    }
    // the sk=20 filter leaves out night 3 of the absorbed f32 case, whose params say sk 21
    const [absorbed] = store.series("path=absorbed;dtype=f32;sk=20", "median_ms");
    assert.equal(absorbed.points.length, 11);
    assert.ok(!absorbed.points.some((p) => p.startedAt.startsWith("2026-05-04")));
    // the f16 case has no timing on nights 1, 5 and 9: no point there
    assert.equal(store.series("dtype=f16", "median_ms")[0].points.length, 9);
    assert.deepEqual(store.caseIds("out_max_abs"), [], "no run recorded an error metric");
    assert.throws(() => store.caseIds("nosuch" as "median_ms"), /is not one of/);
  } finally {
    store.close();
  }
  await Deno.remove(dir, { recursive: true });
});
