/**
 * Derive the parity tolerance table from observed kernel errors: run every supported
 * case of a matrix (default: smoke) under several input seeds on the current device,
 * collect the errors against the float64 reference per (dtype, path), and print a
 * Markdown table of the observed maxima and of the values with the margin applied.
 *
 *   DENO_WEBGPU_BACKEND=vulkan deno run -A tools/derive_tolerances.ts --seeds 8 > attention.md
 *
 * `--mode layer` does the same for the matrix's full-layer cases (`mode: layer`), per
 * dtype and path (`layerToleranceFor`: f16's absorbed path has a cell of its own since
 * session 62), adding the output's norm_rel, and prints the section "The full layer". docs/tolerances.md holds both, with
 * both device classes' tables and the tolerances in use: put a new output in its place
 * there by hand (redirecting into the file would drop the rest).
 *
 * `--backend <id>` runs every case on that bundled backend instead of the adapter's pick (as
 * `run --backend`): each device class picks one kernel per path and shape, and the others
 * (`wgsl-absorbed` on lavapipe's cpu class, which picks `wgsl-absorbed-gemm`) are held to the
 * same cell. A case it refuses has no output to measure.
 *
 * A case run with no output to measure (a case refused on this device, as f16 on an adapter
 * without shader-f16, or one that failed) is listed after the table, which then says how many
 * runs it covers, and the exit status is 1; when no run gave an output there is no table.
 *
 * @module
 */
import { toolArgs } from "./tool_args.ts";
import { plural } from "../util/plural.ts";
import type { MlaSpec } from "../adapter/types.ts";
import { BUNDLED_BACKENDS } from "../adapter/backends.ts";
import { HARNESS_FEATURES } from "../gpu/device.ts";
import { toolGpuContext } from "./tool_gpu.ts";
import { layerToleranceFor, TOLERANCE_MARGIN, TOLERANCES } from "../parity/tolerance.ts";
import { runCase } from "../runner/run_case.ts";
import { selectCases } from "../runner/run_matrix.ts";
import { shellWord } from "../report/finish_commands.ts";
import { chooseBackend, systemProbe } from "../gpu/backend_choice.ts";

const { values } = toolArgs(
  {
    options: {
      matrix: { type: "string", default: "smoke" },
      seeds: { type: "string", default: "8" },
      filter: { type: "string" },
      mode: { type: "string", default: "attention" },
      backend: { type: "string" },
    },
  },
  "usage: deno run -A tools/derive_tolerances.ts [--matrix <name|file>] [--filter <sel>] " +
    "[--seeds <n>] [--mode attention|layer] [--backend <id>]",
);
const mode = values.mode;
if (mode !== "attention" && mode !== "layer") {
  console.error(`--mode ${mode}: expected attention or layer`);
  Deno.exit(2);
}
// A table of no runs would print as one of no errors: refused, as the other bad input.
const seeds = Number(values.seeds);
if (!/^\d+$/.test(values.seeds) || !Number.isSafeInteger(seeds) || seeds < 1) {
  console.error(`--seeds ${values.seeds}: expected a whole number of seeds, at least 1`);
  Deno.exit(2);
}
// a backend not bundled would fail every case run alike: refused as the other bad input
if (values.backend !== undefined && !Object.hasOwn(BUNDLED_BACKENDS, values.backend)) {
  console.error(
    `--backend ${values.backend}: expected a bundled backend (${
      Object.keys(BUNDLED_BACKENDS).join(", ")
    })`,
  );
  Deno.exit(2);
}
let selected: Awaited<ReturnType<typeof selectCases>>;
try {
  selected = await selectCases({ matrix: values.matrix, filter: values.filter });
} catch (e) {
  // an unknown matrix, a malformed filter: the harness's own message, not a stack trace
  console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
  Deno.exit(2);
}
const { mine, baseDir } = selected;
// One mode at a time: the full layer has its own tolerance (layerToleranceFor).
const cases = mine.filter((c) => c.expect.support === "supported" && c.params.mode === mode);
if (cases.length === 0) {
  console.error(
    `no supported ${mode === "layer" ? "full-layer (mode=layer)" : "attention (mode=attention)"} ` +
      `case in matrix ${values.matrix}${
        values.filter ? ` with filter ${values.filter}` : ""
      } (${mine.length} selected): nothing to derive a tolerance from`,
  );
  Deno.exit(2);
}
const ctx = await toolGpuContext("derive_tolerances", { optionalFeatures: HARNESS_FEATURES });
const specCache = new Map<string, Promise<MlaSpec>>();

interface Worst {
  outAbs: number;
  outCos: number;
  outNormRel: number;
  lseAbs: number;
  cases: number;
  where: string;
  lseWhere: string;
}
const worst = new Map<string, Worst>();
// Case runs with no output to measure (refused on this device, an error): listed in the output,
// which then says the table covers only the rest, and exit 1.
const skipped: string[] = [];
const t0 = performance.now();
for (let s = 0; s < seeds; s++) {
  for (const c of cases) {
    const r = await runCase({ ...c, seed: 1000 + s }, {
      ctx,
      baseDir,
      repeats: 0,
      specCache,
      backend: values.backend,
    });
    if (!r.out || !r.lse) {
      console.error(`skipped ${c.id}: ${r.status} ${r.message}`);
      skipped.push(`${c.id} (seed ${1000 + s}): ${r.status}: ${r.message}`);
      continue;
    }
    const key = `${c.params.dtype}/${c.params.path}`;
    const w = worst.get(key) ??
      { outAbs: 0, outCos: 0, outNormRel: 0, lseAbs: 0, cases: 0, where: "", lseWhere: "" };
    if (r.out.maxAbs > w.outAbs) w.where = `${c.id} (seed ${1000 + s})`;
    if (r.lse.maxAbs > w.lseAbs) w.lseWhere = `${c.id} (seed ${1000 + s})`;
    w.outAbs = Math.max(w.outAbs, r.out.maxAbs);
    w.outCos = Math.max(w.outCos, r.out.cosDiff);
    w.outNormRel = Math.max(w.outNormRel, r.out.normRel ?? 0);
    w.lseAbs = Math.max(w.lseAbs, r.lse.maxAbs);
    w.cases++;
    worst.set(key, w);
  }
  console.error(`seed ${s + 1}/${seeds} done (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
}
ctx.destroy();
const runs = cases.length * seeds;
if (skipped.length === runs) {
  console.error(
    `derive_tolerances: none of the ${runs} case runs gave an output to measure ` +
      `(each is listed above): no table`,
  );
  Deno.exit(1);
}

// The command as run: the backend, the device class and the filter decide which kernels and
// cases it saw (wgpu's default backend, where the harness leaves it, is named by no variable).
const backend = chooseBackend(systemProbe()).backend;
const deviceClass = Deno.env.get("MLA_HARNESS_DEVICE_CLASS");
const command = [
  deviceClass ? `MLA_HARNESS_DEVICE_CLASS=${deviceClass} ` : "",
  backend === "default" ? "" : `DENO_WEBGPU_BACKEND=${shellWord(backend)} `,
  "deno run -A tools/derive_tolerances.ts --matrix ",
  shellWord(values.matrix),
  values.filter ? ` --filter ${shellWord(values.filter)}` : "",
  mode === "layer" ? " --mode layer" : "",
  values.backend ? ` --backend ${shellWord(values.backend)}` : "",
  ` --seeds ${seeds}`,
].join("");
const up = (x: number) => Number((x * TOLERANCE_MARGIN).toPrecision(2));
const e = (x: number) => x.toExponential(1);
console.log(
  [...(mode === "layer" ? layerSection() : attentionDoc()), ...skippedLines()].join("\n"),
);
if (skipped.length > 0) {
  console.error(
    `derive_tolerances: ${skipped.length} of the ${runs} case runs skipped (listed at the end ` +
      `of the output): the table covers only the other ${runs - skipped.length}`,
  );
  Deno.exit(1);
}

/** What ran: every case under every seed, or which case runs were skipped. */
function ranLine(): string {
  // with --filter, "every supported case of the matrix" claimed cases that never ran
  const selection = values.filter ? ` selected by --filter ${shellWord(values.filter)}` : "";
  return skipped.length === 0
    ? `Every supported ${
      mode === "layer" ? "full-layer " : ""
    }case of the \`${values.matrix}\` matrix${selection} ran under ${plural(seeds, "input seed")}`
    : `${
      runs - skipped.length
    } of the ${runs} runs of the \`${values.matrix}\` matrix's supported ${
      mode === "layer" ? "full-layer " : ""
    }cases${selection} under ${
      plural(seeds, "input seed")
    } ran (${skipped.length} skipped, listed below)`;
}

/** The skipped case runs, after the table (none: nothing). */
function skippedLines(): string[] {
  if (skipped.length === 0) return [];
  return [
    "",
    `Skipped (${skipped.length} case runs, not in the table):`,
    "",
    ...skipped.map((x) => `- ${x}`),
  ];
}

/** The command as run and the machine it ran on: the head of either output. */
function commandLines(): string[] {
  return [
    `Command: \`${command}\``,
    `on ${ctx.caps.adapter.description} (${Deno.build.os} ${Deno.build.arch}, Deno ${Deno.version.deno}).`,
  ];
}

/** The full layer's section: one row per dtype, norm_rel beside cos_diff. */
function layerSection(): string[] {
  const out = [
    "## The full layer",
    "",
    ...commandLines(),
    "",
    `${ranLine()},`,
    "against the float64 layer reference of what the GPU layer stores (`storedAs`), one row per",
    `dtype and path. Observed maximum, times the margin (${TOLERANCE_MARGIN}), and the value in use`,
    "(`layerToleranceFor` in parity/tolerance.ts: f32's paths share a cell, f16's do not).",
    "",
    "| dtype/path | case runs | out max abs | x margin | in use (atol) | out cos_diff | x margin | in use | out norm_rel | x margin | in use | LSE max abs | x margin | in use (atol) |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const [key, w] of [...worst].sort()) {
    const [dtype, path] = key.split("/") as ["f32" | "f16", "absorbed" | "expanded"];
    const t = layerToleranceFor(dtype, path);
    out.push(
      `| ${key} | ${w.cases} | ${e(w.outAbs)} | ${up(w.outAbs)} | ${t.out.atol} | ${
        e(w.outCos)
      } | ${up(w.outCos)} | ${t.out.maxCosDiff} | ${e(w.outNormRel)} | ${
        up(w.outNormRel)
      } | ${t.out.maxNormRel} | ${e(w.lseAbs)} | ${up(w.lseAbs)} | ${t.lse.atol} |`,
    );
  }
  out.push("", "Largest output and LSE error seen, per dtype and path:", "");
  for (const [key, w] of [...worst].sort()) {
    out.push(`- ${key}: out ${w.where}; LSE ${w.lseWhere}`);
  }
  return out;
}

/** The attention cells' document: one row per dtype/path. */
function attentionDoc(): string[] {
  const lines = [
    "# Parity tolerances: how they were derived",
    "",
    ...commandLines(),
    "",
    `${ranLine()}; the table`,
    `shows the largest error seen per dtype and path and that value times the margin (${TOLERANCE_MARGIN}),`,
    "rounded to two significant digits, next to the tolerance in use (parity/tolerance.ts).",
    "",
    "| dtype/path | case runs | out max abs | x margin | in use (atol) | out cos_diff | x margin | in use | LSE max abs | x margin | in use (atol) |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const [key, w] of [...worst].sort()) {
    const [dtype, path] = key.split("/") as ["f32" | "f16", "absorbed" | "expanded"];
    const t = TOLERANCES[dtype][path];
    lines.push(
      `| ${key} | ${w.cases} | ${e(w.outAbs)} | ${up(w.outAbs)} | ${t.out.atol} | ${
        e(w.outCos)
      } | ${up(w.outCos)} | ${t.out.maxCosDiff} | ${e(w.lseAbs)} | ${
        up(w.lseAbs)
      } | ${t.lse.atol} |`,
    );
  }
  lines.push("", "Largest output error seen, per dtype/path:", "");
  for (const [key, w] of [...worst].sort()) lines.push(`- ${key}: ${w.where}`);
  lines.push("", "Largest LSE error seen, per dtype/path:", "");
  for (const [key, w] of [...worst].sort()) lines.push(`- ${key}: ${w.lseWhere}`);
  return lines;
}
