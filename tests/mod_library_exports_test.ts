/**
 * What README and docs/backends.md tell a library user to use is exported by `mod.ts`
 * (deno.json's "."), not only by a file inside the package: `writeRunReports` for
 * `runMatrix`'s `writeReports`, `readReportJson` to read a report back, and what registers a
 * backend with a launcher (`validateBackendModule`, `registerBackendModule`,
 * `loadBackendModule`) with the types a backend module is written against.
 */
import assert from "node:assert/strict";
import * as mod from "../mod.ts";
import * as naive from "../examples/backends/naive/mod.ts";
import type {
  AttentionBuffers,
  BackendModule,
  GpuPlan,
  LaunchKit,
  RunMatrixOptions,
  SupportAnswer,
  SupportQuery,
} from "../mod.ts";

Deno.test("mod.ts: the report writer and reader README names for runMatrix", () => {
  assert.equal(typeof mod.writeRunReports, "function");
  assert.equal(typeof mod.readReportJson, "function");
  assert.equal(typeof mod.ReportFileError, "function");
  const options: RunMatrixOptions = {
    matrix: "smoke",
    out: "out/smoke",
    writeReports: mod.writeRunReports,
  };
  assert.equal(options.writeReports, mod.writeRunReports);
});

Deno.test("mod.ts: a backend module written against mod.ts' types registers with its launcher", async () => {
  assert.equal(typeof mod.registerBackendModule, "function");
  assert.equal(typeof mod.loadBackendModule, "function");
  assert.equal(mod.BACKEND_CONTRACT_VERSION, 1);
  const launch = (_plan: GpuPlan, _buffers: AttentionBuffers, _kit: LaunchKit) => Promise.resolve();
  const check = (q: SupportQuery): SupportAnswer => ({
    ...naive.check(q),
    reasons: [{ code: "lib-test.never", message: `refuses ${q.spec.name}` }],
  });
  const m: BackendModule = mod.validateBackendModule({
    contractVersion: 1,
    id: "lib-test-exports",
    description: "a backend registered from mod.ts",
    path: "absorbed",
    check,
    launch,
  }, "lib_test.ts");
  mod.registerBackendModule(m, "lib_test.ts");
  assert.ok(mod.registeredBackendIds().includes("lib-test-exports"));
  const r = mod.resolve({
    spec: mod.presetSpec("tiny"),
    dtype: "f32",
    backend: "lib-test-exports",
    layout: { kind: "bshd", batch: 1, seqQ: 1, seqK: 4, causal: true },
  }, null);
  assert.ok("reasons" in r && r.reasons.some((x) => x.code === "lib-test.never"));
  const loaded = await mod.loadBackendModule("examples/backends/naive/mod.ts");
  assert.equal(loaded.module.id, "naive");
});
