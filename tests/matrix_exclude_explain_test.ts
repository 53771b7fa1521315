// `explain --case <id>` of a case a matrix's exclude removed said "has no case ... the
// nearest: ...", as for a typo; it now names the exclude entry that removed it.
import assert from "node:assert/strict";
import { excludeOfCase, validateMatrix } from "../matrix/expand.ts";
import { runCliInProcess } from "./helpers_cli.ts";

const id = (over: string) =>
  `preset=tiny;path=absorbed;dtype=${over};b=2;sq=1;sk=16;layout=bshd;causal=1`;

const MATRIX = {
  name: "m",
  groups: [
    { axes: { preset: "tiny", dtype: ["f32", "f16"], sk: [8, 16] } },
    {
      name: "two",
      axes: { preset: "tiny", b: 2, dtype: ["f32", "f16"], causal: [true, false] },
      exclude: [{ causal: false }, { dtype: "f16" }],
    },
  ],
};

Deno.test("excludeOfCase: the entry that removed a case; null for a case no group holds or one that runs", () => {
  const m = validateMatrix(MATRIX, "m.json");
  assert.deepEqual(excludeOfCase(m, id("f16")), {
    group: "two",
    path: "groups[1].exclude[1]",
    exclude: { dtype: ["f16"] },
  });
  assert.equal(
    excludeOfCase(m, id("f32").replace("causal=1", "causal=0"))?.path,
    "groups[1].exclude[0]",
  );
  // runs (not excluded), and a b no group has
  assert.equal(excludeOfCase(m, id("f32")), null);
  assert.equal(excludeOfCase(m, id("f16").replace("b=2", "b=3")), null);
});

Deno.test("explain --case of an excluded case names the exclude entry, not the nearest case", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla-exclude-explain-" });
  try {
    await Deno.writeTextFile(`${dir}/m.json`, JSON.stringify(MATRIX));
    const explain = (c: string) =>
      runCliInProcess(["explain", "--case", c, "--matrix", `${dir}/m.json`, "--no-device"]);
    const r = await explain(id("f16"));
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /--case: matrix .*m\.json has no case "preset=tiny;path=absorbed;dtype=f16;b=2;[^"]*": groups\[1\]\.exclude\[1\] \(\{"dtype":\["f16"\]\}\) of group "two" removes it; drop or narrow that exclude to run and explain it/,
    );
    assert.doesNotMatch(r.stderr, /nearest/);
    // a case no group holds: the nearest, as before
    const typo = await explain(id("f16").replace("b=2", "b=3"));
    assert.equal(typo.code, 2, typo.stderr);
    assert.match(typo.stderr, /has no case .*the nearest: /);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
