// `compile` of an empty (0-byte) or blanks-only .wgsl file is exit 2 naming the file, before
// any device: a truncated kernel would otherwise compile as an empty module and pass.
import assert from "node:assert/strict";
import { checkSourceFiles } from "../cli/compile.ts";
import { CliError } from "../cli/errors.ts";
import { runCli } from "./helpers_cli.ts";

Deno.test("compile: an empty or blanks-only file is exit 2 naming it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/empty.wgsl`, "");
    await Deno.writeTextFile(`${dir}/blank.wgsl`, " \n\t\r\n");
    const [empty, blank] = await Promise.all([
      runCli(["compile", `${dir}/empty.wgsl`]),
      runCli(["compile", `${dir}/blank.wgsl`]),
    ]);
    for (const r of [empty, blank]) {
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.equal(r.stdout, "", "no ok line");
      assert.doesNotMatch(r.stderr, /\n\s+at |internal error/);
    }
    assert.match(empty.stderr, /compile: .*empty\.wgsl: is empty \(0 bytes\): a truncated file\?/);
    assert.match(blank.stderr, /compile: .*blank\.wgsl: holds only blanks \(5 bytes\)/);
    await assert.rejects(
      () => checkSourceFiles([`${dir}/empty.wgsl`]),
      (e: unknown) => e instanceof CliError && e.exitCode === 2,
    );
    const help = await runCli(["compile", "--help"]);
    assert.match(
      help.stdout.replace(/\s+/g, " "),
      /2 when a file is missing, a folder, unreadable, empty/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
