/**
 * tools/compile_time.ts: its command-line errors, which exit 2 before any GPU work.
 */
import assert from "node:assert/strict";
import { runTool } from "./helpers_cli.ts";

Deno.test("compile_time: --decode with --prefill, and an unknown backend, are exit 2", async () => {
  const cases: [string[], RegExp][] = [
    [["--decode", "--prefill", "wgsl-absorbed"], /--decode and --prefill exclude each other/],
    [["wgsl-no-such-backend"], /unknown backend wgsl-no-such-backend/],
  ];
  for (const [args, message] of cases) {
    const r = await runTool("compile_time.ts", args);
    assert.equal(r.code, 2, args.join(" "));
    assert.match(r.stderr, message);
    assert.equal(r.stdout, "");
  }
});
