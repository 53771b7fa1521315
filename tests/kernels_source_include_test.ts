/**
 * kernels/source.ts `// @include`: a part's text is appended after the including file's own
 * lines (which keep their numbers), specialization reaches inside it, compiler diagnostics in
 * it name the part and its line, and a missing part, a cycle, a part included twice, a part
 * with an enable line, and a part whose `// @param`s the include does not list are errors
 * naming the files. The shipped parts are in their backends' file lists and in the page's
 * bundle, and `compile` checks them only inside their includers.
 */
import assert from "node:assert/strict";
import { BUNDLED_KERNEL_FILES } from "../adapter/backends.ts";
import { wgslTexts } from "../browser/bundle.ts";
import { formatDiagnostic, ShaderCompileError } from "../gpu/errors.ts";
import { compileShader, mapDiagnostics } from "../gpu/shader.ts";
import { bundledKernels, checkSourceText } from "../kernels/compile_check.ts";
import {
  declaredParams,
  expandIncludes,
  includeDirectives,
  kernelIncludes,
  loadKernel,
  readKernelFile,
} from "../kernels/source.ts";
import { gpu, gpuTest } from "./gpu_helpers.ts";

/** A reader over in-memory parts; a name it lacks rejects as the file system would. */
function parts(texts: Record<string, string>): (name: string) => Promise<string> {
  return (name) =>
    Object.hasOwn(texts, name)
      ? Promise.resolve(texts[name])
      : Promise.reject(new Deno.errors.NotFound(`No such file: kernels/${name}`));
}

const KERNEL = "// @enable-f16\n// @include p.wgsl\nconst A: u32 = 1u; // @param\n";

Deno.test("an include appends the part after the file's own lines, behind a marker", async () => {
  const text = await expandIncludes(
    "k.wgsl",
    KERNEL,
    parts({ "p.wgsl": "// @include q.wgsl\nfn p() {}\n", "q.wgsl": "fn q() {}\n" }),
  );
  const lines = text.split("\n");
  assert.deepEqual(lines.slice(0, 3), KERNEL.split("\n").slice(0, 3), "own lines unmoved");
  assert.deepEqual(lines.slice(3), [
    "// @included p.wgsl from k.wgsl:2",
    "// @include q.wgsl",
    "fn p() {}",
    "// @included q.wgsl from p.wgsl:1",
    "fn q() {}",
    "",
  ]);
});

Deno.test("a missing part, a cycle, a second include and a malformed line name the files", async () => {
  await assert.rejects(
    expandIncludes("k.wgsl", KERNEL, parts({})),
    /k\.wgsl:2: cannot read the included file p\.wgsl: No such file: kernels\/p\.wgsl/,
  );
  await assert.rejects(
    expandIncludes(
      "k.wgsl",
      KERNEL,
      parts({ "p.wgsl": "// @include q.wgsl\n", "q.wgsl": "// @include p.wgsl\n" }),
    ),
    /q\.wgsl:1: include cycle: k\.wgsl -> p\.wgsl -> q\.wgsl -> p\.wgsl/,
  );
  await assert.rejects(
    expandIncludes("k.wgsl", "// @include k.wgsl\n", parts({ "k.wgsl": "" })),
    /k\.wgsl:1: include cycle: k\.wgsl -> k\.wgsl/,
  );
  await assert.rejects(
    expandIncludes(
      "k.wgsl",
      "// @include p.wgsl\n// @include q.wgsl\n",
      parts({ "p.wgsl": "fn p() {}\n", "q.wgsl": "// @include p.wgsl\n" }),
    ),
    /q\.wgsl:1: p\.wgsl is included a second time \(first by k\.wgsl:1\)/,
  );
  assert.throws(
    () => includeDirectives("k.wgsl", "fn f() {}\n  // @include p.wgsl, q.wgsl\n"),
    /k\.wgsl:2: " {2}\/\/ @include p\.wgsl, q\.wgsl" is not an include/,
  );
  // other blanks after // (or none): it was no directive and no error, the part left out
  for (const line of ["//   @include p.wgsl", "//@include p.wgsl", "//\t@include p.wgsl"]) {
    assert.throws(
      () => includeDirectives("k.wgsl", `fn f() {}\n${line}\n`),
      /k\.wgsl:2: ".*@include p\.wgsl" is not an include: write `\/\/ @include part\.wgsl`/,
      JSON.stringify(line),
    );
  }
  await assert.rejects(
    expandIncludes("k.wgsl", KERNEL, parts({ "p.wgsl": "// @enable-f16\nfn p() {}\n" })),
    /p\.wgsl, included by k\.wgsl:2, has a line "\/\/ @enable-f16".*only the including kernel \(k\.wgsl\)/,
  );
});

Deno.test("an include lists exactly the @params its part declares", async () => {
  const part = { "p.wgsl": "const W: u32 = 1u; // @param\nconst V: u32 = 2u; // @param\n" };
  await assert.rejects(
    expandIncludes("k.wgsl", KERNEL, parts(part)),
    /k\.wgsl:2: p\.wgsl declares \/\/ @param W, V, which the include does not name.*`\/\/ @include p\.wgsl params: W, V`/,
  );
  await assert.rejects(
    expandIncludes("k.wgsl", "// @include p.wgsl params: W\n", parts(part)),
    /k\.wgsl:1: p\.wgsl declares \/\/ @param V, which the include does not name/,
  );
  await assert.rejects(
    expandIncludes("k.wgsl", "// @include p.wgsl params: W, V, U\n", parts(part)),
    /k\.wgsl:1: p\.wgsl does not declare \/\/ @param U, which the include names/,
  );
  // A part's own part's parameters count as the part's.
  await assert.rejects(
    expandIncludes(
      "k.wgsl",
      "// @include q.wgsl\n",
      parts({ ...part, "q.wgsl": "// @include p.wgsl params: W, V\n" }),
    ),
    /k\.wgsl:1: q\.wgsl declares \/\/ @param W, V/,
  );
  const text = await expandIncludes("k.wgsl", "// @include p.wgsl params: W, V\n", parts(part));
  assert.deepEqual(declaredParams(text), ["W", "V"]);
});

Deno.test("the shipped kernels' parts: specialized inside, and their @params passed", async () => {
  for (
    const file of ["absorb_q.wgsl", "absorb_q_split.wgsl", "up_proj.wgsl", "up_proj_split.wgsl"]
  ) {
    assert.deepEqual(await kernelIncludes(file), [
      file.startsWith("absorb") ? "absorb_q_io.wgsl" : "up_proj_io.wgsl",
      "w_kv_b_rows.wgsl",
    ]);
    assert.ok(declaredParams(await readKernelFile(file)).includes("WRPT"), file);
  }
  const { code } = await loadKernel("absorb_q.wgsl", {
    dtype: "f16",
    params: { WRPT: 7 },
    switches: ["tex"],
  });
  assert.match(code, /^enable f16;/);
  assert.match(code, /^alias store_t = f16; \/\/ @dtype/m, "the part's dtype alias");
  assert.match(code, /^const WRPT: u32 = 7u; \/\/ @param/m, "the part's @param");
  assert.match(
    code,
    /^@group\(0\) @binding\(2\) var w_tex: texture_storage_2d<rgba16float, read>;/m,
  );
  assert.match(code, /^ {2}return vec2<u32>\(\(row % WRPT\)/m, "the part's @tex line in");
  assert.match(code, /^\/\/ @group\(0\) @binding\(2\) var<storage, read> w_kv_b/m, "@notex out");
  for (const file of ["absorbed_gemm.wgsl", "expanded_gemm.wgsl"]) {
    assert.deepEqual(await kernelIncludes(file), ["gemm_common.wgsl"]);
  }
});

Deno.test("a diagnostic in an included part names the part, its line and the include", () => {
  const code = "// @include p.wgsl\nfn k() {}\n// @included p.wgsl from k.wgsl:1\n\nlet x = y;\n";
  const [inPart] = mapDiagnostics({ fileName: "k.wgsl", code }, [
    { type: "error", lineNum: 5, linePos: 9, offset: 0, length: 1, message: "unknown y" },
  ]);
  assert.deepEqual(
    { file: inPart.file, line: inPart.line, from: inPart.includedFrom, src: inPart.sourceLine },
    { file: "p.wgsl", line: 2, from: "k.wgsl:1", src: "let x = y;" },
  );
  const [own] = mapDiagnostics({ fileName: "k.wgsl", code }, [
    { type: "error", lineNum: 2, linePos: 1, offset: 0, length: 1, message: "bad" },
  ]);
  assert.deepEqual([own.file, own.line, own.includedFrom], ["k.wgsl", 2, undefined]);
});

gpuTest("compiling a kernel whose part has an error names the part's file and line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/k.wgsl`,
      "// @include p.wgsl\n@compute @workgroup_size(1)\nfn k() { _ = p(); }\n",
    );
    await Deno.writeTextFile(`${dir}/p.wgsl`, "// a part\nfn p() -> u32 {\n  return nope;\n}\n");
    const code = await checkSourceText(`${dir}/k.wgsl`, { bundled: false });
    const e = await compileShader((await gpu()).device, { fileName: "k.wgsl", code }).then(
      () => null,
      (err: unknown) => err,
    );
    assert.ok(e instanceof ShaderCompileError, String(e));
    assert.match(
      e.message,
      /^p\.wgsl:3:\d+: error: .* \(included by \S*\/k\.wgsl:1\)\n3 \| {3}return nope;/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("every part a bundled backend's file includes is in its file list", async () => {
  for (const [id, files] of Object.entries(BUNDLED_KERNEL_FILES)) {
    for (const file of files) {
      for (const part of await kernelIncludes(file)) {
        assert.ok(files.includes(part), `${id}: ${file} includes ${part}, not in its list`);
      }
    }
  }
});

Deno.test("the parts travel in the page's bundle and compile only inside their includers", async () => {
  const texts = await wgslTexts();
  const kernels = await bundledKernels();
  for (
    const part of ["absorb_q_io.wgsl", "up_proj_io.wgsl", "w_kv_b_rows.wgsl", "gemm_common.wgsl"]
  ) {
    assert.ok(part in texts, `${part} in the bundle`);
    assert.ok(!kernels.includes(part), `${part} is not compiled on its own`);
  }
  assert.ok(kernels.includes("absorb_q.wgsl") && kernels.includes("expanded_gemm.wgsl"));
});

Deno.test("a diagnostic's caret stands under the error on a tab-indented line", () => {
  const d = {
    type: "error",
    file: "t.wgsl",
    line: 3,
    column: 11,
    message: "no definition in scope for identifier: `nope`",
    sourceLine: "\t\tlet y = nope;",
  };
  // the tabs kept: the caret under `nope` as a terminal or editor shows the line
  assert.equal(formatDiagnostic(d).split("\n")[2], "    \t\t        ^");
  // a column past the line's end (a missing `;` at its end) still gets its caret
  assert.equal(formatDiagnostic({ ...d, column: 17 }).split("\n")[2], "    \t\t              ^");
});

Deno.test("a diagnostic in a part of a file in a folder names the part by that folder", () => {
  // parts are read from the includer's folder: "p.wgsl:2:9" beside "src/k.wgsl" named no
  // file one could open from where compile ran
  const code = "// @include p.wgsl\nfn k() {}\n// @included p.wgsl from src/k.wgsl:1\n" +
    "// @include q.wgsl\nfn p() {}\n// @included q.wgsl from p.wgsl:1\nlet x = y;\n";
  const [inPart] = mapDiagnostics({ fileName: "src/k.wgsl", code }, [
    { type: "error", lineNum: 7, linePos: 9, offset: 0, length: 1, message: "unknown y" },
  ]);
  assert.deepEqual(
    [inPart.file, inPart.line, inPart.includedFrom],
    ["src/q.wgsl", 1, "src/p.wgsl:1"],
  );
  assert.match(
    formatDiagnostic(inPart),
    /^src\/q\.wgsl:1:9: error: unknown y \(included by src\/p\.wgsl:1\)\n/,
  );
});

Deno.test("a diagnostic's source line of a CRLF file has no carriage return", () => {
  const code = "@compute @workgroup_size(1)\r\nfn main() {\r\n  let y = nope;\r\n}\r\n";
  const [d] = mapDiagnostics({ fileName: "crlf.wgsl", code }, [
    { type: "error", lineNum: 3, linePos: 11, offset: 0, length: 4, message: "unknown nope" },
  ]);
  assert.equal(d.sourceLine, "  let y = nope;");
  assert.equal(formatDiagnostic(d).split("\n")[1], "3 |   let y = nope;");
});

Deno.test("an error at a byte order mark says what the invisible character is", () => {
  const code = "\uFEFF@compute @workgroup_size(1)\nfn main() {}\n";
  const [d] = mapDiagnostics({ fileName: "bom.wgsl", code }, [{
    type: "error",
    lineNum: 1,
    linePos: 1,
    offset: 0,
    length: 3,
    message: 'expected global item (`struct`, ...) or the end of the file, found "\\u{feff}"',
  }]);
  assert.match(
    d.message,
    /found "\\u\{feff\}" \(a byte order mark, U\+FEFF, which WGSL compilers reject/,
  );
  const [other] = mapDiagnostics({ fileName: "a.wgsl", code: "let x = y;" }, [
    { type: "error", lineNum: 1, linePos: 9, offset: 8, length: 1, message: "unknown y" },
  ]);
  assert.equal(other.message, "unknown y");
});

Deno.test("a barrier finding in a part of a file in a folder names the part by that folder", async () => {
  // "hazard racepart.wgsl:4 ... (racepart.wgsl:3, ...)" beside "h/k.wgsl": no file one could
  // open from where compile ran, as its compile errors were before e45cdf1
  const { sourceLocation, workgroupHazards } = await import("../kernels/workgroup_hazards.ts");
  const code = "// @include racepart.wgsl\n// @included racepart.wgsl from h/k.wgsl:1\n" +
    "var<workgroup> tile: array<f32, 64>;\nfn race(lid: u32) {\n  tile[lid] = 1.0;\n" +
    "  let x = tile[63u - lid];\n}\n@compute @workgroup_size(64)\n" +
    "fn main(@builtin(local_invocation_index) lid: u32) {\n  race(lid);\n}\n";
  const [h] = workgroupHazards(code, { fileName: "h/k.wgsl" });
  assert.equal(h.kind, "hazard");
  assert.equal(sourceLocation(code, "h/k.wgsl", h.second.line), "h/racepart.wgsl:4");
  assert.match(h.message, /^write of tile\[lid\] \(h\/racepart\.wgsl:3, /);
  // a bundled kernel's part, beside a bare file name: as it was
  assert.equal(sourceLocation(code, "k.wgsl", h.second.line), "racepart.wgsl:4");
  assert.match(workgroupHazards(code)[0].message, /^write of tile\[lid\] \(racepart\.wgsl:3, /);
});
