// Excludes that remove every case: an empty exclude object is refused, a group its
// excludes empty is refused naming the group, and a matrix whose selection is empty (too
// many excludes to count exactly) is refused by the run's selection: a run is never green
// having tested nothing. An empty shard of a non-empty selection stays a note.
import assert from "node:assert/strict";
import { ConfigError } from "../adapter/errors.ts";
import { checkExcludes, validateMatrix } from "../matrix/expand.ts";
import { selectMatrixCases } from "../matrix/select.ts";
import { runCli } from "./helpers_cli.ts";

function validationError(raw: unknown): ConfigError {
  try {
    checkExcludes(validateMatrix(raw, "m.json"), "m.json");
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e;
  }
  assert.fail("expected a ConfigError");
}

const axes = { preset: "tiny", path: "absorbed", dtype: ["f32", "f16"], sk: 8 };

Deno.test("an empty exclude object matches every case: refused, naming the entry", () => {
  const e = validationError({ name: "m", groups: [{ axes, exclude: [{ dtype: "f16" }, {}] }] });
  assert.match(e.message, /^m\.json: invalid matrix/);
  assert.match(e.message, /groups\[0\]\.exclude\[1\]: \{\} is empty, so it matches every case/);
  assert.match(e.message, /name the axes of the cases to drop/);
  assert.ok(!e.message.includes("exclude[0]"), "a non-empty exclude is fine");
});

Deno.test("a group whose excludes remove all its cases is refused, naming it and the count", () => {
  const e = validationError({
    name: "m",
    groups: [
      { name: "decode", axes, exclude: [{ dtype: "f32" }, { dtype: "f16", sk: 8 }] },
      {
        name: "kept",
        axes: { preset: "tiny", sk: 4, dtype: ["f32", "f16"] },
        exclude: [{ dtype: "f16" }],
      },
    ],
  });
  assert.match(
    e.message,
    /groups\[0\]\.exclude: .* \(group "decode"\) removes all 2 of the group's cases/,
  );
  assert.ok(!e.message.includes("groups[1]"), "a group with cases left is fine");
  // excludes that leave one case are fine
  const m = validateMatrix(
    { name: "m", groups: [{ axes, exclude: [{ dtype: "f32" }] }] },
    "m.json",
  );
  checkExcludes(m, "m.json");
});

Deno.test("a group of 17 excludes that remove every case is refused, naming it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/m.json`;
    const bs = Array.from({ length: 17 }, (_, i) => i + 1);
    await Deno.writeTextFile(
      path,
      JSON.stringify({
        name: "m17",
        groups: [{ axes: { preset: "tiny", b: bs }, exclude: bs.map((b) => ({ b })) }],
      }),
    );
    await assert.rejects(
      () => selectMatrixCases({ matrix: path }),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError, String(e));
        // counted one by one (17 combinations), not only bounded by the product: named on
        // load as a group its excludes empty, not left to the selection's "no case"
        assert.match(e.message, /groups\[0\]\.exclude: .* removes all 17 of the group's cases/);
        return true;
      },
    );
    // one case left: selected, and an empty shard of it is a note, not an error
    await Deno.writeTextFile(
      path,
      JSON.stringify({
        name: "m17",
        groups: [{ axes: { preset: "tiny", b: [...bs, 18] }, exclude: bs.map((b) => ({ b })) }],
      }),
    );
    assert.equal((await selectMatrixCases({ matrix: path })).all.length, 1);
    const shards = await Promise.all(
      [1, 2].map((index) => selectMatrixCases({ matrix: path, shard: { index, count: 2 } })),
    );
    assert.equal(shards[0].mine.length + shards[1].mine.length, 1);
    assert.equal(shards.flatMap((s) => s.notes).length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CLI: run with an emptying exclude exits 2 with the entry named, and writes no results", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const matrices: [unknown, RegExp][] = [
      [
        { name: "m", groups: [{ axes, exclude: [{}] }] },
        /groups\[0\]\.exclude\[0\]: \{\} is empty/,
      ],
      [
        { name: "m", groups: [{ name: "g", axes, exclude: [{ dtype: ["f32", "f16"] }] }] },
        /\(group "g"\) removes all 2 of the group's cases/,
      ],
    ];
    for (const [i, [matrix, message]] of matrices.entries()) {
      const m = `${dir}/m${i}.json`;
      const out = `${dir}/out${i}`;
      await Deno.writeTextFile(m, JSON.stringify(matrix));
      const r = await runCli(["run", "--matrix", m, "--out", out], {
        DENO_WEBGPU_BACKEND: Deno.env.get("DENO_WEBGPU_BACKEND") ?? "vulkan",
      });
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, message);
      assert.ok(!/\n\s+at /.test(r.stderr), `no stack trace: ${r.stderr}`);
      assert.ok(!r.stdout.includes("0/0 cases"), r.stdout);
      assert.ok(!(await Deno.stat(`${out}/results.jsonl`).then(() => true, () => false)));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an exclude value the group's axis never takes is refused: it would drop nothing", () => {
  const e = validationError({
    name: "m",
    groups: [{
      axes: { preset: ["tiny", "tiny-yarn"], sq: [1, 2] },
      // a typo (tiny_yarn), a value the axis lacks (sq 3), an axis left at its default
      exclude: [{ preset: ["tiny_yarn", "tiny"], sq: 2 }, { sq: 3 }, { dtype: "f16" }],
    }],
  });
  assert.match(e.message, /groups\[0\]\.exclude\[0\]\.preset\[0\]: "tiny_yarn" is not a value/);
  assert.match(e.message, /of the group's preset \("tiny", "tiny-yarn"\), so it excludes nothing/);
  assert.ok(!e.message.includes("exclude[0].preset[1]"), "tiny is a value of the group");
  assert.ok(!e.message.includes("exclude[0].sq"), "sq 2 is a value of the group");
  assert.match(e.message, /groups\[0\]\.exclude\[1\]\.sq\[0\]: 3 is not a value of the group's sq/);
  assert.match(e.message, /exclude\[2\]\.dtype\[0\]: "f16" .*dtype \("f32": the default\)/);
});

// An exclude another entry of its group covers (a repeated entry, or a narrower one beside a
// wider) dropped nothing more and was accepted without a word: most often a typo for the
// cases it was meant to drop, which then ran. It is now refused naming both entries.
Deno.test("an exclude another entry covers is refused: it would drop nothing more", () => {
  const two = { ...axes, preset: ["tiny", "tiny-yarn"] };
  const repeated = validationError({
    name: "m",
    groups: [{ axes: two, exclude: [{ dtype: "f16" }, { dtype: "f16" }] }],
  });
  assert.match(
    repeated.message,
    /groups\[0\]\.exclude\[1\]: .* removes only cases that exclude\[0\] \(\{"dtype":\["f16"\]\}\) removes too, so it excludes nothing more/,
  );
  assert.ok(!repeated.message.includes("groups[0].exclude[0]:"), "the first of two is kept");
  const narrower = validationError({
    name: "m",
    groups: [{ axes: two, exclude: [{ preset: "tiny", dtype: "f16" }, { dtype: ["f16"] }] }],
  });
  assert.match(
    narrower.message,
    /groups\[0\]\.exclude\[0\]: .* removes only cases that exclude\[1\]/,
  );
  assert.ok(!narrower.message.includes("exclude[1]:"), "the wider entry is kept");
  // overlapping entries that each drop a case of their own are fine
  const m = validateMatrix(
    { name: "m", groups: [{ axes: two, exclude: [{ preset: "tiny" }, { dtype: "f16" }] }] },
    "m.json",
  );
  checkExcludes(m, "m.json");
});
