/**
 * A user backend's WGSL gets the static barrier check on load (kernels/module_barriers.ts):
 * `explain` and `run` warn of a race in a module's `files`, the run's report.json,
 * summary.md and report.html carry it, a merge keeps each finding once, and a module
 * without one says nothing. Parity cannot show this: the racy fixture's cases pass.
 *
 * @module
 */
import assert from "node:assert/strict";
import { checkModuleSources } from "../kernels/module_barriers.ts";
import { barrierWarningLines } from "../cli/backend_options.ts";
import { mergeRuns, runReportProblem, writeRunOutputs } from "../report/mod.ts";
import { toMarkdown } from "../report/markdown.ts";
import type { BackendBarrierFinding } from "../results/types.ts";
import { HAS_ADAPTER } from "./gpu_helpers.ts";
import { runCli } from "./helpers_cli.ts";
import { report, result, withTempDir } from "./report_util.ts";

const RACY = "tests/fixtures/backends/racy/mod.ts";
const NAIVE = "examples/backends/naive/mod.ts";
const RACE_LINE = "racy.wgsl:20";

const FINDING: BackendBarrierFinding = {
  backend: "racy",
  location: RACE_LINE,
  labels: ["f32", "f16"],
  kind: "hazard",
  message: "write of tile[lid] (line 16) reaches the read of tile[i] (line 20) with no " +
    "workgroupBarrier() between: an invocation may read it before another invocation's write",
};

Deno.test("checkModuleSources: a race in a listed .wgsl file is found; other files are not read", () => {
  const racy = [
    "// @enable-f16",
    "var<workgroup> s: array<f32, 4>;",
    "@compute @workgroup_size(4)",
    "fn main(@builtin(local_invocation_index) i: u32) {",
    "  s[i] = 1.0;",
    "  let x = s[(i + 1u) % 4u];",
    "}",
  ].join("\n");
  const found = checkModuleSources([{ file: "k.wgsl", code: racy }]);
  assert.deepEqual(found.findings.map((f) => [f.location, f.labels]), [["k.wgsl:6", [
    "f32",
    "f16",
  ]]]);
  // without the f16 marker only f32 is a specialization of the file
  const f32Only = checkModuleSources([{
    file: "k.wgsl",
    code: racy.replace("// @enable-f16", ""),
  }]);
  assert.deepEqual(f32Only.findings.map((f) => f.labels), [["f32"]]);
  // with the barrier in place, nothing
  const fixed = racy.replace("  let x", "  workgroupBarrier();\n  let x");
  assert.deepEqual(checkModuleSources([{ file: "k.wgsl", code: fixed }]).findings, []);
  // a file that is not WGSL is not parsed as WGSL
  assert.deepEqual(checkModuleSources([{ file: "k.json", code: racy }]), {
    findings: [],
    skipped: [],
  });
  // source the check cannot read is named, not passed as clean
  const odd = checkModuleSources([{ file: "odd.wgsl", code: "fn main( {" }]);
  assert.equal(odd.findings.length, 0);
  assert.equal(odd.skipped.length, 1);
  assert.match(odd.skipped[0], /^odd\.wgsl: /);
});

Deno.test("barrierWarningLines: a warning per finding naming backend and module, then what the check is", () => {
  const lines = barrierWarningLines([{
    module: { id: "racy" } as never,
    specifier: RACY,
    barriers: {
      findings: [{ ...FINDING, labels: [...FINDING.labels] }],
      skipped: ["odd.wgsl: f32: unexpected token"],
    },
  }]);
  assert.equal(lines.length, 3);
  assert.equal(
    lines[0],
    `warning: backend racy (module ${RACY}): hazard ${RACE_LINE} (f32; f16): ${FINDING.message}`,
  );
  assert.equal(
    lines[1],
    `note: backend racy (module ${RACY}): barrier check skipped for odd.wgsl: f32: unexpected token`,
  );
  assert.match(lines[2], /static barrier check .*lavapipe, cannot catch these/);
});

Deno.test("explain --backend-module: the racy fixture's race is a warning on stderr; naive's WGSL has none", async () => {
  const racy = await runCli(["explain", "tiny", "--backend-module", RACY, "--backend", "racy"]);
  assert.equal(racy.code, 0, racy.stderr);
  assert.ok(
    racy.stderr.includes(`warning: backend racy (module ${RACY}): hazard ${RACE_LINE} (f32; f16):`),
    racy.stderr,
  );
  const naive = await runCli(["explain", "tiny", "--backend-module", NAIVE, "--backend", "naive"]);
  assert.equal(naive.code, 0, naive.stderr);
  assert.doesNotMatch(naive.stderr, /barrier/);
});

Deno.test({
  name:
    "run --backend-module racy: the cases pass, and report.json, summary.md and report.html name the race",
  ignore: !HAS_ADAPTER,
  fn: async () => {
    await withTempDir(async (tmp) => {
      const base = ["run", "--matrix", "smoke", "--filter", "preset=tiny;dtype=f32;layout=thd"];
      const out = await runCli([
        ...base,
        ...["--backend-module", RACY, "--backend", "racy", "--repeats", "0", "--out", `${tmp}/r`],
      ]);
      assert.equal(out.code, 0, out.stdout + out.stderr);
      assert.match(out.stdout, /[1-9]\d* pass, 0 fail/);
      assert.match(out.stderr, /found 1 problem in the user backends' WGSL/);
      const rep = JSON.parse(await Deno.readTextFile(`${tmp}/r/report.json`));
      assert.deepEqual(rep.barrierFindings, [FINDING]);
      const md = await Deno.readTextFile(`${tmp}/r/summary.md`);
      assert.ok(md.includes("**The static barrier check found 1 problem"), md);
      assert.ok(md.includes(`- hazard \`${RACE_LINE}\` of backend \`racy\` (f32; f16): `), md);
      const html = await Deno.readTextFile(`${tmp}/r/report.html`);
      assert.ok(html.includes('id="barrier-check"'));
      assert.ok(html.includes(`<code>${RACE_LINE}</code> of backend <code>racy</code>`));
      // naive: an empty list, recorded (the check ran and found nothing), and no section
      const clean = await runCli([
        ...base,
        ...["--backend-module", NAIVE, "--backend", "naive", "--repeats", "0", "--out", `${tmp}/n`],
      ]);
      assert.equal(clean.code, 0, clean.stdout + clean.stderr);
      assert.doesNotMatch(clean.stderr, /barrier/);
      const naiveRep = JSON.parse(await Deno.readTextFile(`${tmp}/n/report.json`));
      assert.deepEqual(naiveRep.barrierFindings, []);
      assert.doesNotMatch(await Deno.readTextFile(`${tmp}/n/summary.md`), /Barrier check/);
    });
  },
});

Deno.test("report.json's barrierFindings: a malformed entry is refused by name; merge keeps each finding once", async () => {
  const r = report([result({ b: 1 })]);
  assert.equal(runReportProblem({ ...r, barrierFindings: [FINDING] }), null);
  assert.match(
    runReportProblem({ ...r, barrierFindings: [{ ...FINDING, location: 7 }] }) ?? "",
    /^barrierFindings\[0\] must have non-empty string backend, location/,
  );
  assert.match(
    runReportProblem({ ...r, barrierFindings: "none" }) ?? "",
    /field "barrierFindings" must be an array or absent/,
  );
  await withTempDir(async (tmp) => {
    const all = [result({ b: 1 }), result({ b: 2 })];
    const other = { ...FINDING, location: "racy.wgsl:9" };
    for (const [i, findings] of [[FINDING], [FINDING, other]].entries()) {
      const owned = [all[i]];
      await writeRunOutputs(
        `${tmp}/s${i}`,
        report(owned, {
          matrixIds: all.map((x) => x.id),
          shardIds: owned.map((x) => x.id),
          shard: `${i + 1}/2`,
          barrierFindings: findings,
        }),
      );
    }
    const m = await mergeRuns([`${tmp}/s0`, `${tmp}/s1`]);
    assert.deepEqual(m.report.barrierFindings, [FINDING, other]);
    assert.match(toMarkdown(m.report), /### Barrier check \(2\)/);
  });
});
