/**
 * Named variants of shipped kernels that undo one design choice each, for A/B timing on a
 * device where the choice was made without a measurement (the GPU-shaped kernels, whose
 * GPU speed no session has measured yet). Each variant computes the same outputs as the
 * shipped kernel (tests/tools_kernel_variants_test.ts checks it on this machine's
 * adapter), so an A/B of the two times only the choice:
 *
 *   deno run -A tools/kernel_variants.ts /tmp/variants        # writes <name>.wgsl there
 *   deno run -A tools/ab_kernels.ts --case 'path=absorbed;sq=1;dtype=f32' \
 *     --backend wgsl-absorbed-tiled noprefetch=absorbed_tiled.wgsl:/tmp/variants/noprefetch.wgsl
 *
 * `tools/gpu_machine_check.sh` (step `ab`) runs each variant's A/B on a lent GPU. A variant is
 * a list of exact text edits of the shipped file; a pattern the file no longer holds is an
 * error naming it (exit 1), so an edit of the kernel cannot silently void a variant.
 *
 * @module
 */
import { readKernelFile } from "../kernels/source.ts";

/** One exact edit: every occurrence of `pattern` (at least one) becomes `replacement`. */
export interface TextEdit {
  /** Text the shipped file must hold. */
  readonly pattern: string;
  /** What it becomes. */
  readonly replacement: string;
}

/** Text edits of one file that undo one choice (or try another): a variant's body. */
export interface TextVariant {
  /** Name (here the variant file is `<name>.wgsl`, ab_kernels' variant name). */
  readonly name: string;
  /** The file edited (here a kernel file of kernels/). */
  readonly file: string;
  /** The choice it undoes. */
  readonly description: string;
  /** The edits, applied in order. */
  readonly edits: readonly TextEdit[];
}

/** A variant of one kernel file and the A/B that measures it. */
export interface KernelTextVariant extends TextVariant {
  /** ab_kernels arguments selecting the case and backend it is timed on. */
  readonly ab: readonly string[];
}

/** The variants `tools/gpu_machine_check.sh` times on a GPU (docs/benchmarks.md, session 19). */
export const KERNEL_VARIANTS: readonly KernelTextVariant[] = [
  {
    name: "noprefetch",
    file: "absorbed_tiled.wgsl",
    description: "each key tile's loads issued at the start of its own tile, not one tile ahead",
    edits: [
      {
        pattern: "  var pre = fetch_tile(begin, min(KT, end - begin), k0, lid);",
        replacement: "  var pre: array<chunk_t, STAGE_N>;",
      },
      {
        pattern: "    // 1. Stage the tile from the registers",
        replacement:
          "    pre = fetch_tile(kb, nk, k0, lid);\n    // 1. Stage the tile from the registers",
      },
      {
        pattern: "    pre = fetch_tile(kn, select(0u, min(KT, end - kn), kn < end), k0, lid);\n",
        replacement: "",
      },
    ],
    ab: ["--case", "path=absorbed;sq=1;dtype=f32", "--backend", "wgsl-absorbed-tiled"],
  },
  {
    name: "valuesrolled",
    file: "absorbed_tiled.wgsl",
    description: "a whole tile's values in the rolled, masked key loop like a partial tile's " +
      "(every tile in the loop), not unrolled without a mask (RADV's assembly: 80 instructions a key " +
      "against 47; on lavapipe, a CPU, the two forms time the same: 1.008 paired, session 37)",
    edits: [{
      pattern: "let whole = VU_N == KT && kb + KT <= glim;",
      replacement: "let whole = false;",
    }],
    ab: ["--case", "path=absorbed;sq=1;dtype=f32", "--backend", "wgsl-absorbed-tiled"],
  },
  {
    name: "rolled",
    file: "absorbed_tiled.wgsl",
    description:
      "the constant-trip loops left as loops on a GPU (no // @unroll, kernels/unroll.ts): " +
      "wgpu's loop bound then hides their trip counts from the driver",
    edits: [{ pattern: " // @unroll", replacement: "" }],
    ab: ["--case", "path=absorbed;sq=1;dtype=f32", "--backend", "wgsl-absorbed-tiled"],
  },
  {
    name: "rg1",
    file: "absorbed_tiled.wgsl",
    description: "one value row group: only the first VAL_VEC4 invocations run the value phase",
    edits: [
      { pattern: "const RPG: u32 = ROWS / RG;", replacement: "const RPG: u32 = ROWS;" },
      { pattern: "if (lid < VAL_VEC4 * RG) {", replacement: "if (lid < VAL_VEC4) {" },
    ],
    // 32 rows (two queries of 16 heads): the plan's two row groups.
    ab: [
      "--matrix",
      "decode",
      "--case",
      "path=absorbed;b=4;sq=2;sk=2048",
      "--backend",
      "wgsl-absorbed-tiled",
    ],
  },
  {
    name: "scorebatch",
    file: "absorbed_tiled.wgsl",
    description: "the score loop loads all of a trip's segment chunks before multiplying " +
      "(RADV's assembly of the shipped form waits for each trip's pair of LDS loads in turn; " +
      "loaded first, one wait a trip, for more VGPRs; timed on V2-Lite's 9 chunks a key, " +
      "two keys a trip: DeepSeek-V3's 18 a key at once spilled on RADV)",
    edits: [
      {
        pattern: "      var s4 = vec4<acc_t>(0.0); // @nosg\n",
        replacement: "      var kcs: array<chunk_t, QSEG>; // @nosg\n" +
          "      var kds: array<chunk_t, QSEG>; // @nosg\n" +
          "      for (var i = 0u; i < QSEG; i++) { // @unroll // @nosg\n" +
          "        let c = seg + i * SEGS; // @nosg\n" +
          "        if (i < FULL_SEG || c < SCORE_CH) { // @nosg\n" +
          "          kcs[i] = ktile[k].c[i][seg]; // @nosg\n" +
          "          if (KPT == 2u) { kds[i] = ktile[k + 1u].c[i][seg]; } // @nosg\n" +
          "        } // @nosg\n" +
          "      } // @nosg\n" +
          "      var s4 = vec4<acc_t>(0.0); // @nosg\n",
      },
      {
        pattern: "let kc = ktile[k].c[i][seg]; // @nosg",
        replacement: "let kc = kcs[i]; // @nosg",
      },
      {
        pattern: "let kd = ktile[k + 1u].c[i][seg]; // @nosg",
        replacement: "let kd = kds[i]; // @nosg",
      },
    ],
    // Timed on a gpu-class plan (the loops unrolled): on a cpu-class one the load loop stays
    // a loop, which lavapipe's loop budget counts differently.
    ab: ["--case", "path=absorbed;sq=1;dtype=f32", "--backend", "wgsl-absorbed-tiled"],
  },
  {
    name: "fa2conflicts",
    file: "expanded_fa2.wgsl",
    description: "the probability tile unpadded (PSV = BQ / 4): the score stores of a quarter " +
      "warp land on the same four banks (until session 36 this variant also stored the k " +
      "chunk [key][d]; the k chunk's indices are now constant rows of a 3-D array, which " +
      "that layout cannot keep)",
    edits: [{ pattern: "const PSV: u32 = BQ4 + 1u;", replacement: "const PSV: u32 = BQ4;" }],
    ab: ["--case", "path=expanded;sq=256", "--backend", "wgsl-expanded-tiled"],
  },
  {
    name: "fa2rolled",
    file: "expanded_fa2.wgsl",
    description:
      "the 4 x 4 micro-tile's constant-trip loops left as loops on a GPU (no // @unroll)",
    edits: [{ pattern: " // @unroll", replacement: "" }],
    // The 4096-token prefill: the case with the FMA target, where the micro-tile's loops run most.
    ab: ["--matrix", "gpu", "--case", "path=expanded;sq=4096", "--backend", "wgsl-expanded-tiled"],
  },
  {
    name: "fa2forward",
    file: "expanded_fa2.wgsl",
    description: "query tiles in sequence order (shortest causal tiles first), not longest first",
    edits: [
      {
        pattern: "let tile = params.tile_begin + (params.tiles - 1u - " +
          "min(wid.x / params.heads, params.tiles - 1u));",
        replacement: "let tile = params.tile_begin + min(wid.x / params.heads, params.tiles - 1u);",
      },
    ],
    // 64 query tiles x 16 heads: the case where the order of the tiles can matter.
    ab: [
      "--matrix",
      "gpu",
      "--case",
      "path=expanded;sq=4096",
      "--backend",
      "wgsl-expanded-tiled",
    ],
  },
  {
    name: "fa2masked",
    file: "expanded_fa2.wgsl",
    description: "every key tile's values pass takes the masked (select) path, as before " +
      "session 34: tiles every row sees whole lose their plain fma path",
    edits: [{ pattern: "if (kb + nk <= lim_min) {", replacement: "if (false) {" }],
    // The 4096-token prefill: 64 tiles of 64 queries, all but the diagonal tile of each whole.
    ab: ["--matrix", "gpu", "--case", "path=expanded;sq=4096", "--backend", "wgsl-expanded-tiled"],
  },
];

/**
 * The text of a variant: the shipped text with its edits applied; throws a RangeError
 * naming the first pattern the text does not hold.
 *
 * @example
 * ```ts
 * import { applyVariant } from "./kernel_variants.ts";
 * applyVariant("const A = 1u;", {
 *   name: "a2", file: "k.wgsl", description: "", ab: [],
 *   edits: [{ pattern: "A = 1u", replacement: "A = 2u" }],
 * }); // "const A = 2u;"
 * ```
 */
export function applyVariant(text: string, v: KernelTextVariant): string {
  return applyTextEdits(text, v.edits, {
    what: `variant ${v.name}`,
    file: v.file,
    fix: "update the variant in tools/kernel_variants.ts to the kernel's current text",
  });
}

/**
 * `text` with `edits` applied in order (every occurrence of each pattern); throws a
 * RangeError naming `what`, `file` and the first pattern the text does not hold, then `fix`.
 * Shared by the kernel variants here and the plan variants (tools/plan_variants.ts).
 *
 * @example
 * ```ts
 * import { applyTextEdits } from "./kernel_variants.ts";
 * applyTextEdits("const A = 1;", [{ pattern: "A = 1", replacement: "A = 2" }], {
 *   what: "variant a2", file: "a.ts", fix: "update it",
 * }); // "const A = 2;"
 * ```
 */
export function applyTextEdits(
  text: string,
  edits: readonly TextEdit[],
  context: { what: string; file: string; fix: string },
): string {
  let out = text;
  for (const e of edits) {
    if (!out.includes(e.pattern)) {
      throw new RangeError(
        `${context.what}: ${context.file} no longer holds ${JSON.stringify(e.pattern)}; ` +
          context.fix,
      );
    }
    out = out.replaceAll(e.pattern, e.replacement);
  }
  return out;
}

async function main(): Promise<void> {
  const dir = Deno.args[0];
  if (!dir || dir === "-h" || dir === "--help") {
    console.log(
      "usage: deno run -A tools/kernel_variants.ts DIR\n\n" +
        "Writes DIR/<name>.wgsl for each variant and prints the ab_kernels command that\n" +
        "times it. Variants:\n" +
        KERNEL_VARIANTS.map((v) => `  ${v.name} (${v.file}): ${v.description}`).join("\n"),
    );
    Deno.exit(dir ? 0 : 2);
  }
  // an option it does not take (`--out`, a typo) would be made a folder named so
  if (dir.startsWith("-") || Deno.args.length > 1) {
    console.error(
      `${Deno.args.join(" ")}: expected one folder, DIR (not an option; write ./${dir} for a ` +
        "folder named so)\nusage: deno run -A tools/kernel_variants.ts DIR",
    );
    Deno.exit(2);
  }
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (e) {
    // a file of that name, a folder it may not write
    console.error(
      `kernel_variants: ${dir}: cannot make the folder: ${e instanceof Error ? e.message : e}`,
    );
    Deno.exit(2);
  }
  for (const v of KERNEL_VARIANTS) {
    let text: string;
    try {
      text = applyVariant(await readKernelFile(v.file), v);
    } catch (e) {
      console.error(`kernel_variants: ${e instanceof Error ? e.message : e}`);
      Deno.exit(1);
    }
    const path = `${dir}/${v.name}.wgsl`;
    try {
      await Deno.writeTextFile(path, text);
    } catch (e) {
      console.error(`kernel_variants: cannot write ${path}: ${e instanceof Error ? e.message : e}`);
      Deno.exit(1);
    }
    console.log(
      `deno run -A tools/ab_kernels.ts ${
        v.ab.map((a) => (/^[\w.,=-]+$/.test(a) ? a : `'${a}'`)).join(" ")
      } ${v.name}=${v.file}:${path}`,
    );
  }
}

if (import.meta.main) await main();
