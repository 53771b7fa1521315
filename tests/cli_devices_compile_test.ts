import assert from "node:assert/strict";
import { hasAdapter } from "../gpu/device.ts";
import { runCli } from "./helpers_cli.ts";
import { checkF16Asked } from "../cli/compile.ts";
import { CliError } from "../cli/errors.ts";

const gpu = await hasAdapter();

Deno.test({
  name: "devices --json feeds explain --caps",
  ignore: !gpu,
  fn: async () => {
    const d = await runCli(["devices", "--json"]);
    assert.equal(d.code, 0, d.stderr);
    const caps = JSON.parse(d.stdout);
    assert.ok(Array.isArray(caps.features));
    assert.equal(typeof caps.limits.maxStorageBufferBindingSize, "number");
    // The measured loop budget travels with the caps (a number on lavapipe, null on a GPU).
    assert.ok("loopIterationBudget" in caps);
    const file = await Deno.makeTempFile({ suffix: ".json" });
    await Deno.writeTextFile(file, d.stdout);
    const e = await runCli(["explain", "tiny", "--caps", file, "--json"]);
    assert.equal(e.code, 0, e.stderr);
    const explained = JSON.parse(e.stdout);
    assert.deepEqual(explained.caps.features, caps.features);
    // The class and the key are derived, never read back as caps (a caps file's deviceClass
    // would set the class by hand): explain classifies by the rules, as devices did.
    assert.equal(caps.classified.kindSource, "rules");
    assert.deepEqual(explained.classified, caps.classified);
    assert.ok(!("classified" in explained.caps) && !("deviceKey" in explained.caps));
    // the key of this device's baseline, as `baseline key` names it
    const key = await runCli(["baseline", "key"]);
    assert.equal(key.code, 0, key.stderr);
    assert.equal(caps.deviceKey, key.stdout.trim());
    const text = await runCli(["devices"]);
    assert.match(text.stdout, /^adapter: /);
    assert.match(text.stdout, /shader-f16: (yes|no)/);
    assert.match(text.stdout, /^loop budget: (none found|\d+ loop iterations)/m);
  },
});

Deno.test("devices without an adapter exits 3 with the fix; run and bench leave no --out folder they made", async () => {
  const r = await runCli(["devices"], { DENO_WEBGPU_BACKEND: "dx12" });
  assert.equal(r.code, 3);
  assert.match(
    r.stderr,
    /no WebGPU adapter: .*apt-get install mesa-vulkan-drivers.*DENO_WEBGPU_BACKEND=vulkan/,
  );
  const tmp = await Deno.makeTempDir({ prefix: "mla-no-adapter-" });
  try {
    const run = await runCli(
      ["run", "--filter", "preset=tiny;dtype=f32;sq=1", "--out", `${tmp}/a/run`],
      { DENO_WEBGPU_BACKEND: "dx12" },
    );
    assert.equal(run.code, 3, run.stdout + run.stderr);
    const bench = await runCli(
      ["bench", "--matrix", "tiny", "--reps", "1", "--out", `${tmp}/b`],
      { DENO_WEBGPU_BACKEND: "dx12" },
    );
    assert.equal(bench.code, 3, bench.stdout + bench.stderr);
    assert.deepEqual([...Deno.readDirSync(tmp)].map((e) => e.name), [], "no empty folders left");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test({
  name: "compile: bundled kernels compile; a broken file gives file:line:col and the line",
  ignore: !gpu,
  fn: async () => {
    const ok = await runCli(["compile", "--dtype", "f32"]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /^ok {4}absorbed\.wgsl \(f32\)$/m);
    const bad = await runCli(["compile", "docs/examples/broken.wgsl", "--dtype", "f32"]);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /docs\/examples\/broken\.wgsl:8:16: error: .*`scores`/);
    assert.match(bad.stdout, /8 \| {3}out\[i\] = exp\(scores\[i\]\) \* 0\.5;/);
  },
});

Deno.test({
  name: "compile: a file over the device's workgroup memory is an error naming the bytes, not 'ok'",
  ignore: !gpu,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "mla-wgmem-" });
    try {
      // 80,000 bytes: Deno's wgpu creates it and lavapipe runs it; a GPU refuses its pipeline
      const file = `${dir}/big.wgsl`;
      const kernel = (n: number) =>
        `var<workgroup> s: array<f32, ${n}>;\n@compute @workgroup_size(64)\n` +
        "fn main(@builtin(local_invocation_index) i: u32) { s[i] = 1.0; }\n";
      await Deno.writeTextFile(file, kernel(20000));
      // and one of 256 bytes, which compiles: one process for both (a compile's start-up, its
      // device, is most of its time; exit 0 is the bundled kernels' test above)
      const small = `${dir}/small.wgsl`;
      await Deno.writeTextFile(small, kernel(64));
      const r = await runCli(["compile", file, small, "--dtype", "f32"]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(
        r.stdout,
        /big\.wgsl: entry point main declares 80000 bytes of workgroup memory \(s 80000; .*over this device's maxComputeWorkgroupStorageSize \d+/,
      );
      assert.doesNotMatch(r.stdout, /^ok {4}.*big\.wgsl/m);
      assert.match(r.stdout, /^ok {4}.*small\.wgsl \(f32\)$/m);
      assert.doesNotMatch(r.stdout, /small\.wgsl: entry point/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "compile: an error wgpu gives without a span is placed where its message says, not at 1:1",
  ignore: !gpu,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "mla-span-" });
    try {
      // A return type mismatch on line 3 (wgpu 2.9.6: lineNum 1, linePos 1, length 0, and
      // `┌─ wgsl:3:24` in the message).
      const file = `${dir}/spanless.wgsl`;
      await Deno.writeTextFile(
        file,
        "fn f() -> i32 { return 1; }\n\nfn g() -> i32 { return 1.5; }\n" +
          "@compute @workgroup_size(1) fn main() { _ = f(); }\n",
      );
      const r = await runCli(["compile", file, "--dtype", "f32"]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout, /spanless\.wgsl:3:24: error: .*AbstractFloat/);
      assert.match(r.stdout, /3 \| fn g\(\) -> i32 \{ return 1\.5; \}/);
      assert.doesNotMatch(r.stdout, /spanless\.wgsl:1:1/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "compile: the barrier check reports a missing barrier (exit 1), --no-barrier-check skips it",
  ignore: !gpu,
  fn: async () => {
    // README's example, line for line
    const file = "docs/examples/missing_barrier.wgsl";
    const r = await runCli(["compile", file, "--dtype", "f32"]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const readme = (await Deno.readTextFile("README.md")).replace(/\s+/g, " ");
    const shown =
      /compile docs\/examples\/missing_barrier\.wgsl --dtype f32` prints \(exit 1\): ``` ([^`]*) ```/
        .exec(readme);
    assert.ok(shown, "README's missing_barrier example");
    assert.equal(r.stdout.replace(/\s+/g, " ").trim(), shown[1]);
    assert.match(
      r.stdout,
      /^hazard docs\/examples\/missing_barrier\.wgsl:15 \(f32\): write of tile\[lid\] \(line 14\) reaches the read of tile\[\(lid \+ 1u\) % 64u\] \(line 15\)/m,
    );
    const skip = await runCli(["compile", file, "--dtype", "f32", "--no-barrier-check"]);
    assert.equal(skip.code, 0, skip.stdout + skip.stderr);
    assert.doesNotMatch(skip.stdout, /hazard/);
  },
});

Deno.test("compile --dtype f16 on a device without shader-f16 says so (exit 3), not that every kernel is broken", async () => {
  const gl = { adapter: { description: "llvmpipe (LLVM 15.0.6, 256 bits)" }, features: [] };
  checkF16Asked("f32", gl, "elsewhere");
  checkF16Asked(undefined, gl, "elsewhere"); // without --dtype only the f32 forms compile
  checkF16Asked("f16", { ...gl, features: ["shader-f16"] }, "elsewhere");
  assert.throws(
    () => checkF16Asked("f16", gl, "with lavapipe"),
    (e: unknown) =>
      e instanceof CliError && e.exitCode === 3 &&
      /adapter "llvmpipe \(LLVM 15\.0\.6, 256 bits\)" has no shader-f16/.test(e.message) &&
      /with lavapipe, or give --dtype f32 here/.test(e.message),
  );
  // on the GL fallback (no shader-f16) every bundled kernel read "error ... the `f16`
  // extension is not supported", exit 1
  const r = await runCli(["compile", "--dtype", "f16"], {
    DENO_WEBGPU_BACKEND: "gl",
  });
  if (/no WebGPU adapter/.test(r.stderr)) return; // no GL here either
  assert.equal(r.code, 3, r.stdout + r.stderr);
  assert.match(r.stderr, /compile --dtype f16: adapter ".*" has no shader-f16/);
  assert.doesNotMatch(r.stdout, /^error /m);
});
