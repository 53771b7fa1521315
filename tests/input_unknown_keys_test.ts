/**
 * A key a matrix or caps file holds and the schema does not know is shown with the value it
 * holds, at its own path (one line per key), never as "(missing)"; a model config.json, a
 * drift baseline or a run report given as a caps file is named for what it is.
 */
import assert from "node:assert/strict";
import { parseCaps } from "../adapter/caps_file.ts";
import { issuesFromSchema } from "../adapter/errors.ts";
import { validateMatrix } from "../matrix/expand.ts";
import { configError } from "./config_helpers.ts";
import { runCli } from "./helpers_cli.ts";

const FIX = new URL("./fixtures/", import.meta.url).pathname;
const root = new URL("../", import.meta.url).pathname;
const lavapipe = JSON.parse(await Deno.readTextFile(`${FIX}caps_lavapipe.json`));

Deno.test("issuesFromSchema: each unknown key at its own path, with its value", () => {
  assert.deepEqual(
    issuesFromSchema([{ path: ["a"], keys: ["x", "y"], message: "unknown key" }], {
      a: { x: 1, y: "two" },
    }),
    [
      { path: "a.x", value: 1, message: "unknown key" },
      { path: "a.y", value: "two", message: "unknown key" },
    ],
  );
});

Deno.test("matrix file: unknown axes and keys show their values, one line each", () => {
  const e = configError(() =>
    validateMatrix({
      name: "m",
      extra: true,
      groups: [{ axes: { preset: "tiny", bb: 1, dtpe: ["f16"] }, nme: "g" }],
    }, "m.json")
  );
  assert.doesNotMatch(e.message, /\(missing\)/);
  assert.match(e.message, /\n {2}extra: true unknown key; valid: name, description/);
  assert.match(e.message, /\n {2}groups\[0\]\.axes\.bb: 1 unknown axis; valid axes: preset/);
  assert.match(e.message, /\n {2}groups\[0\]\.axes\.dtpe: \["f16"\] unknown axis/);
  assert.match(
    e.message,
    /\n {2}groups\[0\]\.nme: "g" unknown key; did you mean "name"\? valid: name, axes/,
  );
});

// `"devices": {"__proto__": {...}}` (JSON.parse keeps the key) was dropped by the record
// parser without a word, the profile gone; a limit so named too. Refused by name (exit 2).
Deno.test("matrix file: a __proto__ key is refused by name, not dropped", () => {
  const raw = JSON.parse(
    '{"name": "m", "devices": {"__proto__": {"loopIterationBudget": 5}, "p": {"limits": ' +
      '{"__proto__": 4}}}, "groups": [{"axes": {"preset": "tiny"}}]}',
  );
  const e = configError(() => validateMatrix(raw, "m.json"));
  assert.match(e.message, /invalid matrix/);
  assert.match(e.message, /\n {2}devices\.__proto__: .*"__proto__" cannot be a key of a matrix/);
  assert.match(e.message, /\n {2}devices\.p\.limits\.__proto__: 4 "__proto__" cannot be a key/);
});

Deno.test("caps file: several unknown keys, each with its value; a caps file is not 'another kind'", () => {
  const e = configError(() => parseCaps({ ...lavapipe, bogus: 1, other: "x" }, "caps.json"));
  assert.match(e.message, /^caps\.json: invalid caps file/);
  assert.doesNotMatch(e.message, /\(missing\)|bogus,other/);
  assert.match(e.message, /\n {2}bogus: 1 unknown key; valid: adapter/);
  assert.match(e.message, /\n {2}other: "x" unknown key; valid: adapter/);
});

Deno.test("caps file: a config.json, a baseline or a run report is named for what it is", async () => {
  const hf = JSON.parse(await Deno.readTextFile(`${FIX}hf_deepseek_v2_lite_config.json`));
  const megatron = JSON.parse(await Deno.readTextFile(`${FIX}megatron_v2_lite_config.json`));
  const baseline = JSON.parse(
    await Deno.readTextFile(`${root}baselines/llvmpipe-65541-vulkan.json`),
  );
  const cases: [unknown, RegExp][] = [
    [
      hf,
      /^c\.json: not a caps file\n {2}kv_lora_rank: 512 shows it is a model config\.json \(HF or Megatron naming: kv_lora_rank, qk_rope_head_dim, qk_nope_head_dim\); expected a caps file: the JSON of devices --json \(adapter, features, limits\); give it to explain as its <config> argument/,
    ],
    [megatron, /^c\.json: not a caps file\n {2}kv_lora_rank: 512 shows it is a model config\.json/],
    [
      baseline,
      /^c\.json: not a caps file\n {2}format: "mla-harness-baseline" shows it is a drift baseline \(baseline update writes it: "format": "mla-harness-baseline"\); expected a caps file/,
    ],
    [
      { version: 1, matrix: "smoke", results: [] },
      /^c\.json: not a caps file\n {2}results: \[\] shows it is a run report \(run --out <dir> and merge write it as report\.json/,
    ],
  ];
  for (const [raw, message] of cases) {
    const e = configError(() => parseCaps(raw, "c.json"));
    assert.match(e.message, message);
    assert.doesNotMatch(e.message, /\(missing\)/);
  }
});

Deno.test("CLI: explain --caps given a config.json or a baseline is exit 2 saying what it is", async () => {
  const [cfg, base] = await Promise.all([
    runCli(["explain", "tiny", "--caps", `${FIX}hf_deepseek_v2_lite_config.json`]),
    runCli(["explain", "tiny", "--caps", `${root}baselines/llvmpipe-65541-vulkan.json`]),
  ]);
  for (const r of [cfg, base]) {
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /: not a caps file\n/);
    assert.doesNotMatch(r.stderr, /\(missing\)|internal error/);
  }
  assert.match(cfg.stderr, /shows it is a model config\.json .*give it to explain as its <config>/);
  assert.match(base.stderr, /shows it is a drift baseline \(baseline update writes it/);
});
