// `run --baseline <folder>`: this device's baseline in the folder is read before the run.
// A truncated or hand-broken one was found only after the whole run (a nightly's hours),
// which had meanwhile been appended to --history; a file `--baseline` named was refused
// before the run already. A broken file of another device in the folder stops nothing.
import assert from "node:assert/strict";
import { runCli } from "./helpers_cli.ts";
import { gpuTest } from "./gpu_helpers.ts";

const ONE = "preset=tiny;path=absorbed;dtype=f32;b=2;sq=1;sk=20;layout=bshd;causal=1";

gpuTest(
  "run --baseline <folder>: this device's broken baseline there is exit 2 before the run; another device's is not read",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "mla_run_baseline_precheck_" });
    try {
      const key = (await runCli(["baseline", "key"])).stdout.trim();
      assert.match(key, /^[a-z0-9-]+$/, `a device key: ${key}`);
      await Deno.mkdir(`${dir}/b`);
      await Deno.writeTextFile(`${dir}/b/${key}.json`, '{"format": "mla-harness-baseline", "ca');
      const run = (out: string) =>
        runCli([
          "run",
          "--filter",
          ONE,
          "--repeats",
          "0",
          "--baseline",
          `${dir}/b`,
          "--history",
          `${dir}/h.sqlite`,
          "--out",
          `${dir}/${out}`,
        ]);
      const r = await run("o1");
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, new RegExp(`b/${key}\\.json: half-written: it ends partway`));
      assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
      assert.doesNotMatch(r.stdout, /cases:/, "no case ran");
      await assert.rejects(() => Deno.stat(`${dir}/o1`), Deno.errors.NotFound, "no --out");
      await assert.rejects(() => Deno.stat(`${dir}/h.sqlite`), Deno.errors.NotFound, "no db");
      // another device's broken file: not this run's baseline, so the run goes on (and warns
      // that the folder has none for this device)
      await Deno.rename(`${dir}/b/${key}.json`, `${dir}/b/other-device-1-vulkan.json`);
      const ok = await run("o2");
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      assert.match(ok.stderr, new RegExp(`warning: no baseline for this device \\(${key}\\)`));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
