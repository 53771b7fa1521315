import assert from "node:assert/strict";
import { noiseFlagRate, noiseFlagShares } from "../tools/step_noise_rate.ts";
import { runTool } from "./helpers_cli.ts";

Deno.test("step_noise_rate: noise series are flagged at about alpha; a bad length is exit 2", async () => {
  // 300 series: the rate is an estimate, so the bound leaves room above alpha (0.05)
  const rate = noiseFlagRate(12, { count: 300 });
  assert.ok(rate <= 0.09, `rate ${rate}`);
  // many series at once: corrected, noise flags none where each alone flags some
  const night = noiseFlagShares(10, { series: 300 });
  assert.ok(night.alone > 0 && night.corrected === 0, JSON.stringify(night));
  const r = await runTool("step_noise_rate.ts", ["ten"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /each argument must be a series length/);
});
