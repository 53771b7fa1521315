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
  unselectedModuleLines,
} from "./backend_options.ts";
import { Command, Option } from "@commander-js/extra-typings";
import { explainCase, formatExplanation } from "../adapter/explain.ts";
import { loadSpecReading } from "../adapter/source.ts";
import type { DeviceCaps } from "../adapter/types.ts";
import { readCapsFile } from "../adapter/caps_file.ts";
import { PRESET_CONFIGS } from "../adapter/presets.ts";
import { isBundledBackend } from "../adapter/registry.ts";
import { MAX_BUNDLED_KV_SPLITS } from "../adapter/backends.ts";
import { sha256Hex16 } from "../util/hash.ts";
import { CliError, EXIT } from "./errors.ts";
import { explainMatrixCase } from "../runner/explain_case.ts";
import { profileLimitWarnings } from "../runner/case_request.ts";
import { nearest } from "../util/edit_distance.ts";
import { configFileOf, isConfigPath } from "../matrix/config_paths.ts";
import { selectCases } from "../runner/run_matrix.ts";
import { excludedCase } from "../matrix/select.ts";
import { DEFAULT_MAX_CASES } from "../matrix/expand.ts";
import { ConfigError, formatIssue } from "../adapter/errors.ts";
import { AXIS_BOUNDS, MAX_LAYOUT_TOKENS } from "../matrix/schema.ts";
import {
  CONFIG_ROOT_HELP,
  layoutFromFlags,
  parseAxisInt,
  parseIntList,
  parseLengthList,
  parsePositiveInt,
  refuseBenchMatrix,
} from "./options.ts";
import { normalizeLayout } from "../adapter/layout.ts";
import type { LayoutRequest } from "../adapter/types.ts";
import { plural } from "../util/plural.ts";
import { environmentCapsOverrides, type UserCaps } from "../gpu/device.ts";

/**
 * The notes (stderr) for MLA_HARNESS_SM_COUNT, MLA_HARNESS_DEVICE_CLASS and
 * MLA_HARNESS_TUNING when `explain` decides for another device (`--caps`, `--no-device`): they
 * are for the device the harness runs on and are not applied, which the plan printed would
 * otherwise not say (a user who set MLA_HARNESS_TUNING read an untuned plan as the tuned
 * one). Each names the caps file's key that does set it. Empty when the command probes.
 *
 * @example
 * ```ts
 * import { unappliedEnvironmentNotes } from "./explain.ts";
 * unappliedEnvironmentNotes({ caps: "h100.json" }, { smCount: 20, smCountFrom: "MLA_HARNESS_SM_COUNT" });
 * // ['note: MLA_HARNESS_SM_COUNT=20 is not applied: --caps h100.json decides for ...']
 * ```
 */
export function unappliedEnvironmentNotes(
  flags: { caps?: string; noDevice?: boolean },
  env: UserCaps = environmentCapsOverrides(),
): string[] {
  if (flags.caps === undefined && !flags.noDevice) return [];
  const who = flags.caps === undefined
    ? "--no-device decides as if there were no device"
    : `--caps ${flags.caps} decides for the device that file describes`;
  const set = (key: string) =>
    flags.caps === undefined ? "" : ` (the caps file's "${key}" key sets it there)`;
  const notes: string[] = [];
  if (env.smCountFrom !== undefined) {
    notes.push(`${env.smCountFrom}=${env.smCount} is not applied: ${who}${set("smCount")}`);
  }
  if (env.deviceClassFrom !== undefined) {
    notes.push(
      `${env.deviceClassFrom}=${env.deviceClass} is not applied: ${who}${set("deviceClass")}`,
    );
  }
  if (env.tuningFrom !== undefined) {
    notes.push(`${env.tuningFrom} is not applied: ${who}${set("tuning")}`);
  }
  return notes.map((n) => `note: ${n}`);
}

/** An axis's bounds as the help states them ("1 to 4096"). */
const axisRange = (axis: string) => `${AXIS_BOUNDS[axis].min} to ${AXIS_BOUNDS[axis].max}`;

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
        `The shape flags take the matrix schema's bounds (b <= ${AXIS_BOUNDS.b.max}, sq <= ` +
        `${AXIS_BOUNDS.sq.max}, sk <= ${AXIS_BOUNDS.sk.max}) and at most ${MAX_LAYOUT_TOKENS} ` +
        "query or key tokens in all. " +
        "Exit codes: 0 supported, 3 unsupported, 2 bad input.",
    )
    .argument(
      "[config]",
      "preset name (deepseek-v2-lite, deepseek-v3, tiny, ...) or config.json path (not with " +
        "--case, whose id names it)",
    )
    .option(
      "--case <id>",
      "explain this case of --matrix as `run` resolves it: the request from its parameters " +
        "(heads, paging, varlen, KV splits, device profile, backend axis), e.g. an id copied " +
        "from a report; the shape flags, --dtype, --kv-splits, --format, --pairing and a " +
        "config argument do not go with it (exit 2); --backend overrides the case's as " +
        "`run --backend` does",
    )
    .option("--matrix <name|file>", "with --case: the matrix that holds it (default smoke)")
    .option(
      "--config-root <dir>",
      `with --case: the run's --config-root, the ${CONFIG_ROOT_HELP}`,
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
    .option("--batch <n>", `sequences (bshd/sbhd), ${axisRange("b")}`, parseAxisInt("b"), 1)
    .option(
      "--seq-q <n>",
      `query tokens per sequence (bshd/sbhd), ${axisRange("sq")}`,
      parseAxisInt("sq"),
      1,
    )
    .option(
      "--seq-k <n>",
      `key tokens per sequence (bshd/sbhd), ${axisRange("sk")}`,
      parseAxisInt("sk"),
      128,
    )
    .option("--kv-lens <list>", "per-sequence cache lengths, decode (bshd/sbhd)", parseLengthList)
    .option(
      "--cu-seqlens <list>",
      `cumulative query lengths (thd), e.g. 0,5,12; at most ${AXIS_BOUNDS.b.max} sequences ` +
        `of ${AXIS_BOUNDS.sq.max} tokens`,
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
      "force KV splits (1 to 64 on wgsl-absorbed, wgsl-absorbed-tiled, wgsl-expanded-tiled; a backend whose plan runs another count is unsupported: variant.kv-splits)",
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
      const given = (key: string) => cmd.getOptionValueSource(key) === "cli";
      if (opts.case !== undefined) {
        await explainCaseOf(opts.case, { ...opts, config, given }, probe);
        return;
      }
      if (opts.matrix !== undefined) {
        throw new CliError(
          `--matrix ${opts.matrix} is read with --case <id> only (the matrix that holds the ` +
            "case); give --case, or leave --matrix out",
          EXIT.badInput,
        );
      }
      if (opts.configRoot !== undefined) {
        throw new CliError(
          `--config-root ${opts.configRoot} is read with --case <id> only (where the case's ` +
            "matrix finds its configs); give --case, or leave --config-root out",
          EXIT.badInput,
        );
      }
      if (config === undefined) {
        throw new CliError(
          "give a preset name or a config.json path (e.g. `explain deepseek-v2-lite`), or " +
            "--case <id> to explain a matrix case",
          EXIT.badInput,
        );
      }
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
      checkLayoutOfFlags(layout);
      const loaded = await loadBackendModuleOptions(opts.backendModule);
      const backend = checkBackendId(opts.backend, { allowAuto: true });
      checkKvSplits(opts.kvSplits, backend);
      const { spec, reading } = await loadSpecReading(config, {
        format: opts.format,
        ropePairing: opts.pairing,
      });
      const caps = opts.caps ? await readCapsFile(opts.caps) : opts.device ? await probe() : null;
      for (const n of unappliedEnvironmentNotes({ caps: opts.caps, noDevice: !opts.device })) {
        console.error(n);
      }
      const e = explainCase(
        { spec, layout, dtype: opts.dtype, backend },
        caps,
        { kvSplits: opts.kvSplits, config: reading },
      );
      console.log(opts.json ? JSON.stringify(e, null, 2) : formatExplanation(e));
      for (const line of unselectedModuleLines(loaded, [backend], "this explanation")) {
        console.error(line);
      }
      if (e.resolution.kind === "unsupported") Deno.exitCode = EXIT.infra;
    });
}

/** The flags `explain --case` takes from the case instead (refused beside it), by option key. */
const CASE_OWNED_FLAGS: readonly (readonly [string, string])[] = [
  ["layout", "--layout"],
  ["batch", "--batch"],
  ["seqQ", "--seq-q"],
  ["seqK", "--seq-k"],
  ["kvLens", "--kv-lens"],
  ["cuSeqlens", "--cu-seqlens"],
  ["cuSeqlensK", "--cu-seqlens-k"],
  ["causal", "--no-causal"],
  ["dtype", "--dtype"],
  ["kvSplits", "--kv-splits"],
  ["format", "--format"],
  ["pairing", "--pairing"],
];

/** The layout request's fields, by the flag that sets each. */
const LAYOUT_FIELD_FLAGS: readonly (readonly [string, string])[] = [
  ["batch", "--batch"],
  ["seqQ", "--seq-q"],
  ["seqK", "--seq-k"],
  ["kvLens", "--kv-lens"],
  ["cuSeqlensQ", "--cu-seqlens"],
  ["cuSeqlensK", "--cu-seqlens-k"],
];

/**
 * A layout the flags make that is not valid (`--kv-lens 5,6` with one sequence) is a bad
 * flag (exit 2) naming the flags given: it read "layout: invalid layout / kvLens: [5,6] must
 * list one key length per sequence (1)", the request's field names, not the flags.
 */
function checkLayoutOfFlags(layout: LayoutRequest): void {
  try {
    normalizeLayout(layout);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const flagged = (text: string) =>
      LAYOUT_FIELD_FLAGS.reduce(
        (t, [field, flag]) => t.replace(new RegExp(`(?<![-\\w])${field}\\b`, "g"), flag),
        text,
      );
    const batch = layout.kind === "thd" ? undefined : layout.batch;
    const lines = e.issues.map((i) => {
      const message = batch === undefined
        ? i.message
        : i.message.replace(`per sequence (${batch})`, `per sequence (--batch ${batch})`);
      return `  ${flagged(formatIssue({ ...i, message }))}`;
    });
    throw new CliError(
      `the layout flags do not make a valid layout:\n${lines.join("\n")}`,
      EXIT.badInput,
    );
  }
}

/**
 * `--kv-splits` over 64 with a bundled backend (or auto): every one refuses it, so it is a bad
 * flag (exit 2), not an unsupported case (exit 3).
 */
function checkKvSplits(n: number | undefined, backend: string): void {
  // a user backend may take more (its check decides); the bundled ones take 1 to 64
  if (
    n === undefined || n <= MAX_BUNDLED_KV_SPLITS ||
    !(backend.startsWith("auto") || isBundledBackend(backend))
  ) {
    return;
  }
  throw new CliError(
    `--kv-splits ${n}: over ${MAX_BUNDLED_KV_SPLITS}, the most KV splits a bundled kernel ` +
      `takes (variant.kv-splits); give 1 to ${MAX_BUNDLED_KV_SPLITS}`,
    EXIT.badInput,
  );
}

/**
 * A case id as a user copies it, tidied: spaces around it and around each `;` and `=`, a
 * trailing `;` and URL %-escapes (a link's fragment) removed. An id that needs none is
 * returned as given.
 *
 * @example
 * ```ts
 * import { tidyCaseId } from "./explain.ts";
 * tidyCaseId(" preset=tiny; b=2;"); // "preset=tiny;b=2"
 * tidyCaseId("preset%3Dtiny%3Bb%3D2"); // "preset=tiny;b=2"
 * ```
 */
export function tidyCaseId(id: string): string {
  let text = id;
  if (/%[0-9A-Fa-f]{2}/.test(text)) {
    try {
      text = decodeURIComponent(text);
    } catch {
      // a lone % that is no escape: read as written
    }
  }
  return text.split(";").map((part) => part.trim().replace(/\s*=\s*/, "="))
    .filter((part) => part !== "").join(";");
}

/**
 * The explain arguments of a bench case id (`preset=tiny;h=4;path=absorbed;...;page=0`, keys
 * h and no layout), or null for any other id: a bench report's id given to --case read as a
 * run case missing, the nearest one named.
 */
function benchCaseFlags(id: string): string | null {
  const pairs = new Map(
    id.split(";").map((p) => {
      const eq = p.indexOf("=");
      return [p.slice(0, eq), p.slice(eq + 1)] as const;
    }),
  );
  if (!pairs.has("h") || pairs.has("layout") || !pairs.has("preset")) return null;
  const flag = (name: string, key: string) => pairs.has(key) ? ` ${name} ${pairs.get(key)}` : "";
  return `${pairs.get("preset")}${flag("--batch", "b")}${flag("--seq-q", "sq")}` +
    `${flag("--seq-k", "sk")}${flag("--dtype", "dtype")}` +
    `${pairs.get("causal") === "0" ? " --no-causal" : ""}` +
    `${pairs.has("path") ? ` --backend auto:${pairs.get("path")}` : ""}`;
}

/** An id's key=value pairs in one order, for ids that list them in another. */
const sortedPairs = (id: string) => id.split(";").sort().join(";");

/** The case whose id is `id` or `tidy` (its tidied form), or has tidy's key=value pairs in
 * another order. */
function copiedCase<T extends { readonly id: string }>(
  all: readonly T[],
  id: string,
  tidy: string,
): T | undefined {
  const want = sortedPairs(tidy);
  return all.find((x) => x.id === id) ?? all.find((x) => x.id === tidy) ??
    all.find((x) => sortedPairs(x.id) === want);
}

/** The id of the case nearest `tidy`, its pairs compared in one order (a reordered id's
 * nearest by its text was another case). */
function nearestCase(all: readonly { readonly id: string }[], tidy: string): string {
  const sorted = all.map((x) => sortedPairs(x.id));
  return all[sorted.indexOf(nearest(sortedPairs(tidy), sorted))]?.id ?? "";
}

/** `explain --case <id>`: the case found in its matrix and explained as `run` resolves it. */
async function explainCaseOf(
  id: string,
  opts: {
    config: string | undefined;
    given: (key: string) => boolean;
    matrix?: string;
    configRoot?: string;
    caps?: string;
    device: boolean;
    backend: string;
    backendModule: string[];
    json?: boolean;
  },
  probe: CapsProbe,
): Promise<void> {
  const clash = CASE_OWNED_FLAGS.filter(([key]) => opts.given(key)).map(([, flag]) => flag);
  if (opts.config !== undefined) clash.unshift(`the config argument ${opts.config}`);
  if (clash.length > 0) {
    throw new CliError(
      `--case takes the case's own ${
        opts.config !== undefined ? "config, " : ""
      }shape, dtype and splits from its matrix: ${clash.join(", ")} would be ignored; leave ` +
        `${clash.length === 1 ? "it" : "them"} out, or explain a config with flags instead`,
      EXIT.badInput,
    );
  }
  checkFlagCombinations("", { caps: opts.caps, noDevice: opts.given("device") });
  const loaded = await loadBackendModuleOptions(opts.backendModule);
  const backend = opts.given("backend") ? checkBackendId(opts.backend) : undefined;
  const matrix = opts.matrix ?? "smoke";
  await refuseBenchMatrix(matrix, "explain --case");
  // the case's own id is a filter that selects it: a matrix over --max-cases's default, which
  // a run with --max-cases ran, was refused "raise the limit with --max-cases" (an option
  // explain has not); the whole matrix is loaded only to say a case it lacks
  // an id as copied (spaces around its parts, %-escapes, a trailing ";", its keys in another
  // order) was "has no case", and a reordered one's nearest named another case; the tidied
  // id selects it as a filter too (a filter's keys go in any order)
  const tidy = tidyCaseId(id);
  const found = await selectCases({ matrix, filter: tidy, configRoot: opts.configRoot })
    .then((s) => ({ ...s, c: copiedCase(s.all, id, tidy) }), () => undefined);
  const { all, baseDir } = found?.c !== undefined
    ? found
    : await selectCases({ matrix, configRoot: opts.configRoot }).catch((e: unknown) => {
      // too many to list the nearest: not "raise the limit with --max-cases", which explain
      // has not (the case is not among them whatever the limit)
      if (
        !(e instanceof ConfigError) || !e.message.startsWith(`${matrix}: too many cases`)
      ) throw e;
      throw new CliError(
        `--case: matrix ${matrix} has no case ${JSON.stringify(id)} (more than ` +
          `${DEFAULT_MAX_CASES} cases, too many to name the nearest); \`run --matrix ${matrix} ` +
          "--filter '<key>=<value>'` selects cases by their keys",
        EXIT.badInput,
      );
    });
  const c = found?.c ?? copiedCase(all, id, tidy);
  if (c !== undefined && c.id !== id) {
    console.error(`note: --case ${JSON.stringify(id)} read as ${c.id}`);
  }
  // a case an exclude removed: that entry named (it read "has no case", the nearest listed)
  const excluded = c === undefined
    ? await excludedCase({ matrix, configRoot: opts.configRoot }, tidy)
    : null;
  if (excluded !== null) {
    throw new CliError(
      `--case: matrix ${matrix} has no case ${JSON.stringify(id)}: ${excluded.path} ` +
        `(${JSON.stringify(excluded.exclude)})${
          excluded.group.startsWith("groups[") ? "" : ` of group ${JSON.stringify(excluded.group)}`
        } removes it; drop or ` +
        "narrow that exclude to run and explain it",
      EXIT.badInput,
    );
  }
  if (c === undefined) {
    const bench = benchCaseFlags(tidy);
    if (bench !== null) {
      throw new CliError(
        `--case ${JSON.stringify(id)}: a bench case id (keys h and page, no layout: a ` +
          "bench report's record), which no run matrix holds; explain its shape with flags: " +
          `explain ${bench} (explain has no flag for its heads, h, or paging, page)`,
        EXIT.badInput,
      );
    }
    throw new CliError(
      `--case: matrix ${matrix} has no case ${JSON.stringify(id)} (${
        plural(all.length, "case")
      }; ` +
        `the nearest: ${nearestCase(all, tidy)}); \`run --matrix ${matrix} --filter ` +
        "'<key>=<value>'` selects cases by their keys",
      EXIT.badInput,
    );
  }
  const caps = opts.caps ? await readCapsFile(opts.caps) : opts.device ? await probe() : null;
  for (const n of unappliedEnvironmentNotes({ caps: opts.caps, noDevice: !opts.device })) {
    console.error(n);
  }
  // a profile asking more than the device has is clamped to the device's value: said as
  // `run` says it (the plan printed uses the device's value)
  if (caps !== null) { for (const w of profileLimitWarnings([c], caps)) console.error(w); }
  // How the case's config was read (its RoPE shape and defaulted fields), as explain of a
  // config prints it: --json's `config` (the help lists it) and the text's "config read" lines.
  const preset = c.params.preset;
  const { reading } = await loadSpecReading(
    isConfigPath(preset) ? configFileOf(preset, baseDir) : preset,
  );
  const { explanation, runNotes } = await explainMatrixCase(c, baseDir, caps, {
    backend,
    config: reading,
  });
  const where = { id: c.id, matrix, ...(c.group === undefined ? {} : { group: c.group }) };
  // The plan's digest, as results.jsonl's `planDigest` records it for the case (a run's plan
  // and this one, told apart or matched at a glance)
  // (none where run records none: no plan, or run's own checks refuse the case)
  const planDigest = explanation.resolution.kind !== "plan" || runNotes.length > 0
    ? null
    : await sha256Hex16(JSON.stringify(explanation.resolution));
  if (opts.json) {
    console.log(JSON.stringify({ case: where, planDigest, ...explanation, runNotes }, null, 2));
  } else {
    console.log(
      `case ${c.id}\n  of matrix ${matrix}${c.group === undefined ? "" : `, group "${c.group}"`}` +
        (planDigest === null
          ? ""
          : `\n  plan digest ${planDigest} (results.jsonl's planDigest of the case)`) +
        `\n${formatExplanation(explanation)}` +
        runNotes.map((n) => `\nrun: ${n}`).join(""),
    );
  }
  // the case's own backend axis may name the module's backend
  for (
    const line of unselectedModuleLines(
      loaded,
      [backend, c.params.backend || undefined],
      "this explanation",
    )
  ) console.error(line);
  if (explanation.resolution.kind === "unsupported" || runNotes.length > 0) {
    Deno.exitCode = EXIT.infra;
  }
}
