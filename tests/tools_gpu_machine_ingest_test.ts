/**
 * tools/gpu_machine_ingest.ts: the folder a GPU machine run is committed as, from the
 * script's $OUT as the device tool brings it back. Its parsers on lines the script writes,
 * its refusals of input that is not what it claims (nothing written then), and, with an
 * adapter, a whole ingest of a real run's smoke report into a folder and a baseline.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  deviceSlug,
  ingestGpuRun,
  parseSteps,
  runDate,
  stepSections,
} from "../tools/gpu_machine_ingest.ts";
import { runCli, runTool } from "./helpers_cli.ts";
import { HAS_ADAPTER } from "./gpu_helpers.ts";

// As tools/gpu_machine_check.sh writes them: printf '%-14s %4s %5ss\n'.
const STEPS = [
  "devices           0     1s",
  "devices_json      0     4s",
  "bench             0    25s",
  "smoke             0    97s",
  "ab                1    71s",
  "splits         skip     0s",
  "",
].join("\n");

const LOG = [
  "gpu_machine_check: 2026-12-04T10:11:12Z on gpu-box (x86_64), root /repo",
  "steps: devices bench smoke spirv ab splits tests; out: /out",
  "",
  "=== step bench (timeout 150s): deno run main.ts bench --matrix gpu",
  "bench table",
  "=== step bench: exit 0 in 25s",
  "",
  "=== step probes (timeout 45s): deno run tools/workgroup_probe.ts",
  "barrier      3.347 ms  +31.0 ns a trip over loop",
  "=== step probes: exit 0 in 6s",
  "",
  "=== step ab (timeout 150s): bash -c ...",
  "variant  absorbed_tiled med/min",
  "noprefetch  1.2",
  "=== step ab: exit 1 in 71s",
  "",
  "=== step ab_plans (timeout 120s): deno run tools/plan_variants.ts",
  "rows8  0.9",
  "",
  "=== step splits: skipped, only 5s left of TOTAL_S=570s",
  "",
  "=== step tests (timeout 100s): deno test",
  "ok | 3 passed",
  "",
].join("\n");

const BENCH_REPORT = {
  machine: { cpu: "Xeon", cores: 16, adapter: "NVIDIA H200", deno: "2.9.6" },
  ceilings: { copyGBps: 3498.2, readGBps: 3142.8, fmaGflops: 39898.3 },
  records: [],
  targetClass: "gpu",
  targets: [
    {
      target: "absorbed-decode-f32",
      id: "x",
      want: 0.3,
      got: 0.025,
      met: false,
      shortfall: 0.917,
      fastest: 0.031,
    },
    { target: "absorbed-over-dense-f32", id: "y", want: 3, got: 111.8, met: true },
    // above 1: bench judges it neither met nor missed
    {
      target: "prefill-expanded",
      id: "z",
      want: 0.25,
      got: 1.4,
      met: false,
      shortfall: null,
      implausible: true,
    },
  ],
};

const DEVICES = {
  adapter: { vendor: "4318", device: "9013", description: "NVIDIA H200", isFallbackAdapter: false },
};

Deno.test("parseSteps: the script's step lines, skips included; another line names its file and line", () => {
  assert.deepEqual(parseSteps(STEPS, "steps.txt"), [
    { name: "devices", exit: 0, seconds: 1 },
    { name: "devices_json", exit: 0, seconds: 4 },
    { name: "bench", exit: 0, seconds: 25 },
    { name: "smoke", exit: 0, seconds: 97 },
    { name: "ab", exit: 1, seconds: 71 },
    { name: "splits", exit: "skip", seconds: 0 },
  ]);
  assert.throws(
    () => parseSteps("bench 0 25s\nsetup 99\n", "out/steps.txt"),
    /out\/steps.txt:2: "setup 99" is not a step line/,
  );
});

Deno.test("stepSections: each step's lines from its start to its exit line; a skip; a log cut short", () => {
  const s = stepSections(LOG);
  assert.deepEqual([...s.keys()], ["bench", "probes", "ab", "ab_plans", "splits", "tests"]);
  assert.equal(
    s.get("ab"),
    "=== step ab (timeout 150s): bash -c ...\nvariant  absorbed_tiled med/min\nnoprefetch  1.2\n" +
      "=== step ab: exit 1 in 71s\n",
  );
  // ab_plans has no exit line: it ends where the next step starts, and says so
  assert.equal(
    s.get("ab_plans"),
    "=== step ab_plans (timeout 120s): deno run tools/plan_variants.ts\nrows8  0.9\n\n" +
      "(no exit line: the step was cut short here)\n",
  );
  assert.equal(s.get("splits"), "=== step splits: skipped, only 5s left of TOTAL_S=570s\n");
  // the log's last step has no exit line either
  assert.match(
    s.get("tests")!,
    /ok \| 3 passed\n\n\(no exit line: the step was cut short here\)\n$/,
  );
  // bench's section stops at its own exit line
  assert.doesNotMatch(s.get("bench")!, /variant/);
});

Deno.test("deviceSlug and runDate: the folder name's parts", () => {
  assert.equal(deviceSlug("NVIDIA H200"), "h200");
  assert.equal(deviceSlug("NVIDIA H100 80GB HBM3"), "h100-80gb-hbm3");
  assert.equal(deviceSlug("llvmpipe (LLVM 15.0.6, 256 bits)"), "llvmpipe");
  assert.equal(runDate(LOG), "2026-12-04");
  assert.equal(runDate("no header\n"), null);
});

/** A $OUT as the script leaves it, without a smoke report. */
async function fakeOut(dir: string, over: Record<string, string> = {}): Promise<string> {
  const out = join(dir, "files_at");
  await Deno.mkdir(join(out, "bench"), { recursive: true });
  const files: Record<string, string> = {
    "steps.txt": STEPS,
    "log.txt": LOG,
    "devices.json": JSON.stringify(DEVICES),
    "bench/report.json": JSON.stringify(BENCH_REPORT),
    "bench/summary.md": "## Benchmark\n",
    ...over,
  };
  for (const [name, text] of Object.entries(files)) {
    if (text === "") continue; // "" leaves the file out
    await Deno.writeTextFile(join(out, name), text);
  }
  return out;
}

Deno.test("gpu_machine_ingest: a run without a smoke report gives its folder (README with the targets), and exit 1 for the missing baseline", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla-ingest-" });
  try {
    const out = await fakeOut(dir);
    const docs = join(dir, "docs");
    const r = await runTool("gpu_machine_ingest.ts", [out, "--docs", docs]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /no smoke report: no baseline made/);
    const dest = join(docs, "h200-2026-12-04");
    const names = [...Deno.readDirSync(dest)].map((e) => e.name).sort();
    assert.deepEqual(names, [
      "README.md",
      "ab.txt",
      "bench_report.json",
      "bench_summary.md",
      "devices.json",
      "log.txt",
      "probes.txt",
      "steps.txt",
    ]);
    const readme = await Deno.readTextFile(join(dest, "README.md"));
    assert.match(readme, /^# NVIDIA H200: tools\/gpu_machine_check.sh, 2026-12-04/);
    assert.match(
      readme,
      /- MISS absorbed-decode-f32: 0\.025 \(target 0\.3\), short by 92%; fastest repetition 0\.031\n/,
    );
    assert.match(readme, /- met {2}absorbed-over-dense-f32: 111\.8\d* \(target 3\)/);
    assert.match(readme, /- \?{4} prefill-expanded: 1\.400 \(target 0\.25\), not judged: above 1/);
    assert.match(readme, /Not clean: ab \(1\), splits \(skip\)/);
    assert.match(readme, /No smoke report came back/);
    const ab = await Deno.readTextFile(join(dest, "ab.txt"));
    assert.ok(ab.includes("noprefetch  1.2"));
    assert.ok(ab.includes("rows8  0.9"));
    assert.doesNotMatch(ab, /bench table/);
    const probes = await Deno.readTextFile(join(dest, "probes.txt"));
    assert.match(probes, /^=== step probes \(timeout 45s\)/);
    assert.match(probes, /\+31\.0 ns a trip over loop\n=== step probes: exit 0 in 6s\n$/);
    assert.equal(await Deno.readTextFile(join(dest, "log.txt")), LOG);
    // the copy is byte for byte
    assert.deepEqual(
      JSON.parse(await Deno.readTextFile(join(dest, "bench_report.json"))),
      BENCH_REPORT,
    );
    // again: the folder exists, so it is refused and left as it was
    const again = await runTool("gpu_machine_ingest.ts", [out, "--docs", docs]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /h200-2026-12-04 exists: give --force to replace it, or --dest/);
    assert.deepEqual([...Deno.readDirSync(docs)].map((e) => e.name), ["h200-2026-12-04"]);
    // --dest and --no-baseline: exit 0
    const run2 = join(dest, "run2");
    const r2 = await runTool("gpu_machine_ingest.ts", [out, "--dest", run2, "--no-baseline"]);
    assert.equal(r2.code, 0, r2.stderr);
    assert.ok((await Deno.stat(join(run2, "README.md"))).isFile);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("gpu_machine_ingest: a bench report older than device classes says bench's words, not 'the ? class'", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla-ingest-" });
  try {
    const { targetClass: _, ...old } = BENCH_REPORT;
    const out = await fakeOut(dir, { "bench/report.json": JSON.stringify(old) });
    const r = await ingestGpuRun(out, { dest: join(dir, "d") });
    assert.match(
      r.readme,
      /Targets of a device whose class was not recorded \(a report older than device classes, judged by the cpu-class targets\) \(bench_summary\.md\):/,
    );
    assert.doesNotMatch(r.readme, /the \? class/);
    const gpu = await ingestGpuRun(await fakeOut(join(dir, "g")), { dest: join(dir, "g", "d") });
    assert.match(gpu.readme, /Targets of a gpu-class device \(bench_summary\.md\):/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("gpu_machine_ingest: input that is not what it claims is exit 2 naming the file, and nothing is written", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla-ingest-bad-" });
  try {
    const cases: [Record<string, string>, RegExp][] = [
      [
        { "steps.txt": "" },
        /files_at: not the output of tools\/gpu_machine_check.sh: no steps.txt/,
      ],
      [{ "steps.txt": "bench zero\n" }, /steps.txt:1: "bench zero" is not a step line/],
      [
        { "devices.json": "{not json" },
        /devices\.json: malformed `devices --json` output\n.* is not valid JSON: expected a property name in double quotes at line 1, column 2/,
      ],
      // another of the harness's files is named for what it is, in the words every reader uses
      [
        { "devices.json": JSON.stringify(BENCH_REPORT) },
        /devices\.json: not `devices --json` output: it is a bench report \(bench --out writes it: records and targets\); expected a caps file/,
      ],
      [
        {
          "bench/report.json": Deno.readTextFileSync(
            new URL("./fixtures/caps_lavapipe.json", import.meta.url),
          ),
        },
        /bench\/report\.json: not a bench report with ceilings \(--reference-ceilings\)\n {2}adapter: .* shows it is a device capabilities file \(devices --json writes it/,
      ],
      [
        {
          "smoke/report.json": JSON.stringify({ kv_lora_rank: 512, qk_rope_head_dim: 64 }),
        },
        /smoke\/report\.json: not a run report: it is a model config\.json \(HF or Megatron naming: kv_lora_rank, qk_rope_head_dim\); expected the report\.json of a run/,
      ],
      [{ "devices.json": "{}" }, /devices.json: adapter.description is missing/],
      [
        { "bench/report.json": JSON.stringify({ machine: { adapter: "x" }, records: [] }) },
        /bench\/report.json: not a bench report with ceilings/,
      ],
      [
        { "bench/report.json": JSON.stringify({ ...BENCH_REPORT, targets: {} }) },
        /records and targets must be arrays/,
      ],
      [
        { "smoke/report.json": '{"version": 2}' },
        /smoke\/report.json: not a run report: version 2, written by a newer harness/,
      ],
      [{ "devices.json": "" }, /no devices.json to name the device by: give --name/],
    ];
    for (const [over, want] of cases) {
      const sub = await Deno.makeTempDir({ dir });
      if ("smoke/report.json" in over) {
        await Deno.mkdir(join(sub, "files_at", "smoke"), { recursive: true });
      }
      const out = await fakeOut(sub, over);
      const docs = join(sub, "docs");
      const r = await runTool("gpu_machine_ingest.ts", [out, "--docs", docs]);
      assert.equal(r.code, 2, `${JSON.stringify(over)}: ${r.stderr}`);
      assert.match(r.stderr, want);
      assert.doesNotMatch(r.stderr, /^\s+at /m, "no stack trace");
      // nothing written: not the folder, not a temporary one beside it
      const left = await Deno.stat(docs).then(() => [...Deno.readDirSync(docs)].length, () => 0);
      assert.equal(left, 0, `${JSON.stringify(over)} left files in ${docs}`);
    }
    // a date the calendar lacks, and a name that would leave --docs: exit 2, nothing written
    const flagged: [string[], RegExp][] = [
      [["--date", "4.12.2026"], /--date 4\.12\.2026: expected a calendar date, yyyy-mm-dd/],
      [["--date", "2026-13-45"], /--date 2026-13-45: expected a calendar date/],
      [["--date", "2026-02-30"], /--date 2026-02-30: expected a calendar date/],
      [
        ["--name", "../../escaped"],
        /--name \.\.\/\.\.\/escaped: expected a device name of letters/,
      ],
      [["--name", "a/b"], /--name a\/b: expected a device name/],
    ];
    const from = await fakeOut(dir);
    for (const [flags, want] of flagged) {
      const docs = join(dir, "d", "docs");
      const bad = await runTool("gpu_machine_ingest.ts", [from, ...flags, "--docs", docs]);
      assert.equal(bad.code, 2, `${flags.join(" ")}: ${bad.stderr}`);
      assert.match(bad.stderr, want);
      assert.ok(
        !(await Deno.stat(join(dir, "d")).then(() => true, () => false)),
        "nothing written",
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "gpu_machine_ingest: a real run's smoke report becomes the folder's smoke_report.json and this device's baseline",
  ignore: !HAS_ADAPTER,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "mla-ingest-run-" });
    try {
      const out = await fakeOut(dir);
      const smoke = join(out, "smoke");
      const run = await runCli([
        "run",
        "--matrix",
        "smoke",
        "--filter",
        "preset=tiny;path=absorbed;dtype=f32;b=2;sq=1;sk=20;layout=bshd",
        "--out",
        smoke,
      ]);
      assert.equal(run.code, 0, run.stderr);
      const report = JSON.parse(await Deno.readTextFile(join(smoke, "report.json")));
      const baselines = join(dir, "baselines");
      const r = await runTool("gpu_machine_ingest.ts", [
        out,
        "--docs",
        join(dir, "docs"),
        "--baselines",
        baselines,
      ]);
      assert.equal(r.code, 0, r.stderr);
      const dest = join(dir, "docs", "h200-2026-12-04");
      assert.deepEqual(
        JSON.parse(await Deno.readTextFile(join(dest, "smoke_report.json"))),
        report,
      );
      const files = [...Deno.readDirSync(baselines)].map((e) => e.name);
      assert.equal(files.length, 1);
      const baseline = JSON.parse(await Deno.readTextFile(join(baselines, files[0])));
      assert.equal(baseline.cases.length, report.shardIds.length);
      const readme = await Deno.readTextFile(join(dest, "README.md"));
      const t = report.totals;
      assert.match(readme, new RegExp(`${t.pass} pass, ${t.fail} fail`));
      assert.match(
        readme,
        new RegExp(`## Baseline\\n\\n${baselines}/${files[0]} \\(${report.shardIds.length} cases`),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
