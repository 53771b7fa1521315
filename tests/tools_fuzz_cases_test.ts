// tools/fuzz_cases.ts, planning only (no device): its seeded cases are the same each time,
// every outcome it can meet is met, and no drawn case breaks the adapter's promise (a plan
// with whole numbers, or unsupported with every reason named, never a crash) against
// lavapipe's caps, the same as a gpu-class device with varied tuning, or the H100's. Seed 26
// draws three cases that the expanded backends planned with a RoPE width not a multiple of 4
// (a latent texture 8.5 texels wide; tests/adapter_resolve_test.ts has one of them).
import assert from "node:assert/strict";
import {
  capsFor,
  drawCase,
  fractionalPlanNumbers,
  FUZZ_BACKENDS,
  planCase,
} from "../tools/fuzz_cases.ts";
import { H100_CAPS, LAVAPIPE_CAPS } from "./caps_fixtures.ts";

Deno.test("fuzz_cases: a seed draws the same cases; options change only what they name", () => {
  const a = drawCase(7, 12, { vary: true });
  assert.deepEqual(drawCase(7, 12, { vary: true }), a);
  assert.notDeepEqual(drawCase(8, 12, { vary: true }), a);
  const fixed = drawCase(7, 12, { vary: true, backend: "wgsl-expanded" });
  assert.equal(fixed.backend, "wgsl-expanded");
  assert.deepEqual(fixed.layout, a.layout);
  assert.ok(a.device, "vary draws device changes");
  const caps = capsFor(a, LAVAPIPE_CAPS, { gpuClass: 132 });
  assert.equal(caps.deviceClass, "gpu");
  assert.equal(caps.limits.maxComputeWorkgroupStorageSize, a.device.workgroupStorage);
  assert.deepEqual(caps.tuning, a.device.tuning);
});

Deno.test("fuzz_cases: a fractional plan number is a problem; attention and layout are not", () => {
  assert.deepEqual(
    fractionalPlanNumbers({
      variant: { expandTextures: { latent: { width: 8.5, height: 5 } }, kvSplits: 1 },
      attention: { softmaxScale: 0.25 },
      layout: { seqs: [] },
      buffers: [{ name: "q", bytes: -4 }],
    }),
    ["plan.variant.expandTextures.latent.width=8.5", "plan.buffers[0].bytes=-4"],
  );
});

Deno.test("fuzz_cases: 1500 planned cases per device break no promise", () => {
  for (
    const [name, caps, gpuClass, vary] of [
      ["lavapipe", LAVAPIPE_CAPS, undefined, false],
      ["lavapipe as a gpu-class device, varied", LAVAPIPE_CAPS, 132, true],
      ["H100", H100_CAPS, undefined, false],
    ] as const
  ) {
    const kinds = new Set<string>();
    const backends = new Set<string>();
    const problems: string[] = [];
    for (let i = 0; i < 1500; i++) {
      const c = drawCase(26, i, { vary });
      const o = planCase(c, caps, { gpuClass });
      kinds.add(o.kind);
      if (o.plan) backends.add(o.plan.backend);
      problems.push(...o.problems.map((p) => `${JSON.stringify(c)}: ${p}`));
    }
    assert.deepEqual(problems, [], name);
    // The draws reach every outcome and every backend but the subgroup one (no caps here
    // offer subgroups).
    assert.deepEqual([...kinds].sort(), ["config-refused", "plan", "unsupported"], name);
    const planned = FUZZ_BACKENDS.filter((b) => !b.startsWith("auto"));
    assert.deepEqual(
      [...backends].sort(),
      planned.filter((b) => b !== "wgsl-absorbed-tiled-sg").sort(),
      name,
    );
  }
});

Deno.test("fuzz_cases: --vary draws device-profile limits; the caps keep the stricter", () => {
  const drawn = Array.from({ length: 200 }, (_, i) => drawCase(26, i, { vary: true }));
  const limited = drawn.filter((c) => c.device?.limits !== undefined);
  const names = new Set(limited.flatMap((c) => Object.keys(c.device!.limits!)));
  assert.deepEqual([...names].sort(), [
    "maxComputeWorkgroupsPerDimension",
    "maxStorageBufferBindingSize",
    "maxTextureDimension2D",
    "minStorageBufferOffsetAlignment",
  ]);
  const c = limited.find((x) => x.device!.limits!.minStorageBufferOffsetAlignment === 64)!;
  // A device's alignment of 256 is stricter than a drawn 64: kept; lavapipe's 32 is not.
  const aligned256 = {
    ...LAVAPIPE_CAPS,
    limits: { ...LAVAPIPE_CAPS.limits, minStorageBufferOffsetAlignment: 256 },
  };
  assert.equal(capsFor(c, aligned256).limits.minStorageBufferOffsetAlignment, 256);
  assert.equal(capsFor(c, LAVAPIPE_CAPS).limits.minStorageBufferOffsetAlignment, 64);
  const w = limited.find((x) => x.device!.limits!.maxComputeWorkgroupsPerDimension !== undefined)!;
  assert.equal(
    capsFor(w, LAVAPIPE_CAPS).limits.maxComputeWorkgroupsPerDimension,
    w.device!.limits!.maxComputeWorkgroupsPerDimension,
  );
});
