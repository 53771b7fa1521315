// A --filter on the backend axis of a matrix that never sets it was refused with "its values
// of backend: " and nothing after it (the axis left out is "", the bundled backend of each
// path), which read as a cut-off message. It now says the axis is not set and what runs.
import assert from "node:assert/strict";
import { ConfigError } from "../adapter/errors.ts";
import { selectMatrixCases } from "../matrix/select.ts";

Deno.test("selectMatrixCases: a backend filter on a matrix without the axis says so", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla-filter-unset-" });
  try {
    const matrix = `${dir}/m.json`;
    await Deno.writeTextFile(
      matrix,
      JSON.stringify({ name: "m", groups: [{ axes: { preset: "tiny", sq: [1, 2] } }] }),
    );
    const e = await selectMatrixCases({ matrix, filter: "backend=wgsl-absorbed" }).then(
      () => assert.fail("the filter selected cases"),
      (e: unknown) => e,
    );
    assert.ok(e instanceof ConfigError, String(e));
    assert.match(
      e.message,
      /backend: "wgsl-absorbed" occurs in no group of matrix m; its values of backend: \(none set: each case runs on the bundled backend of its path\)/,
    );
    assert.doesNotMatch(e.message, /its values of backend: *(\n|$)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// A --filter config path written from the current folder (`ci/cfg.json` for the matrix's
// `cfg.json`, the matrix in ci/) was told only the matrix's values; it now says that a config
// path in --filter is read from the matrix file's folder, as the matrix's are.
Deno.test("selectMatrixCases: a filter config path from elsewhere says where it is read from", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "mla-filter-cfg-" }));
  try {
    await Deno.copyFile(
      new URL("../matrix/bundled/configs/megatron_v2_lite.json", import.meta.url),
      `${dir}/cfg.json`,
    );
    const matrix = `${dir}/m.json`;
    await Deno.writeTextFile(
      matrix,
      JSON.stringify({ name: "m", groups: [{ axes: { preset: ["tiny", "cfg.json"] } }] }),
    );
    const e = await selectMatrixCases({ matrix, filter: "preset=ci/cfg.json" }).then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(e instanceof ConfigError, String(e));
    assert.match(
      e.message,
      new RegExp(
        `preset: "ci/cfg\\.json" occurs in no group of matrix m; its values of preset: tiny, ` +
          `cfg\\.json; a config path in --filter is read from the matrix file's folder \\(${dir}\\)`,
      ),
    );
    // a preset name that is no value of the matrix is not told about folders
    const name = await selectMatrixCases({ matrix, filter: "preset=tiny-yarn" }).then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(name instanceof ConfigError);
    assert.doesNotMatch(name.message, /matrix file's folder/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
