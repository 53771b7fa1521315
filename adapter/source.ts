/**
 * One entry point for "a preset name or a config file path".
 *
 * @module
 */
import { type ConfigFormat, specFromFile } from "./config.ts";
import { ConfigError } from "./errors.ts";
import { didYouMean } from "../util/edit_distance.ts";
import { PRESET_CONFIGS, PRESET_NAMES, presetSpec } from "./presets.ts";
import { withParams } from "./spec.ts";
import type { MlaSpec, RopePairing } from "./types.ts";

/** Options of {@link loadSpec}. */
export interface LoadSpecOptions {
  /** Force the config naming (files only). */
  format?: ConfigFormat;
  /** Override the RoPE pairing. */
  ropePairing?: RopePairing;
}

/**
 * Load a spec from a preset name or a config.json path. Unknown names that are not
 * files get a `ConfigError` listing the presets.
 *
 * @example
 * ```ts
 * import { loadSpec } from "./source.ts";
 * const spec = await loadSpec("deepseek-v2-lite");
 * spec.kChannels; // 192
 * ```
 */
export async function loadSpec(
  nameOrPath: string,
  options: LoadSpecOptions = {},
): Promise<MlaSpec> {
  if (Object.hasOwn(PRESET_CONFIGS, nameOrPath)) {
    const spec = presetSpec(nameOrPath);
    return options.ropePairing ? withParams(spec, { ropePairing: options.ropePairing }) : spec;
  }
  const looksLikeFile = nameOrPath.endsWith(".json") || nameOrPath.includes("/");
  if (!looksLikeFile) {
    throw new ConfigError(nameOrPath, [{
      path: "preset",
      value: nameOrPath,
      message: `is neither a preset nor a .json config path; ${
        didYouMean(nameOrPath, PRESET_NAMES)
      }presets: ${PRESET_NAMES.join(", ")}`,
    }], "unknown config");
  }
  return await specFromFile(nameOrPath, options);
}
