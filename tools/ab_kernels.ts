/**
 * Interleaved A/B timing of kernel-file variants on one benchmark case, in one process.
 *
 * On a shared host the same kernel's time moves by 1.5x between two `bench` runs minutes
 * apart (docs/benchmarks.md), so a variant measured in one run and the shipped kernel in
 * another says little. This tool resolves the case once, then runs the shipped kernels and
 * every variant in turn, round after round (the order rotates each round, so a slow spell
 * does not always fall on the same one), and prints per pass the median and the fastest
 * replay of each, and the paired ratio: per round, the variant's median total over the
 * shipped kernels' median total in the same round, the median of those over the rounds.
 * Contention comes in spells longer than a round, so neighbours in time share it; the
 * fastest replay alone misleads when a fast spell happened to fall on one variant
 * (docs/benchmarks.md, session 10). Each variant's outputs are compared with the shipped kernels' (largest absolute
 * difference), so a variant that computes something else is seen at once.
 *
 *   deno run -A tools/ab_kernels.ts --case 'path=absorbed;sq=1;dtype=f32' \
 *     touch=absorbed_gemm.wgsl:/tmp/absorbed_gemm.touch.wgsl
 *
 * A variant is `NAME=FILE:PATH[,FILE:PATH...]`: kernel FILE of kernels/ is read from PATH
 * instead (the whole file, with the same `// @param`, `// @f16:` and `// @f32` markers as
 * the shipped one; it is specialized with the shipped file's parameters). Its `// @include`
 * lines are expanded as the shipped file's are, each part read from PATH's folder when it
 * is there and from kernels/ otherwise ({@link readVariantText}). Only WGSL is swapped: a
 * variant that needs another launcher is not something this tool can run.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { pathMismatch } from "../adapter/registry.ts";
import { isGpuPlan, resolve } from "../adapter/resolve.ts";
import { BENCH_MATRICES, benchCaseId, benchMatrix, filterBenchCases } from "../bench/cases.ts";
import { benchLayout, benchSpec } from "../bench/run_bench.ts";
import { HARNESS_FEATURES, hasAdapter } from "../gpu/device.ts";
import { toolGpuContext } from "./tool_gpu.ts";
import "../kernels/bundled_modules.ts";
import { measureAttention } from "../kernels/measure.ts";
import { GPU_WARMUP_MS, replayModeForClass, warmupMsForClass } from "../kernels/replay.ts";
import { deviceClassOf } from "../adapter/device_class.ts";
import {
  expandIncludes,
  readKernelFile,
  type SourceMutation,
  specializeSource,
} from "../kernels/source.ts";
import { fileFolder, lineSwitches, partReader } from "../kernels/compile_check.ts";
import { makeAttentionInputs } from "../reference/inputs.ts";

/** One variant: a name and, per kernel file name, the text that replaces it. */
export interface KernelVariant {
  /** Name printed in the table. */
  readonly name: string;
  /** Kernel file name (of kernels/) to the path its replacement is read from. */
  readonly files: ReadonlyMap<string, string>;
}

/**
 * The text of a variant's kernel file as the shipped one is loaded: its `// @include`
 * parts appended (kernels/source.ts), each read from the variant file's folder when it
 * is there (a variant of a part) and from kernels/ otherwise. A text that already holds
 * them (tools/kernel_variants.ts writes the loaded, expanded text) is returned as it is.
 * Throws an Error naming the variant file and the include that cannot be read.
 *
 * @example
 * ```ts ignore
 * import { readVariantText } from "./ab_kernels.ts";
 * const text = await readVariantText("absorb_q.wgsl", "/tmp/variants/absorb_q.wgsl");
 * ```
 */
export async function readVariantText(file: string, path: string): Promise<string> {
  const text = await Deno.readTextFile(path);
  const read = partReader([fileFolder(path), new URL("../kernels/", import.meta.url)]);
  try {
    return await expandIncludes(file, text, read);
  } catch (e) {
    throw new Error(`${path}: ${e instanceof Error ? e.message : e}`);
  }
}

/**
 * Parse `NAME=FILE:PATH[,FILE:PATH...]`; throws a RangeError naming what is wrong.
 *
 * @example
 * ```ts
 * import { parseVariant } from "./ab_kernels.ts";
 * parseVariant("touch=absorbed_gemm.wgsl:/tmp/a.wgsl").files.get("absorbed_gemm.wgsl"); // "/tmp/a.wgsl"
 * ```
 */
export function parseVariant(spec: string): KernelVariant {
  const eq = spec.indexOf("=");
  const name = spec.slice(0, eq);
  if (eq <= 0 || !/^[\w.-]+$/.test(name) || name === "shipped") {
    throw new RangeError(
      `variant "${spec}": expected NAME=FILE:PATH[,FILE:PATH...] with a NAME of letters, ` +
        `digits, '.', '-' or '_' other than "shipped"`,
    );
  }
  const files = new Map<string, string>();
  for (const part of spec.slice(eq + 1).split(",")) {
    const colon = part.indexOf(":");
    const file = part.slice(0, colon);
    const path = part.slice(colon + 1);
    if (colon <= 0 || !path || !file.endsWith(".wgsl") || file.includes("/")) {
      throw new RangeError(
        `variant ${name}: "${part}" is not FILE:PATH (FILE a kernel of kernels/, e.g. ` +
          `absorbed_gemm.wgsl:/tmp/absorbed_gemm.wgsl)`,
      );
    }
    if (files.has(file)) throw new RangeError(`variant ${name}: ${file} given twice`);
    files.set(file, path);
  }
  return { name, files };
}

/**
 * The `// @param` values of a specialized kernel source (what the plan gave it).
 *
 * @example
 * ```ts
 * import { specializedParams } from "./ab_kernels.ts";
 * specializedParams("const WG: u32 = 8u; // @param lanes\nconst N = 3u;"); // { WG: 8 }
 * ```
 */
export function specializedParams(code: string): Record<string, number> {
  const params: Record<string, number> = {};
  for (const m of code.matchAll(/^const (\w+): u32 = (\d+)u; \/\/ @param/gm)) {
    params[m[1]] = Number(m[2]);
  }
  return params;
}

/**
 * A source mutation that swaps in a variant's raw texts, specialized like the shipped file
 * they replace: its dtype, its `// @param` values, whether its subgroup lines are in and
 * which named line switches are on (all read back from the specialized text).
 *
 * @example
 * ```ts
 * import { variantMutation } from "./ab_kernels.ts";
 * const swap = variantMutation(new Map([["k.wgsl", "const WG: u32 = 1u; // @param\n"]]), "f32");
 * swap("k.wgsl", "const WG: u32 = 8u; // @param\n"); // "const WG: u32 = 8u; // @param\n"
 * ```
 */
export function variantMutation(
  texts: ReadonlyMap<string, string>,
  dtype: "f32" | "f16",
): SourceMutation {
  return (fileName, code) => {
    const raw = texts.get(fileName);
    return raw === undefined ? code : specializeSource(raw, {
      dtype,
      params: specializedParams(code),
      // a plan of the subgroup variant: its lines in the variant too
      subgroups: /^enable subgroups;/m.test(code),
      // the named switches the shipped text was specialized with (e.g. `packed`): those
      // whose `// @name:` lines it no longer has as comments
      switches: lineSwitches(raw).filter((name) =>
        !new RegExp(`^\\s*// @${name}: `, "m").test(code)
      ),
    });
  };
}

const HELP = `Interleaved A/B timing of kernel-file variants on one benchmark case.

usage: deno run -A tools/ab_kernels.ts --case FILTER [options] NAME=FILE:PATH[,FILE:PATH...] ...

  --case FILTER    bench --filter expression that selects exactly one case of the matrix
                   (e.g. 'path=absorbed;sq=1;dtype=f32')
  --matrix NAME    benchmark matrix (default headline; ${BENCH_MATRICES.join(", ")})
  --backend ID     run the case on this backend (default auto:<the case's path>, the
                   adapter's choice for this device), e.g. wgsl-absorbed-tiled
  --rounds N       rounds; each runs the shipped kernels and every variant once (default 4)
  --reps N         timed replays per run (default 5)
  --json           print the samples as JSON instead of the table
  -h, --help       this text

Each variant replaces kernel FILE of kernels/ by the text at PATH (same markers as the
shipped file; its // @include parts are read from PATH's folder where they are there,
else from kernels/). The table gives per pass the median and the fastest replay in ms, "paired":
the median over rounds of the variant's median total over the shipped kernels' in the same
round (adjacent in time, so a slow spell of the host hits both), and the fastest total over
the shipped kernels' fastest. "max |diff|" is the largest difference of the variant's outputs from the
shipped kernels' (0 for a variant that computes the same thing in the same order). On a
gpu-class device each run first replays untimed for ${GPU_WARMUP_MS} ms, as bench --warmup-ms auto
does: a GPU that idled while the run compiled would be timed at lowered clocks.`;

function fail(message: string): never {
  console.error(`ab_kernels: ${message}`);
  Deno.exit(2);
}

function positive(value: string | undefined, fallback: number, flag: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) fail(`${flag} ${value}: expected a whole number >= 1`);
  return n;
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  let args;
  try {
    args = parseArgs({
      args: Deno.args,
      allowPositionals: true,
      options: {
        case: { type: "string" },
        matrix: { type: "string", default: "headline" },
        backend: { type: "string" },
        rounds: { type: "string" },
        reps: { type: "string" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (e) {
    fail(`${e instanceof Error ? e.message : e} (see --help)`);
  }
  const { values: o, positionals } = args;
  if (o.help) {
    console.log(HELP);
    return;
  }
  if (!o.case) fail("--case is required (see --help)");
  const rounds = positive(o.rounds, 4, "--rounds");
  const reps = positive(o.reps, 5, "--reps");
  let variants: KernelVariant[];
  let cases;
  try {
    variants = positionals.map(parseVariant);
    cases = filterBenchCases(benchMatrix(o.matrix), o.case);
  } catch (e) {
    fail(e instanceof Error ? e.message : String(e));
  }
  if (new Set(variants.map((v) => v.name)).size !== variants.length) {
    fail("two variants have the same name");
  }
  if (cases.length !== 1) {
    fail(
      `--case ${o.case} selects ${cases.length} cases of matrix ${o.matrix}; it must select ` +
        `one:\n  ${(cases.length ? cases : benchMatrix(o.matrix)).map(benchCaseId).join("\n  ")}`,
    );
  }
  const texts = new Map<string, Map<string, string>>();
  for (const v of variants) {
    const t = new Map<string, string>();
    for (const [file, path] of v.files) {
      try {
        await readKernelFile(file);
      } catch {
        fail(`variant ${v.name}: ${file} is not a kernel of kernels/`);
      }
      try {
        t.set(file, await readVariantText(file, path));
      } catch (e) {
        fail(`variant ${v.name}: cannot read ${path}: ${e instanceof Error ? e.message : e}`);
      }
    }
    texts.set(v.name, t);
  }
  const mismatch = o.backend === undefined ? null : pathMismatch(o.backend, cases[0].path);
  if (mismatch) fail(`--backend ${o.backend}: ${mismatch.code}: ${mismatch.message}`);
  if (!(await hasAdapter())) fail("no WebGPU adapter on this machine");
  const c = cases[0];
  const ctx = await toolGpuContext("ab_kernels", { optionalFeatures: HARNESS_FEATURES });
  const spec = benchSpec(c);
  const plan = resolve(
    { spec, dtype: c.dtype, backend: o.backend ?? `auto:${c.path}`, layout: benchLayout(c) },
    ctx.caps,
  );
  if (!isGpuPlan(plan)) {
    fail(
      `case ${benchCaseId(c)} does not run on this adapter: ${
        plan.kind === "unsupported"
          ? plan.reasons.map((r) => `${r.code}: ${r.message}`).join("; ")
          : `its backend runs on the ${plan.runsOn}`
      }`,
    );
  }
  const inputs = makeAttentionInputs(spec, plan.layout, { seed: 1 });
  // a GPU idles while each run compiles and checks: without a warm-up it times lowered clocks
  const cls = deviceClassOf(ctx.caps)?.kind;
  const warmupMs = warmupMsForClass(cls); // as bench --warmup-ms auto
  const replay = replayModeForClass(cls); // as bench --replay auto
  const names = ["shipped", ...variants.map((v) => v.name)];
  const samples = new Map<string, Record<string, number[]>>(names.map((n) => [n, {}]));
  // per round, each variant's median total: the paired ratios come from these
  const roundTotals = new Map<string, number[]>(names.map((n) => [n, []]));
  const diffs = new Map<string, number>(names.map((n) => [n, 0]));
  let shippedOut: ArrayLike<number> | null = null;
  console.error(`${benchCaseId(c)} (${plan.backend}), ${rounds} rounds of ${reps} replays`);
  for (let r = 0; r < rounds; r++) {
    const order = names.map((_, i) => names[(i + r) % names.length]);
    for (const name of order) {
      const t = texts.get(name);
      let m: Awaited<ReturnType<typeof measureAttention>>;
      try {
        m = await measureAttention(ctx, plan, {
          spec,
          inputs,
          scope: "core",
          reps,
          warmup: 1,
          warmupMs,
          replay,
          outsideCoreReplay: false,
          mutate: t ? variantMutation(t, c.dtype) : undefined,
        });
      } catch (e) {
        // a variant's text that does not compile or lacks the shipped file's markers: said
        // with the variant's name and files (the compiler names the shipped file), not a stack
        if (!t) throw e;
        const files = [...variants.find((v) => v.name === name)!.files]
          .map(([file, path]) => `${path} as ${file}`).join(", ");
        fail(`variant ${name} (${files}): ${e instanceof Error ? e.message : String(e)}`);
      }
      const out = m.outputs.out;
      if (name === "shipped") shippedOut ??= out;
      const per = samples.get(name)!;
      const totals: number[] = [];
      for (const rep of m.repeats) {
        const byPass = new Map<string, number>();
        for (const p of rep.passes) {
          if (p.ms !== null) byPass.set(p.name, (byPass.get(p.name) ?? 0) + p.ms);
        }
        for (const [p, ms] of byPass) (per[p] ??= []).push(ms);
        // with timestamps the core passes' sum, else the replay's wall clock
        const total = [...byPass.values()].reduce((a, b) => a + b, 0);
        totals.push(byPass.size ? total : rep.totalMs);
      }
      (per.total ??= []).push(...totals);
      roundTotals.get(name)!.push(median(totals));
      if (name !== "shipped" && shippedOut) {
        let d = diffs.get(name)!;
        for (let i = 0; i < out.length; i++) {
          const e = Math.abs(out[i] - shippedOut[i]);
          if (!(e <= d)) d = e; // NaN counts as a difference
        }
        diffs.set(name, d);
      }
    }
    console.error(`round ${r + 1}/${rounds} done`);
  }
  ctx.destroy();
  if (o.json) {
    const entries = names.map((n) => [n, {
      samples: samples.get(n),
      roundMedians: roundTotals.get(n),
      maxAbsDiff: diffs.get(n),
    }]);
    console.log(
      JSON.stringify(
        {
          case: benchCaseId(c),
          backend: plan.backend,
          rounds,
          reps,
          variants: Object.fromEntries(entries),
        },
        null,
        2,
      ),
    );
    return;
  }
  const passes = Object.keys(samples.get("shipped")!);
  const rows = [[
    "variant",
    ...passes.map((p) => `${p} med/min`),
    "paired",
    "min vs shipped",
    "max |diff|",
  ]];
  const shippedMin = Math.min(...samples.get("shipped")!.total);
  const shippedRounds = roundTotals.get("shipped")!;
  for (const n of names) {
    const per = samples.get(n)!;
    rows.push([
      n,
      ...passes.map((p) =>
        per[p] ? `${median(per[p]).toFixed(2)}/${Math.min(...per[p]).toFixed(2)}` : "-"
      ),
      median(roundTotals.get(n)!.map((t, r) => t / shippedRounds[r])).toFixed(3),
      (Math.min(...per.total) / shippedMin).toFixed(3),
      n === "shipped" ? "-" : String(diffs.get(n)),
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) console.log(r.map((x, i) => x.padEnd(widths[i])).join("  "));
}

if (import.meta.main) await main();
