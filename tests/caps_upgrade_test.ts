// Caps files written by an older harness (tests/fixtures/upgrade/README.md) read as the device
// they describe: a GL fallback's, written before caps recorded webgpuBackend, is the GL
// fallback's, so explain refuses what run on that device refuses.
import assert from "node:assert/strict";
import { parseCaps, readCapsFile } from "../adapter/caps_file.ts";
import { isGlFallback } from "../adapter/slow_device.ts";
import { runCli } from "./helpers_cli.ts";

const fixture = new URL("./fixtures/upgrade/ac7a27a_caps_gl.json", import.meta.url).pathname;

Deno.test("a GL fallback's caps file of ac7a27a (before webgpuBackend) reads as the GL fallback", async () => {
  const caps = await readCapsFile(fixture);
  assert.equal(caps.webgpuBackend, "gl", "from its backend choice, backend.name");
  assert.equal(isGlFallback(caps), true);
  // explain planned the V2-Lite decode a GL fallback refuses (exit 0, a plan)
  const r = await runCli(["explain", "deepseek-v2-lite", "--seq-k", "4096", "--caps", fixture]);
  assert.equal(r.code, 3, r.stdout + r.stderr);
  assert.match(r.stdout, /device\.too-slow: kv_lora_rank 512 x 16 heads = 8192 is above 1024/);
  // webgpuBackend, where a file has it, is what it says
  const raw = JSON.parse(await Deno.readTextFile(fixture));
  assert.equal(parseCaps({ ...raw, webgpuBackend: "vulkan" }, "c.json").webgpuBackend, "vulkan");
  const { backend: _, ...bare } = raw;
  assert.equal(parseCaps(bare, "c.json").webgpuBackend, undefined);
});

Deno.test("a caps file lacking limits the plans read is warned about, naming them and the defaults planned with", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const raw = JSON.parse(
      await Deno.readTextFile(
        new URL("../docs/gpu_machine/h100-2026-11-27/devices.json", import.meta.url),
      ),
    );
    const { maxComputeWorkgroupStorageSize: _, ...limits } = raw.limits;
    const file = `${dir}/caps.json`;
    await Deno.writeTextFile(file, JSON.stringify({ ...raw, limits }));
    // the H100's 48 KiB read as WebGPU's 16 KiB: another tiled plan than a run there gets
    const r = await runCli(["explain", "deepseek-v3", "--caps", file]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /warning: \S+caps\.json: limits lacks maxComputeWorkgroupStorageSize, which the plans read: planned with WebGPU's default \(maxComputeWorkgroupStorageSize 16384\)/,
    );
    assert.match(r.stdout, /workgroup memory 16384 bytes/);
    // a file with every limit: no warning
    const whole = await runCli(["explain", "tiny", "--caps", fixture]);
    assert.doesNotMatch(whole.stderr, /limits lacks/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
