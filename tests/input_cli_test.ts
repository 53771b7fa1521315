// CLI input handling: unusable output paths, missing source files and flags a command would
// ignore are exit 2 with one message naming the flag or file, before any work (no GPU is
// needed: each is refused before a device starts); upgrade-check leaves no temporary folder.
import assert from "node:assert/strict";
import { upgradeCheck } from "../drift/mod.ts";
import type { UpgradeSide } from "../drift/mod.ts";
import { caseId } from "../matrix/case_id.ts";
import { CASE_DEFAULTS, type CaseParams } from "../matrix/types.ts";
import type { CaseResult } from "../results/types.ts";
import { caseResult, reportOf } from "./drift_helpers.ts";
import { type CliResult, runCli } from "./helpers_cli.ts";

const root = new URL("../", import.meta.url).pathname;
const F = `${root}tests/fixtures/safetensors/`;

/** `deno run -A main.ts ...args` (upgrade-check needs run permission), env added. */
const runCliAll = (args: string[], env: Record<string, string> = {}) =>
  runCli(args, env, { all: true });

/** Exit 2, the message, no stack trace. */
function assertUsage(r: CliResult, message: RegExp): void {
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, message);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at /, "no stack trace");
}

/** A test with its own temporary folder, removed when the test passes. */
function tmpTest(name: string, fn: (dir: string) => Promise<void>): void {
  Deno.test(name, async () => {
    const dir = await Deno.makeTempDir({ prefix: "mla-input-cli-" });
    await fn(dir);
    await Deno.remove(dir, { recursive: true });
  });
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

tmpTest(
  "baseline update --dir/--out unusable: exit 2 naming the flag, before the run",
  async (dir) => {
    const file = `${dir}/a-file.json`;
    await Deno.writeTextFile(file, "{}");
    const update = (...args: string[]) =>
      runCli(["baseline", "update", "--matrix", "smoke", "--filter", "preset=tiny;sq=4", ...args]);
    const asDir = await update("--out", `${dir}/run`, "--dir", file);
    assertUsage(asDir, new RegExp(`--dir ${esc(file)}: exists and is not a folder`));
    assert.doesNotMatch(asDir.stdout, /\[1\//, "no case ran");
    assertUsage(
      await update("--out", `${dir}/run`, "--dir", `${file}/sub`),
      new RegExp(`--dir ${esc(file)}/sub: runs into ${esc(file)}, which is a file, not a folder`),
    );
    assertUsage(
      await update("--out", file, "--dir", `${dir}/baselines`),
      new RegExp(`--out ${esc(file)}: exists and is not a folder`),
    );
    assert.equal(await Deno.readTextFile(file), "{}", "the file is untouched");
  },
);

tmpTest(
  "bench --out a file, or under one: exit 2 before the ceilings are measured",
  async (dir) => {
    const file = `${dir}/a-file.json`;
    await Deno.writeTextFile(file, "{}");
    for (const out of [file, `${file}/sub`]) {
      const r = await runCli(["bench", "--matrix", "tiny", "--out", out]);
      assertUsage(r, new RegExp(`--out ${esc(out)}: `));
      assert.doesNotMatch(r.stdout + r.stderr, /GFLOP|GB\/s/, "nothing measured");
    }
    assert.equal(await Deno.readTextFile(file), "{}");
  },
);

tmpTest(
  "bench --filter that selects no case: exit 2 like run, nothing measured or written",
  async (dir) => {
    const r = await runCli([
      "bench",
      "--matrix",
      "tiny",
      "--filter",
      "preset=nosuch",
      "--out",
      `${dir}/b`,
    ]);
    assertUsage(r, /--filter: selects no case of matrix tiny/);
    assert.match(
      r.stderr,
      /preset: "nosuch" occurs in no case of matrix tiny; its values of preset: tiny/,
    );
    assert.doesNotMatch(r.stdout + r.stderr, /GFLOP/);
    await assert.rejects(() => Deno.stat(`${dir}/b`), Deno.errors.NotFound);
    // every value exists, but no case has them all
    const none = await runCli([
      "bench",
      "--matrix",
      "tiny",
      "--filter",
      "path=absorbed;path=expanded",
    ]);
    assert.equal(none.code, 2, none.stderr);
  },
);

tmpTest(
  "bench --filter with a value no case has beside one that selects: exit 2 naming it, nothing measured",
  async (dir) => {
    // dtype=f32,f61: the f32 case selects, the typo f61 was left out without a word
    const r = await runCli([
      "bench",
      "--matrix",
      "tiny",
      "--filter",
      "dtype=f32,f61",
      "--out",
      `${dir}/b`,
    ]);
    assertUsage(r, /--filter: names values no case of matrix tiny has/);
    assert.match(
      r.stderr,
      /dtype: "f61" occurs in no case of matrix tiny; its values of dtype: f32/,
    );
    assert.doesNotMatch(r.stdout + r.stderr, /GFLOP/);
    await assert.rejects(() => Deno.stat(`${dir}/b`), Deno.errors.NotFound);
  },
);

tmpTest("compile: a missing file or a folder is exit 2 naming it, no stack trace", async (dir) => {
  assertUsage(
    await runCli(["compile", `${dir}/nonexistent.wgsl`]),
    new RegExp(`compile: ${esc(dir)}/nonexistent\\.wgsl: no such file`),
  );
  assertUsage(
    await runCli(["compile", dir]),
    new RegExp(`compile: ${esc(dir)}: is a folder; give WGSL files`),
  );
});

Deno.test("explain: layout flags the layout does not read are exit 2 naming them", async () => {
  const explain = (...args: string[]) => runCli(["explain", "tiny", "--no-device", ...args]);
  assertUsage(
    await explain("--layout", "bshd", "--cu-seqlens", "0,5,12"),
    /--cu-seqlens does not apply to --layout bshd \(only thd reads it/,
  );
  assertUsage(
    await explain("--cu-seqlens-k", "0,5"),
    /--cu-seqlens-k does not apply to --layout bshd/,
  );
  assertUsage(
    await explain("--layout", "thd", "--cu-seqlens", "0,5,12", "--kv-lens", "3,4"),
    /--kv-lens does not apply to --layout thd/,
  );
  assertUsage(
    await explain("--layout", "thd", "--cu-seqlens", "0,5,12", "--batch", "2", "--seq-k", "9"),
    /--batch, --seq-k do not apply to --layout thd .*drop them/,
  );
  // the flags each layout reads still work (3: unsupported without a device, not 2)
  assert.equal((await explain("--layout", "thd", "--cu-seqlens", "0,5,12")).code, 3);
  assert.equal((await explain("--batch", "2", "--seq-k", "9", "--kv-lens", "3,4")).code, 3);
});

/** A passing result of the tiny preset with these params. */
function resultOf(over: Partial<CaseParams>): CaseResult {
  const params: CaseParams = { ...CASE_DEFAULTS, preset: "tiny", b: 2, sk: 20, ...over };
  const id = caseId(params);
  return { ...caseResult(id, 1, 1), params };
}

tmpTest(
  "baseline update --from-report --filter keeps only the run's matching cases",
  async (dir) => {
    const results = [
      resultOf({ dtype: "f32" }),
      resultOf({ dtype: "f16" }),
      resultOf({ dtype: "f32", causal: false }),
      resultOf({ dtype: "f16", path: "expanded" }),
    ];
    const notReached = caseId({ ...CASE_DEFAULTS, preset: "tiny", b: 2, sk: 20, sq: 4 });
    const report = reportOf(results, {
      filter: "preset=tiny",
      shardIds: [...results.map((r) => r.id), notReached],
    });
    await Deno.mkdir(`${dir}/run`);
    await Deno.writeTextFile(`${dir}/run/report.json`, JSON.stringify(report));
    const env = {};
    const r = await runCli([
      "baseline",
      "update",
      "--from-report",
      `${dir}/run`,
      "--filter",
      "preset=tiny;dtype=f32",
      "--dir",
      `${dir}/baselines`,
    ], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\(2 cases, /);
    const [name] = [...Deno.readDirSync(`${dir}/baselines`)].map((e) => e.name);
    const b = JSON.parse(await Deno.readTextFile(`${dir}/baselines/${name}`));
    const f32 = results.filter((x) => x.params.dtype === "f32").map((x) => x.id);
    assert.deepEqual(b.cases.map((c: { id: string }) => c.id), f32);
    // the scope keeps the unfinished case the filter selects, and the filter is recorded
    assert.deepEqual(b.scope, [...f32, notReached]);
    // the run's filter, then the clauses it lacks (not "preset=tiny;preset=tiny;dtype=f32")
    assert.equal(b.filter, "preset=tiny;dtype=f32");
    // a filter that keeps none of the run's cases, and a malformed one: exit 2
    assertUsage(
      await runCli([
        "baseline",
        "update",
        "--from-report",
        `${dir}/run`,
        "--filter",
        "preset=deepseek-v3",
        "--dir",
        `${dir}/b2`,
      ], env),
      /--filter preset=deepseek-v3 selects none of the 5 cases of the run in /,
    );
    assertUsage(
      await runCli([
        "baseline",
        "update",
        "--from-report",
        `${dir}/run`,
        "--filter",
        "dtype=bf16",
        "--dir",
        `${dir}/b2`,
      ], env),
      /dtype=bf16/,
    );
    // options of a run are refused with a finished one
    assertUsage(
      await runCli([
        "baseline",
        "update",
        "--from-report",
        `${dir}/run`,
        "--matrix",
        "nightly",
        "--rounds",
        "3",
        "--dir",
        `${dir}/b2`,
      ], env),
      /--matrix, --rounds set up a run, and --from-report .* takes a finished one/,
    );
    await assert.rejects(() => Deno.stat(`${dir}/b2/${name}`), Deno.errors.NotFound);
  },
);

tmpTest(
  "layer: --layer without --weights, --seed with --weights: exit 2 naming them",
  async (dir) => {
    const base = ["layer", "--config", "tiny", "--input", `${F}tiny_input_bshd.safetensors`];
    assertUsage(
      await runCli([...base, "--layer", "2", "--out", `${dir}/y.safetensors`]),
      /--layer 2 picks a layer of the --weights file, and there is none/,
    );
    assertUsage(
      await runCli([
        ...base,
        "--weights",
        `${F}tiny_layer3.safetensors`,
        "--seed",
        "3",
        "--out",
        `${dir}/y.safetensors`,
      ]),
      /--seed 3 seeds the random weights, and --weights .* replaces them/,
    );
    await assert.rejects(() => Deno.stat(`${dir}/y.safetensors`), Deno.errors.NotFound);
  },
);

tmpTest("upgrade-check: both --from/--to and --from-ref/--to-ref is exit 2, not 3", async (dir) => {
  const r = await runCliAll([
    "upgrade-check",
    "--from",
    "2.9.6",
    "--to",
    "2.9.6",
    "--from-ref",
    "HEAD",
    "--to-ref",
    "HEAD",
    "--out",
    `${dir}/u`,
  ]);
  assertUsage(r, /cannot be combined; give one pair/);
  assertUsage(await runCliAll(["upgrade-check", "--out", `${dir}/u`]), /give either --from/);
  const file = `${dir}/a-file`;
  await Deno.writeTextFile(file, "x");
  assertUsage(
    await runCliAll(["upgrade-check", "--from-ref", "HEAD", "--to-ref", "HEAD", "--out", file]),
    new RegExp(`--out ${esc(file)}: exists and is not a folder`),
  );
});

tmpTest(
  "upgrade-check --from-ref: a bad revision is refused before any temporary folder",
  async (dir) => {
    const tmpdir = `${dir}/tmp`;
    await Deno.mkdir(tmpdir);
    const r = await runCliAll(
      ["upgrade-check", "--from-ref", "nosuchref", "--to-ref", "HEAD", "--out", `${dir}/u`],
      { TMPDIR: tmpdir },
    );
    // refused by the precheck, before any temporary folder or worktree is made
    assertUsage(r, /--from-ref: "nosuchref" names no commit of the repository/);
    assert.doesNotMatch(r.stderr, /git worktree add/);
    assert.deepEqual([...Deno.readDirSync(tmpdir)], [], "nothing left in TMPDIR");
  },
);

tmpTest(
  "upgrade-check orchestration: the worktrees' temporary folder goes, pass or fail",
  async (out) => {
    const A = caseId({ ...CASE_DEFAULTS, preset: "tiny", b: 2, sk: 20 });
    const folders: string[] = [];
    const fakeGit = async (_cwd: string, args: readonly string[]) => {
      if (args[1] === "add") {
        folders.push(args[3]);
        await Deno.mkdir(args[3], { recursive: true });
        await Deno.writeTextFile(`${args[3]}/main.ts`, "// a checkout");
      }
      return { code: 0, output: "" };
    };
    const passing = async (side: UpgradeSide) => {
      await Deno.mkdir(side.outDir, { recursive: true });
      await Deno.writeTextFile(
        `${side.outDir}/report.json`,
        JSON.stringify(reportOf([caseResult(A, 1, 1)])),
      );
      return 0;
    };
    const check = (runSide: (side: UpgradeSide) => Promise<number>) =>
      upgradeCheck({
        fromRef: "v1",
        toRef: "main",
        matrix: "smoke",
        repeats: 1,
        out,
        runSide,
        git: fakeGit,
        log: () => {},
      });
    const { report } = await check(passing);
    assert.equal(report.regressions, 0);
    await check(() => Promise.resolve(3)).then(
      () => assert.fail("a side that fails outright must throw"),
      (e: Error) => assert.match(e.message, /failed with exit 3/),
    );
    assert.equal(folders.length, 4);
    for (const f of folders) {
      const parent = f.slice(0, f.lastIndexOf("/"));
      assert.match(parent, /mla-upgrade-/);
      await assert.rejects(() => Deno.stat(parent), Deno.errors.NotFound, `${parent} removed`);
    }
  },
);
