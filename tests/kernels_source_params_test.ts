/**
 * kernels/source.ts: a harness kernel takes every `// @param` from its launcher (allParams),
 * and the 1-D kernels size their workgroups and fold their grids by the one `WG` the host's
 * grid1d divides by (LINEAR_WORKGROUP). GPU-free: reads the shipped WGSL.
 */
import assert from "node:assert/strict";
import { declaredParams, loadKernel, specializeSource } from "../kernels/source.ts";
import { grid1d, LINEAR_WORKGROUP } from "../gpu/dispatch.ts";

const KERNELS = new URL("../kernels/", import.meta.url);

Deno.test("loadKernel with allParams names every @param the launcher left out", async () => {
  await assert.rejects(
    loadKernel("absorb_q.wgsl", { dtype: "f32", params: { TR: 4 }, allParams: true }),
    /kernel absorb_q.wgsl declares \/\/ @param TC, WG, WRPT, which its launcher did not pass/,
  );
  const src = await loadKernel("absorb_q.wgsl", {
    dtype: "f32",
    params: { TR: 4, TC: 4, WRPT: 1, WG: 32 },
    allParams: true,
  });
  assert.match(src.code, /^const WG: u32 = 32u; \/\/ @param/m);
  // Without allParams (a user backend's own file through the kit's compile) defaults stand.
  await loadKernel("absorb_q.wgsl", { dtype: "f32" });
});

Deno.test("a @param the harness cannot set names the file and the line, or what is declared", () => {
  // each said only "kernel parameter N is not declared with // @param", naming no file, also
  // of a line marked // @param in another form than the one replaced
  const code = (line: string) => `${line}\nconst K: u32 = 2u; // @param\n`;
  for (const line of ["const N = 4u; // @param", "const N: u32 = 4; // @param"]) {
    assert.throws(
      () => specializeSource(code(line), { dtype: "f32", params: { N: 3 }, fileName: "k.wgsl" }),
      new RegExp(
        `^Error: k\\.wgsl: kernel parameter N: its line \`${line}\` is not of the form ` +
          "`const N: u32 = <digits>u; // @param` \\(a u32 constant whose value is a literal " +
          "with the u suffix, then the marker\\), so the harness cannot set it$",
      ),
    );
  }
  assert.throws(
    () =>
      specializeSource(code("const N: u32 = 4u; // @param"), {
        dtype: "f32",
        params: { M: 3 },
        fileName: "k.wgsl",
      }),
    /^Error: k\.wgsl: kernel parameter M is not declared with \/\/ @param \(declare it as `const M: u32 = <digits>u; \/\/ @param`; the source's parameters: N, K\)$/,
  );
  assert.throws(
    () => specializeSource(code(""), { dtype: "f32", params: { K: 1.5 }, fileName: "k.wgsl" }),
    /^RangeError: k\.wgsl: kernel parameter K = 1\.5 must be a non-negative integer$/,
  );
});

Deno.test("a kernel that folds its grid by a workgroup size declares it as the WG @param", async () => {
  let folded = 0;
  for await (const e of Deno.readDir(KERNELS)) {
    if (!e.name.endsWith(".wgsl")) continue;
    const src = await Deno.readTextFile(new URL(e.name, KERNELS));
    const code = src.split("\n").filter((l) => !l.trimStart().startsWith("//")).join("\n");
    for (const m of code.matchAll(/nwg\.x \* (\w+)/g)) {
      folded++;
      assert.equal(m[1], "WG", `${e.name} folds by ${m[1]}: use the WG @param`);
      assert.ok(declaredParams(src).includes("WG"), `${e.name} declares WG as a @param`);
      assert.match(code, /@workgroup_size\(WG\)/, `${e.name}'s workgroups are WG wide`);
    }
  }
  assert.ok(folded >= 8, `the 1-D kernels were found (${folded})`);
  assert.deepEqual(grid1d(LINEAR_WORKGROUP * 3 + 1), [4, 1], "grid1d divides by LINEAR_WORKGROUP");
});
