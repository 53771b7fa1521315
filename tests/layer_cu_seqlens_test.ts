// `layer --cu-seqlens` with malformed offsets names the fault (offsets that decrease, or do
// not start at 0) as explain does, through the layout's own check (adapter/layout.ts
// cuSeqlensIssues), not "the last offset is ..., expected the token count".
import assert from "node:assert/strict";
import { cuSeqlensIssues } from "../adapter/layout.ts";
import { runCli } from "./helpers_cli.ts";

const input = new URL("./fixtures/safetensors/tiny_input_thd.safetensors", import.meta.url)
  .pathname; // hidden_states [12, 64]

Deno.test("layer --cu-seqlens: decreasing offsets, or a first offset not 0, are named (exit 2)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cases: [string, RegExp][] = [
      [
        "0,2,1",
        /--cu-seqlens 0,2,1: entry \[2\]: 1 must be >= the previous offset 2 \(offsets are non-decreasing\)/,
      ],
      ["0,7,5,12", /--cu-seqlens 0,7,5,12: entry \[2\]: 5 must be >= the previous offset 7/],
      ["3,12", /--cu-seqlens 3,12: entry \[0\]: 3 must be 0 \(offsets start at 0\)/],
      ["12", /--cu-seqlens 12: must list at least two offsets/],
    ];
    const results = await Promise.all(
      cases.map(([cu]) =>
        runCli([
          "layer",
          "--config",
          "tiny",
          "--input",
          input,
          "--out",
          `${dir}/o.st`,
          "--cu-seqlens",
          cu,
        ])
      ),
    );
    results.forEach((r, i) => {
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, cases[i][1]);
      assert.doesNotMatch(r.stderr, /the last offset is|\n\s+at |internal error/);
    });
    assert.ok(!(await Deno.stat(`${dir}/o.st`).then(() => true, () => false)), "no output");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cuSeqlensIssues reports what normalizeLayout reports, under the given name", () => {
  assert.deepEqual(cuSeqlensIssues("--cu-seqlens", [0, 5, 12]), []);
  const [issue] = cuSeqlensIssues("cuSeqlensQ", [0, 5, 3]);
  assert.equal(issue.path, "cuSeqlensQ[2]");
  assert.equal(issue.value, 3);
  assert.match(issue.message, /must be >= the previous offset 5/);
});
