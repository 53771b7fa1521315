/**
 * `layer`: the full MLA layer on given (or seeded random) weights, from a
 * safetensors input to a safetensors output, checked against the float64
 * reference. The work is `layerFromFiles` (runner/layer_files.ts).
 *
 * Exit codes: 0 success; 1 parity failure; 2 bad input (config, malformed file,
 * missing/unexpected/mis-shaped tensors, cu_seqlens); 3 no adapter or the device
 * cannot run the case (e.g. f16 without shader-f16); 4 a --plant-fault the check did
 * not catch.
 *
 * @module
 */
import {
  BACKEND_MODULE_HELP,
  checkBackendId,
  collect,
  compiledBarrierLines,
  loadBackendModuleOptions,
  unselectedModuleLines,
} from "./backend_options.ts";
import { Command, InvalidArgumentError, Option } from "@commander-js/extra-typings";
import { PRESET_NAMES } from "../adapter/presets.ts";
import { LAYER_FAULTS, layerFault } from "../kernels/layer_faults.ts";
import {
  checkWeightOptions,
  DEFAULT_CHECK_ROWS,
  INPUT_TENSOR,
  layerFromFiles,
} from "../runner/layer_files.ts";
import { EXIT } from "./errors.ts";
import { checkOptionNeeds } from "./option_needs.ts";
import { parseIntList, parseNonNegativeInt, parsePositiveInt } from "./options.ts";
import {
  checkRuntimeCombination,
  chromiumOption,
  runtimeOption,
  startChromiumRuntime,
} from "./runtime_options.ts";
import { compiledBarrierFindings } from "../kernels/module_barriers.ts";
import { plural } from "../util/plural.ts";

/**
 * Parse `--config`: an empty value (`--config ""`, an unset shell variable) would be reported
 * as the config `""` with no flag name; commander names the flag with this message.
 *
 * @example
 * ```ts
 * import { parseConfigArg } from "./layer.ts";
 * parseConfigArg("tiny"); // "tiny"
 * ```
 */
export function parseConfigArg(value: string): string {
  if (value.trim() === "") {
    throw new InvalidArgumentError(
      `it is empty; give a preset name (${PRESET_NAMES.join(", ")}) or a config.json path`,
    );
  }
  return value;
}

/** Parse `--input` and `--weights`: an empty value is refused, naming the flag. */
function parseFileArg(value: string): string {
  if (value.trim() === "") throw new InvalidArgumentError("it is empty; give a .safetensors file");
  return value;
}

/**
 * Build the `layer` command.
 *
 * @example
 * ```ts ignore
 * import { layerCommand } from "./layer.ts";
 * const cmd = layerCommand();
 * ```
 */
export function layerCommand() {
  return new Command("layer")
    .description(
      "Run the full MLA layer (projections, norms, RoPE, attention, o_proj) on the GPU from a " +
        `safetensors input (${INPUT_TENSOR}: [batch, seq, hidden], or [tokens, hidden] with ` +
        "--cu-seqlens) to a safetensors output (output: the input's shape, F32; lse: " +
        "[tokens, heads], F32), and compare it with the float64 reference. Weights: HF names " +
        "(model.layers.N.self_attn.*, self_attn.*, or a multimodal checkpoint's " +
        "language_model.model.layers.N.self_attn.*), F32/F16/BF16 or F8_E4M3 with " +
        "weight_scale_inv block scales, one file or a model.safetensors.index.json (a sparse " +
        "config's self_attn.indexer.*, DeepSeek-V3.2's, is not read); seeded random without " +
        "--weights. Exit codes: 0 pass, 1 parity failure or a user backend's launch() that " +
        "throws (its message names the backend, the module and the line), 2 bad input (an " +
        "--out that is a folder, " +
        "is in a missing or unwritable folder, or is the --input or --weights file included), 3 " +
        "no adapter, or unsupported (a layer the harness does not compute included: an output " +
        "gate, attention biases or no latent norms), 4 a --plant-fault the check did not " +
        "catch (the inputs cannot show it).",
    )
    .requiredOption(
      "--config <config>",
      "preset name (tiny, deepseek-v2-lite, ...) or HF/Megatron config.json path",
      parseConfigArg,
    )
    .option(
      "--weights <file>",
      "layer weights (.safetensors, or a sharded checkpoint's model.safetensors.index.json); " +
        "seeded random when absent",
      parseFileArg,
    )
    .requiredOption("--input <file>", `input .safetensors holding ${INPUT_TENSOR}`, parseFileArg)
    .requiredOption("--out <file>", "output .safetensors (written atomically)")
    .addOption(
      new Option("--path <path>", "attention path").choices(["absorbed", "expanded"] as const)
        .default("absorbed" as const),
    )
    .addOption(
      new Option("--dtype <dtype>", "storage dtype").choices(["f32", "f16"] as const).default(
        "f32" as const,
      ),
    )
    .option(
      "--cu-seqlens <list>",
      "packed input [tokens, hidden]: cumulative sequence lengths, e.g. 0,5,12",
      parseIntList,
    )
    .option(
      "--backend <id>",
      "attention backend (a registered id, e.g. one of --backend-module); it decides the " +
        "path (an explicit --path of the other path is exit 2)",
    )
    .option("--backend-module <path>", BACKEND_MODULE_HELP, collect, [] as string[])
    .option("--layer <n>", "layer index in the weights file", parseNonNegativeInt)
    .option(
      "--attention-module <n>",
      "which attention module of the layer, where it holds several (LongCat-Flash: " +
        "self_attn.0.* and self_attn.1.*)",
      parseNonNegativeInt,
    )
    .option("--seed <n>", "seed of the random weights", parseNonNegativeInt, 1)
    .option("--no-check", "skip the float64 reference comparison")
    .option(
      "--check-rows <n>",
      "most token rows the reference computes (boundaries always); with --no-check: exit 2",
      // 0 rows would still check each sequence's first and last rows, as 1 does: refused
      parsePositiveInt,
      DEFAULT_CHECK_ROWS,
    )
    .addOption(
      new Option(
        "--plant-fault <id>",
        "plant a layer kernel fault (the check should fail: exit 1; a fault the inputs " +
          "cannot show is reported NOT caught, exit 4, as run --plant-fault's)",
      ).choices(LAYER_FAULTS.map((f) => f.id)),
    )
    .addOption(runtimeOption())
    .addOption(chromiumOption())
    .action(async (opts, cmd) => {
      checkRuntimeCombination(opts.runtime, { backendModules: opts.backendModule });
      // --layer without --weights, --seed with them: refused, not ignored
      checkWeightOptions(opts, cmd.getOptionValueSource("seed") === "cli");
      // --check-rows bounds the reference check that --no-check skips
      checkOptionNeeds("layer", [{
        option: "--check-rows",
        value: cmd.getOptionValueSource("checkRows") === "cli" ? String(opts.checkRows) : undefined,
        needs: "the float64 reference check",
        met: opts.check,
        missing: "--no-check skips it",
        fix: "drop --check-rows or --no-check",
      }]);
      const loaded = await loadBackendModuleOptions(opts.backendModule);
      const backend = opts.backend === undefined ? undefined : checkBackendId(opts.backend);
      for (const line of unselectedModuleLines(loaded, [backend], "this layer")) {
        console.error(line);
      }
      // --runtime chromium: the layer runs in the page (the reference stays here)
      const remote = opts.runtime === "chromium"
        ? await startChromiumRuntime({ chromium: opts.chromium })
        : undefined;
      const r = await layerFromFiles({
        ctx: remote,
        backend,
        config: opts.config,
        weights: opts.weights,
        input: opts.input,
        out: opts.out,
        // Only a --path the user gave: with --backend, the backend decides the path.
        path: cmd.getOptionValueSource("path") === "cli" ? opts.path : undefined,
        dtype: opts.dtype,
        cuSeqlens: opts.cuSeqlens,
        layer: opts.layer,
        attentionModule: opts.attentionModule,
        check: opts.check,
        // only the values the user gave: layerFromFiles refuses them where they would be
        // ignored (checked above with the flags' wording; its defaults are the flags')
        checkRows: cmd.getOptionValueSource("checkRows") === "cli" ? opts.checkRows : undefined,
        seed: cmd.getOptionValueSource("seed") === "cli" ? opts.seed : undefined,
        plantFault: opts.plantFault,
      }).finally(() => remote?.close());
      // a race in what a user backend's launch compiled, that its module's files did not show
      for (const line of compiledBarrierLines(compiledBarrierFindings(), loaded)) {
        console.error(line);
      }
      const l = r.plan.layout;
      console.log(
        `layer ${r.spec.name}: ${plural(l.totalQ, "token")} in ${
          plural(l.seqs.length, "sequence")
        } (${l.kind}), ` +
          `path ${r.plan.path}, dtype ${r.plan.variant.dtype}, backend ${r.plan.backend}, ` +
          `weights ${r.weightsFrom}` +
          // LongRoPE (MiniCPM3): the list the longest sequence's keys call for
          (r.spec.longrope ? `, LongRoPE ${r.spec.longrope.factors}_factor` : "") +
          (opts.plantFault ? `, planted fault ${opts.plantFault}` : ""),
      );
      console.log(
        `wrote ${opts.out}: output [${
          [...r.inputShape.slice(0, -1), r.spec.hiddenSize].join(", ")
        }]` +
          `, lse [${l.totalQ}, ${r.spec.numHeads}] (F32)`,
      );
      if (!r.parity) {
        console.log("parity: not checked (--no-check)");
        return;
      }
      const p = r.parity;
      console.log(
        `parity vs float64 reference (${p.rows.length} of ${plural(l.totalQ, "row")}${
          p.rows.length < l.totalQ ? "; first/last token of each sequence included" : ""
        }): ${p.pass ? "PASS" : "FAIL"}`,
      );
      console.log(`  ${p.out.summary}`);
      console.log(`  ${p.lse.summary}`);
      if (!p.pass) Deno.exitCode = EXIT.failure;
      else if (opts.plantFault) {
        // The check passed with a fault in the kernels: say so, or a passing run reads
        // as "the fault is caught elsewhere"; exit 4, as run --plant-fault's fault that
        // slipped through (it was 0: a CI self-test read it as fine)
        console.log(
          `planted fault ${opts.plantFault} NOT caught on these inputs: it shows with ` +
            `${layerFault(opts.plantFault).observableWith}; exit 4`,
        );
        Deno.exitCode = EXIT.faultUncaught;
      }
    });
}
