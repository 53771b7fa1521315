// The drift commands as a user runs them, without a GPU: compare (Markdown, JSON, exit
// codes), bad input named with the file and field (exit 2), upgrade-check's orchestration
// with stand-in runs, and its permission and usage errors.
import assert from "node:assert/strict";
import {
  DriftInputError,
  precheckUpgradeSelection,
  upgradeCheck,
  WORKING_TREE_REF,
  writeBaseline,
} from "../drift/mod.ts";
import type { UpgradeSide } from "../drift/mod.ts";
import {
  baselineOf,
  caseResult,
  lavapipeFingerprint,
  reportOf,
  samples,
  supportedCase,
  timing,
} from "./drift_helpers.ts";
import { runCli, runCliInProcess } from "./helpers_cli.ts";
import { STOP_SIGNALS } from "../util/stop_signals.ts";

const A = "preset=tiny;path=absorbed;dtype=f32;b=2;sq=1;sk=20;layout=bshd;causal=1";

Deno.test("compare: Markdown and JSON reports, exit 1 on a regression, 0 without", async () => {
  const dir = await Deno.makeTempDir();
  const base = await writeBaseline(`${dir}/baselines`, baselineOf([supportedCase(A)]));
  const slowed = baselineOf([supportedCase(A, { timing: timing(samples(5, 10, 3)) })]);
  await Deno.writeTextFile(`${dir}/slowed.json`, JSON.stringify(slowed));
  const r = await runCli([
    "compare",
    base,
    `${dir}/slowed.json`,
    "--md",
    `${dir}/c.md`,
    "--json",
    `${dir}/c.json`,
  ]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /\*\*1 regression\*\*/);
  assert.match(r.stdout, /\| speed regression \| 1 \|/);
  assert.match(await Deno.readTextFile(`${dir}/c.md`), /speed-regression/);
  assert.equal(JSON.parse(await Deno.readTextFile(`${dir}/c.json`)).counts["speed-regression"], 1);
  // not failing on speed (what CI does across machines)
  const lenient = await runCli([
    "compare",
    base,
    `${dir}/slowed.json`,
    "--fail-on",
    "numeric-drift,support-drift",
    "--format",
    "json",
  ]);
  assert.equal(lenient.code, 0, lenient.stderr);
  assert.equal(JSON.parse(lenient.stdout).regressions, 0);
  // a baselines folder picks the current run's device key (DENO_WEBGPU_BACKEND=vulkan)
  await Deno.writeTextFile(`${dir}/report.json`, JSON.stringify(reportOf([caseResult(A, 1, 1)])));
  const byDir = await runCli(["compare", `${dir}/baselines`, `${dir}/report.json`], {
    DENO_WEBGPU_BACKEND: "vulkan",
  });
  assert.notEqual(byDir.code, 2, byDir.stderr);
  const noKey = await runCli(["compare", `${dir}/baselines`, `${dir}/report.json`], {
    DENO_WEBGPU_BACKEND: "gl",
  });
  assert.equal(noKey.code, 2);
  assert.match(
    noKey.stderr,
    /no baseline for this device \(llvmpipe-65541-gl\); the folder has llvmpipe-65541-vulkan/,
  );
});

Deno.test("compare's terminal Markdown shows '>' where compare.md escapes it for a renderer", async () => {
  // the numeric-drift detail "(> 4x and above ...)" read "(&gt; 4x ...)" in the terminal
  const dir = await Deno.makeTempDir();
  const base = baselineOf([supportedCase(A)]);
  const drifted = baselineOf([
    supportedCase(A, {
      metrics: { ...supportedCase(A).metrics!, outMaxAbs: 5e-5 },
      outputDigest: "other",
    }),
  ]);
  await Deno.writeTextFile(`${dir}/base.json`, JSON.stringify(base));
  await Deno.writeTextFile(`${dir}/drifted.json`, JSON.stringify(drifted));
  const r = await runCli([
    "compare",
    `${dir}/base.json`,
    `${dir}/drifted.json`,
    "--md",
    `${dir}/c.md`,
  ]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /outMaxAbs .* \(> 4x and above /);
  assert.ok(!r.stdout.includes("&gt;"), r.stdout);
  assert.match(await Deno.readTextFile(`${dir}/c.md`), /\(&gt; 4x and above /);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("compare and run --baseline: bad input names the file and field (exit 2)", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/x.json`, JSON.stringify({ hello: 1 }));
  const notBaseline = await runCli(["compare", `${dir}/x.json`, `${dir}/x.json`]);
  assert.equal(notBaseline.code, 2);
  assert.match(notBaseline.stderr, /x\.json: neither a baseline/);
  const missing = await runCliInProcess(["compare", `${dir}/none.json`, `${dir}/x.json`]);
  assert.equal(missing.code, 2);
  assert.match(
    missing.stderr,
    /none\.json: the file does not exist; give a baseline file, a baselines folder/,
  );
  const badClass = await runCliInProcess([
    "compare",
    `${dir}/x.json`,
    `${dir}/x.json`,
    "--fail-on",
    "slow",
  ]);
  assert.equal(badClass.code, 2);
  assert.match(badClass.stderr, /"slow" is not a drift class/);
  await Deno.writeTextFile(`${dir}/t.json`, JSON.stringify({ alpha: 7 }));
  const badThresholds = await runCliInProcess([
    "compare",
    `${dir}/x.json`,
    `${dir}/x.json`,
    "--thresholds",
    `${dir}/t.json`,
  ]);
  assert.equal(badThresholds.code, 2);
  assert.match(badThresholds.stderr, /t\.json: field "alpha" must be a number in \(0, 1\]/);
  // run checks a baseline file before running anything (no adapter needed)
  const run = await runCli([
    "run",
    "--filter",
    "preset=tiny",
    "--baseline",
    `${dir}/x.json`,
    "--out",
    `${dir}/o`,
  ]);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /x\.json: field "format" must be "mla-harness-baseline"/);
  const runMissing = await runCli(["run", "--baseline", `${dir}/nope.json`, "--out", `${dir}/o`]);
  assert.equal(runMissing.code, 2);
  assert.match(
    runMissing.stderr,
    /nope\.json: the file does not exist; give a baseline file or a folder of baselines/,
  );
});

Deno.test("upgrade-check: usage and permission errors (exit 2)", async () => {
  const both = await runCli([
    "upgrade-check",
    "--from",
    "2.9.5",
    "--to",
    "2.9.6",
    "--from-ref",
    "HEAD~1",
  ]);
  assert.equal(both.code, 2);
  // the harness task (and this test's CLI) may not start npx: a clear message, not a crash
  assert.match(
    both.stderr,
    /upgrade-check starts subprocesses \(npx\).*deno run -A main\.ts upgrade-check/,
  );
  const noRun = await runCli(["upgrade-check", "--from", "2.9.5", "--to", "2.9.6"]);
  assert.equal(noRun.code, 2);
});

Deno.test("upgrade-check: a word no option takes is exit 2 naming it, the options each side takes, and the missing pair", async () => {
  // --from-ref X HEAD: the candidate side's --to-ref left out (commander said only "too many
  // arguments"); refused before any permission or revision is looked at
  const refs = await runCli(["upgrade-check", "--from-ref", "HEAD~1", "HEAD"]);
  assert.equal(refs.code, 2, refs.stderr);
  assert.doesNotMatch(refs.stderr, /too many arguments|internal error|\n\s+at /);
  assert.match(
    refs.stderr,
    /^error: upgrade-check takes no positional arguments, but was given "HEAD" \(--to-ref HEAD, the candidate side\?\)/m,
  );
  assert.match(
    refs.stderr,
    /--from <runtime> and --to <runtime>.*--from-ref <rev> and --to-ref <rev>/,
  );
  const versions = await runCli(["upgrade-check", "--from", "2.9.5", "2.9.6"]);
  assert.equal(versions.code, 2, versions.stderr);
  assert.match(versions.stderr, /given "2\.9\.6" \(--to 2\.9\.6, the candidate side\?\)/);
  // both sides given: the words are named, no pair guessed
  const extra = await runCli(["upgrade-check", "--from-ref", "a", "--to-ref", "b", "x", "y"]);
  assert.equal(extra.code, 2, extra.stderr);
  assert.match(extra.stderr, /given "x", "y": each side is one option/);
});

Deno.test("upgrade-check --backend that ran none of the cases on a side: named, and the check fails", async () => {
  const out = await Deno.makeTempDir();
  try {
    // the 2.9.6 side's run refused every case on --backend (its run exited 1, as a failure)
    const runSide = async (side: UpgradeSide) => {
      await Deno.mkdir(side.outDir, { recursive: true });
      const ran = { ...caseResult(A, 1, 1), backend: "wgsl-expanded" };
      const refused = {
        ...ran,
        decision: "unsupported" as const,
        message: "not run by --backend wgsl-expanded: backend.path-mismatch",
        reasons: [{ code: "backend.path-mismatch", message: "the case asks for path absorbed" }],
        timing: undefined,
      };
      const r = reportOf([side.args[1] === "deno@2.9.6" ? refused : ran], {
        filter: "preset=tiny",
        backend: "wgsl-expanded",
      });
      await Deno.writeTextFile(`${side.outDir}/report.json`, JSON.stringify(r));
      return 1;
    };
    const result = await upgradeCheck({
      from: "2.9.5",
      to: "2.9.6",
      matrix: "smoke",
      filter: "preset=tiny;dtype=f32",
      repeats: 10,
      out: `${out}/c`,
      backend: "wgsl-expanded",
      runSide,
      log: () => {},
    });
    // before, the check compared what remained and said nothing of it
    assert.deepEqual(result.backendRanNothing, ["deno 2.9.6"]);
    // without --backend, nothing to say
    const plain = await upgradeCheck({
      from: "2.9.5",
      to: "2.9.6",
      matrix: "smoke",
      filter: "preset=tiny;dtype=f32",
      repeats: 10,
      out: `${out}/d`,
      runSide,
      log: () => {},
    });
    assert.equal(plain.backendRanNothing, undefined);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("upgrade-check orchestration: two Deno versions via npx, then the comparison", async () => {
  const out = await Deno.makeTempDir();
  const seen: UpgradeSide[] = [];
  // Stand-in runs: each writes the report.json its Deno version would have written.
  const runSide = async (side: UpgradeSide) => {
    seen.push(side);
    const deno = side.args[1].replace("deno@", "");
    await Deno.mkdir(side.outDir, { recursive: true });
    const fp = lavapipeFingerprint({ runtime: { deno, v8: `v8-${deno}`, typescript: "6.0.3" } });
    const r = reportOf([caseResult(A, 1, deno === "2.9.5" ? 1 : 2)], {
      fingerprint: fp,
      filter: "preset=tiny",
    });
    await Deno.writeTextFile(`${side.outDir}/report.json`, JSON.stringify(r));
    return 0;
  };
  const logged: string[] = [];
  const { report, labels } = await upgradeCheck({
    from: "2.9.5",
    to: "2.9.6",
    matrix: "smoke",
    filter: "preset=tiny;dtype=f32",
    repeats: 10,
    rounds: 2,
    out: `${out}/my check`,
    runSide,
    log: (line) => logged.push(line),
  });
  // each side's command, as logged, pastes into a shell: the filter's ";" and the folder's
  // space quoted (they were not)
  assert.ok(
    logged.includes(
      "upgrade-check: deno 2.9.5 (round 1/2): npx --yes deno@2.9.5 task harness run --matrix " +
        `smoke --out '${out}/my check/from/round-1' --repeats 10 --filter 'preset=tiny;dtype=f32'`,
    ),
    logged.join("\n"),
  );
  assert.deepEqual(labels, ["deno 2.9.5", "deno 2.9.6"]);
  // rounds alternate, each in its own folder, and are pooled per side
  assert.deepEqual(seen.map((s) => s.label), [
    "deno 2.9.5",
    "deno 2.9.6",
    "deno 2.9.5",
    "deno 2.9.6",
  ]);
  assert.ok(seen[2].outDir.endsWith("/from/round-2"));
  assert.ok(seen[2].args.includes(seen[2].outDir));
  assert.equal(report.cases[0].speed!.counts[0], 20);
  assert.equal(seen[0].command, "npx");
  assert.deepEqual(seen[0].args.slice(0, 5), ["--yes", "deno@2.9.5", "task", "harness", "run"]);
  assert.ok(seen[0].args.join(" ").includes("--filter preset=tiny;dtype=f32"));
  assert.ok(seen[0].args.join(" ").includes("--repeats 10"));
  assert.equal(seen[0].env.DENO_TLS_CA_STORE, "system,mozilla");
  assert.deepEqual(report.environment.summary, [
    "Deno: deno 2.9.5 → 2.9.6; v8 v8-2.9.5 → v8-2.9.6",
  ]);
  assert.equal(report.regressions, 0);
  // a side that fails outright is reported, not compared
  await assert.rejects(
    () =>
      upgradeCheck({
        from: "2.9.5",
        to: "2.9.6",
        matrix: "smoke",
        repeats: 1,
        out,
        runSide: () => Promise.resolve(3),
        log: () => {},
      }),
    /the deno 2\.9\.5 run failed with exit 3/,
  );
  // npx exits 1 for a version npm does not have, writing no report.json: the check stops
  // there, naming the side (it ran the other side, then said "to/report.json: missing")
  const ran: string[] = [];
  await assert.rejects(
    () =>
      upgradeCheck({
        from: "2.9.5",
        to: "99.0.0",
        matrix: "smoke",
        repeats: 1,
        out,
        runSide: (side) => {
          ran.push(side.label);
          return side.label === "deno 99.0.0" ? Promise.resolve(1) : runSide(side);
        },
        log: () => {},
      }),
    (e: Error) => {
      assert.doesNotMatch(e.message, /missing \(not a run output folder/);
      assert.match(e.message, /^upgrade-check: the deno 99\.0\.0 run exited 1 without writing /);
      assert.match(e.message, /is deno@99\.0\.0 published on npm\?/);
      return true;
    },
  );
  assert.deepEqual(ran, ["deno 2.9.5", "deno 99.0.0"]);
  await assert.rejects(
    () =>
      upgradeCheck({
        from: "2.9",
        to: "2.9.6",
        matrix: "smoke",
        repeats: 1,
        out,
        runSide,
        log: () => {},
      }),
    /--from: "2\.9" is not a Deno version/,
  );
});

Deno.test("upgrade-check: two sides with no case in common are exit 2, not 'No regressions'", async () => {
  const out = await Deno.makeTempDir();
  try {
    // the to side's revision names its cases otherwise (an axis added to every id)
    const runSide = async (side: UpgradeSide) => {
      await Deno.mkdir(side.outDir, { recursive: true });
      const id = side.label === "deno 2.9.5" ? A : `${A};page=0`;
      await Deno.writeTextFile(
        `${side.outDir}/report.json`,
        JSON.stringify(reportOf([caseResult(id, 1, 1)])),
      );
      return 0;
    };
    await assert.rejects(
      () =>
        upgradeCheck({
          from: "2.9.5",
          to: "2.9.6",
          matrix: "smoke",
          repeats: 10,
          out,
          runSide,
          log: () => {},
        }),
      DriftInputError,
      `the deno 2.9.6 side (${out}/to): none of its 1 case is in the deno 2.9.5 side (${out}/from)`,
    );
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("upgrade-check stopped at a side: an earlier check's compare.md, compare.json and side runs in --out are gone, not read as this check's", async () => {
  const out = await Deno.makeTempDir();
  try {
    // an earlier check's outputs: its verdict, and its to side's finished run
    await Deno.writeTextFile(
      `${out}/compare.md`,
      "## upgrade-check: earlier\n\n**No regressions**\n",
    );
    await Deno.writeTextFile(`${out}/compare.json`, "{}");
    await Deno.mkdir(`${out}/to`);
    await Deno.writeTextFile(`${out}/to/run.json`, "{}");
    await Deno.writeTextFile(`${out}/to/report.json`, "{}");
    await assert.rejects(
      () =>
        upgradeCheck({
          from: "2.9.5",
          to: "2.9.6",
          matrix: "smoke",
          repeats: 1,
          out,
          runSide: () => Promise.resolve(3),
          log: () => {},
        }),
      /the deno 2\.9\.5 run failed with exit 3/,
    );
    // they stayed, and a CI artifact of --out showed the earlier check's "No regressions"
    for (const p of ["compare.md", "compare.json", "to"]) {
      await assert.rejects(() => Deno.stat(`${out}/${p}`), Deno.errors.NotFound, p);
    }
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("upgrade-check orchestration: two git revisions in worktrees, removed afterwards", async () => {
  const out = await Deno.makeTempDir();
  const git: string[][] = [];
  const fakeGit = async (_cwd: string, args: readonly string[]) => {
    git.push([...args]);
    if (args[1] === "add") await Deno.mkdir(args[3], { recursive: true });
    return { code: 0, output: "" };
  };
  const runSide = async (side: UpgradeSide) => {
    await Deno.mkdir(side.outDir, { recursive: true });
    const rev = side.label === "ref v1" ? "1".repeat(40) : "2".repeat(40);
    const r = reportOf([caseResult(A, 1, 1)], {
      fingerprint: lavapipeFingerprint({ harnessRevision: rev }),
    });
    await Deno.writeTextFile(`${side.outDir}/report.json`, JSON.stringify(r));
    return 1; // a failing case is still compared
  };
  // an earlier check stopped halfway left a run in the from side's folder: started over
  await Deno.mkdir(`${out}/from`, { recursive: true });
  await Deno.writeTextFile(`${out}/from/run.json`, '{"version":1,"state":"running"}');
  await Deno.writeTextFile(`${out}/from/stale.txt`, "from the earlier check");
  const logged: string[] = [];
  const check = () =>
    upgradeCheck({
      fromRef: "v1",
      toRef: "main",
      matrix: "smoke",
      repeats: 3,
      out,
      runSide,
      git: fakeGit,
      log: (l) => logged.push(l),
    });
  const { report } = await check();
  assert.ok(
    logged.some((l) => /from holds an earlier check's run: removed/.test(l)),
    logged.join("\n"),
  );
  assert.ok(!(await Deno.stat(`${out}/from/stale.txt`).then(() => true, () => false)));

  assert.deepEqual(git.map((a) => a.slice(0, 2)), [["worktree", "add"], ["worktree", "add"], [
    "worktree",
    "remove",
  ], ["worktree", "remove"]]);
  assert.equal(git[0][4], "v1");
  assert.deepEqual(report.environment.summary, ["harness revision: 1111111111 → 2222222222"]);
  // a side folder holding an earlier check's run is started over, unless that run is still
  // going (its run.lock held): refused, the folder left alone
  await Deno.writeTextFile(`${out}/from/run.json`, '{"version":1,"state":"running"}');
  const lock = await Deno.open(`${out}/from/run.lock`, { write: true, create: true });
  await lock.lock(true);
  try {
    await assert.rejects(
      check(),
      /from: is being written by a run that is still going \(its run\.lock is held\)/,
    );
    assert.ok(await Deno.stat(`${out}/from/run.json`).then(() => true, () => false));
  } finally {
    await lock.unlock();
    lock.close();
  }
});

Deno.test("upgrade-check --to-ref .: this checkout as it is runs in the repository, no worktree", async () => {
  // an uncommitted kernel edit could not be checked: each side was a `git worktree add` of a
  // commit
  const out = await Deno.makeTempDir();
  const repoRoot = await Deno.makeTempDir();
  const git: string[][] = [];
  const fakeGit = async (_cwd: string, args: readonly string[]) => {
    git.push([...args]);
    if (args[1] === "add") await Deno.mkdir(args[3], { recursive: true });
    return { code: 0, output: "" };
  };
  const cwds: Record<string, string> = {};
  const runSide = async (side: UpgradeSide) => {
    cwds[side.label] = side.cwd ?? "";
    await Deno.mkdir(side.outDir, { recursive: true });
    const r = reportOf([caseResult(A, 1, 1)], { fingerprint: lavapipeFingerprint() });
    await Deno.writeTextFile(`${side.outDir}/report.json`, JSON.stringify(r));
    return 0;
  };
  try {
    await upgradeCheck({
      fromRef: "HEAD",
      toRef: WORKING_TREE_REF,
      matrix: "smoke",
      repeats: 3,
      out,
      runSide,
      git: fakeGit,
      repoRoot,
      log: () => {},
    });
    assert.deepEqual(git.map((a) => a.slice(0, 2).concat(a.slice(4, 5))), [
      ["worktree", "add", "HEAD"],
      ["worktree", "remove"],
    ]);
    assert.equal(cwds["working tree"], repoRoot);
    assert.notEqual(cwds["ref HEAD"], repoRoot);
    // the precheck answers for the working tree as run would: a bad filter value is exit 2
    await assert.rejects(
      () =>
        precheckUpgradeSelection({
          fromRef: WORKING_TREE_REF,
          toRef: WORKING_TREE_REF,
          matrix: "smoke",
          filter: "preset=nope",
          git: fakeGit,
        }),
      /--filter.*selects no case of matrix smoke/s,
    );
  } finally {
    await Deno.remove(out, { recursive: true });
    await Deno.remove(repoRoot, { recursive: true });
  }
});

Deno.test("upgrade-check stopped by a signal: the side is waited for, the worktrees removed, UpgradeInterrupted (the signal ended it, leaving them)", async () => {
  // SIGHUP (a terminal closed) as SIGTERM: it killed the check, its worktrees left behind
  // and SIGINT (a Ctrl-C): every signal of util/stop_signals.ts
  for (const signal of STOP_SIGNALS) {
    const dir = await Deno.makeTempDir();
    try {
      const root = new URL("../", import.meta.url).pathname;
      // In a process of its own: the side's run signals the check's process, as a user's kill
      // does, and ends as a stopped run does.
      await Deno.writeTextFile(
        `${dir}/driver.ts`,
        `import { upgradeCheck, UpgradeInterrupted } from "${root}drift/mod.ts";\n` +
          "const git: string[] = [];\n" +
          "let message = '';\n" +
          "try {\n" +
          "  await upgradeCheck({\n" +
          `    fromRef: "v1", toRef: "main", matrix: "smoke", repeats: 3, out: "${dir}/out",\n` +
          "    log: () => {},\n" +
          "    git: async (_cwd, args) => {\n" +
          "      git.push(args.slice(0, 2).join(' '));\n" +
          "      if (args[1] === 'add') await Deno.mkdir(args[3], { recursive: true });\n" +
          "      return { code: 0, output: '' };\n" +
          "    },\n" +
          "    runSide: async () => {\n" +
          `      Deno.kill(Deno.pid, '${signal}');\n` +
          "      await new Promise((r) => setTimeout(r, 200));\n" +
          "      return 143;\n" +
          "    },\n" +
          "  });\n" +
          "  console.log('finished');\n" +
          "} catch (e) {\n" +
          "  console.log(e instanceof UpgradeInterrupted ? `interrupted ${e.signal}` : String(e));\n" +
          "  message = String(e.message);\n" +
          "}\n" +
          "console.log(git.join(', '));\n" +
          "console.log(message);\n",
      );
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--no-check", "--config", `${root}deno.json`, "-A", `${dir}/driver.ts`],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, text);
      assert.match(
        text,
        new RegExp(
          `^interrupted ${signal}\\nworktree add, worktree add, worktree remove, worktree remove\\n`,
        ),
      );
      // the side's run printed its own resume line (`run ... --resume`), which is not the check's
      assert.match(
        text,
        /Its "to finish the run" line above is that run's alone, not this check's .*give this upgrade-check again; it runs both sides afresh\n/,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});

Deno.test("compare: no case in common is exit 2, not 'no regressions'; a run lacking cases is warned of", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const B = A.replace("dtype=f32", "dtype=f16");
    const C = A.replace("sk=20", "sk=21");
    await Deno.writeTextFile(`${dir}/f32.json`, JSON.stringify(baselineOf([supportedCase(A)])));
    await Deno.writeTextFile(
      `${dir}/f16.json`,
      JSON.stringify(baselineOf([supportedCase(B)], { filter: "dtype=f16" })),
    );
    const disjoint = await runCliInProcess(["compare", `${dir}/f32.json`, `${dir}/f16.json`]);
    assert.equal(disjoint.code, 2, disjoint.stdout + disjoint.stderr);
    assert.match(
      disjoint.stderr,
      /f16\.json: none of its 1 case is in .*f32\.json \(1 case, matrix smoke; this run: matrix smoke, filter dtype=f16\): nothing to compare/,
    );
    assert.doesNotMatch(disjoint.stdout, /No regressions/);
    // A run that selected two cases and has a result for one: compared, and said so.
    await Deno.writeTextFile(
      `${dir}/half.json`,
      JSON.stringify(reportOf([caseResult(A, 1, 1)], { matrixIds: [A, C], shardIds: [A, C] })),
    );
    await Deno.writeTextFile(
      `${dir}/both.json`,
      JSON.stringify(baselineOf([supportedCase(A), supportedCase(C)])),
    );
    const half = await runCliInProcess(["compare", `${dir}/both.json`, `${dir}/half.json`]);
    assert.notEqual(half.code, 2, half.stderr);
    assert.match(half.stderr, /half\.json has no result for 1 of its 2 selected cases/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("baseline update --from-report: a case skipped as expected is counted apart, as run counts it, not as a pass", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const skipped = {
      ...caseResult(`${A};page=16`, 1, 1),
      decision: "unsupported" as const,
      expect: { support: "unsupported" as const },
      message: "unsupported: variant.kv-splits",
      reasons: [{ code: "variant.kv-splits", message: "no KV splits" }],
      timing: undefined,
      parity: undefined,
    };
    const report = reportOf([caseResult(A, 1, 1), skipped]);
    await Deno.mkdir(`${dir}/run`);
    await Deno.writeTextFile(`${dir}/run/report.json`, JSON.stringify(report));
    const r = await runCliInProcess([
      "baseline",
      "update",
      "--from-report",
      `${dir}/run`,
      "--dir",
      `${dir}/bl`,
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    // it read "2 pass, 0 fail, 0 unexpected, 0 error"
    assert.match(
      r.stdout,
      /; 1 pass, 0 fail, 0 unexpected, 0 error, 1 skipped as expected\n$/,
    );
    assert.doesNotMatch(r.stderr, /under load/);
    // a run timed on a busy host (load 12 on 2 CPUs): the baseline is written, and said to be
    // a busy host's (every compare against it would say so, and nothing said it as it was made)
    const busy = {
      ...report,
      hostLoad: {
        start: { at: report.startedAt, load1: 1, load5: 1, cpus: 2 },
        end: { at: report.endedAt, load1: 12, load5: 10, cpus: 2 },
      },
    };
    await Deno.writeTextFile(`${dir}/run/report.json`, JSON.stringify(busy));
    const b = await runCliInProcess(
      ["baseline", "update", "--from-report", `${dir}/run`, "--dir", `${dir}/bl`, "--replace"],
    );
    assert.equal(b.code, 0, b.stdout + b.stderr);
    assert.match(
      b.stderr,
      /^warning: the baseline's timings were taken under load: the host had load 12\.0 on 2 CPUs \(6\.0 a CPU, above 2\).*update it on a quiet host$/m,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("compare.md's 'and N more' names where every row is: the JSON written, or how to write one", async () => {
  // compare without --json said "see the JSON report" of a report it had not written
  const dir = await Deno.makeTempDir();
  const ids = Array.from({ length: 42 }, (_, i) => A.replace("b=2", `b=${i + 1}`));
  const base = baselineOf(ids.map((id) => supportedCase(id)));
  const broken = baselineOf(ids.map((id) => supportedCase(id, { status: "error" })));
  await Deno.writeTextFile(`${dir}/base.json`, JSON.stringify(base));
  await Deno.writeTextFile(`${dir}/broken.json`, JSON.stringify(broken));
  const r = await runCliInProcess(["compare", `${dir}/base.json`, `${dir}/broken.json`]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /… and 2 more \(compare --json <file> lists every one\)/);
  const j = await runCliInProcess([
    "compare",
    `${dir}/base.json`,
    `${dir}/broken.json`,
    "--json",
    `${dir}/drift.json`,
    "--md",
    `${dir}/drift.md`,
  ]);
  assert.equal(j.code, 1, j.stderr);
  assert.match(
    await Deno.readTextFile(`${dir}/drift.md`),
    /… and 2 more \(drift\.json lists every one\)/,
  );
  await Deno.remove(dir, { recursive: true });
});

/**
 * upgrade-check with a stand-in `npx` whose side is a script that stops as `run` does
 * (cli/stop_signals.ts listenForStop): it writes its pid, waits for a stop (at most five
 * minutes), finishes its "case" when told to stop after it, and records how it stopped.
 */
async function stopSideCheck(dir: string, options: { group: boolean }) {
  const root = new URL("../", import.meta.url).pathname;
  await Deno.mkdir(`${dir}/bin`);
  await Deno.writeTextFile(
    `${dir}/side.ts`,
    `import { listenForStop, stopExitCode } from "${root}cli/stop_signals.ts";\n` +
      "const stop = listenForStop();\n" +
      // its process group, from /proc (the side runs with -A; the test may not read /proc)
      `const stat = await Deno.readTextFile("/proc/self/stat").catch(() => "");\n` +
      `await Deno.writeTextFile("${dir}/side.pgid", stat.replace(/^.*\\) /s, "").split(" ")[2] ?? "");\n` +
      `await Deno.writeTextFile("${dir}/side.pid", String(Deno.pid));\n` +
      "await new Promise((r) => {\n" +
      "  stop.afterCase.addEventListener('abort', r);\n" +
      "  stop.atOnce.addEventListener('abort', r);\n" +
      "  setTimeout(r, 300_000);\n" +
      "});\n" +
      "// the case under way ends\n" +
      "if (!stop.atOnce.aborted) await new Promise((r) => setTimeout(r, 300));\n" +
      "const by = stop.stoppedBy();\n" +
      "stop.dispose();\n" +
      `await Deno.writeTextFile("${dir}/side.ended", by ?? "none");\n` +
      "Deno.exit(by === null ? 0 : stopExitCode(by));\n",
  );
  await Deno.writeTextFile(
    `${dir}/bin/npx`,
    `#!/bin/sh\nexec "${Deno.execPath()}" run -A --no-check --config "${root}deno.json" ` +
      `"${dir}/side.ts"\n`,
    { mode: 0o755 },
  );
  const check = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `${root}main.ts`,
      "upgrade-check",
      "--from",
      "2.9.5",
      "--to",
      "2.9.6",
      "--filter",
      "preset=tiny",
      "--out",
      `${dir}/up`,
    ],
    env: { NO_COLOR: "1", PATH: `${dir}/bin` },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    // a group of its own, as a terminal's foreground job: the test signals it as a Ctrl-C does
    detached: options.group,
  }).spawn();
  const stderr = new Response(check.stderr).text();
  // generous bounds: a loaded machine starts Deno slowly; nothing here times a stop
  const waitFor = async (path: string) => {
    for (let i = 0; i < 1200; i++) {
      if (await Deno.stat(path).then(() => true, () => false)) return true;
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  };
  assert.ok(await waitFor(`${dir}/side.pid`), "the side started");
  const sidePid = Number(await Deno.readTextFile(`${dir}/side.pid`));
  return { check, stderr, waitFor, sidePid };
}

Deno.test("upgrade-check killed by SIGKILL: the side's run stops by itself when the check's pipe closes", async () => {
  const dir = await Deno.makeTempDir();
  let sidePid = 0;
  try {
    const s = await stopSideCheck(dir, { group: false });
    sidePid = s.sidePid;
    s.check.kill("SIGKILL");
    await s.check.status;
    // the side, in a group of its own, got no signal: its stdin's close stopped it, as SIGHUP
    assert.ok(
      await s.waitFor(`${dir}/side.ended`),
      "the side's run went on alone after the check was killed",
    );
    assert.equal(await Deno.readTextFile(`${dir}/side.ended`), "SIGHUP");
    assert.match(await s.stderr, /stdin closed: the upgrade-check that started this run has ended/);
    sidePid = 0;
  } finally {
    if (sidePid !== 0) {
      try {
        Deno.kill(sidePid, "SIGKILL");
      } catch {
        // ended
      }
    }
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "upgrade-check: one Ctrl-C (SIGINT to the terminal's process group) reaches the side's run once, exit 130",
  ignore: Deno.build.os !== "linux",
}, async () => {
  const dir = await Deno.makeTempDir();
  try {
    const s = await stopSideCheck(dir, { group: true });
    // The side is not in the check's group: in it, a Ctrl-C reached it twice (the terminal's,
    // then the check's, passed on), read as "interrupt again: abandoning the current case"
    // where the two did not arrive together
    // the check is detached (setsid), so its group is its pid; the side wrote its own group
    // (reading /proc/<pid>/stat here needs --allow-all, which the suite's runner does not give)
    const sideGroup = await Deno.readTextFile(`${dir}/side.pgid`);
    assert.match(sideGroup, /^\d+$/, "the side read its process group");
    assert.notEqual(sideGroup, String(s.check.pid));
    Deno.kill(-s.check.pid, "SIGINT");
    const { code } = await s.check.status;
    const text = await s.stderr;
    assert.equal(code, 130, text);
    // the terminal's SIGINT and the check's, passed on, read as "interrupt again"
    assert.equal(text.match(/interrupt: finishing the current case/g)?.length, 1, text);
    assert.doesNotMatch(text, /interrupt again/);
    assert.equal(await Deno.readTextFile(`${dir}/side.ended`), "SIGINT");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("compare on a full disk: exit 3 naming the file, as its --help says (it listed 1 and 2 alone)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const base = await writeBaseline(`${dir}/baselines`, baselineOf([supportedCase(A)]));
    const full = await new Deno.Command(Deno.execPath(), {
      args: [
        ...["run", "-A", new URL("./fixtures/disk_full_main.ts", import.meta.url).pathname],
        ...["compare", base, base, "--md", `${dir}/c.md`],
      ],
      env: { NO_COLOR: "1", MLA_TEST_FULL_FILE: "c.md" },
      stdout: "null",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(full.stderr);
    assert.equal(full.code, 3, stderr);
    assert.match(stderr, /c\.md: the disk \(or a quota\) is full/);
    const help = await runCli(["compare", "--help"]);
    assert.match(
      help.stdout.replace(/\s+/g, " "),
      /, 3 when an output cannot be written \(a full disk/,
    );
    // upgrade-check writes compare.md and compare.json as compare does
    const check = await runCli(["upgrade-check", "--help"]);
    assert.match(
      check.stdout.replace(/\s+/g, " "),
      /3 when a side's run failed, .* or an output cannot be written \(a full disk/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("upgrade-check stopped by a Ctrl-C while git makes a worktree: UpgradeInterrupted, not 'git worktree add failed' (bad input)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const root = new URL("../", import.meta.url).pathname;
    // git, in the check's process group, is stopped by the terminal's SIGINT as the check is
    await Deno.writeTextFile(
      `${dir}/driver.ts`,
      `import { upgradeCheck, UpgradeInterrupted } from "${root}drift/mod.ts";\n` +
        "try {\n" +
        "  await upgradeCheck({\n" +
        `    fromRef: "v1", toRef: "main", matrix: "smoke", repeats: 3, out: "${dir}/out",\n` +
        "    log: () => {},\n" +
        "    git: async (_cwd, args) => {\n" +
        "      if (args[1] !== 'add') return { code: 0, output: '' };\n" +
        "      Deno.kill(Deno.pid, 'SIGINT');\n" +
        "      await new Promise((r) => setTimeout(r, 200));\n" +
        "      return { code: 130, output: 'interrupted' };\n" +
        "    },\n" +
        "    runSide: () => Promise.resolve(0),\n" +
        "  });\n" +
        "  console.log('finished');\n" +
        "} catch (e) {\n" +
        "  console.log(e instanceof UpgradeInterrupted ? `interrupted ${e.signal}` : String(e));\n" +
        "}\n",
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-check", "--config", `${root}deno.json`, "-A", `${dir}/driver.ts`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, text);
    assert.match(text, /^interrupted SIGINT\n/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
