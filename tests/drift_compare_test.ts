// Classification and attribution on synthetic baselines (each test plants one change), the
// baseline file format (round trip, bad files named with their field), the device key, and
// threshold overrides.
import assert from "node:assert/strict";
import {
  baselineFromReport,
  compareBaselines,
  compareSummaryLine,
  compareToMarkdown,
  deviceKey,
  DriftInputError,
  loadComparable,
  mergeThresholds,
  readBaseline,
  writeBaseline,
} from "../drift/mod.ts";
import {
  baselineOf,
  caseResult,
  lavapipeFingerprint,
  reportOf,
  samples,
  supportedCase,
  timing,
} from "./drift_helpers.ts";
import { diffFingerprints } from "../runner/fingerprint.ts";
import { inShard } from "../matrix/case_id.ts";
import type { BaselineCase } from "../drift/types.ts";
import { compareReportHtml } from "../drift/drift_html.ts";
import { runCliInProcess } from "./helpers_cli.ts";
import { sampleLoad } from "../util/host_load.ts";

const A = "preset=tiny;path=absorbed;dtype=f32;b=2;sq=1;sk=20;layout=bshd;causal=1";
const E = "preset=tiny;path=expanded;dtype=f32;b=2;sq=1;sk=20;layout=bshd;causal=1";
const U = "preset=tiny;path=absorbed;dtype=f16;b=2;sq=1;sk=20;layout=bshd;causal=1";

Deno.test("identical runs: every case unchanged, no environment change, exit-worthy nothing", () => {
  const base = baselineOf([supportedCase(A), supportedCase(E, { backend: "wgsl-expanded" })]);
  const r = compareBaselines(base, structuredClone(base));
  assert.equal(r.counts.unchanged, 2);
  assert.equal(r.regressions, 0);
  assert.deepEqual(r.environment.summary, []);
  assert.equal(r.speed.compared, 2);
  assert.equal(r.speed.geomeanRatio, 1);
});

Deno.test("changed kernel: numeric drift attributed to that kernel's hash", () => {
  const base = baselineOf([supportedCase(A), supportedCase(E, { backend: "wgsl-expanded" })]);
  const cur = baselineOf([
    supportedCase(A, {
      outputDigest: "changed",
      metrics: { ...supportedCase(A).metrics!, outMaxAbs: 3e-5, outNormRel: 2e-4 },
      kernelHash: "other",
    }),
    supportedCase(E, { backend: "wgsl-expanded" }),
  ], {
    fingerprint: lavapipeFingerprint({
      kernelHashes: { ...lavapipeFingerprint().kernelHashes, "up_proj.wgsl": "0123456789abcdef" },
    }),
  });
  const r = compareBaselines(base, cur);
  const a = r.cases.find((c) => c.id === A)!;
  assert.equal(a.class, "numeric-drift");
  assert.deepEqual(a.classes, ["numeric-drift", "bits-changed"]);
  assert.deepEqual(a.metrics.map((m) => m.metric), ["outMaxAbs", "outNormRel"]);
  assert.match(
    a.attributedTo[0],
    /^kernel source: up_proj\.wgsl 412cb9513e716239 → 0123456789abcdef/,
  );
  // the expanded case does not run up_proj.wgsl: unchanged, nothing attributed
  assert.equal(r.cases.find((c) => c.id === E)!.class, "unchanged");
  assert.deepEqual(r.environment.summary, [
    "kernel source: up_proj.wgsl 412cb9513e716239 → 0123456789abcdef",
  ]);
  assert.equal(r.regressions, 1);
  const md = compareToMarkdown(r);
  assert.match(md, /\*\*1 regression\*\*/);
  assert.match(md, /numeric-drift, bits-changed \| outMaxAbs 2e-7 → 3e-5/);
});

Deno.test("bits changed within tolerance, and growth below the floor, are information only", () => {
  const base = baselineOf([supportedCase(A)]);
  const cur = baselineOf([
    supportedCase(A, {
      outputDigest: "changed",
      // 40x growth of max abs error, but 5e-6 is below 0.1 * atol (1e-5)
      metrics: { ...supportedCase(A).metrics!, outMaxAbs: 8e-6 },
    }),
  ]);
  const r = compareBaselines(base, cur);
  assert.equal(r.cases[0].class, "bits-changed");
  assert.equal(r.regressions, 0);
});

Deno.test("crossing the tolerance is numeric drift even below the growth factor", () => {
  const base = baselineOf([
    supportedCase(A, { metrics: { ...supportedCase(A).metrics!, outMaxAbs: 9e-5 } }),
  ]);
  const cur = baselineOf([
    supportedCase(A, {
      status: "fail",
      parity: { out: false, lse: true },
      metrics: { ...supportedCase(A).metrics!, outMaxAbs: 1.1e-4 },
      message: "out: max abs err 1.1e-4",
    }),
  ]);
  const c = compareBaselines(base, cur).cases[0];
  assert.equal(c.class, "numeric-drift");
  assert.match(c.details[0], /crossed the tolerance \(out: pass → fail\)/);
});

Deno.test("changed adapter rule: support drift (decision, reasons, plan, backend, error)", () => {
  const unsupported = (codes: string[]) =>
    supportedCase(U, {
      decision: "unsupported",
      backend: null,
      planDigest: null,
      parity: null,
      metrics: null,
      outputDigest: null,
      timing: null,
      kernelFiles: [],
      kernelHash: null,
      reasons: codes.map((code) => ({ code, message: `${code} failed` })),
    });
  const base = baselineOf([
    supportedCase(A),
    supportedCase(E),
    unsupported(["dtype.f16-unavailable"]),
  ]);
  const cur = baselineOf([
    { ...unsupported(["limits.workgroup-storage"]), id: A },
    supportedCase(E, { planDigest: "another-plan" }),
    unsupported(["dtype.f16-unavailable", "limits.buffer-size"]),
  ], {
    fingerprint: lavapipeFingerprint({
      harnessRevision: "ffffffffffffffffffffffffffffffffffffffff",
    }),
  });
  const r = compareBaselines(base, cur);
  const byId = new Map(r.cases.map((c) => [c.id, c]));
  assert.equal(byId.get(A)!.class, "support-drift");
  assert.match(
    byId.get(A)!.details[0],
    /support: supported → unsupported \(limits\.workgroup-storage\)/,
  );
  assert.match(byId.get(E)!.details[0], /plan: digest .* → another-plan/);
  assert.match(
    byId.get(U)!.details[0],
    /reasons: dtype\.f16-unavailable → dtype\.f16-unavailable, limits\.buffer-size/,
  );
  assert.equal(r.counts["support-drift"], 3);
  // the adapter rules live in the harness: attributed to its revision
  assert.ok(
    byId.get(A)!.attributedTo.some((s) =>
      s.startsWith("harness revision: b738ab613d → ffffffffff")
    ),
  );
  // a case that now errors is support drift too
  const err = compareBaselines(
    baselineOf([supportedCase(A)]),
    baselineOf([supportedCase(A, { status: "error", message: "GPUValidationError: boom" })]),
  );
  assert.equal(err.cases[0].class, "support-drift");
  assert.match(err.cases[0].details.join(" "), /status: pass → error: GPUValidationError: boom/);
});

Deno.test("slowed kernel (synthetic samples): speed regression flagged as significant", () => {
  const base = baselineOf([supportedCase(A), supportedCase(E, { backend: "wgsl-expanded" })]);
  const cur = baselineOf([
    supportedCase(A, { timing: timing(samples(5, 10, 11)) }),
    supportedCase(E, { backend: "wgsl-expanded", timing: timing(samples(1.1, 10, 12)) }),
  ]);
  const r = compareBaselines(base, cur);
  const a = r.cases.find((c) => c.id === A)!;
  assert.equal(a.class, "speed-regression");
  assert.ok(a.speed!.p! < 0.01 && a.speed!.ratio! > 4, JSON.stringify(a.speed));
  assert.equal(r.cases.find((c) => c.id === E)!.speed!.verdict, "not-significant");
  assert.equal(r.speed.regressions, 1);
  assert.ok(r.speed.geomeanRatio! > 2);
  assert.equal(r.regressions, 1);
  assert.equal(r.speed.untested, 0);
  assert.doesNotMatch(compareSummaryLine(r), /not tested/);
  // 3 samples a side (run's default --repeats): a 5x slowdown cannot be flagged, and the
  // summary, the markdown and the page say so instead of reading as unchanged
  const three = baselineOf([supportedCase(A, { timing: timing(samples(1, 3, 13)) })]);
  const slow3 = baselineOf([supportedCase(A, { timing: timing(samples(5, 3, 14)) })]);
  const u = compareBaselines(three, slow3);
  assert.equal(u.cases[0].class, "unchanged");
  assert.equal(u.speed.untested, 1);
  assert.equal(u.speed.fewestSamples, 3);
  assert.match(
    compareSummaryLine(u),
    /speed x\d\.\d+ \(geomean\) \(speed not tested in 1 case: too few samples \(3; at least 5 a side\): both sides need --repeats 5 or more\)/,
  );
  assert.match(compareToMarkdown(u), /⚠ speed not tested in 1 case/);
  // a timing with no samples (edited by hand): untested, and no ratio among the timed cases
  // (its NaN ratio was counted: "over 2 timed cases" where one was compared)
  const empty = compareBaselines(
    baselineOf([
      supportedCase(A, { timing: { ...timing([1])!, samplesMs: [] } }),
      supportedCase(E),
    ]),
    baselineOf([supportedCase(A), supportedCase(E)]),
  );
  assert.equal(empty.speed.compared, 1);
  assert.equal(empty.speed.untested, 1);
  assert.equal(empty.cases.find((c) => c.id === A)!.speed!.ratio, null);
  // no samples on a side (run --repeats 0): untested too, not silent
  const none = compareBaselines(three, baselineOf([supportedCase(A, { timing: null })]));
  assert.equal(none.speed.untested, 1);
  assert.equal(none.speed.fewestSamples, 0);
  assert.match(compareSummaryLine(none), /speed not tested in 1 case: too few samples \(0;/);
  // one side short: that side is named (a baseline of --repeats 3 against a run of 10 read
  // "both sides need --repeats 5 or more")
  const ten = baselineOf([supportedCase(A, { timing: timing(samples(1, 10, 15)) })]);
  assert.deepEqual(compareBaselines(three, ten).speed.shortSides, ["baseline"]);
  assert.match(
    compareSummaryLine(compareBaselines(three, ten)),
    /too few samples \(3; at least 5 a side\): the baseline's run needs --repeats 5 or more\)/,
  );
  assert.match(
    compareSummaryLine(compareBaselines(ten, baselineOf([supportedCase(A, { timing: null })]))),
    /\(0; at least 5 a side\): the current run needs --repeats 5 or more\)/,
  );
  assert.deepEqual(u.speed.shortSides, ["baseline", "current"]);
  // --fail-on without speed: the same comparison is not a failure
  assert.equal(
    compareBaselines(base, cur, { failOn: ["numeric-drift", "support-drift"] }).regressions,
    0,
  );
});

Deno.test("another Deno version: attributed to Deno, and nothing else moves", () => {
  const base = baselineOf([supportedCase(A, { outputDigest: "x" })]);
  const cur = baselineOf([supportedCase(A, { outputDigest: "y" })], {
    fingerprint: lavapipeFingerprint({
      runtime: { deno: "2.9.5", v8: "14.9.0-rusty", typescript: "6.0.3" },
    }),
  });
  const r = compareBaselines(base, cur);
  assert.deepEqual(r.environment.summary, [
    "Deno: deno 2.9.6 → 2.9.5; v8 15.0.245.2-rusty → 14.9.0-rusty",
  ]);
  assert.equal(r.cases[0].class, "bits-changed");
  assert.deepEqual(r.cases[0].attributedTo, [r.environment.summary[0]]);
  assert.equal(r.regressions, 0);
  assert.match(compareToMarkdown(r), /- Deno: deno 2\.9\.6 → 2\.9\.5/);
});

Deno.test("new, removed and out-of-scope cases", () => {
  const base = baselineOf([supportedCase(A), supportedCase(E), supportedCase(U)]);
  // a filtered run selecting A and a new case: E and U are outside its scope
  const filtered = baselineOf([supportedCase(A), supportedCase("preset=tiny;new=1")], {
    filter: "path=absorbed;dtype=f32",
  });
  const r = compareBaselines(base, filtered);
  assert.equal(r.counts.new, 1);
  assert.equal(r.counts.removed, 0);
  assert.equal(r.outOfScope, 2);
  // U is inside this filter, and the same matrix (its file named by another path) no longer
  // has it: removed, not out of scope
  const inside = baselineOf([supportedCase(A)], { filter: "path=absorbed" });
  const filesBase = baselineOf(base.cases as BaselineCase[], { matrix: "/ci/a/nightly.json" });
  for (const m of ["smoke", "../b/nightly.json"]) {
    const x = compareBaselines(m === "smoke" ? base : filesBase, { ...inside, matrix: m });
    assert.deepEqual(x.cases.filter((c) => c.class === "removed").map((c) => c.id), [U], m);
    assert.equal(x.outOfScope, 1, m); // E: outside the filter
  }
  // another matrix: its cases are out of scope, whatever the filter
  const other = compareBaselines(base, { ...inside, matrix: "decode" });
  assert.equal(other.counts.removed, 0);
  assert.equal(other.outOfScope, 2);
  // a shard: removed only where the shard owns the case (by its id's hash)
  for (const shard of ["1/2", "2/2"]) {
    const owns = inShard(U, { index: Number(shard[0]), count: 2 });
    const x = compareBaselines(base, { ...inside, shard });
    assert.equal(x.counts.removed, owns ? 1 : 0, shard);
  }
  // the whole matrix without E: removed
  const whole = baselineOf([supportedCase(A), supportedCase(U)]);
  const w = compareBaselines(base, whole);
  assert.equal(w.counts.removed, 1);
  assert.equal(w.cases.find((c) => c.class === "removed")!.id, E);
  assert.equal(compareBaselines(base, whole, { failOn: ["removed"] }).regressions, 1);
});

Deno.test("device key: slug of the description without versions, vendor, device id, backend", () => {
  assert.equal(deviceKey(lavapipeFingerprint(), { backend: "vulkan" }), "llvmpipe-65541-vulkan");
  const other = lavapipeFingerprint({
    adapter: {
      adapter: { vendor: "4318", description: "NVIDIA GeForce RTX 4090", isFallbackAdapter: false },
    },
  });
  assert.equal(deviceKey(other, { backend: "vulkan" }), "nvidia-geforce-rtx-4090-4318-vulkan");
  // a device id other than 0 is part of the key (two boards of one vendor and name)
  const h100 = lavapipeFingerprint({
    adapter: { adapter: { vendor: "4318", device: "9008", description: "NVIDIA H100 PCIe" } },
  });
  assert.equal(deviceKey(h100, { backend: "vulkan" }), "nvidia-h100-pcie-4318-9008-vulkan");
  assert.equal(deviceKey({ adapter: null }, { backend: "gl" }), "no-adapter-gl");
  // another LLVM version is the same device class (the change is attributed, not a new file)
  const llvm = lavapipeFingerprint({
    adapter: {
      adapter: {
        vendor: "65541",
        description: "llvmpipe (LLVM 19.1.7, 256 bits)",
        isFallbackAdapter: true,
      },
    },
  });
  assert.equal(deviceKey(llvm, { backend: "vulkan" }), "llvmpipe-65541-vulkan");
  // the same device under GL is another class (other features, other decisions)
  assert.equal(deviceKey(lavapipeFingerprint(), { backend: "gl" }), "llvmpipe-65541-gl");
});

Deno.test("a baseline an older harness keyed otherwise (llvmpipe-65541-fallback-vulkan) is this device's: no 'Different device keys'", async () => {
  // a baseline written before d25df28: the same lavapipe, its file's key by the old rules
  const old = baselineOf([supportedCase(A)], { deviceKey: "llvmpipe-65541-fallback-vulkan" });
  const current = baselineOf([supportedCase(A)]);
  const r = compareBaselines(old, current);
  assert.equal(r.baseline.deviceKey, "llvmpipe-65541-vulkan");
  assert.equal(r.baseline.recordedKey, "llvmpipe-65541-fallback-vulkan");
  assert.equal(r.current.recordedKey, undefined);
  const md = compareToMarkdown(r);
  assert.doesNotMatch(md, /Different devices/);
  assert.match(
    md,
    /Baseline: `llvmpipe-65541-vulkan` \(recorded as `llvmpipe-65541-fallback-vulkan`, by an older harness's key rules\),/,
  );
  assert.match(compareSummaryLine(r), /^drift: /);
  const page = await compareReportHtml(r);
  assert.doesNotMatch(page, /device-keys-differ/);
  assert.match(page, /recorded as llvmpipe-65541-fallback-vulkan, by an older harness/);
});

Deno.test("device key: two fingerprints differing only in the fallback flag share a key", () => {
  // Deno 2.8.0 reports lavapipe as a regular adapter, 2.9.6 as a fallback one.
  const fallback = lavapipeFingerprint();
  const info = (fallback.adapter as { adapter: Record<string, unknown> }).adapter;
  assert.equal(info.isFallbackAdapter, true);
  const regular = lavapipeFingerprint({
    adapter: {
      ...(fallback.adapter as Record<string, unknown>),
      adapter: { ...info, isFallbackAdapter: false },
    },
  });
  assert.equal(deviceKey(regular, { backend: "vulkan" }), "llvmpipe-65541-vulkan");
  assert.equal(
    deviceKey(fallback, { backend: "vulkan" }),
    deviceKey(regular, { backend: "vulkan" }),
  );
  // the flag stays in the fingerprint, where attribution sees it change
  assert.deepEqual(diffFingerprints(regular, fallback), [
    { field: "adapter.isFallbackAdapter", from: "false", to: "true" },
  ]);
});

Deno.test("baseline files: round trip from a report, and bad files named with the field", async () => {
  const dir = await Deno.makeTempDir();
  const report = reportOf([caseResult(A, 1, 1), caseResult(E, 1, 2)]);
  const b = await baselineFromReport(report, { backend: "vulkan" });
  assert.equal(b.deviceKey, "llvmpipe-65541-vulkan");
  assert.equal(b.cases[0].timing!.count, 10);
  assert.deepEqual(b.cases[0].kernelFiles, ["absorbed.wgsl", "rope.wgsl", "up_proj.wgsl"]);
  assert.deepEqual(b.cases[1].kernelFiles, ["expanded.wgsl", "rope.wgsl"]);
  assert.match(b.cases[0].kernelHash!, /^[0-9a-f]{16}$/);
  // the temp file of a write a killed update left goes (it stayed in the baselines folder for
  // good); another device's, which its own update may be writing now, stays
  await Deno.writeTextFile(`${dir}/.llvmpipe-65541-vulkan.json.0a1b2c3d.tmp`, '{"format": "ml');
  await Deno.writeTextFile(`${dir}/.other-device.json.0a1b2c3d.tmp`, '{"format": "ml');
  const path = await writeBaseline(dir, b);
  assert.equal(path, `${dir}/llvmpipe-65541-vulkan.json`);
  assert.deepEqual(await readBaseline(path), b);
  assert.deepEqual(
    [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.startsWith(".")),
    [".other-device.json.0a1b2c3d.tmp"],
  );
  // a report.json is comparable too
  await Deno.writeTextFile(`${dir}/report.json`, JSON.stringify(report));
  assert.equal((await loadComparable(dir, { backend: "vulkan" })).cases.length, 2);

  await Deno.writeTextFile(`${dir}/not.json`, JSON.stringify({ format: "something-else" }));
  await assert.rejects(() => readBaseline(`${dir}/not.json`), (e: Error) => {
    assert.ok(e instanceof DriftInputError);
    assert.match(
      e.message,
      /not\.json: field "format" must be "mla-harness-baseline".*not a baseline/,
    );
    return true;
  });
  const broken = JSON.parse(await Deno.readTextFile(path));
  broken.cases[1].timing.samplesMs = "fast";
  await Deno.writeTextFile(`${dir}/broken.json`, JSON.stringify(broken));
  await assert.rejects(
    () => readBaseline(`${dir}/broken.json`),
    /broken\.json: cases\[1\]: field "timing\.samplesMs" must be an array of numbers/,
  );
  // hand-edited wrong: each named by its field (a shard of 7 and "interrupted": "no" read as
  // another selection and as a run stopped early, kernel files of numbers as no kernel)
  const edits: [
    string,
    (x: Record<string, unknown> & { cases: Record<string, unknown>[] }) => void,
    RegExp,
  ][] = [
    [
      "shard",
      (x) => x.shard = 7,
      /: field "shard" must be the run's shard "i\/n" or null \(got 7\)/,
    ],
    [
      "interrupted",
      (x) => x.interrupted = "no",
      /: field "interrupted" must be true or false \(got "no"\)/,
    ],
    [
      "kernelFiles",
      (x) => x.cases[1].kernelFiles = [1],
      /: cases\[1\]: field "kernelFiles" must be an array of kernel file names/,
    ],
    [
      "params",
      (x) => x.cases[0].params = "x",
      /: cases\[0\]: field "params" must be the case's parameters \(an object\) or null \(got "x"\)/,
    ],
    ["message", (x) => x.cases[0].message = 5, /: cases\[0\]: field "message" must be a string/],
    // a count or median edited by hand that disagrees with the samples compare reads: accepted
    [
      "count",
      (x) => (x.cases[0].timing as { count: number }).count = 3,
      /: cases\[0\]: field "timing\.count" must be the number of "timing\.samplesMs" \(10; got 3\)/,
    ],
    [
      "medianMs",
      (x) => (x.cases[0].timing as { medianMs: number }).medianMs = 99,
      /: cases\[0\]: field "timing\.medianMs" must be the median of "timing\.samplesMs" \([\d.]+; got 99\): compare reads the samples/,
    ],
  ];
  for (const [name, edit, message] of edits) {
    const x = JSON.parse(await Deno.readTextFile(path));
    edit(x);
    await Deno.writeTextFile(`${dir}/${name}.json`, JSON.stringify(x));
    await assert.rejects(() => readBaseline(`${dir}/${name}.json`), (e: Error) => {
      assert.ok(e instanceof DriftInputError && e.message.startsWith(`${dir}/${name}.json: `));
      assert.match(e.message, message);
      return true;
    }, name);
  }
  await assert.rejects(() => readBaseline(`${dir}/missing.json`), /missing\.json: no such file/);
  await Deno.writeTextFile(`${dir}/garbage.json`, "{nope}");
  await assert.rejects(
    () => loadComparable(`${dir}/garbage.json`),
    /garbage\.json: not valid JSON/,
  );
  await Deno.writeTextFile(`${dir}/garbage.json`, "{");
  await assert.rejects(
    () => loadComparable(`${dir}/garbage.json`),
    /garbage\.json: half-written: it ends partway/,
  );
  await assert.rejects(
    () => loadComparable(`${dir}/not.json`),
    /neither a baseline .* nor a run report/,
  );
  // a run report of a newer harness is named so, as a newer baseline is (it was "neither")
  await Deno.writeTextFile(`${dir}/v2.json`, JSON.stringify({ version: 2, results: [] }));
  await assert.rejects(
    () => loadComparable(`${dir}/v2.json`),
    /v2\.json: version 2, written by a newer harness \(this one reads version 1\)/,
  );
});

Deno.test("thresholds: partial overrides merge; unknown fields and bad values are named", () => {
  const t = mergeThresholds({ speedRatio: 1.3, absoluteFloors: { outMaxAbs: 1e-6 } });
  assert.equal(t.speedRatio, 1.3);
  assert.equal(t.absoluteFloors.outMaxAbs, 1e-6);
  assert.equal(t.alpha, 0.01);
  assert.throws(
    () => mergeThresholds({ speed: 2 }, { where: "t.json" }),
    /t\.json: unknown field "speed"/,
  );
  assert.throws(() => mergeThresholds({ alpha: 2 }), /field "alpha" must be a number in \(0, 1\]/);
  assert.throws(
    () => mergeThresholds({ speedRatio: 0.5 }),
    /"speedRatio" must be a finite number > 1 \(got 0\.5\)/,
  );
  assert.throws(
    () => mergeThresholds({ absoluteFloors: { nope: 1 } }),
    /unknown metric "absoluteFloors\.nope"/,
  );
  assert.throws(() => mergeThresholds([]), /must be a JSON object/);
});

// Each field's message said "(0, inf]" whatever the field took (speedRatio and minSamples
// then refused some of that range with another message, without the value), refused
// Infinity (1e999 in the file) after saying inf was valid, and showed it as "got null".
Deno.test("thresholds: a bad value's message says the field's own valid range and the value as read", () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ speedRatio: 1e999 }, /field "speedRatio" must be a finite number > 1 \(got Infinity\)/],
    [{ speedRatio: 1 }, /field "speedRatio" must be a finite number > 1 \(got 1\)/],
    [{ speedRatio: "2" }, /field "speedRatio" must be a finite number > 1 \(got "2"\)/],
    [{ metricFactor: 0.5 }, /field "metricFactor" must be a finite number >= 1 \(got 0\.5\)/],
    [{ minSamples: 2.5 }, /field "minSamples" must be an integer >= 1 \(got 2\.5\)/],
    [{ minSamples: 0 }, /field "minSamples" must be an integer >= 1 \(got 0\)/],
    [{ floorFraction: -1 }, /field "floorFraction" must be a finite number > 0 \(got -1\)/],
    [{ alpha: -Infinity }, /field "alpha" must be a number in \(0, 1\] \(got -Infinity\)/],
    [
      { absoluteFloors: { outMaxAbs: 1e999 } },
      /field "absoluteFloors\.outMaxAbs" must be a finite number > 0 \(got Infinity\)/,
    ],
  ];
  for (const [partial, message] of cases) {
    assert.throws(() => mergeThresholds(partial, { where: "t.json" }), message);
    assert.throws(() => mergeThresholds(partial), /must be /);
  }
  assert.doesNotThrow(() => mergeThresholds({ speedRatio: 1.01, metricFactor: 1, minSamples: 1 }));
  // JSON.parse reads 1e999 as Infinity: the message shows it so
  assert.throws(
    () => mergeThresholds(JSON.parse('{"speedRatio": 1e999}'), { where: "t.json" }),
    /t\.json: field "speedRatio" must be a finite number > 1 \(got Infinity\)/,
  );
});

Deno.test("a device-class override or another SM count is attributed to the adapter's caps, not 'nothing changed'", () => {
  const base = baselineOf([supportedCase(A)]);
  const fp = lavapipeFingerprint();
  const cur = baselineOf([supportedCase(A, { backend: "wgsl-absorbed-tiled", planDigest: "p2" })], {
    fingerprint: lavapipeFingerprint({
      adapter: {
        ...(fp.adapter as Record<string, unknown>),
        deviceClass: "gpu",
        deviceClassFrom: "MLA_HARNESS_DEVICE_CLASS",
        smCount: 132,
      },
    }),
  });
  const r = compareBaselines(base, cur);
  assert.equal(r.cases[0].class, "support-drift");
  assert.equal(r.environment.summary.length, 1, r.environment.summary.join("\n"));
  assert.match(
    r.environment.summary[0],
    // one change per name, old → new beside each other
    // the class it replaced and who set each (it read "caps.deviceClass none → gpu")
    /^adapter or driver: caps\.deviceClass cpu \(rules\) → gpu \(MLA_HARNESS_DEVICE_CLASS\); caps\.smCount none → 132$/,
  );
  assert.deepEqual(r.cases[0].attributedTo, [r.environment.summary[0]]);
});

Deno.test("a case that failed and now passes says so, both ways round", () => {
  const failing = supportedCase(A, { status: "fail", parity: { out: false, lse: true } });
  const passing = supportedCase(A, { outputDigest: "other" });
  const fixed = compareBaselines(baselineOf([failing]), baselineOf([passing]));
  assert.match(fixed.cases[0].details.join("\n"), /back within the tolerance \(out: fail → pass\)/);
  const broke = compareBaselines(baselineOf([passing]), baselineOf([failing]));
  assert.match(broke.cases[0].details.join("\n"), /crossed the tolerance \(out: pass → fail\)/);
});

Deno.test("another matrix seed is named on the cases it moved", () => {
  const base = baselineOf([supportedCase(A, { seed: 1 })]);
  const cur = baselineOf([supportedCase(A, { seed: 99, outputDigest: "other" })]);
  const r = compareBaselines(base, cur);
  assert.match(r.cases[0].details.join("\n"), /input seed 1 → 99 \(the matrix's seed/);
  // what the case is attributed to, and the environment section: the inputs changed, where
  // "nothing recorded changed" and "Nothing" stood
  assert.deepEqual(r.cases[0].attributedTo, [
    "input seed 1 → 99 (the matrix's seed: other inputs)",
  ]);
  assert.deepEqual(r.environment.summary, [
    "Inputs: the matrix's input seed 1 → 99 in 1 case: other inputs, so other output bits and " +
    "error metrics",
  ]);
  assert.deepEqual(r.environment.changes, [], "no fingerprint field changed");
  assert.match(
    compareToMarkdown(r),
    /### What changed in the environment\n\n- Inputs: the matrix's input seed 1 → 99/,
  );
  // older records without a seed: nothing said
  const old = compareBaselines(baselineOf([supportedCase(A)]), cur);
  assert.doesNotMatch(old.cases[0].details.join("\n"), /input seed/);
  assert.deepEqual(old.environment.summary, []);
});

Deno.test("classCounts counts every class a case has, as --fail-on does; counts its most severe one", () => {
  const base = baselineOf([supportedCase(A)]);
  // another backend (support drift) that also crossed its tolerance (numeric drift)
  const cur = baselineOf([
    supportedCase(A, {
      backend: "wgsl-absorbed-gemm",
      status: "fail",
      parity: { out: false, lse: true },
      outputDigest: "other",
    }),
  ]);
  const r = compareBaselines(base, cur, { failOn: ["numeric-drift"] });
  assert.equal(r.counts["support-drift"], 1);
  assert.equal(r.counts["numeric-drift"], 0);
  assert.equal(r.classCounts["numeric-drift"], 1);
  assert.equal(r.classCounts["support-drift"], 1);
  assert.equal(r.regressions, 1);
  assert.match(compareToMarkdown(r), /^\| numeric drift \| 0 \| 1 \|$/m);
});

Deno.test("a baseline of one shard or filter: the current run's other cases are said to be outside its selection, not 'new case'", async () => {
  // a baseline made from shard 1/2's report (the nightly's merge step given one shard's
  // artifact): the current run of the whole matrix has the other shard's cases too
  const ids = [A, E, U, "preset=tiny;path=absorbed;dtype=f16;b=2;sq=4;sk=20;layout=thd;causal=0"];
  const mine = ids.filter((id) => inShard(id, { index: 1, count: 2 }));
  const theirs = ids.filter((id) => !mine.includes(id));
  assert.ok(mine.length > 0 && theirs.length > 0);
  const base = baselineOf(mine.map((id) => supportedCase(id)), { shard: "1/2" });
  // a case added to the matrix, of the baseline's shard: new
  const added = [1, 3, 5, 7, 9].map((b) => A.replace("b=2", `b=${b}`))
    .find((id) => inShard(id, { index: 1, count: 2 }))!;
  const whole = baselineOf([...ids, added].map((id) => supportedCase(id)));
  const r = compareBaselines(base, whole);
  assert.equal(r.baseline.shard, "1/2");
  assert.equal(r.newOutOfScope, theirs.length);
  assert.equal(r.counts.new, theirs.length + 1);
  const byId = new Map(r.cases.map((x) => [x.id, x]));
  for (const id of theirs) {
    assert.deepEqual(byId.get(id)!.details, [
      "outside the baseline's selection (shard 1/2): not compared; now supported, pass",
    ]);
  }
  // a case the baseline's run would have selected: new to the matrix
  assert.deepEqual(byId.get(added)!.details, ["new case (supported, pass)"]);
  const md = compareToMarkdown(r);
  assert.match(md, /Baseline: `llvmpipe-65541-vulkan`, smoke \(shard 1\/2\),/);
  assert.ok(
    md.includes(
      `> ⚠ ${theirs.length} current case${theirs.length === 1 ? " is" : "s are"} outside the ` +
        "baseline's selection (shard 1/2): counted as new, not compared.",
    ),
    md,
  );
  assert.match(compareSummaryLine(r), /outside the baseline's selection, shard 1\/2: not compared/);
  assert.match(
    await compareReportHtml(r),
    /outside the baseline(&#39;|')s selection \(shard 1\/2\)/,
  );
  // a filtered baseline: the cases outside its filter likewise
  const f = compareBaselines(baselineOf([supportedCase(A)], { filter: "path=absorbed" }), whole);
  assert.deepEqual(
    f.cases.filter((c) => c.details[0]?.startsWith("outside")).map((c) => c.id).sort(),
    [E],
  );
  // a baseline of the whole matrix: nothing outside it, no field
  assert.equal(compareBaselines(whole, whole).newOutOfScope, undefined);
});

Deno.test("compare: an interrupted side is said in compare.md, the JSON and the page; its missing cases are not 'new' nor 'removed'", async () => {
  const [a, b, c] = ["preset=tiny;b=1", "preset=tiny;b=2", "preset=tiny;b=3"];
  const all = [a, b, c];
  // the baseline's run stopped before c, the current one before b
  const base = baselineOf([supportedCase(a), supportedCase(b)], {
    scope: all,
    interrupted: true,
  });
  const current = baselineOf([supportedCase(a), supportedCase(c)], {
    scope: all,
    interrupted: true,
  });
  const r = compareBaselines(base, current);
  assert.equal(r.baseline.missing, 1);
  assert.equal(r.baseline.interrupted, true);
  assert.equal(r.current.missing, 1);
  const byId = new Map(r.cases.map((x) => [x.id, x]));
  // c ran in the current run only: the baseline selected it and stopped before it: not run
  // there, not compared (it read "new", and --fail-on new counted it as a regression)
  assert.equal(byId.get(c), undefined);
  assert.equal(r.counts.new, 0);
  assert.equal(compareBaselines(base, current, { failOn: ["new"] }).regressions, 0);
  // b: the current run stopped before it: not run, not compared, no class (it read "removed",
  // as if the matrix had dropped it, in compare.md and the run's drift line)
  assert.equal(byId.get(b), undefined);
  assert.equal(r.counts.removed, 0);
  assert.equal(compareBaselines(base, current, { failOn: ["removed"] }).regressions, 0);
  assert.match(
    compareSummaryLine(r),
    /: 1 unchanged, 1 not run \(the run was interrupted: not compared\), 1 not run in the baseline \(its run was interrupted: not compared\);/,
  );
  assert.doesNotMatch(compareSummaryLine(r), /new/);
  assert.doesNotMatch(compareSummaryLine(r), /removed/);
  const md = compareToMarkdown(r);
  assert.ok(
    md.includes(
      "> ⚠ The baseline run was interrupted: 1 of its selected cases has no result (not run " +
        "there: the current run's results for them are not compared, not new).",
    ),
    md,
  );
  assert.ok(
    md.includes(
      "> ⚠ The current run was interrupted: 1 of its selected cases has no result (not run: " +
        "not compared, and no drift).",
    ),
    md,
  );
  const page = await compareReportHtml(r);
  assert.match(page, /Incomplete runs/);
  assert.match(page, /The current run was interrupted: 1 of its selected cases has no result/);
  // complete runs: nothing said, no field
  const whole = compareBaselines(baselineOf([supportedCase(a)]), baselineOf([supportedCase(a)]));
  assert.equal(whole.baseline.missing, undefined);
  assert.equal(whole.current.interrupted, undefined);
  assert.doesNotMatch(compareToMarkdown(whole), /⚠/);
});

Deno.test("two runs of other --max-rows: compare names the change (it read 'unchanged' without a word); the baseline keeps it", async () => {
  const full = await baselineFromReport(reportOf([caseResult(A, 1, 1)], { maxRows: 64 }), {
    backend: "vulkan",
  });
  const sampled = await baselineFromReport(reportOf([caseResult(A, 1, 1)], { maxRows: 8 }), {
    backend: "vulkan",
  });
  assert.equal(full.maxRows, 64);
  const dir = await Deno.makeTempDir();
  try {
    assert.equal((await readBaseline(await writeBaseline(dir, sampled))).maxRows, 8);
    await Deno.writeTextFile(`${dir}/bad.json`, JSON.stringify({ ...sampled, maxRows: 0 }));
    await assert.rejects(() => readBaseline(`${dir}/bad.json`), /field "maxRows" must be/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const report = compareBaselines(full, sampled);
  assert.ok(
    report.environment.summary.some((l) => /^Reference rows: --max-rows 64 → 8 /.test(l)),
    report.environment.summary.join("\n"),
  );
  assert.match(compareToMarkdown(report), /Reference rows: --max-rows 64 → 8/);
  // a baseline from before it was recorded (the committed one, made before ef9a487): against
  // the default nothing to say; against --max-rows 8 the check may differ, and it was silent
  const rowsLines = (b: typeof full, c: typeof full) =>
    compareBaselines(b, c).environment.summary.filter((l) => l.startsWith("Reference rows"));
  const old = { ...full, maxRows: undefined };
  assert.deepEqual(rowsLines(old, full), []);
  assert.deepEqual(rowsLines(full, old), []);
  assert.deepEqual(rowsLines(old, sampled), [
    "Reference rows: --max-rows not recorded (64 unless that run set another) → 8 (a case of " +
    "more query rows is checked on a sample of that many: fewer rows can miss a difference)",
  ]);
  assert.match(rowsLines(sampled, old)[0], /--max-rows 8 → not recorded \(64 unless/);
});

Deno.test("runs of two matrices: the cases of one only are said to be so, and the matrices named", () => {
  const B2 = A.replace("sk=20", "sk=21");
  const C2 = A.replace("sk=20", "sk=22");
  const base = baselineOf([supportedCase(A), supportedCase(B2)], { matrix: "smoke" });
  const cur = baselineOf([supportedCase(A), supportedCase(C2)], { matrix: "mine.json" });
  const r = compareBaselines(base, cur);
  const details = (id: string) => r.cases.find((c) => c.id === id)!.details.join("\n");
  assert.match(details(C2), /^new case: only in the current run's matrix mine\.json \(supported/);
  assert.equal(r.cases.find((c) => c.id === B2), undefined, "outside the current selection");
  assert.deepEqual(r.environment.summary, [
    "Matrix: smoke → mine.json (the cases of one of them only are not compared: 1 new case, " +
    "1 baseline case outside the current selection)",
  ]);
  assert.match(
    compareToMarkdown(r),
    /### What changed in the environment\n\n- Matrix: smoke → mine/,
  );
  // one matrix: as before
  const same = compareBaselines(base, { ...cur, matrix: "smoke" });
  assert.deepEqual(same.environment.summary, []);
  assert.equal(same.cases.find((c) => c.id === B2)!.details.join(""), "no longer in the matrix");
});

Deno.test("compare CLI: the console warns of each side's selected cases with no result, the baseline's too", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const C = A.replace("sk=20", "sk=21");
    // the baseline's run stopped before C; the current run has both
    await Deno.writeTextFile(
      `${dir}/half.json`,
      JSON.stringify(baselineOf([supportedCase(A)], { scope: [A, C], interrupted: true })),
    );
    await Deno.writeTextFile(
      `${dir}/both.json`,
      JSON.stringify(baselineOf([supportedCase(A), supportedCase(C)])),
    );
    const r = await runCliInProcess(["compare", `${dir}/half.json`, `${dir}/both.json`]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /warning: .*half\.json has no result for 1 of its 2 selected cases \(an interrupted run, or a merge missing shards\); it is not run there: the current run's results for them are not compared \(not counted as new\)/,
    );
    assert.doesNotMatch(r.stderr, /both\.json has no result/);
    // the other way round: the current side's, as before
    const back = await runCliInProcess(["compare", `${dir}/both.json`, `${dir}/half.json`]);
    assert.match(
      back.stderr,
      /half\.json has no result for 1 of its 2 selected cases.*not run: not compared \(not counted as removed\)/,
    );
    assert.doesNotMatch(back.stderr, /both\.json has no result/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a side timed under load: speed.load says which, compare.md and the summary warn, the verdicts stand", async () => {
  const load = (load1: number) => ({
    start: { at: "2026-01-01T00:00:00.000Z", load1: 0.5, load5: 0.5, cpus: 2 },
    end: { at: "2026-01-01T00:01:00.000Z", load1, load5: load1, cpus: 2 },
  });
  const base = baselineOf([supportedCase(A)], { hostLoad: load(1) });
  const slow = [supportedCase(A, { timing: timing(samples(5, 10, 11)) })];
  // the current run's host at load 12 on 2 CPUs: its 5x slowdown may be the load's
  const busy = compareBaselines(base, baselineOf(slow, { hostLoad: load(12) }));
  assert.equal(busy.cases[0].class, "speed-regression", "the verdict stands");
  assert.equal(busy.regressions, 1);
  assert.equal(busy.speed.load?.trusted, false);
  assert.deepEqual(busy.speed.load?.loaded, ["current"]);
  assert.equal(busy.speed.load?.sides[1].perCpu, 6);
  assert.equal(busy.current.hostLoad?.end?.load1, 12);
  assert.match(
    compareSummaryLine(busy),
    /\(speed timed under load \(the current run: 6\.0 a CPU, above 2\): its verdicts may be the load's\); 1 regression$/,
  );
  assert.match(
    compareToMarkdown(busy),
    /> ⚠ Speed measured under load: the current run's host had load 12\.0 on 2 CPUs \(6\.0 a CPU\), above 2 a CPU: .*rerun on a quiet host/,
  );
  // a limit of one's own (--thresholds {"loadPerCpu": 8}): 6 a CPU is within it
  const roomy = compareBaselines(base, baselineOf(slow, { hostLoad: load(12) }), {
    thresholds: mergeThresholds({ loadPerCpu: 8 }),
  });
  assert.equal(roomy.speed.load?.trusted, true);
  assert.equal(roomy.speed.load?.limitPerCpu, 8);
  assert.throws(
    () => mergeThresholds({ loadPerCpu: 0 }, { where: "t.json" }),
    /t\.json: field "loadPerCpu" must be a finite number > 0 \(got 0\)/,
  );
  // no timings compared (a run of --repeats 0): no verdict to doubt, nothing said
  const untimed = compareBaselines(
    base,
    baselineOf([supportedCase(A, { timing: null })], { hostLoad: load(12) }),
  );
  assert.equal(untimed.speed.load?.trusted, false);
  assert.doesNotMatch(compareSummaryLine(untimed) + compareToMarkdown(untimed), /under load/);
  // both within the limit: trusted, nothing said
  const quiet = compareBaselines(base, baselineOf(slow, { hostLoad: load(3) }));
  assert.equal(quiet.speed.load?.trusted, true);
  assert.doesNotMatch(compareSummaryLine(quiet) + compareToMarkdown(quiet), /under load/);
  // a run without the permission: said in compare.md, which the JSON's null alone did not
  const unread = compareBaselines(
    base,
    baselineOf(slow, {
      hostLoad: { start: null, end: null, unavailable: 'no sys permission for "loadavg" (x)' },
    }),
  );
  assert.equal(unread.speed.load?.trusted, null);
  assert.match(
    compareToMarkdown(unread),
    /> The current run did not record the host's load \(no sys permission for "loadavg" \(x\)\): whether its timings were taken under load is unknown\./,
  );
  // a baseline of an older harness (no load recorded): not known, said in the JSON only
  const old = compareBaselines(
    baselineOf([supportedCase(A)]),
    baselineOf(slow, { hostLoad: load(3) }),
  );
  assert.equal(old.speed.load?.trusted, null);
  assert.doesNotMatch(compareToMarkdown(old), /did not record/);
  assert.match(
    old.speed.load?.sides[0].unrecorded ?? "",
    /not recorded \(a run of a harness before session 62\)/,
  );
  // the load travels from a run's report into its baseline, and a hand-edited one is named
  const r = reportOf([caseResult(A, 1, 1)], { hostLoad: load(12) });
  assert.deepEqual((await baselineFromReport(r)).hostLoad, load(12));
  const tmp = await Deno.makeTempDir({ prefix: "mla_drift_load_" });
  try {
    const file = `${tmp}/b.json`;
    await Deno.writeTextFile(
      file,
      JSON.stringify(baselineOf([supportedCase(A)], { hostLoad: { ...load(1), end: 3 } as never })),
    );
    await assert.rejects(
      readBaseline(file),
      (e: Error) =>
        e instanceof DriftInputError && e.message.startsWith(`${file}: field "hostLoad.end"`),
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("sampleLoad: the load and CPUs with sys loadavg, and why not without it", async () => {
  const s = sampleLoad();
  if (Deno.build.os === "windows") return;
  assert.ok(typeof s !== "string" && s.cpus >= 1 && s.load1 >= 0, JSON.stringify(s));
  // a run granted sys cpus alone (as the tasks did before loadavg): no sample, and why
  const tmp = await Deno.makeTempDir({ prefix: "mla_load_perm_" });
  try {
    await Deno.writeTextFile(
      `${tmp}/probe.ts`,
      `import { hostLoad, sampleLoad } from "${new URL(
        "../util/host_load.ts",
        import.meta.url,
      )}";` +
        "\nconsole.log(JSON.stringify(hostLoad(sampleLoad(), sampleLoad())));\n",
    );
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", "--allow-read", "--allow-sys=cpus", `${tmp}/probe.ts`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
    assert.deepEqual(JSON.parse(text), {
      start: null,
      end: null,
      unavailable: 'no sys permission for "loadavg" (--allow-sys=loadavg)',
    });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("a tolerance that moved between the sides is said per case and once, grouped, above", async () => {
  const tol = (atol: number) => ({
    out: { atol, rtol: 0.016, maxCosDiff: 2.3e-7 },
    lse: { atol: 0.0038, rtol: 1e-4 },
  });
  const base = baselineOf([
    supportedCase(A, { tolerance: tol(0.0038) }),
    supportedCase(U, { tolerance: tol(0.0038) }),
    supportedCase(E, { backend: "wgsl-expanded" }),
  ]);
  const cur = baselineOf([
    supportedCase(A, { tolerance: tol(0.00095) }),
    supportedCase(U, { tolerance: tol(0.00095) }),
    supportedCase(E, { backend: "wgsl-expanded" }),
  ]);
  const r = compareBaselines(base, cur);
  // the verdicts are the same as before: still unchanged
  assert.equal(r.counts.unchanged, 3);
  assert.equal(r.regressions, 0);
  const byId = new Map(r.cases.map((c) => [c.id, c]));
  assert.deepEqual(byId.get(A)?.toleranceChanges, [{ key: "out.atol", from: 0.0038, to: 0.00095 }]);
  assert.equal(byId.get(E)?.toleranceChanges, undefined);
  // one line for both cases (grouped), where nothing was said
  const line = "Tolerances: the recorded tolerance (the bar each case's errors are checked " +
    "against) moved in 2 cases: out.atol 3.8e-3 → 9.5e-4 (2 cases) (each side's pass or " +
    "fail is against its own tolerance)";
  assert.deepEqual(r.environment.summary, [line]);
  assert.ok(compareToMarkdown(r).includes(`- ${line}`));
  assert.ok((await compareReportHtml(r)).includes("out.atol 3.8e-3 → 9.5e-4 (2 cases)"));
  // the same tolerance: nothing said
  assert.deepEqual(compareBaselines(base, structuredClone(base)).environment.summary, []);
});
