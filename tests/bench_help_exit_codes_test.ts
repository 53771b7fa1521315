// `bench --help` names its exit codes, as `run --help` does: a nightly job that branches on
// bench's exit status could read none of them (1 for a case error, 3 for repeated timeouts,
// 130 / 143 for a signal) from the help, whose only word was "never fail on speed".
import assert from "node:assert/strict";
import { benchCommand } from "../cli/bench.ts";

Deno.test("bench --help: names each exit code the command uses", () => {
  const text = benchCommand().description();
  assert.match(text, /Exit codes: 0 /);
  assert.match(text, /; 1 a case error \(/);
  assert.match(text, /; 2 bad input/);
  assert.match(
    text,
    /; 3 no adapter, 3 --case-timeout timeouts in a row, a file of --out that cannot be written/,
  );
  assert.match(text, /or a ceiling kernel whose timestamps did not advance \(0 ms/);
  assert.match(text, /; 130 interrupted by SIGINT; 143 by SIGTERM/);
});

// A user backend whose kernel is wrong (tests/fixtures/backends/naive_wrong_scale.ts) is
// benched as "ok", exit 0: bench only times. docs/backends.md said so; the help did not, and
// "ok" in the status column read as a kernel that passed.
Deno.test("bench --help: says bench does not check the kernels' output", () => {
  const text = benchCommand().description();
  assert.match(text, /do not compare a kernel's output with the reference \(run does\)/);
  assert.match(text, /wrong attention is timed as ok/);
});
