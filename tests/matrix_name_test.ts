// `run --matrix` reads any value but a bundled matrix's name as a file. A matrix file named
// without .json and given without a folder (`--matrix mine`) was taken for another matrix
// than the same file written `./mine`: its `--resume` was refused as "a run of matrix mine
// ... this run is of matrix ./mine", and merge and compare did not pair `mine` with
// `/ci/mine`. Bundled names stay apart from any file.
import assert from "node:assert/strict";
import { sameMatrixHere, sameMatrixName } from "../matrix/matrix_name.ts";

Deno.test("a matrix file named without .json is one matrix however its path is written", () => {
  assert.ok(sameMatrixHere("mine", "./mine"));
  assert.ok(sameMatrixHere("./ci/../mine", "mine"));
  assert.ok(sameMatrixName("mine", "/ci/runner-2/mine"));
  // a bundled name is not a file of that name, and two files of other names differ
  assert.ok(!sameMatrixHere("smoke", "./smoke"));
  assert.ok(!sameMatrixName("smoke", "/ci/smoke"));
  assert.ok(!sameMatrixName("smoke", "smoke.json"));
  assert.ok(!sameMatrixHere("a/mine", "b/mine"));
  assert.ok(sameMatrixHere("nightly", "nightly"));
});
