/**
 * `run --filter ''` is exit 2 (it would select every case), but a library caller's `filter: ""`
 * (an empty selection built from an unset variable, say) was read as no filter: runMatrix
 * ran the whole matrix and selectMatrixCases returned all of it. Both now refuse it, as they
 * refuse a malformed filter, before anything is read or written.
 */
import assert from "node:assert/strict";
import { runMatrix } from "../runner/run_matrix.ts";
import { runMatrixOptionIssues } from "../runner/run_options.ts";
import { selectMatrixCases } from "../matrix/select.ts";
import { pathExists } from "../util/fs.ts";

Deno.test("runMatrix: an empty or malformed filter throws before anything runs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla-empty-filter-" });
  try {
    for (const [i, filter] of ["", " ; ", "prest=tiny"].entries()) {
      const out = `${dir}/run-${i}`;
      await assert.rejects(
        runMatrix({
          matrix: "smoke",
          out,
          filter,
          progressMode: "failures",
          testOnlyCaseRunner: () => Promise.reject(new Error("no case may run")),
        }),
        // the RangeError of the filter's parsing, as selectMatrixCases and `run --filter`
        // give it
        (e: unknown) => {
          assert.ok(e instanceof RangeError, String(e));
          assert.match(e.message, /^filter /, e.message);
          return true;
        },
      );
      assert.equal(await pathExists(out), false, `${JSON.stringify(filter)}: nothing written`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runMatrixOptionIssues: an empty filter says it would select every case", () => {
  const [issue] = runMatrixOptionIssues({ matrix: "smoke", out: "o", filter: "" });
  assert.equal(issue.path, "filter");
  assert.match(issue.message, /holds no key=value term \(it would select every case\)/);
  assert.deepEqual(runMatrixOptionIssues({ matrix: "smoke", out: "o", filter: "preset=tiny" }), []);
});

Deno.test("selectMatrixCases: an empty filter is refused, not read as none", async () => {
  await assert.rejects(
    selectMatrixCases({ matrix: "smoke", filter: "" }),
    RangeError,
    "holds no key=value term",
  );
});
