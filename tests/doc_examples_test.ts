// The JSDoc examples are code: every example of every room type-checks (`deno check --doc`),
// and the examples of the GPU-free rooms run, so a stale example fails the suite. A result
// comment that starts with a value (`f(2); // 4`) is checked against what the statement gives
// (tools/doc_claims.ts), so a stale comment fails too. They run as
// `deno test --doc` would select them, but all in one `deno run` process (tools/doc_examples.ts;
// `deno test --doc` starts a worker per example, about 0.3 s each). One that declares its inputs
// (`declare const r: RunReport;`) is type-checked only. The examples of gpu/ and kernels/ need a
// WebGPU device: tests/doc_examples_gpu_test.ts runs them. An example of the other rooms that
// needs a run folder, a model file or a device declares it (`declare const out: string;`) and
// is type-checked only (and one that cannot stand alone is marked ```ts ignore).
import assert from "node:assert/strict";
import { runDocExamples } from "../tools/doc_examples.ts";
import { DOC_GPU_ROOMS } from "./doc_project_helpers.ts";

const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname);

/** Every folder and top-level file with library code (the rooms of docs/architecture.md). */
async function codeRooms(): Promise<string[]> {
  const rooms: string[] = [];
  for await (const e of Deno.readDir(ROOT)) {
    if (e.name.startsWith(".") || ["tests", "node_modules", "out"].includes(e.name)) continue;
    if (e.isFile && e.name.endsWith(".ts")) rooms.push(e.name);
    if (e.isDirectory) {
      // a folder with at least one .ts file somewhere below it
      const has = async (dir: string): Promise<boolean> => {
        for await (const f of Deno.readDir(dir)) {
          if (f.isFile && f.name.endsWith(".ts")) return true;
          if (f.isDirectory && await has(`${dir}/${f.name}`)) return true;
        }
        return false;
      };
      if (await has(`${ROOT}${e.name}`)) rooms.push(e.name);
    }
  }
  return rooms.sort();
}

async function deno(args: string[]): Promise<{ code: number; output: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { code: out.code, output: text };
}

/** The error blocks of a deno check/test output, without the progress lines. */
function errors(output: string): string {
  return output.split("\n").filter((l) => !/^(Check|running|\S+ \.\.\. ok)/.test(l)).join("\n")
    .trim();
}

Deno.test("doc examples: every example of every room type-checks", async () => {
  const rooms = await codeRooms();
  assert.ok(rooms.includes("adapter") && rooms.includes("mod.ts"), rooms.join(", "));
  const r = await deno(["check", "--doc", ...rooms]);
  assert.equal(
    r.code,
    0,
    `deno check --doc failed; fix the example (or mark it \`\`\`ts ignore when it cannot ` +
      `stand alone):\n${errors(r.output)}`,
  );
});

Deno.test("doc examples: the examples of the GPU-free rooms run", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "doc_examples_" });
  try {
    // one `deno run --no-check` of a driver that imports every example's module in turn; the
    // examples' TMPDIR is `tmp`, where they make their temp folders (and may write nothing else)
    // every room but those whose examples need a device (tests/doc_examples_gpu_test.ts)
    const rooms = (await codeRooms()).filter((r) => !DOC_GPU_ROOMS.includes(r));
    assert.ok(rooms.includes("adapter") && rooms.includes("tools"), rooms.join(", "));
    const run = await runDocExamples(rooms, ROOT.replace(/\/$/, ""), tmp);
    assert.equal(run.code, 0, `the doc examples of ${rooms.join(" ")} failed:\n${run.output}`);
    // 447 when written (214 of them in the first six rooms, as many as `deno test --doc` ran
    // there); far fewer means the extractor broke
    assert.ok(run.count >= 420, `expected 420+ examples, found ${run.count}:\n${run.output}`);
    assert.deepEqual(run.summary, { ran: run.count, failed: 0 }, run.output);
    // 464 result comments checked as claims when written (tools/doc_claims.ts); far fewer means
    // the rewrite stopped finding them, and a stale comment would pass again
    assert.ok(run.claims >= 440, `expected 440+ checked claims, found ${run.claims}`);
    // examples that declare their inputs are type-checked only: 34 when written, 24 of them
    // report/'s, which take a RunReport or a CaseResult (and 3 that need a run folder, a
    // SPIR-V file or a device; 41 since runner/layer_files.ts' layerFromFiles example, ignored
    // before, declares its input file); many more means examples stopped running
    assert.ok(run.typeOnly <= 41, `${run.typeOnly} examples declare their inputs`);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
