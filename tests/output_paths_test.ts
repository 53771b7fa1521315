// Output paths are checked before any work starts: an unusable one is exit 2 naming the option,
// the path and the reason, never an OS error with a stack trace after the GPU work.
import assert from "node:assert/strict";
import {
  checkOutputFile,
  OutputPathError,
  prepareOutputDir,
  removeOtherRounds,
} from "../report/output_paths.ts";
import { lockOutDir } from "../runner/out_lock.ts";
import { runCli } from "./helpers_cli.ts";
import { pathExists } from "../util/fs.ts";

function assertClear(r: { code: number; stderr: string }, message: RegExp): void {
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, message);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at /, "no stack trace");
}

Deno.test("run --out: a file, a folder that cannot be created or written: exit 2 before any work", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/a-file`;
  await Deno.writeTextFile(file, "x");
  assertClear(
    await runCli(["run", "--out", file]),
    new RegExp(`--out ${file}: exists and is not a folder`),
  );
  assertClear(
    await runCli(["run", "--out", "/proc/mla-harness-test/out"]),
    // Deno itself guards /proc without --allow-all: either reason names the path
    /--out \/proc\/mla-harness-test\/out: (cannot create the folder|cannot be inspected) \(/,
  );
  assertClear(
    await runCli(["run", "--out", `${file}/sub`]),
    new RegExp(`--out ${file}/sub: runs into ${file}, which is a file, not a folder`),
  );
  if (Deno.uid() !== 0) {
    // a folder without write permission (root writes anyway: then this part is skipped)
    const locked = `${dir}/locked`;
    await Deno.mkdir(locked, { mode: 0o555 });
    assertClear(
      await runCli(["run", "--out", locked]),
      new RegExp(`--out ${locked}: cannot write in the folder \\(`),
    );
  }
  assert.equal(await Deno.readTextFile(file), "x", "the file is untouched");
});

Deno.test("merge --out <file>, compare --md/--json <folder>: exit 2 naming the path", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/merged`;
  await Deno.writeTextFile(file, "x");
  assertClear(
    await runCli(["merge", dir, "--out", file]),
    new RegExp(`--out ${file}: exists and is not a folder`),
  );
  assertClear(
    await runCli(["compare", "a.json", "b.json", "--md", dir]),
    new RegExp(`--md ${dir}: is a folder; give a file path`),
  );
  assertClear(
    await runCli(["compare", "a.json", "b.json", "--json", `${dir}/missing/c.json`]),
    new RegExp(`--json ${dir}/missing/c.json: its folder ${dir}/missing does not exist`),
  );
});

Deno.test("layer --out: a folder, a missing folder, or the --input file itself: exit 2, input untouched", async () => {
  const dir = await Deno.makeTempDir();
  const input = `${dir}/in.safetensors`;
  await Deno.writeTextFile(input, "not even safetensors");
  const layer = (out: string, inputPath = input) =>
    runCli(["layer", "--config", "tiny", "--input", inputPath, "--out", out]);
  assertClear(await layer(dir), new RegExp(`--out ${dir}: is a folder; give a file path`));
  assertClear(
    await layer(`${dir}/nope/out.safetensors`),
    /--out .*\/nope\/out\.safetensors: its folder .*\/nope does not exist/,
  );
  assertClear(await layer(input), /--out .*in\.safetensors is the --input file .*overwrite/);
  // another spelling of the same file, and a hard link to it
  await Deno.link(input, `${dir}/link.safetensors`);
  assertClear(await layer(`${dir}/./in.safetensors`), /is the --input file/);
  assertClear(await layer(`${dir}/link.safetensors`), /is the --input file/);
  assert.equal(await Deno.readTextFile(input), "not even safetensors");
});

Deno.test("prepareOutputDir creates a missing folder; checkOutputFile creates nothing", async () => {
  const dir = await Deno.makeTempDir();
  await prepareOutputDir(`${dir}/a/b`);
  assert.ok((await Deno.stat(`${dir}/a/b`)).isDirectory);
  assert.deepEqual([...Deno.readDirSync(`${dir}/a/b`)], [], "the write probe is removed");
  await checkOutputFile(`${dir}/c.md`);
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["a"]);
  await assert.rejects(checkOutputFile(`${dir}/`), OutputPathError);
});

Deno.test("an output path under a file names the file it runs into (the OS said only 'Not a directory')", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/afile`, "x");
    for (
      const attempt of [
        () => prepareOutputDir(`${dir}/afile/sub/deeper`, { label: "--out" }),
        () => checkOutputFile(`${dir}/afile/x.html`, { label: "--html" }),
      ]
    ) {
      await assert.rejects(attempt(), (e: unknown) => {
        assert.ok(e instanceof OutputPathError);
        assert.match(
          e.message,
          new RegExp(`runs into ${dir}/afile, which is a file, not a folder`),
        );
        assert.doesNotMatch(e.message, /Not a directory/);
        return true;
      });
    }
    assert.equal(await Deno.readTextFile(`${dir}/afile`), "x");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("compare --md naming a pipe (not a regular file) is exit 2 and the pipe stays", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const fifo = `${dir}/pipe`;
    const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
    assert.ok(made.success, "mkfifo");
    await assert.rejects(
      checkOutputFile(fifo, { label: "--md" }),
      (e: Error) =>
        e instanceof OutputPathError &&
        e.message === `--md ${fifo}: is not a regular file (a device, pipe or socket), which ` +
            "the atomic write would replace; give a file path",
    );
    // the comparison renamed a regular file over it (over /dev/null, run as root), exit 0
    const a = `${dir}/a.json`;
    await Deno.copyFile("baselines/llvmpipe-65541-vulkan.json", a);
    const r = await runCli(["compare", a, a, "--md", fifo]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--md .*pipe: is not a regular file/);
    assert.ok((await Deno.lstat(fifo)).isFifo, "still a pipe");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("compare and history: an output that is an input, or another output, is exit 2 and nothing is written", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const baseline = await Deno.readTextFile("baselines/llvmpipe-65541-vulkan.json");
    const a = `${dir}/a.json`;
    await Deno.writeTextFile(a, baseline);
    await Deno.mkdir(`${dir}/run`);
    const report = `${dir}/run/report.json`;
    await Deno.writeTextFile(report, baseline);
    const compare = (...extra: string[]) => runCli(["compare", a, `${dir}/run`, ...extra]);
    const [md, json, html, both, doubled] = await Promise.all([
      compare("--md", report),
      compare("--json", `${dir}//run/report.json`), // another spelling of it
      compare("--html", a),
      compare("--md", `${dir}/c.md`, "--html", `${dir}/c.md`),
      compare("--md", `${dir}/run/results.jsonl`), // a run file not there yet
    ]);
    assertClear(
      md,
      /--md .*run\/report\.json: is .*run\/report\.json, a file of .*run, which <current> reads: writing it would destroy an input/,
    );
    assertClear(json, /--json .*: is .*report\.json, a file of .*run, which <current> reads/);
    assertClear(html, new RegExp(`--html ${a}: is ${a}, which <baseline> reads`));
    assertClear(both, /--html .*c\.md: is the file --md writes too/);
    assertClear(doubled, /--md .*results\.jsonl: is .*results\.jsonl, a file of .*run/);
    assert.equal(await Deno.readTextFile(report), baseline);
    assert.equal(await Deno.readTextFile(a), baseline);
    assert.ok(
      !(await pathExists(`${dir}/c.md`)) && !(await pathExists(`${dir}/run/results.jsonl`)),
    );
    // A new file in the run's folder is fine.
    const ok = await compare("--md", `${dir}/run/compare.md`);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(await Deno.readTextFile(`${dir}/run/compare.md`), /No regressions|unchanged/);

    const db = `${dir}/h.sqlite`;
    await Deno.writeTextFile(db, "");
    const [dbHtml, addHtml, empty] = await Promise.all([
      runCli(["history", "--db", db, "--html", db]),
      runCli(["history", "--db", `${dir}/new.sqlite`, "--add", `${dir}/run`, "--html", report]),
      runCli(["history", "--db", db]),
    ]);
    assertClear(dbHtml, new RegExp(`--html ${db}: is ${db}, which --db reads`));
    assertClear(
      addHtml,
      /--html .*report\.json: is .*report\.json, a file of .*run, which --add reads/,
    );
    assertClear(empty, new RegExp(`${db}: an empty file, not a history database`));
    assert.equal((await Deno.stat(db)).size, 0, "the empty file stays empty");
    assert.equal(await Deno.readTextFile(report), baseline);
    assert.ok(!(await pathExists(`${dir}/new.sqlite`)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("removeOtherRounds: a single round's files beside several rounds, and rounds past the last, go; other files and a held folder stay", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla-rounds-" });
  try {
    const run = async (folder: string) => {
      await Deno.mkdir(folder, { recursive: true });
      for (const f of ["run.json", "results.jsonl", "report.json", "summary.md"]) {
        await Deno.writeTextFile(`${folder}/${f}`, "{}\n");
      }
    };
    // an update of one round, then of three into the same --out
    await run(dir);
    for (const i of [1, 2, 3, 4]) await run(`${dir}/round-${i}`);
    await Deno.writeTextFile(`${dir}/round-4/notes.txt`, "mine\n");
    const gone = await removeOtherRounds(dir, 3);
    assert.deepEqual(gone, [
      `${dir}/results.jsonl`,
      `${dir}/report.json`,
      `${dir}/summary.md`,
      `${dir}/run.json`,
      `${dir}/round-4/results.jsonl`,
      `${dir}/round-4/report.json`,
      `${dir}/round-4/summary.md`,
      `${dir}/round-4/run.json`,
    ]);
    const names = (d: string) => [...Deno.readDirSync(d)].map((e) => e.name).sort();
    assert.deepEqual(names(dir), ["round-1", "round-2", "round-3", "round-4"]);
    assert.deepEqual(names(`${dir}/round-4`), ["notes.txt"]);
    // stopped in round 1 of 3: round-2 and round-3 (an earlier update's) go, whole
    assert.deepEqual(await removeOtherRounds(dir, 3, { through: 1 }), [
      `${dir}/round-2/`,
      `${dir}/round-3/`,
    ]);
    assert.deepEqual(names(dir), ["round-1", "round-4"]);
    // one round: its own files are its run's (replaced as it runs); rounds past it go
    await run(dir);
    assert.deepEqual(await removeOtherRounds(dir, 1), [`${dir}/round-1/`]);
    assert.ok(await pathExists(`${dir}/report.json`));
    // a folder another run writes (its run.lock held) is left alone
    await run(`${dir}/round-2`);
    const lock = await lockOutDir(`${dir}/round-2`);
    try {
      assert.deepEqual(await removeOtherRounds(dir, 1), []);
      assert.ok(await pathExists(`${dir}/round-2/report.json`));
    } finally {
      await lock.release();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
