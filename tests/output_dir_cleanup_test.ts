// A command refused for bad input after it checked (and so created) its output folder leaves
// no empty folder behind, nor the parents it created; a folder that was there before stays.
import assert from "node:assert/strict";
import { runCli } from "./helpers_cli.ts";

const exists = async (p: string) => {
  try {
    await Deno.stat(p);
    return true;
  } catch {
    return false;
  }
};

Deno.test("exit 2 after the output folder was made: the folders this run created are removed, others kept", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // a new folder two levels down: both levels go
    const fresh = `${dir}/new/run`;
    const r = await runCli([
      "run",
      "--matrix",
      "smoke",
      "--filter",
      "preset=nosuch",
      "--out",
      fresh,
    ]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.ok(!(await exists(`${dir}/new`)), "the created parent was left behind");
    // a folder that existed (empty) stays, and so does one holding a file
    await Deno.mkdir(`${dir}/empty`);
    await Deno.mkdir(`${dir}/full`);
    await Deno.writeTextFile(`${dir}/full/notes.txt`, "mine");
    for (const out of [`${dir}/empty`, `${dir}/full`]) {
      const s = await runCli([
        "run",
        "--matrix",
        "smoke",
        "--filter",
        "preset=nosuch",
        "--out",
        out,
      ]);
      assert.equal(s.code, 2, s.stdout + s.stderr);
      assert.ok(await exists(out), `${out} was removed`);
    }
    assert.equal(await Deno.readTextFile(`${dir}/full/notes.txt`), "mine");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
