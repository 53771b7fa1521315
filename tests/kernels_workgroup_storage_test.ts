/**
 * kernels/workgroup_storage.ts sizes an entry point's workgroup memory as WebGPU counts it
 * against maxComputeWorkgroupStorageSize (WGSL's size and alignment rules, each variable
 * rounded up to 16): Deno's wgpu does not check that limit, so `kit.compile` refuses a user
 * kernel over it by this count. What it cannot size is unknown (null), never a guess.
 */
import assert from "node:assert/strict";
import { workgroupStorageBytes } from "../kernels/workgroup_storage.ts";

const entry = (body: string) => `@compute @workgroup_size(64)\nfn main() { ${body} }`;

Deno.test("scalars, vectors, matrices, atomics, arrays and structs by WGSL's layout rules", () => {
  const code = [
    "const N: u32 = 8u;",
    "const M: u32 = max(N, 3u) * 2u - (N / 4u);", // 14
    "alias v3 = vec3<f32>;",
    "struct S { a: f32, b: v3, }", // b at 16, 28 bytes, align 16: 32
    "var<workgroup> a: array<vec4<f32>, N>;", // 128
    "var<workgroup> b: array<S, 2>;", // 64
    "var<workgroup> c: mat3x3<f32>;", // 3 columns of 16: 48
    "var<workgroup> d: array<vec2h, M>;", // 14 x 4 = 56, rounded to 64
    "var<workgroup> e: atomic<u32>;", // 4, rounded to 16
    "var<workgroup> f: array<array<f32, 3>, 2>;", // 24, rounded to 32
    entry("a[0].x = b[0].a + c[0].x + f32(d[0].x) + f32(atomicLoad(&e)) + f[0][0];"),
  ].join("\n");
  assert.deepEqual(workgroupStorageBytes(code, "main"), {
    bytes: 128 + 64 + 48 + 64 + 16 + 32,
    vars: [
      { name: "a", bytes: 128 },
      { name: "b", bytes: 64 },
      { name: "c", bytes: 48 },
      { name: "d", bytes: 56 },
      { name: "e", bytes: 4 },
      { name: "f", bytes: 24 },
    ],
  });
});

Deno.test("only what the entry point uses, directly or through what it calls", () => {
  const code = [
    "var<workgroup> mine: array<f32, 16>;",
    "var<workgroup> theirs: array<f32, 100000>;",
    "var<workgroup> helper_s: array<f32, 4>;",
    "// var<workgroup> commented: array<f32, 100000>;",
    "fn helper() { helper_s[0] = 1.0; }",
    "@compute @workgroup_size(1) fn other() { theirs[0] = 1.0; }",
    entry("mine[0] = 1.0; helper();"),
  ].join("\n");
  assert.deepEqual(workgroupStorageBytes(code, "main"), {
    bytes: 64 + 16,
    vars: [{ name: "mine", bytes: 64 }, { name: "helper_s", bytes: 16 }],
  });
  assert.equal(workgroupStorageBytes(code, "other")?.bytes, 400000);
  assert.equal(workgroupStorageBytes(code, "absent"), null);
});

Deno.test("what it cannot size is unknown (null), not a guess", () => {
  for (
    const decl of [
      "override N: u32 = 8u;\nvar<workgroup> s: array<f32, N>;", // the pipeline may set it
      "struct S { @size(32) a: f32, }\nvar<workgroup> s: S;",
      "var<workgroup> s: array<Unknown, 4>;",
      "var<workgroup> s: array<f32, N>;", // N declared nowhere
    ]
  ) {
    assert.equal(workgroupStorageBytes(`${decl}\n${entry("s;")}`, "main"), null, decl);
  }
});

Deno.test("the bundled kernels that declare workgroup memory are sized", async () => {
  // their defaults (the @param lines as written): sized, and within the 32 KiB tier
  for (
    const [file, entryPoint] of [
      ["absorbed_tiled.wgsl", "absorbed_tiled"],
      ["expanded_fa2.wgsl", "expanded_fa2"],
      ["rmsnorm.wgsl", "rmsnorm"],
      ["up_proj_split.wgsl", "up_proj_split"],
    ]
  ) {
    const code = await Deno.readTextFile(new URL(`../kernels/${file}`, import.meta.url));
    const use = workgroupStorageBytes(code, entryPoint);
    assert.ok(use !== null && use.bytes > 0 && use.bytes <= 32768, `${file}: ${use?.bytes}`);
  }
});
