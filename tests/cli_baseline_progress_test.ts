// `baseline update --progress`: run's choices and help, passed to the same runner, so a
// nightly's baseline step can log `--progress failures` (a line per failure, not per case).
import assert from "node:assert/strict";
import { buildProgram } from "../cli/program.ts";
import { runCli } from "./helpers_cli.ts";
import { gpuTest } from "./gpu_helpers.ts";

const program = buildProgram({
  probeCaps: () => Promise.resolve(null),
  probeCapsStrict: () => Promise.reject(new Error("no device in this test")),
});

/** The `--progress` option of a command given by its path, e.g. ["baseline", "update"]. */
function progressOption(path: string[]) {
  let cmd = program;
  for (const name of path) cmd = cmd.commands.find((c) => c.name() === name)! as typeof program;
  const option = cmd.options.find((o) => o.long === "--progress");
  assert.ok(option, `${path.join(" ")} has --progress`);
  return option;
}

Deno.test("baseline update --progress: run's choices, default and help", () => {
  const run = progressOption(["run"]);
  const update = progressOption(["baseline", "update"]);
  assert.deepEqual(update.argChoices, run.argChoices);
  assert.deepEqual(update.argChoices, ["auto", "cases", "failures"]);
  assert.equal(update.defaultValue, "auto");
  assert.equal(update.description, run.description);
});

Deno.test("baseline update --progress: another mode is exit 2 naming the choices", async () => {
  const r = await runCli(["baseline", "update", "--progress", "quiet", "--out", "/nonexistent/x"]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /--progress.*quiet.*auto, cases, failures/s);
});

Deno.test("baseline update --progress with --from-report is refused: no run happens", async () => {
  const r = await runCli([
    "baseline",
    "update",
    "--from-report",
    "/nonexistent/run",
    "--progress",
    "failures",
  ]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /--progress sets up a run, and --from-report/);
});

gpuTest("baseline update --progress failures: no line per passing case", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla-baseline-progress-" });
  try {
    const update = (out: string, ...extra: string[]) =>
      runCli([
        "baseline",
        "update",
        "--filter",
        "preset=tiny;dtype=f32;layout=bshd;causal=1;sq=4",
        "--repeats",
        "1",
        "--dir",
        `${dir}/${out}-baselines`,
        "--out",
        `${dir}/${out}`,
        ...extra,
      ]);
    const quiet = await update("quiet", "--progress", "failures");
    assert.equal(quiet.code, 0, quiet.stdout + quiet.stderr);
    assert.doesNotMatch(quiet.stdout, /^\[\d+\/\d+\] pass /m);
    assert.match(quiet.stdout, /^2\/2 cases in \d+:\d\d: 2 pass$/m);
    assert.match(quiet.stdout, /^baseline: .*\(2 cases, device /m);
    // the default (auto) into a pipe: a line per case
    const plain = await update("plain");
    assert.equal(plain.code, 0, plain.stdout + plain.stderr);
    assert.equal((plain.stdout.match(/^\[\d\/2\] pass /gm) ?? []).length, 2);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
