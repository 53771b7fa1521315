// A misspelt bundled matrix, preset or benchmark matrix name is refused (exit 2) with the
// name it is close to (a small edit distance or a unique prefix, util/edit_distance.ts
// closeName) before the list of names, `did you mean "smoke"?`; a name close to none, or as
// close to two, gets the list alone.
import assert from "node:assert/strict";
import { closeName, didYouMean } from "../util/edit_distance.ts";
import { selectBenchCases } from "../cli/bench.ts";
import { runCli } from "./helpers_cli.ts";
import { refuseBenchMatrix } from "../cli/options.ts";

const MATRICES = ["smoke", "nightly", "adapter"];

Deno.test("closeName: one near name, a unique prefix, or none", () => {
  assert.equal(closeName("smok", MATRICES), "smoke");
  assert.equal(closeName("smoek", MATRICES), "smoke");
  assert.equal(closeName("adaptor", MATRICES), "adapter");
  assert.equal(closeName("nigh", MATRICES), "nightly");
  assert.equal(closeName("smoke", MATRICES), undefined);
  assert.equal(closeName("llama", MATRICES), undefined);
  assert.equal(closeName("", MATRICES), undefined);
  // a tie names neither
  assert.equal(closeName("deepseek-v", ["deepseek-v2", "deepseek-v3"]), undefined);
  // the one name it is a prefix of, before a shorter one two edits away
  assert.equal(closeName("tiny-y", ["tiny", "tiny-yarn"]), "tiny-yarn");
  assert.equal(didYouMean("smok", MATRICES), 'did you mean "smoke"? ');
  assert.equal(didYouMean("llama", MATRICES), "");
});

Deno.test("CLI: run --matrix smok suggests smoke, exit 2", async () => {
  const r = await runCli(["run", "--matrix", "smok"]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /did you mean "smoke"\? bundled matrices: smoke, nightly, adapter/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

Deno.test("CLI: run --matrix far from every name lists them without a suggestion", async () => {
  const r = await runCli(["run", "--matrix", "no-such-matrix"]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /bundled matrices: smoke, nightly, adapter/);
  assert.doesNotMatch(r.stderr, /did you mean/);
});

Deno.test("CLI: explain deepseek-v2-lit suggests deepseek-v2-lite, exit 2", async () => {
  const r = await runCli(["explain", "deepseek-v2-lit", "--no-device"]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /did you mean "deepseek-v2-lite"\? presets: deepseek-v2-lite,/);
});

Deno.test("bench --matrix headlin suggests headline", () => {
  assert.throws(() => selectBenchCases("headlin"), /did you mean "headline"\? bundled: headline/);
});

// A bench matrix's name given to a command that reads a run matrix read as a file that cannot
// be read ("readfile 'headline'"): each now says it is a bench matrix, exit 2.
Deno.test("CLI: run, baseline update and upgrade-check --matrix headline say it is a bench matrix", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (
      const [command, args] of [
        ["run", ["run", "--out", `${dir}/run`]],
        ["baseline update", ["baseline", "update", "--dir", `${dir}/b`, "--out", `${dir}/bo`]],
        ["upgrade-check", [
          "upgrade-check",
          "--from",
          "2.9.5",
          "--to",
          "2.9.6",
          "--out",
          `${dir}/u`,
        ]],
      ] as const
    ) {
      const r = await runCli([...args, "--matrix", "headline"]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(
          `--matrix headline: a bench matrix \\(\`bench --matrix headline\` runs it\\), not a ` +
            `run matrix; ${command} reads a run matrix`,
        ),
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// `bench --matrix tiny,smoke` takes a comma list, a run matrix is one: "tiny,smoke" read as a
// file that cannot be read, with no word that run takes one matrix.
Deno.test("CLI: run --matrix tiny,smoke says run takes one matrix, not a comma list as bench does", async () => {
  const r = await runCli(["run", "--matrix", "tiny,smoke", "--out", "/nonexistent/runs4"]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr,
    /--matrix tiny,smoke: run takes one matrix, not a comma list as `bench --matrix` does; give one run matrix \(smoke, nightly, adapter or a matrix JSON file\) and run each in turn; tiny is a bench matrix/,
  );
  assert.doesNotMatch(r.stderr, /readfile|unreadable/);
  await assert.rejects(
    refuseBenchMatrix("smoke,nightly", "compare-runtimes"),
    /--matrix smoke,nightly: compare-runtimes takes one matrix, not a comma list/,
  );
  // a name with a comma that is no list of matrices is left to the matrix's own message
  await refuseBenchMatrix("my,matrix.json", "run");
});
