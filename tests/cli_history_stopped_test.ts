// `run --history h.db` (no --baseline) stopped at once (SIGTERM, a second Ctrl-C): the run is
// not stored in the history, and summary.md and report.html say so (only the console did).
// GPU-free: the run is a hand-built report.
import assert from "node:assert/strict";
import { noteDriftSkipped } from "../drift/mod.ts";
import { writeRunHtml } from "../report/html/mod.ts";
import { writeMarkdown } from "../report/markdown.ts";
import { finishCommands } from "../report/finish_commands.ts";
import { escapeHtml } from "../report/html/chart.ts";
import { caseResult, reportOf } from "./drift_helpers.ts";
import { withTempDir } from "./report_util.ts";

const A = "preset=tiny;path=absorbed;dtype=f32;b=2;sq=1;sk=20;layout=bshd;causal=1";

Deno.test("run --history stopped at once: summary.md and report.html say the run was not stored (only the console did)", async () => {
  await withTempDir(async (dir) => {
    const B = A.replace("causal=1", "causal=0");
    const report = reportOf([caseResult(A, 1, 1)], {
      matrixIds: [A, B],
      shardIds: [A, B],
      interrupted: true,
    });
    const finish = finishCommands(report, dir);
    await writeRunHtml(`${dir}/report.html`, report, { finish });
    await writeMarkdown(`${dir}/summary.md`, report, { finish });
    const line = await noteDriftSkipped(report, { history: "h.db", out: dir });
    assert.equal(
      line,
      "history not stored: the run was stopped at once: not stored in --history h.db; its " +
        "resume ('to finish the run') does it once the run is finished",
    );
    const md = await Deno.readTextFile(`${dir}/summary.md`);
    assert.match(md, /^\S+ \*\*1 of 2 cases\*\*.*; \*\*history not stored\*\*$/m);
    assert.doesNotMatch(md, /drift not checked/);
    assert.ok(md.includes(`⚠️ **${line}**`), md);
    // the resume is kept
    for (const c of finish) assert.ok(md.includes(c), `summary.md lacks ${c}`);
    const html = await Deno.readTextFile(`${dir}/report.html`);
    assert.match(html, /<p class="verdict[^"]*" id="verdict">[^<]*; history not stored/);
    assert.ok(html.includes(escapeHtml(line!)), html);
    assert.doesNotMatch(html, /drift not checked/);
  });
});
