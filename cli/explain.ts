/**
 * `explain`: print the canonical spec and the plan, or every reason a case is
 * unsupported. Exit 0 supported, 3 unsupported, 2 bad input.
 *
 * @module
 */
import {
  BACKEND_MODULE_HELP,
  checkBackendId,
  collect,
  loadBackendModuleOptions,
} from "./backend_options.ts";
import { Command, Option } from "@commander-js/extra-typings";
import { explainCase, formatExplanation, loadSpecReading } from "../adapter/explain.ts";
import type { DeviceCaps } from "../adapter/types.ts";
import { readCapsFile } from "../adapter/caps_file.ts";
import { PRESET_CONFIGS } from "../adapter/presets.ts";
import { CliError, EXIT } from "./errors.ts";
import { layoutFromFlags, parseAxisInt, parseIntList, parsePositiveInt } from "./options.ts";

/** How the command gets device capabilities when no --caps file is given. */
export type CapsProbe = () => Promise<DeviceCaps | null>;

/**
 * Refuse flags `explain` cannot honour together, exit 2 naming both: `--caps` (decide for
 * the device a file describes) with `--no-device` (decide as if there were no adapter), and
 * `--format` (how to read a config.json's naming) with a preset, which has no file to read.
 *
 * @example
 * ```ts
 * import { checkFlagCombinations } from "./explain.ts";
 * checkFlagCombinations("config.json", { format: "megatron", noDevice: true }); // fine
 * ```
 */
export function checkFlagCombinations(
  config: string,
  flags: { format?: string; caps?: string; noDevice?: boolean },
): void {
  if (flags.caps !== undefined && flags.noDevice) {
    throw new CliError(
      `--caps ${flags.caps} and --no-device cannot be used together: --caps decides for the ` +
        "device the file describes, --no-device as if no WebGPU adapter existed; leave one out",
      EXIT.badInput,
    );
  }
  if (flags.format !== undefined && Object.hasOwn(PRESET_CONFIGS, config)) {
    throw new CliError(
      `--format ${flags.format} cannot be used with the preset ${config}: --format says how ` +
        "to read a config.json's naming (hf or megatron), and a preset is not read from a " +
        "file; give a config.json path, or leave --format out",
      EXIT.badInput,
    );
  }
}

/**
 * Build the `explain` command.
 *
 * @example
 * ```ts ignore
 * import { explainCommand } from "./explain.ts";
 * const cmd = explainCommand(async () => null);
 * ```
 */
export function explainCommand(probe: CapsProbe) {
  return new Command("explain")
    .description(
      "Print the canonical MLA spec of a preset or config.json (HF or Megatron naming) and the " +
        "plan the adapter resolves for one case, or every reason it is unsupported. " +
        "The shape flags take the matrix schema's bounds (b <= 4096, sq and sk <= 1048576) and " +
        "at most 16777216 query or key tokens in all. " +
        "Exit codes: 0 supported, 3 unsupported, 2 bad input.",
    )
    .argument(
      "<config>",
      "preset name (deepseek-v2-lite, deepseek-v3, tiny, ...) or config.json path",
    )
    .addOption(
      new Option(
        "--format <naming>",
        "naming of a config.json (detected when absent; not with a preset, which has no " +
          "naming to read: exit 2)",
      ).choices(
        ["hf", "megatron"] as const,
      ),
    )
    .addOption(
      new Option("--pairing <pairing>", "override the RoPE pairing").choices(
        ["interleaved", "neox"] as const,
      ),
    )
    .addOption(
      new Option("--layout <layout>", "token layout").choices(["bshd", "sbhd", "thd"] as const)
        .default("bshd" as const),
    )
    .option("--batch <n>", "sequences (bshd/sbhd), 1 to 4096", parseAxisInt("b"), 1)
    .option(
      "--seq-q <n>",
      "query tokens per sequence (bshd/sbhd), 1 to 1048576",
      parseAxisInt("sq"),
      1,
    )
    .option(
      "--seq-k <n>",
      "key tokens per sequence (bshd/sbhd), 0 to 1048576",
      parseAxisInt("sk"),
      128,
    )
    .option("--kv-lens <list>", "per-sequence cache lengths, decode (bshd/sbhd)", parseIntList)
    .option(
      "--cu-seqlens <list>",
      "cumulative query lengths (thd), e.g. 0,5,12; at most 4096 sequences of 1048576 tokens",
      parseIntList,
    )
    .option(
      "--cu-seqlens-k <list>",
      "cumulative key lengths (thd; default = --cu-seqlens)",
      parseIntList,
    )
    .option("--no-causal", "attend to every key of the sequence")
    .addOption(
      new Option("--dtype <dtype>", "storage dtype").choices(["f32", "f16"] as const).default(
        "f32" as const,
      ),
    )
    .option(
      "--backend <backend>",
      "backend to resolve: auto, auto:absorbed or auto:expanded (the device-class choice " +
        "within a path, as a matrix case gets it), a bundled id (wgsl-absorbed, wgsl-expanded, " +
        "their -tiled and -gemm variants, cpu-reference), or the id of a --backend-module",
      "auto",
    )
    .option("--backend-module <path>", BACKEND_MODULE_HELP, collect, [] as string[])
    .option(
      "--kv-splits <n>",
      "force KV splits (wgsl-absorbed, wgsl-absorbed-tiled, wgsl-expanded-tiled; a backend whose plan runs another count is unsupported: variant.kv-splits)",
      parsePositiveInt,
    )
    .option(
      "--caps <file>",
      "device capabilities JSON (from `devices --json`) instead of probing (not with " +
        "--no-device: exit 2)",
    )
    .option("--no-device", "decide as if no WebGPU adapter existed (not with --caps: exit 2)")
    .option(
      "--json",
      "print JSON ({spec, dtype, caps, classified, resolution, config}); classified is the " +
        "device class (cpu or gpu) with its reasons, workgroup-memory tier and SM count; " +
        "config says which RoPE shape was read and lists every defaulted field",
    )
    .action(async (config, opts, cmd) => {
      checkFlagCombinations(config, {
        format: opts.format,
        caps: opts.caps,
        noDevice: cmd.getOptionValueSource("device") === "cli",
      });
      // a layout flag the layout does not read is refused, not dropped (defaults aside)
      const layout = layoutFromFlags(
        { ...opts, causal: opts.causal },
        (key) => cmd.getOptionValueSource(key) === "cli",
      );
      await loadBackendModuleOptions(opts.backendModule);
      const backend = checkBackendId(opts.backend, { allowAuto: true });
      const { spec, reading } = await loadSpecReading(config, {
        format: opts.format,
        ropePairing: opts.pairing,
      });
      const caps = opts.caps ? await readCapsFile(opts.caps) : opts.device ? await probe() : null;
      const e = explainCase(
        { spec, layout, dtype: opts.dtype, backend },
        caps,
        { kvSplits: opts.kvSplits, config: reading },
      );
      console.log(opts.json ? JSON.stringify(e, null, 2) : formatExplanation(e));
      if (e.resolution.kind === "unsupported") Deno.exitCode = EXIT.infra;
    });
}
