// What a fingerprint records of another runtime's device (its caps with the adapter info the
// browser reports, and the browser) has one home, gpu/runtime.ts `remoteFingerprint`: a run's
// fingerprint (runner/run_matrix.ts) and a held device's key (drift/device_key.ts
// `liveDeviceKey`, which `devices --json` and bench reports carry) are made of the same facts,
// so the device key of a chromium run is the one `devices --json` gave. No GPU, no browser: a
// scripted device returns the float64 reference.
import assert from "node:assert/strict";
import { readCapsFile } from "../adapter/caps_file.ts";
import type { DeviceCaps } from "../adapter/types.ts";
import { deviceKey, liveDeviceKey } from "../drift/device_key.ts";
import { type RemoteDevice, remoteFingerprint, type RemoteIdentity } from "../gpu/runtime.ts";
import { SILENT_PROGRESS } from "../report/progress.ts";
import { absorbedAttention, denseAttention } from "../reference/attention.ts";
import { runMatrix } from "../runner/run_matrix.ts";

const identity: RemoteIdentity = {
  name: "chromium",
  version: "HeadlessChrome/156.0.8078.114",
  path: "/opt/chromium/chrome",
  userAgent: "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/156.0.8078.114",
  adapterInfo: { driver: "SwiftShader driver", backend: "vulkan" },
};

async function swiftShaderCaps(): Promise<DeviceCaps> {
  const caps = await readCapsFile(
    new URL("./fixtures/caps_lavapipe.json", import.meta.url).pathname,
  );
  return {
    ...caps,
    adapter: {
      vendor: "google",
      architecture: "swiftshader",
      device: "0xc0de",
      description: "SwiftShader Device (Subzero)",
      isFallbackAdapter: true,
    },
  };
}

Deno.test("remoteFingerprint: the caps with the browser's adapter info, and the browser", async () => {
  const caps = await swiftShaderCaps();
  const fp = remoteFingerprint(caps, identity);
  assert.deepEqual(fp.adapter, { ...caps, info: identity.adapterInfo });
  // the browser's record: no adapter info (that is the adapter's), in this key order
  assert.deepEqual(Object.keys(fp.browser), ["name", "version", "path", "userAgent"]);
  assert.deepEqual(fp.browser, {
    name: identity.name,
    version: identity.version,
    path: identity.path,
    userAgent: identity.userAgent,
  });
  assert.equal(liveDeviceKey(caps, identity), "swiftshader-device-google-0xc0de-chromium");
  assert.equal(liveDeviceKey(caps, identity), deviceKey(fp));
});

Deno.test("a run on another runtime's device records remoteFingerprint: its key is liveDeviceKey's", async () => {
  const caps = await swiftShaderCaps();
  const device: RemoteDevice = {
    runtime: "chromium",
    caps,
    identity,
    lost: false,
    destroy: () => {},
    reacquire: () => Promise.resolve(),
    close: () => Promise.resolve(),
    runAttention: (plan, o) => {
      const attention = plan.reference === "dense" ? denseAttention : absorbedAttention;
      const ref = attention(o.spec, plan.layout, { inputs: o.inputs });
      return Promise.resolve({
        outputs: { out: Float32Array.from(ref.out), lse: Float32Array.from(ref.lse) },
        samplesMs: [],
        source: "none",
        scope: "all",
        outsideCoreMs: null,
      });
    },
    runLayer: () => Promise.reject(new Error("no layer cases in this test")),
  };
  const dir = await Deno.makeTempDir({ prefix: "mla-remote-fingerprint-" });
  try {
    await Deno.writeTextFile(
      `${dir}/m.json`,
      JSON.stringify({ name: "one", groups: [{ axes: { preset: "tiny", sq: 1, sk: 6 } }] }),
    );
    const report = await runMatrix({
      matrix: `${dir}/m.json`,
      out: `${dir}/out`,
      ctx: device,
      repeats: 0,
      progress: SILENT_PROGRESS,
    });
    assert.deepEqual(report.results.map((r) => r.status), ["pass"], report.results[0]?.message);
    const fp = remoteFingerprint(caps, identity);
    assert.deepEqual(report.fingerprint.adapter, fp.adapter);
    assert.deepEqual(report.fingerprint.browser, fp.browser);
    assert.equal(deviceKey(report.fingerprint), liveDeviceKey(caps, identity));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
