// The matrix's `seed` is recorded on every result line, the cases that ran included: compare
// names a changed seed on the cases it moved (drift/compare.ts) only when both sides carry
// it. A supported case's line left it out, so a matrix whose seed was edited showed its
// cases as numeric drift "attributed to nothing recorded changed" (exit 1).
import assert from "node:assert/strict";
import { runCli } from "./helpers_cli.ts";

/** Run a one-group tiny matrix with `seed` into `<dir>/<name>`; the result lines. */
async function runWithSeed(dir: string, name: string, seed: number): Promise<unknown[]> {
  const matrix = `${dir}/${name}.json`;
  await Deno.writeTextFile(
    matrix,
    JSON.stringify({
      name: "seeded",
      seed,
      groups: [
        { name: "runs", axes: { preset: "tiny", b: 2, sq: 2, sk: 20 } },
        {
          name: "refused",
          axes: { preset: "tiny", sk: 0 },
          expect: { support: "unsupported", codes: ["layout.no-keys"] },
        },
      ],
    }),
  );
  const out = `${dir}/${name}`;
  const r = await runCli(["run", "--matrix", matrix, "--out", out, "--repeats", "0"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  return (await Deno.readTextFile(`${out}/results.jsonl`)).trim().split("\n")
    .map((l) => JSON.parse(l));
}

Deno.test("run records the matrix seed on every result, and compare names a changed one", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla_seed_" });
  try {
    const first = await runWithSeed(dir, "a", 5);
    const ran = first.filter((l) => (l as { decision: string }).decision === "supported");
    assert.equal(ran.length, 1, JSON.stringify(first));
    for (const line of first) {
      assert.equal((line as { seed?: number }).seed, 5, JSON.stringify(line).slice(0, 300));
    }
    await runWithSeed(dir, "b", 6);
    const cmp = await runCli(["compare", `${dir}/a`, `${dir}/b`]);
    assert.match(cmp.stdout, /input seed 5 → 6/, cmp.stdout + cmp.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
