// An --out that holds a run or a merge (run.json, results.jsonl) is refused by every command
// that writes its own files there: upgrade-check replaced the compare.md and compare.json a
// `run --baseline` leaves, and compare-runtimes put its report beside a run's as if it were
// the run's (exit 0 both). bench and merge refused such a folder already.
import assert from "node:assert/strict";
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
