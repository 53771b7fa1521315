// `run` and `baseline update`: a --history (or a file input) that names a file the run
// writes in --out is exit 2 naming both before anything runs, not an error after the whole
// run. No GPU needed: each is refused before a device starts.
import assert from "node:assert/strict";
import { runOutputFiles } from "../report/output_overlap.ts";
import { type CliResult, runCli } from "./helpers_cli.ts";

/** One smoke case: were the check missing, the run would go ahead. */
const ONE = "preset=tiny;layout=bshd;sq=1;causal=1;dtype=f32;path=absorbed";

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Exit 2 with the message, no stack trace, no case run. */
function assertRefused(r: CliResult, message: RegExp): void {
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, message);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at /, "no stack trace");
  assert.doesNotMatch(r.stdout, /cases:|\[1\//, "no case ran");
}

/** A test with its own temporary folder, removed when the test passes. */
function tmpTest(name: string, fn: (dir: string) => Promise<void>): void {
  Deno.test(name, async () => {
    const dir = await Deno.makeTempDir({ prefix: "mla-run-overlap-" });
    await fn(dir);
    await Deno.remove(dir, { recursive: true });
  });
}

Deno.test("runOutputFiles: the run's files in --out, labelled, plus the ones asked for", () => {
  const files = runOutputFiles("out/run/", { label: "--out", also: ["compare.md"] });
  assert.deepEqual(files.map(([, p]) => p).sort(), [
    "out/run/compare.md",
    "out/run/junit.xml",
    "out/run/report.html",
    "out/run/report.json",
    "out/run/results.jsonl",
    "out/run/run.json",
    "out/run/summary.md",
  ]);
  assert.ok(files.some(([l, p]) => l === "--out (report.json)" && p === "out/run/report.json"));
});

tmpTest(
  "run: a file the run writes that is a folder in --out is exit 2 naming it, before the run",
  async (dir) => {
    // it was an internal error with a stack trace when the reports were written, after the run
    const out = `${dir}/o`;
    await Deno.mkdir(`${out}/summary.md/x`, { recursive: true });
    assertRefused(
      await runCli(["run", "--filter", ONE, "--out", out]),
      new RegExp(
        `--out \\(summary\\.md\\) ${esc(out)}/summary\\.md: is a folder; give a file path`,
      ),
    );
  },
);

tmpTest(
  "run --history naming a file the run writes in --out: exit 2 before the run",
  async (dir) => {
    const out = `${dir}/o`;
    const run = (...args: string[]) => runCli(["run", "--filter", ONE, "--out", out, ...args]);
    for (const name of ["report.json", "results.jsonl", "run.json", "junit.xml"]) {
      assertRefused(
        await run("--history", `${out}/${name}`),
        new RegExp(
          `--history ${esc(out)}/${esc(name)}: is the file --out \\(${esc(name)}\\) writes too`,
        ),
      );
    }
    // spelled another way (./, a trailing slash on --out) it is the same file
    assertRefused(
      await runCli([
        "run",
        "--filter",
        ONE,
        "--out",
        `${out}/`,
        "--history",
        `${out}/./summary.md`,
      ]),
      /--history .*summary\.md: is the file --out \(summary\.md\) writes too/,
    );
    // with --baseline the run also writes compare.md and compare.json there
    await Deno.mkdir(`${dir}/baselines`);
    assertRefused(
      await run("--baseline", `${dir}/baselines`, "--history", `${out}/compare.json`),
      /--history .*compare\.json: is the file --out \(compare\.json\) writes too/,
    );
    // nothing left behind: the output folder the refused run created is gone
    await assert.rejects(() => Deno.stat(out), Deno.errors.NotFound);
  },
);

tmpTest("run: a file input the run would overwrite in --out is exit 2 naming both", async (dir) => {
  const out = `${dir}/o`;
  await Deno.mkdir(out);
  await Deno.writeTextFile(`${out}/compare.json`, JSON.stringify({ alpha: 0.01 }));
  assertRefused(
    await runCli([
      "run",
      "--filter",
      ONE,
      "--out",
      out,
      "--baseline",
      `${dir}/baselines-none`,
      "--thresholds",
      `${out}/compare.json`,
    ]),
    /--out \(compare\.json\) .*compare\.json: is .*compare\.json, which --thresholds reads/,
  );
  assert.equal(await Deno.readTextFile(`${out}/compare.json`), JSON.stringify({ alpha: 0.01 }));
});

tmpTest(
  "baseline update --history naming a file the update writes: exit 2 before the run",
  async (dir) => {
    const update = (...args: string[]) =>
      runCli(["baseline", "update", "--filter", ONE, "--dir", `${dir}/baselines`, ...args]);
    assertRefused(
      await update("--out", `${dir}/b`, "--history", `${dir}/b/report.json`),
      /--history .*\/b\/report\.json: is the file --out \(report\.json\) writes too/,
    );
    assertRefused(
      await update("--out", `${dir}/b`, "--rounds", "2", "--history", `${dir}/b/round-2/run.json`),
      /--history .*round-2\/run\.json: is the file --out \(round-2\/run\.json\) writes too/,
    );
    // a file the run writes that is a folder: exit 2 naming it (it was an internal error
    // with a stack trace after the run)
    await Deno.mkdir(`${dir}/busy/summary.md/x`, { recursive: true });
    assertRefused(
      await update("--out", `${dir}/busy`),
      /output folder \(summary\.md\) .*busy\/summary\.md: is a folder; give a file path/,
    );
    // <device-key>.json in --dir: the key is known only after the run, so any .json there
    assertRefused(
      await update("--out", `${dir}/b`, "--history", `${dir}/baselines/history.json`),
      /--history .*history\.json: is a \.json file in --dir .*baselines, where baseline update writes/,
    );
    // --from-report's report.json is an input (no run: refused before anything is read)
    await Deno.mkdir(`${dir}/run`);
    await Deno.writeTextFile(`${dir}/run/report.json`, "{}");
    assertRefused(
      await runCli([
        "baseline",
        "update",
        "--from-report",
        `${dir}/run`,
        "--dir",
        `${dir}/baselines`,
        "--history",
        `${dir}/run/report.json`,
      ]),
      /--history .*run\/report\.json: is .*report\.json, a file of .*run, which --from-report reads/,
    );
    assert.equal(await Deno.readTextFile(`${dir}/run/report.json`), "{}");
  },
);
