/**
 * tools/wgsl_compile_time.ts: its command-line errors (exit 2, naming what is wrong, before
 * any GPU work), a kernel that does not compile (exit 1 with the compiler's message), and a
 * timed compile of a small kernel on this machine's adapter.
 */
import assert from "node:assert/strict";
import { HAS_ADAPTER, nameWithReason } from "./gpu_helpers.ts";
import { runTool } from "./helpers_cli.ts";

const KERNELS = new URL("../kernels/", import.meta.url).pathname;

/** Runs the tool; its exit code, stdout and stderr. */
function tool(args: string[]) {
  return runTool("wgsl_compile_time.ts", args);
}

Deno.test("wgsl_compile_time: bad command lines are exit 2 and say what is wrong", async () => {
  const absorbed = `${KERNELS}absorbed.wgsl`;
  const cases: [string[], RegExp][] = [
    [[], /give exactly one kernel file/],
    [[absorbed], /--entry is required/],
    [[absorbed, "--entry", "absorbed", "--dtype", "f64"], /--dtype f64: must be f32 or f16/],
    [[absorbed, "--entry", "absorbed", "--param", "QT=-1"], /--param QT=-1: must be NAME=value/],
    [[absorbed, "--entry", "absorbed", "--param", "NOPE=1"], /NOPE is not declared/],
    [["/no/such/file.wgsl", "--entry", "x"], /cannot read \/no\/such\/file\.wgsl/],
    // expanded.wgsl with `tex` binds K and V as textures: not a buffer binding.
    [
      [`${KERNELS}expanded.wgsl`, "--entry", "expanded", "--switch", "tex"],
      /binding 2 is not a buffer/,
    ],
    [[absorbed, "--entry", "absorbed", "--bogus"], /Unknown option '--bogus'/],
  ];
  for (const [args, message] of cases) {
    const r = await tool(args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.match(r.stderr, /^usage: /m);
    assert.equal(r.stdout, "");
  }
});

Deno.test({
  name: nameWithReason(
    "wgsl_compile_time: times a compile and dispatch; a failing const_assert is exit 1",
    HAS_ADAPTER ? null : "no WebGPU adapter",
  ),
  ignore: !HAS_ADAPTER,
  fn: async () => {
    const combine = `${KERNELS}combine.wgsl`;
    const ok = await tool([combine, "--entry", "combine"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^.*combine\.wgsl combine f32: \d+\.\d s\n$/);
    // absorbed.wgsl asserts BLOCK == 16 for decode tiles: BLOCK=4 with QT=1 must not compile.
    const bad = await tool([
      `${KERNELS}absorbed.wgsl`,
      "--entry",
      "absorbed",
      "--param",
      "BLOCK=4",
    ]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /absorbed\.wgsl: .*const_assert/s);
    assert.equal(bad.stdout, "");
  },
});

Deno.test({
  name: nameWithReason(
    "wgsl_compile_time: a compile error in an included part names the part, its line and the include",
    HAS_ADAPTER ? null : "no WebGPU adapter",
  ),
  ignore: !HAS_ADAPTER,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "wgsl_compile_time_part_" });
    try {
      await Deno.writeTextFile(
        `${dir}/k.wgsl`,
        "@compute @workgroup_size(1) fn main() { _ = helper(); }\n// @include p.wgsl\n",
      );
      await Deno.writeTextFile(
        `${dir}/p.wgsl`,
        "// a part\nfn helper() -> u32 { return not_declared; }\n",
      );
      const r = await tool([`${dir}/k.wgsl`, "--entry", "main"]);
      assert.equal(r.code, 1, r.stderr);
      // The part's own line 2, not the line of the expanded module (4).
      assert.match(r.stderr, /p\.wgsl:2:\d+: error: .*not_declared.*\(included by \S*k\.wgsl:2\)/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("wgsl_compile_time --dtype f16 on an adapter without shader-f16 names the adapter, not its device id", async () => {
  // the GL fallback (llvmpipe through GL) has no shader-f16; its device id is "0"
  const r = await runTool(
    "wgsl_compile_time.ts",
    [`${KERNELS}rope.wgsl`, "--entry", "main", "--dtype", "f16"],
    { DENO_WEBGPU_BACKEND: "gl" },
  );
  if (!r.stderr.includes("no shader-f16")) return; // no GL adapter, or one with f16
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^adapter \S.*\S: no shader-f16 \(--dtype f16 needs it\)\n$/);
  assert.doesNotMatch(r.stderr, /^adapter \d+: /, "a name, not a device id");
});
