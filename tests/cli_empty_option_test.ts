/**
 * An option given an empty value (`--md ""`, an unset shell variable) is exit 2 naming the
 * option, before any work: it used to read as the option left out, so `compare --md ""`
 * wrote no report (exit 0), `explain --caps ""` probed this machine's adapter, `run --history
 * ""` appended nothing, `baseline update --from-report ""` ran the whole smoke matrix, and
 * `baseline key ""` probed the adapter instead of reading a source. Options whose parser names
 * the valid values of an empty one keep that message. An option's value that is another option
 * of the command (`run --out --resume`, `compare --md --json`) is exit 2 too: commander took it
 * as the value, making a folder named `--resume` or writing a file named `--json`, exit 0; in
 * `layer`, whose --out is required, `--input --out y` said --out was not given.
 */
import assert from "node:assert/strict";
import { Command } from "@commander-js/extra-typings";
import {
  checkEmptyOptions,
  checkOptionLikeValues,
  refuseOptionWordsWhileParsing,
} from "../cli/options.ts";
import { CliError } from "../cli/errors.ts";
import { runCli } from "./helpers_cli.ts";

const noTrace = (r: { stderr: string }) =>
  assert.doesNotMatch(r.stderr, /\n\s+at |internal error/, r.stderr);

Deno.test("checkEmptyOptions: a blank value given on the command line is refused, defaults are not", () => {
  const cmd = () =>
    new Command("x").option("--md <file>").option("--out <dir>", "out", "")
      .option("--add <reports...>").option("--title <text>", "title", "T");
  const parsed = (args: string[]) => cmd().parse(args, { from: "user" });
  checkEmptyOptions(parsed(["--md", "r.md"]));
  checkEmptyOptions(parsed([])); // --out's default "" is not the user's
  checkEmptyOptions(parsed(["--title", ""])); // free text may be empty
  assert.throws(() => checkEmptyOptions(parsed(["--md", ""])), CliError);
  assert.throws(() => checkEmptyOptions(parsed(["--md", " "])), /--md " ": is empty/);
  assert.throws(
    () => checkEmptyOptions(parsed(["--out", ""])),
    /--out "": is empty; give a folder path/,
  );
  assert.throws(() => checkEmptyOptions(parsed(["--add", "a", ""])), /--add "": is empty/);
});

Deno.test("CLI: an empty option value is exit 2 naming it, where it was silently dropped", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const [md, caps, fromReport, history, chromium, key] = await Promise.all([
      runCli(["compare", `${dir}/a`, `${dir}/b`, "--md", ""]),
      runCli(["explain", "tiny", "--caps", ""]),
      // without the check these would run: a matrix file that does not exist, --max-cases 1
      runCli([
        "baseline",
        "update",
        "--from-report",
        "",
        "--dir",
        `${dir}/bl`,
        "--matrix",
        `${dir}/m.json`,
      ]),
      runCli(["run", "--max-cases", "1", "--history", "", "--out", `${dir}/run`]),
      runCli(["devices", "--runtime", "chromium", "--chromium", ""]),
      runCli(["baseline", "key", ""]),
    ]);
    for (const r of [md, caps, fromReport, history, chromium, key]) {
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.equal(r.stdout, "", r.stdout);
      noTrace(r);
    }
    assert.match(md.stderr, /--md "": is empty; give a file path/);
    assert.match(caps.stderr, /--caps "": is empty; give a file path/);
    assert.match(fromReport.stderr, /--from-report "": is empty; give a path/);
    assert.match(history.stderr, /--history "": is empty; give a file path/);
    assert.match(chromium.stderr, /--chromium "": is empty; give a path/);
    assert.match(key.stderr, /baseline key: the source is empty/);
    // refused before anything was created
    for (const p of ["bl", "run"]) {
      assert.equal(await Deno.stat(`${dir}/${p}`).then(() => true, () => false), false, p);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CLI: an empty --warmup-ms keeps its own message with the valid values", async () => {
  const r = await runCli(["bench", "--matrix", "tiny", "--warmup-ms", ""]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /--warmup-ms: {2}must be auto or a whole number of milliseconds from 0/);
});

Deno.test("checkOptionLikeValues: a value that is an option of the command is refused", () => {
  const parsed = (args: string[]) =>
    new Command("x").option("--md <file>").option("--json <file>").option("--force")
      .option("--repeats <n>").parse(args, { from: "user" });
  checkOptionLikeValues(parsed(["--md", "r.md", "--json", "-r.json"]));
  checkOptionLikeValues(parsed(["--repeats", "-1"])); // left to the option's parser
  assert.throws(
    () => checkOptionLikeValues(parsed(["--md", "--json"])),
    /--md "--json": --json is an option of x, not a value: --md <file> needs its value/,
  );
  assert.throws(() => checkOptionLikeValues(parsed(["--md", "--force"])), CliError);
  assert.throws(() => checkOptionLikeValues(parsed(["--md", "--json=j"])), CliError);
  assert.throws(() => checkOptionLikeValues(parsed(["--md", "-h"])), CliError);
});

Deno.test("CLI: run --out --resume and compare --md --json are exit 2, nothing written", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const [out, md] = await Promise.all([
      runCli(["run", "--max-cases", "1", "--out", "--resume"]),
      runCli(["compare", `${dir}/a`, `${dir}/b`, "--md", "--json"]),
    ]);
    for (const r of [out, md]) {
      assert.equal(r.code, 2, r.stdout + r.stderr);
      noTrace(r);
    }
    assert.match(out.stderr, /--out "--resume": --resume is an option of run, not a value/);
    assert.match(md.stderr, /--md "--json": --json is an option of compare, not a value/);
    const root = new URL("../", import.meta.url).pathname;
    for (const name of ["--resume", "--json"]) {
      assert.equal(await Deno.stat(`${root}${name}`).then(() => true, () => false), false, name);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("refuseOptionWordsWhileParsing: a command with a required option refuses an option as a value while parsing", () => {
  const cmd = () => {
    const c = new Command("x").exitOverride().configureOutput({ writeErr: () => {} })
      .option("--in <file>").option("--n <k>", "n", (v: string) => Number(v))
      .requiredOption("--out <file>");
    refuseOptionWordsWhileParsing(c);
    return c;
  };
  const ok = cmd().parse(["--in", "a", "--n", "3", "--out", "b"], { from: "user" }).opts();
  assert.deepEqual(ok, { in: "a", n: 3, out: "b" }); // parsers still apply
  // without it, commander's "required option '--out <file>' not specified" came first
  assert.throws(
    () => cmd().parse(["--in", "--out", "b"], { from: "user" }),
    /argument '--out' is invalid\. --out is an option of x, not a value: --in <file> needs its value/,
  );
  // a command without a required option keeps its parsers (checkOptionLikeValues acts later)
  const free = new Command("y").option("--md <file>");
  refuseOptionWordsWhileParsing(free);
  assert.equal(free.parse(["--md", "--md"], { from: "user" }).opts().md, "--md");
});

Deno.test("CLI: layer --input --out y names the option taken as a value, not a missing --out", async () => {
  const r = await runCli(["layer", "--config", "tiny", "--input", "--out", "y.safetensors"]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  noTrace(r);
  assert.doesNotMatch(r.stderr, /required option/);
  assert.match(
    r.stderr,
    /--out is an option of layer, not a value: --input <file> needs its value/,
  );
});

Deno.test("compare: an empty <baseline> or <current> is exit 2 naming it, no stack trace", async () => {
  const base = "baselines/llvmpipe-65541-vulkan.json";
  for (const [args, name] of [[["", base], "<baseline>"], [[base, " "], "<current>"]] as const) {
    const r = await runCli(["compare", ...args]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`compare ${name} "": is empty; give a baseline file`));
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
});
