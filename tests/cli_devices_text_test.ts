// `devices --measure` as text (cli/devices.ts measuredText, either runtime): the caps, then
// the measured ceilings indented under "ceilings:", then the saturation point.
import assert from "node:assert/strict";
import type { Ceilings } from "../bench/ceilings.ts";
import type { Saturation } from "../bench/saturation.ts";
import { formatCaps, measuredText } from "../cli/devices.ts";
import { LAVAPIPE_CAPS } from "./caps_fixtures.ts";

const ceilings: Ceilings = {
  source: "timestamp-query",
  copyGBps: 9.5,
  readGBps: 12.25,
  textureReadGBps: 20.5,
  fmaGflops: 80,
  fma4Gflops: 60,
  fma32Gflops: 80,
  fmaF16Gflops: 20,
  dispatchUs: 50,
  submitReadbackMs: 11,
  samples: { copy: [64.5] },
  measurements: 1,
};

const saturation: Saturation = {
  invocationsPerWorkgroup: 256,
  computeUnits: 2,
  source: "timestamp-query",
  sweep: [{ workgroups: 1, ms: 1 }, { workgroups: 2, ms: 1.1 }, { workgroups: 4, ms: 2.1 }],
};

Deno.test("devices --measure text: caps, then the ceilings indented under 'ceilings:', then compute units", () => {
  const caps = formatCaps(LAVAPIPE_CAPS);
  const text = measuredText(caps, LAVAPIPE_CAPS, ceilings, saturation);
  assert.ok(text.startsWith(caps), "the caps text first, unchanged");
  assert.match(text, /\nceilings:\n {2}copy 9\.50 GB\/s \(read \+ written\)/);
  assert.match(text, /\n {2}compute units: about 2 /);
  assert.match(text, /tried 1, 2, 4/);
});
