// `run --baseline`: the comparison writes compare.html beside compare.md, and the run's
// report.html (written before the comparison) is written again with the drift verdict at
// its top, so a run that exits 1 on drift does not read green there. GPU-free: the run is
// a hand-built report.
import assert from "node:assert/strict";
import {
  compareBaselines,
  driftAfterRun,
  noteDriftSkipped,
  writeCompareOutputs,
} from "../drift/mod.ts";
import { writeRunHtml } from "../report/html/mod.ts";
import { writeMarkdown } from "../report/markdown.ts";
import { finishCommands } from "../report/finish_commands.ts";
import { escapeHtml } from "../report/html/chart.ts";
import {
  baselineOf,
  caseResult,
  reportOf,
  samples,
  supportedCase,
  timing,
} from "./drift_helpers.ts";
import { currentBackend } from "../drift/device_key.ts";

// The baseline of the device `run --baseline` keys these reports with: this process's backend
// (the reports' fingerprint records none). A Vulkan baseline on a fresh machine's GL fallback
// made each compare one across two devices, whose speed regressions are not counted.
const THIS_DEVICE = {
  deviceKey: `llvmpipe-65541-${currentBackend()}`,
  backend: currentBackend(),
};
import { withTempDir } from "./report_util.ts";

const A = "preset=tiny;path=absorbed;dtype=f32;b=2;sq=1;sk=20;layout=bshd;causal=1";

/** The baseline side of {@link caseResult}(A, 1 ms): the same plan and bits. */
const BASE_A = supportedCase(A, {
  planDigest: "p" + A.length,
  outputDigest: "o" + A.length,
  timing: timing(samples(1, 10, 1)),
});

/** The verdict line of a page: its class and text. */
function verdict(html: string): { ok: boolean; text: string } {
  const m = /<p class="verdict (ok|bad)" id="verdict">([^<]*)<\/p>/.exec(html);
  assert.ok(m, "no verdict line");
  return { ok: m[1] === "ok", text: m[2] };
}

Deno.test("run --baseline: a speed regression turns report.html's verdict red and links compare.html", async () => {
  await withTempDir(async (dir) => {
    // 1 ms in the baseline, 5 ms now: a speed regression (10 samples a side)
    await Deno.writeTextFile(`${dir}/b.json`, JSON.stringify(baselineOf([BASE_A], THIS_DEVICE)));
    const report = reportOf([caseResult(A, 5, 1)]);
    await writeRunHtml(`${dir}/report.html`, report);
    await writeMarkdown(`${dir}/summary.md`, report);
    assert.ok(verdict(await Deno.readTextFile(`${dir}/report.html`)).ok, "green before");
    const { regressions } = await driftAfterRun(report, { baseline: `${dir}/b.json`, out: dir });
    assert.equal(regressions, 1);
    // summary.md as well: it read ✅ while the run exited 1 on drift
    const md = await Deno.readTextFile(`${dir}/summary.md`);
    assert.match(
      md,
      /^❌ \*\*1 case\*\*: 1 pass, .*; \*\*1 drift regression against the baseline\*\*$/m,
    );
    assert.match(
      md,
      // (on another device than the fixture's the line says "drift (baseline of another device ...):")
      /^\*\*Drift against .*b\.json\*\*: drift[:( ].*1 regression\. Details: compare\.md/m,
    );
    const html = await Deno.readTextFile(`${dir}/report.html`);
    const v = verdict(html);
    assert.ok(!v.ok, v.text);
    assert.match(v.text, /1 pass, .*; 1 drift regression against the baseline$/);
    const note = /<p class="note drift-bad" id="drift-note">([\s\S]*?)<\/p>/.exec(html);
    assert.ok(note, "no drift note");
    assert.match(note[1], /Drift against .*b\.json/);
    assert.match(note[1], /1 regressions?/);
    assert.ok(note[1].includes('<a href="compare.html">'), note[1]);
    // the note is the first thing in the page body
    assert.ok(html.indexOf('id="drift-note"') < html.indexOf("<section"), "note on top");
    const page = await Deno.readTextFile(`${dir}/compare.html`);
    assert.match(page, /class="verdict bad"[^>]*>1 regression \(/);
    assert.ok(page.includes('data-chart="drift"'), "the drift plot");
  });
});

Deno.test("run --plant-fault --baseline: report.html's top and the console say the fault's differences, not 'N drift regressions'", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/b.json`, JSON.stringify(baselineOf([BASE_A], THIS_DEVICE)));
    const failed = { ...caseResult(A, 5, 1), status: "fail" as const };
    const report = reportOf([failed], { plantedFault: "lse-offset" });
    await writeRunHtml(`${dir}/report.html`, report);
    await writeMarkdown(`${dir}/summary.md`, report);
    const logged: string[] = [];
    const log = console.log;
    console.log = (...a: unknown[]) => logged.push(a.join(" "));
    try {
      const { regressions } = await driftAfterRun(report, { baseline: `${dir}/b.json`, out: dir });
      assert.equal(regressions, 1); // the exit code stays as it was
    } finally {
      console.log = log;
    }
    const v = verdict(await Deno.readTextFile(`${dir}/report.html`));
    assert.ok(!v.ok, v.text);
    assert.doesNotMatch(v.text, /drift regression/);
    assert.match(
      v.text,
      /; 1 case differing from the baseline by the planted fault \(the fault&#39;s differences, not drift\)/,
    );
    const md = await Deno.readTextFile(`${dir}/summary.md`);
    assert.doesNotMatch(md, /drift regression/);
    assert.match(
      md,
      /; 1 case differing from the baseline by the planted fault \(the fault's differences, not drift\)$/m,
    );
    const summary = logged.find((l) => l.startsWith("drift"));
    assert.ok(summary, logged.join("\n"));
    assert.match(
      summary,
      /the fault's differences, not drift\).*; 1 regression by class, made by the planted fault;/,
    );
  });
});

Deno.test("run --baseline of a run with cases not run: report.html and summary.md keep the commands that run them", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/b.json`, JSON.stringify(baselineOf([BASE_A], THIS_DEVICE)));
    const B = A.replace("causal=1", "causal=0");
    const report = reportOf([caseResult(A, 5, 1)], {
      matrixIds: [A, B],
      shardIds: [A, B],
      interrupted: true,
    });
    const finish = finishCommands(report, dir);
    assert.ok(finish.length > 0);
    await writeRunHtml(`${dir}/report.html`, report, { finish });
    await writeMarkdown(`${dir}/summary.md`, report, { finish });
    await driftAfterRun(report, { baseline: `${dir}/b.json`, out: dir });
    // written again with the drift verdict, they lost the commands
    const html = await Deno.readTextFile(`${dir}/report.html`);
    const md = await Deno.readTextFile(`${dir}/summary.md`);
    for (const c of finish) {
      assert.ok(html.includes(escapeHtml(c)), `report.html lacks ${c}`);
      assert.ok(md.includes(c), `summary.md lacks ${c}`);
    }
  });
});

Deno.test("run --baseline: without drift the note is green; with no report.html none is made", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/b.json`, JSON.stringify(baselineOf([BASE_A], THIS_DEVICE)));
    const report = reportOf([caseResult(A, 1, 1)]);
    await writeRunHtml(`${dir}/report.html`, report);
    await writeMarkdown(`${dir}/summary.md`, report);
    const { regressions } = await driftAfterRun(report, { baseline: `${dir}/b.json`, out: dir });
    assert.equal(regressions, 0);
    assert.match(
      await Deno.readTextFile(`${dir}/summary.md`),
      /^✅ \*\*1 case\*\*: 1 pass, [^;]*$/m,
    );
    const html = await Deno.readTextFile(`${dir}/report.html`);
    assert.ok(verdict(html).ok);
    assert.match(html, /<p class="note drift-ok" id="drift-note">/);
    await Deno.stat(`${dir}/compare.html`);
  });
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/b.json`, JSON.stringify(baselineOf([BASE_A], THIS_DEVICE)));
    await driftAfterRun(reportOf([caseResult(A, 5, 1)]), { baseline: `${dir}/b.json`, out: dir });
    await assert.rejects(() => Deno.stat(`${dir}/report.html`), Deno.errors.NotFound);
    await Deno.stat(`${dir}/compare.html`);
  });
});

Deno.test("run --baseline <dir> without this device's baseline: summary.md and report.html say drift was not checked, not green", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/baselines`);
    await Deno.writeTextFile(`${dir}/baselines/other-gpu-vulkan.json`, "{}");
    const report = reportOf([caseResult(A, 1, 1)]);
    await writeRunHtml(`${dir}/report.html`, report);
    await writeMarkdown(`${dir}/summary.md`, report);
    const r = await driftAfterRun(report, { baseline: `${dir}/baselines`, out: dir });
    assert.equal(r.compare, null);
    assert.equal(r.regressions, 0);
    // the sentence the console prints last, and both pages say at their top
    const said = new RegExp(
      `^drift not checked: no baseline for device \\S+ in ${dir}/baselines \\(baselines ` +
        "there: other-gpu-vulkan\\)$",
    );
    assert.match(r.notChecked ?? "", said);
    // summary.md read ✅ with no word of it (the warning went to stderr only)
    const md = await Deno.readTextFile(`${dir}/summary.md`);
    assert.match(md, /^⚠️ \*\*1 case\*\*: 1 pass, .*; \*\*drift not checked\*\*$/m);
    assert.ok(md.includes(`⚠️ **${r.notChecked}**`), md);
    assert.doesNotMatch(md, /✅/);
    const html = await Deno.readTextFile(`${dir}/report.html`);
    assert.match(html, /<p class="verdict warn" id="verdict">[^<]*; drift not checked/);
    assert.ok(
      html.includes(`<p class="note" id="drift-note"><b>${escapeHtml(r.notChecked!)}</b></p>`),
      html,
    );
    // no comparison: no compare page
    await assert.rejects(() => Deno.stat(`${dir}/compare.html`), Deno.errors.NotFound);
  });
});

Deno.test("run --baseline stopped at once: summary.md and report.html say it was not compared (only the console did)", async () => {
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
    const line = await noteDriftSkipped(report, {
      baseline: "baselines/",
      history: "h.db",
      out: dir,
    });
    assert.equal(
      line,
      "drift not checked: the run was stopped at once: not compared with --baseline " +
        "baselines/, not stored in --history h.db; its resume ('to finish the run') does it " +
        "once the run is finished",
    );
    const md = await Deno.readTextFile(`${dir}/summary.md`);
    // (an interrupted run's verdict is its own: ❌)
    assert.match(md, /^\S+ \*\*1 of 2 cases\*\*.*; \*\*drift not checked\*\*$/m);
    assert.ok(md.includes(`⚠️ **${line}**`), md);
    // the resume is kept
    for (const c of finish) assert.ok(md.includes(c), `summary.md lacks ${c}`);
    const html = await Deno.readTextFile(`${dir}/report.html`);
    assert.match(html, /<p class="verdict[^"]*" id="verdict">[^<]*; drift not checked/);
    assert.ok(html.includes(escapeHtml(line!)), html);
    await assert.rejects(() => Deno.stat(`${dir}/compare.html`), Deno.errors.NotFound);
  });
  // no --baseline: nothing said, nothing written
  await withTempDir(async (dir) => {
    assert.equal(await noteDriftSkipped(reportOf([caseResult(A, 1, 1)]), { out: dir }), null);
  });
});

Deno.test("a comparison stopped halfway leaves none of an earlier comparison's files beside its own", async () => {
  await withTempDir(async (dir) => {
    const out = {
      md: `${dir}/compare.md`,
      json: `${dir}/compare.json`,
      html: `${dir}/compare.html`,
    };
    for (const f of Object.values(out)) await Deno.writeTextFile(f, "an earlier comparison");
    const report = compareBaselines(baselineOf([BASE_A]), baselineOf([BASE_A]));
    // compare.json cannot be written (JSON has no BigInt): the comparison stops after its md
    const broken = { ...report, stray: 1n } as unknown as typeof report;
    await assert.rejects(() => writeCompareOutputs(broken, out), TypeError);
    assert.notEqual(await Deno.readTextFile(out.md), "an earlier comparison");
    // the earlier json and html went first: nothing there now reads as this comparison's
    const left = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(left, ["compare.md"]);
  });
});

Deno.test("run --baseline: the step summary gets summary.md once it says the drift verdict, then compare.md; the rewritten pages keep the resume's words", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/b.json`, JSON.stringify(baselineOf([BASE_A], THIS_DEVICE)));
    const B = A.replace("causal=1", "causal=0");
    const report = reportOf([caseResult(A, 5, 1)], {
      matrixIds: [A, B],
      shardIds: [A, B],
      interrupted: true,
    });
    const words = ["--baseline", `${dir}/b.json`, "--history", `${dir}/h.sqlite`];
    const finish = finishCommands(report, dir).map((c) => [c, ...words].join(" "));
    await writeRunHtml(`${dir}/report.html`, report, { finish });
    await writeMarkdown(`${dir}/summary.md`, report, { finish });
    const step = `${dir}/step.md`;
    const before = Deno.env.get("GITHUB_STEP_SUMMARY");
    Deno.env.set("GITHUB_STEP_SUMMARY", step);
    try {
      await driftAfterRun(report, {
        baseline: `${dir}/b.json`,
        out: dir,
        stepSummary: true,
        finishWords: words,
        // as run does: the run's summary.md, read when the callback comes
        beforeStepSummary: async () => {
          await Deno.writeTextFile(step, await Deno.readTextFile(`${dir}/summary.md`), {
            append: true,
          });
        },
      });
    } finally {
      if (before === undefined) Deno.env.delete("GITHUB_STEP_SUMMARY");
      else Deno.env.set("GITHUB_STEP_SUMMARY", before);
    }
    const text = await Deno.readTextFile(step);
    // the run's summary with the drift verdict (it went there with ✅ before the comparison)
    const verdictAt = text.search(/drift regression against the baseline/);
    const compareAt = text.search(/^## Drift against /m);
    assert.ok(verdictAt >= 0 && compareAt > verdictAt, text);
    assert.doesNotMatch(text.slice(0, compareAt), /^✅/m);
    // the pages written again keep the words the run's resume carries
    const md = await Deno.readTextFile(`${dir}/summary.md`);
    const html = await Deno.readTextFile(`${dir}/report.html`);
    for (const c of finish) {
      assert.ok(md.includes(c), `summary.md lacks ${c}`);
      assert.ok(html.includes(escapeHtml(c)), `report.html lacks ${c}`);
    }
  });
});
