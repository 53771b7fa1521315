/**
 * Device class (adapter/device_class.ts): CPU rules each on their own, the GPU
 * default, workgroup-memory tiers, the SM table (H100 and H200 by the ids wgpu
 * reports) and the caps-file override; `explain --caps` prints the class.
 */
import assert from "node:assert/strict";
import { parseCaps, readCapsFile } from "../adapter/caps_file.ts";
import {
  deviceClassOf,
  formatDeviceClass,
  KNOWN_DEVICES,
  knownDevice,
  workgroupMemoryTier,
} from "../adapter/device_class.ts";
import { hasAdapter, smCountOf } from "../gpu/device.ts";
import { H100_CAPS, h100Caps, LAVAPIPE_CAPS } from "./caps_fixtures.ts";
import { explainCase, formatExplanation } from "../adapter/explain.ts";
import { presetSpec } from "../adapter/presets.ts";
import { resolve } from "../adapter/resolve.ts";
import { runCli } from "./helpers_cli.ts";

const gpu = await hasAdapter();

const H100_DOCS = "docs/gpu_machine/h100-2026-11-27/devices.json";

const caps = h100Caps;

Deno.test("a discrete GPU with no budget is class gpu, with 132 SMs from the table", () => {
  const c = deviceClassOf(caps({}))!;
  assert.equal(c.kind, "gpu");
  assert.equal(c.smCount, 132);
  assert.equal(c.smCountSource, "table");
  assert.equal(c.workgroupMemoryTier, 49152);
  assert.match(c.reasons[0], /no loop budget/);
});

Deno.test("each CPU rule alone makes the class cpu and is named", () => {
  const budget = deviceClassOf(caps({}, { loopIterationBudget: 65535 }))!;
  assert.equal(budget.kind, "cpu");
  assert.match(budget.reasons.join(), /65535 iterations/);
  const fallback = deviceClassOf(caps({ isFallbackAdapter: true }))!;
  assert.equal(fallback.kind, "cpu");
  assert.deepEqual(fallback.reasons, ["it is a fallback adapter"]);
  const swift = deviceClassOf(caps({ description: "SwiftShader Device (Subzero)" }))!;
  assert.equal(swift.kind, "cpu");
  assert.match(swift.reasons.join(), /SwiftShader/);
  // lavapipe by name: its loop budget is known even when not measured (loopIterationBudget absent).
  const lvp = deviceClassOf({
    ...caps({ description: "llvmpipe (LLVM 15.0.6, 256 bits)", vendor: "65541", device: "0" }),
    loopIterationBudget: undefined,
  })!;
  assert.equal(lvp.kind, "cpu");
  assert.equal(lvp.reasons.length, 2, lvp.reasons.join(" | "));
  assert.equal(lvp.smCount, null);
});

Deno.test("PCI ids: decimal as wgpu reports them, or hex; H200 SXM is in the table", () => {
  assert.equal(knownDevice("4318", "9008")?.smCount, 132);
  assert.equal(knownDevice("0x10de", "0x2330")?.smCount, 132);
  assert.equal(knownDevice("4318", String(0x2335))?.name, "NVIDIA H200 SXM 141GB");
  assert.equal(knownDevice("4318", "1"), undefined);
  assert.equal(knownDevice("NVIDIA", ""), undefined);
});

Deno.test("the SM table: one entry per PCI id, and an A100 or an L4 read from wgpu's decimal ids", () => {
  // a second entry for one id would never be found (knownDevice takes the first)
  const ids = KNOWN_DEVICES.map((k) => `${k.vendor.toString(16)}:${k.device.toString(16)}`);
  assert.deepEqual(ids.filter((id, i) => ids.indexOf(id) !== i), []);
  for (const k of KNOWN_DEVICES) {
    assert.ok([0x10de, 0x1002].includes(k.vendor), k.name);
    assert.ok(Number.isInteger(k.smCount) && k.smCount >= 20 && k.smCount <= 200, k.name);
  }
  assert.equal(knownDevice("4318", String(0x20b2))?.name, "NVIDIA A100 SXM4 80GB");
  assert.equal(knownDevice("4318", String(0x27b8))?.smCount, 58);
  // and the class carries it: an L4 plans with its own 58 SMs, not the default
  const l4 = deviceClassOf({
    ...caps({ description: "NVIDIA L4", vendor: "4318", device: String(0x27b8) }),
  })!;
  assert.deepEqual([l4.kind, l4.smCount, l4.smCountSource], ["gpu", 58, "table"]);
});

Deno.test("workgroup-memory tiers", () => {
  assert.equal(workgroupMemoryTier(16383), null);
  assert.equal(workgroupMemoryTier(16384), 16384);
  assert.equal(workgroupMemoryTier(32767), 16384);
  assert.equal(workgroupMemoryTier(32768), 32768);
  assert.equal(workgroupMemoryTier(65536), 49152);
  // Limits omitted: WebGPU's default 16 KiB.
  assert.equal(deviceClassOf({ ...caps({}), limits: {} })!.workgroupMemoryTier, 16384);
});

Deno.test("a caps file's smCount overrides the table; a bad one names the field", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const raw = JSON.parse(await Deno.readTextFile(H100_DOCS));
    await Deno.writeTextFile(`${dir}/c.json`, JSON.stringify({ ...raw, smCount: 114 }));
    const c = deviceClassOf(await readCapsFile(`${dir}/c.json`))!;
    assert.equal(c.smCount, 114);
    assert.equal(c.smCountSource, "caps file");
    assert.match(formatDeviceClass(c), /114 SMs \(caps file\)/);
    await Deno.writeTextFile(`${dir}/bad.json`, JSON.stringify({ ...raw, smCount: -1 }));
    await assert.rejects(() => readCapsFile(`${dir}/bad.json`), /smCount/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("MLA_HARNESS_SM_COUNT gives the device the harness runs on its SM count", async () => {
  assert.equal(smCountOf("108"), 108);
  assert.equal(smCountOf(" 132 "), 132);
  assert.equal(smCountOf(undefined), undefined);
  assert.equal(smCountOf(""), undefined);
  // the message names the rule itself (it said "a positive integer" of 1000000 and 0132)
  for (const bad of ["0", "-4", "1.5", "abc", "132 SMs", "1e3", "1000000", "0132"]) {
    assert.throws(
      () => smCountOf(bad),
      /MLA_HARNESS_SM_COUNT.*a whole number from 1 to 999999, in decimal digits without a leading zero/s,
      bad,
    );
  }
  // a caps file has the same bound (1e15 was printed as "1000000000000000 SMs")
  assert.throws(
    () => parseCaps({ ...JSON.parse(JSON.stringify(LAVAPIPE_CAPS)), smCount: 1e15 }, "c.json"),
    /smCount: 1000000000000000 must be at most 999999/,
  );
  const raw = JSON.parse(await Deno.readTextFile(H100_DOCS));
  const c = deviceClassOf({ ...raw, smCount: 120, smCountFrom: "MLA_HARNESS_SM_COUNT" })!;
  assert.equal(c.smCount, 120);
  assert.match(formatDeviceClass(c), /120 SMs \(MLA_HARNESS_SM_COUNT\)/);
  if (gpu) {
    // Through the CLI on the real adapter: the class line names it; a bad value is exit 2.
    const ok = await runCli(["explain", "tiny"], { MLA_HARNESS_SM_COUNT: "77" });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /77 SMs \(MLA_HARNESS_SM_COUNT\)/);
    const bad = await runCli(["devices"], { MLA_HARNESS_SM_COUNT: "lots" });
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /MLA_HARNESS_SM_COUNT.*"lots".*a whole number from 1 to 999999/s);
    assert.doesNotMatch(bad.stderr, /\n\s+at /); // one message, no stack trace
  }
});

Deno.test("no device: no class", () => {
  assert.equal(deviceClassOf(null), null);
});

Deno.test("explain --caps prints the class and why (H100 caps: gpu; lavapipe caps: cpu)", async () => {
  const gpu = await runCli(["explain", "deepseek-v2-lite", "--caps", H100_DOCS]);
  assert.match(gpu.stdout, /device class gpu: no loop budget.*tier 48 KiB.*132 SMs \(table\)/);
  const cpu = await runCli([
    "explain",
    "deepseek-v2-lite",
    "--caps",
    "tests/fixtures/caps_lavapipe.json",
  ]);
  assert.match(cpu.stdout, /device class cpu: .*fallback adapter.*tier 32 KiB\); SMs unknown/);
});

Deno.test("a gpu-class device whose limits refuse a split harness pass runs its one-lane walk, and explain says why", () => {
  // WebGPU's compatibility mode: 128 invocations a workgroup; up_proj_split.wgsl's 256 would
  // fail at pipeline creation, absorb_q_split.wgsl's 128 fits.
  const compat = h100Caps({}, {
    limits: {
      ...H100_CAPS.limits,
      maxComputeInvocationsPerWorkgroup: 128,
      maxComputeWorkgroupSizeX: 128,
    },
  });
  const req = {
    spec: presetSpec("deepseek-v2-lite"),
    dtype: "f32" as const,
    backend: "wgsl-absorbed-tiled",
    layout: { kind: "bshd" as const, batch: 1, seqQ: 1, seqK: 256, causal: true },
  };
  const plan = resolve(req, compat);
  assert.equal(plan.kind, "plan");
  if (plan.kind !== "plan") return;
  assert.equal(plan.harnessTiles.upProj?.latentLanes, undefined);
  assert.equal(plan.harnessTiles.absorbQ?.nopeGroups, 4);
  const text = formatExplanation(explainCase(req, compat));
  assert.match(text, /up-projection \(absorb_q_split\.wgsl, up_proj\.wgsl\)/);
  assert.match(
    text,
    /up_proj\.wgsl, not up_proj_split\.wgsl: its workgroup of 256 invocations is over maxComputeInvocationsPerWorkgroup 128/,
  );
  // workgroup memory: the splits' part arrays (6144 and 8448 bytes) over a hand-edited 4096
  const small = h100Caps({}, {
    limits: { ...H100_CAPS.limits, maxComputeWorkgroupStorageSize: 4096 },
  });
  const walks = resolve({ ...req, backend: "wgsl-absorbed" }, small);
  assert.equal(walks.kind, "plan");
  if (walks.kind !== "plan") return;
  assert.equal(walks.harnessTiles.absorbQ?.nopeGroups, undefined);
  assert.equal(walks.harnessTiles.upProj?.latentLanes, undefined);
  // the H100 as reported keeps both splits
  const h100 = resolve(req, H100_CAPS);
  assert.equal(h100.kind === "plan" && h100.harnessTiles.upProj?.latentLanes, 32);
});

Deno.test("explain names a device whose adapter gives no description or vendor as unnamed, not blank", () => {
  const caps = h100Caps({ description: "", vendor: "" });
  const text = formatExplanation(explainCase({
    spec: presetSpec("tiny"),
    dtype: "f32",
    backend: "auto",
    layout: { kind: "bshd", batch: 1, seqQ: 1, seqK: 8, causal: true },
  }, caps));
  assert.match(
    text,
    /^device \(unnamed: the adapter gives no description or vendor\); dtype f32$/m,
  );
});
