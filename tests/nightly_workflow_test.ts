// The example nightly workflow, as a user copies it: the YAML parses; every harness command
// line of its run steps (and of .ci/run) names a command and options that exist; each artifact
// the merge job reads is one a job it needs uploads, at the path the next command reads; the
// baselines folder it compares with holds baselines of the matrix it runs (a baseline of another
// matrix has no case in common: exit 2 every night); its Deno is .deno-version's. And it keeps
// one history across nights: shards run without --history, the merge job restores one
// database, appends the merged run, saves it, and publishes the HTML reports. Plus the CLI step
// it relies on: `history --add <run folder> --html` on a carried database sees every night.
import assert from "node:assert/strict";
import { parse } from "yaml";
import { runCli } from "./helpers_cli.ts";
import { report, result, withTempDir } from "./report_util.ts";
import { writeRunOutputs } from "../report/mod.ts";
import { HARNESS_SPEC, ROOT, TASKS } from "./harness_spec.ts";
import {
  checkHarnessArgs,
  type CommandSpec,
  parseDocCommand,
  shellWords,
} from "../tools/doc_commands.ts";

const WORKFLOW = `${ROOT}.github/workflows/nightly.yml`;

const program = HARNESS_SPEC;
const tasks = TASKS;

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  if?: string;
}
interface Job {
  needs?: string | string[];
  strategy?: { matrix?: Record<string, unknown[]> };
  steps: Step[];
}
interface Workflow {
  on: unknown;
  jobs: Record<string, Job>;
}

/** A job's matrix combinations (one empty one without a matrix). */
function combinations(job: Job): Record<string, string>[] {
  let out: Record<string, string>[] = [{}];
  for (const [axis, values] of Object.entries(job.strategy?.matrix ?? {})) {
    if (!Array.isArray(values)) continue; // include/exclude: not used here
    out = out.flatMap((c) => values.map((v) => ({ ...c, [axis]: String(v) })));
  }
  return out;
}

/** `${{ matrix.x }}` replaced by the combination's value, any other expression by `x`. */
function expand(text: string, combo: Record<string, string>): string {
  return text.replace(/\$\{\{\s*([^}]*?)\s*\}\}/g, (_, e: string) => {
    const m = /^matrix\.(\w+)$/.exec(e);
    return m && combo[m[1]] !== undefined ? combo[m[1]] : "x";
  });
}

/** The shell command lines of a script: `\`-continuations joined, comments dropped. */
function scriptLines(script: string): string[] {
  return script.replace(/\\\n/g, " ").split("\n").map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
}

/** The harness command lines (arguments after main.ts) of a script, and its other problems. */
function harnessLines(script: string): { args: string[]; line: string }[] {
  const out: { args: string[]; line: string }[] = [];
  for (const line of scriptLines(script)) {
    const c = parseDocCommand(line, tasks);
    assert.notEqual(c?.kind, "error", `${line}: ${c?.kind === "error" ? c.message : ""}`);
    if (c?.kind === "harness") out.push({ args: c.args, line });
  }
  return out;
}

/** The value of `--name` in a harness command line's arguments. */
function optionValue(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** Every problem of a workflow text, as the tests below report them. */
function workflowProblems(text: string, spec: CommandSpec = program): string[] {
  const problems: string[] = [];
  const wf = parse(text) as Workflow;
  const pinned = Deno.readTextFileSync(`${ROOT}.deno-version`).trim();
  const uploads = new Map<string, { job: string; path: string }>(); // artifact name -> where
  const harness: { job: string; args: string[]; line: string }[] = [];
  for (const [jobName, job] of Object.entries(wf.jobs)) {
    for (const combo of combinations(job)) {
      for (const step of job.steps) {
        if (step.run !== undefined) {
          const script = expand(step.run, combo);
          for (const v of script.matchAll(/\bdeno@([\w.-]+)/g)) {
            if (v[1] !== pinned) problems.push(`${jobName}: deno@${v[1]}, .deno-version ${pinned}`);
          }
          for (const h of harnessLines(script)) {
            for (const p of checkHarnessArgs(h.args, spec)) problems.push(`${jobName}: ${p}`);
            harness.push({ job: jobName, ...h });
          }
        }
        if (step.uses?.startsWith("actions/upload-artifact@")) {
          const name = expand(String(step.with?.name ?? "artifact"), combo);
          const path = expand(String(step.with?.path), combo);
          uploads.set(name, { job: jobName, path });
          // what the job uploads is what one of its commands wrote
          if (!harness.some((h) => h.job === jobName && optionValue(h.args, "--out") === path)) {
            problems.push(`${jobName}: uploads ${path}, which no harness command of it writes`);
          }
        }
      }
    }
  }
  for (const [jobName, job] of Object.entries(wf.jobs)) {
    const needs = [job.needs ?? []].flat();
    for (const step of job.steps) {
      if (!step.uses?.startsWith("actions/download-artifact@")) continue;
      const name = step.with?.name as string | undefined;
      const pattern = new RegExp(
        `^${
          String(step.with?.pattern ?? name ?? "*").replace(/[.+?^${}()|[\]\\]/g, "\\$&")
            .replace(/\*/g, ".*")
        }$`,
      );
      const got = [...uploads].filter(([n, u]) => pattern.test(n) && needs.includes(u.job));
      if (got.length === 0) {
        problems.push(`${jobName}: downloads ${pattern.source}, which no job it needs uploads`);
      }
      // download-artifact puts each artifact in <path>/<name> (one by name: in <path>)
      const dirs = got.map(([n]) => name ? String(step.with?.path) : `${step.with?.path}/${n}`);
      const merge = harness.find((h) => h.job === jobName && h.args[0] === "merge");
      if (!merge) {
        problems.push(`${jobName}: downloads artifacts but merges none`);
        continue;
      }
      const globs = merge.args.slice(1).filter((a) =>
        !a.startsWith("--") && a !== merge.args[
            merge.args.indexOf("--out") + 1
          ]
      );
      const re = globs.map((g) =>
        new RegExp(`^${
          g.replace(/[.+?^${}()|[\]\\]/g, "\\$&")
            .replace(/\*/g, "[^/]*")
        }$`)
      );
      for (const d of dirs) {
        if (!re.some((r) => r.test(d))) problems.push(`${jobName}: merge does not read ${d}`);
      }
    }
  }
  // a baselines folder of the workflow holds baselines of the matrix the run uses
  const matrices = harness.filter((h) => h.args[0] === "run").map((h) =>
    optionValue(h.args, "--matrix") ?? "smoke"
  );
  const folders = harness.flatMap((h) =>
    h.args[0] === "run"
      ? [optionValue(h.args, "--baseline")]
      : h.args[0] === "compare"
      ? [h.args.filter((a, i) => !a.startsWith("--") && !h.args[i - 1]?.startsWith("--"))[1]]
      : []
  ).filter((f): f is string => f !== undefined);
  for (const folder of new Set(folders)) {
    let names: string[];
    try {
      names = [...Deno.readDirSync(`${ROOT}${folder}`)].filter((e) => e.isFile)
        .map((e) => e.name).filter((n) => n.endsWith(".json"));
    } catch {
      problems.push(`baselines folder ${folder}: not in the repository (run --baseline: exit 2)`);
      continue;
    }
    for (const n of names) {
      const b = JSON.parse(Deno.readTextFileSync(`${ROOT}${folder}/${n}`)) as { matrix?: string };
      for (const m of new Set(matrices)) {
        if (b.matrix !== m) {
          problems.push(`${folder}${n}: a baseline of matrix ${b.matrix}, the nightly runs ${m}`);
        }
      }
    }
  }
  if (harness.length < 5) problems.push(`only ${harness.length} harness command lines found`);
  return problems;
}

const workflowText = await Deno.readTextFile(WORKFLOW);

Deno.test("nightly workflow: commands, flags, artifacts, baselines and Deno version hold", () => {
  assert.deepEqual(workflowProblems(workflowText), []);
  const wf = parse(workflowText) as Workflow;
  assert.deepEqual(Object.keys(wf.jobs), ["shard", "merge"]);
});

Deno.test("nightly workflow: the check fails on a planted error", () => {
  const plant = (from: string | RegExp, to: string) => {
    const text = workflowText.replace(from, to);
    assert.notEqual(text, workflowText, `planted: ${from}`);
    return workflowProblems(text);
  };
  assert.match(plant("--shard ${{ matrix.shard }}/4", "--shards 1/4").join("\n"), /--shards/);
  assert.match(plant("harness history --add", "harness history --append").join("\n"), /--append/);
  assert.match(plant("path: shards", "path: shard-dl").join("\n"), /merge does not read/);
  assert.match(plant("pattern: shard-*", "pattern: shards-*").join("\n"), /no job it needs/);
  assert.match(plant("name: shard-${{", "name: part-${{").join("\n"), /no job it needs/);
  assert.match(
    plant(/--baseline baselines\/nightly\//, "--baseline baselines/").join("\n"),
    /matrix smoke, the nightly runs nightly/,
  );
  assert.match(plant(/deno@2\.9\.6/, "deno@2.9.5").join("\n"), /deno@2\.9\.5/);
  assert.match(plant("--out out/shard-${{", "--out out/s-${{").join("\n"), /which no harness/);
});

Deno.test(".ci/run: its harness command lines parse; it reads the pinned Deno", async () => {
  const ci = await Deno.readTextFile(`${ROOT}.ci/run`);
  assert.match(ci, /DENO_VERSION=\$\(cat \.deno-version\)/);
  // "${deno_cmd[@]}" is npx --yes deno@<.deno-version>
  const lines = harnessLines(ci.replaceAll(`"\${deno_cmd[@]}"`, "deno"));
  assert.ok(lines.length >= 1, "the GL-fallback step's run");
  for (const h of lines) assert.deepEqual(checkHarnessArgs(h.args, program), [], h.line);
  assert.ok(shellWords(lines[0].line).includes("--repeats"));
});

// comments dropped: only what runs counts
const workflow = (await Deno.readTextFile(
  new URL("../.github/workflows/nightly.yml", import.meta.url),
)).split("\n").filter((l) => !l.trimStart().startsWith("#")).join("\n");
const [, shardJob, mergeJob] = workflow.split(/^ {2}(?:shard|merge):$/m);

Deno.test("nightly workflow: shards run without --history; merge carries one database", () => {
  assert.ok(shardJob && mergeJob, "the workflow has a shard job and a merge job");
  assert.match(shardJob, /harness run --matrix nightly/);
  assert.ok(!/--history\b/.test(shardJob), "a shard writes no history database");
  const restore = mergeJob.indexOf("uses: actions/cache/restore@v4");
  const add = mergeJob.indexOf("history --add out/nightly --db history/history.sqlite");
  const save = mergeJob.indexOf("uses: actions/cache/save@v4");
  const merge = mergeJob.indexOf("harness merge shards/shard-* --out out/nightly");
  assert.ok(merge >= 0 && merge < add, "the merged night is what is appended");
  assert.ok(restore >= 0 && restore < add && add < save, "restore, append, save in order");
  // the save key is new each night and the restore finds the newest by prefix
  assert.match(
    mergeJob,
    /key: mla-history-\$\{\{ github\.run_id \}\}-\$\{\{ github\.run_attempt \}\}\n\s+restore-keys: mla-history-/,
  );
  assert.match(mergeJob, /--html out\/nightly\/history\.html/);
  assert.match(mergeJob, /--html out\/nightly\/drift\.html/);
  assert.match(mergeJob, /name: nightly\n\s+path: out\/nightly/);
  // the JUnit check run needs checks: write; the drift report reaches the step summary
  assert.match(mergeJob, /permissions:\n\s+contents: read\n\s+checks: write/);
  assert.match(mergeJob, /cat out\/nightly\/drift\.md >> "\$GITHUB_STEP_SUMMARY"/);
  // compare refusing its input (exit 2, no drift.md: another device class's runner) left the
  // step summary without a word of drift
  assert.match(
    mergeJob,
    /else echo "Drift not checked: compare exited \$rc without a report[^"]*" >> "\$GITHUB_STEP_SUMMARY"; fi/,
  );
  // enough samples for the speed test (run's default 3 never reach p < 0.01)
  assert.match(shardJob, /--repeats 10 /);
  // the nightly's baselines, apart from the smoke matrix's baselines/<device-key>.json
  assert.match(shardJob, /--baseline baselines\/nightly\//);
  assert.match(mergeJob, /compare baselines\/nightly\/ out\/nightly/);
});

Deno.test("nightly workflow: history --add on a carried database grows night by night", async () => {
  await withTempDir(async (dir) => {
    const db = `${dir}/history.sqlite`;
    for (const [night, ms] of [[1, 1], [2, 1.02], [3, 0.99]] as const) {
      const r = result({ b: 1 }, {
        timing: { source: "timestamp-query", samplesMs: [ms, ms, ms], medianMs: ms },
      });
      await writeRunOutputs(
        `${dir}/night${night}`,
        report([r], { startedAt: `2026-11-0${night}T02:17:00.000Z` }),
      );
      const out = await runCli([
        "history",
        "--add",
        `${dir}/night${night}`,
        "--db",
        db,
        "--label",
        "nightly",
        "--html",
        `${dir}/history.html`,
      ]);
      assert.equal(out.code, 0, out.stdout + out.stderr);
    }
    const html = await Deno.readTextFile(`${dir}/history.html`);
    assert.match(html, /<dt>Runs<\/dt><dd>3<\/dd>/);
    assert.match(html, /data-chart="history" data-marks="3"/);
  });
});
