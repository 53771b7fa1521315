import assert from "node:assert/strict";
import { runCli } from "./helpers_cli.ts";

const caps = "tests/fixtures/caps_lavapipe.json";

// tiny's rope width is 8: four frequencies, theta^(-2i/8) for theta 1e4 = 1, 0.1, 0.01, 0.001.
// The list printed the first 4, an ellipsis and the last 2 whatever the count, so a 4-entry list
// read "1, 0.1, 0.01, 0.001, ..., 0.01, 0.001", as if there were more.
Deno.test("explain: a short inv_freq list is printed whole, without an ellipsis", async () => {
  const r = await runCli(["explain", "tiny", "--caps", caps]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^ {2}inv_freq \(4\): 1, 0\.1, 0\.01, 0\.001$/m);
});

Deno.test("explain: a long inv_freq list keeps its first 4 and last 2 around an ellipsis", async () => {
  const r = await runCli(["explain", "deepseek-v2-lite", "--caps", caps]);
  assert.equal(r.code, 0, r.stderr);
  // V2-Lite: rope 64, theta 1e4, YaRN factor 40; the last is 1e4^(-62/64) / 40 = 3.33380e-6
  assert.match(
    r.stdout,
    /^ {2}inv_freq \(32\): 1, 0\.749894, 0\.562341, 0\.421697, \.\.\., 0\.0000044457, 0\.0000033338$/m,
  );
});
