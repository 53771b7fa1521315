/**
 * tools/spirv.ts and tools/spirv_audit.ts: the SPIR-V reader counts loops, wgpu's loop bounds,
 * function-scope arrays and their non-constant accesses (folding integer arithmetic on
 * constants) in hand-assembled modules, and refuses what is not SPIR-V; and, where a Vulkan
 * driver and a C compiler exist, the SPIR-V that wgpu gives the driver for the GPU-class plans
 * indexes no register array at run time, while the same plans with their loops as written do
 * (which is what the unrolling in the source is for, and proves the count can fail).
 */
import assert from "node:assert/strict";
import { auditSpirv } from "../tools/spirv.ts";
import { runTool } from "./helpers_cli.ts";
import {
  type AuditCase,
  auditCases,
  type AuditedModule,
  auditTable,
  buildShim,
  localMemoryLines,
  parseStatistics,
  readDumps,
} from "../tools/spirv_audit.ts";
import { spirvAuditSkip } from "./gpu_helpers.ts";
import { SPIRV_MAIN, spirvModule } from "./helpers_spirv.ts";
import { radvManifest } from "../tools/radv_null.ts";

const spirv = (instructions: number[][]) => spirvModule(instructions);
const MAIN = SPIRV_MAIN;

// Result ids of the declarations below, numbered in order.
const [TYPE_UINT, C4, ARR, PTR_ARR, ACC, V2, CMAX, CMAX2, PTR_V2, BOUND, PTR_U, C1] = Array.from(
  { length: 12 },
  (_, i) => i + 1,
);
const FN = 40;
/** The declarations every module below starts with (the ids above). */
const DECLS = [
  [15, 5, FN, ...MAIN], // OpEntryPoint GLCompute %40 "main"
  [16, FN, 17, 64, 1, 1], // OpExecutionMode %40 LocalSize 64 1 1
  [21, TYPE_UINT, 32, 0], // OpTypeInt 32 unsigned
  [43, TYPE_UINT, C4, 4], // OpConstant 4
  [43, TYPE_UINT, C1, 1], // OpConstant 1
  [28, ARR, TYPE_UINT, C4], // OpTypeArray uint 4
  [32, PTR_ARR, 7, ARR], // OpTypePointer Function array
  [23, V2, TYPE_UINT, 2], // OpTypeVector uint 2
  [43, TYPE_UINT, CMAX, 0xffffffff],
  [44, V2, CMAX2, CMAX, CMAX], // OpConstantComposite (max, max)
  [32, PTR_V2, 7, V2],
  [32, PTR_U, 7, TYPE_UINT],
  [32, 13, 4, ARR], // OpTypePointer Workgroup array
  [59, 13, 14, 4], // OpVariable Workgroup
  [22, 16, 16], // OpTypeFloat 16
  [23, 17, 16, 4], // OpTypeVector f16 x 4
  [28, 18, 17, C4], // OpTypeArray vec4<f16> 4: 8 words
  [32, 19, 7, 18],
  [54, 0, 41, 0, 0], // OpFunction %41: a helper
  [59, 19, 42, 7], // its array: counted, but not as the entry point's words
  [56], // OpFunctionEnd
  [54, 0, FN, 0, 0], // OpFunction %40: the entry point's
  [59, PTR_ARR, ACC, 7], // OpVariable Function array: 4 words
  [59, 19, 43, 7], // OpVariable Function vec4<f16> array: 8 words
];

Deno.test("auditSpirv counts loops, wgpu's bounds, private arrays and runtime indices", () => {
  const audit = auditSpirv(spirv([
    ...DECLS,
    [59, PTR_V2, BOUND, 7, CMAX2], // the loop bound: vec2<u32> from (max, max)
    [59, PTR_V2, 15, 7], // a vec2<u32> without that start: not a bound
    [246, 30, 31, 0], // OpLoopMerge
    [246, 32, 33, 0],
    [65, PTR_U, 20, ACC, C1], // acc[1]: constant
    [132, TYPE_UINT, 21, C1, C4], // 1 * 4
    [128, TYPE_UINT, 22, 21, C1], // + 1
    [12, TYPE_UINT, 23, 99, 38, 22, C4], // UMin(5, 4): naga's clamp
    [65, PTR_U, 24, ACC, 23], // acc[min(1 * 4 + 1, 4)]: folds to a constant
    [61, TYPE_UINT, 25, 20], // OpLoad: a runtime value
    [65, PTR_U, 26, ACC, 25], // acc[loaded]: runtime
    [57, TYPE_UINT, 27, 90, C4], // OpFunctionCall: not folded
    [65, PTR_U, 28, ACC, 27], // acc[call()]: runtime
  ]));
  assert.deepEqual(audit, {
    entryPoints: ["main"],
    workgroupSize: [64, 1, 1],
    loops: 2,
    boundedLoops: 1,
    privateArrays: 3,
    entryArrayWords: 12,
    dynamicPrivateAccesses: 2,
    workgroupVariables: 1,
    bindings: [],
  });
});

Deno.test("auditSpirv: an access through a pointer into a private array counts too", () => {
  const audit = auditSpirv(spirv([
    ...DECLS,
    [61, TYPE_UINT, 25, 14], // a runtime value
    [65, PTR_U, 20, ACC, C1], // a pointer into acc (constant)
    [65, PTR_U, 21, 20, 25], // ... indexed at run time through it
    [65, PTR_U, 22, 14, 25], // the workgroup array at run time: not private
  ]));
  assert.equal(audit.dynamicPrivateAccesses, 1);
});

Deno.test("auditSpirv refuses what is not SPIR-V, saying why", () => {
  assert.throws(() => auditSpirv(new Uint8Array(22)), /22 bytes \(a module is a 5-word header/);
  assert.throws(
    () => auditSpirv(new Uint8Array(new Uint32Array([1, 2, 3, 4, 5]).buffer)),
    /magic 0x1 \(expected 0x07230203/,
  );
  const truncated = spirv([[21, TYPE_UINT, 32, 0]]).slice(0, 24);
  assert.throws(
    () => auditSpirv(truncated),
    /the instruction at word 5 \(opcode 21\) claims 4 words, past the module's 6/,
  );
});

Deno.test("driver statistics and code beside a module are read and tabled; without them, said", async () => {
  // What the shim writes where the driver has VK_KHR_pipeline_executable_properties (no
  // driver on this machine kind has it: lavapipe 22.3 and 25.0 do not), made by hand.
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/0000.spv`, spirv([...DECLS, [246, 30, 31, 0]]));
    await Deno.writeFile(`${dir}/0001.spv`, spirv(DECLS));
    await Deno.writeTextFile(
      `${dir}/0000.stats`,
      "executable\tCompute\nRegister Count\t96\nLocal Memory Size\t256\n" +
        "executable\tSecond\nRegister Count\t1\n",
    );
    await Deno.writeTextFile(
      `${dir}/0000.ir`,
      "== SASS\n  LDL.128 R4, [R1+0x10] ;\n  STL [R1], R0 ;\n  FFMA R0, R1, R2, R3 ;\n",
    );
    const cases: AuditCase[] = [
      { label: "one", backend: "b", dtype: "f32", shape: "decode", form: "rolled" },
      { label: "two", backend: "b", dtype: "f16", shape: "decode", form: "unrolled" },
    ];
    const { modules, skipped } = await readDumps(dir, [
      { index: 0, files: ["0000.spv", "0001.spv"] },
      { index: 1, files: [], skipped: "the adapter has no shader-f16" },
    ], cases);
    assert.deepEqual(skipped, ["two (unrolled): the adapter has no shader-f16"]);
    assert.deepEqual(modules.map((m) => [m.file, m.loops, m.driverStatistics, m.driverCode]), [
      ["0000.spv", 1, { "Register Count": "96", "Local Memory Size": "256" }, {
        bytes: 75,
        localMemoryLines: 2,
      }],
      ["0001.spv", 0, null, null],
    ]);
    const table = auditTable(modules);
    assert.match(table, /driver statistics \| driver code: local-memory lines \(bytes\) \|/);
    assert.match(
      table,
      /\| one \| rolled \| main \| 1 \| 0 \| 3 \(12\) \| 0 \| Register Count 96; Local Memory Size 256 \| 2 \(75\) \|/,
    );
    // A module the driver gave nothing for: empty cells, not another module's figures.
    assert.match(table, /\| one \| rolled \| main \| 0 \| 0 \| 3 \(12\) \| 0 \| {2}\| - \|$/m);
    assert.doesNotMatch(table, /No driver statistics/);
    const bare = auditTable([{ ...modules[0], driverStatistics: null, driverCode: null }]);
    assert.doesNotMatch(bare, /driver statistics \|/);
    assert.match(
      bare,
      /No driver statistics: the driver offers no VK_KHR_pipeline_executable_properties/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parseStatistics and localMemoryLines: the first executable's; bad lines named", () => {
  assert.deepEqual(parseStatistics("executable\tA\nx\t1\n\nexecutable\tB\nx\t2\n"), { x: "1" });
  assert.throws(() => parseStatistics("executable\tA\nno tab here"), /line 2: "no tab here"/);
  assert.equal(localMemoryLines("ld.local.f32 %f1, [x];\nld.global.f32 %f2, [y];\nHLDL\n"), 1);
});

Deno.test("buildShim with a prebuilt library: a manifest naming it; a missing one named", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const lib = `${dir}/prebuilt.so`;
    await Deno.writeFile(lib, new Uint8Array(4));
    const icd = JSON.parse(await Deno.readTextFile(await buildShim(dir, lib)));
    assert.equal(icd.ICD.library_path, await Deno.realPath(lib));
    await assert.rejects(
      () => buildShim(dir, `${dir}/none.so`),
      /--shim .*none\.so: no such file \(a library built from .*icd_shim\.c\)/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("spirv_audit's command line: a bad option is exit 2 with the usage; a bad path exit 1, named", async () => {
  const bad = await runTool("spirv_audit.ts", ["--bogus"]);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(
    bad.stderr,
    /Unknown option '--bogus'[\s\S]*usage: deno run -A tools\/spirv_audit\.ts/,
  );
  const shim = await runTool("spirv_audit.ts", ["--shim", "/nonexistent/shim.so"]);
  assert.equal(shim.code, 1, shim.stderr);
  assert.match(shim.stderr, /^spirv_audit: --shim \/nonexistent\/shim\.so: no such file/m);
  // One backend's case: a bad id, a lone case option and a bad value are exit 2, named.
  const unknown = await runTool("spirv_audit.ts", ["--backend", "nope"]);
  assert.equal(unknown.code, 2, unknown.stderr);
  assert.match(
    unknown.stderr,
    /--backend nope: not a registered backend; registered: wgsl-absorbed, .*--backend-module/,
  );
  const lone = await runTool("spirv_audit.ts", ["--preset", "tiny"]);
  assert.equal(lone.code, 2);
  assert.match(lone.stderr, /--preset selects a case of --backend ID: give --backend too/);
  const dtype = await runTool("spirv_audit.ts", ["--backend", "wgsl-absorbed", "--dtype", "f64"]);
  assert.equal(dtype.code, 2);
  assert.match(dtype.stderr, /--dtype f64: expected one of f32, f16/);
  const module = await runTool("spirv_audit.ts", ["--backend-module", "/nonexistent.ts", "-h"]);
  assert.equal(module.code, 0, "--help wins");
  const missing = await runTool("spirv_audit.ts", [
    "--backend-module",
    "/nonexistent/mod.ts",
    "--backend",
    "x",
  ]);
  assert.equal(missing.code, 2, missing.stderr);
  assert.match(missing.stderr, /nonexistent\/mod\.ts: not a backend module/);
  const radvIr = await runTool("spirv_audit.ts", ["--radv-ir"]);
  assert.equal(radvIr.code, 1, radvIr.stderr);
  assert.match(radvIr.stderr, /^spirv_audit: --radv-ir writes beside the kept modules/m);
  const radv = await runTool("spirv_audit.ts", ["--radv", ","]);
  assert.equal(radv.code, 1, radv.stderr);
  assert.match(radv.stderr, /^spirv_audit: --radv ",": no family named/m);
  const help = await runTool("spirv_audit.ts", ["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--cached-only/);
  assert.match(help.stdout, /--radv FAMILIES/);
});

const AUDITED: AuditCase[] = [
  ...(["unrolled", "rolled"] as const).flatMap((form) => [
    {
      label: "absorbed decode",
      backend: "wgsl-absorbed-tiled",
      dtype: "f32" as const,
      shape: "decode" as const,
      form,
    },
    {
      label: "expanded prefill",
      backend: "wgsl-expanded-tiled",
      dtype: "f32" as const,
      shape: "prefill" as const,
      form,
    },
  ]),
  // 32 rows a workgroup (DeepSeek-V3): the tiled decode's largest register share.
  {
    label: "absorbed decode, DeepSeek-V3",
    backend: "wgsl-absorbed-tiled",
    dtype: "f32",
    shape: "decode",
    form: "unrolled",
    preset: "deepseek-v3",
  },
  // The cpu-class choices: the gemm kernels keep their accumulators as named variables, not
  // arrays (lavapipe's speed rests on it: absorbed_gemm.wgsl, session 7).
  {
    label: "gemm decode",
    backend: "wgsl-absorbed-gemm",
    dtype: "f32",
    shape: "decode",
    form: "cpu-class",
  },
  {
    label: "gemm prefill",
    backend: "wgsl-expanded-gemm",
    dtype: "f32",
    shape: "prefill",
    form: "cpu-class",
  },
];

const skip = await spirvAuditSkip();
Deno.test({
  name: "spirv_audit: the GPU-class plans' SPIR-V indexes no register array at run time; " +
    "the same plans with their loops as written do; the gemm kernels keep no arrays" +
    (skip ? ` (ignored: ${skip})` : ""),
  ignore: skip !== null,
  fn: async () => {
    // Mesa installs drivers for hardware this machine lacks (intel, radeon): the audit passes
    // over those to the one that gives an adapter.
    // Where Mesa's RADV is installed, every module is also compiled for an AMD GPU on its
    // null hardware (tools/radv_null.ts).
    const radv = radvManifest() !== null ? ["navi21"] : [];
    const { driver, modules, skipped, radvDevices } = await auditCases(AUDITED, { radv });
    assert.match(driver, /\.so(\.\d+)*$/);
    assert.deepEqual(skipped, []);
    if (radv.length > 0) {
      assert.match(radvDevices.navi21, /NAVI21/);
      for (const m of modules) {
        const r = m.radv.navi21;
        assert.ok(r && "stats" in r, `${m.file} ${m.entryPoints}: ${JSON.stringify(r)}`);
      }
      assert.match(auditTable(modules), /\| RADV navi21 \(null hardware\) \|/);
      // A GPU compiler keeps the GPU-class kernels in registers: no spill, no scratch (the
      // tiled decode at 128 invocations, 18 q vec4s and 16 accumulator vec4s each, spilled:
      // adapter/tiled_plan.ts TILED_MAX_Q_VEC4).
      for (const m of modules.filter((m) => m.form === "unrolled")) {
        const r = m.radv.navi21;
        assert.ok(r && "stats" in r);
        assert.equal(r.stats["Spilled VGPRs"], "0", `${m.entryPoints}: ${auditTable(modules)}`);
        assert.equal(r.stats["Scratch size"], "0", `${m.entryPoints}: ${auditTable(modules)}`);
      }
    }
    const of = (form: string, entry: string) => {
      const m = modules.find((m) => m.form === form && m.entryPoints.includes(entry));
      assert.ok(m, `${form} ${entry}: compiled (${auditTable(modules)})`);
      return m;
    };
    // Each module once, under the first case that compiled it: the shared kernels of the
    // unrolled decode (the split query absorption and up-projection of gpu-class plans,
    // combine) come with it.
    const gemm = modules.filter((m) =>
      m.form === "cpu-class" &&
      ["scores", "softmax", "values"].some((e) => m.entryPoints.includes(e))
    );
    assert.equal(gemm.length, 5, auditTable(modules)); // absorbed: 3 passes; expanded: 2 new
    for (const m of gemm) assert.equal(m.privateArrays, 0, `${m.label} ${m.entryPoints}`);
    const unrolled = modules.filter((m) => m.form === "unrolled");
    for (
      const entry of [
        "absorbed_tiled",
        "expanded_fa2",
        "absorb_q_split",
        "up_proj_split",
        "combine",
      ]
    ) {
      of("unrolled", entry);
    }
    for (const m of unrolled) {
      assert.equal(m.dynamicPrivateAccesses, 0, `${m.entryPoints}: ${auditTable(modules)}`);
    }
    for (const entry of ["absorbed_tiled", "expanded_fa2"]) {
      const rolled = of("rolled", entry);
      // wgpu's loop bound is on every loop of this Deno's SPIR-V: the reason for unrolling.
      assert.ok(rolled.loops > 0 && rolled.boundedLoops === rolled.loops, auditTable(modules));
      assert.ok(rolled.dynamicPrivateAccesses > 0, `${entry} rolled: ${auditTable(modules)}`);
      assert.ok(of("unrolled", entry).loops < rolled.loops, auditTable(modules));
      assert.ok(of("unrolled", entry).privateArrays > 0, "the register arrays are still there");
    }
  },
});

Deno.test({
  name: "spirv_audit --backend: a user backend's plan (examples/backends/naive) is audited, " +
    "with RADV's registers where RADV is installed" + (skip ? ` (ignored: ${skip})` : ""),
  ignore: skip !== null,
  fn: async () => {
    const args = [
      "--backend-module",
      "examples/backends/naive/mod.ts",
      "--backend",
      "naive",
      "--preset",
      "tiny",
      "--json",
      ...(radvManifest() === null ? ["--radv", "none"] : ["--radv", "navi21"]),
    ];
    const r = await runTool("spirv_audit.ts", args);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { modules: AuditedModule[] };
    const naive = out.modules.find((m) => m.entryPoints.includes("naive"));
    assert.ok(naive, r.stdout);
    assert.equal(naive.label, "naive decode f32 (tiny)");
    assert.equal(naive.form, "gpu-class");
    if (radvManifest() !== null) {
      const stats = naive.radv.navi21;
      assert.ok(stats && "stats" in stats && Number(stats.stats.VGPRs) > 0, JSON.stringify(stats));
    }
  },
});
