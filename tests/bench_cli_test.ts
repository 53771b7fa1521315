// test_runner: early (among the suite's longest modules: started first, tools/test_runner.ts)
import assert from "node:assert/strict";
import { deviceClassOf } from "../adapter/device_class.ts";
import { presetSpec } from "../adapter/presets.ts";
import { resolve } from "../adapter/resolve.ts";
import { withParams } from "../adapter/spec.ts";
import type { BenchCase } from "../bench/cases.ts";
import { benchLayout, type BenchRecord, judgeRecord } from "../bench/run_bench.ts";
import { hasAdapter } from "../gpu/device.ts";
import { gpu as gpuContext, nameWithReason, sizeReason } from "./gpu_helpers.ts";
import { type CliResult, runCli } from "./helpers_cli.ts";
import { LOAD_PER_CPU_LIMIT } from "../drift/speed_load.ts";

const gpu = await hasAdapter();
/** `bench` on the tiny matrix's absorbed case, 2 repetitions: the shortest real run. */
const TINY_ABSORBED_BENCH = [
  "bench",
  "--matrix",
  "tiny",
  "--filter",
  "path=absorbed",
  "--reps",
  "2",
];

/** What one `bench` run left: its output, and the files it wrote under --out. */
interface TinyBench extends CliResult {
  /** report.json, the same JSON that `--json` prints (its progress lines would then be gone). */
  reportJson: string;
  summaryMd: string;
  resultsCsv: string;
  recordsJsonl: string;
  /** bench.json (which bench the records are of: what --resume checks). */
  benchJson: string;
}

let tinyBenchRun: Promise<TinyBench> | undefined;

/**
 * `bench --matrix tiny --reps 2 --out <tmp>`, run once for the tests that read a whole
 * run of the tiny matrix on the adapter's backends (its records, files and progress lines):
 * each `bench` spends about 4 s on lavapipe measuring the ceilings twice, and three runs of
 * the same command cost the suite that much again twice. Its --out folder is read and removed
 * as soon as the run ends.
 */
function tinyBench(): Promise<TinyBench> {
  tinyBenchRun ??= (async () => {
    const out = await Deno.makeTempDir({ prefix: "bench_cli_tiny_" });
    try {
      const r = await runCli(["bench", "--matrix", "tiny", "--reps", "2", "--out", out]);
      const read = (name: string) => Deno.readTextFile(`${out}/${name}`).catch(() => "");
      return {
        ...r,
        reportJson: await read("report.json"),
        summaryMd: await read("summary.md"),
        resultsCsv: await read("results.csv"),
        recordsJsonl: await read("records.jsonl"),
        benchJson: await read("bench.json"),
      };
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  })();
  return tinyBenchRun;
}

Deno.test({
  name: "bench --resume finishes a bench killed after its first record: its record kept, the " +
    "other case benched, the reports of both; another bench's options or device are exit 2",
  ignore: !gpu,
  fn: async () => {
    const r = await tinyBench();
    assert.equal(r.code, 0, r.stderr);
    const [first, second] = r.recordsJsonl.trim().split("\n");
    assert.ok(first && second, r.recordsJsonl);
    // what a bench killed (SIGKILL) after its first case leaves: bench.json, one record
    const out = await Deno.makeTempDir({ prefix: "bench_cli_resume_" });
    try {
      await Deno.writeTextFile(`${out}/bench.json`, r.benchJson);
      await Deno.writeTextFile(`${out}/records.jsonl`, first + "\n");
      const args = ["bench", "--matrix", "tiny", "--reps", "2", "--out", out];
      // (without --resume it is refused, naming it: tests/bench_out_overlap_test.ts)
      // another bench's options: refused before the device, naming what differs
      const reps = await runCli([...args, "--reps", "3", "--resume"]);
      assert.equal(reps.code, 2, reps.stderr);
      assert.match(reps.stderr, /differs from this one in --reps 2 there, 3 here; --resume/);
      assert.doesNotMatch(reps.stderr, /measuring the device's ceilings/);
      // another device: refused once it is open, before the ceilings
      const state = JSON.parse(r.benchJson);
      await Deno.writeTextFile(
        `${out}/bench.json`,
        JSON.stringify({ ...state, device: { ...state.device, key: "another-gpu" } }),
      );
      const dev = await runCli([...args, "--resume"]);
      assert.equal(dev.code, 2, dev.stderr);
      assert.match(dev.stderr, /in the device another-gpu there, .* here; --resume continues/);
      assert.doesNotMatch(dev.stderr, /measuring the device's ceilings/);
      assert.equal(await Deno.readTextFile(`${out}/records.jsonl`), first + "\n", "untouched");
      await Deno.writeTextFile(`${out}/bench.json`, r.benchJson);
      // the same bench, the second case ended by --case-timeout and a last line half written
      // when it was killed: resumed, the timed-out case benched again (as run --resume does)
      const timedOut = JSON.stringify({
        ...JSON.parse(second),
        status: "error",
        reason: "timed out after 1 s (--case-timeout); the device was re-acquired for the " +
          "ceilings after the cases",
      });
      await Deno.writeTextFile(
        `${out}/records.jsonl`,
        `${first}\n${timedOut}\n${second.slice(0, 40)}`,
      );
      const resumed = await runCli([...args, "--resume"]);
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.match(resumed.stderr, /resume: benching again 1 case that --case-timeout ended: /);
      assert.match(resumed.stderr, /resume: keeping the records of 1 of 2 cases from .*other 1;/);
      const report = JSON.parse(await Deno.readTextFile(`${out}/report.json`));
      const kept = JSON.parse(first) as BenchRecord;
      const fresh = JSON.parse(second) as BenchRecord;
      // both cases in the selection's order, the kept one's samples as measured before
      assert.deepEqual(report.records.map((x: BenchRecord) => x.id), [kept.id, fresh.id]);
      assert.deepEqual(report.records[0].samples, kept.samples);
      assert.deepEqual(report.resumed, { kept: [kept.id] });
      assert.equal(report.interrupted, undefined);
      assert.equal(report.ceilings.measurements, 2, "before and after the case benched");
      assert.ok(
        report.warnings.some((w: string) => /^resumed: the records of 1 of 2 cases/.test(w)),
        report.warnings.join("\n"),
      );
      // every fraction judged against this session's ceilings, the kept record's included
      assert.deepEqual(report.records[0], judgeRecord(kept, report.ceilings));
      const lines = (await Deno.readTextFile(`${out}/records.jsonl`)).trim().split("\n");
      assert.deepEqual(lines.map((l) => JSON.parse(l).id), [kept.id, fresh.id]);
      const summary = await Deno.readTextFile(`${out}/summary.md`);
      assert.match(summary, /resumed: the records of 1/);
      // its ceilings are not the "same run" as every record's
      assert.match(
        summary,
        /Ceilings \(this session's, which benched 1 of the 2 cases, the other 1/,
      );
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

// Not a timed test: it checks that `bench --json` emits the required fields, never their values.
Deno.test({
  name: "bench --json on the tiny matrix emits ceilings and the required fields per case",
  ignore: !gpu,
  fn: async () => {
    const r = await runCli(["bench", "--matrix", "tiny", "--filter", "path=absorbed", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    // the progress of each case on stderr, as without --json (a CI log of a --json bench
    // showed none: which case a job killed at its time limit was on went unsaid)
    assert.match(
      r.stderr,
      /^preset=tiny;h=4;path=absorbed;.*: [\d.]+ ms, roofline [\d.]+ \(provisional\)$/m,
    );
    for (
      const k of [
        "copyGBps",
        "readGBps",
        "textureReadGBps",
        "fmaGflops",
        "dispatchUs",
        "submitReadbackMs",
      ]
    ) {
      assert.equal(typeof report.ceilings[k], "number", k);
    }
    assert.equal(report.records.length, 1);
    const rec = report.records[0];
    assert.equal(rec.status, "ok");
    for (const k of ["ms", "gflops", "gbps", "roofline_fraction", "submit_ms"]) {
      assert.equal(typeof rec[k], "number", k);
    }
    assert.equal(typeof rec.id, "string");
    assert.ok(rec.samples.length >= 7);
    // --replay auto: queued back to back on a gpu-class device with timestamps, else waited;
    // --warmup-ms auto: 500 ms on a gpu-class device, none on a cpu-class one
    const cls = deviceClassOf((await gpuContext()).caps)?.kind;
    assert.equal(
      rec.replay,
      rec.source === "timestamp-query" && cls === "gpu" ? "queued" : "waited",
    );
    assert.equal(rec.warmup_ms, cls === "gpu" ? 500 : undefined);
    assert.deepEqual(report.timingChoice, {
      auto: ["--warmup-ms", "--replay"],
      deviceClass: cls,
      source: "rules",
      ownClass: cls,
    });
    assert.equal(typeof report.machine.cpu, "string");
    // the host's load as the timing started and ended (the tests grant sys loadavg)
    if (Deno.build.os !== "windows") {
      assert.ok(report.hostLoad.start.cpus >= 1, JSON.stringify(report.hostLoad));
      assert.ok(report.hostLoad.end.load1 >= 0, JSON.stringify(report.hostLoad));
      // a warning names a busy host, as a compare does (drift/speed_load.ts)
      const perCpu = Math.max(
        report.hostLoad.start.load1 / report.hostLoad.start.cpus,
        report.hostLoad.end.load1 / report.hostLoad.end.cpus,
      );
      assert.equal(
        (report.warnings ?? []).some((w: string) => w.startsWith("timed under load")),
        perCpu > LOAD_PER_CPU_LIMIT,
      );
    }
    // the key a run on this device names its baseline by (`baseline key`)
    const key = await runCli(["baseline", "key"]);
    assert.equal(report.machine.deviceKey, key.stdout.trim(), key.stderr);
    // A ceiling is the fastest repetition (contention only slows one), not the median:
    // copy moves 2 x 64 MiB per repetition, the FMA kernels 256 x 64 x 65536 FLOP.
    const c = report.ceilings;
    const best = (k: string) => Math.min(...(c.samples[k] as number[]));
    const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.abs(b);
    assert.ok(close(c.copyGBps, (2 * 64 * 2 ** 20) / (best("copy") * 1e6)), "copy");
    // texture read: 2048 x 2048 rgba32float texels (64 MiB) read, one vec4 written per 16,
    // the fastest of the strided and the per-invocation-run pattern, each through a sampled
    // and through a read-only storage texture.
    const texMs = Math.min(
      ...["read_tex", "read_tex_run", "read_stex", "read_stex_run"].map(best),
    );
    assert.ok(
      close(c.textureReadGBps, (64 * 2 ** 20 * (1 + 1 / 16)) / (texMs * 1e6)),
      "texture read",
    );
    const gflops = (k: string) => (256 * 64 * 65536) / (best(k) * 1e6);
    assert.ok(close(c.fmaGflops, Math.max(gflops("fma_4"), gflops("fma_32"))), "fma");
    // Measured before and after the case (7 repetitions each), and the case's fraction is
    // judged against those best figures.
    assert.equal(c.measurements, 2);
    assert.equal(c.samples.copy.length, 14);
    // The memory roofline is the best of the three bandwidths.
    const memMs = rec.bytes / (Math.max(c.copyGBps, c.readGBps, c.textureReadGBps) * 1e6);
    const flopMs = rec.flop / (c.fmaGflops * 1e6);
    assert.ok(close(rec.roofline_fraction, Math.max(memMs, flopMs) / rec.ms), "fraction");
  },
});

Deno.test("bench: an unknown matrix is a usage error (exit 2)", async () => {
  const r = await runCli(["bench", "--matrix", "nope"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown benchmark matrix/);
});

Deno.test("bench: a matrix named twice, --reps out of 1..1000, an unknown --replay or too long a --warmup-ms is exit 2 before any device", async () => {
  const [twice, huge, sci, zero, replay, warm] = await Promise.all([
    runCli(["bench", "--matrix", "tiny, tiny"]),
    runCli(["bench", "--matrix", "tiny", "--reps", "1001"]),
    runCli(["bench", "--matrix", "tiny", "--reps", "1e9"]),
    runCli(["bench", "--matrix", "tiny", "--reps", "0"]),
    runCli(["bench", "--matrix", "tiny", "--replay", "later"]),
    runCli(["bench", "--matrix", "tiny", "--warmup-ms", "60001"]),
  ]);
  assert.equal(warm.code, 2, warm.stderr);
  assert.match(
    warm.stderr,
    /--warmup-ms: 60001 must be auto or a whole number of milliseconds from 0 to 60000/,
  );
  assert.equal(replay.code, 2, replay.stderr);
  assert.match(replay.stderr, /--replay <mode>' argument 'later' is invalid.*auto, queued, waited/);
  assert.equal(twice.code, 2, twice.stderr);
  assert.match(
    twice.stderr,
    /--matrix tiny, tiny: tiny is given twice \(each case would be measured twice\)/,
  );
  for (const [r, v] of [[huge, "1001"], [sci, "1e9"], [zero, "0"]] as const) {
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`--reps: ${v} must be a whole number from 1 to 1000`));
  }
  for (const r of [twice, huge, sci, zero, replay]) {
    assert.doesNotMatch(r.stdout + r.stderr, /ceilings/);
  }
});

Deno.test({
  name: "bench --backend runs every case on that backend; the other path's cases say why not",
  ignore: !gpu,
  fn: async () => {
    const r = await runCli([
      "bench",
      "--matrix",
      "tiny",
      "--backend",
      "wgsl-absorbed-tiled",
      "--reps",
      "2",
      "--json",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const records = JSON.parse(r.stdout).records;
    const absorbed = records.find((x: { case: { path: string } }) => x.case.path === "absorbed");
    const expanded = records.find((x: { case: { path: string } }) => x.case.path === "expanded");
    assert.equal(absorbed.status, "ok", JSON.stringify(absorbed));
    assert.equal(expanded.status, "unsupported");
    assert.match(expanded.reason, /^backend\.path-mismatch: backend wgsl-absorbed-tiled/);
  },
});

Deno.test({
  name: "bench --backend once per path: each path's cases run on its own backend",
  ignore: !gpu,
  fn: async () => {
    const out = await Deno.makeTempDir();
    const r = await runCli([
      "bench",
      "--matrix",
      "tiny",
      "--backend",
      "wgsl-absorbed-gemm",
      "--backend",
      "wgsl-expanded",
      "--reps",
      "2",
      "--json",
      "--out",
      out,
    ]);
    // summary.md and results.csv name the backend of each case.
    const md = await Deno.readTextFile(`${out}/summary.md`);
    assert.match(md, /\| case \| backend \|/);
    assert.match(md, /path=absorbed;[^|]*\| wgsl-absorbed-gemm \|/);
    const csv = await Deno.readTextFile(`${out}/results.csv`);
    assert.match(csv.split("\n")[0], /,backend,family,query_tile,heads_per_tile,workgroup_size$/);
    await Deno.remove(out, { recursive: true });
    assert.equal(r.code, 0, r.stderr);
    const records = JSON.parse(r.stdout).records as {
      case: { path: string; dtype: string; sq: number };
      status: string;
      backend?: string;
      variant?: { family: string; queryTile: number; decodeStep?: number };
    }[];
    for (const path of ["absorbed", "expanded"]) {
      const rec = records.filter((x) => x.case.path === path);
      assert.ok(rec.length > 0, path);
      for (const x of rec) {
        assert.equal(x.status, "ok", JSON.stringify(x));
        assert.equal(x.backend, path === "absorbed" ? "wgsl-absorbed-gemm" : "wgsl-expanded");
        assert.equal(x.variant?.family, path === "absorbed" ? "absorbed-gemm" : "expanded");
        // The dense decode's loop step travels with the record (tiny: one fetch per trip, a
        // packed f16 texel being two vec4s); a prefill tile walks 4; other kernels have none.
        const step = path === "absorbed"
          ? undefined
          : x.variant?.queryTile !== 1
          ? 4
          : x.case.dtype === "f16"
          ? 2
          : 1;
        assert.equal(x.variant?.decodeStep, step, JSON.stringify(x.variant));
      }
      if (path === "expanded") assert.ok(rec.some((x) => x.variant?.queryTile === 1));
    }
  },
});

Deno.test("bench: two --backend ids of one path are exit 2, naming both", async () => {
  const r = await runCli([
    "bench",
    "--matrix",
    "tiny",
    "--backend",
    "wgsl-absorbed-gemm",
    "--backend",
    "wgsl-absorbed",
  ]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /wgsl-absorbed-gemm and wgsl-absorbed both compute the absorbed path/);
});

Deno.test("bench: an unregistered --backend is exit 2, listing the registered ones", async () => {
  const r = await runCli(["bench", "--matrix", "tiny", "--backend", "naive"]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /"naive" is not a registered backend; registered: wgsl-absorbed/);
});

Deno.test({
  name: "bench without --backend runs each case on the backend the adapter chooses for its path",
  ignore: !gpu,
  fn: async () => {
    const r = await tinyBench();
    assert.equal(r.code, 0, r.stderr);
    const records = JSON.parse(r.reportJson).records as { case: BenchCase; backend?: string }[];
    assert.ok(records.length > 0);
    const caps = (await gpuContext()).caps;
    for (const rec of records) {
      const c = rec.case;
      const spec = withParams(presetSpec(c.preset), { numHeads: c.heads });
      const want = resolve(
        { spec, dtype: c.dtype, backend: `auto:${c.path}`, layout: benchLayout(c) },
        caps,
      );
      assert.equal(want.kind, "plan");
      assert.equal(rec.backend, want.kind === "plan" ? want.backend : "", JSON.stringify(c));
    }
    // On a cpu-class device (lavapipe, the GL fallback) that is not the lane kernel.
    if (deviceClassOf(caps)?.kind === "cpu") {
      const absorbed = records.filter((x) => x.case.path === "absorbed");
      assert.ok(
        absorbed.every((x) => x.backend === "wgsl-absorbed-gemm"),
        JSON.stringify(absorbed),
      );
    }
  },
});

Deno.test({
  name: "bench: the expanded path's K/V expansion is timed apart from the attention (expansion_ms)",
  ignore: !gpu,
  fn: async () => {
    const r = await tinyBench();
    assert.equal(r.code, 0, r.stderr);
    const records = JSON.parse(r.reportJson).records as {
      case: { path: string };
      ms: number;
      expansion_ms?: number;
      passes: Record<string, number>;
    }[];
    const expanded = records.filter((x) => x.case.path === "expanded");
    assert.ok(expanded.length > 0);
    for (const x of expanded) {
      assert.equal(typeof x.expansion_ms, "number", JSON.stringify(x));
      assert.ok(x.expansion_ms! > 0);
      // the expansion pass is listed, and the expansion is not counted in ms
      assert.equal(typeof x.passes.expand_kv, "number", JSON.stringify(x.passes));
      assert.ok(x.expansion_ms! >= x.passes.expand_kv);
    }
    // Every absorbed backend has cache construction, timed apart too: the RoPE of the cached
    // k_pe, and the copies into textures where its kernels read them (wgsl-absorbed-gemm's
    // cache_texture; a cpu-class device's weight_texture). A GPU's tiled kernel has the
    // RoPE alone.
    const absorbed = records.filter((x) => x.case.path === "absorbed");
    assert.ok(absorbed.length > 0);
    for (const x of absorbed) {
      assert.equal(typeof x.expansion_ms, "number", JSON.stringify(x));
      assert.equal(typeof x.passes.rope_k, "number", JSON.stringify(x.passes));
      for (const n of ["rope_k", "weight_texture", "cache_texture"]) {
        if (x.passes[n] !== undefined) assert.ok(x.expansion_ms! >= x.passes[n], JSON.stringify(x));
      }
    }
    const csv = r.resultsCsv.split("\n")[0];
    assert.match(csv, /,expansion_ms,backend,family,/);
    // results.csv holds the judged fractions of report.json (not the provisional ones of the
    // progress lines and records.jsonl, judged against the first ceilings only)
    const col = csv.split(",").indexOf("roofline_fraction");
    const csvFractions = r.resultsCsv.trimEnd().split("\n").slice(1)
      .map((l) => Number(l.split(",")[col]));
    const judged = (JSON.parse(r.reportJson).records as { roofline_fraction: number }[])
      .map((x) => x.roofline_fraction);
    assert.deepEqual(csvFractions, judged);
    // Every case's record was streamed to records.jsonl as it ended, in order.
    const streamed = r.recordsJsonl.trimEnd().split("\n")
      .map((l) => JSON.parse(l) as { id: string; ms: number });
    const ids = (JSON.parse(r.reportJson).records as { id: string }[]).map((x) => x.id);
    assert.deepEqual(streamed.map((x) => x.id), ids);
    // Both paths ran at one s_k of one sweep: its crossover row is their ratio.
    const report = JSON.parse(r.reportJson) as {
      crossovers: { sweep: string; rows: { sk: number; denseOverAbsorbed: number }[] }[];
    };
    const ms = (path: string) =>
      (records as unknown as { ms: number; case: { path: string } }[])
        .find((x) => x.case.path === path)!.ms;
    assert.equal(report.crossovers.length, 1);
    assert.equal(report.crossovers[0].sweep, "tiny h=4 f32 b=1 sq=1");
    assert.deepEqual(report.crossovers[0].rows.map((x) => x.sk), [64]);
    assert.equal(report.crossovers[0].rows[0].denseOverAbsorbed, ms("expanded") / ms("absorbed"));
    const md = r.summaryMd;
    assert.match(md, /\| submission ms \| construction ms \| variant \|/);
    // every measured case names the kernel variant that ran it
    assert.match(md, /\| [a-z0-9-]+ \d+q x \d+h wg\d+( step\d)? \|\n/);
  },
});

Deno.test({
  name: "bench's progress lines call their roofline fractions provisional",
  ignore: !gpu,
  fn: async () => {
    const r = await tinyBench();
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /provisional \(against the ceilings measured so far\)/);
    const lines = r.stderr.split("\n").filter((l) => l.startsWith("preset=tiny"));
    assert.ok(lines.length >= 2, r.stderr);
    for (const line of lines) {
      assert.match(line, /: [\d.]+ ms, roofline [\d.]+ \(provisional\)$/);
    }
  },
});

Deno.test("bench --reference-ceilings: a missing file is exit 2 naming it, before any device starts", async () => {
  const r = await runCli([
    "bench",
    "--matrix",
    "tiny",
    "--reference-ceilings",
    "no/such/report.json",
  ]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /no\/such\/report\.json/);
  assert.match(r.stderr, /report\.json that bench --out wrote/);
});

Deno.test({
  name: "bench --reference-ceilings: another adapter's report is exit 2 naming both adapters",
  ignore: !gpu,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const file = `${dir}/other.json`;
      await Deno.writeTextFile(
        file,
        JSON.stringify({
          machine: { adapter: "NVIDIA H100 80GB HBM3" },
          ceilings: { copyGBps: 2500, readGBps: 3000, fmaGflops: 50000 },
        }),
      );
      const r = await runCli(["bench", "--matrix", "tiny", "--reference-ceilings", file]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(
        r.stderr,
        /measured on adapter "NVIDIA H100 80GB HBM3", this run's adapter is "/,
      );
      assert.equal(r.stdout, "");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "bench --reference-ceilings: the higher figures judge every case, and a low run is a warning",
  ignore: !gpu,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const adapter = (await gpuContext()).caps.adapter.description || "unknown";
      // Ceilings no device here reaches: every measured figure is under half of them.
      const ref = { copyGBps: 1e6, readGBps: 1e6, fmaGflops: 1e9 };
      const file = `${dir}/quiet.json`;
      await Deno.writeTextFile(file, JSON.stringify({ machine: { adapter }, ceilings: ref }));
      const out = `${dir}/out`;
      const r = await runCli([
        ...TINY_ABSORBED_BENCH,
        "--json",
        "--out",
        out,
        "--reference-ceilings",
        file,
      ]);
      assert.equal(r.code, 0, r.stderr);
      const report = JSON.parse(r.stdout);
      assert.equal(report.ceilings.copyGBps, ref.copyGBps);
      assert.equal(report.ceilings.readGBps, ref.readGBps);
      assert.equal(report.ceilings.fmaGflops, ref.fmaGflops);
      assert.deepEqual(report.referenceCeilings.used, ["copyGBps", "readGBps", "fmaGflops"]);
      assert.equal(report.referenceCeilings.file, file);
      for (const k of ["copy", "read", "FMA f32"]) {
        assert.ok(
          report.warnings.some((w: string) => w.includes(`measured ${k} `) && w.includes(file)),
          `${k}: ${JSON.stringify(report.warnings)}`,
        );
      }
      // --reps 2 is said in the report, not only in --help
      assert.ok(
        report.warnings.some((w: string) => /measured with --reps 2: with fewer than 7/.test(w)),
        JSON.stringify(report.warnings),
      );
      // Each fraction is the one the joined ceilings give (not this run's own).
      const ok = report.records.filter((x: BenchRecord) => x.status === "ok") as BenchRecord[];
      assert.ok(ok.length > 0);
      for (const rec of ok) {
        assert.equal(rec.roofline_fraction, judgeRecord(rec, report.ceilings).roofline_fraction);
        assert.ok(rec.roofline_fraction! < 1e-3, String(rec.roofline_fraction));
      }
      const md = await Deno.readTextFile(`${out}/summary.md`);
      assert.match(md, /Ceilings joined with the reference ceilings .*quiet\.json/);
      // the ceilings line says which figures are the reference's, and the FMA chains this run's
      // (it called them all the same run's, the reference's peak beside this run's chains)
      assert.match(
        md,
        /Ceilings \(same run; each figure the best of two measurements, before and after the cases; copy, read, FMA f32 from the reference below\): copy 1000000\.00 GB\/s.*FMA f32 1,000,000,000 GFLOP\/s \(this run's 4 chains /,
      );
      const html = await Deno.readTextFile(`${out}/report.html`);
      assert.match(html, /joined with the reference ceilings/);
      // --resume of this finished bench judges it again (no case benched): its records came
      // from a session that finished, which the warning called "killed or stopped"
      const again = await runCli([
        ...TINY_ABSORBED_BENCH,
        "--json",
        "--out",
        out,
        "--resume",
        "--reference-ceilings",
        file,
      ]);
      assert.equal(again.code, 0, again.stderr);
      const resumed = (JSON.parse(again.stdout).warnings as string[]).filter((w) =>
        w.startsWith("resumed:")
      );
      assert.equal(resumed.length, 1, JSON.stringify(resumed));
      assert.match(
        resumed[0],
        /earlier session of this bench \(which finished; judged again here\)/,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "bench --warmup-ms auto: a gpu-class device warms each case up for 500 ms; --warmup-ms 0 wins",
  ignore: !gpu,
  fn: async () => {
    // (the device's own class is checked by the --json test above)
    const [asGpu, zero] = await Promise.all([
      runCli([...TINY_ABSORBED_BENCH, "--json"], { MLA_HARNESS_DEVICE_CLASS: "gpu" }),
      runCli([...TINY_ABSORBED_BENCH, "--json", "--warmup-ms", "0"], {
        MLA_HARNESS_DEVICE_CLASS: "gpu",
      }),
    ]);
    const warm = (r: { code: number; stdout: string; stderr: string }) => {
      assert.equal(r.code, 0, r.stderr);
      const rec = JSON.parse(r.stdout).records[0];
      assert.equal(rec.status, "ok", rec.reason);
      return [rec.warmup_ms, rec.source === "timestamp-query" ? rec.replay : "queued"];
    };
    // a gpu-class device queues its replays (--replay auto) where it has timestamps
    assert.deepEqual(warm(asGpu), [500, "queued"]);
    // the targets are the device's own class's (lavapipe planned as a GPU is no H100)
    const own = deviceClassOf({ ...(await gpuContext()).caps, deviceClass: undefined })!.kind;
    const report = JSON.parse(asGpu.stdout);
    assert.equal(report.targetClass, own);
    assert.deepEqual(
      report.plannedClass,
      own === "gpu" ? undefined : { kind: "gpu", source: "MLA_HARNESS_DEVICE_CLASS" },
    );
    assert.deepEqual(warm(zero), [undefined, "queued"], "--warmup-ms 0 wins over the class");
    // what the auto options followed, and why: said in the report and, set by hand over the
    // device's own class, on stderr with the options that time it as its own
    assert.deepEqual(report.timingChoice, {
      auto: ["--warmup-ms", "--replay"],
      deviceClass: "gpu",
      source: "MLA_HARNESS_DEVICE_CLASS",
      ownClass: own,
    });
    assert.deepEqual(JSON.parse(zero.stdout).timingChoice.auto, ["--replay"]);
    if (own === "cpu") {
      assert.match(
        asGpu.stderr,
        /^--warmup-ms auto and --replay auto: as for a gpu-class device, the class MLA_HARNESS_DEVICE_CLASS=gpu sets for its kernels, as run does; the device's own class is cpu, timed as such with --warmup-ms 0 --replay waited \(a CPU implementation/m,
      );
    }
  },
});

Deno.test({
  name: "bench --out: a folder another live bench writes (run.lock) is exit 2, nothing measured",
  ignore: !gpu,
  fn: async () => {
    const out = await Deno.makeTempDir({ prefix: "bench_cli_lock_" });
    try {
      // this test process stands for the other bench: it holds run.lock as a bench does
      const held = await Deno.open(`${out}/run.lock`, { read: true, write: true, create: true });
      assert.equal(await held.tryLock(true), true);
      await held.write(new TextEncoder().encode(JSON.stringify({ pid: Deno.pid, since: "x" })));
      const r = await runCli(["bench", "--matrix", "tiny", "--reps", "1", "--out", out]);
      await held.unlock();
      held.close();
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, new RegExp(`is being written by another run \\(process ${Deno.pid},`));
      assert.doesNotMatch(r.stderr, /measuring the device's ceilings/);
      assert.deepEqual([...Deno.readDirSync(out)].map((e) => e.name), ["run.lock"]);
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test({
  name: "bench: a case that errors (a user backend's launch throws) makes the bench exit 1",
  ignore: !gpu,
  fn: async () => {
    const out = await Deno.makeTempDir({ prefix: "mla-bench-user-" });
    await Deno.remove(out);
    const r = await runCli([
      "bench",
      "--matrix",
      "tiny",
      "--filter",
      "path=absorbed",
      "--reps",
      "1",
      "--backend-module",
      "tests/fixtures/backends/launch_throws.ts",
      "--backend",
      "naive-launch-throws",
      "--out",
      out,
    ]);
    try {
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout + r.stderr, /error.*launch_throws: no such buffer kvcache/);
      // report.json says which kernel the figures are of (it named neither), and an error
      // record names the backend it was asked to run on (it had none)
      const report = JSON.parse(await Deno.readTextFile(`${out}/report.json`));
      assert.deepEqual(report.backends.overrides, ["naive-launch-throws"]);
      assert.equal(
        report.backends.modules[0].specifier,
        "tests/fixtures/backends/launch_throws.ts",
      );
      assert.match(
        report.backends.modules[0].hashes["naive-launch-throws:launch_throws.ts"],
        /^[0-9a-f]{16}$/,
      );
      const errors = report.records.filter((x: { status: string }) => x.status === "error");
      assert.ok(errors.length > 0);
      for (const e of errors) assert.equal(e.backend, "naive-launch-throws");
      // the table keeps one line a case
      const row = r.stdout.split("\n").find((l) =>
        l.includes("error: backend naive-launch-throws")
      );
      assert.ok(row && row.length < 400, row);
    } finally {
      await Deno.remove(out, { recursive: true }).catch(() => {});
    }
  },
});

/** `bench --case-timeout 1` on the cases `filter` selects, on a backend whose launch hangs. */
function benchHanging(matrix: string, filter: string | null, out: string): Promise<CliResult> {
  return runCli(
    [
      "bench",
      "--matrix",
      matrix,
      ...(filter === null ? [] : ["--filter", filter]),
      "--reps",
      "1",
      "--case-timeout",
      "1",
      "--backend-module",
      "tests/fixtures/backends/launch_hangs.ts",
      "--backend",
      "naive-launch-hangs",
      "--out",
      out,
    ],
    {},
    { timeoutMs: 120_000 },
  ); // without --case-timeout the bench would wait forever
}

/** report.json of a bench folder: its records and warnings. */
async function benchReportOf(
  out: string,
): Promise<{ records: BenchRecord[]; warnings?: string[] }> {
  return JSON.parse(await Deno.readTextFile(`${out}/report.json`));
}

const WENT_ON = "error: timed out after 1 s (--case-timeout); the device was re-acquired and " +
  "the bench went on";

Deno.test({
  name: "bench --case-timeout: a hung case is an error, the device is re-acquired, the next " +
    "case runs, and the bench exits 1 with its reports written",
  ignore: !gpu,
  fn: async () => {
    const out = await Deno.makeTempDir({ prefix: "bench_cli_timeout_" });
    try {
      // the tiny matrix: its absorbed case hangs, its expanded case is of the other path
      const r = await benchHanging("tiny", null, out);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      const report = await benchReportOf(out);
      assert.equal(report.records.length, 2);
      assert.equal(`${report.records[0].status}: ${report.records[0].reason}`, WENT_ON);
      assert.match(
        `${report.records[1].status}: ${report.records[1].reason}`,
        /^unsupported: backend\.path-mismatch/,
      );
      assert.match(r.stderr, /sk=64;causal=1;page=0: error: timed out after 1 s/);
      // the progress line of an unsupported case gives its reason, as the record does
      assert.match(
        r.stderr,
        /sk=64;causal=1;page=0: unsupported: backend\.path-mismatch: backend \S+ computes the absorbed path/,
      );
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

const slowHere = gpu ? sizeReason("deepseek-v2-lite") : "no WebGPU adapter";

Deno.test({
  name: nameWithReason(
    "bench --case-timeout: three timeouts in a row stop the bench with its reports written " +
      "(exit 3, as run's losses)",
    slowHere,
  ),
  ignore: slowHere !== null,
  fn: async () => {
    const out = await Deno.makeTempDir({ prefix: "bench_cli_timeout_" });
    try {
      // twelve small decode cases of the model presets (the GL fallback refuses model sizes)
      const r = await benchHanging("presets", "path=absorbed;sk=16,64", out);
      assert.equal(r.code, 3, r.stdout + r.stderr);
      const report = await benchReportOf(out);
      const reasons = report.records.map((x) => `${x.status}: ${x.reason}`);
      assert.deepEqual(reasons, [
        WENT_ON,
        WENT_ON,
        "error: timed out after 1 s (--case-timeout); 3 timeouts in a row: the bench stopped here",
      ]);
      const stop = report.warnings?.find((w) => w.startsWith("stopped after 3 case timeouts"));
      assert.ok(stop, JSON.stringify(report.warnings));
      assert.match(stop, /3 of 12 cases have a record; not run: .*moonlight-16b.*sk=64/);
      // each record was streamed as its case ended, as for any case
      const streamed = (await Deno.readTextFile(`${out}/records.jsonl`)).trim().split("\n");
      assert.equal(streamed.length, 3);
      assert.match(r.stderr, /sk=16;causal=1;page=0: error: timed out after 1 s/);
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});
