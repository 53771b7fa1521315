/**
 * Preset names a matrix's `preset` axis gives that no preset has: every case of them would
 * only be rejected as an unknown config (exit 1, read as a regression), as a config path
 * that names no file would (matrix/config_paths.ts checkConfigPaths refuses that on load), so
 * the matrix is refused when it is loaded instead, naming the entry, a preset near it (if one
 * is) and the list.
 *
 * @module
 */
import type { ConfigIssue } from "../adapter/errors.ts";
import { PRESET_NAMES } from "../adapter/presets.ts";
import { didYouMean } from "../util/edit_distance.ts";
import { isConfigPath } from "./config_paths.ts";
import type { MatrixFile } from "./types.ts";

/**
 * The `preset` axis values of a matrix that are neither a preset name nor a config path
 * (one that ends in `.json` or holds a `/`): one issue each, at its entry.
 *
 * @example
 * ```ts
 * import { unknownPresets } from "./preset_names.ts";
 * unknownPresets({ name: "m", groups: [{ axes: { preset: ["tiny", "deepseek-v4"] } }] })
 *   .map((i) => i.path); // ["groups[0].axes.preset[1]"]
 * ```
 */
export function unknownPresets(m: MatrixFile): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  m.groups.forEach((g, gi) => {
    const presets = g.axes.preset === undefined ? [] : [g.axes.preset].flat();
    presets.forEach((p, pi) => {
      if (typeof p !== "string" || isConfigPath(p) || PRESET_NAMES.includes(p)) return;
      // a file name of another extension (a Megatron .yaml, config.JSON) was offered the
      // nearest preset, "did you mean tiny?"
      const ext = /\.([A-Za-z][A-Za-z0-9]*)$/.exec(p)?.[1];
      issues.push({
        path: `groups[${gi}].axes.preset[${pi}]`,
        value: p,
        message: ext !== undefined
          ? `is neither a preset nor a config path: it looks like a .${ext} file, but a ` +
            "config path ends in .json or holds a /, and config files are read as JSON " +
            `(HF or Megatron naming); a JSON file named so is written ${JSON.stringify(`./${p}`)}`
          // only a near preset is suggested: the nearest of all ("llama-3": "kimi-k2",
          // "qwen2": "tiny") sent a model the harness has no preset of to an unrelated one
          : `is neither a preset nor a config path (a path ends in .json or holds a /); ` +
            `${didYouMean(p, PRESET_NAMES)}presets: ${PRESET_NAMES.join(", ")}; another ` +
            "model is given as the path of its config.json",
      });
    });
  });
  return issues;
}
