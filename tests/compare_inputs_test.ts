// `compare` given a run folder whose run was killed before its reports, or a folder as
// --thresholds: each says what the folder is and what to do (they said "a directory without
// report.json" and the OS's "IsADirectory" before).
import assert from "node:assert/strict";
import { runCli } from "./helpers_cli.ts";

const BASELINE = "baselines/llvmpipe-65541-vulkan.json";

Deno.test("compare: a killed run's folder names merge and resume; a folder as --thresholds is named so", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla-compare-inputs-" });
  try {
    const killed = `${dir}/killed`;
    await Deno.mkdir(killed);
    await Deno.writeTextFile(`${killed}/run.json`, '{"version":1,"state":"running"}\n');
    await Deno.writeTextFile(`${killed}/results.jsonl`, "");
    const r = await runCli(["compare", BASELINE, killed]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `${killed}: the folder.s run was killed before writing its reports .*\`merge ${killed} --out ` +
          `${killed}\` rebuilds them .*\`run --resume\` finishes it`,
      ),
    );
    const t = await runCli(["compare", BASELINE, BASELINE, "--thresholds", dir]);
    assert.equal(t.code, 2, t.stderr);
    assert.match(t.stderr, new RegExp(`${dir}: is a folder, not a thresholds file`));
    assert.doesNotMatch(t.stderr, /IsADirectory/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
