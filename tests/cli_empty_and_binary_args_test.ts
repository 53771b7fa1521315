/**
 * Small hostile arguments get a message that says what they are: `compile` of a binary
 * file (not text, not WGSL), an empty `--out` (empty, not "a folder path"; a folder --out of
 * "" is never the current folder), an empty `--config`/`--input` (naming the flag), and a
 * file among `merge`'s folders (not a folder, not the OS's "Not a directory").
 */
import assert from "node:assert/strict";
import { OutputPathError, prepareOutputDir } from "../report/output_paths.ts";
import { runCli } from "./helpers_cli.ts";
import { checkMergeFolders } from "../cli/merge.ts";

const noTrace = (r: { stderr: string }) =>
  assert.doesNotMatch(r.stderr, /\n\s+at |internal error/, r.stderr);

Deno.test("compile: a binary file is exit 2, not text, before any device", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/bom16.wgsl`, new Uint8Array([0xff, 0xfe, 0x66, 0x00]));
    await Deno.writeFile(`${dir}/nul.wgsl`, new TextEncoder().encode("fn f() {}\0\x01\n"));
    const [utf16, nul] = await Promise.all([
      runCli(["compile", `${dir}/bom16.wgsl`]),
      runCli(["compile", `${dir}/nul.wgsl`]),
    ]);
    for (const r of [utf16, nul]) {
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.equal(r.stdout, "", "no source line printed");
      noTrace(r);
    }
    assert.match(utf16.stderr, /bom16\.wgsl: is not text \(not valid UTF-8\).*WGSL source file/);
    assert.match(nul.stderr, /nul\.wgsl: is not text \(control byte 0x00 at byte 9\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an empty --out is refused as empty (a file --out and a folder --out)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/in.safetensors`, new Uint8Array(8));
    const [layer, merge] = await Promise.all([
      runCli(["layer", "--config", "tiny", "--input", `${dir}/in.safetensors`, "--out", ""]),
      runCli(["merge", dir, "--out", ""]),
    ]);
    for (const r of [layer, merge]) {
      assert.equal(r.code, 2, r.stdout + r.stderr);
      noTrace(r);
    }
    assert.match(layer.stderr, /--out "": is empty; give a file path/);
    assert.match(merge.stderr, /--out "": is empty; give a folder path/);
    // a folder --out of "" would be the current folder
    await assert.rejects(
      prepareOutputDir("", { label: "--out" }),
      (e: unknown) => e instanceof OutputPathError && /--out "": is empty/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("layer: an empty --config, --input or --weights names the flag", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = ["--out", `${dir}/y.safetensors`];
    const [config, input, weights] = await Promise.all([
      runCli(["layer", "--config", "", "--input", `${dir}/x.safetensors`, ...out]),
      runCli(["layer", "--config", "tiny", "--input", "", ...out]),
      runCli(["layer", "--config", "tiny", "--input", "x", "--weights", " ", ...out]),
    ]);
    for (const r of [config, input, weights]) {
      assert.equal(r.code, 2, r.stdout + r.stderr);
      noTrace(r);
    }
    assert.match(config.stderr, /--config <config>.*is empty; give a preset name \(.*tiny/);
    assert.match(input.stderr, /--input <file>.*is empty; give a \.safetensors file/);
    assert.match(weights.stderr, /--weights <file>.*is empty/);
    assert.deepEqual(await Array.fromAsync(Deno.readDir(dir)), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("merge: a file or an empty argument among the folders is exit 2 saying so", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/s1`);
    await Deno.writeTextFile(`${dir}/file.st`, "x");
    const [file, empty, slashed] = await Promise.all([
      runCli(["merge", `${dir}/s1`, `${dir}/file.st`, "--out", `${dir}/m`]),
      runCli(["merge", `${dir}/s1`, "", "--out", `${dir}/m`]),
      // a file with a folder's trailing slash (shell completion of a folder habit): it read
      // "file.st/run.json: cannot read: Not a directory"
      runCli(["merge", `${dir}/s1`, `${dir}/file.st/`, "--out", `${dir}/m`]),
    ]);
    assert.match(
      slashed.stderr,
      /merge: .*file\.st\/ is a file, not a folder; give the output folders/,
    );
    // in this process too, where stat of "file.st/" is "Not a directory"
    await assert.rejects(
      checkMergeFolders([`${dir}/s1`, `${dir}/file.st/`], `${dir}/m`),
      /merge: .*file\.st\/ is a file, not a folder; give the output folders/,
    );
    for (const r of [file, empty, slashed]) {
      assert.equal(r.code, 2, r.stdout + r.stderr);
      noTrace(r);
      assert.doesNotMatch(r.stderr, /Not a directory/);
    }
    assert.match(file.stderr, /merge: .*file\.st is a file, not a folder; give the output folders/);
    assert.match(empty.stderr, /merge: a folder argument is empty/);
    assert.equal(await Deno.stat(`${dir}/m`).then(() => true, () => false), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
