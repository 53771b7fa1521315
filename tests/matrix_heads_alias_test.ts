// A `heads` override equal to a preset's own head count is the case heads 0 (the spec's)
// under another id: `"heads": [4, 0]` on tiny (4 heads), or heads 4 in one group and the
// axis left out in another, ran one case twice under two ids (baselines and history keyed
// them apart). The matrix is now refused on load naming both ids and the preset's count.
import assert from "node:assert/strict";
import { ConfigError } from "../adapter/errors.ts";
import { presetSpec } from "../adapter/presets.ts";
import { expandMatrix, loadMatrix, validateMatrix } from "../matrix/expand.ts";

function expandError(groups: unknown[]): string {
  try {
    expandMatrix(validateMatrix({ name: "m", groups }, "m.json"), "m.json");
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.message;
  }
  assert.fail("the matrix was accepted");
}

Deno.test("expandMatrix: heads equal to the preset's own count beside heads 0 is refused", () => {
  const own = presetSpec("tiny").numHeads;
  assert.match(
    expandError([{ axes: { preset: "tiny", heads: [own, 0], sk: 8 } }]),
    new RegExp(
      `groups\\[0\\]: "preset=tiny;path=absorbed;dtype=f32;b=1;sq=1;sk=8;layout=bshd;causal=1" ` +
        `runs the case "preset=tiny;heads=${own};path=absorbed;.*" of groups\\[0\\] under ` +
        `another id: heads ${own} is tiny's own head count.*give heads 0 or ${own}, not both`,
    ),
  );
  // across groups, either order
  assert.match(
    expandError([
      { name: "plain", axes: { preset: "tiny", sk: 8 } },
      { name: "sweep", axes: { preset: "tiny", heads: [1, own], sk: 8 } },
    ]),
    /groups\[1\]: "preset=tiny;heads=4;.*" runs the case "preset=tiny;path=.*" of groups\[0\]/,
  );
  // a heads value of another count, the own count alone, and a config path are fine
  assert.equal(
    expandMatrix(
      validateMatrix({
        name: "m",
        groups: [
          { axes: { preset: "tiny", heads: [1, 2, 0] } },
          { axes: { preset: "tiny", heads: own, sk: 9 } },
        ],
      }, "m.json"),
      "m.json",
    ).length,
    4,
  );
});

Deno.test("loadMatrix: a config path's own head count beside heads 0 is refused too", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla-heads-alias-" });
  try {
    await Deno.copyFile(
      new URL(
        "../matrix/bundled/configs/published/DeepSeek-V2-Lite-Chat.config.json",
        import.meta.url,
      ),
      `${dir}/v2.json`,
    );
    const write = (groups: unknown[]) =>
      Deno.writeTextFile(`${dir}/m.json`, JSON.stringify({ name: "m", groups }));
    // DeepSeek-V2-Lite has 16 heads; the two spellings of the path name one file
    await write([
      { name: "a", axes: { preset: "v2.json", sk: 8 } },
      { name: "b", axes: { preset: "./v2.json", heads: [2, 16], sk: 8 } },
    ]);
    const e = await loadMatrix(`${dir}/m.json`).then(() => null, (e: unknown) => e);
    assert.ok(e instanceof ConfigError, String(e));
    assert.match(
      e.message,
      /groups\[1\]: "preset=v2\.json;heads=16;.*" runs the case "preset=v2\.json;path=.*" of groups\[0\] under another id: heads 16 is v2\.json's own head count/,
    );
    await write([
      { name: "a", axes: { preset: "v2.json", sk: 8 } },
      { name: "b", axes: { preset: "./v2.json", heads: [2, 8], sk: 8 } },
    ]);
    assert.equal((await loadMatrix(`${dir}/m.json`)).cases.length, 3);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
