/**
 * The `mla-harness` CLI entry: `deno task harness <command> --help`.
 *
 * @module
 */
import { runProgram } from "./cli/program.ts";
import { NoAdapterError } from "./gpu/errors.ts";
import { probeCaps } from "./gpu/device.ts";

async function probeOrNull() {
  try {
    return await probeCaps();
  } catch (e) {
    if (e instanceof NoAdapterError) return null;
    throw e;
  }
}

if (import.meta.main) {
  Deno.exit(await runProgram(Deno.args, { probeCaps: probeOrNull, probeCapsStrict: probeCaps }));
}
