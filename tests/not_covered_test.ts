// A device without shader-f16 (the GL fallback): cases the matrix expects to run in f16
// are reported as not covered on this device, with the reason, not as unexpected; a device
// profile that removes the feature on purpose still needs the matrix to say so; and the
// run's summary line says what was missed and how to get it. No GPU is needed: the adapter
// refuses these cases before anything runs.
import assert from "node:assert/strict";
import type { DeviceCaps } from "../adapter/types.ts";
import type { GpuContext } from "../gpu/device.ts";
import { caseId } from "../matrix/case_id.ts";
import { type Case, CASE_DEFAULTS, type CaseParams } from "../matrix/types.ts";
import { notCoveredLine } from "../report/not_covered.ts";
import { isExpectedSkip } from "../report/totals.ts";
import { runCase } from "../runner/run_case.ts";
import { tooSlowReason } from "../adapter/slow_device.ts";
import { presetSpec } from "../adapter/presets.ts";
import { resolve } from "../adapter/resolve.ts";
import { runCli } from "./helpers_cli.ts";

/** The GL fallback's caps as far as the adapter cares: no shader-f16. */
const GL_CAPS: DeviceCaps = {
  adapter: {
    vendor: "65541",
    architecture: "",
    device: "0",
    description: "llvmpipe (LLVM 15.0.6, 256 bits)",
    isFallbackAdapter: true,
  },
  features: ["timestamp-query"],
  limits: {
    maxStorageBufferBindingSize: 134217728,
    maxBufferSize: 2147483647,
    maxComputeWorkgroupStorageSize: 32768,
    maxComputeInvocationsPerWorkgroup: 1024,
    maxComputeWorkgroupSizeX: 1024,
    maxComputeWorkgroupsPerDimension: 65535,
    maxStorageBuffersPerShaderStage: 32,
  },
  loopIterationBudget: null,
};
/** Only `caps` is read before the adapter refuses a case. */
const ctx = { caps: GL_CAPS } as unknown as GpuContext;

function mk(over: Partial<CaseParams>, expect: Case["expect"], profile = {}): Case {
  const params = { ...CASE_DEFAULTS, ...over };
  return { id: caseId(params), params, expect, seed: 1, deviceProfile: profile };
}

Deno.test("an f16 case expected to run is 'not covered here' on a device without shader-f16", async () => {
  const r = await runCase(mk({ dtype: "f16" }, { support: "supported" }), { ctx });
  assert.equal(r.status, "pass");
  assert.equal(r.decision, "unsupported");
  assert.ok(isExpectedSkip(r), "counted as a skip, not a pass of the kernel");
  // auto:absorbed on a cpu-class device: both absorbed backends refuse, for the same reason,
  // recorded once (the message names them).
  assert.deepEqual(r.reasons?.map((x) => x.code), ["dtype.f16-unavailable"]);
  assert.match(
    r.message,
    /^unsupported on this device: dtype\.f16-unavailable \(wgsl-absorbed-gemm, wgsl-absorbed, wgsl-absorbed-tiled\): .*shader-f16/,
  );
  assert.equal(r.message.split("needs the WebGPU feature").length, 2, "said once");
});

Deno.test("a device profile that removes f16 while the matrix expects support stays unexpected", async () => {
  const r = await runCase(
    mk({ dtype: "f16", device: "no-f16" }, { support: "supported" }, {
      removeFeatures: ["shader-f16"],
    }),
    { ctx },
  );
  assert.equal(r.status, "unexpected");
  assert.match(
    r.message,
    /^unexpectedly unsupported: dtype\.f16-unavailable \(wgsl-absorbed-gemm, /,
  );
});

Deno.test("the run summary names what was not covered and how to cover it", async () => {
  const results = [
    await runCase(mk({ dtype: "f16" }, { support: "supported" }), { ctx }),
    await runCase(mk({ dtype: "f16", b: 2 }, { support: "supported" }), { ctx }),
  ];
  const line = notCoveredLine(results);
  assert.ok(line !== null);
  assert.match(line, /^not covered on this device: 2 cases \(2 × dtype\.f16-unavailable: /);
  assert.match(line, /apt-get install mesa-vulkan-drivers/);
  assert.equal(notCoveredLine([]), null);
});

Deno.test("model sizes are too slow for the GL fallback only; the tiny presets run there", () => {
  const v2l = presetSpec("deepseek-v2-lite");
  const slow = tooSlowReason(v2l, { ...GL_CAPS, webgpuBackend: "gl" });
  assert.equal(slow?.code, "device.too-slow");
  assert.match(slow!.message, /kv_lora_rank 512 x 16 heads = 8192 is above 1024/);
  assert.equal(
    tooSlowReason(v2l, { ...GL_CAPS, webgpuBackend: "vulkan" }),
    null,
    "lavapipe runs them",
  );
  const gpu = { ...GL_CAPS, adapter: { ...GL_CAPS.adapter, isFallbackAdapter: false } };
  assert.equal(
    tooSlowReason(v2l, { ...gpu, webgpuBackend: "gl" }),
    null,
    "a hardware GL adapter runs them",
  );
  assert.equal(tooSlowReason(presetSpec("tiny"), { ...GL_CAPS, webgpuBackend: "gl" }), null);
  assert.equal(tooSlowReason(presetSpec("tiny-yarn"), { ...GL_CAPS, webgpuBackend: "gl" }), null);
  const line = notCoveredLine([{
    id: "x",
    status: "pass",
    decision: "unsupported",
    expect: { support: "supported" },
    params: { ...CASE_DEFAULTS, preset: "deepseek-v2-lite" },
    reasons: [slow!],
    message: "unsupported on this device: ...",
    wallMs: 0,
  }]);
  assert.match(line!, /^not covered on this device: 1 case \(1 × device\.too-slow: .*apt-get/);
});

Deno.test("resolve() refuses model sizes on the GL fallback (so explain, run and bench agree)", () => {
  const gl: DeviceCaps = { ...GL_CAPS, webgpuBackend: "gl" };
  const layout = { kind: "bshd", batch: 1, seqQ: 1, seqK: 64, causal: true } as const;
  const v2l = resolve(
    { spec: presetSpec("deepseek-v2-lite"), dtype: "f32", backend: "wgsl-absorbed", layout },
    gl,
  );
  assert.equal(v2l.kind, "unsupported");
  assert.deepEqual(v2l.kind === "unsupported" ? v2l.reasons.map((r) => r.code) : [], [
    "device.too-slow",
  ]);
  // auto passes over every GPU backend for the same reason: said once, the case's, and
  // every backend tried named.
  const auto = resolve({
    spec: presetSpec("deepseek-v2-lite"),
    dtype: "f32",
    backend: "auto",
    layout,
  }, gl);
  assert.equal(auto.kind, "unsupported");
  const codes = auto.kind === "unsupported" ? auto.reasons.map((r) => r.code) : [];
  assert.deepEqual(codes, ["device.too-slow"]);
  assert.ok(auto.kind === "unsupported" && auto.tried!.length >= 2);
  // The tiny presets run there; lavapipe (vulkan) and a caps file that does not say run them.
  for (
    const [spec, caps] of [
      [presetSpec("tiny"), gl],
      [presetSpec("deepseek-v2-lite"), { ...GL_CAPS, webgpuBackend: "vulkan" }],
      [presetSpec("deepseek-v2-lite"), GL_CAPS],
    ] as const
  ) {
    const r = resolve({ spec, dtype: "f32", backend: "wgsl-absorbed", layout }, caps);
    assert.equal(r.kind, "plan", JSON.stringify(r));
  }
});

Deno.test("explain with a GL-fallback caps file: V2-Lite exit 3, device.too-slow; tiny exit 0", async () => {
  const file = await Deno.makeTempFile({ suffix: ".json" });
  try {
    await Deno.writeTextFile(file, JSON.stringify({ ...GL_CAPS, webgpuBackend: "gl" }));
    const slow = await runCli(["explain", "deepseek-v2-lite", "--caps", file]);
    assert.equal(slow.code, 3, slow.stdout + slow.stderr);
    assert.match(slow.stdout + slow.stderr, /device\.too-slow: kv_lora_rank 512 x 16 heads/);
    const tiny = await runCli(["explain", "tiny", "--caps", file]);
    assert.equal(tiny.code, 0, tiny.stdout + tiny.stderr);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("a forced split on the GL fallback is not covered: one candidate refuses for the device only, the other also for splits", async () => {
  // auto:absorbed: wgsl-absorbed-gemm refuses KV splits and the size, wgsl-absorbed only the
  // size. The case would run on lavapipe, so it is a gap in coverage, not a failure.
  const glCtx = { caps: { ...GL_CAPS, webgpuBackend: "gl" } } as unknown as GpuContext;
  const c = mk({ preset: "deepseek-v2-lite", sk: 300, splits: 3 }, { support: "supported" });
  const r = await runCase(c, { ctx: glCtx });
  assert.equal(r.status, "pass", r.message);
  assert.match(r.message, /^unsupported on this device: /);
  // the size, both candidates' reason, once; the gemm kernel's own refusal of the splits apart
  assert.deepEqual(r.reasons?.map((x) => x.code), [
    "device.too-slow",
    "wgsl-absorbed-gemm:variant.kv-splits",
  ]);
  const line = notCoveredLine([r]);
  assert.match(
    line!,
    /^not covered on this device: 1 case \(1 × device\.too-slow: [^;]*; to cover/,
  );
});

Deno.test("a reason every candidate shares is each one's: device-only when some candidate has no other", async () => {
  // 100 KV splits on the GL fallback: both absorbed candidates refuse V2-Lite's size (said
  // once, unprefixed) and each also refuses the splits, so no device would run it as is:
  // unexpected, not a gap in coverage.
  const glCtx = { caps: { ...GL_CAPS, webgpuBackend: "gl" } } as unknown as GpuContext;
  const c = mk({ preset: "deepseek-v2-lite", sk: 300, splits: 100 }, { support: "supported" });
  const r = await runCase(c, { ctx: glCtx });
  assert.equal(r.reasons?.[0].code, "device.too-slow");
  assert.ok(r.reasons!.slice(1).every((x) => x.code.endsWith(":variant.kv-splits")), r.message);
  assert.equal(r.status, "unexpected", r.message);
});
