/**
 * The `mla-harness` CLI entry: `deno task harness <command> --help`.
 *
 * @module
 */
import { runProgram } from "./cli/program.ts";
import { NoAdapterError } from "./gpu/errors.ts";
import { probeCaps } from "./gpu/device.ts";

/** `explain`'s probe: no adapter is a device of its own (`device none`), said with its cause. */
async function probeOrNull() {
  try {
    return await probeCaps();
  } catch (e) {
    if (e instanceof NoAdapterError) {
      // the cause and its fix (a DENO_WEBGPU_BACKEND typo is not a missing driver), which
      // explain's own device.none reason cannot know
      console.error(`note: ${e.message}`);
      return null;
    }
    throw e;
  }
}

/**
 * Said when the event loop runs out of work before the command ends: something it awaits
 * can never settle (a user backend's `launch()` whose promise never resolves, in `layer`).
 * Deno's own words were "Top-level await promise never resolved", pointing into this file.
 */
export const NOTHING_LEFT_TO_WAIT_FOR =
  "error: the command stopped unfinished with nothing left to wait for: something it awaited " +
  "can never settle (such as a user backend's launch() whose promise never resolves; run, " +
  "bench and compare-runtimes limit a case with --case-timeout)";

if (import.meta.main) {
  // no top-level await: the loop empties only if the program's promise never settles, and
  // then "beforeunload" lets it say so (exit 1) instead of Deno's message
  globalThis.addEventListener("beforeunload", () => {
    console.error(NOTHING_LEFT_TO_WAIT_FOR);
    Deno.exit(1);
  });
  runProgram(Deno.args, { probeCaps: probeOrNull, probeCapsStrict: probeCaps }).then((code) =>
    Deno.exit(code)
  );
}
