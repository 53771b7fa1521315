// A user backend whose launch encodes more passes than the bundled launchers (here naive and
// then 40 passes) was an error in `bench` (and `run`): "launch() threw: PassTimer: more than
// 19 passes in one submission", blamed on the module, the line in gpu/timing.ts. The timer
// of a user backend's run now has room for as many passes as a query set holds.
import assert from "node:assert/strict";
import { hasAdapter } from "../gpu/device.ts";
import { BENCH_TINY_ABSORBED_ONCE, cliCommand } from "./helpers_cli.ts";

const gpu = await hasAdapter();

Deno.test({
  name: "bench a user backend whose launch encodes over 40 passes: benched, exit 0",
  ignore: !gpu,
  fn: async () => {
    const res = await cliCommand([
      ...BENCH_TINY_ABSORBED_ONCE,
      "--backend-module",
      "tests/fixtures/backends/many_passes.ts",
      "--backend",
      "naive-many-passes",
    ]).output();
    const stderr = new TextDecoder().decode(res.stderr);
    const stdout = new TextDecoder().decode(res.stdout);
    assert.equal(res.code, 0, stderr + stdout.slice(-2000));
    const report = JSON.parse(stdout);
    assert.equal(report.records.length, 1);
    const rec = report.records[0];
    assert.equal(rec.status, "ok", rec.reason);
    assert.equal(rec.backend, "naive-many-passes");
    assert.ok(rec.ms > 0);
  },
});
