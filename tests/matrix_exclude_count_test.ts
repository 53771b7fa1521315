// Counting a group's cases by inclusion-exclusion costs 2^excludes terms: a matrix of 200
// groups with 16 excludes each (a generated one) took a minute to load before anything
// ran, and a group of more than 16 excludes was counted only as the product of its axes, so
// one whose excludes removed every case was not named on load. Groups whose combinations
// are few are now counted one by one: exactly, whatever the number of excludes.
import assert from "node:assert/strict";
import { ConfigError } from "../adapter/errors.ts";
import { checkExcludes, countCases, expandMatrix, validateMatrix } from "../matrix/expand.ts";
import { selectMatrixCases } from "../matrix/select.ts";

Deno.test("countCases: a group of more than 16 excludes is counted exactly", () => {
  const m = validateMatrix({
    name: "m",
    groups: [{
      axes: { sk: Array.from({ length: 30 }, (_, i) => i + 1), dtype: ["f32", "f16"] },
      exclude: Array.from({ length: 20 }, (_, i) => ({ sk: i + 1, dtype: "f16" })),
    }],
  }, "m.json");
  assert.deepEqual(countCases(m), { count: 40, exact: true });
  assert.equal(expandMatrix(m, "m.json").length, 40);
});

Deno.test("checkExcludes: 17 excludes that remove every case of a group are named", () => {
  const m = validateMatrix({
    name: "m",
    groups: [
      { name: "kept", axes: { sq: 1 } },
      {
        name: "emptied",
        axes: { sk: Array.from({ length: 17 }, (_, i) => i + 1) },
        exclude: Array.from({ length: 17 }, (_, i) => ({ sk: i + 1 })),
      },
    ],
  }, "m.json");
  assert.throws(() => checkExcludes(m, "m.json"), (e: unknown) => {
    assert.ok(e instanceof ConfigError, String(e));
    assert.match(e.message, /groups\[1\]\.exclude: .* \(group "emptied"\) removes all 17/);
    return true;
  });
});

Deno.test("countCases: many groups of 16 excludes count what expansion gives", () => {
  const groups = Array.from({ length: 40 }, (_, g) => ({
    name: `g${g}`,
    axes: { sq: g + 1, sk: Array.from({ length: 20 }, (_, i) => i + 1), causal: [true, false] },
    exclude: Array.from(
      { length: 16 },
      (_, i) => ({ sk: i + 1, ...(i % 2 ? { causal: false } : {}) }),
    ),
  }));
  const m = validateMatrix({ name: "m", groups }, "m.json");
  const counted = countCases(m);
  assert.equal(counted.exact, true);
  assert.equal(counted.count, expandMatrix(m, "m.json").length);
  assert.equal(counted.count, 40 * (40 - 8 * 2 - 8));
});

// Above 2^20 combinations with more than 16 excludes a group is counted only as the product
// of its axes, so checkExcludes cannot see that its excludes remove everything; the matrix
// then expands to nothing, and selectMatrixCases must refuse it (a run that tested nothing
// must never be green) rather than hand back an empty selection.
Deno.test("selectMatrixCases: a group too large to count exactly whose excludes remove every case is refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/allx.json`;
    await Deno.writeTextFile(
      file,
      JSON.stringify({
        name: "allx",
        groups: [{
          axes: {
            dtype: ["f32", "f16"],
            sk: Array.from({ length: 1025 }, (_, i) => i + 1),
            sq: Array.from({ length: 512 }, (_, i) => i + 1),
          },
          exclude: [
            { dtype: "f32" },
            { dtype: "f16" },
            ...Array.from({ length: 15 }, (_, i) => ({ sk: i + 1 })),
          ],
        }],
      }),
    );
    const m = validateMatrix(JSON.parse(await Deno.readTextFile(file)), file);
    // the premise: counted as an upper bound, so the load-time check passes it
    assert.deepEqual(countCases(m), { count: 2 * 1025 * 512, exact: false });
    checkExcludes(m, file);
    await assert.rejects(
      () => selectMatrixCases({ matrix: file, maxCases: 2_000_000 }),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError, String(e));
        assert.match(e.message, /selects no case of matrix allx/);
        assert.match(
          e.message,
          /groups: 1 group expands to no case: the exclude lists remove every case/,
        );
        return true;
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
