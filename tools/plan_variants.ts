/**
 * Variants of the adapter's plan for the GPU-shaped kernels, for A/B timing on a lent GPU:
 * each changes one choice that a session made without a GPU measurement and benches the cases
 * it names. `bench` in the tree itself (the GPU machine's `bench` step) gives the shipped
 * plan's figures on the same cases, so the two tables in one log answer whether the choice
 * pays. Plan parameters are not kernel text, so `tools/kernel_variants.ts` (which swaps a
 * kernel file) cannot express these. A choice that is a plan-tuning knob
 * (adapter/plan_tuning.ts) is a tuning variant, benched in this tree with MLA_HARNESS_TUNING;
 * any other is made by edits in a copy of the tree.
 *
 *   deno run -A tools/plan_variants.ts --check                 # every variant applies (CI)
 *   deno run -A tools/plan_variants.ts --work /tmp/plans       # tune or copy and edit, bench
 *   deno run -A tools/plan_variants.ts --work /tmp/plans --only rows8 --cached-only
 *
 * An edit whose text the file no longer holds, or a tuning that is invalid or changes no
 * knob, is an error naming it (exit 1), so a change of the plan's code cannot silently void a
 * variant.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { copyTree } from "../util/fs.ts";
import { applyTextEdits, type TextVariant } from "./kernel_variants.ts";
import { parseTuningKnobs, tuningChanges } from "../adapter/plan_tuning.ts";
import type { PlanTuning } from "../adapter/types.ts";

/**
 * One plan variant made by edits of one file of the tree (`file` relative to its root; `name`
 * a folder of --work), benched in a copy of the tree: for a choice no tuning knob reaches.
 */
export interface EditPlanVariant extends TextVariant {
  /** `main.ts bench` arguments selecting the cases (the GPU's bench step times them too). */
  readonly bench: readonly string[];
  /** Edit variants carry no tuning. */
  readonly tuning?: undefined;
}

/**
 * One plan variant that is a plan tuning (adapter/plan_tuning.ts): benched in the tree itself
 * with MLA_HARNESS_TUNING naming a file of these knobs (since session 41; until then these
 * variants edited tiled_plan.ts's constants in a copy of the tree).
 */
export interface TuningPlanVariant {
  /** Name (a folder of --work). */
  readonly name: string;
  /** The choice it undoes or tries. */
  readonly description: string;
  /** The knobs. */
  readonly tuning: PlanTuning;
  /** `main.ts bench` arguments selecting the cases (the GPU's bench step times them too). */
  readonly bench: readonly string[];
}

/** A plan variant: a tuning, or edits in a copy of the tree. */
export type PlanVariant = EditPlanVariant | TuningPlanVariant;

const HEADLINE_ABSORBED_DECODE = ["--filter", "path=absorbed;sq=1"];

/** The variants `tools/gpu_machine_check.sh` times on a GPU (step `ab_plans`). */
export const PLAN_VARIANTS: readonly PlanVariant[] = [
  {
    name: "wg128",
    description: "the tiled decode's plan before session 33: q segments up to 32 vec4s, so " +
      "V2-Lite runs 128 invocations (RADV: 256 VGPRs and spills in f32) instead of 256",
    tuning: { tiledMaxQVec4: 32 },
    bench: HEADLINE_ABSORBED_DECODE,
  },
  {
    name: "rows8",
    description: "8 rows a workgroup instead of up to 32: V2-Lite's 16 heads in 2 head tiles, " +
      "twice the workgroups (each key tile read twice) for a GPU the headline leaves at one " +
      "workgroup an SM (session 30: latency-bound)",
    tuning: { tiledMaxRows: 8 },
    bench: HEADLINE_ABSORBED_DECODE,
  },
  {
    name: "split64",
    description: "KV splits of at least 64 keys instead of 128: the headline decode's 32 " +
      "splits become 64 (the session 30 sweep, unwarmed, fell with every doubling)",
    tuning: { tiledMinKeysPerSplit: 64 },
    bench: HEADLINE_ABSORBED_DECODE,
  },
  {
    name: "fa2chunk4",
    description: "the FA2 prefill's score GEMM staged 4 vec4s of the head width at a time, as " +
      "before session 34 (V2-Lite: 12 chunks and 24 barriers a key tile, not 4 and 8)",
    tuning: { fa2MaxChunkVec4: 4 },
    bench: ["--filter", "path=expanded;b=1;sq=256"],
  },
  {
    name: "projlanes",
    file: "adapter/harness_tiles.ts",
    description: "the query absorption and up-projection as before session 35 on a GPU too: " +
      "absorb_q.wgsl and up_proj.wgsl, one invocation walking the whole reduction (768 and " +
      "128 invocations at the headline decode), not the split forms' 80 and 128 workgroups " +
      "(compare the submission ms and passes.absorb_q, passes.up_proj: bench's ms, the " +
      "attention core, leaves the projections out)",
    edits: [{
      pattern: 'const gpu = options.deviceClass === "gpu";',
      replacement: "const gpu = false;",
    }],
    bench: HEADLINE_ABSORBED_DECODE,
  },
  {
    name: "tier48k",
    description: "a 48 KiB workgroup-memory tier for devices that have it (the H100 and H200 " +
      "offer 49152 bytes), not the 32 KiB one: the f16 headline decode stages 16 keys a tile, " +
      "not 8, so half the tiles and barriers a split (f32 keeps 8: 16 keys need 54 KB); " +
      "lavapipe's 32 KiB cannot hold that tile, so its form is tested there at kv_lora_rank 256 " +
      "(tests/kernels_absorbed_tiled_test.ts)",
    tuning: { tiledTier: 49152 },
    bench: HEADLINE_ABSORBED_DECODE,
  },
  {
    name: "kpt1",
    file: "adapter/tiled_plan.ts",
    description: "the tiled decode's partial scores one key a trip on a GPU too, as before " +
      "session 36, not two (RADV: 76 instructions a key, one LDS load in flight, against 71 " +
      "and two; lavapipe's gpu-class run was 3% faster with one)",
    edits: [{
      pattern: "return form.unrolledLoops === true && form.subgroups !== true ? 2 : 1;",
      replacement: "return form.unrolledLoops === true && form.subgroups !== true ? 1 : 1;",
    }],
    bench: HEADLINE_ABSORBED_DECODE,
  },
];

/** Paths of the tree a variant's copy leaves out: history, the GPU machine's carry, outputs. */
const NOT_COPIED = [".git", ".device", ".gl", "out", "node_modules"];

/**
 * Copy the tree at `root` to `dir` (files and folders; links and {@link NOT_COPIED} left
 * out) and apply `v`'s edits to its file there. Throws a RangeError naming the first edit the
 * file does not hold.
 *
 * @example
 * ```ts ignore
 * import { type EditPlanVariant, PLAN_VARIANTS, planVariantTree } from "./plan_variants.ts";
 * const edit = PLAN_VARIANTS.find((v): v is EditPlanVariant => v.tuning === undefined);
 * if (edit) await planVariantTree(edit, ".", `/tmp/plans/${edit.name}`);
 * ```
 */
export async function planVariantTree(
  v: EditPlanVariant,
  root: string,
  dir: string,
): Promise<void> {
  const edited = applyTextEdits(await Deno.readTextFile(`${root}/${v.file}`), v.edits, {
    what: `plan variant ${v.name}`,
    file: v.file,
    fix: "update the variant in tools/plan_variants.ts",
  });
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await copyTree(root, dir, { skip: NOT_COPIED });
  await Deno.writeTextFile(`${dir}/${v.file}`, edited);
}

/** Where a variant acts: its file, or its tuning's knobs. */
function variantWhere(v: PlanVariant): string {
  return v.tuning === undefined ? v.file : `tuning ${JSON.stringify(v.tuning)}`;
}

const HELP =
  `tools/plan_variants.ts: bench variants of the adapter's plan (tunings, or copies of the tree)

usage: deno run -A tools/plan_variants.ts (--check | --work DIR) [--only NAME] [--cached-only]

  --check        check every variant's tuning or apply its edits in memory, and report;
                 nothing is benched
  --work DIR     for each variant: a tuning variant writes DIR/<name>/tuning.json and runs
                 \`main.ts bench\` in this tree with MLA_HARNESS_TUNING naming it; an edit
                 variant copies the tree to DIR/<name>, applies its edits and runs bench there
                 (output to this process's, the report in DIR/<name>/out); each variant's
                 failure is reported and the next runs
  --only NAME    just this variant
  --cached-only  run bench with --cached-only (a machine with no network)

Variants:
${PLAN_VARIANTS.map((v) => `  ${v.name} (${variantWhere(v)}): ${v.description}`).join("\n")}

Exit 0 when every variant applied (and benched); 1 when one did not, named; 2 on bad
arguments.`;

/** Run `main.ts bench` of the tree at `cwd` on a variant's cases. */
function benchIn(
  cwd: string,
  v: PlanVariant,
  o: { out: string; cachedOnly: boolean; env: Record<string, string> },
): Promise<Deno.CommandOutput> {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...(o.cachedOnly ? ["--cached-only"] : []),
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-sys",
      "--allow-run=git",
      "main.ts",
      "bench",
      ...v.bench,
      "--out",
      o.out,
      "--title",
      `plan variant ${v.name}`,
    ],
    cwd,
    env: o.env,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: Deno.args,
      options: {
        check: { type: "boolean", default: false },
        work: { type: "string" },
        only: { type: "string" },
        "cached-only": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (values.check === (values.work !== undefined)) {
    console.error(`give exactly one of --check and --work DIR\n\n${HELP}`);
    return 2;
  }
  const chosen = PLAN_VARIANTS.filter((v) => !values.only || v.name === values.only);
  if (chosen.length === 0) {
    console.error(
      `--only ${values.only}: no such variant (${PLAN_VARIANTS.map((v) => v.name).join(", ")})`,
    );
    return 2;
  }
  // a --work that cannot be a folder is bad input, said once, not one failure per variant
  if (values.work !== undefined) {
    try {
      await Deno.mkdir(values.work, { recursive: true });
    } catch (e) {
      console.error(
        `--work ${values.work}: cannot be made a folder (${e instanceof Error ? e.message : e})`,
      );
      return 2;
    }
  }
  const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  let failed = 0;
  for (const v of chosen) {
    try {
      if (v.tuning !== undefined) {
        const knobs = parseTuningKnobs(v.tuning, `plan variant ${v.name}`);
        const changes = tuningChanges(knobs);
        if (changes.length === 0) {
          throw new Error("its tuning changes no knob from the adapter's default");
        }
        if (values.check) {
          console.log(`${v.name}: tuning ${changes.join(", ")}`);
          continue;
        }
        const dir = `${values.work}/${v.name}`;
        await Deno.mkdir(dir, { recursive: true });
        await Deno.writeTextFile(
          `${dir}/tuning.json`,
          JSON.stringify({ format: "mla-harness-tuning/1", knobs }),
        );
        console.log(`--- plan variant ${v.name} (tuning ${changes.join(", ")}): ${v.description}`);
        const out = await benchIn(root, v, {
          out: `${dir}/out`,
          cachedOnly: values["cached-only"] === true,
          env: { MLA_HARNESS_TUNING: `${dir}/tuning.json` },
        });
        if (!out.success) throw new Error(`bench exited ${out.code}`);
        continue;
      }
      if (values.check) {
        applyTextEdits(await Deno.readTextFile(`${root}/${v.file}`), v.edits, {
          what: `plan variant ${v.name}`,
          file: v.file,
          fix: "update the variant in tools/plan_variants.ts",
        });
        console.log(`${v.name}: applies to ${v.file}`);
        continue;
      }
      const dir = `${values.work}/${v.name}`;
      await planVariantTree(v, root, dir);
      console.log(`--- plan variant ${v.name}: ${v.description}`);
      const out = await benchIn(dir, v, {
        out: `${dir}/out`,
        cachedOnly: values["cached-only"] === true,
        env: {},
      });
      if (!out.success) throw new Error(`bench exited ${out.code}`);
    } catch (e) {
      failed++;
      console.error(`plan_variants: ${v.name}: ${e instanceof Error ? e.message : e}`);
    }
  }
  return failed > 0 ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main());
