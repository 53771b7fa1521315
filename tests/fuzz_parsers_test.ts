// Seeded fuzzing of the input parsers (issue 16): generated malformed configs
// (specFromConfig), matrices (validation, counting, lazy expansion), JSON text
// (readJsonFile's scanner against JSON.parse) and safetensors headers (SafetensorsFile),
// a few hundred of each in-process, then a handful through the CLI. Every input must
// either parse or give the module's error type with a message naming the input; the
// CLI must exit 2 without a stack trace and touch no file outside --out.
import assert from "node:assert/strict";
import { specFromConfig } from "../adapter/config.ts";
import { ConfigError } from "../adapter/errors.ts";
import { scanJson } from "../adapter/json_scan.ts";
import { checkCaseCount, iterateCases, validateMatrix } from "../matrix/expand.ts";
import { makePrng, type Prng } from "../util/prng.ts";
import { SafetensorsError, SafetensorsFile } from "../weights/mod.ts";
import { runCli } from "./helpers_cli.ts";

const PER_KIND = 300;
const FIXTURES = new URL("./fixtures/", import.meta.url);
const readFixture = async (name: string) =>
  JSON.parse(await Deno.readTextFile(new URL(name, FIXTURES))) as Record<string, unknown>;

const pick = <T>(rng: Prng, xs: readonly T[]): T => xs[rng.int(xs.length)];

/** Values no field expects, and a few that some do (so both outcomes occur). */
const WEIRD: readonly unknown[] = [
  -1,
  0,
  1.5,
  63,
  1e9,
  2e9,
  1e308,
  -1e308,
  2 ** 53 + 2,
  100_000_000,
  NaN,
  Infinity,
  -Infinity,
  "512",
  "",
  "a;b=c",
  null,
  true,
  false,
  [],
  {},
  [1, 2],
  { a: 1 },
  512,
  64,
  16,
  "yarn",
  "\u0000",
  "x".repeat(10_000),
];

function mutateObject(rng: Prng, base: Record<string, unknown>, keys: readonly string[]) {
  if (rng.uniform() < 0.05) return pick(rng, [[], "config", 42, null, true]);
  const o: Record<string, unknown> = structuredClone(base);
  for (let ops = 1 + rng.int(3); ops > 0; ops--) {
    const r = rng.uniform();
    const key = pick(rng, [...Object.keys(o), ...keys]);
    if (r < 0.25) delete o[key];
    else if (r < 0.9) o[key] = pick(rng, WEIRD);
    else o[`unknown_${rng.int(100)}`] = pick(rng, WEIRD);
  }
  return o;
}

/** A message is "clear" when it names the input and is not a stack trace. */
function assertClear(e: unknown, name: string, cls: new (...a: never[]) => Error): void {
  assert.ok(e instanceof cls, `${name}: ${e instanceof Error ? e.stack : String(e)}`);
  assert.ok(e.message.startsWith(`${name}: `), e.message);
  assert.ok(e.message.length < 20_000, "bounded message");
  assert.ok(!/\n\s+at .*:\d+:\d+/.test(e.message), e.message);
}

Deno.test("fuzz: malformed configs give a spec or a ConfigError, never another exception", async () => {
  const rng = makePrng(16, "fuzz-configs");
  const bases = [
    await readFixture("hf_deepseek_v2_lite_config.json"),
    await readFixture("hf_deepseek_v3_config.json"),
    await readFixture("megatron_v2_lite_config.json"),
  ];
  const keys = [...new Set(bases.flatMap((b) => Object.keys(b)))];
  const t0 = performance.now();
  let rejected = 0;
  for (let i = 0; i < PER_KIND; i++) {
    const name = `fuzz-config-${i}`;
    const raw = mutateObject(rng, pick(rng, bases), keys);
    try {
      const spec = specFromConfig(raw, { name });
      for (const d of [spec.numHeads, spec.kvLoraRank, spec.kChannels, spec.vChannels]) {
        assert.ok(Number.isSafeInteger(d) && d > 0, `${name}: accepted a bad dimension ${d}`);
      }
    } catch (e) {
      assertClear(e, name, ConfigError);
      rejected++;
    }
  }
  assert.ok(rejected > PER_KIND / 2, `most mutations are malformed (${rejected})`);
  assert.ok(performance.now() - t0 < 10_000, "configs fuzzed within 10 s");
});

Deno.test("fuzz: malformed matrices give cases or a ConfigError; expansion stays lazy", async () => {
  const rng = makePrng(16, "fuzz-matrices");
  const smoke = JSON.parse(
    await Deno.readTextFile(new URL("../matrix/bundled/smoke.json", import.meta.url)),
  ) as { name: string; groups: Record<string, unknown>[] };
  const axes = ["preset", "heads", "path", "dtype", "b", "sq", "sk", "varlen", "layout"];
  const t0 = performance.now();
  let rejected = 0;
  for (let i = 0; i < PER_KIND; i++) {
    const name = `fuzz-matrix-${i}.json`;
    const m = structuredClone(smoke) as Record<string, unknown> & { groups: unknown[] };
    const r = rng.uniform();
    if (r < 0.1) m[pick(rng, ["name", "groups", "seed", "devices", "extra"])] = pick(rng, WEIRD);
    else {
      const gi = rng.int(m.groups.length);
      const g = mutateObject(rng, m.groups[gi] as Record<string, unknown>, ["axes", "exclude"]);
      if (rng.uniform() < 0.6 && g && typeof g === "object" && !Array.isArray(g)) {
        const a = (g as Record<string, unknown>).axes;
        (g as Record<string, unknown>).axes = mutateObject(
          rng,
          a && typeof a === "object" && !Array.isArray(a) ? a as Record<string, unknown> : {},
          axes,
        );
        // sometimes a long list, so the count limit is met
        if (rng.uniform() < 0.2) {
          ((g as Record<string, unknown>).axes as Record<string, unknown>)[pick(rng, ["b", "sk"])] =
            Array.from({ length: 1000 }, (_, k) => k + 1);
          ((g as Record<string, unknown>).axes as Record<string, unknown>).sq = Array.from(
            { length: 1000 },
            (_, k) => k + 1,
          );
        }
      }
      m.groups[gi] = g;
    }
    try {
      const file = validateMatrix(m, name);
      checkCaseCount(file, name);
      let n = 0;
      for (const c of iterateCases(file, name)) {
        assert.ok(!/[,=]/.test(String(c.params.preset)), c.id);
        if (++n >= 2000) break;
      }
    } catch (e) {
      assertClear(e, name, ConfigError);
      rejected++;
    }
  }
  assert.ok(rejected > PER_KIND / 3, `many mutations are malformed (${rejected})`);
  assert.ok(performance.now() - t0 < 10_000, "matrices fuzzed within 10 s");
});

Deno.test("fuzz: the JSON scanner agrees with JSON.parse on damaged text", async () => {
  const rng = makePrng(16, "fuzz-json");
  const text = await Deno.readTextFile(new URL("hf_deepseek_v3_config.json", FIXTURES));
  const junk = ['"', "{", "}", "[", "]", ",", ":", "\\", "\\u12", "-", "1e", "tru", "\n", "\u0001"];
  for (let i = 0; i < PER_KIND; i++) {
    let t = text;
    for (let ops = 1 + rng.int(3); ops > 0; ops--) {
      const at = rng.int(t.length + 1);
      const r = rng.uniform();
      if (r < 0.4) t = t.slice(0, at) + pick(rng, junk) + t.slice(at);
      else if (r < 0.7) t = t.slice(0, at) + t.slice(at + 1 + rng.int(8));
      else t = t.slice(0, at);
    }
    let parses = true;
    try {
      JSON.parse(t);
    } catch {
      parses = false;
    }
    const p = scanJson(t);
    assert.equal(p === null, parses, `scanner and JSON.parse disagree on ${JSON.stringify(t)}`);
    if (p) assert.ok(p.offset >= 0 && p.offset <= t.length && p.line >= 1 && p.column >= 1);
  }
});

/** A safetensors file of header text `h` and `buffer` bytes, claiming `claimed` bytes. */
function file(h: string, buffer: number, claimed?: number): Uint8Array {
  const bytes = new TextEncoder().encode(h);
  const out = new Uint8Array(8 + bytes.length + buffer);
  new DataView(out.buffer).setBigUint64(0, BigInt(claimed ?? bytes.length), true);
  out.set(bytes, 8);
  return out;
}

Deno.test("fuzz: malformed safetensors headers give a file or a SafetensorsError", async () => {
  const rng = makePrng(16, "fuzz-safetensors");
  const dtypes = ["F32", "F16", "BF16", "I64", "F8_E4M3", "F17", "", 4];
  const t0 = performance.now();
  let rejected = 0;
  for (let i = 0; i < PER_KIND; i++) {
    const name = `fuzz-${i}.safetensors`;
    const header: Record<string, unknown> = {};
    let offset = 0;
    for (let t = 0; t < 1 + rng.int(4); t++) {
      const shape = [1 + rng.int(4), 1 + rng.int(4)];
      const bytes = shape[0] * shape[1] * 4;
      header[`t${t}`] = { dtype: "F32", shape, data_offsets: [offset, offset + bytes] };
      offset += bytes;
    }
    if (rng.uniform() < 0.3) header.__metadata__ = { format: "pt" };
    // damage one entry or the metadata
    const victim = pick(rng, Object.keys(header));
    const entry = header[victim] as Record<string, unknown>;
    const field = pick(rng, ["dtype", "shape", "data_offsets", "format", "extra"]);
    entry[field] = field === "dtype" && rng.uniform() < 0.5
      ? pick(rng, dtypes)
      : field === "data_offsets" && rng.uniform() < 0.5
      ? [rng.int(offset + 8), rng.int(offset + 8)]
      : pick(rng, WEIRD);
    let h = JSON.stringify(header);
    const r = rng.uniform();
    if (r < 0.15) {
      h = h.replace(
        /^\{/,
        `{"${victim}": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}, `,
      );
    } else if (r < 0.25) h = h.slice(0, rng.int(h.length));
    const claimed = rng.uniform() < 0.1 ? rng.int(h.length * 2) : undefined;
    const buffer = rng.uniform() < 0.1 ? rng.int(offset + 1) : offset;
    try {
      const f = await SafetensorsFile.fromBytes(file(h, buffer, claimed), { source: name });
      for (const t of f.tensors.keys()) {
        await f.read(t).catch((e) => assertClear(e, name, SafetensorsError));
      }
    } catch (e) {
      assertClear(e, name, SafetensorsError);
      rejected++;
    }
  }
  assert.ok(rejected > PER_KIND / 3, `many headers are malformed (${rejected})`);
  assert.ok(performance.now() - t0 < 10_000, "safetensors fuzzed within 10 s");
});

/** Every file under `dir` with its size and modification time. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    for await (const e of Deno.readDir(d)) {
      const p = `${d}/${e.name}`;
      const s = await Deno.lstat(p);
      out.set(p, `${s.size}:${s.mtime?.getTime()}`);
      if (e.isDirectory) await walk(p);
    }
  };
  await walk(dir);
  return out;
}

Deno.test("fuzz through the CLI: exit 2, no stack trace, nothing touched outside --out", async () => {
  const rng = makePrng(16, "fuzz-cli");
  const dir = await Deno.makeTempDir();
  const repo = new URL("../", import.meta.url).pathname;
  try {
    const hf = await readFixture("hf_deepseek_v2_lite_config.json");
    const smoke = JSON.parse(
      await Deno.readTextFile(new URL("../matrix/bundled/smoke.json", import.meta.url)),
    ) as { groups: Record<string, unknown>[] };
    const runs: string[][] = [];
    for (let i = 0; i < 5; i++) {
      const cfg = `${dir}/config-${i}.json`;
      const bad = mutateObject(rng, hf, ["kv_lora_rank", "qk_rope_head_dim", "hidden_size"]);
      const text = i === 4 ? "root:x:0:0:root:/root:/bin/bash" : JSON.stringify(bad);
      await Deno.writeTextFile(cfg, text);
      runs.push(["explain", cfg]);
    }
    for (let i = 0; i < 6; i++) {
      const m = `${dir}/matrix-${i}.json`;
      const g = { ...smoke.groups[0] };
      g.axes = mutateObject(rng, g.axes as Record<string, unknown>, ["b", "sk", "preset", "dtype"]);
      // one value no axis accepts, so nothing runs on a device
      (g.axes as Record<string, unknown>)[pick(rng, ["b", "sk", "preset", "dtype"])] = pick(
        rng,
        [-1, 1e9, 1.5, [], {}, null, "a;b=c", true],
      );
      if (i === 5) g.axes = { preset: "../../../../../../../etc/passwd" };
      await Deno.writeTextFile(m, JSON.stringify({ name: "fuzz", groups: [g] }));
      runs.push(["run", "--matrix", m, "--out", `${dir}/out`, "--repeats", "0"]);
    }
    for (let i = 0; i < 3; i++) {
      const st = `${dir}/input-${i}.safetensors`;
      const h = i === 0
        ? '{"hidden_states": {"dtype": "F32", "shape": [1, 64], "data_offsets": [0, 256]}, ' +
          '"hidden_states": {"dtype": "F32", "shape": [1, 64], "data_offsets": [0, 256]}}'
        : i === 1
        ? '{"hidden_states": {"dtype": "F32", "shape": [1, 64], "data_offsets": [0, 9999]}}'
        : "not json";
      await Deno.writeFile(st, file(h, 256));
      runs.push(["layer", "--config", "tiny", "--input", st, "--out", `${dir}/out/y.safetensors`]);
    }
    await Deno.mkdir(`${dir}/out`);
    const before = await snapshot(dir);
    const repoBefore = [...Deno.readDirSync(repo)].map((e) => e.name).sort();
    for (const args of runs) {
      const r = await runCli(args);
      const what = `${args.join(" ")}\n${r.stderr}`;
      // explain may call a fuzzed config supported or unsupported (0 or 3): not a crash
      assert.ok([0, 2, 3].includes(r.code), `exit ${r.code}: ${what}`);
      if (args[0] !== "explain") assert.equal(r.code, 2, what);
      assert.ok(!/\n\s+at .*:\d+:\d+/.test(r.stderr), `stack trace: ${what}`);
      assert.ok(!/internal error/.test(r.stderr), what);
      assert.ok(!/root:x/.test(r.stdout + r.stderr), `file content quoted: ${what}`);
    }
    const after = await snapshot(dir);
    for (const [p, s] of after) {
      if (p.startsWith(`${dir}/out/`) || p === `${dir}/out`) continue;
      assert.equal(before.get(p), s, `${p} was created or changed`);
    }
    assert.deepEqual([...Deno.readDirSync(repo)].map((e) => e.name).sort(), repoBefore);
    assert.ok(runs.length <= 20);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
