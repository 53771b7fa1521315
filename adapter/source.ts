/**
 * One entry point for "a preset name or a config file path": the spec, or the spec with
 * how its config was read (`explain` shows that). Both read it the same way.
 *
 * @module
 */
import {
  type ConfigFormat,
  type DefaultedField,
  readConfigFile,
  type SpecReading,
} from "./config.ts";
import { ConfigError } from "./errors.ts";
import { didYouMean } from "../util/edit_distance.ts";
import { PRESET_CONFIGS, PRESET_NAMES, presetReading } from "./presets.ts";
import { withParams } from "./spec.ts";
import type { MlaSpec, RopePairing } from "./types.ts";

/** Options of {@link loadSpec} and {@link loadSpecReading}. */
export interface LoadSpecOptions {
  /** Force the config naming (files only: with a preset it is a ConfigError). */
  format?: ConfigFormat;
  /** Override the RoPE pairing. */
  ropePairing?: RopePairing;
}

/** Options of {@link loadSpecReading} (the same as {@link LoadSpecOptions}). */
export type LoadSpecReadingOptions = LoadSpecOptions;

/**
 * Load a spec from a preset name or a config.json path ({@link loadSpecReading}'s spec).
 * Unknown names that are not files get a `ConfigError` listing the presets.
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
  return (await loadSpecReading(nameOrPath, options)).spec;
}

/**
 * Like `loadSpec` (a preset name or a config.json path), keeping how the config was
 * read: its naming, its RoPE shape and every default applied.
 *
 * @example
 * ```ts
 * import { loadSpecReading } from "./source.ts";
 * const { reading } = await loadSpecReading("moonlight-16b");
 * reading.defaulted.map((d) => d.field); // ["rope_scaling", "rms_norm_eps", "rope_pairing"]
 * ```
 */
export async function loadSpecReading(
  nameOrPath: string,
  options: LoadSpecOptions = {},
): Promise<SpecReading> {
  if (Object.hasOwn(PRESET_CONFIGS, nameOrPath)) {
    if (options.format !== undefined) {
      // a preset is not read from a file: a naming to force would be ignored
      throw new ConfigError(nameOrPath, [{
        path: "format",
        value: options.format,
        message: "applies to a config.json path only; a preset has no naming to read",
      }], "format given for a preset");
    }
    const r = presetReading(nameOrPath);
    if (!options.ropePairing) return r;
    return {
      spec: withParams(r.spec, { ropePairing: options.ropePairing }),
      reading: {
        ...r.reading,
        defaulted: r.reading.defaulted.filter((d) => d.field !== "rope_pairing"),
        overridden: [pairingOverride(options.ropePairing, r.spec.ropePairing)],
      },
    };
  }
  if (!nameOrPath.endsWith(".json") && !nameOrPath.includes("/")) {
    throw new ConfigError(nameOrPath, [{
      path: "preset",
      value: nameOrPath,
      message: `is neither a preset nor a .json config path; ${
        didYouMean(nameOrPath, PRESET_NAMES)
      }presets: ${PRESET_NAMES.join(", ")}`,
    }], "unknown config");
  }
  const r = await readConfigFile(nameOrPath, options);
  if (!options.ropePairing || r.spec.mlaUseNope) return r;
  // what the file gives alone, said beside the flag's value (a file refused without the flag
  // has no pairing of its own to name)
  const own = await readConfigFile(nameOrPath, { format: options.format }).then(
    (alone) => alone.spec.ropePairing,
    () => undefined,
  );
  return {
    spec: r.spec,
    reading: { ...r.reading, overridden: [pairingOverride(options.ropePairing, own)] },
  };
}

// --pairing over the pairing the config alone gives (undefined: none could be read)
function pairingOverride(used: RopePairing, own: RopePairing | undefined): DefaultedField {
  return {
    field: "rope_pairing",
    value: used,
    note: own === undefined
      ? "--pairing"
      : own === used
      ? `--pairing; the config alone gives the same`
      : `--pairing; the config alone gives "${own}"`,
  };
}
