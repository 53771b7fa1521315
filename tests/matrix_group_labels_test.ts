// The reports group cases by their matrix group's label (its name, or `groups[i]` when it has
// none): summary.md's "Matrix groups" table, report.html's collapsed groups. A group copied
// and edited without renaming it shared its label with the original, and the two read as
// one group (one row, the counts added up). Two groups of one label are refused on load
// (exit 2, naming both entries), before any output folder is made.
import assert from "node:assert/strict";
import { ConfigError } from "../adapter/errors.ts";
import { validateMatrix } from "../matrix/expand.ts";
import { runCli } from "./helpers_cli.ts";

function refusal(raw: unknown): string {
  try {
    validateMatrix(raw, "m.json");
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.message;
  }
  assert.fail("the matrix was accepted");
}

Deno.test("validateMatrix: two groups of one name are refused, naming both", () => {
  const message = refusal({
    name: "m",
    groups: [
      { name: "decode", axes: { preset: "tiny" } },
      { name: "prefill", axes: { preset: "tiny", sq: 4 } },
      { name: "decode", axes: { preset: "tiny", dtype: "f16" } },
    ],
  });
  assert.match(message, /groups\[2\]\.name: "decode" is also the label of groups\[0\]/);
  assert.match(message, /give each group its own name/);
});

Deno.test("validateMatrix: a name that is another group's groups[i] label is refused", () => {
  const message = refusal({
    name: "m",
    groups: [
      { name: "groups[1]", axes: { preset: "tiny" } },
      { axes: { preset: "tiny", dtype: "f16" } },
    ],
  });
  assert.match(message, /groups\[1\]: "groups\[1\]" is also the label of groups\[0\]/);
});

Deno.test("validateMatrix: distinct names, and unnamed groups, are fine", () => {
  validateMatrix({
    name: "m",
    groups: [
      { name: "a", axes: { preset: "tiny" } },
      { axes: { preset: "tiny", sq: 2 } },
      { axes: { preset: "tiny", sq: 3 } },
      { name: "b", axes: { preset: "tiny", sq: 4 } },
    ],
  }, "m.json");
});

Deno.test("run: a matrix with two groups of one name is exit 2, no output folder", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla-group-labels-" });
  try {
    await Deno.writeTextFile(
      `${dir}/m.json`,
      JSON.stringify({
        name: "m",
        groups: [
          { name: "g", axes: { preset: "tiny" } },
          { name: "g", axes: { preset: "tiny", dtype: "f16" } },
        ],
      }),
    );
    const r = await runCli(["run", "--matrix", `${dir}/m.json`, "--out", `${dir}/out`]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /m\.json: invalid matrix\n\s+groups\[1\]\.name: "g" is also the label/);
    await assert.rejects(() => Deno.stat(`${dir}/out`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// summary.md and report.html print a label as it reads: "a" and "a " (or "a  b" and "a b")
// were two groups that read as one there.
Deno.test("validateMatrix: two names that differ only in spaces are refused as one label", () => {
  const message = refusal({
    name: "m",
    groups: [
      { name: "decode", axes: { preset: "tiny" } },
      { name: "decode ", axes: { preset: "tiny", sq: 4 } },
      { name: "long  prefill", axes: { preset: "tiny", sq: 8 } },
      { name: "long prefill", axes: { preset: "tiny", sq: 9 } },
    ],
  });
  assert.match(
    message,
    /groups\[1\]\.name: "decode " is also the label of groups\[0\] \("decode", which reads the same\)/,
  );
  assert.match(message, /groups\[3\]\.name: "long prefill" is also the label of groups\[2\]/);
});
