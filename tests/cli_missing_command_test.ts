// A missing command or subcommand (`harness`, `harness baseline`) is a usage error: the
// usage text on stderr and exit 2, not exit 0; asking for help stays exit 0 on stdout.
import assert from "node:assert/strict";
import { runCli } from "./helpers_cli.ts";
import { buildProgram, unknownHelpTopic } from "../cli/program.ts";

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

Deno.test("help <unknown command>: one line naming it, exit 2 (it printed the whole usage alone)", async () => {
  const r = await runCli(["help", "explian"]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.equal(r.stdout, "");
  assert.match(
    r.stderr,
    /^error: unknown command 'explian' \(did you mean explain\?\); the commands: run, /,
  );
  const program = buildProgram({
    probeCaps: () => Promise.resolve(null),
    probeCapsStrict: () => Promise.reject(new Error("no device in this test")),
  });
  assert.match(
    unknownHelpTopic(program, ["baseline", "help", "nope"]) ?? "",
    /unknown command 'nope' of baseline; the commands: update, key/,
  );
  // a known topic, no topic, and a command without subcommands (its "help" is an argument)
  for (
    const args of [["help", "explain"], ["help"], ["baseline", "help", "update"], [
      "explain",
      "help",
      "tiny",
    ]]
  ) {
    assert.equal(unknownHelpTopic(program, args), null, args.join(" "));
  }
});
