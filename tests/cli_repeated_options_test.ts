/**
 * A single-valued option given more than once keeps its last value (`deno task bench --matrix
 * X` relies on it: the task passes its own --matrix first), and one note on stderr names it,
 * for every command: before, the values before the last were dropped without a word. Options
 * that take every value (--backend-module, variadic ones) and flags have none; stdout (--json
 * included) is as it was.
 */
import assert from "node:assert/strict";
import { Command } from "@commander-js/extra-typings";
import { collect } from "../cli/backend_options.ts";
import { recordOptionValues, repeatedOptionNotes } from "../cli/repeated_options.ts";
import { runCli } from "./helpers_cli.ts";

Deno.test("repeatedOptionNotes: one note per repeated single-valued option, subcommands too", () => {
  const cmd = new Command("x")
    .option("--matrix <m>")
    .option("--seed [n]")
    .option("--json")
    .option("--backend-module <path>", "", collect, [] as string[])
    .option("--add <reports...>");
  recordOptionValues(cmd);
  cmd.parse([
    ...["--matrix", "a", "--matrix=b", "--json", "--json", "--seed", "1", "--seed"],
    ...["--backend-module", "m1.ts", "--backend-module", "m2.ts", "--add", "r1", "--add", "r2"],
    ...["--matrix", "c"],
  ], { from: "user" });
  assert.equal(cmd.opts().matrix, "c");
  assert.deepEqual(repeatedOptionNotes(cmd), [
    'note: --matrix given 3 times; using the last ("c")',
    "note: --seed given twice; using the last (without a value)",
  ]);
  // a subcommand's subcommand, recorded once however often it is asked to be
  const update = new Command("update").option("--dir <dir>").option("--out <dir>");
  const root = new Command("r").addCommand(new Command("baseline").addCommand(update));
  recordOptionValues(root);
  recordOptionValues(root);
  // the same value twice drops nothing, so it is not noted
  root.parse(["baseline", "update", "--dir", "a", "--dir", "b", "--out", "o", "--out", "o"], {
    from: "user",
  });
  assert.deepEqual(repeatedOptionNotes(update), ['note: --dir given twice; using the last ("b")']);
  assert.deepEqual(repeatedOptionNotes(root), []);
});

Deno.test("CLI: a repeated option is noted on stderr, the last value used, --json's stdout intact", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla-repeated-options-" });
  try {
    const [json, once, run] = await Promise.all([
      runCli(["explain", "tiny", "--seq-k", "8", "--seq-k", "9", "--no-device", "--json"]),
      runCli(["explain", "tiny", "--seq-k", "9", "--no-device", "--json"]),
      // no adapter: past its option checks the run is exit 3, having run nothing
      runCli(
        ["run", "--matrix", "nightly", "--matrix", "smoke", "--out", `${dir}/out`],
        { DENO_WEBGPU_BACKEND: "dx12" },
      ),
    ]);
    assert.equal(json.code, once.code, json.stderr);
    assert.equal(json.stdout, once.stdout, "the same JSON as --seq-k 9 alone");
    assert.equal(json.stderr, 'note: --seq-k given twice; using the last ("9")\n');
    assert.equal(once.stderr, "");
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stderr, /^note: --matrix given twice; using the last \("smoke"\)\n/);
    assert.match(run.stderr, /no WebGPU adapter/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
