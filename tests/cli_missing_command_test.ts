// A missing command or subcommand (`harness`, `harness baseline`) is a usage error: the
// usage text on stderr and exit 2, not exit 0; asking for help stays exit 0 on stdout.
import assert from "node:assert/strict";
import { runCli } from "./helpers_cli.ts";

Deno.test("no command or no subcommand: usage on stderr, exit 2", async () => {
  const [none, baseline] = await Promise.all([runCli([]), runCli(["baseline"])]);
  for (const [r, usage] of [[none, "mla-harness"], [baseline, "mla-harness baseline"]] as const) {
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`^Usage: ${usage} \\[options\\] \\[command\\]`));
    assert.equal(r.stdout, "");
  }
});

Deno.test("help asked for is exit 0 on stdout", async () => {
  for (const args of [["--help"], ["help"], ["baseline", "--help"], ["help", "baseline"]]) {
    const r = await runCli(args);
    assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stdout, /^Usage: mla-harness/);
  }
});
