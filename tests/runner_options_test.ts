/**
 * runMatrix checks a library caller's options before it reads or writes anything, as the CLI's
 * flag parsers do for `run`: a shard outside 1..count selected no case and the run passed, an
 * unregistered `backend` recorded every case as a skip (a pass), and repeats -1 or a negative
 * warm-up were written into the report. Each is now one ConfigError naming the option.
 */
import assert from "node:assert/strict";
import { ConfigError } from "../adapter/errors.ts";
import { runMatrix, type RunMatrixOptions } from "../runner/run_matrix.ts";
import { runMatrixOptionIssues } from "../runner/run_options.ts";
import { selectMatrixCases } from "../matrix/select.ts";
import { pathExists } from "../util/fs.ts";

const FILTER = "preset=tiny;dtype=f32;layout=thd;b=2;sq=1;causal=1;path=absorbed";

const BAD: [string, Partial<RunMatrixOptions>][] = [
  ["shard", { shard: { index: 3, count: 2 } }],
  ["shard", { shard: { index: 0, count: 2 } }],
  ["repeats", { repeats: -1 }],
  ["repeats", { repeats: 1.5 }],
  ["warmupMs", { warmupMs: -5 }],
  ["caseTimeoutMs", { caseTimeoutMs: Number.NaN }],
  ["maxCases", { maxCases: 0 }],
  ["maxRows", { maxRows: 0 }],
  ["maxLosses", { maxLosses: -1 }],
  ["backend", { backend: "no-such-backend" }],
];

Deno.test("runMatrix: options out of range or an unknown backend throw before anything runs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla-run-options-" });
  try {
    for (const [i, [path, bad]] of BAD.entries()) {
      const out = `${dir}/run-${i}`;
      const options: RunMatrixOptions = {
        matrix: "smoke",
        out,
        filter: FILTER,
        progressMode: "failures",
        ...bad,
        testOnlyCaseRunner: () => Promise.reject(new Error("no case may run")),
      };
      await assert.rejects(runMatrix(options), (e: unknown) => {
        assert.ok(e instanceof ConfigError, String(e));
        assert.deepEqual(e.issues.map((x) => x.path), [path], e.message);
        return true;
      });
      assert.equal(await pathExists(out), false, `${path}: nothing is written`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runMatrixOptionIssues: valid options, and every problem at once", () => {
  assert.deepEqual(
    runMatrixOptionIssues({
      matrix: "smoke",
      out: "o",
      shard: { index: 2, count: 2 },
      repeats: 0,
      warmupMs: "auto",
      caseTimeoutMs: 0,
      maxCases: 1,
      backend: "wgsl-absorbed",
    }),
    [],
  );
  assert.deepEqual(
    runMatrixOptionIssues({ matrix: "smoke", out: "o", repeats: -1, warmupMs: 0.5 })
      .map((x) => x.path),
    ["repeats", "warmupMs"],
  );
});

Deno.test("selectMatrixCases: a shard outside 1..count is refused, not an empty selection", async () => {
  for (const shard of [{ index: 3, count: 2 }, { index: 0, count: 2 }, { index: 1.5, count: 2 }]) {
    await assert.rejects(
      selectMatrixCases({ matrix: "smoke", filter: "preset=tiny", shard }),
      /shard: invalid shard\n {2}shard: .* must be \{ index, count \}, whole numbers with 1 <= index <= count/,
    );
  }
  const { mine } = await selectMatrixCases({
    matrix: "smoke",
    filter: "preset=tiny",
    shard: { index: 2, count: 2 },
  });
  assert.ok(mine.length > 0);
});
