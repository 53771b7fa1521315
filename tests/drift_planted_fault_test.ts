// A comparison where a side ran with a planted fault (`run --plant-fault`): compare.json,
// compare.md and compare.html say first which side ran with which fault and that its
// differences are the fault's, not drift; before, the page read "75 regression(s)" and
// "What changed in the environment: Nothing", the fault in none of the three. GPU-free.
import assert from "node:assert/strict";
import {
  baselineFromReport,
  compareBaselines,
  compareSummaryLine,
  compareToMarkdown,
} from "../drift/mod.ts";
import { compareReportHtml } from "../drift/drift_html.ts";
import { ALL_FAULTS } from "../parity/faults.ts";
import { baselineOf, caseResult, reportOf, supportedCase } from "./drift_helpers.ts";
import { runCli } from "./helpers_cli.ts";
import { withTempDir } from "./report_util.ts";

const FAULT = "kpe-left-out";
const DESCRIPTION = ALL_FAULTS.find((f) => f.id === FAULT)!.description;
const IDS = ["preset=tiny;b=1", "preset=tiny;b=2"];

/** A clean baseline, and the same cases failing with the fault planted in the current run. */
function sides() {
  const base = baselineOf(IDS.map((id) => supportedCase(id)));
  const current = baselineOf(
    IDS.map((id) => {
      const c = supportedCase(id);
      return {
        ...c,
        status: "fail" as const,
        parity: { out: false, lse: true },
        metrics: { ...c.metrics!, outMaxAbs: 0.3 },
        outputDigest: "fault bits",
      };
    }),
    { plantedFault: FAULT },
  );
  return { base, current };
}

Deno.test("planted fault: the report's plantedFault reaches the current side", async () => {
  const report = reportOf([caseResult(IDS[0], 1, 1)], { plantedFault: FAULT });
  assert.equal((await baselineFromReport(report)).plantedFault, FAULT);
  const clean = await baselineFromReport(reportOf([caseResult(IDS[0], 1, 1)]));
  assert.equal("plantedFault" in clean, false);
});

Deno.test("planted fault: compare.json names the side and the fault; md and html say it first", async () => {
  const { base, current } = sides();
  const cmp = compareBaselines(base, current);
  // the exit code stays as it was: the fault's failures are regressions
  assert.equal(cmp.regressions, 2);
  assert.deepEqual(cmp.current.plantedFault, { id: FAULT, description: DESCRIPTION });
  assert.equal(cmp.baseline.plantedFault, undefined);
  assert.ok(cmp.plantedFault, "compare.json's sentence");
  assert.match(cmp.plantedFault, new RegExp(`^The current run ran with planted fault ${FAULT} `));
  assert.ok(cmp.plantedFault.includes(DESCRIPTION));
  assert.match(cmp.plantedFault, /the fault's, not drift/);
  // each moved case is attributed to the fault first
  for (const c of cmp.cases) {
    assert.equal(c.attributedTo[0], `planted fault ${FAULT} (current run)`);
  }
  // compare.md: right after the title, before the verdict and the environment
  const md = compareToMarkdown(cmp);
  const at = md.indexOf(`planted fault ${FAULT}`);
  assert.ok(at > 0 && at < md.indexOf("regressions**"), md.slice(0, 400));
  assert.ok(md.includes(DESCRIPTION));
  assert.match(compareSummaryLine(cmp), /current run with planted fault kpe-left-out/);
  // compare.html: the verdict leads with it, and its section comes before the environment's
  const html = await compareReportHtml(cmp, { base, current });
  assert.match(
    html,
    new RegExp(`id="verdict">Planted fault: the current run ran with planted fault ${FAULT}`),
  );
  const section = html.indexOf('id="planted-fault"');
  assert.ok(section > 0 && section < html.indexOf('id="environment"'));
  assert.ok(html.includes(DESCRIPTION.replace(/&/g, "&amp;").replace(/</g, "&lt;")));
});

Deno.test("planted fault: on the baseline side, that side is named", () => {
  const { base, current } = sides();
  const cmp = compareBaselines({ ...current }, { ...base, plantedFault: undefined });
  assert.match(cmp.plantedFault ?? "", new RegExp(`^The baseline ran with planted fault ${FAULT}`));
  assert.equal(
    compareBaselines(base, { ...current, plantedFault: undefined }).plantedFault,
    undefined,
  );
});

Deno.test("planted fault: compare of a clean run and a planted-fault run's report.json says so in all three outputs", async () => {
  await withTempDir(async (dir) => {
    const clean = reportOf(IDS.map((id, i) => caseResult(id, 1, i + 1)));
    const faulty = reportOf(
      IDS.map((id, i) => ({ ...caseResult(id, 1, i + 1), outputDigest: "fault bits" })),
      { plantedFault: FAULT },
    );
    await Deno.writeTextFile(`${dir}/a.json`, JSON.stringify(clean));
    await Deno.writeTextFile(`${dir}/f.json`, JSON.stringify(faulty));
    const r = await runCli([
      "compare",
      `${dir}/a.json`,
      `${dir}/f.json`,
      "--json",
      `${dir}/c.json`,
      "--html",
      `${dir}/c.html`,
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr); // bits changed only: no regression
    assert.match(r.stdout, new RegExp(`The current run ran with planted fault ${FAULT}`));
    const json = JSON.parse(await Deno.readTextFile(`${dir}/c.json`));
    assert.equal(json.current.plantedFault.id, FAULT);
    assert.match(json.plantedFault, /the fault's, not drift/);
    assert.match(await Deno.readTextFile(`${dir}/c.html`), /id="planted-fault"/);
  });
});
