// The backend a run used travels with its report (Fingerprint.backend), so its device key
// and its baseline's backend are the run's own, not those of the process comparing it.
import assert from "node:assert/strict";
import { baselineFromReport, deviceKey, runBackend } from "../drift/mod.ts";
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
