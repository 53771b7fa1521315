// An input path that does not exist is named as given and said not to exist, with what the
// argument may be (exit 2, no stack trace): `run --baseline <dir>/` and `compare <dir> <x>`
// said "no such file" of a folder, and `merge <dir>` "<dir>/report.json: missing".
import assert from "node:assert/strict";
import { missingPathWords } from "../util/fs.ts";
import { type CliResult, runCli } from "./helpers_cli.ts";

function assertRefused(r: CliResult, message: RegExp): void {
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, message);
  assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
  assert.doesNotMatch(r.stderr, /no such file|report\.json: missing/);
}

Deno.test("missingPathWords: a folder, a file or either, as the path is written", () => {
  assert.equal(missingPathWords("out/x/"), "the folder does not exist");
  assert.equal(missingPathWords("baselines/a.json"), "the file does not exist");
  assert.equal(missingPathWords("out/x"), "does not exist (no file or folder of that name)");
  assert.equal(missingPathWords("../x"), "does not exist (no file or folder of that name)");
});

Deno.test("CLI: run --baseline, compare and merge name a missing input (exit 2)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla_missing_inputs_" });
  try {
    const gone = `${dir}/gone`;
    assertRefused(
      await runCli([
        "run",
        "--filter",
        "preset=tiny",
        "--baseline",
        `${gone}/`,
        "--out",
        `${dir}/o`,
      ]),
      /gone\/: the folder does not exist; give a baseline file or a folder of baselines/,
    );
    await assert.rejects(() => Deno.stat(`${dir}/o`), Deno.errors.NotFound, "no --out left");
    // <baseline> is named first, though the current side is read first
    assertRefused(
      await runCli(["compare", `${gone}/`, `${dir}/also-gone`]),
      /gone\/: the folder does not exist; give a baseline file, a baselines folder, a report\.json or a run output folder/,
    );
    assertRefused(
      await runCli(["compare", gone, `${dir}/also-gone`]),
      /gone: does not exist \(no file or folder of that name\); give a baseline file/,
    );
    assertRefused(
      await runCli(["compare", "baselines/", `${dir}/current.json`]),
      /current\.json: the file does not exist; give a baseline file, a report\.json or a run output folder/,
    );
    assertRefused(
      await runCli(["merge", gone, `${dir}/gone2`, "--out", `${dir}/m`]),
      /merge: .*gone: the folder does not exist; give the output folders of `run --shard`/,
    );
    await assert.rejects(() => Deno.stat(`${dir}/m`), Deno.errors.NotFound, "no --out left");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// `history --add` read a folder as <folder>/report.json before checking it: a missing path
// said "give a baseline file, ..." (a baseline is refused there), a folder whose run was
// killed before its reports said only that report.json "does not exist"; and
// `baseline update --from-report <missing>` said "no such file", with nothing valid named.
Deno.test("CLI: baseline update --from-report and history --add name a missing or killed run and what is valid (exit 2)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla_missing_run_" });
  try {
    const db = `${dir}/h.sqlite`;
    const inputs = (from: string) => [
      ["history", "--db", db, "--add", from],
      ["baseline", "update", "--from-report", from, "--dir", `${dir}/b`],
    ];
    for (const args of inputs(`${dir}/gone`)) {
      const r = await runCli(args);
      assertRefused(
        r,
        /gone: does not exist \(no file or folder of that name\); give a run's report\.json or its output folder \(run --out\)/,
      );
      assert.doesNotMatch(r.stderr, /baseline file/, "a baseline file is no run");
    }
    await Deno.mkdir(`${dir}/killed`);
    await Deno.writeTextFile(`${dir}/killed/run.json`, "{}");
    for (const args of inputs(`${dir}/killed`)) {
      assertRefused(
        await runCli(args),
        /killed: the folder's run was killed before writing its reports .*`merge .*killed --out .*killed` rebuilds them/,
      );
    }
    await Deno.mkdir(`${dir}/empty`);
    for (const args of inputs(`${dir}/empty`)) {
      assertRefused(
        await runCli(args),
        /empty: a folder without report\.json, not a run output folder; give a run's report\.json or its output folder/,
      );
    }
    await assert.rejects(() => Deno.stat(db), Deno.errors.NotFound, "no database made");
    await assert.rejects(() => Deno.stat(`${dir}/b`), Deno.errors.NotFound, "no baseline");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
