/**
 * tools/gl_zero_init_probe.ts, the measurement behind the GL fallback's workgroup-element
 * cap (adapter/slow_device.ts): its kernel declares the array it is asked for, it refuses bad
 * input with exit 2 naming it, and it times a kernel on this machine's adapter.
 */
import assert from "node:assert/strict";
import { probeShader } from "../tools/gl_zero_init_probe.ts";
import { HAS_ADAPTER } from "./gpu_helpers.ts";
import { runTool } from "./helpers_cli.ts";

Deno.test("gl_zero_init_probe: the kernel's workgroup array has the asked length and type", () => {
  assert.match(probeShader(2048, "f32"), /var<workgroup> w: array<f32, 2048>;/);
  assert.match(probeShader(256, "vec4"), /var<workgroup> w: array<vec4<f32>, 256>;/);
  assert.match(probeShader(256, "vec4"), /workgroupBarrier\(\)/);
});

Deno.test("gl_zero_init_probe: bad input is exit 2 naming it; no input prints the usage", async () => {
  const small = await runTool("gl_zero_init_probe.ts", ["10"]);
  assert.equal(small.code, 2);
  assert.match(small.stderr, /element count "10" must be a whole number of at least 64/);
  const type = await runTool("gl_zero_init_probe.ts", ["--type", "f16", "128"]);
  assert.equal(type.code, 2);
  assert.match(type.stderr, /--type "f16" must be f32 or vec4/);
  const none = await runTool("gl_zero_init_probe.ts", []);
  assert.equal(none.code, 2);
  assert.match(none.stdout, /usage: .*gl_zero_init_probe\.ts/);
});

Deno.test({
  name: "gl_zero_init_probe: times a kernel on this adapter",
  ignore: !HAS_ADAPTER,
  fn: async () => {
    const r = await runTool("gl_zero_init_probe.ts", ["64", "128"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^64 f32 elements: \d+\.\d\d s$/m);
    assert.match(r.stdout, /^128 f32 elements: \d+\.\d\d s$/m);
  },
});
