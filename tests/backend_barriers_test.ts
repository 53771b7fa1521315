/**
 * A user backend's WGSL gets the static barrier check (kernels/module_barriers.ts): on load,
 * `explain` and `run` warn of a race in a module's `files`; what a launch compiles is checked
 * as it runs; the run's report.json, summary.md, report.html and junit.xml carry them, a merge
 * keeps each finding once, and a module without one says nothing. Parity cannot show this:
 * the racy fixtures' cases pass.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  checkCompiledKernel,
  checkModuleSources,
  compiledBarrierFindings,
  mergeFindings,
} from "../kernels/module_barriers.ts";
import { barrierWarningLines, compiledBarrierLines } from "../cli/backend_options.ts";
import { lineSwitches } from "../kernels/compile_check.ts";
import { mergeRuns, runReportProblem, writeRunOutputs } from "../report/mod.ts";
import { toMarkdown } from "../report/markdown.ts";
import { junitProperties } from "../report/junit.ts";
import type { BackendBarrierFinding } from "../results/types.ts";
import { HAS_ADAPTER } from "./gpu_helpers.ts";
import { runCli } from "./helpers_cli.ts";
import { report, result, withTempDir } from "./report_util.ts";

const RACY = "tests/fixtures/backends/racy/mod.ts";
const RACY_BUILT = "tests/fixtures/backends/racy_built.ts";
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

Deno.test("checkModuleSources: a `// @f32:` comment line is no switch; the file is still checked", () => {
  // `// @name:` lines are line switches, but a reserved name is not one: the harness never
  // switches it on (specializeSource refuses), so the load must not either
  const code = "// @f32: a note on the f32 variant\n// @unroll: later\n" +
    "var<workgroup> s: array<f32, 4>;\n@compute @workgroup_size(4)\n" +
    "fn main(@builtin(local_invocation_index) i: u32) { s[i] = 1.0; let x = s[0]; }\n";
  const found = checkModuleSources([{ file: "k.wgsl", code }]);
  assert.deepEqual(found.findings.map((f) => [f.location, f.labels]), [["k.wgsl:5", ["f32"]]]);
  assert.deepEqual(found.skipped, []);
  assert.deepEqual(lineSwitches(code), []);
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

Deno.test("upgrade-check --backend-module: the module's race is a warning when it loads, before any side runs", async () => {
  // no --from/--to nor --from-ref/--to-ref: refused (exit 2) after the modules are loaded
  const r = await runCli(["upgrade-check", "--backend-module", RACY, "--backend", "racy"]);
  assert.equal(r.code, 2, r.stderr);
  assert.ok(
    r.stderr.includes(`warning: backend racy (module ${RACY}): hazard ${RACE_LINE} (f32; f16):`),
    r.stderr,
  );
  assert.match(r.stderr, /static barrier check .*lavapipe, cannot catch these/);
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
      // junit.xml, for CI: said in properties, not as a failing test case
      const xml = await Deno.readTextFile(`${tmp}/r/junit.xml`);
      assert.ok(xml.includes('<property name="run.barrierFindings" value="1"/>'), xml);
      assert.ok(xml.includes(`<property name="barrier.1" value="hazard ${RACE_LINE} of backend`));
      assert.match(xml, /<testsuite [^>]*failures="0"/);
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

Deno.test("merge: one finding two shards compiled in other specializations is one, with both labels", async () => {
  // a launch's findings carry the labels of the cases that shard ran (its f32 cases, the
  // other's f16 ones): one race, not two lines of summary.md
  await withTempDir(async (tmp) => {
    const all = [result({ b: 1 }), result({ b: 2 }), result({ b: 3 })];
    const shards = [
      [{ ...FINDING, labels: ["f32"] }],
      [{ ...FINDING, labels: ["f16", "f32"] }],
      [],
    ];
    for (const [i, findings] of shards.entries()) {
      const owned = [all[i]];
      await writeRunOutputs(
        `${tmp}/s${i}`,
        report(owned, {
          matrixIds: all.map((x) => x.id),
          shardIds: owned.map((x) => x.id),
          shard: `${i + 1}/3`,
          // the third shard from a harness before the field: no barrierFindings at all
          ...(i < 2 ? { barrierFindings: findings } : {}),
        }),
      );
    }
    const m = await mergeRuns([`${tmp}/s0`, `${tmp}/s1`, `${tmp}/s2`]);
    assert.deepEqual(m.report.barrierFindings, [{ ...FINDING, labels: ["f32", "f16"] }]);
    assert.match(toMarkdown(m.report), /### Barrier check \(1\)/);
    // a finding may be of no listed file (a kernel built in code): the text says both
    assert.match(
      toMarkdown(m.report),
      /of the modules' `files` and of what their launches compiled/,
    );
  });
});

Deno.test("checkCompiledKernel: what a launch compiles is checked once per source; findings merge their labels", () => {
  const racy = (n: number) =>
    `var<workgroup> s: array<f32, ${n}>;\n@compute @workgroup_size(${n})\n` +
    "fn main(@builtin(local_invocation_index) i: u32) { s[i] = 1.0; let x = s[0]; }";
  assert.deepEqual(compiledBarrierFindings(), []);
  checkCompiledKernel("mine", { fileName: "gen.wgsl", code: racy(4) }, "f32");
  checkCompiledKernel("mine", { fileName: "gen.wgsl", code: racy(4) }, "f32"); // again: once
  checkCompiledKernel("mine", { fileName: "gen.wgsl", code: racy(8) }, "f16");
  // unparseable and clean sources add nothing
  checkCompiledKernel("mine", { fileName: "odd.wgsl", code: "fn main( {" }, "f32");
  checkCompiledKernel("mine", {
    fileName: "ok.wgsl",
    code: "@compute @workgroup_size(1) fn main() {}",
  }, "f32");
  const found = compiledBarrierFindings();
  assert.equal(found.length, 1, JSON.stringify(found));
  assert.equal(found[0].backend, "mine");
  assert.equal(found[0].location, "gen.wgsl:3");
  assert.deepEqual(found[0].labels, ["f32", "f16"]);
  // one finding of two backends stays two
  assert.equal(mergeFindings([found[0], { ...found[0], backend: "other" }]).length, 2);
  // the end of a run names what the load did not
  const lines = compiledBarrierLines(found, [{
    module: { id: "mine" } as never,
    barriers: { findings: [], skipped: [] },
  }]);
  assert.deepEqual(lines, [
    `warning: backend mine: hazard gen.wgsl:3 (f32; f16), as its launch compiled it: ${
      found[0].message
    }`,
  ]);
  const atLoad = compiledBarrierLines(found, [{
    module: { id: "mine" } as never,
    barriers: { findings: [{ ...found[0], labels: ["f32"] }], skipped: [] },
  }]);
  assert.deepEqual(atLoad, []);
});

Deno.test({
  name:
    "run: a race a backend builds in code (no listed file) passes parity on this device and is named from what its launch compiled",
  ignore: !HAS_ADAPTER,
  fn: async () => {
    await withTempDir(async (tmp) => {
      const out = await runCli([
        ...["run", "--matrix", "smoke", "--filter", "preset=tiny;dtype=f32;layout=thd"],
        ...["--backend-module", RACY_BUILT, "--backend", "racy-built", "--repeats", "0"],
        ...["--out", `${tmp}/r`],
      ]);
      assert.equal(out.code, 0, out.stdout + out.stderr);
      assert.match(out.stdout, /[1-9]\d* pass, 0 fail/);
      assert.match(
        out.stderr,
        /warning: backend racy-built: hazard racy_built\.wgsl:\d+ \(f32\), as its launch compiled it: write of wg_scale \(line \d+\) reaches the read of wg_scale/,
      );
      const rep = JSON.parse(await Deno.readTextFile(`${tmp}/r/report.json`));
      assert.equal(rep.barrierFindings.length, 1, JSON.stringify(rep.barrierFindings));
      assert.equal(rep.barrierFindings[0].backend, "racy-built");
      assert.match(rep.barrierFindings[0].location, /^racy_built\.wgsl:\d+$/);
    });
  },
});

Deno.test({
  name: "bench and layer: a race a backend's launch compiled is a warning at the end",
  ignore: !HAS_ADAPTER,
  fn: async () => {
    await withTempDir(async (tmp) => {
      const backend = ["--backend-module", RACY_BUILT, "--backend", "racy-built"];
      const input = new URL("./fixtures/safetensors/tiny_input_bshd.safetensors", import.meta.url);
      const [bench, layer] = await Promise.all([
        runCli([
          ...["bench", "--matrix", "tiny", "--filter", "path=absorbed;dtype=f32;sk=64"],
          ...["--reps", "1", "--warmup-ms", "0", ...backend],
        ]),
        runCli([
          ...["layer", "--config", "tiny", "--input", input.pathname],
          ...["--out", `${tmp}/l.safetensors`, ...backend],
        ]),
      ]);
      const warning =
        /warning: backend racy-built: hazard racy_built\.wgsl:\d+ \(f32\), as its launch compiled it: write of wg_scale/;
      assert.equal(bench.code, 0, bench.stdout + bench.stderr);
      assert.match(bench.stderr, warning);
      assert.equal(layer.code, 0, layer.stdout + layer.stderr);
      assert.match(layer.stdout, /parity vs float64 reference .*: PASS/);
      assert.match(layer.stderr, warning);
    });
  },
});

Deno.test("junit.xml names the first 50 barrier findings as properties and counts them all", () => {
  const many = Array.from(
    { length: 60 },
    (_, i) => ({ ...FINDING, location: `racy.wgsl:${i + 1}` }),
  );
  const props = junitProperties(report([result({ b: 1 })], { barrierFindings: many }));
  assert.equal(props["run.barrierFindings"], "60");
  assert.equal(props["barrier.50"]?.startsWith("hazard racy.wgsl:50 of backend racy"), true);
  assert.equal(props["barrier.51"], undefined);
});
