// A baseline hashes each kernel file list once per report: the cases of one backend share
// their digest, which is still kernelDigest() of that backend's files, and a case of
// another backend gets its own.
import assert from "node:assert/strict";
import { baselineCase, baselineFromReport } from "../drift/baseline.ts";
import { kernelDigest, kernelFilesFor } from "../drift/kernel_files.ts";
import type { CaseResult } from "../results/types.ts";
import { caseResult, lavapipeFingerprint, reportOf } from "./drift_helpers.ts";

Deno.test("baseline: one kernel digest per file list, each kernelDigest() of the case's files", async () => {
  const hashes = lavapipeFingerprint().kernelHashes;
  const absorbed = (i: number) =>
    caseResult(`preset=tiny;path=absorbed;dtype=f32;b=2;sq=1;sk=${20 + i}`, 1, i);
  const expanded = (i: number) =>
    caseResult(`preset=tiny;path=expanded;dtype=f32;b=2;sq=1;sk=${20 + i}`, 1, i);
  const results: CaseResult[] = [
    ...Array.from({ length: 5 }, (_, i) => absorbed(i)),
    ...Array.from({ length: 3 }, (_, i) => expanded(i)),
    { ...absorbed(9), decision: "unsupported", backend: undefined }, // no kernel ran
  ];
  const digests = new Map<string, Promise<string | null>>();
  const cases = [];
  for (const r of results) cases.push(await baselineCase(r, hashes, digests));
  assert.equal(digests.size, 3, "one per file list: two backends and none");
  for (const [i, c] of cases.entries()) {
    const files = results[i].decision === "supported"
      ? kernelFilesFor(results[i].backend ?? null, hashes)
      : [];
    assert.deepEqual(c.kernelFiles, files);
    assert.equal(c.kernelHash, await kernelDigest(files, hashes), c.id);
  }
  assert.notEqual(cases[0].kernelHash, cases[5].kernelHash);
  assert.equal(cases[8].kernelHash, null);
  // baselineFromReport gives every case the digest a case alone gets
  const b = await baselineFromReport(reportOf(results));
  for (const [i, c] of b.cases.entries()) {
    assert.equal(c.kernelHash, (await baselineCase(results[i], hashes)).kernelHash);
  }
});
