// An --out that holds a run or a merge (run.json, results.jsonl) is refused by every command
// that writes its own files there: upgrade-check replaced the compare.md and compare.json a
// `run --baseline` leaves, and compare-runtimes put its report beside a run's as if it were
// the run's (exit 0 both). bench and merge refused such a folder already.
import assert from "node:assert/strict";
import { hasAdapter } from "../gpu/device.ts";
import { runCli } from "./helpers_cli.ts";

Deno.test("upgrade-check and compare-runtimes refuse an --out holding a run (exit 2, nothing written)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla-out-run-" });
  try {
    for (const held of ["run.json", "results.jsonl"]) {
      const out = `${dir}/${held}-run`;
      await Deno.mkdir(out);
      await Deno.writeTextFile(`${out}/${held}`, "{}\n");
      await Deno.writeTextFile(`${out}/compare.md`, "the run's own drift report\n");
      const cases = [
        ["upgrade-check", "--from-ref", "HEAD", "--to-ref", "HEAD", "--filter", "preset=tiny"],
        ["compare-runtimes", "--filter", "preset=tiny"],
      ];
      for (const args of cases) {
        const r = await runCli([...args, "--out", out], {}, { all: true, timeoutMs: 60_000 });
        assert.equal(r.code, 2, `${args[0]}: ${r.stdout}${r.stderr}`);
        assert.match(
          r.stderr,
          new RegExp(`--out ${out}: holds ${held}: it is the output folder of a run or a merge`),
          args[0],
        );
        assert.deepEqual(
          [...Deno.readDirSync(out)].map((e) => e.name).sort(),
          ["compare.md", held].sort(),
          `${args[0]} wrote nothing`,
        );
        assert.equal(await Deno.readTextFile(`${out}/compare.md`), "the run's own drift report\n");
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("run into a folder whose results.jsonl it may not write: exit 2 naming the file, the run there untouched", async () => {
  // a read-only results.jsonl (another user's; here --deny-write, which root cannot bypass):
  // it was an internal error with a stack trace, after the run had removed the reports and,
  // resuming, replaced run.json of the run the folder held
  const dir = await Deno.makeTempDir({ prefix: "mla-out-readonly-" });
  try {
    const out = `${dir}/out`;
    await Deno.mkdir(out);
    const held: Record<string, string> = {
      "results.jsonl": '{"id":"x"}\n',
      "run.json": '{"the run":"there"}\n',
      "report.json": '{"its":"report"}\n',
      "summary.md": "its summary\n",
    };
    for (const [name, text] of Object.entries(held)) {
      await Deno.writeTextFile(`${out}/${name}`, text);
    }
    for (const resume of [[], ["--resume"]]) {
      const r = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          `--deny-write=${out}/results.jsonl`,
          new URL("../main.ts", import.meta.url).pathname,
          ...["run", "--filter", "preset=tiny", "--out", out, ...resume],
        ],
        env: { NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(r.stderr);
      assert.equal(r.code, 2, stderr);
      assert.match(
        stderr,
        new RegExp(
          `^error: --out \\(results\\.jsonl\\) ${out}/results\\.jsonl: cannot be written \\(.*\\): ` +
            "a run appends its results to it in place; make it writable, or pick another --out",
          "m",
        ),
      );
      assert.doesNotMatch(stderr, /internal error|\n\s+at /);
      for (const [name, text] of Object.entries(held)) {
        assert.equal(await Deno.readTextFile(`${out}/${name}`), text, `${name} kept`);
      }
      assert.deepEqual(
        [...Deno.readDirSync(out)].map((e) => e.name).sort(),
        Object.keys(held).sort(),
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "run --force into a folder whose run.json or report.json it may not replace: exit 2 " +
    "naming the file, the folder still reading as the run it held",
  ignore: !(await hasAdapter()),
  fn: async () => {
    // an immutable file, or another user's in a sticky folder (here --deny-write): an internal
    // error with a stack trace, once the reports had been removed
    const dir = await Deno.makeTempDir({ prefix: "mla-out-unreplaceable-" });
    try {
      for (const denied of ["run.json", "report.json"]) {
        const out = `${dir}/${denied}`;
        await Deno.mkdir(out);
        const held: Record<string, string> = {
          "results.jsonl": '{"id":"x"}\n',
          "run.json": '{"the run":"there"}\n',
          "report.json": '{"its":"report"}\n',
        };
        for (const [name, text] of Object.entries(held)) {
          await Deno.writeTextFile(`${out}/${name}`, text);
        }
        const r = await new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "-A",
            `--deny-write=${out}/${denied}`,
            new URL("../main.ts", import.meta.url).pathname,
            ...["run", "--filter", "preset=tiny", "--out", out, "--force"],
          ],
          env: { NO_COLOR: "1" },
          stdout: "piped",
          stderr: "piped",
        }).output();
        const stderr = new TextDecoder().decode(r.stderr);
        assert.equal(r.code, 2, stderr);
        assert.match(
          stderr,
          new RegExp(
            `^error: --out \\(${denied}\\) ${out}/${denied}: cannot be replaced \\(.*\\): a run ` +
              "replaces the run.json and reports of the run the folder holds",
            "m",
          ),
        );
        assert.doesNotMatch(stderr, /internal error|\n\s+at /);
        // the file and the results kept; run.json goes first, so the folder reads as the run
        // through its report.json when report.json is the one denied
        assert.equal(await Deno.readTextFile(`${out}/${denied}`), held[denied]);
        assert.equal(await Deno.readTextFile(`${out}/results.jsonl`), held["results.jsonl"]);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
