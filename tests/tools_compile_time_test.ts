/**
 * tools/compile_time.ts: its command-line errors, which exit 2 before any GPU work.
 */
import assert from "node:assert/strict";

const TOOL = new URL("../tools/compile_time.ts", import.meta.url).pathname;

Deno.test("compile_time: --decode with --prefill, and an unknown backend, are exit 2", async () => {
  const cases: [string[], RegExp][] = [
    [["--decode", "--prefill", "wgsl-absorbed"], /--decode and --prefill exclude each other/],
    [["wgsl-no-such-backend"], /unknown backend wgsl-no-such-backend/],
  ];
  for (const [args, message] of cases) {
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", TOOL, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(r.code, 2, args.join(" "));
    assert.match(new TextDecoder().decode(r.stderr), message);
    assert.equal(new TextDecoder().decode(r.stdout), "");
  }
});
