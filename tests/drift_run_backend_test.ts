// The backend a run used travels with its report (Fingerprint.backend), so its device key
// and its baseline's backend are the run's own, not those of the process comparing it.
import assert from "node:assert/strict";
import { backendChoiceChanges } from "../drift/compare.ts";
import {
  baselineFromReport,
  baselineProblem,
  compareBaselines,
  deviceKey,
  runBackend,
} from "../drift/mod.ts";
import { diffFingerprints } from "../report/fingerprint_diff.ts";
import type { BrowserFingerprint } from "../results/types.ts";
import { caseResult, lavapipeFingerprint, reportOf } from "./drift_helpers.ts";

Deno.test("the recorded backend wins over the comparing process's", () => {
  assert.equal(runBackend({ backend: "gl" }, { backend: "vulkan" }), "gl");
  assert.equal(runBackend({}, { backend: "vulkan" }), "vulkan");
  assert.equal(
    deviceKey(lavapipeFingerprint({ backend: "gl" }), { backend: "vulkan" }),
    "llvmpipe-65541-gl",
  );
  // A report written before the field existed keys as before.
  assert.equal(deviceKey(lavapipeFingerprint(), { backend: "vulkan" }), "llvmpipe-65541-vulkan");
});

Deno.test("a browser run's baseline names the browser as its backend, not this process's", async () => {
  const browser: BrowserFingerprint = {
    name: "chromium",
    version: "HeadlessChrome/156",
    path: "/usr/bin/chromium-headless-shell",
    userAgent: "test",
  };
  const report = reportOf([caseResult("preset=tiny", 1, 1)], {
    fingerprint: lavapipeFingerprint({ backend: "vulkan", browser }),
  });
  const b = await baselineFromReport(report, { backend: "vulkan" });
  assert.equal(b.backend, "chromium");
  assert.match(b.deviceKey, /-chromium$/);
  const deno = await baselineFromReport(
    reportOf([caseResult("preset=tiny", 1, 1)], {
      fingerprint: lavapipeFingerprint({ backend: "gl" }),
    }),
  );
  assert.equal(deno.backend, "gl");
  assert.equal(deno.deviceKey, "llvmpipe-65541-gl");
});

Deno.test("a backend change between two runs is attributed", () => {
  const changes = diffFingerprints(
    lavapipeFingerprint({ backend: "vulkan" }),
    lavapipeFingerprint({ backend: "gl" }),
  );
  assert.deepEqual(
    changes.filter((c) => c.field === "adapter.backend"),
    [{ field: "adapter.backend", from: "vulkan", to: "gl" }],
  );
  // An older report without the field: no invented change.
  assert.equal(
    diffFingerprints(lavapipeFingerprint(), lavapipeFingerprint({ backend: "gl" }))
      .some((c) => c.field === "adapter.backend"),
    false,
  );
});

Deno.test("--backend and --backend-module travel from the report to the baseline, and a compare names their change", async () => {
  const results = [caseResult("preset=tiny", 1, 1)];
  const user = await baselineFromReport(
    reportOf(results, { backend: "naive", backendModules: ["examples/backends/naive/mod.ts"] }),
    { backend: "vulkan" },
  );
  // before, the baseline kept neither: a compare could not say the backend had changed
  assert.equal(user.backendOverride, "naive");
  assert.deepEqual(user.backendModules, ["examples/backends/naive/mod.ts"]);
  assert.equal(baselineProblem(JSON.parse(JSON.stringify(user))), null);
  const plain = await baselineFromReport(reportOf(results), { backend: "vulkan" });
  assert.equal("backendOverride" in plain, false);
  assert.equal("backendModules" in plain, false);
  for (
    const [k, v] of [["backendOverride", ""], ["backendModules", "a.ts"], ["backendModules", [""]]]
  ) {
    assert.match(baselineProblem({ ...user, [k as string]: v }) ?? "", new RegExp(`field "${k}"`));
  }
  // a case that changed between a run on the adapter's choice and one on the module: the
  // environment names the change, and so does the case's attribution
  const moved = await baselineFromReport(
    reportOf([{ ...caseResult("preset=tiny", 1, 1), backend: "naive", planDigest: "n" }], {
      backend: "naive",
      backendModules: ["examples/backends/naive/mod.ts"],
    }),
    { backend: "vulkan" },
  );
  const cmp = compareBaselines(plain, moved);
  const line =
    "Backends: --backend (none: the adapter's choice) → naive; --backend-module (none) " +
    "→ examples/backends/naive/mod.ts";
  assert.ok(cmp.environment.summary.includes(line), cmp.environment.summary.join("\n"));
  const c = cmp.cases.find((x) => x.id === "preset=tiny")!;
  assert.notEqual(c.class, "unchanged");
  assert.ok(c.attributedTo.includes(line), c.attributedTo.join("\n"));
  // the same choice on both sides: nothing said
  assert.equal(
    compareBaselines(user, moved).environment.summary.some((l) => l.startsWith("Backends:")),
    false,
  );
  // one module typed two ways (from two folders) is one module: it named a change; the same
  // words from two folders are two modules, named by where they are
  const at = async (typed: string, path: string) =>
    await baselineFromReport(
      reportOf(results, { backend: "naive", backendModules: [typed], backendModulePaths: [path] }),
      { backend: "vulkan" },
    );
  const here = await at("b/mod.ts", "/w/b/mod.ts");
  assert.deepEqual(here.backendModulePaths, ["/w/b/mod.ts"]);
  assert.equal(baselineProblem(JSON.parse(JSON.stringify(here))), null);
  assert.match(
    baselineProblem({ ...here, backendModulePaths: ["/a", "/b"] }) ?? "",
    /field "backendModulePaths"/,
  );
  assert.equal(backendChoiceChanges(here, await at("/w/b/mod.ts", "/w/b/mod.ts")), null);
  assert.equal(
    backendChoiceChanges(here, await at("b/mod.ts", "/v/b/mod.ts")),
    "Backends: --backend-module /w/b/mod.ts → /v/b/mod.ts",
  );
  assert.equal(
    backendChoiceChanges(here, await at("c/mod.ts", "/w/c/mod.ts")),
    "Backends: --backend-module b/mod.ts → c/mod.ts",
  );
});
