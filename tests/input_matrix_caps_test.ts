// Feature and limit names are checked where a user writes them: a matrix's device profiles
// (removeFeatures, limits) and a caps file for `explain --caps` (features, limits, top-level
// keys). A typo would otherwise be ignored silently (a profile that removes nothing, a limit
// never lowered), and the case would test something other than what it says.
import assert from "node:assert/strict";
import { parseCaps, WEBGPU_FEATURE_NAMES, WEBGPU_LIMIT_NAMES } from "../adapter/caps_file.ts";
import { loadMatrix, validateMatrix } from "../matrix/expand.ts";
import { runCli } from "./helpers_cli.ts";
import { configError } from "./config_helpers.ts";

const lavapipePath = "tests/fixtures/caps_lavapipe.json";
const lavapipe = JSON.parse(await Deno.readTextFile(lavapipePath));

const withProfile = (profile: unknown) => ({
  name: "m",
  devices: { p: profile },
  groups: [{ axes: { preset: "tiny", device: "p" } }],
});

Deno.test("device profiles: unknown feature and limit names are refused, naming the valid ones", () => {
  const e = configError(() =>
    validateMatrix(
      withProfile({
        removeFeatures: ["shader-f16", "shader-f17"],
        limits: { maxComputeWorkgroupStorageSizee: 1024, maxBufferSize: 65536 },
      }),
      "m.json",
    )
  );
  assert.match(e.message, /^m\.json: invalid matrix/);
  assert.match(
    e.message,
    /devices\.p\.removeFeatures\[1\]: "shader-f17" is not a WebGPU feature name; valid: .*shader-f16/,
  );
  assert.match(
    e.message,
    /devices\.p\.limits\.maxComputeWorkgroupStorageSizee: 1024 is not a WebGPU limit name; valid: .*maxComputeWorkgroupStorageSize,/,
  );
  assert.ok(!e.message.includes("removeFeatures[0]"), "shader-f16 is a feature");
  assert.ok(!e.message.includes("limits.maxBufferSize"), "maxBufferSize is a limit");
});

Deno.test("device profiles: a limit must be an integer >= 0", () => {
  for (const bad of [-1, 1.5, "big"]) {
    const e = configError(() =>
      validateMatrix(withProfile({ limits: { maxBufferSize: bad } }), "m.json")
    );
    assert.match(e.message, /devices\.p\.limits\.maxBufferSize: .* must be an integer >= 0/);
  }
});

Deno.test("device profiles: workgroup sizes below any device's are refused (the fixed 64-invocation passes planned and passed on 32)", () => {
  const e = configError(() =>
    validateMatrix(withProfile({ limits: { maxComputeWorkgroupSizeX: 32 } }), "m.json")
  );
  assert.match(
    e.message,
    /devices\.p\.limits\.maxComputeWorkgroupSizeX: 32 is below 128, the least a WebGPU device reports .*fixed 64-invocation passes/,
  );
  // compatibility mode's 128, and a buffer limit below any device's (simulated on purpose)
  validateMatrix(
    withProfile({
      limits: { maxComputeInvocationsPerWorkgroup: 128, maxStorageBufferBindingSize: 65536 },
    }),
    "m.json",
  );
});

Deno.test("the bundled adapter matrix's profiles are valid, and the lists cover the fixtures' caps", async () => {
  await loadMatrix("adapter");
  for (const f of lavapipe.features) assert.ok(WEBGPU_FEATURE_NAMES.includes(f), f);
  for (const l of Object.keys(lavapipe.limits)) assert.ok(WEBGPU_LIMIT_NAMES.includes(l), l);
});

Deno.test("caps file: misspelt limits, unknown keys, and bad limit values, name the field", () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [
      { ...lavapipe, limits: { ...lavapipe.limits, maxStorageBufferBindingSizee: 1 } },
      /limits\.maxStorageBufferBindingSizee: 1 is not a name WebGPU reports; did you mean "maxStorageBufferBindingSize"\?/,
    ],
    [
      { ...lavapipe, limits: { ...lavapipe.limits, maxComputeWorkgroupStorageSize: -1 } },
      /limits\.maxComputeWorkgroupStorageSize: -1 must be an integer >= 0/,
    ],
    [
      { ...lavapipe, limits: { ...lavapipe.limits, maxBufferSize: "big" } },
      /limits\.maxBufferSize: "big" must be an integer >= 0/,
    ],
    [{ ...lavapipe, bogusKey: 1 }, /bogusKey: 1 unknown key; valid: adapter, features, limits/],
  ];
  for (const [raw, message] of cases) {
    const e = configError(() => parseCaps(raw, "caps.json"));
    assert.match(e.message, /^caps\.json: invalid caps file/);
    assert.match(e.message, message);
  }
});

Deno.test("caps file: what devices --json writes besides the caps is accepted and dropped", () => {
  const caps = parseCaps({
    ...lavapipe,
    backend: { name: "vulkan", source: "env", reason: "set" },
    ceilings: { copyGBps: 9 },
    saturation: {},
    runtime: { name: "chromium" },
    smCountFrom: "MLA_HARNESS_SM_COUNT",
    features: [...lavapipe.features, "subgroups", "chromium-experimental-subgroup-matrix"],
  }, "caps.json");
  // the backend choice's name is the backend the caps were read under (webgpuBackend, which
  // devices --json did not write before 969fb27)
  assert.deepEqual(Object.keys(caps).sort(), ["adapter", "features", "limits", "webgpuBackend"]);
  assert.equal(caps.webgpuBackend, "vulkan");
  // Names newer than the harness's lists, as a device reports them (Chromium 14x reports
  // subgroup-size-control), are kept: no plan reads them, and refusing them would refuse
  // the caps file `devices --runtime chromium --json` wrote.
  const newer = parseCaps({
    ...lavapipe,
    features: [...lavapipe.features, "subgroup-size-control", "shader-f64", "shader-i16"],
    limits: { ...lavapipe.limits, maxTaskWorkgroupTotalCount: 65536 },
  }, "caps.json");
  assert.ok(newer.features.includes("subgroup-size-control"));
  assert.equal(newer.limits.maxTaskWorkgroupTotalCount, 65536);
});

Deno.test("CLI: explain --caps with a bad caps file exits 2 naming the file and field", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/caps.json`;
    await Deno.writeTextFile(
      path,
      JSON.stringify({ ...lavapipe, limits: { ...lavapipe.limits, maxBufferSizee: 1 } }),
    );
    const r = await runCli(["explain", "tiny", "--caps", path]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /caps\.json: invalid caps file/);
    assert.match(
      r.stderr,
      /maxBufferSizee: 1 is not a name WebGPU reports; did you mean "maxBufferSize"/,
    );
    assert.ok(!/\n\s+at /.test(r.stderr), `no stack trace: ${r.stderr}`);
    const ok = await runCli(["explain", "tiny", "--caps", lavapipePath]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
