// `run --baseline` with a baseline that has no case in common with the run: exit 2 with
// compare's message (drift/after_run.ts checkCasesInCommon, shared by both), not "no
// regressions"; compare.md and compare.json are not written.
import assert from "node:assert/strict";
import { checkCasesInCommon, driftAfterRun, DriftInputError } from "../drift/mod.ts";
import { hasAdapter } from "../gpu/device.ts";
import { baselineOf, caseResult, reportOf, supportedCase } from "./drift_helpers.ts";
import { runCli } from "./helpers_cli.ts";

const A = "preset=tiny;path=absorbed;dtype=f32;b=2;sq=1;sk=20;layout=bshd;causal=1";
/** A case no bundled matrix has (b=7, sk=999). */
const ELSEWHERE = "preset=tiny;path=absorbed;dtype=f32;b=7;sq=1;sk=999;layout=bshd;causal=1";

Deno.test("checkCasesInCommon: disjoint sides throw naming both; one case in common is enough", () => {
  const base = baselineOf([supportedCase(ELSEWHERE)], { filter: "b=7" });
  const current = baselineOf([supportedCase(A)]);
  assert.throws(
    () => checkCasesInCommon(base, current, { base: "b.json", current: "out/run" }),
    (e: Error) => {
      assert.ok(e instanceof DriftInputError);
      assert.equal(
        e.message,
        "out/run: none of its 1 cases is in b.json (1 cases, matrix smoke, filter b=7; this " +
          "run: matrix smoke): nothing to compare. Compare runs of one matrix and filter, or " +
          "make a baseline of this run (baseline update --from-report)",
      );
      return true;
    },
  );
  const both = baselineOf([supportedCase(ELSEWHERE), supportedCase(A)]);
  checkCasesInCommon(both, current, { base: "b.json", current: "out/run" });
  // nothing ran: left to the comparison (every case removed)
  checkCasesInCommon(base, baselineOf([]), { base: "b.json", current: "out/run" });
});

Deno.test("driftAfterRun: a baseline with no case of the run is DriftInputError, nothing written", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/b.json`,
      JSON.stringify(baselineOf([supportedCase(ELSEWHERE)])),
    );
    await assert.rejects(
      () => driftAfterRun(reportOf([caseResult(A, 1, 1)]), { baseline: `${dir}/b.json`, out: dir }),
      DriftInputError,
      `${dir}: none of its 1 cases is in ${dir}/b.json`,
    );
    await assert.rejects(() => Deno.stat(`${dir}/compare.md`), Deno.errors.NotFound);
    await assert.rejects(() => Deno.stat(`${dir}/compare.json`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "run --baseline with no case in common: exit 2 with compare's message, no 'no regressions'",
  ignore: !(await hasAdapter()),
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const baseline = `${dir}/elsewhere.json`;
      await Deno.writeTextFile(baseline, JSON.stringify(baselineOf([supportedCase(ELSEWHERE)])));
      const out = `${dir}/out`;
      const r = await runCli([
        "run",
        "--filter",
        "preset=tiny;layout=bshd;sq=1;causal=1;dtype=f32;path=absorbed",
        "--repeats",
        "0",
        "--baseline",
        baseline,
        "--out",
        out,
      ]);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.doesNotMatch(r.stdout, /no regressions/i);
      assert.match(r.stderr, /none of its \d+ cases is in .*elsewhere\.json.*nothing to compare/);
      await assert.rejects(() => Deno.stat(`${out}/compare.md`), Deno.errors.NotFound);
      // the run's own reports are kept: compare of the same two gives the same message
      const c = await runCli(["compare", baseline, out]);
      assert.equal(c.code, 2, c.stdout + c.stderr);
      const message = (s: string) => s.split("\n").find((l) => l.startsWith("error: "));
      assert.equal(message(r.stderr), message(c.stderr));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
