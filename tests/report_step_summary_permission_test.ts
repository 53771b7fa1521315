/**
 * A process without env permission for `$GITHUB_STEP_SUMMARY` reads it as unset: `run` without
 * `--allow-env` ran every case, wrote its reports, then died on reading the variable (exit 2,
 * "a permission is missing"), leaving run.json unfinished, so the next run into the folder
 * needed --resume or --force.
 */
import assert from "node:assert/strict";

const markdown = new URL("../report/markdown.ts", import.meta.url).href;
const config = new URL("../deno.json", import.meta.url).pathname;

Deno.test("step summary: without env permission the variable reads as unset, not an error", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla_step_summary_perm_" });
  try {
    const script = `${dir}/append.ts`;
    await Deno.writeTextFile(
      script,
      `import { appendStepSummary } from ${JSON.stringify(markdown)};\n` +
        `console.log(JSON.stringify(await appendStepSummary("# s\\n")));\n`,
    );
    const summary = `${dir}/summary.md`;
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", "--no-check", "--allow-read", "--allow-write"]
        .concat(["--config", config, script]),
      env: { GITHUB_STEP_SUMMARY: summary, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(r.stderr);
    assert.equal(r.code, 0, err);
    assert.equal(new TextDecoder().decode(r.stdout).trim(), "false", err);
    await assert.rejects(Deno.stat(summary), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
