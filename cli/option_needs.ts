/**
 * Options that are only read together with another one (`run --fail-on` with `--baseline`,
 * `history --label` with `--add`, `layer --check-rows` unless `--no-check`): given without it,
 * each is exit 2 naming both, in the words of `checkChromiumFlag` (runtime_options.ts), instead
 * of being ignored without a word.
 *
 * @module
 */
import { CliError, EXIT } from "./errors.ts";

/** One option that is only read with another. */
export interface OptionNeed {
  /** The option as typed, e.g. `--fail-on`. */
  readonly option: string;
  /**
   * Its value as given (shown after the option; "" for a flag, which has none), or undefined
   * when it was not given.
   */
  readonly value: string | undefined;
  /** What it is read with, e.g. `--baseline`. */
  readonly needs: string;
  /** Whether that is in effect. */
  readonly met: boolean;
  /** Why it is not, e.g. `--no-check skips it` (default: `no <needs> is given`). */
  readonly missing?: string;
  /** The fix (default: `add <needs>, or drop <option>`). */
  readonly fix?: string;
}

/**
 * Refuse an option given without the option it is read with: exit 2 (CliError) naming
 * both and the fix. Options not given, and needs that are met, pass.
 *
 * @example
 * ```ts
 * import { checkOptionNeeds } from "./option_needs.ts";
 * checkOptionNeeds("run", [
 *   { option: "--fail-on", value: "numeric-drift", needs: "--baseline", met: true },
 *   { option: "--thresholds", value: undefined, needs: "--baseline", met: false },
 * ]); // fine: --fail-on has its --baseline, --thresholds was not given
 * ```
 */
export function checkOptionNeeds(command: string, needs: readonly OptionNeed[]): void {
  for (const n of needs) {
    if (n.value === undefined || n.met) continue;
    throw new CliError(
      `${command}: ${n.option}${n.value === "" ? "" : ` ${n.value}`} is only read with ` +
        `${n.needs}, and ` +
        `${n.missing ?? `no ${n.needs} is given`}; ${
          n.fix ?? `add ${n.needs}, or drop ${n.option}`
        }`,
      EXIT.badInput,
    );
  }
}
