import assert from "node:assert/strict";
import { hasAdapter } from "../gpu/device.ts";
import { runCli } from "./helpers_cli.ts";

const gpu = await hasAdapter();

// Not a timed test: it checks that `bench --json` emits the required fields, never their values.
Deno.test({
  name: "bench --json on the tiny matrix emits ceilings and the required fields per case",
  ignore: !gpu,
  fn: async () => {
    const r = await runCli(["bench", "--matrix", "tiny", "--filter", "path=absorbed", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    for (const k of ["copyGBps", "readGBps", "fmaGflops", "dispatchUs", "submitReadbackMs"]) {
      assert.equal(typeof report.ceilings[k], "number", k);
    }
    assert.equal(report.records.length, 1);
    const rec = report.records[0];
    assert.equal(rec.status, "ok");
    for (const k of ["ms", "gflops", "gbps", "roofline_fraction", "submit_ms"]) {
      assert.equal(typeof rec[k], "number", k);
    }
    assert.equal(typeof rec.id, "string");
    assert.ok(rec.samples.length >= 7);
    assert.equal(typeof report.machine.cpu, "string");
  },
});

Deno.test("bench: an unknown matrix is a usage error (exit 2)", async () => {
  const r = await runCli(["bench", "--matrix", "nope"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown benchmark matrix/);
});
