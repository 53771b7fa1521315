// `run --baseline` with a baseline that has no case in common with the run: exit 2 with
// compare's message (drift/after_run.ts checkCasesInCommon, shared by both), not "no
// regressions"; compare.md and compare.json are not written. A baselines folder whose baseline
// for this device an older harness named by its own key rules is compared with it.
import assert from "node:assert/strict";
import {
  checkCasesInCommon,
  driftAfterRun,
  DriftInputError,
  locateBaseline,
} from "../drift/mod.ts";
import { noBaselineWarning, precheckBaseline, resolveBaselineArg } from "../drift/after_run.ts";
import { readBaseline, writeBaseline } from "../drift/baseline.ts";
import { hasAdapter } from "../gpu/device.ts";
import {
  baselineOf,
  caseResult,
  lavapipeFingerprint,
  reportOf,
  supportedCase,
} from "./drift_helpers.ts";
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
        "out/run: none of its 1 case is in b.json (1 case, matrix smoke, filter b=7; this " +
          "run: matrix smoke): nothing to compare. Compare runs of one matrix and filter, or " +
          "make a baseline of this run (baseline update --from-report)",
      );
      return true;
    },
  );
  // a baseline of one shard and a run of the other: the two lines read alike without the shard
  assert.throws(
    () =>
      checkCasesInCommon(
        baselineOf([supportedCase(ELSEWHERE)], { shard: "1/2" }),
        baselineOf([supportedCase(A)], { shard: "2/2" }),
        { base: "b.json", current: "out/run" },
      ),
    (e: Error) => {
      assert.match(
        e.message,
        /\(1 case, matrix smoke, shard 1\/2; this run: matrix smoke, shard 2\/2\): nothing to compare\. Compare runs of one matrix and filter \(a baseline of the whole selection, not one shard\), or/,
      );
      return true;
    },
  );
  const both = baselineOf([supportedCase(ELSEWHERE), supportedCase(A)]);
  checkCasesInCommon(both, current, { base: "b.json", current: "out/run" });
  // nothing ran: left to the comparison (every case not run: nothing compared)
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
      `${dir}: none of its 1 case is in ${dir}/b.json`,
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

Deno.test("a baselines folder holding this device's baseline under an older harness's key (65b857a: -fallback-vulkan) is compared with it, saying so", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const baselines = `${dir}/baselines`;
    await Deno.mkdir(baselines);
    const old = "llvmpipe-65541-fallback-vulkan";
    const fixture = new URL(`./fixtures/upgrade/65b857a_baselines/${old}.json`, import.meta.url);
    await Deno.copyFile(fixture, `${baselines}/${old}.json`);
    const key = "llvmpipe-65541-vulkan";
    assert.deepEqual(await locateBaseline(baselines, key), {
      path: `${baselines}/${old}.json`,
      fromDir: true,
      exists: true,
      writtenAs: old,
    });
    assert.equal((await locateBaseline(baselines, "nvidia-h200-4318-9013-vulkan")).exists, false);
    // run --baseline's drift step compares (it warned "drift not checked" and exited 0)
    const report = reportOf([caseResult(A, 1, 1)], {
      fingerprint: lavapipeFingerprint({ backend: "vulkan" }),
    });
    const drift = await driftAfterRun(report, { baseline: baselines, out: dir });
    assert.notEqual(drift.compare, null);
    // compare <folder> <report> likewise (it was exit 2, "no baseline for this device")
    await Deno.writeTextFile(`${dir}/report.json`, JSON.stringify(report));
    const r = await runCli(["compare", baselines, `${dir}/report.json`]);
    assert.notEqual(r.code, 2, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /baselines\/llvmpipe-65541-fallback-vulkan\.json is this device's baseline under the key an older harness gave it \(llvmpipe-65541-fallback-vulkan; this harness's key is llvmpipe-65541-vulkan\): compared with it; rename it to .*\/llvmpipe-65541-vulkan\.json/,
    );
    // two such files: which one is meant is not guessed
    await Deno.copyFile(fixture, `${baselines}/llvmpipe-65541-old.json`);
    await assert.rejects(
      () => locateBaseline(baselines, key),
      /has no llvmpipe-65541-vulkan\.json, and llvmpipe-65541-fallback-vulkan\.json, llvmpipe-65541-old\.json are each this device's baseline/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("compare <baselines folder> <a baseline an older harness keyed otherwise>: the folder's file of that device is found", async () => {
  // the current side is a -fallback-vulkan baseline file (65b857a): the folder's lavapipe
  // baseline was "no baseline for this device (llvmpipe-65541-fallback-vulkan); the folder has
  // llvmpipe-65541-vulkan"
  const dir = await Deno.makeTempDir();
  try {
    const fixture = new URL(
      "./fixtures/upgrade/65b857a_baselines/llvmpipe-65541-fallback-vulkan.json",
      import.meta.url,
    );
    const old = await readBaseline(fixture.pathname);
    const path = await writeBaseline(`${dir}/baselines`, {
      ...old,
      deviceKey: "llvmpipe-65541-vulkan",
    });
    const found = await resolveBaselineArg(`${dir}/baselines`, old);
    assert.equal(found.deviceKey, "llvmpipe-65541-vulkan");
    assert.ok(path.endsWith("/llvmpipe-65541-vulkan.json"), path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("run --baseline <a run's output folder>: exit 2 before the run, naming compare and baseline update --from-report", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla run baseline folder " });
  try {
    // a finished run's folder, and a killed one's (run.json, no report.json)
    await Deno.mkdir(`${dir}/done`);
    await Deno.writeTextFile(`${dir}/done/report.json`, JSON.stringify(reportOf([])));
    await Deno.mkdir(`${dir}/killed`);
    await Deno.writeTextFile(`${dir}/killed/run.json`, "{}");
    for (const [sub, file] of [["done", "report.json"], ["killed", "run.json"]]) {
      await assert.rejects(
        () => precheckBaseline(`${dir}/${sub}`, { key: "llvmpipe-65541-vulkan" }),
        DriftInputError,
        `${dir}/${sub}: is a run's output folder (it has ${file}), not a folder of baselines`,
      );
    }
    // the CLI: nothing runs (it warned "no baseline for this device ... (it has report)",
    // exit 0, drift not checked, and offered to write a baseline into that run's folder)
    const r = await runCli([
      "run",
      "--filter",
      A,
      "--baseline",
      `${dir}/done`,
      "--out",
      `${dir}/o`,
    ]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.ok(
      r.stderr.includes(
        `error: ${dir}/done: is a run's output folder (it has report.json), not a folder of ` +
          "baselines; give a baseline file or a folder of baselines (e.g. baselines/). To " +
          `compare with that run: compare '${dir}/done' <this run's --out> after this run, or ` +
          `make a baseline of it first: baseline update --from-report '${dir}/done' --dir <folder>`,
      ),
      r.stderr,
    );
    await assert.rejects(() => Deno.stat(`${dir}/o`), Deno.errors.NotFound, "no --out");
    // a folder of baselines is still one
    await Deno.mkdir(`${dir}/baselines`);
    await precheckBaseline(`${dir}/baselines`, { key: "llvmpipe-65541-vulkan" });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("noBaselineWarning: the repeats a baseline needs follow the run's --thresholds minSamples", () => {
  const where = { baseline: "b", out: "o", key: "k", have: [] };
  assert.ok(!noBaselineWarning({ repeats: 10 }, where).includes("cannot test speed"));
  // a run whose thresholds ask for 20 samples a side: its 10 cannot test speed either
  assert.match(
    noBaselineWarning({ repeats: 10 }, { ...where, minSamples: 20 }),
    /\(its 10 timed repetitions a case cannot test speed: run with --repeats 20 first for a baseline that does\)$/,
  );
  // an interrupted run: baseline update --from-report refuses its report (exit 2), so the
  // command is offered for once the run is finished (it was offered as it stood)
  assert.match(
    noBaselineWarning({ repeats: 10, interrupted: true }, where),
    /drift not checked\. Once this run is finished \(its resume, 'to finish the run'\), create one from it with: deno task harness baseline update --from-report /,
  );
  assert.match(
    noBaselineWarning({ repeats: 10, interrupted: false }, where),
    /drift not checked\. Create one from this run with: /,
  );
});

Deno.test("baseline key <a baseline an older harness wrote>: this harness's key (the file name update writes), the recorded one in a note", async () => {
  const fixture = new URL(
    "./fixtures/upgrade/65b857a_baselines/llvmpipe-65541-fallback-vulkan.json",
    import.meta.url,
  ).pathname;
  const r = await runCli(["baseline", "key", fixture]);
  assert.equal(r.code, 0, r.stderr);
  // it printed llvmpipe-65541-fallback-vulkan: no file this harness writes or looks for
  assert.equal(r.stdout, "llvmpipe-65541-vulkan\n");
  assert.match(r.stderr, /records the key llvmpipe-65541-fallback-vulkan, by an older harness's/);
  // a baseline of this harness's rules: its key, no note
  const now = await runCli([
    "baseline",
    "key",
    new URL("./fixtures/upgrade/222fd31_baseline.json", import.meta.url).pathname,
  ]);
  assert.equal(now.stdout, "llvmpipe-65541-vulkan\n");
  assert.equal(now.stderr, "");
});
