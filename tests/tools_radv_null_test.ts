/**
 * tools/radv_null.ts and tools/spirv_shim/pipeline_stats.c: the bindings a module needs are
 * read from its own decorations, pipeline_stats' output is read back (statistics, errors),
 * and, where Mesa's RADV and a C compiler are installed, a hand-assembled compute module is
 * compiled on RADV's null hardware and its registers reported; an unknown family and a
 * driver without VK_KHR_pipeline_executable_properties (lavapipe) are refused, named.
 */
import assert from "node:assert/strict";
import { findVulkanDrivers, systemProbe } from "../gpu/backend_choice.ts";
import {
  buildPipelineStats,
  compileOnRadv,
  parsePipelineStats,
  radvSummary,
} from "../tools/radv_null.ts";
import { auditSpirv } from "../tools/spirv.ts";
import { radvSkip, SPIRV_MAIN, spirvModule } from "./helpers_spirv.ts";

const [DESCRIPTOR_SET, BINDING, BLOCK, BUFFER_BLOCK] = [34, 33, 2, 3];
const [UNIFORM_CONSTANT, UNIFORM, STORAGE_BUFFER] = [0, 2, 12];

Deno.test("auditSpirv reads each binding's set, number and Vulkan descriptor type", () => {
  const decorate = (id: number, set: number, binding: number) => [
    [71, id, DESCRIPTOR_SET, set],
    [71, id, BINDING, binding],
  ];
  const audit = auditSpirv(spirvModule([
    ...decorate(4, 0, 1),
    ...decorate(7, 0, 0),
    ...decorate(10, 1, 2),
    ...decorate(14, 0, 3),
    ...decorate(17, 0, 4),
    ...decorate(20, 0, 5),
    [71, 5, BLOCK],
    [71, 8, BUFFER_BLOCK],
    [21, 1, 32, 0], // uint
    [30, 2, 1], // struct { uint }
    [32, 3, STORAGE_BUFFER, 2],
    [59, 3, 4, STORAGE_BUFFER], // storage buffer: 7
    [30, 5, 1],
    [32, 6, UNIFORM, 5],
    [59, 6, 7, UNIFORM], // Block in Uniform: uniform buffer, 6
    [30, 8, 1],
    [32, 9, UNIFORM, 8],
    [59, 9, 10, UNIFORM], // BufferBlock in Uniform (SPIR-V 1.0's storage buffer): 7
    [22, 11, 32], // float
    [25, 12, 11, 1, 0, 0, 0, 1, 0], // 2D image, sampled: 2
    [32, 13, UNIFORM_CONSTANT, 12],
    [59, 13, 14, UNIFORM_CONSTANT],
    [25, 15, 11, 1, 0, 0, 0, 2, 1], // 2D image, storage (rgba32f): 3
    [32, 16, UNIFORM_CONSTANT, 15],
    [59, 16, 17, UNIFORM_CONSTANT],
    [26, 18], // sampler: 0
    [32, 19, UNIFORM_CONSTANT, 18],
    [59, 19, 20, UNIFORM_CONSTANT],
    [59, 3, 21, STORAGE_BUFFER], // no set or binding: not a binding of the layout
  ]));
  assert.deepEqual(audit.bindings, [
    { set: 0, binding: 1, type: 7 },
    { set: 0, binding: 0, type: 6 },
    { set: 1, binding: 2, type: 7 },
    { set: 0, binding: 3, type: 2 },
    { set: 0, binding: 4, type: 3 },
    { set: 0, binding: 5, type: 0 },
  ]);
});

Deno.test("pipeline_stats' output is read per module: statistics, errors; junk is named", () => {
  const { device, results } = parsePipelineStats(
    "device\tNull hardware (RADV NAVI21)\n== a.spv\nVGPRs\t24\nSpilled VGPRs\t0\n" +
      "== b.spv\nerror\tvkCreateComputePipelines: VkResult -3\n== c.spv\n",
  );
  assert.equal(device, "Null hardware (RADV NAVI21)");
  assert.deepEqual(results.get("a.spv"), { stats: { VGPRs: "24", "Spilled VGPRs": "0" } });
  assert.deepEqual(results.get("b.spv"), { error: "vkCreateComputePipelines: VkResult -3" });
  assert.deepEqual(results.get("c.spv"), { stats: {} });
  assert.throws(
    () => parsePipelineStats("device\tx\n== a.spv\nno tab here\n"),
    /line 3: "no tab here" is not "name<TAB>value"/,
  );
  assert.equal(
    radvSummary({
      stats: {
        VGPRs: "256",
        "Spilled VGPRs": "5",
        "Scratch size": "2048",
        "Subgroups per SIMD": "4",
      },
    }),
    "256 VGPRs (5 spilled), scratch 2048 B, 4 waves/SIMD",
  );
  assert.equal(
    radvSummary({ stats: { VGPRs: "24", "Scratch size": "0", "Subgroups per SIMD": "32" } }),
    "24 VGPRs, scratch 0 B, 32 waves/SIMD",
  );
  assert.equal(radvSummary({ error: "boom" }), "error: boom");
  assert.equal(radvSummary(undefined), "-");
});

/**
 * A compute shader a Vulkan 1.1 driver compiles (SPIR-V 1.3): 64 invocations, one storage
 * buffer (set 0, binding 0) it does not touch, an empty body.
 */
const VALID = spirvModule([
  [17, 1], // OpCapability Shader
  [14, 0, 1], // OpMemoryModel Logical GLSL450
  [15, 5, 10, ...SPIRV_MAIN], // OpEntryPoint GLCompute %10 "main"
  [16, 10, 17, 64, 1, 1], // OpExecutionMode LocalSize 64 1 1
  [71, 4, DESCRIPTOR_SET, 0],
  [71, 4, BINDING, 0],
  [71, 2, BLOCK],
  [72, 2, 0, 35, 0], // OpMemberDecorate member 0 Offset 0
  [19, 5], // void
  [33, 6, 5], // fn() -> void
  [21, 1, 32, 0],
  [30, 2, 1],
  [32, 3, STORAGE_BUFFER, 2],
  [59, 3, 4, STORAGE_BUFFER],
  [54, 5, 10, 0, 6], // OpFunction
  [248, 11], // OpLabel
  [253], // OpReturn
  [56], // OpFunctionEnd
], 0x00010300);

const skip = await radvSkip();
Deno.test({
  name: "pipeline_stats compiles a module on RADV's null hardware and reports its registers; " +
    "its compiled code is written with --ir; an unknown family and a driver without the " +
    "extension are refused, named" +
    (skip ? ` (ignored: ${skip})` : ""),
  ignore: skip !== null,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "radv_null_test_" });
    try {
      await Deno.writeFile(`${dir}/ok.spv`, VALID);
      const program = await buildPipelineStats(dir);
      const jobs = [
        { file: "ok.spv", entryPoint: "main", bindings: auditSpirv(VALID).bindings },
        { file: "missing.spv", entryPoint: "main", bindings: [] },
      ];
      const { device, results } = await compileOnRadv(jobs, "navi21", { program, dir, ir: true });
      assert.match(device, /NAVI21/);
      const ok = results.get("ok.spv");
      assert.ok(ok && "stats" in ok, JSON.stringify(ok));
      assert.ok(Number(ok.stats.VGPRs) > 0, JSON.stringify(ok.stats));
      assert.equal(ok.stats["Spilled VGPRs"], "0");
      assert.match(radvSummary(ok), /^\d+ VGPRs, scratch 0 B, \d+ waves\/SIMD$/);
      // --ir: RADV's compiled code beside the module, the assembly ending the program.
      const code = await Deno.readTextFile(`${dir}/ok.spv.navi21.txt`);
      assert.match(code, /^== .*\n[\s\S]*== Assembly\n[\s\S]*s_endpgm/m);
      await assert.rejects(
        () => compileOnRadv(jobs, "navi21; rm", { program, dir }),
        /RADV family "navi21; rm": letters, digits and _ only/,
      );
      const missing = results.get("missing.spv");
      assert.ok(missing && "error" in missing);
      assert.match(missing.error, /cannot read missing\.spv/);
      await assert.rejects(
        () => compileOnRadv(jobs, "navi99", { program, dir }),
        /RADV null hardware for "navi99": exit \d+: .*Unknown family: navi99.*known here: navi21/s,
      );
      const lavapipe = findVulkanDrivers(systemProbe()).found.find((m) => /lvp/.test(m));
      if (lavapipe) {
        await assert.rejects(
          () => compileOnRadv(jobs, "navi21", { program, dir, manifest: lavapipe }),
          /has no VK_KHR_pipeline_executable_properties \(no statistics\)/,
        );
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
