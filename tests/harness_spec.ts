/**
 * What the tests that check command lines against the CLI share (no tests here): the
 * repository root, the harness's commands as {@link CommandSpec}s (no device probed) and
 * deno.json's tasks.
 *
 * @module
 */
import { buildProgram } from "../cli/program.ts";
import { type CommandSpec, commandSpec } from "../tools/doc_commands.ts";

/** The repository root, a path ending in "/". */
export const ROOT: string = decodeURIComponent(new URL("../", import.meta.url).pathname);

/** Every command and option of the harness's CLI, as tools/doc_commands.ts reads them. */
export const HARNESS_SPEC: CommandSpec = commandSpec(buildProgram({
  probeCaps: () => Promise.resolve(null),
  probeCapsStrict: () => Promise.reject(new Error("no device in this test")),
}));

/** deno.json's tasks, by name. */
export const TASKS: Record<string, string> = (JSON.parse(
  await Deno.readTextFile(`${ROOT}deno.json`),
) as { tasks: Record<string, string> }).tasks;
