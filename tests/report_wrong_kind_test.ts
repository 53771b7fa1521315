// Another of the harness's JSON files where a run's report.json is expected (a bench report,
// a drift baseline, a compare report, a run.json, a devices --json file) is named for what it
// is, with what is expected, exit 2: not "unsupported version undefined (expected 1)".
import assert from "node:assert/strict";
import { runReportProblem } from "../report/validate.ts";
import { baselineProblem } from "../drift/baseline.ts";
import { wrongFileKind } from "../adapter/file_kind.ts";
import { runCli } from "./helpers_cli.ts";

const baselineFile = new URL("../baselines/llvmpipe-65541-vulkan.json", import.meta.url).pathname;
const capsFile = new URL("./fixtures/caps_lavapipe.json", import.meta.url).pathname;
const bench = {
  machine: { cpu: "x", cores: 2, adapter: "llvmpipe", deno: "2.9.6" },
  ceilings: {},
  records: [],
  targets: [],
  targetClass: "cpu",
  warnings: [],
};

Deno.test("runReportProblem names the kind of a wrong file and what is expected", async () => {
  const kinds: [unknown, RegExp][] = [
    [
      bench,
      /^it is a bench report \(bench --out writes it: records and targets\); expected the report\.json of a run/,
    ],
    [
      JSON.parse(await Deno.readTextFile(baselineFile)),
      /^it is a drift baseline \(baseline update writes it/,
    ],
    [{ format: "mla-harness-compare", version: 1 }, /^it is a compare report/],
    [
      { version: 1, state: "finished", report: {} },
      /^it is a run's run\.json \(run writes it beside report\.json: state and report\); expected the report\.json of a run/,
    ],
    [
      JSON.parse(await Deno.readTextFile(capsFile)),
      /^it is a device capabilities file \(devices --json/,
    ],
  ];
  for (const [value, message] of kinds) assert.match(runReportProblem(value) ?? "", message);
  assert.equal(wrongFileKind({ version: 1, results: [] }, "run-report"), null);
  assert.equal(wrongFileKind([1], "run-report"), null);
  assert.equal(runReportProblem({ version: 0 }), "unsupported version 0 (expected 1)");
  // a later version is a newer harness's: what to do is said, per kind of file
  assert.equal(
    runReportProblem({ version: 2 }),
    "version 2, written by a newer harness (this one reads version 1): read it with that " +
      "harness, or run its matrix again with this one",
  );
  assert.match(
    baselineProblem({ format: "mla-harness-baseline", version: 3 }) ?? "",
    /^version 3, written by a newer harness .*remake it with this one \(baseline update\)$/,
  );
});

Deno.test("CLI: merge, baseline update and history --add say what the wrong file is (exit 2)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/b1`);
    await Deno.writeTextFile(`${dir}/b1/report.json`, JSON.stringify(bench));
    // one cheap case, should the run not refuse the folder
    const one = { preset: "tiny", backend: "cpu-reference", b: 1, sq: 1, sk: 4 };
    await Deno.writeTextFile(
      `${dir}/one.json`,
      JSON.stringify({ name: "one", groups: [{ axes: one }] }),
    );
    const [merge, update, history] = await Promise.all([
      runCli(["merge", `${dir}/b1`, "--out", `${dir}/mg`]),
      runCli(["baseline", "update", "--from-report", `${dir}/b1`, "--dir", `${dir}/bl`]),
      runCli(["history", "--db", `${dir}/h.sqlite`, "--add", baselineFile]),
    ]);
    // after the merge: a run holds b1's run.lock while it checks the folder, and a merge
    // beside it took b1 for a run still going (CI at 83a4fc9)
    const run = await runCli([
      "run",
      "--out",
      `${dir}/b1`,
      "--matrix",
      `${dir}/one.json`,
      "--repeats",
      "0",
    ]);
    for (const r of [merge, update, run]) {
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(
        r.stderr,
        /b1\/report\.json: not a run report: it is a bench report \(bench --out/,
      );
      assert.doesNotMatch(r.stderr, /unsupported version undefined/);
    }
    assert.equal(history.code, 2, history.stdout + history.stderr);
    assert.match(history.stderr, /not a run report: it is a drift baseline/);
    assert.deepEqual(
      [...Deno.readDirSync(dir)].map((e) => e.name).sort(),
      ["b1", "one.json"],
      "nothing else written",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("baselineProblem: a fingerprint without its adapter or host is named (it passed, and compare read a driver change)", async () => {
  const good = JSON.parse(
    await Deno.readTextFile(new URL("../baselines/llvmpipe-65541-vulkan.json", import.meta.url)),
  );
  assert.equal(baselineProblem(good), null);
  for (const field of ["adapter", "host"]) {
    const { [field]: _, ...rest } = good.fingerprint;
    assert.equal(
      baselineProblem({ ...good, fingerprint: rest }),
      `field "fingerprint" must be a fingerprint (runtime, host, adapter, kernelHashes); it lacks ${field}`,
    );
  }
});
