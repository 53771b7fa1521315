// The saturation point of `devices --measure` (bench/saturation.ts): the search on
// synthetic devices whose time per dispatch is known, and the measurement on the adapter.
import assert from "node:assert/strict";
import {
  findSaturation,
  formatSaturation,
  SATURATION_MAX_WORKGROUPS,
  saturationMs,
} from "../bench/saturation.ts";
import { CeilingNotTimedError } from "../bench/ceilings.ts";
import { deviceClassOf } from "../adapter/device_class.ts";
import { GpuContext, hasAdapter } from "../gpu/device.ts";
import { runCli } from "./helpers_cli.ts";

const gpu = await hasAdapter();

/** A device of `units` compute units: waves of `units` workgroups, 1 ms each, plus noise. */
function device(units: number, noise = 0, seed = 7): (n: number) => Promise<number> {
  let s = seed;
  return (n) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const jitter = 1 + noise * (2 * (s / 2 ** 32) - 1);
    return Promise.resolve(0.05 + Math.ceil(n / units) * jitter);
  };
}

Deno.test("saturation: the search finds the unit count of synthetic devices", async () => {
  for (const units of [1, 2, 3, 16, 108, 132, 1000]) {
    const r = await findSaturation(device(units));
    assert.equal(r.computeUnits, units, `${units} units`);
    // doubling then bisection: about 2 log2(units) dispatches, never a sweep of every count
    assert.ok(r.sweep.length <= 2 * Math.log2(units) + 3, `${units}: ${r.sweep.length} tries`);
  }
  // +-15% noise on every time still separates one wave from two.
  for (const seed of [1, 2, 3, 4, 5]) {
    assert.equal((await findSaturation(device(132, 0.15, seed))).computeUnits, 132);
  }
  // Work that never steps up within the limit: no estimate rather than a wrong one.
  const flat = await findSaturation(() => Promise.resolve(1));
  assert.equal(flat.computeUnits, null);
  assert.equal(Math.max(...flat.sweep.map((p) => p.workgroups)), SATURATION_MAX_WORKGROUPS);
  // The one-workgroup time is taken again at the end (the yardstick, checked for contention).
  assert.equal(flat.sweep.at(-1)?.workgroups, 1);
  // A device that runs one workgroup at a time: 1.
  assert.equal((await findSaturation((n) => Promise.resolve(n))).computeUnits, 1);
  // A contended first one-workgroup time (1.6 ms for 1.0) lets a second wave of 2 units pass
  // for the first (3 workgroups in 2.0 ms < 1.5 x 1.6); timed again at 1.0 ms, the search is
  // redone against it and finds 2.
  let firstOne = true;
  const contended = await findSaturation((n) => {
    if (n === 1 && firstOne) {
      firstOne = false;
      return Promise.resolve(1.6);
    }
    return Promise.resolve(Math.ceil(n / 2));
  });
  assert.equal(contended.computeUnits, 2);
  assert.deepEqual(contended.sweep.filter((p) => p.workgroups === 1).map((p) => p.ms), [1.6, 1]);
});

Deno.test("saturation: a 0 ms repetition (timestamps that did not advance) is no time", async () => {
  // as the one-workgroup time it made every count step up: "about 1" compute unit
  const stamps = (n: number) => ({
    source: "timestamp-query" as const,
    ms: n === 1 ? [0, 1.2, 1.3] : [Math.ceil(n / 16) * 1.2, Math.ceil(n / 16) * 1.25],
  });
  const r = await findSaturation((n) => Promise.resolve(saturationMs(n, stamps(n))));
  assert.equal(r.computeUnits, 16);
  assert.throws(
    () => saturationMs(4, { source: "timestamp-query", ms: [0, 0] }),
    (e: unknown) =>
      e instanceof CeilingNotTimedError &&
      /^the FMA \(saturation search, 4 workgroups\) ceiling kernel's 2 repetitions all read 0 ms/
        .test(e.message),
  );
});

Deno.test("saturation: the message says what to do with the figure, by device class", () => {
  const s = {
    invocationsPerWorkgroup: 256,
    computeUnits: 114,
    source: "timestamp-query" as const,
    sweep: [{ workgroups: 1, ms: 1 }, { workgroups: 128, ms: 2 }],
  };
  assert.match(
    formatSaturation(s, { kind: "gpu", smCount: null, smCountSource: "unknown" }),
    /compute units: about 114 .*tried 1, 128\)\n {2}.*MLA_HARNESS_SM_COUNT=114 \(or "smCount": 114/,
  );
  assert.match(
    formatSaturation(s, { kind: "gpu", smCount: 132, smCountSource: "table" }),
    /the adapter uses 132 SMs \(table\)/,
  );
  assert.match(
    formatSaturation(s, { kind: "cpu", smCount: null, smCountSource: "unknown" }),
    /a CPU-class device/,
  );
  assert.match(
    formatSaturation({ ...s, computeUnits: null }, {
      kind: "gpu",
      smCount: null,
      smCountSource: "",
    }),
    /no step up to 16384 workgroups/,
  );
});

Deno.test({
  name: "devices --measure --json carries the saturation point (a CPU device: its threads)",
  ignore: !gpu,
  fn: async () => {
    const d = await runCli(["devices", "--measure", "--json"]);
    assert.equal(d.code, 0, d.stderr);
    const j = JSON.parse(d.stdout);
    const s = j.saturation;
    assert.equal(s.invocationsPerWorkgroup, 256);
    assert.ok(s.sweep.length >= 2 && s.sweep[0].workgroups === 1, JSON.stringify(s.sweep));
    const ctx = await GpuContext.create();
    try {
      const units = s.computeUnits;
      if (deviceClassOf(ctx.caps)?.kind === "cpu") {
        // lavapipe and llvmpipe run workgroups on a pool of one thread per logical CPU. The
        // bound is loose: on a shared host contention can still slow the one-workgroup time
        // through both of its measurements (a CI run once read 3 units on 2 CPUs).
        assert.ok(
          Number.isInteger(units) && units >= 1 && units <= 2 * navigator.hardwareConcurrency,
          `${units} units on ${navigator.hardwareConcurrency} CPUs`,
        );
      } else {
        assert.ok(units === null || units >= 1);
      }
    } finally {
      ctx.destroy();
    }
    // The caps file made from this output still reads as caps (the extra keys are dropped).
    const file = await Deno.makeTempFile({ suffix: ".json" });
    await Deno.writeTextFile(file, d.stdout);
    const e = await runCli(["explain", "tiny", "--caps", file]);
    assert.equal(e.code, 0, e.stderr);
  },
});
