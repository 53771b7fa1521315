// CI's drift check: a filtered part of the smoke matrix, run on this device, compared with
// the committed baseline of its device class (baselines/<device-key>.json, written by
// `deno task harness baseline update --matrix smoke`). Numeric and support drift fail;
// speed does not (CI machines differ in speed); what moved is printed either way.
import assert from "node:assert/strict";
import {
  baselineFromReport,
  compareBaselines,
  compareSummaryLine,
  currentBackend,
  deviceKey,
  readBaseline,
  writeBaseline,
} from "../drift/mod.ts";
import { hasAdapter, probeCaps } from "../gpu/device.ts";
import { runMatrix } from "../runner/run_matrix.ts";
import { repoRoot } from "./drift_helpers.ts";

/** 18 cases: both paths and dtypes, tiny, tiny-yarn and DeepSeek-V2-Lite heads, varlen, paged. */
const FILTER = "layout=thd;causal=1;sq=1";
const quiet = { writeSync: (b: Uint8Array) => b.length, isTerminal: () => false };

const gpu = await hasAdapter();
const key = gpu ? deviceKey({ adapter: await probeCaps() }, { backend: currentBackend() }) : null;
const path = `${repoRoot}baselines/${key}.json`;
const committed = key !== null && (await Deno.stat(path).then(() => true, () => false));

const noBaseline = key === null
  ? "no WebGPU adapter"
  : `no committed baseline for this device's key (${key}): the next test checks what it can`;

Deno.test({
  name: `smoke (${FILTER}) has no numeric or support drift against baselines/${key ?? "?"}.json` +
    (committed ? "" : ` [ignored here: ${noBaseline}]`),
  ignore: !committed,
  fn: async () => {
    const base = await readBaseline(path);
    const report = await runMatrix({
      matrix: "smoke",
      filter: FILTER,
      out: await Deno.makeTempDir(),
      repeats: 0,
      progress: quiet,
    });
    const current = await baselineFromReport(report, { backend: currentBackend() });
    const r = compareBaselines(base, current, { failOn: ["numeric-drift", "support-drift"] });
    console.log(compareSummaryLine(r));
    for (const line of r.environment.summary) console.log(`  changed: ${line}`);
    const moved = r.cases.filter((c) => c.class !== "unchanged");
    for (const c of moved) console.log(`  ${c.class}: ${c.id}: ${c.details.join("; ")}`);
    assert.equal(r.cases.length, 18);
    assert.equal(r.counts.new, 0, "the committed baseline covers every case of the filter");
    assert.equal(
      r.regressions,
      0,
      "numeric or support drift against the committed baseline; if the change is intended, " +
        "regenerate it: DENO_WEBGPU_BACKEND=vulkan deno task harness baseline update --matrix smoke",
    );
  },
});

Deno.test({
  name: "without a committed baseline: a baseline of this device round-trips under its key, " +
    "and a run compared with it has no drift" +
    (committed ? " [ignored here: this device's committed baseline is checked above]" : ""),
  ignore: !gpu || committed,
  fn: async () => {
    const report = await runMatrix({
      matrix: "smoke",
      filter: FILTER,
      out: await Deno.makeTempDir(),
      repeats: 0,
      progress: quiet,
    });
    const made = await baselineFromReport(report, { backend: currentBackend() });
    assert.equal(made.deviceKey, key);
    const dir = await Deno.makeTempDir();
    const file = await writeBaseline(dir, made);
    assert.equal(file, `${dir}/${key}.json`);
    const r = compareBaselines(await readBaseline(file), made, {
      failOn: ["numeric-drift", "support-drift"],
    });
    assert.equal(r.cases.length, 18);
    assert.equal(r.regressions, 0);
    assert.equal(r.counts.unchanged, 18);
  },
});
