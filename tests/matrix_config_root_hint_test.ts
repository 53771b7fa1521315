// `--config-root` bounds where a matrix's config paths may point; they are still read from
// the matrix file's folder. A user who took it for the folder paths are read from (a bundled
// matrix copied elsewhere, run with --config-root matrix/bundled; a matrix moved into a
// subfolder, run with --config-root at the configs' folder) was told only that the path
// names no file or is outside the root. The refusal now says where paths are read from and
// how to write the one that names the file under --config-root.
import assert from "node:assert/strict";
import { ConfigError } from "../adapter/errors.ts";
import { loadMatrix } from "../matrix/expand.ts";
import { runProgram } from "../cli/program.ts";

const CONFIG = new URL(
  "../matrix/bundled/configs/published/DeepSeek-V2-Lite-Chat.config.json",
  import.meta.url,
);

async function refusal(matrix: string, configRoot?: string): Promise<string> {
  const e = await loadMatrix(matrix, { configRoot }).then(
    () => assert.fail("the matrix loaded"),
    (e: unknown) => e,
  );
  assert.ok(e instanceof ConfigError, String(e));
  return e.message;
}

Deno.test("loadMatrix: a config path meant from --config-root says how to write it", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "mla-config-root-hint-" }));
  try {
    await Deno.mkdir(`${dir}/cfg`);
    await Deno.mkdir(`${dir}/sub`);
    await Deno.mkdir(`${dir}/other/configs`, { recursive: true });
    await Deno.copyFile(CONFIG, `${dir}/cfg/v2.json`);
    await Deno.copyFile(CONFIG, `${dir}/other/configs/x.json`);
    const write = (path: string, preset: string) =>
      Deno.writeTextFile(path, JSON.stringify({ name: "m", groups: [{ axes: { preset } }] }));
    // inside the root, but read from the matrix's folder: no file there
    await write(`${dir}/sub/m.json`, "cfg/v2.json");
    const missing = await refusal(`${dir}/sub/m.json`, dir);
    assert.match(missing, /"cfg\/v2\.json" names no file \(it resolves to .*\/sub\/cfg\/v2\.json/);
    assert.match(
      missing,
      /config paths are read from the matrix file's folder \(.*\/sub\), not from --config-root.*write "\.\.\/cfg\/v2\.json"/,
    );
    // read from the matrix's folder it is outside the root; from the root it is a file
    await write(`${dir}/sub/n.json`, "configs/x.json");
    const outside = await refusal(`${dir}/sub/n.json`, `${dir}/other`);
    assert.match(outside, /resolves to .*\/sub\/configs\/x\.json, outside --config-root/);
    assert.match(outside, /write "\.\.\/other\/configs\/x\.json"/);
    // the hint's path loads
    await write(`${dir}/sub/n.json`, "../other/configs/x.json");
    assert.equal(
      (await loadMatrix(`${dir}/sub/n.json`, { configRoot: `${dir}/other` })).cases.length,
      1,
    );
    // no --config-root, or nothing under it: no hint
    await write(`${dir}/sub/m.json`, "cfg/v2.json");
    assert.doesNotMatch(await refusal(`${dir}/sub/m.json`), /not from --config-root/);
    await write(`${dir}/sub/m.json`, "cfg/nosuch.json");
    assert.doesNotMatch(await refusal(`${dir}/sub/m.json`, dir), /not from --config-root/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// A config path written as the shell sees it from where the job runs (`configs/v2.json` from
// the repository root, the matrix in ci/) was told only that it names no file; the refusal
// now says paths are read from the matrix file's folder, not the current one, and how to
// write the path (and that --config-root must hold the file when it is outside that folder).
Deno.test("loadMatrix: a config path meant from the current folder says how to write it", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "mla-config-cwd-hint-" }));
  const cwd = Deno.cwd();
  try {
    await Deno.mkdir(`${dir}/configs`);
    await Deno.mkdir(`${dir}/ci/own`, { recursive: true });
    await Deno.copyFile(CONFIG, `${dir}/configs/v2.json`);
    await Deno.copyFile(CONFIG, `${dir}/ci/own/c.json`);
    const write = (path: string, preset: string) =>
      Deno.writeTextFile(path, JSON.stringify({ name: "m", groups: [{ axes: { preset } }] }));
    await write(`${dir}/ci/m.json`, "configs/v2.json");
    await write(`${dir}/ci/n.json`, "ci/own/c.json");
    Deno.chdir(dir);
    const outside = await refusal("ci/m.json");
    assert.match(
      outside,
      /not from the current folder \(.*\): for .*\/configs\/v2\.json, write "\.\.\/configs\/v2\.json" and run with --config-root naming a folder that holds it/,
    );
    const within = await refusal("ci/n.json");
    assert.match(
      within,
      /not from the current folder \(.*\): for .*\/ci\/own\/c\.json, write "own\/c\.json"$/m,
    );
    // from the matrix's own folder the two readings are one: no hint
    Deno.chdir(`${dir}/ci`);
    assert.doesNotMatch(await refusal("m.json"), /current folder/);
  } finally {
    Deno.chdir(cwd);
    await Deno.remove(dir, { recursive: true });
  }
});

// A matrix run through a symbolic link to it (`ln -s ci/m.json m.json`) reads its config paths
// from the link's folder, where they name nothing: the refusal said where the path resolved,
// not that the link's target's folder holds the file. It now says so and names the target.
Deno.test("loadMatrix: a matrix given through a symbolic link names its target's config", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "mla-config-link-hint-" }));
  try {
    await Deno.mkdir(`${dir}/ci/configs`, { recursive: true });
    await Deno.copyFile(CONFIG, `${dir}/ci/configs/v2.json`);
    await Deno.writeTextFile(
      `${dir}/ci/m.json`,
      JSON.stringify({ name: "m", groups: [{ axes: { preset: "configs/v2.json" } }] }),
    );
    await Deno.symlink(`${dir}/ci/m.json`, `${dir}/m.json`);
    assert.match(
      await refusal(`${dir}/m.json`),
      new RegExp(
        `"configs/v2\\.json" names no file .*; ${dir}/m\\.json is a symbolic link to ` +
          `${dir}/ci/m\\.json, and config paths are read from the folder of the matrix path ` +
          `given \\(${dir}\\), not of the link's target, .*: give --matrix ${dir}/ci/m\\.json`,
      ),
    );
    // through its target it loads
    assert.equal((await loadMatrix(`${dir}/ci/m.json`)).cases.length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// `baseline update --matrix ci/m.json` whose preset is `../models/cfg.json` was refused with
// "outside ... (run --config-root <dir> names another folder)", an option baseline update
// did not take (nor --max-cases). It now takes both, with run's meaning: the root is read
// (the config loads) and a selection over --max-cases is refused (exit 2, before any case).
Deno.test("baseline update takes run's --config-root and --max-cases", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "mla-baseline-root-" }));
  const error = console.error;
  const lines: string[] = [];
  console.error = (...a: unknown[]) => void lines.push(a.map(String).join(" "));
  try {
    await Deno.mkdir(`${dir}/ci`);
    await Deno.mkdir(`${dir}/models`);
    await Deno.copyFile(CONFIG, `${dir}/models/cfg.json`);
    await Deno.writeTextFile(
      `${dir}/ci/m.json`,
      JSON.stringify({
        name: "m",
        groups: [{ axes: { preset: "../models/cfg.json", dtype: ["f32", "f16"] } }],
      }),
    );
    const code = await runProgram([
      "baseline",
      "update",
      "--matrix",
      `${dir}/ci/m.json`,
      "--config-root",
      dir,
      "--max-cases",
      "1",
      "--dir",
      `${dir}/b`,
      "--out",
      `${dir}/o`,
    ], { probeCaps: () => Promise.resolve(null), probeCapsStrict: () => Promise.reject() });
    assert.equal(code, 2, lines.join("\n"));
    const said = lines.join("\n");
    assert.doesNotMatch(said, /unknown option|outside/, said);
    assert.match(said, /--max-cases/, said);
  } finally {
    console.error = error;
    await Deno.remove(dir, { recursive: true });
  }
});
