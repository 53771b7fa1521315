import assert from "node:assert/strict";
import {
  collectFingerprint,
  diffFingerprints,
  gitRevision,
  plainAdapter,
  REVISION_ENV,
  revisionOf,
} from "../runner/fingerprint.ts";
import { ConfigError } from "../adapter/errors.ts";
import { runCli } from "./helpers_cli.ts";
import { sha256Hex16 } from "../util/hash.ts";
import { fingerprint } from "./report_util.ts";

Deno.test("fingerprint: diff reports a changed Deno version and a changed kernel hash", () => {
  const a = fingerprint();
  const b = fingerprint({
    runtime: { ...a.runtime, deno: "2.9.7" },
    kernelHashes: {
      ...a.kernelHashes,
      "absorbed.wgsl": "ffffffffffffffff",
      "rope.wgsl": "0000000000000001",
    },
  });
  assert.deepEqual(diffFingerprints(a, b), [
    { field: "runtime.deno", from: "2.9.6", to: "2.9.7" },
    { field: "kernel.absorbed.wgsl", from: "0011223344556677", to: "ffffffffffffffff" },
    { field: "kernel.rope.wgsl", from: null, to: "0000000000000001" },
  ]);
  assert.deepEqual(diffFingerprints(a, a), []);
});

Deno.test("fingerprint: diff covers adapter, driver, revision and removed kernels", () => {
  const a = fingerprint();
  const b = fingerprint({
    adapter: { vendor: "nvidia", description: "NVIDIA H100", driver: "550.54" },
    harnessRevision: null,
    kernelHashes: { "absorbed.wgsl": "0011223344556677" },
  });
  const fields = Object.fromEntries(diffFingerprints(a, b).map((c) => [c.field, [c.from, c.to]]));
  assert.deepEqual(fields["adapter.description"], [
    "llvmpipe (LLVM 15.0.7, 256 bits)",
    "NVIDIA H100",
  ]);
  assert.deepEqual(fields["adapter.vendor"], ["mesa", "nvidia"]);
  assert.deepEqual(fields["adapter.driver"], [null, "550.54"]);
  assert.deepEqual(fields["kernel.expanded.wgsl"], ["8899aabbccddeeff", null]);
  assert.deepEqual(fields["harnessRevision"], ["0123456789abcdef0123456789abcdef01234567", null]);
});

Deno.test("fingerprint: the real repo has 16-hex hashes for every kernels/*.wgsl", async () => {
  const kernelDir = new URL("../kernels/", import.meta.url);
  const fp = await collectFingerprint({ adapter: null, kernelDir });
  const wgsl: string[] = [];
  for await (const e of Deno.readDir(kernelDir)) if (e.name.endsWith(".wgsl")) wgsl.push(e.name);
  assert.ok(wgsl.length > 0);
  assert.deepEqual(Object.keys(fp.kernelHashes), wgsl.sort());
  for (const h of Object.values(fp.kernelHashes)) assert.match(h, /^[0-9a-f]{16}$/);
  assert.equal(fp.runtime.deno, Deno.version.deno);
  assert.equal(fp.host.os, Deno.build.os);
  assert.ok(fp.host.cpus >= 1);
  assert.ok(fp.host.cpuModel.length > 0);
  assert.equal(fp.adapter, null);
  // null when git is absent or this is not a checkout.
  assert.ok(fp.harnessRevision === null || /^[0-9a-f]{40,64}(-dirty)?$/.test(fp.harnessRevision));
});

Deno.test("fingerprint: revision is null outside a git checkout", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/a.wgsl`, "");
    await Deno.writeTextFile(`${dir}/notes.txt`, "");
    const url = new URL(`file://${dir}/`);
    const fp = await collectFingerprint({ adapter: undefined, kernelDir: url, repoRoot: url });
    assert.equal(fp.harnessRevision, null);
    assert.deepEqual(fp.kernelHashes, { "a.wgsl": "e3b0c44298fc1c14" });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fingerprint: sha256Hex16 and plainAdapter", async () => {
  assert.equal(await sha256Hex16(new TextEncoder().encode("abc")), "ba7816bf8f01cfea");
  const info = new (class Info {
    get vendor() {
      return "mesa";
    }
    get description() {
      return "llvmpipe";
    }
  })();
  const fakeAdapter = new (class Adapter {
    info = info;
    features = new Set(["timestamp-query", "shader-f16"]);
    limits = { maxBufferSize: 256 };
  })();
  assert.deepEqual(plainAdapter(fakeAdapter), {
    adapter: { vendor: "mesa", description: "llvmpipe" },
    features: ["shader-f16", "timestamp-query"],
    limits: { maxBufferSize: 256 },
  });
  assert.deepEqual(plainAdapter(info), { vendor: "mesa", description: "llvmpipe" });
  assert.equal(plainAdapter(null), null);
});

// Against a baseline from before the loop budget (or a limit) was recorded, compare said
// "adapter.caps.loopIterationBudget none → 65535": an adapter or driver change that never was.
Deno.test("fingerprint: a cap one side did not record is unknown there, not a change", () => {
  const caps = (extra: Record<string, unknown>) => ({
    vendor: "mesa",
    description: "llvmpipe (LLVM 15.0.7, 256 bits)",
    limits: { maxComputeWorkgroupStorageSize: 32768, ...(extra.limits ?? {}) },
    ...Object.fromEntries(Object.entries(extra).filter(([k]) => k !== "limits")),
  });
  const old = fingerprint({ adapter: caps({}) });
  const now = fingerprint({
    adapter: caps({ loopIterationBudget: 65535, limits: { maxComputeWorkgroupSizeX: 1024 } }),
  });
  const fields = (a: typeof old, b: typeof old) => diffFingerprints(a, b).map((c) => c.field);
  assert.deepEqual(fields(old, now), []);
  assert.deepEqual(fields(now, old), []);
  // recorded on both sides: a budget measured as none (null) against one found is a change
  const none = fingerprint({
    adapter: caps({ loopIterationBudget: null, limits: { maxComputeWorkgroupSizeX: 256 } }),
  });
  assert.deepEqual(diffFingerprints(none, now), [
    {
      field: "adapter.caps.limits.maxComputeWorkgroupSizeX",
      from: "256",
      to: "1024",
    },
    { field: "adapter.caps.loopIterationBudget", from: null, to: "65535" },
  ]);
  // an SM count set on one side only (MLA_HARNESS_SM_COUNT) is still said
  assert.deepEqual(fields(now, fingerprint({ adapter: caps({ smCount: 132 }) })), [
    "adapter.caps.smCount",
  ]);
});

// A copy without .git (a container image, the tree sent to a GPU machine: the committed H200
// baseline records no revision) recorded harnessRevision null, so compare and history could
// not tell which harness ran; MLA_HARNESS_REVISION names it there.
Deno.test("fingerprint: MLA_HARNESS_REVISION names the revision where git gives none, never over git", async () => {
  const dir = await Deno.makeTempDir();
  const before = Deno.env.get(REVISION_ENV);
  try {
    await Deno.writeTextFile(`${dir}/a.wgsl`, "");
    const url = new URL(`file://${dir}/`);
    Deno.env.set(REVISION_ENV, "0123456789abcdef0123456789abcdef01234567-dirty");
    const copy = await collectFingerprint({ adapter: undefined, kernelDir: url, repoRoot: url });
    assert.equal(copy.harnessRevision, "0123456789abcdef0123456789abcdef01234567-dirty");
    // in this checkout git answers, and its answer stands
    const here = await collectFingerprint({ adapter: undefined, kernelDir: url });
    assert.equal(here.harnessRevision, await gitRevision(new URL("../", import.meta.url)));
    assert.notEqual(here.harnessRevision, copy.harnessRevision);
  } finally {
    if (before === undefined) Deno.env.delete(REVISION_ENV);
    else Deno.env.set(REVISION_ENV, before);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("revisionOf: a commit id of 7-40 hex digits, optionally -dirty; anything else is a ConfigError", () => {
  assert.equal(revisionOf(" 1f2e3d4 "), "1f2e3d4");
  assert.equal(revisionOf("1f2e3d4c5b6a-dirty"), "1f2e3d4c5b6a-dirty");
  assert.equal(revisionOf(""), undefined);
  assert.equal(revisionOf(undefined), undefined);
  for (const bad of ["main", "v1.2", "1f2e3d", "1F2E3D4C", "1f2e3d4-clean", "a".repeat(41)]) {
    assert.throws(() => revisionOf(bad), (e: unknown) => {
      assert.ok(e instanceof ConfigError, bad);
      assert.match(e.message, /MLA_HARNESS_REVISION.*must be a git commit id/s);
      return true;
    });
  }
});

Deno.test("CLI: a bad MLA_HARNESS_REVISION is exit 2 naming it, for every command", async () => {
  const r = await runCli(["compare", "--help"], { MLA_HARNESS_REVISION: "main" });
  assert.equal(r.code, 0, "--help is no action");
  const bad = await runCli(["baseline", "key", "baselines/llvmpipe-65541-vulkan.json"], {
    MLA_HARNESS_REVISION: "main",
  });
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /MLA_HARNESS_REVISION/);
  assert.match(bad.stderr, /must be a git commit id/);
});
