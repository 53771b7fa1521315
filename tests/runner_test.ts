// The matrix runner end to end on the real adapter (lavapipe in CI): shards merge to the
// unsharded run, a killed run resumes with every case exactly once, SIGINT keeps what finished,
// malformed matrices and planted kernel faults give the documented exit codes.
import assert from "node:assert/strict";
import { hasAdapter } from "../gpu/device.ts";
import { readJsonl } from "../report/jsonl.ts";
import { mergeRuns } from "../report/merge.ts";
import { applyProfile } from "../runner/case_request.ts";
import { runMatrix } from "../runner/run_matrix.ts";
import type { RunReport } from "../results/types.ts";
import { cliCommand, readUntilThen, runCli, WAITS_FOR_SIGINT_BACKEND } from "./helpers_cli.ts";
import { writeTinyMatrix } from "./matrix_file_helpers.ts";
import { SILENT_PROGRESS } from "../report/progress.ts";

const gpu = await hasAdapter();

function tinyMatrix(
  cases: { sq: number[]; dtype: string[]; layout: string[] },
): Promise<string> {
  return Deno.makeTempDir().then((dir) => writeTinyMatrix(dir, cases, "runner-test"));
}

async function lineCount(path: string): Promise<number> {
  try {
    return (await Deno.readTextFile(path)).split("\n").filter((l) => l.trim()).length;
  } catch {
    return 0;
  }
}

/** A 24-case run (long enough to interrupt) in a fresh output folder. */
async function interruptibleRun(): Promise<{ out: string; args: string[] }> {
  const matrix = await tinyMatrix({
    sq: [1, 2, 3],
    dtype: ["f32", "f16"],
    layout: ["bshd", "thd"],
  });
  const out = await Deno.makeTempDir();
  return { out, args: ["run", "--matrix", matrix, "--out", out, "--repeats", "0"] };
}

/** Start `main.ts run` in a child process and wait until `lines` results are on disk. */
async function startRunAndWait(
  args: string[],
  out: string,
  lines: number,
  options: { stdout?: "piped" | "null" } = {},
): Promise<Deno.ChildProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../main.ts", import.meta.url).pathname, ...args],
    stdout: options.stdout ?? "null",
    stderr: "null",
  }).spawn();
  const deadline = Date.now() + 120_000;
  while ((await lineCount(`${out}/results.jsonl`)) < lines && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  return child;
}

Deno.test({
  name: "two shards merged equal one unsharded run",
  ignore: !gpu,
  fn: async () => {
    const matrix = await tinyMatrix({ sq: [1, 3], dtype: ["f32"], layout: ["bshd", "thd"] });
    const root = await Deno.makeTempDir();
    const common = { matrix, repeats: 0, progress: SILENT_PROGRESS };
    const whole = await runMatrix({ ...common, out: `${root}/all` });
    await runMatrix({ ...common, out: `${root}/s1`, shard: { index: 1, count: 2 } });
    await runMatrix({ ...common, out: `${root}/s2`, shard: { index: 2, count: 2 } });
    const merged = await mergeRuns([`${root}/s1`, `${root}/s2`]);
    assert.deepEqual(merged.missing, []);
    assert.deepEqual(merged.duplicated, []);
    const verdicts = (r: RunReport) =>
      r.results.map((x) => `${x.id}:${x.status}:${x.outputDigest}`);
    assert.deepEqual(verdicts(merged.report), verdicts(whole));
    assert.equal(whole.results.length, 8);
    assert.ok(whole.results.every((r) => r.status === "pass"), JSON.stringify(whole.totals));
  },
});

Deno.test({
  name: "a run killed halfway and resumed has every case exactly once",
  ignore: !gpu,
  fn: async () => {
    const { out, args } = await interruptibleRun();
    const child = await startRunAndWait(args, out, 4);
    child.kill("SIGKILL");
    await child.status;
    const before = await lineCount(`${out}/results.jsonl`);
    assert.ok(before >= 4 && before < 24, `killed after ${before} of 24 cases`);
    // Without --resume (or --force) the half-finished folder is refused, not truncated.
    const plain = await runCli(args);
    assert.equal(plain.code, 2, plain.stdout + plain.stderr);
    assert.match(plain.stderr, /holds a half-finished run of matrix .*--resume finishes it/);
    // refused before the run's header ("backend: ..." came first, as if it had started)
    assert.equal(plain.stdout, "");
    assert.equal(await lineCount(`${out}/results.jsonl`), before, "nothing truncated");
    // merge rebuilds the killed run's reports from results.jsonl, and says so.
    const merged = await runCli(["merge", out, "--out", `${out}-merged`]);
    assert.equal(merged.code, 1, merged.stdout + merged.stderr); // cases are missing
    assert.match(
      merged.stdout,
      /rebuilt from results\.jsonl: .* killed before it had written all its reports/,
    );
    const rebuilt = JSON.parse(await Deno.readTextFile(`${out}-merged/report.json`));
    assert.equal(rebuilt.results.length, before);
    assert.equal(rebuilt.interrupted, true);
    assert.equal(rebuilt.matrixIds.length, 24);
    const resumed = await runCli([...args, "--resume"]);
    assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
    // The finished cases are counted in one line, not listed again.
    assert.match(
      resumed.stdout,
      new RegExp(
        `^resuming: ${before} of 24 cases already finished \\(.+\\); ${24 - before} to run$`,
        "m",
      ),
    );
    assert.equal((resumed.stdout.match(/^\[\d+\/24\] /gm) ?? []).length, 24 - before);
    // every case counted in the final line (f16 ones skip where the device has no shader-f16)
    // (the GL fallback refuses f16: those are "not covered", as the last line counts them)
    assert.match(
      resumed.stdout,
      /^24\/24 cases in \S+: \d+ pass(, \d+ skip)?(, \d+ not covered)?$/m,
    );
    const { results } = await readJsonl(`${out}/results.jsonl`);
    const ids = results.map((r) => r.id);
    assert.equal(ids.length, 24);
    assert.equal(new Set(ids).size, 24, "no case twice");
    const report = JSON.parse(await Deno.readTextFile(`${out}/report.json`));
    assert.equal(report.results.length, 24);
  },
});

Deno.test({
  name: "SIGINT stops after the current case and keeps everything finished (exit 130)",
  ignore: !gpu,
  fn: async () => {
    const { out, args } = await interruptibleRun();
    const child = await startRunAndWait(args, out, 3);
    child.kill("SIGINT");
    const status = await child.status;
    assert.equal(status.code, 130);
    const report = JSON.parse(await Deno.readTextFile(`${out}/report.json`));
    assert.equal(report.interrupted, true);
    const lines = await lineCount(`${out}/results.jsonl`);
    assert.equal(report.results.length, lines);
    assert.ok(lines < 24, `stopped early (${lines})`);
    assert.match(await Deno.readTextFile(`${out}/junit.xml`), /not-run/);
  },
});

Deno.test({
  name: "a second Ctrl-C abandons a case that hangs, writes the reports, exit 130 (it waited " +
    "for --case-timeout)",
  ignore: !gpu,
  fn: async () => {
    const out = await Deno.makeTempDir();
    // (a folder of baselines without this device's: the run stops before its drift step)
    await Deno.mkdir(`${out}/baselines`);
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../main.ts", import.meta.url).pathname,
        "run",
        "--filter",
        "preset=tiny;path=absorbed;dtype=f32;sq=1;layout=bshd;causal=1",
        "--backend-module",
        new URL("./fixtures/backends/launch_hangs_said.ts", import.meta.url).pathname,
        "--backend",
        "naive-launch-hangs-said",
        "--repeats",
        "0",
        // without the second Ctrl-C acted on, the case runs to this and is recorded as its error
        "--case-timeout",
        "30",
        // what the run does after its cases: the resume names it too
        "--history",
        `${out}/h.sqlite`,
        "--baseline",
        `${out}/baselines`,
        // and its case limit (past the default's, a resume without it was refused)
        "--max-cases",
        "200000",
        "--progress",
        "failures",
        "--out",
        out,
      ],
      env: { NO_COLOR: "1" },
      stdout: "null",
      stderr: "piped",
    }).spawn();
    // each Ctrl-C once the run is seen where it is (two signals at once may arrive as one)
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    const waitFor = async (re: RegExp) => {
      while (!re.test(text)) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
      }
    };
    await waitFor(/fixture: launch started/);
    child.kill("SIGINT");
    await waitFor(/interrupt: finishing the current case.*Ctrl-C again: at once/);
    child.kill("SIGINT");
    await waitFor(/$^/); // to the end
    const status = await child.status;
    assert.equal(status.code, 130, text);
    assert.match(text, /interrupt again: abandoning the current case, writing the reports/);
    // the command that finishes the run, which only summary.md and report.html gave
    assert.ok(
      text.includes(
        "to finish the run: deno task harness run --matrix smoke --filter " +
          "'preset=tiny;path=absorbed;dtype=f32;sq=1;layout=bshd;causal=1' --backend-module ",
      ) &&
        // with its --case-timeout (the default 600 s was named)
        text.includes(
          ` --backend naive-launch-hangs-said --repeats 0 --case-timeout 30 --out ${out} --resume` +
            // and its --history (a nightly resumed as told was never stored)
            ` --max-cases 200000 --progress failures --baseline ${out}/baselines` +
            ` --history ${out}/h.sqlite\n`,
        ),
      text,
    );
    // stopped at once: the run is not stored in its history (it said nothing of it)
    assert.match(
      text,
      new RegExp(
        `stopped at once: not compared with --baseline ${out}/baselines, not stored in ` +
          `--history ${out}/h\\.sqlite; the resume above does it`,
      ),
    );
    const report = JSON.parse(await Deno.readTextFile(`${out}/report.json`));
    assert.equal(report.interrupted, true);
    // and summary.md's, from the report (which did not record the limit), with the words the
    // terminal's carries (a nightly resumed from the page was never stored in its history)
    assert.ok(
      (await Deno.readTextFile(`${out}/summary.md`)).includes(
        ` --repeats 0 --case-timeout 30 --out ${out} --resume` +
          ` --max-cases 200000 --progress failures --baseline ${out}/baselines` +
          ` --history ${out}/h.sqlite`,
      ),
    );
    // and both pages say the drift step was not done (only the console did)
    for (const page of ["summary.md", "report.html"]) {
      assert.match(
        await Deno.readTextFile(`${out}/${page}`),
        /drift not checked: the run was stopped at once: not compared with --baseline /,
        page,
      );
    }
    assert.ok(
      (await Deno.readTextFile(`${out}/report.html`)).includes(
        `--out ${out} --resume --max-cases 200000 --progress failures --baseline ` +
          `${out}/baselines --history ${out}/h.sqlite`,
      ),
    );
    assert.deepEqual(report.results, [], "the hung case abandoned, not run to its timeout");
    assert.equal(await lineCount(`${out}/results.jsonl`), 0);
    await Deno.remove(out, { recursive: true });
  },
});

Deno.test({
  name:
    "a Ctrl-C during the last case stops nothing: the reports whole, exit 130 said so (it was 0)",
  ignore: !gpu,
  fn: async () => {
    const out = await Deno.makeTempDir();
    // the one case's launch finishes only once the SIGINT has come
    const child = cliCommand([
      "run",
      "--filter",
      "preset=tiny;path=absorbed;dtype=f32;sq=1;layout=bshd;causal=1;varlen=none;b=2;sk=20",
      ...WAITS_FOR_SIGINT_BACKEND,
      "--repeats",
      "0",
      "--out",
      out,
    ], { stdout: "null" }).spawn();
    const text = await readUntilThen(
      child.stderr,
      /fixture: launch started/,
      () => child.kill("SIGINT"),
    );
    const status = await child.status;
    assert.equal(status.code, 130, text);
    assert.match(
      text,
      /interrupted by SIGINT during the last case or after it: it finished, the 1 case ran and the reports are complete \(not marked interrupted\); exit 130/,
    );
    const report = JSON.parse(await Deno.readTextFile(`${out}/report.json`));
    assert.equal(report.interrupted, false);
    assert.equal(report.results.length, 1);
    assert.equal(report.results[0].status, "pass", text);
    await Deno.remove(out, { recursive: true });
  },
});

Deno.test({
  name: "SIGTERM stops at once, writes the reports marked interrupted (exit 143)",
  ignore: !gpu,
  fn: async () => {
    const { out, args } = await interruptibleRun();
    const child = await startRunAndWait(args, out, 3, { stdout: "piped" });
    const stdout = new Response(child.stdout).text();
    child.kill("SIGTERM");
    const status = await child.status;
    assert.equal(status.code, 143);
    // the last line says the run stopped (it read as a whole run: "3/24 cases: 3 pass, ...")
    const last = (await stdout).trim().split("\n").at(-1) ?? "";
    assert.match(last, /^\d+\/24 cases: .*; interrupted, \d+ cases? not run; reports in /, last);
    const report = JSON.parse(await Deno.readTextFile(`${out}/report.json`));
    assert.equal(report.interrupted, true);
    const lines = await lineCount(`${out}/results.jsonl`);
    assert.equal(report.results.length, lines);
    assert.ok(lines < 24, `stopped early (${lines})`);
    assert.match(await Deno.readTextFile(`${out}/junit.xml`), /not-run/);
    const state = JSON.parse(await Deno.readTextFile(`${out}/run.json`));
    assert.equal(state.state, "interrupted");
  },
});

Deno.test({
  name: "SIGHUP (a terminal closed, an ssh session dropped) stops as SIGTERM does (exit 129)",
  ignore: !gpu,
  fn: async () => {
    // it killed the run at once: no report.json, no junit.xml, run.json left "running"
    const { out, args } = await interruptibleRun();
    const child = await startRunAndWait(args, out, 1);
    child.kill("SIGHUP");
    const status = await child.status;
    assert.equal(status.code, 129);
    const report = JSON.parse(await Deno.readTextFile(`${out}/report.json`));
    assert.equal(report.interrupted, true);
    assert.equal(report.results.length, await lineCount(`${out}/results.jsonl`));
    const state = JSON.parse(await Deno.readTextFile(`${out}/run.json`));
    assert.equal(state.state, "interrupted");
  },
});

Deno.test("a malformed matrix file gets a clear error naming the entry, exit 2", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${dir}/bad.json`,
    JSON.stringify({
      name: "bad",
      groups: [{ axes: { preset: "tiny" } }, { axes: { sq: [1, 0] } }],
    }),
  );
  const r = await runCli(["run", "--matrix", `${dir}/bad.json`, "--out", `${dir}/out`]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /bad\.json: invalid matrix/);
  assert.match(r.stderr, /groups\[1\]\.axes\.sq\[1\]: 0 must be an integer from 1 to /);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  // refused before the run's header: "backend: ..." came first, as if the run had started
  assert.equal(r.stdout, "");
  for (const bad of [["--filter", "preset=nosuch"], ["--max-cases", "2"]]) {
    const b = await runCli(["run", ...bad, "--out", `${dir}/out`]);
    assert.equal(b.code, 2, b.stderr);
    assert.equal(b.stdout, "", bad.join(" "));
  }
});

Deno.test("bad --shard and --filter are usage errors (exit 2)", async () => {
  const a = await runCli(["run", "--shard", "3/2"]);
  assert.equal(a.code, 2);
  assert.match(a.stderr, /"3\/2" must look like i\/n with 1 <= i <= n/);
  // past 2^53: not the number written (it was recorded as 1/100000000000000000000)
  const huge = await runCli(["run", "--shard", "1/99999999999999999999"]);
  assert.equal(huge.code, 2, huge.stderr);
  assert.match(huge.stderr, /must look like i\/n with 1 <= i <= n <= 9007199254740991/);
  const b = await runCli(["run", "--filter", "dtpe=f16", "--out", await Deno.makeTempDir()], {
    DENO_WEBGPU_BACKEND: Deno.env.get("DENO_WEBGPU_BACKEND") ?? "",
  });
  assert.equal(b.code, 2, b.stderr);
  assert.match(b.stderr, /filter key "dtpe" is unknown/);
});

Deno.test({
  name: "a planted kernel fault turns the run red (exit 1) and names the case",
  ignore: !gpu,
  fn: async () => {
    const out = await Deno.makeTempDir();
    const r = await runCli([
      "run",
      "--matrix",
      "smoke",
      "--filter",
      "preset=tiny;path=absorbed;dtype=f32;layout=bshd;sq=1;causal=1;varlen=none",
      "--plant-fault",
      "kpe-left-out",
      "--repeats",
      "0",
      "--out",
      out,
    ]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const id = "preset=tiny;path=absorbed;dtype=f32;b=2;sq=1;sk=20;layout=bshd;causal=1";
    assert.match(r.stdout, new RegExp(`fail ${id.replaceAll(";", ";")}`));
    const summary = await Deno.readTextFile(`${out}/summary.md`);
    assert.ok(summary.includes(id), summary);
    // The fault is named in every report, so its failures never read as a regression.
    assert.match(summary, /Planted fault `kpe-left-out`/);
    const junit = await Deno.readTextFile(`${out}/junit.xml`);
    assert.match(junit, /<failure message="[^"]*max abs err/);
    assert.match(junit, /<property name="run.plantedFault" value="kpe-left-out"\/>/);
    const report = JSON.parse(await Deno.readTextFile(`${out}/report.json`));
    assert.equal(report.plantedFault, "kpe-left-out");
    assert.match(
      await Deno.readTextFile(`${out}/report.html`),
      /id="planted-fault">Planted fault <code>kpe-left-out/,
    );
  },
});

Deno.test({
  name: "a planted gemm fault runs on the gemm backend and turns the run red; a --backend that " +
    "would not run the fault's kernel is exit 2; a plan fault runs on any --backend",
  ignore: !gpu,
  fn: async () => {
    const filter = "preset=tiny;path=absorbed;dtype=f32;layout=bshd;sq=1;causal=1;varlen=none";
    const out = await Deno.makeTempDir();
    const runArgs = (f: string) => ["run", "--matrix", "smoke", "--filter", f, "--repeats", "0"];
    const args = runArgs(filter);
    const r = await runCli([...args, "--plant-fault", "gemm-kpe-left-out", "--out", out]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const results = (await Deno.readTextFile(`${out}/results.jsonl`)).trim().split("\n")
      .map((l) => JSON.parse(l));
    assert.deepEqual(results.map((x) => [x.status, x.backend]), [["fail", "wgsl-absorbed-gemm"]]);
    // --plant-fault <fault> --backend <backend> on the cases of a filter, into a fresh folder.
    const onBackend = async (f: string, fault: string, backend: string) =>
      await runCli([
        ...runArgs(f),
        "--plant-fault",
        fault,
        "--backend",
        backend,
        "--out",
        await Deno.makeTempDir(),
      ]);
    const bad = await onBackend(filter, "gemm-kpe-left-out", "wgsl-absorbed");
    assert.equal(bad.code, 2, bad.stdout + bad.stderr);
    assert.match(
      bad.stderr,
      /planted in the kernels of wgsl-absorbed-gemm; --backend wgsl-absorbed/,
    );
    // A plan fault (a wrong causal offset handed to the kernel) runs on any --backend.
    const plan = await onBackend(
      filter.replace("sq=1", "sq=4"),
      "causal-top-left",
      "wgsl-absorbed-gemm",
    );
    assert.equal(plan.code, 1, plan.stdout + plan.stderr);
    assert.match(plan.stdout, /fail preset=tiny;path=absorbed;dtype=f32;b=2;sq=4/);
  },
});

Deno.test({
  name: "mode layer: the full layer runs, and a planted attention fault turns it red",
  ignore: !gpu,
  fn: async () => {
    const filter = "mode=layer;preset=tiny;path=absorbed;dtype=f32;layout=thd";
    const clean = await runMatrix({
      matrix: "smoke",
      filter,
      out: await Deno.makeTempDir(),
      repeats: 0,
      progress: SILENT_PROGRESS,
    });
    assert.equal(clean.results.length, 1);
    assert.equal(clean.results[0].status, "pass", clean.results[0].message);
    assert.equal(clean.results[0].reference, "dense-layer");
    const { FAULTS } = await import("../parity/faults.ts");
    const bad = await runMatrix({
      matrix: "smoke",
      filter,
      out: await Deno.makeTempDir(),
      repeats: 0,
      progress: SILENT_PROGRESS,
      fault: FAULTS.find((f) => f.id === "kpe-left-out"),
    });
    assert.equal(bad.results[0].status, "fail");
    assert.match(bad.results[0].message, /^out: max abs err/);
  },
});

Deno.test({
  name: "the adapter matrix: every edge config gets its expected decision",
  ignore: !gpu,
  fn: async () => {
    const out = await Deno.makeTempDir();
    const report = await runMatrix({
      matrix: "adapter",
      out,
      repeats: 0,
      progress: SILENT_PROGRESS,
    });
    const bad = report.results.filter((r) => r.status !== "pass");
    assert.deepEqual(bad.map((r) => `${r.id}: ${r.message}`), []);
    const decisions = new Set(report.results.map((r) => r.decision));
    assert.deepEqual([...decisions].sort(), ["invalid", "supported", "unsupported"]);
  },
});

Deno.test("no adapter: run exits 3 with the fix", async () => {
  const r = await runCli(["run", "--out", await Deno.makeTempDir()], {
    DENO_WEBGPU_BACKEND: "dx12",
  });
  assert.equal(r.code, 3, r.stdout + r.stderr);
  assert.match(r.stderr, /apt-get install mesa-vulkan-drivers/);
  assert.match(r.stderr, /DENO_WEBGPU_BACKEND=vulkan/);
});

Deno.test("a device profile's loop budget replaces the measured one; absent, it is kept", () => {
  const caps = {
    adapter: {
      vendor: "v",
      architecture: "",
      device: "0",
      description: "some GPU",
      isFallbackAdapter: false,
    },
    features: ["shader-f16"],
    limits: { maxBufferSize: 1024 },
    loopIterationBudget: null,
  };
  assert.equal(applyProfile(caps, { loopIterationBudget: 65535 }).loopIterationBudget, 65535);
  assert.equal(applyProfile(caps, { removeFeatures: ["shader-f16"] }).loopIterationBudget, null);
  assert.equal(
    applyProfile({ ...caps, loopIterationBudget: 4000 }, { loopIterationBudget: null })
      .loopIterationBudget,
    null,
  );
});

// SIGTERM (or a second Ctrl-C) abandons the case under way, which goes on in the background:
// the reports waited on its compiles and GPU work (nightly on lavapipe: 0.8-3.6 s from SIGTERM
// to exit, where a CI runner's SIGKILL can follow within seconds). The run's own device now
// goes before the reports are written.
Deno.test({
  name: "an abandoned case's device (the run's own) is destroyed before the reports are written",
  ignore: !gpu,
  fn: async () => {
    const out = await Deno.makeTempDir({ prefix: "mla-abandon-" });
    const events: string[] = [];
    const atOnce = new AbortController();
    try {
      const report = await runMatrix({
        matrix: "smoke",
        filter: "preset=tiny;dtype=f32;mode=layer",
        out,
        repeats: 0,
        progress: SILENT_PROGRESS,
        abandon: atOnce.signal,
        testOnlyCaseRunner: (_c, o) => {
          const destroy = o.ctx.destroy.bind(o.ctx);
          o.ctx.destroy = () => {
            events.push("device destroyed");
            destroy();
          };
          atOnce.abort(); // SIGTERM, with this case under way
          return new Promise<never>(() => {}); // still running
        },
        writeReports: () => {
          events.push("reports");
          return Promise.resolve();
        },
      });
      assert.equal(report.interrupted, true);
      assert.deepEqual(events.slice(0, 2), ["device destroyed", "reports"]);
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});
