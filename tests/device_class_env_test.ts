/**
 * MLA_HARNESS_DEVICE_CLASS (gpu/device.ts) and a caps file's `deviceClass` set the device
 * class over the rules of adapter/device_class.ts: the reasons say who set it and what the
 * rules say, kernel choice follows it, the loop budget stays the device's; a bad value is
 * exit 2 naming the variable and the valid values.
 */
import assert from "node:assert/strict";
import { readCapsFile } from "../adapter/caps_file.ts";
import { deviceClassOf, formatDeviceClass } from "../adapter/device_class.ts";
import { loopBudgetOf } from "../adapter/loop_budget.ts";
import { DEVICE_CLASS_ENV, deviceClassOverrideOf, hasAdapter } from "../gpu/device.ts";
import { LAVAPIPE_CAPS } from "./caps_fixtures.ts";
import { runCli } from "./helpers_cli.ts";

const gpu = await hasAdapter();

Deno.test("MLA_HARNESS_DEVICE_CLASS takes cpu or gpu; anything else names it and them", () => {
  assert.equal(DEVICE_CLASS_ENV, "MLA_HARNESS_DEVICE_CLASS");
  assert.equal(deviceClassOverrideOf("gpu"), "gpu");
  assert.equal(deviceClassOverrideOf(" cpu "), "cpu");
  assert.equal(deviceClassOverrideOf(undefined), undefined);
  assert.equal(deviceClassOverrideOf(""), undefined);
  for (const bad of ["GPU", "cuda", "1", "gpu,cpu"]) {
    assert.throws(
      () => deviceClassOverrideOf(bad),
      /MLA_HARNESS_DEVICE_CLASS.*must be "cpu" or "gpu"/s,
      bad,
    );
  }
});

Deno.test("a class set by hand wins over the rules, says so, and keeps the loop budget", () => {
  const set = { ...LAVAPIPE_CAPS, deviceClass: "gpu", deviceClassFrom: DEVICE_CLASS_ENV } as const;
  const c = deviceClassOf(set)!;
  assert.equal(c.kind, "gpu");
  assert.equal(c.kindSource, "MLA_HARNESS_DEVICE_CLASS");
  assert.match(
    formatDeviceClass(c),
    /^device class gpu: set by MLA_HARNESS_DEVICE_CLASS=gpu \(the rules say cpu: .*fallback adapter/,
  );
  assert.equal(loopBudgetOf(set), loopBudgetOf(LAVAPIPE_CAPS));
  // Without it the rules decide, and say so.
  assert.equal(deviceClassOf(LAVAPIPE_CAPS)!.kindSource, "rules");
});

Deno.test("a caps file's deviceClass sets the class; devices --json's deviceClassFrom is dropped", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/c.json`;
    await Deno.writeTextFile(
      file,
      JSON.stringify({ ...LAVAPIPE_CAPS, deviceClass: "gpu", deviceClassFrom: DEVICE_CLASS_ENV }),
    );
    const caps = await readCapsFile(file);
    assert.equal(caps.deviceClassFrom, undefined);
    const c = deviceClassOf(caps)!;
    assert.deepEqual([c.kind, c.kindSource], ["gpu", "caps file"]);
    assert.match(c.reasons[0], /set by the caps file's "deviceClass": "gpu" \(the rules say cpu/);
    await Deno.writeTextFile(file, JSON.stringify({ ...LAVAPIPE_CAPS, deviceClass: "fast" }));
    await assert.rejects(() => readCapsFile(file), /deviceClass.*must be "cpu" or "gpu"/s);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "MLA_HARNESS_DEVICE_CLASS through the CLI: explain and devices show it, auto follows it",
  ignore: !gpu,
  fn: async () => {
    const explained = await runCli(["explain", "tiny"], { [DEVICE_CLASS_ENV]: "gpu" });
    assert.equal(explained.code, 0, explained.stderr);
    assert.match(explained.stdout, /device class gpu: set by MLA_HARNESS_DEVICE_CLASS=gpu/);
    assert.match(explained.stdout, /plan: wgsl-absorbed-tiled \(requested auto\)/);
    const devices = await runCli(["devices"], { [DEVICE_CLASS_ENV]: "cpu" });
    assert.equal(devices.code, 0, devices.stderr);
    assert.match(devices.stdout, /^device class cpu: set by MLA_HARNESS_DEVICE_CLASS=cpu/m);
    const bad = await runCli(["explain", "tiny"], { [DEVICE_CLASS_ENV]: "fast" });
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /MLA_HARNESS_DEVICE_CLASS.*"fast".*must be "cpu" or "gpu"/s);
    assert.doesNotMatch(bad.stderr, /\n\s+at /); // one message, no stack trace
  },
});

Deno.test("explain --json: classified is the H100's class, SM count and tier, each with its source", async () => {
  const r = await runCli([
    "explain",
    "deepseek-v2-lite",
    "--caps",
    "docs/gpu_machine/h100-2026-11-27/devices.json",
    "--json",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const { classified } = JSON.parse(r.stdout);
  assert.equal(classified.kind, "gpu");
  assert.equal(classified.kindSource, "rules");
  assert.equal(classified.smCount, 132);
  assert.equal(classified.smCountSource, "table");
  assert.equal(classified.workgroupMemoryTier, 49152);
  // the text says the same
  const text = await runCli([
    "explain",
    "deepseek-v2-lite",
    "--caps",
    "docs/gpu_machine/h100-2026-11-27/devices.json",
  ]);
  assert.match(text.stdout, /device class gpu: .*132 SMs/);
});

Deno.test({
  name:
    "devices --json and explain --json: classified names MLA_HARNESS_DEVICE_CLASS when it set the class",
  ignore: !gpu,
  fn: async () => {
    const env = { [DEVICE_CLASS_ENV]: "gpu" };
    const devices = await runCli(["devices", "--json"], env);
    assert.equal(devices.code, 0, devices.stderr);
    const explained = await runCli(["explain", "tiny", "--json"], env);
    assert.equal(explained.code, 0, explained.stderr);
    for (const out of [devices.stdout, explained.stdout]) {
      const { classified } = JSON.parse(out);
      assert.equal(classified.kind, "gpu");
      assert.equal(classified.kindSource, "MLA_HARNESS_DEVICE_CLASS");
    }
  },
});
