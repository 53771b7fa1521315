/**
 * tools/ab_kernels.ts: variant specs, the re-specialization of a variant like the shipped
 * file (GPU-free), and, on a GPU, that a variant's outputs are compared with the shipped
 * kernels' (a planted change shows a difference, the shipped text none).
 */
import assert from "node:assert/strict";
import { deviceClassOf } from "../adapter/device_class.ts";
import { hasAdapter, probeCaps } from "../gpu/device.ts";
import { readKernelFile, specializeSource } from "../kernels/source.ts";
import { parseVariant, specializedParams, variantMutation } from "../tools/ab_kernels.ts";
import { type CliResult, runTool } from "./helpers_cli.ts";

const gpu = await hasAdapter();

Deno.test("parseVariant reads NAME=FILE:PATH lists and names what is wrong", () => {
  const v = parseVariant("two=absorbed_gemm.wgsl:/a/x.wgsl,gemm_softmax.wgsl:rel.wgsl");
  assert.equal(v.name, "two");
  assert.deepEqual([...v.files], [
    ["absorbed_gemm.wgsl", "/a/x.wgsl"],
    ["gemm_softmax.wgsl", "rel.wgsl"],
  ]);
  for (
    const [bad, says] of [
      ["absorbed_gemm.wgsl:/x", "NAME=FILE:PATH"],
      ["=absorbed_gemm.wgsl:/x", "NAME=FILE:PATH"],
      ["shipped=absorbed_gemm.wgsl:/x", '"shipped"'],
      ["a=absorbed_gemm.wgsl", "not FILE:PATH"],
      ["a=absorbed_gemm.ts:/x", "not FILE:PATH"],
      ["a=../kernels/absorbed_gemm.wgsl:/x", "not FILE:PATH"],
      ["a=rope.wgsl:/x,rope.wgsl:/y", "given twice"],
    ]
  ) {
    assert.throws(() => parseVariant(bad), (e: Error) => e.message.includes(says), bad);
  }
});

Deno.test("specializedParams reads back what specializeSource wrote", async () => {
  const raw = await readKernelFile("absorbed_gemm.wgsl");
  const params = {
    WG: 8,
    KEY_VEC4: 48,
    VAL_VEC4: 32,
    RPT: 2,
    RPTQ: 3,
    CPT: 2,
    HT: 4,
    EV: 2,
    RPTP: 5,
    KG: 16,
  };
  assert.deepEqual(specializedParams(specializeSource(raw, { dtype: "f32", params })), params);
});

Deno.test("a variant is specialized with the shipped file's dtype and parameters", async () => {
  for (const file of ["absorbed_gemm.wgsl", "expanded_gemm.wgsl"]) {
    const raw = await readKernelFile(file);
    for (const dtype of ["f32", "f16"] as const) {
      const params = specializedParams(raw); // the file's defaults, then changed ones
      const changed = Object.fromEntries(Object.keys(params).map((k) => [k, params[k] + 1]));
      const shipped = specializeSource(raw, { dtype, params: changed });
      // the shipped text as its own variant: the same source as the shipped kernel
      const same = variantMutation(new Map([[file, raw]]), dtype);
      assert.equal(same(file, shipped), shipped, `${file} ${dtype}`);
      // an edited variant keeps its edit and gets the shipped parameters
      const edited = variantMutation(new Map([[file, raw + "\n// edited\n"]]), dtype);
      assert.equal(edited(file, shipped), shipped + "\n// edited\n", `${file} ${dtype}`);
      // other files pass through
      assert.equal(same("rope.wgsl", "x"), "x");
    }
  }
  // a plan with a named switch on (packed f16 rows): the variant gets the same switches
  const switched: [string, string[]][] = [["absorbed_gemm.wgsl", ["packed"]], [
    "expanded.wgsl",
    ["tex"],
  ], ["expanded.wgsl", ["packed"]]];
  for (const [file, on] of switched) {
    const text = await readKernelFile(file);
    for (const switches of [[], on]) {
      const shipped = specializeSource(text, { dtype: "f16", switches });
      const same = variantMutation(new Map([[file, text]]), "f16");
      assert.equal(same(file, shipped), shipped, `${file} ${switches}`);
    }
  }
  // a plan of the subgroup variant (wgsl-absorbed-tiled-sg): its lines in the variant too
  const raw = await readKernelFile("absorbed_tiled.wgsl");
  for (const subgroups of [false, true]) {
    const shipped = specializeSource(raw, { dtype: "f32", subgroups });
    const same = variantMutation(new Map([["absorbed_tiled.wgsl", raw]]), "f32");
    assert.equal(same("absorbed_tiled.wgsl", shipped), shipped, `subgroups ${subgroups}`);
  }
});

/** Run the tool; its exit code, stdout and stderr. */
function abKernels(args: string[]): Promise<CliResult> {
  return runTool("ab_kernels.ts", args);
}

Deno.test("ab_kernels: bad input is exit 2 with what is wrong, before any GPU work", async () => {
  const many = await abKernels(["--case", "path=absorbed"]);
  assert.equal(many.code, 2);
  assert.match(many.stderr, /selects 3 cases of matrix headline; it must select one/);
  assert.match(many.stderr, /path=absorbed;dtype=f16/);
  const one = "path=absorbed;sq=1;dtype=f32";
  const unknown = await abKernels(["--case", one, "x=nope.wgsl:/dev/null"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /variant x: nope.wgsl is not a kernel of kernels\//);
  const unreadable = await abKernels(["--case", one, "x=rope.wgsl:/nonexistent/rope.wgsl"]);
  assert.equal(unreadable.code, 2);
  assert.match(unreadable.stderr, /variant x: cannot read \/nonexistent\/rope.wgsl/);
  const rounds = await abKernels(["--case", one, "--rounds", "0"]);
  assert.equal(rounds.code, 2);
  assert.match(rounds.stderr, /--rounds 0: expected a whole number >= 1/);
  // --backend of the other path than the case's: refused before any GPU work.
  const other = await abKernels(["--case", one, "--backend", "wgsl-expanded"]);
  assert.equal(other.code, 2);
  assert.match(
    other.stderr,
    /--backend wgsl-expanded: backend\.path-mismatch: backend wgsl-expanded computes the expanded path; the case asks for path absorbed/,
  );
  const noCase = await abKernels([]);
  assert.equal(noCase.code, 2);
  assert.match(noCase.stderr, /--case is required/);
});

Deno.test({
  name: "ab_kernels compares each variant's outputs with the shipped kernels'",
  ignore: !gpu,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      // up_proj.wgsl runs in every latent backend's case (the W_UV projection)
      const raw = await readKernelFile("up_proj.wgsl");
      const planted = raw.replace(
        "out[base + c] = a[c >> 2u][c & 3u];",
        "out[base + c] = a[c >> 2u][c & 3u] * 1.5;",
      );
      assert.notEqual(planted, raw, "the planted pattern is in up_proj.wgsl");
      await Deno.writeTextFile(`${dir}/same.wgsl`, raw);
      await Deno.writeTextFile(`${dir}/planted.wgsl`, planted);
      const r = await abKernels([
        "--matrix",
        "tiny",
        "--case",
        "path=absorbed",
        "--rounds",
        "2",
        "--reps",
        "1",
        "--json",
        `same=up_proj.wgsl:${dir}/same.wgsl`,
        `planted=up_proj.wgsl:${dir}/planted.wgsl`,
      ]);
      assert.equal(r.code, 0, r.stderr);
      const report = JSON.parse(r.stdout);
      assert.equal(report.variants.same.maxAbsDiff, 0);
      assert.ok(report.variants.planted.maxAbsDiff > 0, JSON.stringify(report.variants.planted));
      for (const name of ["shipped", "same", "planted"]) {
        // two rounds of one replay each: two samples of every pass and of the total
        assert.equal(report.variants[name].samples.total.length, 2, name);
        assert.equal(report.variants[name].roundMedians.length, 2, name);
      }
      // --backend: the case runs on the named backend, not the adapter's choice (auto picks
      // wgsl-absorbed-tiled on a GPU, another on a cpu-class device: name one it did not).
      const other = report.backend === "wgsl-absorbed-tiled"
        ? "wgsl-absorbed"
        : "wgsl-absorbed-tiled";
      const named = await abKernels([
        "--matrix",
        "tiny",
        "--case",
        "path=absorbed",
        "--backend",
        other,
        "--rounds",
        "1",
        "--reps",
        "1",
        "--json",
        `same=up_proj.wgsl:${dir}/same.wgsl`,
      ]);
      assert.equal(named.code, 0, named.stderr);
      const namedReport = JSON.parse(named.stdout);
      assert.equal(namedReport.backend, other);
      // a variant that does not compile: its name and file, exit 2, not a stack trace
      await Deno.writeTextFile(`${dir}/broken.wgsl`, raw.replace(/\bfn /, "fn bogus syntax "));
      const broken = await abKernels([
        "--matrix",
        "tiny",
        "--case",
        "path=absorbed",
        "--rounds",
        "1",
        "--reps",
        "1",
        `broken=up_proj.wgsl:${dir}/broken.wgsl`,
      ]);
      assert.equal(broken.code, 2, broken.stderr);
      assert.match(
        broken.stderr,
        /\nab_kernels: variant broken \(.*\/broken\.wgsl as up_proj\.wgsl\): .*up_proj\.wgsl:\d+:\d+: error/,
      );
      assert.doesNotMatch(broken.stderr, /Uncaught|\n\s+at /);
      // The default is auto: the tiled kernel on a GPU-class device, not on a cpu-class one.
      const cls = deviceClassOf(await probeCaps())?.kind;
      assert.equal(report.backend === "wgsl-absorbed-tiled", cls === "gpu", "the default is auto");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("readVariantText: a raw copy's // @include parts are expanded as the shipped file's, a part beside it first", async () => {
  const { readVariantText } = await import("../tools/ab_kernels.ts");
  const dir = await Deno.makeTempDir({ prefix: "ab_kernels_parts_" });
  try {
    const raw = await Deno.readTextFile(new URL("../kernels/absorb_q.wgsl", import.meta.url));
    assert.match(raw, /^\/\/ @include absorb_q_io\.wgsl$/m, "the shipped file includes parts");
    // A verbatim copy: the text the shipped file loads as, parts from kernels/.
    await Deno.writeTextFile(`${dir}/absorb_q.wgsl`, raw);
    const shipped = await readKernelFile("absorb_q.wgsl");
    assert.equal(await readVariantText("absorb_q.wgsl", `${dir}/absorb_q.wgsl`), shipped);
    // Already expanded (tools/kernel_variants.ts writes the loaded text): unchanged.
    await Deno.writeTextFile(`${dir}/expanded.wgsl`, shipped);
    assert.equal(await readVariantText("absorb_q.wgsl", `${dir}/expanded.wgsl`), shipped);
    // A variant of a part, beside the copy: it is the one appended.
    const part = await Deno.readTextFile(new URL("../kernels/absorb_q_io.wgsl", import.meta.url));
    await Deno.writeTextFile(`${dir}/absorb_q_io.wgsl`, `${part}// a variant of the part\n`);
    assert.match(
      await readVariantText("absorb_q.wgsl", `${dir}/absorb_q.wgsl`),
      /^\/\/ a variant of the part$/m,
    );
    // An include nothing provides: an error naming the variant file and the part.
    await Deno.writeTextFile(`${dir}/k.wgsl`, "// @include nowhere.wgsl\n");
    await assert.rejects(
      () => readVariantText("absorb_q.wgsl", `${dir}/k.wgsl`),
      /k\.wgsl: .*nowhere\.wgsl/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
