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

if (import.meta.main) {
  Deno.exit(await runProgram(Deno.args, { probeCaps: probeOrNull, probeCapsStrict: probeCaps }));
}
