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
import { EXIT } from "./errors.ts";
import { layoutFromFlags, parseIntList, parseNonNegativeInt, parsePositiveInt } from "./options.ts";

/** How the command gets device capabilities when no --caps file is given. */
export type CapsProbe = () => Promise<DeviceCaps | null>;

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
        "Exit codes: 0 supported, 3 unsupported, 2 bad input.",
    )
    .argument(
      "<config>",
      "preset name (deepseek-v2-lite, deepseek-v3, tiny, ...) or config.json path",
    )
    .addOption(
      new Option("--format <naming>", "config naming (detected when absent)").choices(
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
    .option("--batch <n>", "sequences (bshd/sbhd)", parsePositiveInt, 1)
    .option("--seq-q <n>", "query tokens per sequence (bshd/sbhd)", parsePositiveInt, 1)
    .option("--seq-k <n>", "key tokens per sequence (bshd/sbhd)", parseNonNegativeInt, 128)
    .option("--kv-lens <list>", "per-sequence cache lengths, decode (bshd/sbhd)", parseIntList)
    .option("--cu-seqlens <list>", "cumulative query lengths (thd), e.g. 0,5,12", parseIntList)
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
      "force KV splits (wgsl-absorbed, wgsl-absorbed-tiled; a backend whose plan runs another count is unsupported: variant.kv-splits)",
      parsePositiveInt,
    )
    .option("--caps <file>", "device capabilities JSON (from `devices --json`) instead of probing")
    .option("--no-device", "decide as if no WebGPU adapter existed")
    .option(
      "--json",
      "print JSON ({spec, dtype, caps, resolution, config}); config says which RoPE shape " +
        "was read and lists every defaulted field",
    )
    .action(async (config, opts, cmd) => {
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
