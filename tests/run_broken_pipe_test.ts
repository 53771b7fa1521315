// `run ... | head -1`: the reader of stdout goes away while the run goes on. The progress
// lines were written with writeSync, whose BrokenPipe ended the run before its reports
// (exit 1, a stack trace, run.json left "running"); now the run finishes and writes them.
import assert from "node:assert/strict";
import { hasAdapter } from "../gpu/device.ts";
import { currentBackend } from "../drift/device_key.ts";
import { writeTinyMatrix } from "./matrix_file_helpers.ts";

const root = new URL("../", import.meta.url).pathname;

Deno.test({
  name: "run: stdout closed by its reader (| head) still finishes the run and its reports",
  ignore: !(await hasAdapter()),
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "mla-broken-pipe-" });
    try {
      const matrix = await writeTinyMatrix(
        dir,
        { sq: [1, 2], dtype: ["f32"], layout: ["bshd"] },
        "m",
      );
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", `${root}main.ts`, "run", "--matrix", matrix, "--out", `${dir}/out`],
        cwd: root,
        env: { NO_COLOR: "1", DENO_WEBGPU_BACKEND: currentBackend() },
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      await child.stdout.cancel(); // as `head` does once it has its line
      const [status, err] = await Promise.all([
        child.status,
        new Response(child.stderr).text(),
      ]);
      assert.equal(status.code, 0, err);
      assert.doesNotMatch(err, /BrokenPipe|internal error/, err);
      const state = JSON.parse(await Deno.readTextFile(`${dir}/out/run.json`));
      assert.equal(state.state, "finished");
      const report = JSON.parse(await Deno.readTextFile(`${dir}/out/report.json`));
      assert.equal(report.results.length, 4);
      for (const f of ["junit.xml", "summary.md", "report.html"]) {
        assert.ok((await Deno.stat(`${dir}/out/${f}`)).isFile, f);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
