// A 10,000-case matrix (10 b x 10 sq x 20 sk x 5 heads, under the 100,000 refused) started at
// once with only a `[1/10000]` counter: run now warns on stderr, one line, with the count and
// how to narrow it, before its first case.
import assert from "node:assert/strict";
import { LARGE_RUN_CASES, largeRunWarning } from "../matrix/select.ts";
import { loadMatrix } from "../matrix/expand.ts";
import { cliCommand, readUntilThen } from "./helpers_cli.ts";

Deno.test("largeRunWarning: over LARGE_RUN_CASES (4 nightlies), not at or under it", async () => {
  const nightly = (await loadMatrix("nightly")).cases.length;
  assert.ok(LARGE_RUN_CASES >= 4 * nightly, `${LARGE_RUN_CASES} vs nightly ${nightly}`);
  assert.equal(largeRunWarning(LARGE_RUN_CASES), null);
  const said = largeRunWarning(10_000) ?? "";
  assert.match(said, /^warning: this run has 10000 cases \(over 1500, /);
  assert.match(said, /--filter .*--max-cases/);
  assert.doesNotMatch(said, /\n/);
});

Deno.test("run warns of a 10,000-case selection before its first case", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla-large-run-" });
  try {
    const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
    await Deno.writeTextFile(
      `${dir}/big.json`,
      JSON.stringify({
        name: "big",
        groups: [{
          axes: { preset: "tiny", b: range(10), sq: range(10), sk: range(20), heads: range(5) },
        }],
      }),
    );
    const child = cliCommand(["run", "--matrix", `${dir}/big.json`, "--out", `${dir}/out`])
      .spawn();
    const stderr = new Response(child.stderr).text();
    // stopped once its first case is counted (on stdout): the cases are not this test's
    await readUntilThen(child.stdout, /\[1\/10000\]/, () => child.kill("SIGTERM"));
    await child.status;
    assert.match(
      await stderr,
      /^warning: this run has 10000 cases \(over 1500, .*--filter .*--max-cases <n> makes a selection over n an error$/m,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
