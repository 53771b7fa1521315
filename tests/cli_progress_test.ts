// `run --progress`: what the console shows as cases finish (report/progress.ts).
import assert from "node:assert/strict";
import { runCli } from "./helpers_cli.ts";
import { gpuTest } from "./gpu_helpers.ts";

/** `run` of the smoke matrix's cases `filter` selects, untimed, into `out`. */
function runSmoke(filter: string, out: string, ...extra: string[]) {
  return runCli(["run", "--filter", filter, "--repeats", "0", "--out", out, ...extra]);
}

gpuTest(
  "run --progress failures: the failures' lines and the final line, no line per passing case",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "mla-progress-" });
    try {
      const filter = "preset=tiny;dtype=f32;layout=bshd;causal=1;sq=4";
      const ok = await runSmoke(filter, `${dir}/ok`, "--progress", "failures");
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      assert.doesNotMatch(ok.stdout, /^\[\d+\/\d+\] pass /m);
      assert.match(ok.stdout, /^2\/2 cases in \d+:\d\d: 2 pass$/m);
      // the same cases with a fault planted in the absorbed kernel: its failure is listed
      const bad = await runSmoke(`${filter};path=absorbed`, `${dir}/bad`, ...[
        "--progress",
        "failures",
        "--plant-fault",
        "kpe-left-out",
      ]);
      assert.equal(bad.code, 1, bad.stdout + bad.stderr);
      assert.match(bad.stdout, /^\[1\/1\] fail preset=tiny;path=absorbed;.*: /m);
      // the default (auto) into a pipe: a line per case
      const plain = await runSmoke(filter, `${dir}/plain`);
      assert.equal(plain.code, 0, plain.stdout + plain.stderr);
      assert.equal((plain.stdout.match(/^\[\d\/2\] pass /gm) ?? []).length, 2);
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
);

Deno.test("run --progress: another mode is exit 2 naming the choices", async () => {
  const r = await runCli(["run", "--progress", "quiet", "--out", "/nonexistent/never"]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /--progress.*quiet.*auto, cases, failures/s);
});
