/**
 * The `mla-harness` CLI entry: `deno task harness <command> --help`.
 *
 * @module
 */
import { runProgram } from "./cli/program.ts";

if (import.meta.main) {
  Deno.exit(await runProgram(Deno.args, { probeCaps: () => Promise.resolve(null) }));
}
