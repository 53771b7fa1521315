// `explain --case <id> --matrix <file>` of a matrix over --max-cases's default (which a run
// given --max-cases runs, and whose failure cards print that very explain command) was
// refused "too many cases ... raise the limit with --max-cases N", an option explain has
// not. The case is now found through its own id as a filter; a case the matrix lacks is said
// so, without the option explain does not take.
import assert from "node:assert/strict";
import { runCli } from "./helpers_cli.ts";

Deno.test("explain --case finds a case of a matrix over the default case limit", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla-explain-big-" });
  try {
    const r = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
    const matrix = `${dir}/big.json`;
    // 400 x 300 = 120,000 cases, over the default limit of 100,000
    await Deno.writeTextFile(
      matrix,
      JSON.stringify({
        name: "big",
        groups: [{ axes: { preset: "tiny", b: r(400), sq: r(300) } }],
      }),
    );
    const id = "preset=tiny;path=absorbed;dtype=f32;b=7;sq=3;sk=16;layout=bshd;causal=1";
    const ok = await runCli(["explain", "--case", id, "--matrix", matrix]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, new RegExp(`^case ${id}\\n  of matrix `));
    // an id as copied (spaces, keys in another order) is found there too: it was "too many
    // to name the nearest" where the smaller matrix found it
    const copied = await runCli([
      "explain",
      "--case",
      ` path=absorbed; ${id.replace("path=absorbed;", "")}; `,
      "--matrix",
      matrix,
    ]);
    assert.equal(copied.code, 0, copied.stdout + copied.stderr);
    assert.match(copied.stdout, new RegExp(`^case ${id}\\n`));
    const lacking = id.replace("sk=16", "sk=17");
    const no = await runCli(["explain", "--case", lacking, "--matrix", matrix]);
    assert.equal(no.code, 2, no.stdout + no.stderr);
    assert.match(no.stderr, /--case: matrix .*big\.json has no case .*sk=17.* too many to name/);
    assert.doesNotMatch(no.stderr, /--max-cases/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
