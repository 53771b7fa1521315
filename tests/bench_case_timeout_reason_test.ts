// A case `bench --case-timeout` ended says what came after it: the bench stopped, went on
// to the next case, or (the last case) re-acquired the device only for the closing
// ceilings. The last case said "the bench went on" with nothing after it.
import assert from "node:assert/strict";
import { caseTimeoutReason } from "../cli/bench.ts";

Deno.test("caseTimeoutReason: stopped, went on, or the last case", () => {
  const head = "timed out after 2 s (--case-timeout); ";
  assert.equal(
    caseTimeoutReason(2, { inRow: 3, more: true }),
    `${head}3 timeouts in a row: the bench stopped here`,
  );
  assert.equal(
    caseTimeoutReason(2, { inRow: 0, more: true }),
    `${head}the device was re-acquired and the bench went on`,
  );
  assert.equal(
    caseTimeoutReason(2, { inRow: 0, more: false }),
    `${head}the device was re-acquired for the ceilings after the cases`,
  );
});
