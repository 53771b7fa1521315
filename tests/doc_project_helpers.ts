/**
 * What the doc-example tests share: the rooms whose examples need a WebGPU device, and a
 * throwaway project for the doc-example tools' own tests (tools/doc_examples.ts, doc_claims.ts).
 */
import { type DocExampleRun, runDocExamples } from "../tools/doc_examples.ts";

/**
 * The rooms whose JSDoc examples create a WebGPU device: tests/doc_examples_gpu_test.ts runs
 * them where the adapter allows; tests/doc_examples_test.ts runs every other room's.
 */
export const DOC_GPU_ROOMS: readonly string[] = ["gpu", "kernels"];

/**
 * Write `files` (paths relative to a new temporary project root, which gets an empty
 * deno.json) and run the doc examples of `rooms` there, as tests/doc_examples_test.ts runs
 * the project's own; the project and the run's scratch folder are removed afterwards.
 *
 * @example
 * ```ts
 * import { runDocProject } from "./doc_project_helpers.ts";
 * const fence = "`".repeat(3);
 * const run = await runDocProject(
 *   { "lib/one.ts": `/**\n * ${fence}ts\n * 1 + 1; // 2\n * ${fence}\n *\/\nexport const one = 1;\n` },
 *   ["lib"],
 * );
 * run.summary; // { ran: 1, failed: 0 }
 * ```
 */
export async function runDocProject(
  files: Readonly<Record<string, string>>,
  rooms: string[],
): Promise<DocExampleRun> {
  const root = await Deno.makeTempDir({ prefix: "doc_project_" });
  const tmp = await Deno.makeTempDir({ prefix: "doc_project_run_" });
  try {
    await Deno.writeTextFile(`${root}/deno.json`, "{}\n");
    for (const [path, text] of Object.entries(files)) {
      const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
      if (dir) await Deno.mkdir(`${root}/${dir}`, { recursive: true });
      await Deno.writeTextFile(`${root}/${path}`, text);
    }
    return await runDocExamples(rooms, root, tmp);
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(tmp, { recursive: true });
  }
}
