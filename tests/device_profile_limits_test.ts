// A matrix's device profiles set only limits the harness reads (a limit nothing reads would
// change nothing, silently), are applied in the restrictive direction (the smaller max*, the
// larger min* alignment), and a profile asking for more than the device has is a warning
// line at the start of `run`, naming the profile, the limit, the asked and the used value.
import assert from "node:assert/strict";
import { isMinLimit, PROFILE_LIMIT_NAMES, WEBGPU_LIMIT_NAMES } from "../adapter/caps_file.ts";
import type { DeviceCaps } from "../adapter/types.ts";
import { hasAdapter, probeCaps } from "../gpu/device.ts";
import { validateMatrix } from "../matrix/expand.ts";
import {
  applyProfile,
  formatProfileLimitClamp,
  profileLimitClamps,
} from "../runner/case_request.ts";
import { configError } from "./config_helpers.ts";
import { runCli } from "./helpers_cli.ts";

const caps: DeviceCaps = {
  adapter: {
    vendor: "",
    architecture: "",
    device: "",
    description: "test",
    isFallbackAdapter: false,
  },
  features: [],
  limits: {
    maxStorageBufferBindingSize: 134217728,
    maxBufferSize: 268435456,
    minStorageBufferOffsetAlignment: 256,
  },
};

const withProfile = (profile: unknown) => ({
  name: "m",
  devices: { small: profile },
  groups: [{ axes: { preset: "tiny", device: "small" } }],
});

Deno.test("a profile limit the harness never reads is refused, naming the profile, the limit and the valid ones", () => {
  const e = configError(() =>
    validateMatrix(withProfile({ limits: { maxBindGroups: 2, maxBufferSize: 65536 } }), "m.json")
  );
  assert.match(e.message, /^m\.json: invalid matrix/);
  assert.match(
    e.message,
    /devices\.small\.limits\.maxBindGroups: 2 is a WebGPU limit the harness never reads, so a profile setting it would change nothing; valid: maxBufferSize, maxStorageBufferBindingSize, minStorageBufferOffsetAlignment, /,
  );
  assert.ok(!e.message.includes("limits.maxBufferSize"), "maxBufferSize is read");
  // not a limit at all: the nearest one a profile may set is offered
  const typo = configError(() =>
    validateMatrix(withProfile({ limits: { maxBuferSize: 1 } }), "m.json")
  );
  assert.match(
    typo.message,
    /devices\.small\.limits\.maxBuferSize: 1 is not a WebGPU limit name; valid: .*maxTextureDimension2D \(the limits the harness reads.*\); did you mean "maxBufferSize"\?/,
  );
  // every limit a profile may set is accepted
  validateMatrix(
    withProfile({ limits: Object.fromEntries(PROFILE_LIMIT_NAMES.map((n) => [n, 1024])) }),
    "m.json",
  );
});

Deno.test("the limits a profile may set are the ones the adapter and the launchers read", async () => {
  const read = new Set<string>();
  const files = [
    ...[...Deno.readDirSync(new URL("../adapter/", import.meta.url))]
      .filter((f) => f.name.endsWith(".ts") && f.name !== "caps_file.ts")
      .map((f) => `adapter/${f.name}`),
    "kernels/launch.ts",
  ];
  for (const f of files) {
    const text = await Deno.readTextFile(new URL(`../${f}`, import.meta.url));
    // caps.limits.maxBufferSize, caps?.limits.maxTextureDimension2D, limits[...] by name
    for (const m of text.matchAll(/\blimits\??\.((?:max|min)[A-Za-z0-9]+)/g)) read.add(m[1]);
  }
  // the launchers' limits (kernels/launch.ts LaunchLimits) are read as fields of `limits`
  assert.ok(read.has("minStorageBufferOffsetAlignment"), [...read].join(", "));
  for (const n of read) assert.ok(WEBGPU_LIMIT_NAMES.includes(n), n);
  assert.deepEqual([...read].sort(), [...PROFILE_LIMIT_NAMES].sort());
});

Deno.test("applyProfile makes limits more restrictive: the smaller max*, the larger min*", () => {
  const lower = applyProfile(caps, {
    limits: { maxStorageBufferBindingSize: 65536, minStorageBufferOffsetAlignment: 512 },
  });
  assert.equal(lower.limits.maxStorageBufferBindingSize, 65536);
  assert.equal(lower.limits.minStorageBufferOffsetAlignment, 512, "a coarser alignment applies");
  const looser = applyProfile(caps, {
    limits: { maxStorageBufferBindingSize: 1 << 30, minStorageBufferOffsetAlignment: 64 },
  });
  assert.equal(looser.limits.maxStorageBufferBindingSize, 134217728);
  assert.equal(looser.limits.minStorageBufferOffsetAlignment, 256, "a finer one cannot apply");
  assert.ok(isMinLimit("minStorageBufferOffsetAlignment") && !isMinLimit("maxBufferSize"));
});

Deno.test("profileLimitClamps lists each profile limit less restrictive than the device's", () => {
  const clamps = profileLimitClamps(caps, {
    big: { limits: { maxStorageBufferBindingSize: 1 << 30, maxBufferSize: 65536 } },
    loose: { limits: { minStorageBufferOffsetAlignment: 64 } },
    tight: { limits: { minStorageBufferOffsetAlignment: 512 } },
    same: { limits: { maxBufferSize: 268435456 } },
    none: {},
  });
  assert.deepEqual(clamps, [
    { profile: "big", limit: "maxStorageBufferBindingSize", asked: 1 << 30, used: 134217728 },
    { profile: "loose", limit: "minStorageBufferOffsetAlignment", asked: 64, used: 256 },
  ]);
  assert.equal(
    formatProfileLimitClamp(clamps[1]),
    'warning: device profile "loose" asks minStorageBufferOffsetAlignment 64, below this ' +
      "device's 256; its cases use 256 (a profile can make a device more restrictive, never less)",
  );
  assert.match(
    formatProfileLimitClamp(clamps[0]),
    /"big" asks maxStorageBufferBindingSize 1073741824, above this device's 134217728; its cases use 134217728/,
  );
});

Deno.test("CLI: run with a profile limit nothing reads exits 2 before any work", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const m = `${dir}/m.json`;
    const out = `${dir}/out`;
    await Deno.writeTextFile(m, JSON.stringify(withProfile({ limits: { maxBindGroups: 2 } })));
    const r = await runCli(["run", "--matrix", m, "--out", out]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /m\.json: invalid matrix/);
    assert.match(
      r.stderr,
      /devices\.small\.limits\.maxBindGroups: 2 is a WebGPU limit the harness never reads/,
    );
    assert.ok(!/\n\s+at /.test(r.stderr), `no stack trace: ${r.stderr}`);
    assert.ok(!(await Deno.stat(`${out}/results.jsonl`).then(() => true, () => false)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "CLI: run warns once per profile and limit a device cannot pretend, and goes on",
  ignore: !(await hasAdapter()),
  fn: async () => {
    const device = await probeCaps();
    const profiles = {
      // above any device's binding and below any alignment: both are the device's
      big: { limits: { maxStorageBufferBindingSize: 2 ** 52, minStorageBufferOffsetAlignment: 1 } },
      tight: { limits: { maxStorageBufferBindingSize: 65536 } },
    };
    const dir = await Deno.makeTempDir();
    try {
      const m = `${dir}/m.json`;
      await Deno.writeTextFile(
        m,
        JSON.stringify({
          name: "m",
          devices: profiles,
          groups: [{ axes: { preset: "tiny", b: [1, 2], sk: 4, device: ["big", "tight"] } }],
        }),
      );
      // the harness picks the backend as this process did (vulkan, else the GL fallback)
      const r = await runCli(["run", "--matrix", m, "--out", `${dir}/out`]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const warnings = r.stderr.split("\n").filter((l) => l.startsWith("warning: device profile"));
      const want = profileLimitClamps(device, profiles).map(formatProfileLimitClamp);
      assert.deepEqual(warnings, want, r.stderr);
      assert.match(
        warnings[0],
        new RegExp(
          `^warning: device profile "big" asks maxStorageBufferBindingSize ${2 ** 52}, above ` +
            `this device's ${device.limits.maxStorageBufferBindingSize}; its cases use ` +
            `${device.limits.maxStorageBufferBindingSize}`,
        ),
      );
      assert.ok(!r.stderr.includes('"tight"'), "a profile that lowers a limit is not warned of");
      assert.match(r.stdout, /4\/4 cases: 4 pass/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
