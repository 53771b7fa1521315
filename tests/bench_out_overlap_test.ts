/**
 * `bench --out` refuses, before the device starts, a folder whose writing would destroy
 * what is there: a `run` or `merge` output folder (bench's report.json, summary.md and
 * report.html would replace the run's) and a --reference-ceilings file that is one of the
 * files bench writes there (the quiet-moment reference replaced by this run's report).
 * Needs no GPU: each is exit 2 before the device is opened.
 */
import assert from "node:assert/strict";
import { checkBenchOut } from "../bench/out_dir.ts";
import { OutputPathError } from "../report/output_paths.ts";
import { runCli } from "./helpers_cli.ts";

async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const e of Deno.readDir(dir)) {
    out[e.name] = await Deno.readTextFile(`${dir}/${e.name}`);
  }
  return out;
}

Deno.test("bench --out: a run's folder, or the --reference-ceilings file inside it, is exit 2 and untouched", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "mla-bench-out-" });
  try {
    // A run's folder (as `run` leaves it) and a bench folder holding the reference report.
    await Deno.mkdir(`${tmp}/run`);
    for (const f of ["run.json", "results.jsonl", "report.json", "summary.md", "report.html"]) {
      await Deno.writeTextFile(`${tmp}/run/${f}`, `${f} of a run\n`);
    }
    await Deno.mkdir(`${tmp}/merged`);
    await Deno.writeTextFile(`${tmp}/merged/results.jsonl`, "");
    await Deno.writeTextFile(`${tmp}/merged/report.json`, "{}\n");
    await Deno.mkdir(`${tmp}/bench`);
    await Deno.writeTextFile(`${tmp}/bench/report.json`, '{"reference": true}\n');
    const before = {
      run: await snapshot(`${tmp}/run`),
      merged: await snapshot(`${tmp}/merged`),
      bench: await snapshot(`${tmp}/bench`),
    };
    const bench = (args: string[]) =>
      runCli(["bench", "--matrix", "tiny", "--reps", "1", ...args], {
        DENO_WEBGPU_BACKEND: "dx12", // no adapter: reaching the device would be exit 3
      });
    const [intoRun, intoMerge, reference, referenceLinked] = await Promise.all([
      bench(["--out", `${tmp}/run`]),
      bench(["--out", `${tmp}/merged/`]),
      bench(["--out", `${tmp}/bench`, "--reference-ceilings", `${tmp}/bench/report.json`]),
      bench(["--out", `${tmp}/bench/`, "--reference-ceilings", `${tmp}/./bench//report.json`]),
    ]);
    for (const r of [intoRun, intoMerge, reference, referenceLinked]) {
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.doesNotMatch(r.stderr, /internal error|at .*\.ts:\d+/);
    }
    assert.match(
      intoRun.stderr,
      /--out .*run: holds run\.json: it is the output folder of a run or a merge, whose report\.json, summary\.md and report\.html bench would replace/,
    );
    assert.match(intoMerge.stderr, /--out .*merged\/: holds results\.jsonl/);
    assert.match(
      reference.stderr,
      /--out .*bench\/report\.json: is .*bench\/report\.json, which --reference-ceilings reads: writing it would destroy an input/,
    );
    assert.match(referenceLinked.stderr, /which --reference-ceilings reads/);
    assert.deepEqual(await snapshot(`${tmp}/run`), before.run);
    assert.deepEqual(await snapshot(`${tmp}/merged`), before.merged);
    assert.deepEqual(await snapshot(`${tmp}/bench`), before.bench);
    // A new folder, a bench folder and a reference elsewhere pass the check.
    await checkBenchOut(`${tmp}/new`);
    await checkBenchOut(`${tmp}/bench`, { referenceCeilings: `${tmp}/run/../ref.json` });
    await assert.rejects(() => checkBenchOut(`${tmp}/run`), OutputPathError);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
