/**
 * One of the harness's JSON files given where another kind is expected is named for what it
 * is, in the same words by every reader (adapter/file_kind.ts): `it is <kind> (<who writes
 * it>: <keys that show it>); expected <kind>; give it to <command>`. Each reader, and each
 * CLI command that takes such a file, is checked: one that stopped naming the kind fails here.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  describeFileKind,
  type FileKind,
  recognizeFileKind,
  wrongFileKind,
} from "../adapter/file_kind.ts";
import { parseCaps, readCapsFile } from "../adapter/caps_file.ts";
import { readConfig } from "../adapter/config.ts";
import { validateMatrix } from "../matrix/expand.ts";
import { runReportProblem } from "../report/validate.ts";
import { readRunState } from "../report/run_state.ts";
import { baselineProblem, loadComparable } from "../drift/baseline.ts";
import { mergeThresholds } from "../drift/thresholds.ts";
import { parseReferenceCeilings } from "../bench/reference_ceilings.ts";
import { parseTuningFile } from "../adapter/plan_tuning.ts";
import { runCli } from "./helpers_cli.ts";

const root = new URL("../", import.meta.url).pathname;
const read = (path: string): unknown => JSON.parse(Deno.readTextFileSync(join(root, path)));

const FILES = {
  caps: "tests/fixtures/caps_lavapipe.json",
  devices: "docs/gpu_machine/h200-2026-12-04/devices.json",
  hf: "tests/fixtures/hf_deepseek_v2_lite_config.json",
  megatron: "tests/fixtures/megatron_v2_lite_config.json",
  baseline: "baselines/llvmpipe-65541-vulkan.json",
  bench: "docs/gpu_machine/h200-2026-12-04/bench_report.json",
  matrix: "matrix/bundled/smoke.json",
};

const RUN_REPORT = {
  version: 1,
  matrix: "smoke",
  filter: null,
  shard: null,
  matrixIds: [],
  shardIds: [],
  results: [],
};

const RESULTS_LINE = {
  id: "preset=tiny;path=absorbed;dtype=f32;b=1;sq=1;sk=12;layout=bshd;causal=1",
  status: "pass",
  decision: "supported",
  expect: { support: "supported" },
  params: { preset: "tiny" },
};

/** One sample of each recognized kind: committed files where the repository has one. */
const SAMPLES: readonly [FileKind, string, unknown][] = [
  ["caps", FILES.caps, read(FILES.caps)],
  ["caps", FILES.devices, read(FILES.devices)],
  ["model-config", FILES.hf, read(FILES.hf)],
  ["model-config", FILES.megatron, read(FILES.megatron)],
  ["baseline", FILES.baseline, read(FILES.baseline)],
  ["bench-report", FILES.bench, read(FILES.bench)],
  ["matrix", FILES.matrix, read(FILES.matrix)],
  ["run-report", "report.json", RUN_REPORT],
  ["run-state", "run.json", { version: 1, state: "finished", report: { matrix: "smoke" } }],
  // one line of a run's results.jsonl (a one-line file was called a caps file missing its keys)
  ["results-line", "results.jsonl", RESULTS_LINE],
  ["compare-report", "compare.json", { format: "mla-harness-compare", version: 1, cases: [] }],
  [
    "tuning",
    "tuning.json",
    { format: "mla-harness-tuning/1", knobs: { tiledMaxRows: 8 }, complete: true },
  ],
];

Deno.test("recognizeFileKind: each file the harness writes or reads, by its shape", () => {
  for (const [kind, name, value] of SAMPLES) {
    assert.equal(recognizeFileKind(value)?.kind, kind, name);
  }
  // drift thresholds have no key of their own; nor has an arbitrary object
  for (const v of [{ alpha: 0.1 }, { hello: 1 }, [1], null, "x", { hidden_size: 64 }]) {
    assert.equal(recognizeFileKind(v), null, JSON.stringify(v));
  }
});

/** The message a reader gives a value (its error's, or the problem it returns). */
async function messageOf(f: () => unknown): Promise<string> {
  try {
    const out = await f();
    return typeof out === "string" ? out : "(accepted)";
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

async function fileOf(dir: string, value: unknown): Promise<string> {
  const path = join(dir, `${crypto.randomUUID()}.json`);
  await Deno.writeTextFile(path, JSON.stringify(value));
  return path;
}

/** Every reader of a JSON file, the kinds it takes, and how it is asked. */
const READERS: readonly [string, FileKind[], (v: unknown, dir: string) => unknown][] = [
  ["parseCaps", ["caps"], (v) => parseCaps(v, "c.json")],
  ["runReportProblem", ["run-report"], (v) => runReportProblem(v)],
  ["readRunState", ["run-state"], async (v, dir) => readRunState(await fileOf(dir, v))],
  ["baselineProblem", ["baseline"], (v) => baselineProblem(v)],
  [
    "loadComparable",
    ["baseline", "run-report"],
    async (v, dir) => loadComparable(await fileOf(dir, v)),
  ],
  ["readConfig", ["model-config"], (v) => readConfig(v, { name: "config.json" })],
  ["validateMatrix", ["matrix"], (v) => validateMatrix(v, "m.json")],
  ["parseReferenceCeilings", ["bench-report"], (v) => parseReferenceCeilings(v, "r.json")],
  ["mergeThresholds", ["thresholds"], (v) => mergeThresholds(v, { where: "t.json" })],
  ["parseTuningFile", ["tuning"], (v) => parseTuningFile(v, "t.json")],
];

Deno.test("every reader names a file of another kind with the same words", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const [reader, takes, ask] of READERS) {
      for (const [kind, name, value] of SAMPLES) {
        if (takes.includes(kind)) continue;
        const words = wrongFileKind(value, takes);
        assert.ok(words !== null, `${reader}: ${name}`);
        assert.ok(words.startsWith(`it is ${describeFileKind(recognizeFileKind(value)!)}; `));
        const message = await messageOf(() => ask(value, dir));
        assert.ok(
          message.includes(words),
          `${reader} given ${name} (${kind}) should say\n  ${words}\nbut said\n  ${message}`,
        );
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a run's results.jsonl of several lines given as a JSON file is named, not only 'unexpected content at line 2'", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "results.jsonl");
    const line = JSON.stringify(RESULTS_LINE);
    await Deno.writeTextFile(path, `${line}\n${line}\n${line}\n`);
    const message = await messageOf(() => readCapsFile(path));
    assert.match(
      message,
      /is not one JSON value: it is JSON lines \(3 values, one a line\), the first a line of a run's results\.jsonl \(run writes .*\); give it to merge or run --resume/,
    );
    // JSON lines of no recognized kind keep the parser's words
    await Deno.writeTextFile(path, '{"a": 1}\n{"a": 2}\n');
    assert.match(
      await messageOf(() => readCapsFile(path)),
      /is not valid JSON: unexpected content after the JSON value at line 2/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CLI: each command given another kind of file says what it is (exit 2)", async () => {
  const dir = await Deno.makeTempDir();
  const at = (f: string) => join(root, f);
  try {
    const report = await fileOf(dir, RUN_REPORT);
    await Deno.mkdir(join(dir, "shard"));
    await Deno.copyFile(at(FILES.caps), join(dir, "shard", "report.json"));
    const CAPS = /it is a device capabilities file \(devices --json writes it: adapter, features/;
    const cases: [string[], RegExp][] = [
      [
        ["explain", "tiny", "--caps", at(FILES.bench)],
        /: not a caps file\n {2}records: .* shows it is a bench report \(bench --out writes it: records and targets\); expected a caps file/,
      ],
      [
        ["explain", at(FILES.caps)],
        /caps_lavapipe\.json: not a model config\n {2}adapter: .* shows it is a device capabilities file/,
      ],
      [["compare", at(FILES.caps), at(FILES.baseline)], CAPS],
      [
        // --input only has to exist: the config is read first
        ["layer", "--config", at(FILES.caps), "--input", at(FILES.hf), "--out", join(dir, "o.st")],
        /caps_lavapipe\.json: not a model config\n {2}adapter: .* shows it is a device capabilities file/,
      ],
      [["history", "--db", join(dir, "h.sqlite"), "--add", at(FILES.caps)], CAPS],
      [
        ["run", "--filter", "preset=tiny", "--baseline", at(FILES.caps), "--out", join(dir, "o")],
        /caps_lavapipe\.json: it is a device capabilities file .*; expected a drift baseline/,
      ],
      [
        ["run", "--matrix", report, "--out", join(dir, "o2")],
        /: not a matrix\n {2}results: \[\] shows it is a run report \(run --out <dir> and merge write it as report\.json/,
      ],
      [
        ["baseline", "update", "--from-report", at(FILES.hf), "--dir", join(dir, "bl")],
        /not a run report: it is a model config\.json \(HF or Megatron naming: .*\); expected the report\.json of a run/,
      ],
      [["baseline", "key", at(FILES.bench)], /: it is a bench report \(bench --out writes it/],
      [
        ["bench", "--reference-ceilings", report],
        /not a bench report with ceilings \(--reference-ceilings\)\n {2}results: \[\] shows it is a run report/,
      ],
      [
        ["compare", at(FILES.baseline), at(FILES.baseline), "--thresholds", at(FILES.baseline)],
        /: it is a drift baseline \(baseline update writes it: .*\); expected a drift thresholds file/,
      ],
      [
        ["merge", join(dir, "shard"), "--out", join(dir, "merged")],
        /shard\/report\.json: not a run report: it is a device capabilities file/,
      ],
    ];
    // a few at a time: each is a Deno process
    for (let i = 0; i < cases.length; i += 4) {
      const batch = cases.slice(i, i + 4);
      const results = await Promise.all(batch.map(([args]) => runCli(args)));
      results.forEach((r, j) => {
        const [args, want] = batch[j];
        const what = `${args.slice(0, 2).join(" ")}: ${r.stdout}${r.stderr}`;
        assert.equal(r.code, 2, what);
        assert.match(r.stderr, want, what);
        assert.doesNotMatch(r.stderr, /internal error|^\s+at /m, what);
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a file in another format given for a JSON one says what it looks like: HTML, XML, YAML", async () => {
  const { readJsonFile } = await import("../adapter/json_file.ts");
  const dir = await Deno.makeTempDir();
  try {
    const cases: [string, string, RegExp][] = [
      [
        "page.html",
        "<!DOCTYPE html>\n<html><body>report</body></html>",
        /it is HTML \(a report page\?\)/,
      ],
      ["x.xml", '<?xml version="1.0"?><a/>', /it is XML or HTML \(it starts with <\)/],
      [
        "c.yaml",
        "# caps\nadapter: x\nlimits:\n  a: 1\n",
        /it looks like YAML \(`key: value` lines\)/,
      ],
    ];
    for (const [name, text, re] of cases) {
      await Deno.writeTextFile(`${dir}/${name}`, text);
      await assert.rejects(readJsonFile(`${dir}/${name}`, { what: "caps file" }), (e: unknown) => {
        assert.match(String((e as Error).message), re);
        assert.match(String((e as Error).message), /at line \d+, column \d+/);
        return true;
      });
    }
    // JSON with a slip is told where, with no guess at another format
    await Deno.writeTextFile(`${dir}/c.json`, '{"a": 1,}');
    await assert.rejects(readJsonFile(`${dir}/c.json`, { what: "caps file" }), (e: unknown) => {
      assert.doesNotMatch(String((e as Error).message), /HTML|XML|YAML/);
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
