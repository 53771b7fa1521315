/**
 * The loops of a compiled kernel and what one trip of each costs, read from the AMD assembly
 * that `tools/spirv_audit.ts --keep DIR --radv-ir` writes (`DIR/<module>.spv.<family>.txt`,
 * Mesa's RADV on null hardware: no GPU needed).
 *
 * A loop is a back edge: a branch from block B to a block at or before B; its body is every
 * block from the target to B, so an outer loop's counts include its inner loops' bodies once
 * each. Per loop it counts the instructions and the kinds that decide a GPU kernel's time:
 * FMAs, LDS (workgroup memory) loads and stores, barriers, global (buffer) loads, exp.
 * Read with the kernel's trip counts, that gives instructions per key tile without a GPU
 * (docs/benchmarks.md, session 34: the FA2 prefill before and after its chunks widened).
 *
 *   DENO_WEBGPU_BACKEND=vulkan deno run -A tools/spirv_audit.ts --backend wgsl-expanded-tiled \
 *     --shape prefill --keep /tmp/fa2 --radv navi21 --radv-ir
 *   deno run --allow-read tools/asm_loops.ts /tmp/fa2/0006.spv.navi21.txt
 *
 * @module
 */

/** What one trip of a loop's body holds (inner loops' bodies counted once). */
export interface AsmLoop {
  /** First block of the body (the back edge's target), e.g. "BB30". */
  readonly head: string;
  /** Last block (the one whose branch goes back). */
  readonly tail: string;
  /** Instructions in the body. */
  readonly instructions: number;
  /** v_fma / v_fmac / v_mac (any width). */
  readonly fma: number;
  /** ds_read* / ds_load* (workgroup memory loads). */
  readonly ldsLoads: number;
  /** ds_write* / ds_store*. */
  readonly ldsStores: number;
  /** s_barrier. */
  readonly barriers: number;
  /** global_load* / buffer_load*. */
  readonly globalLoads: number;
  /** v_exp*. */
  readonly exp: number;
}

const KINDS: readonly [keyof AsmLoop, RegExp][] = [
  ["fma", /^v_(fma|fmac|mac|pk_fma)\w*/],
  ["ldsLoads", /^ds_(read|load)\w*/],
  ["ldsStores", /^ds_(write|store)\w*/],
  ["barriers", /^s_barrier\b/],
  ["globalLoads", /^(global_load|buffer_load)\w*/],
  ["exp", /^v_exp\w*/],
];

/**
 * The loops of an assembly listing (the `== Assembly` section of a `--radv-ir` file, or a
 * listing of `BBn:` labels and tab-indented instructions), in the order of their heads.
 * Throws when the text has no `BBn:` block.
 *
 * @example
 * ```ts
 * import { asmLoops } from "./asm_loops.ts";
 * const asm = "BB0:\n\ts_mov_b32 s0, 0\nBB1:\n\tv_fmac_f32_e32 v0, v1, v2\n" +
 *   "\tds_read_b128 v[4:7], v3\n\ts_cbranch_scc0 BB1\nBB2:\n\ts_endpgm\n";
 * asmLoops(asm)[0]; // { head: "BB1", tail: "BB1", instructions: 3, fma: 1, ldsLoads: 1, ... }
 * ```
 */
export function asmLoops(text: string): AsmLoop[] {
  const lines = assemblyLines(text);
  const blocks: { name: string; ops: string[]; targets: string[] }[] = [];
  for (const line of lines) {
    const label = /^(BB\d+):/.exec(line);
    if (label) {
      blocks.push({ name: label[1], ops: [], targets: [] });
      continue;
    }
    const block = blocks.at(-1);
    if (block === undefined || !line.startsWith("\t")) continue;
    const code = line.trim().split(";")[0].trim();
    if (code === "") continue;
    const op = code.split(/\s+/)[0];
    block.ops.push(op);
    const branch = /^s_c?branch\w*\s+(BB\d+)/.exec(code);
    if (branch) block.targets.push(branch[1]);
  }
  if (blocks.length === 0) throw new Error("no assembly blocks (BBn:) in the text");
  const index = new Map(blocks.map((b, i) => [b.name, i]));
  const seen = new Set<string>();
  const loops: AsmLoop[] = [];
  blocks.forEach((b, i) => {
    for (const t of b.targets) {
      const start = index.get(t);
      if (start === undefined || start > i || seen.has(`${start}:${i}`)) continue;
      seen.add(`${start}:${i}`);
      const ops = blocks.slice(start, i + 1).flatMap((x) => x.ops);
      const count = (re: RegExp) => ops.filter((o) => re.test(o)).length;
      const kinds = Object.fromEntries(KINDS.map(([k, re]) => [k, count(re)]));
      loops.push({
        head: blocks[start].name,
        tail: b.name,
        instructions: ops.length,
        fma: kinds.fma,
        ldsLoads: kinds.ldsLoads,
        ldsStores: kinds.ldsStores,
        barriers: kinds.barriers,
        globalLoads: kinds.globalLoads,
        exp: kinds.exp,
      });
    }
  });
  return loops.sort((a, b) =>
    (index.get(a.head)! - index.get(b.head)!) || (index.get(a.tail)! - index.get(b.tail)!)
  );
}

/**
 * The loops as a Markdown table, one row each, and the listing's instruction count.
 *
 * @example
 * ```ts
 * import { asmLoops, formatAsmLoops } from "./asm_loops.ts";
 * formatAsmLoops(asmLoops("BB0:\n\tv_fmac_f32_e32 v0, v1, v2\n\ts_branch BB0\n"), 2);
 * // "| loop | instructions | fma | ...\n| BB0..BB0 | 2 | 1 | ..."
 * ```
 */
export function formatAsmLoops(loops: readonly AsmLoop[], total: number): string {
  const rows = loops.map((l) =>
    `| ${l.head}..${l.tail} | ${l.instructions} | ${l.fma} | ${l.ldsLoads} | ${l.ldsStores} | ` +
    `${l.barriers} | ${l.globalLoads} | ${l.exp} |`
  );
  return [
    "| loop (blocks) | instructions | fma | LDS loads | LDS stores | barriers | global loads | exp |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows,
    "",
    `${total} instructions in the listing; a loop's counts include its inner loops' bodies once.`,
  ].join("\n");
}

/** The lines of a listing's assembly: from its `== Assembly` section on, if it has one. */
function assemblyLines(text: string): string[] {
  const at = text.indexOf("== Assembly");
  return (at >= 0 ? text.slice(at) : text).split("\n");
}

/** Instructions of a listing (tab-indented lines under `BBn:` labels). */
function instructionCount(text: string): number {
  return assemblyLines(text)
    .filter((l) => l.startsWith("\t") && l.trim().split(";")[0].trim() !== "").length;
}

const USAGE = `usage: deno run --allow-read tools/asm_loops.ts FILE

FILE: an AMD assembly listing from tools/spirv_audit.ts --keep DIR --radv-ir
(DIR/<module>.spv.<family>.txt). Prints each loop's instructions per trip: FMAs, LDS
loads and stores, barriers, global loads, exp. Exit 2 on a missing or unreadable file or one
without assembly blocks.`;

if (import.meta.main) {
  const args = Deno.args;
  if (args.includes("--help") || args.includes("-h")) {
    console.log(USAGE);
    Deno.exit(0);
  }
  if (args.length !== 1 || args[0].startsWith("-")) {
    console.error(`asm_loops: give one assembly file\n\n${USAGE}`);
    Deno.exit(2);
  }
  let text: string;
  try {
    text = await Deno.readTextFile(args[0]);
  } catch (e) {
    console.error(`asm_loops: cannot read ${args[0]}: ${(e as Error).message}`);
    Deno.exit(2);
  }
  try {
    console.log(formatAsmLoops(asmLoops(text), instructionCount(text)));
  } catch (e) {
    console.error(
      `asm_loops: ${args[0]}: ${(e as Error).message} (is it a --radv-ir listing?)`,
    );
    Deno.exit(2);
  }
}
