// One config file gives one case id however a matrix writes its path (`cfg.json`,
// `./cfg.json`, `../dir/cfg.json`, the absolute path): config paths are normalized when the
// matrix loads (matrix/config_paths.ts), in axes, excludes and `--filter` alike. Two spellings
// that then make one case twice are refused, naming both. Bundled matrices' ids are unchanged.
import assert from "node:assert/strict";
import { basename } from "node:path";
import { ConfigError } from "../adapter/errors.ts";
import { normalizeConfigPath } from "../matrix/config_paths.ts";
import { loadMatrix } from "../matrix/expand.ts";
import { selectMatrixCases } from "../matrix/select.ts";
import { runCli } from "./helpers_cli.ts";

const TINY_CONFIG = new URL("./fixtures/hf_kimi_like_tiny_config.json", import.meta.url);

/** A folder holding `cfg.json` and `configs/b.json` (tiny configs) and a matrix `m.json`. */
async function withMatrix(
  groups: unknown[],
  f: (matrix: string, dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "mla_config_ids_" });
  try {
    await Deno.copyFile(TINY_CONFIG, `${dir}/cfg.json`);
    await Deno.mkdir(`${dir}/configs`);
    await Deno.copyFile(TINY_CONFIG, `${dir}/configs/b.json`);
    const json = JSON.stringify({ name: "m", groups }).replaceAll("DIR", dir)
      .replaceAll("BASE", basename(dir));
    await Deno.writeTextFile(`${dir}/m.json`, json);
    await f(`${dir}/m.json`, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("normalizeConfigPath: one file, one spelling; preset names are left alone", () => {
  const place = { baseDir: "/ci/dir" };
  for (
    const p of ["cfg.json", "./cfg.json", ".//cfg.json", "../dir/cfg.json", "/ci/dir/cfg.json"]
  ) {
    assert.equal(normalizeConfigPath(p, place), "cfg.json", p);
  }
  assert.equal(normalizeConfigPath("configs/./x/../b.json", place), "configs/b.json");
  assert.equal(normalizeConfigPath("./noext", place), "./noext", "still a path, not a preset");
  assert.equal(normalizeConfigPath("../up.json", place), "../up.json");
  assert.equal(normalizeConfigPath("deepseek-v3", place), "deepseek-v3");
});

Deno.test("a config written several ways in a matrix gives one case id", async () => {
  await withMatrix([
    { axes: { preset: "cfg.json", dtype: "f32" } },
    { axes: { preset: "./cfg.json", dtype: "f16" } },
    { axes: { preset: "../BASE/cfg.json", dtype: "f32", sk: 8 } },
    { axes: { preset: "DIR/cfg.json", dtype: "f32", sk: 4 } },
    { axes: { preset: ["configs//b.json", "configs/../cfg.json"], sk: 2 } },
  ], async (matrix) => {
    const { cases } = await loadMatrix(matrix);
    assert.deepEqual(cases.map((c) => c.params.preset), [
      "cfg.json",
      "cfg.json",
      "cfg.json",
      "cfg.json",
      "configs/b.json",
      "cfg.json",
    ]);
    assert.ok(cases.every((c) => /^preset=(cfg|configs\/b)\.json;/.test(c.id)), cases[0].id);
  });
});

Deno.test("excludes and --filter name a config however it is written", async () => {
  await withMatrix([
    {
      axes: { preset: "./cfg.json", dtype: ["f32", "f16"] },
      exclude: [{ preset: "cfg.json", dtype: "f16" }],
    },
    { axes: { preset: "configs/b.json", sk: 8 } },
  ], async (matrix) => {
    const { all } = await selectMatrixCases({ matrix, filter: "preset=./cfg.json" });
    assert.deepEqual(all.map((c) => `${c.params.preset}/${c.params.dtype}`), ["cfg.json/f32"]);
    const b = await selectMatrixCases({ matrix, filter: "preset=configs/./b.json" });
    assert.deepEqual(b.all.map((c) => c.params.preset), ["configs/b.json"]);
    assert.deepEqual(b.notes, [], "the filter value occurs in the matrix");
  });
});

Deno.test("two spellings that make one case twice are refused, naming both", async () => {
  await withMatrix([
    { axes: { preset: "cfg.json" }, expect: { support: "supported" } },
    { axes: { preset: "./cfg.json" }, expect: { support: "unsupported" } },
  ], async (matrix) => {
    const e = await loadMatrix(matrix).then(() => null, (e) => e);
    assert.ok(e instanceof ConfigError, String(e));
    assert.match(e.message, /groups\[1\]: "preset=cfg\.json;.* repeats a case of groups\[0\]/);
    assert.match(
      e.message,
      /writes the config "cfg\.json" as "cfg\.json" and "\.\/cfg\.json": one file/,
    );
  });
  // within one axis list too
  await withMatrix([{ axes: { preset: ["cfg.json", "./cfg.json"] } }], async (matrix) => {
    const r = await runCli(["run", "--matrix", matrix, "--out", `${matrix}.out`]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /repeats a case of groups\[0\].*"cfg\.json" and "\.\/cfg\.json"/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
  });
});

Deno.test("bundled matrices keep their config cases' ids", async () => {
  const { cases } = await loadMatrix("adapter");
  const paths = cases.map((c) => c.params.preset).filter((p) => p.endsWith(".json"));
  assert.ok(paths.length > 0);
  assert.ok(paths.every((p) => p.startsWith("configs/") && !p.includes("./")), paths.join());
});

Deno.test("CLI: run records one id for a config written two ways", async () => {
  await withMatrix([
    { axes: { preset: "cfg.json", sk: 8 } },
    { axes: { preset: "./cfg.json", sk: 4 } },
  ], async (matrix, dir) => {
    const out = `${dir}/out`;
    const r = await runCli(["run", "--matrix", matrix, "--out", out]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const ids = (await Deno.readTextFile(`${out}/results.jsonl`)).trim().split("\n")
      .map((l) => JSON.parse(l).id as string).filter((id) => id !== undefined);
    assert.equal(ids.length, 2, ids.join("\n"));
    assert.ok(ids.every((id) => id.startsWith("preset=cfg.json;")), ids.join("\n"));
  });
});

Deno.test("--matrix smoke with a file ./smoke here runs the bundled one and says so", async () => {
  const dir = await Deno.makeTempDir();
  const here = Deno.cwd();
  try {
    Deno.chdir(dir);
    const quiet = await selectMatrixCases({ matrix: "smoke", filter: "preset=tiny" });
    assert.ok(!quiet.notes.some((n) => n.includes("./smoke")), quiet.notes.join("\n"));
    await Deno.writeTextFile("smoke", "{}");
    const { notes } = await selectMatrixCases({ matrix: "smoke", filter: "preset=tiny" });
    assert.ok(
      notes.some((n) =>
        n.includes("runs the bundled matrix smoke, not the file ./smoke") &&
        n.includes("--matrix ./smoke")
      ),
      notes.join("\n"),
    );
  } finally {
    Deno.chdir(here);
    await Deno.remove(dir, { recursive: true });
  }
});
