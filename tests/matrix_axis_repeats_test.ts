// A value listed twice in one axis of a group (`"sq": [1, 2, 1]`, a copy-paste slip) was
// refused as `groups[0]: "<id>" repeats a case of groups[0]`: the group repeating itself,
// naming neither the axis nor the value. The refusal now names the entry listed twice and
// where it was listed first (exit 2, before any output folder is made).
import assert from "node:assert/strict";
import { ConfigError } from "../adapter/errors.ts";
import { loadMatrix, validateMatrix } from "../matrix/expand.ts";
import { runCli } from "./helpers_cli.ts";

function refusal(axes: Record<string, unknown>): string {
  try {
    validateMatrix({ name: "m", groups: [{ axes: { preset: "tiny", ...axes } }] }, "m.json");
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.message;
  }
  assert.fail("the matrix was accepted");
}

Deno.test("validateMatrix: a value listed twice in an axis names the axis and both places", () => {
  assert.match(
    refusal({ sq: [1, 2, 1] }),
    /groups\[0\]\.axes\.sq\[2\]: 1 is listed twice \(also sq\[0\]\).*list each value once/,
  );
  assert.match(refusal({ causal: [true, true] }), /groups\[0\]\.axes\.causal\[1\]: true is listed/);
  assert.match(refusal({ dtype: ["f16", "f32", "f16"] }), /axes\.dtype\[2\]: "f16" is listed/);
  // distinct values, and one value written once, are fine
  validateMatrix({ name: "m", groups: [{ axes: { sq: [1, 2], dtype: "f16" } }] }, "m.json");
});

Deno.test("run: a value listed twice in an axis is exit 2 naming it, no output folder", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla-axis-repeats-" });
  try {
    await Deno.writeTextFile(
      `${dir}/m.json`,
      JSON.stringify({ name: "m", groups: [{ axes: { preset: "tiny", sk: [8, 12, 8] } }] }),
    );
    const r = await runCli(["run", "--matrix", `${dir}/m.json`, "--out", `${dir}/out`]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /m\.json: invalid matrix\n\s+groups\[0\]\.axes\.sk\[2\]: 8 is listed twice/,
    );
    assert.doesNotMatch(r.stderr, /repeats a case/);
    await assert.rejects(() => Deno.stat(`${dir}/out`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// A case two groups both give (the second with another expect) was refused unfiltered but
// ran when --filter left the repeat out: one nightly job red, its filtered neighbour green,
// on the same file. A filtered load now walks the whole matrix for repeats too.
Deno.test("loadMatrix: a case two groups repeat is refused with a filter that leaves it out", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla-repeat-filter-" });
  try {
    const path = `${dir}/m.json`;
    await Deno.writeTextFile(
      path,
      JSON.stringify({
        name: "m",
        groups: [
          { name: "a", axes: { preset: "tiny", sq: [1, 4], sk: 8 } },
          { name: "b", axes: { preset: "tiny", sq: 1, sk: 8 }, expect: { support: "invalid" } },
        ],
      }),
    );
    for (const filter of [null, new Map([["sq", ["4"]]])]) {
      await assert.rejects(
        () => loadMatrix(path, { filter }),
        /groups\[1\]: "preset=tiny;.*sq=1;sk=8.*" repeats a case of groups\[0\]/,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// The whole-matrix walk for repeats stays within the default limit even where a caller lifts
// the limit (report/case_groups.ts re-reads a run's matrix so): a matrix of 10^8 cases under a
// filter of one is loaded without walking it.
Deno.test("loadMatrix: a filtered load of a huge matrix with the limit lifted does not walk it whole", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla-repeat-huge-" });
  try {
    const path = `${dir}/m.json`;
    const n = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);
    await Deno.writeTextFile(
      path,
      JSON.stringify({
        name: "m",
        groups: [{ axes: { preset: "tiny", b: n(1, 1000), sq: n(1, 1000), sk: n(100, 100) } }],
      }),
    );
    const { cases } = await loadMatrix(path, {
      filter: new Map([["b", ["1"]], ["sq", ["1"]], ["sk", ["100"]]]),
      maxCases: Number.MAX_SAFE_INTEGER,
    });
    assert.equal(cases.length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
