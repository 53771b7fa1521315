// A SIGINT while bench's last case runs stops nothing (the case finishes, every case ran),
// yet the exit is 130. The reports said nothing of it: report.json, summary.md and the table
// read as a plain finished run under an exit that says "interrupted". Now a warning says so.
import assert from "node:assert/strict";
import { hasAdapter } from "../gpu/device.ts";
import { cliCommand } from "./helpers_cli.ts";

const gpu = await hasAdapter();

Deno.test({
  name: "bench: SIGINT during the last case is exit 130 with a warning in the reports",
  ignore: !gpu,
  fn: async () => {
    const out = await Deno.makeTempDir({ prefix: "mla_bench_sigint_last_" });
    const child = cliCommand([
      "bench",
      "--matrix",
      "tiny",
      "--filter",
      "path=absorbed",
      "--reps",
      "1",
      "--warmup-ms",
      "3000",
      "--out",
      out,
    ], { stdout: "null" }).spawn();
    // the line before the cases start: the one case is then warming up for 3 s
    let stderr = "";
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    while (!stderr.includes("roofline fractions while cases run are provisional")) {
      const { value, done } = await reader.read();
      assert.ok(!done, stderr);
      stderr += value;
    }
    await new Promise((r) => setTimeout(r, 500));
    child.kill("SIGINT");
    const rest = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        stderr += value;
      }
    })();
    const status = await child.status;
    await rest;
    assert.equal(status.code, 130, stderr);
    const report = JSON.parse(await Deno.readTextFile(`${out}/report.json`));
    assert.equal(report.records.length, 1);
    assert.equal(report.interrupted, undefined, "every case ran");
    const said = /interrupted by SIGINT during the last case/;
    assert.ok(report.warnings.some((w: string) => said.test(w)), report.warnings.join("\n"));
    assert.match(await Deno.readTextFile(`${out}/summary.md`), said);
    await Deno.remove(out, { recursive: true });
  },
});
