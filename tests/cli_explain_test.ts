import assert from "node:assert/strict";
import { PRESET_NAMES } from "../adapter/presets.ts";
import { runCli, runCliInProcess } from "./helpers_cli.ts";

// What explain says is checked in this process (runCliInProcess: the program's runProgram,
// its output captured; a spawned `deno run main.ts` took about a second a command to start);
// the tests of exit 0, 3 and 2 with the words on stdout or stderr as the shell sees them,
// and the program's --help, spawn the CLI as a user runs it.

const caps = "tests/fixtures/caps_lavapipe.json";
const noF16 = "tests/fixtures/caps_no_f16.json";
const snapshotDir = new URL("./snapshots/", import.meta.url);
const update = Deno.env.get("UPDATE_SNAPSHOTS") === "1";

// Snapshot of `explain --json` for every preset on a fixed device description: any change in a
// derived value (scale, inverse frequencies, channels, plan, buffers) shows as a diff here.
// Refresh deliberately with UPDATE_SNAPSHOTS=1 and review the diff.
for (const preset of PRESET_NAMES) {
  Deno.test(`explain --json snapshot: ${preset}`, async () => {
    const r = await runCliInProcess(["explain", preset, "--json", "--caps", caps, "--seq-k", "64"]);
    assert.equal(r.code, 0, r.stderr);
    const file = new URL(`explain_${preset}.json`, snapshotDir);
    if (update) {
      await Deno.writeTextFile(file, r.stdout);
      return;
    }
    const want = JSON.parse(await Deno.readTextFile(file));
    assert.deepEqual(JSON.parse(r.stdout), want);
  });
}

Deno.test("explain: supported exits 0 and prints the plan", async () => {
  const r = await runCli(["explain", "deepseek-v2-lite", "--caps", caps]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /softmax scale 0\.114721 = m\^2 \/ sqrt\(192\)/);
  assert.match(r.stdout, /plan: wgsl-absorbed-gemm \(requested auto\)/);
  assert.match(r.stdout, /values pass: 16 output vec4s per invocation, no key split/);
});

Deno.test("explain: the gemm values pass's key splits and their buffer", async () => {
  const r = await runCliInProcess([
    "explain",
    "deepseek-v2-lite",
    "--caps",
    caps,
    "--batch",
    "4",
    "--seq-k",
    "4096",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /values pass: 16 output vec4s per invocation, 4 key splits of 1024 keys \(summed by split_sum\.wgsl\)/,
  );
  // 4 splits x 4 tokens x 16 heads x 512 f32
  assert.match(r.stdout, /buffer x_value_parts: 524288 bytes/);
});

Deno.test("explain: unsupported exits 3 with every reason", async () => {
  const r = await runCli([
    "explain",
    "deepseek-v3",
    "--caps",
    noF16,
    "--dtype",
    "f16",
    // 4 x 32768 keys: V3's expanded K (6.4 GB in f16) over the fixture's 2 GiB maxBufferSize
    "--seq-k",
    "32768",
    "--batch",
    "4",
  ]);
  assert.equal(r.code, 3, r.stdout + r.stderr);
  assert.match(r.stdout, /unsupported \(auto\), because:/);
  // the missing feature, which every backend tried gives alike, said once and not per kernel
  assert.match(r.stdout, /backends tried: wgsl-absorbed-gemm, wgsl-absorbed, /);
  assert.equal(r.stdout.match(/^ {2}- \S*dtype\.f16-unavailable: /gm)?.length, 1, r.stdout);
  assert.match(r.stdout, /\n {2}- dtype\.f16-unavailable: /);
  assert.match(r.stdout, /wgsl-expanded:limits\.buffer-too-large/);
});

Deno.test("explain: a caps file's loop budget bounds the plan (splits, or unsupported)", async () => {
  const lavapipe = JSON.parse(await Deno.readTextFile(caps));
  const file = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(file, JSON.stringify({ ...lavapipe, loopIterationBudget: 5000 }));
  const auto = await runCliInProcess([
    "explain",
    "deepseek-v2-lite",
    "--caps",
    file,
    "--seq-k",
    "4096",
    "--backend",
    "wgsl-absorbed",
  ]);
  assert.equal(auto.code, 0, auto.stderr);
  assert.match(auto.stdout, /kv splits 4,/);
  const dense = await runCliInProcess([
    "explain",
    "deepseek-v2-lite",
    "--caps",
    file,
    "--seq-k",
    "4096",
    "--backend",
    "wgsl-expanded",
  ]);
  assert.equal(dense.code, 3, dense.stdout + dense.stderr);
  assert.match(dense.stdout, /device\.loop-budget/);
  await Deno.remove(file);
});

Deno.test("explain: thd with cu_seqlens and a Megatron config file", async () => {
  const r = await runCliInProcess([
    "explain",
    "tests/fixtures/megatron_v2_lite_config.json",
    "--layout",
    "thd",
    "--cu-seqlens",
    "0,5,12",
    "--caps",
    caps,
    "--json",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const e = JSON.parse(r.stdout);
  assert.equal(e.spec.source, "megatron");
  assert.deepEqual(e.resolution.layout.qPositions, [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 5, 6]);
});

Deno.test("explain: bad config file exits 2 naming the field, no stack trace", async () => {
  const path = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(
    path,
    JSON.stringify({
      hidden_size: 64,
      num_attention_heads: 4,
      q_lora_rank: null,
      kv_lora_rank: 32,
      qk_nope_head_dim: 16,
      qk_rope_head_dim: 63,
      v_head_dim: 16,
    }),
  );
  const r = await runCli(["explain", path, "--caps", caps]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /qk_rope_head_dim: 63 must be even/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  await Deno.remove(path);
});

Deno.test("explain: every defaulted RoPE/YaRN field is listed with its value (text)", async () => {
  const path = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(
    path,
    JSON.stringify({
      hidden_size: 64,
      num_attention_heads: 4,
      q_lora_rank: null,
      kv_lora_rank: 32,
      qk_nope_head_dim: 16,
      qk_rope_head_dim: 8,
      v_head_dim: 16,
      rope_scaling: { type: "yarn", factor: 40, mscale: 1 },
    }),
  );
  try {
    const r = await runCliInProcess(["explain", path, "--caps", caps]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /config read as hf; RoPE from rope_theta \+ rope_scaling \(transformers 4\)/,
    );
    for (
      const line of [
        "defaulted rope_theta = 10000",
        "defaulted rope_scaling.original_max_position_embeddings = 4096",
        "defaulted rope_scaling.beta_fast = 32",
        "defaulted rope_scaling.beta_slow = 1",
        "defaulted rope_scaling.mscale_all_dim = 0 (0: the softmax scale gets no m^2 factor)",
        "defaulted rms_norm_eps = 0.000001",
        'defaulted rope_pairing = "interleaved"',
      ]
    ) assert.ok(r.stdout.includes(line), `missing "${line}" in:\n${r.stdout}`);
    assert.doesNotMatch(r.stdout, /defaulted rope_scaling\.mscale =/); // it was given
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("explain: rope_parameters and rope_scaling that disagree exit 2 naming both", async () => {
  const raw = JSON.parse(await Deno.readTextFile("tests/fixtures/hf_deepseek_v3_config.json"));
  const path = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(
    path,
    JSON.stringify({
      ...raw,
      rope_parameters: { rope_type: "yarn", rope_theta: 10000, factor: 32 },
    }),
  );
  try {
    const r = await runCliInProcess(["explain", path, "--caps", caps]);
    assert.equal(r.code, 2, r.stdout);
    assert.match(r.stderr, /rope_parameters\.factor: 32 disagrees with rope_scaling\.factor 40/);
    assert.match(
      r.stderr,
      /rope_parameters\.mscale_all_dim: 0 disagrees with rope_scaling\.mscale_all_dim 1/,
    );
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("explain: a huge dimension exits 2 at once with the bound (issue 16)", async () => {
  const path = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(
    path,
    JSON.stringify({
      hidden_size: 64,
      num_attention_heads: 4,
      q_lora_rank: null,
      kv_lora_rank: 32,
      qk_nope_head_dim: 16,
      qk_rope_head_dim: 100000000,
      v_head_dim: 16,
    }),
  );
  try {
    const r = await runCliInProcess(["explain", path, "--caps", caps]);
    assert.equal(r.code, 2, r.stdout);
    assert.match(r.stderr, /qk_rope_head_dim: 100000000 must be at most 65536/);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("explain: bad layout and bad usage exit 2", async () => {
  const a = await runCliInProcess([
    "explain",
    "tiny",
    "--layout",
    "thd",
    "--cu-seqlens",
    "0,5,3",
    "--caps",
    caps,
  ]);
  assert.equal(a.code, 2);
  // the flags named, not the layout request's fields (it read "cuSeqlensQ[2]", "kvLens",
  // "(1)" for --batch, and a length list's example was the offsets' 0,5,12)
  assert.match(a.stderr, /--cu-seqlens\[2\]: 3 must be >= the previous offset 5/);
  const lens = await runCliInProcess(["explain", "tiny", "--kv-lens", "5,6", "--caps", caps]);
  assert.equal(lens.code, 2);
  assert.match(
    lens.stderr,
    /--kv-lens: \[5,6\] must list one key length per sequence \(--batch 1\)/,
  );
  assert.doesNotMatch(lens.stderr, /kvLens/);
  const over = await runCliInProcess([
    ...["explain", "tiny", "--kv-lens", "5,9", "--batch", "2", "--seq-k", "8", "--caps", caps],
  ]);
  assert.equal(over.code, 2);
  assert.match(over.stderr, /--kv-lens\[1\]: 9 must be an integer in \[0, --seq-k=8\]/);
  const word = await runCliInProcess(["explain", "tiny", "--kv-lens", "5,x"]);
  assert.equal(word.code, 2);
  assert.match(word.stderr, /expected a list like 64,40 \(one length per sequence\)/);
  const b = await runCliInProcess(["explain", "tiny", "--cu-seqlens", "0,x"]);
  assert.equal(b.code, 2);
  assert.match(b.stderr, /"x" \(entry 1\) is not a non-negative integer/);
  const c = await runCliInProcess(["explain", "tiny", "--layout", "thd", "--caps", caps]);
  assert.equal(c.code, 2);
  assert.match(c.stderr, /--layout thd needs --cu-seqlens/);
  const d = await runCliInProcess(["explain", "tiny", "--dtype", "bf16"]);
  assert.equal(d.code, 2);
  assert.match(d.stderr, /Allowed choices are f32, f16/);
  const e = await runCliInProcess(["explain", "no-such-preset"]);
  assert.equal(e.code, 2);
  assert.match(e.stderr, /presets: deepseek-v2-lite/);
});

Deno.test("--help works on the program and on every command", async () => {
  const root = await runCli(["--help"]);
  assert.equal(root.code, 0);
  assert.match(root.stdout, /Exit codes/);
  // the codes every command may give: 4 and 130/143 were not named; then merge's 4 and
  // baseline update's 130/143 were left out
  const text = root.stdout.replace(/\s+/g, " ");
  assert.match(
    text,
    /4 a run, merge or layer --plant-fault fault not caught; 130 and 143 stopped by SIGINT \(Ctrl-C\) and SIGTERM \(run, bench, compare-runtimes, baseline update, upgrade-check\)/,
  );
  const update = (await runCliInProcess(["baseline", "update", "--help"])).stdout.replace(
    /\s+/g,
    " ",
  );
  // exit 3 was not named, and what to do after it (update takes no --resume)
  assert.match(
    update,
    /3 no adapter, repeated device losses or case timeouts, or a full disk \(no baseline written: run the update again, it takes no --resume\)/,
  );
  const commands = [...root.stdout.matchAll(/^ {2}([a-z-]+) \[options\]/gm)].map((m) => m[1]);
  assert.ok(commands.includes("explain"), root.stdout);
  for (const c of commands) {
    const r = await runCliInProcess([c, "--help"]);
    assert.equal(r.code, 0, c);
    assert.match(r.stdout, new RegExp(`Usage: mla-harness ${c}`));
  }
});

Deno.test("explain --backend auto:<path>: the path's device-class choice and why; an unknown auto form is exit 2", async () => {
  const r = await runCliInProcess([
    "explain",
    "deepseek-v2-lite",
    "--caps",
    caps,
    "--seq-q",
    "256",
    "--seq-k",
    "256",
    "--backend",
    "auto:expanded",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /plan: wgsl-expanded-gemm \(requested auto:expanded\)/);
  // The expanded gemm kernel's values pass: its columns, and no key splits to report.
  assert.match(r.stdout, /values pass: 4 output vec4s per invocation\n/);
  assert.match(
    r.stdout,
    /auto:expanded: device class cpu .* and prefill: wgsl-expanded-gemm first/,
  );
  const bad = await runCliInProcess(["explain", "deepseek-v2-lite", "--backend", "auto:dense"]);
  assert.equal(bad.code, 2, bad.stdout + bad.stderr);
  assert.match(
    bad.stderr,
    /"auto:dense" is not a registered backend; .*auto:absorbed, auto:expanded/,
  );
});

Deno.test("explain: wgsl-absorbed-gemm names its packed f16 textures (the query's stays f32)", async () => {
  const args = ["explain", "deepseek-v2-lite", "--backend", "wgsl-absorbed-gemm", "--caps", caps];
  const f16 = await runCliInProcess([...args, "--dtype", "f16"]);
  assert.equal(f16.code, 0, f16.stdout + f16.stderr);
  assert.match(
    f16.stdout,
    /^ {2}latent cache: read through an rgba32uint texture of 72 x \d+ texels \(f16 rows packed two vec4s of halves per texel; 1 row per texture row\)/m,
  );
  // The absorbed query is f32 in every dtype (q_nope W_UK can pass f16's 65504): unpacked.
  assert.match(f16.stdout, /^ {2}absorbed query: read through an rgba32float texture of 144 x /m);
  const f32 = await runCliInProcess([...args, "--dtype", "f32"]);
  assert.match(f32.stdout, /^ {2}latent cache: read through an rgba32float texture of 144 x /m);
  // The gemm kernels bind their textures read-only as storage textures.
  for (const out of [f16.stdout, f32.stdout]) {
    assert.match(out, /^ {2}latent cache: .*, bound as a read-only storage texture, copied by/m);
  }
});

Deno.test("explain: wgsl-expanded says whether it reads K and V through textures or buffers", async () => {
  const args = ["explain", "deepseek-v2-lite", "--backend", "wgsl-expanded", "--seq-k", "4096"];
  const tex = await runCliInProcess([...args, "--caps", caps]);
  assert.equal(tex.code, 0, tex.stdout + tex.stderr);
  // 4096 keys x 16 heads = 65536 rows over the fixture's 16384-texel side: 4 per texture row.
  const shape = "texels \\(4 rows per texture row\\)";
  assert.match(
    tex.stdout,
    new RegExp(`^ {2}K: read through an rgba32float texture of 192 x 16384 ${shape}`, "m"),
  );
  assert.match(
    tex.stdout,
    new RegExp(`^ {2}V: read through an rgba32float texture of 128 x 16384 ${shape}`, "m"),
  );
  // A decode binds them as read-only storage textures, a prefill as sampled ones.
  assert.match(tex.stdout, /^ {2}K: .*, bound as a read-only storage texture, copied by/m);
  const prefill = await runCliInProcess([...args, "--seq-q", "8", "--caps", caps]);
  assert.equal(prefill.code, 0, prefill.stdout + prefill.stderr);
  assert.match(prefill.stdout, /^ {2}K: .*, bound as a sampled texture, copied by/m);
  assert.match(prefill.stdout, /^ {2}V: .*, bound as a sampled texture, copied by/m);
  // The decode's d loops: one vec4 per trip at 4096 keys; past what the caps file's loop
  // budget allows that way (12320 keys, adapter_resolve_test.ts counts why), 4.
  assert.match(tex.stdout, /^ {2}decode d loops: 1 vec4 per trip \(one fetch per key per trip\)$/m);
  // One sequence, one query, 16 heads: two workgroups of 8 heads, and the line says why.
  assert.match(tex.stdout, /workgroup 8, heads\/tile 8, kv splits 1, queries\/tile 1$/m);
  assert.match(
    tex.stdout,
    /^ {2}heads\/tile 8 of 16: tiles of up to 16 heads would make the whole grid one workgroup/m,
  );
  const two = await runCliInProcess([...args, "--batch", "2", "--caps", caps]);
  assert.match(two.stdout, /workgroup 16, heads\/tile 16, kv splits 1, queries\/tile 1$/m);
  assert.doesNotMatch(two.stdout, /heads\/tile 16 of/);
  assert.doesNotMatch(prefill.stdout, /heads\/tile \d+ of/);
  assert.doesNotMatch(prefill.stdout, /decode d loops/);
  const long = await runCliInProcess([...args.slice(0, -1), "16384", "--caps", caps]);
  assert.equal(long.code, 0, long.stdout + long.stderr);
  assert.match(
    long.stdout,
    /^ {2}decode d loops: 4 vec4s per trip \(one fetch per trip would run over the device's loop budget\)$/m,
  );
  // A caps file whose textures are 8 texels a side: no texture holds them.
  const lavapipe = JSON.parse(await Deno.readTextFile(caps));
  const file = await Deno.makeTempFile({ suffix: ".json" });
  const limits = { ...lavapipe.limits, maxTextureDimension2D: 8 };
  await Deno.writeTextFile(file, JSON.stringify({ ...lavapipe, limits }));
  const buf = await runCliInProcess([...args, "--caps", file]);
  await Deno.remove(file);
  assert.equal(buf.code, 0, buf.stdout + buf.stderr);
  assert.match(buf.stdout, /^ {2}K, V: storage buffers, bound per group of sequences/m);
  assert.doesNotMatch(buf.stdout, /read through/);
});

Deno.test("explain says where the passes around the attention read w_kv_b: textures on a cpu-class device, buffers on a GPU", async () => {
  const gpuCaps = "docs/gpu_machine/h100-2026-11-27/devices.json";
  for (
    const [path, who] of [["absorbed", "q absorption, up-projection"], [
      "expanded",
      "K/V expansion",
    ]]
  ) {
    const cpu = await runCliInProcess([
      "explain",
      "tiny",
      "--caps",
      caps,
      "--backend",
      `auto:${path}`,
    ]);
    assert.equal(cpu.code, 0, cpu.stderr);
    assert.match(cpu.stdout, new RegExp(`${who} \\(.*\\): reads .*w_kv_b through textures`));
    assert.match(cpu.stdout, /w_kv_b: read through an rgba32float texture of 8 x 128 texels/);
    const gpu = await runCliInProcess([
      "explain",
      "tiny",
      "--caps",
      gpuCaps,
      "--backend",
      `auto:${path}`,
    ]);
    assert.equal(gpu.code, 0, gpu.stderr);
    assert.match(gpu.stdout, new RegExp(`${who} \\(.*\\): reads .*w_kv_b from storage buffers`));
    if (path === "absorbed") {
      // and which kernels: the split forms on a GPU, the one-invocation walks elsewhere
      assert.match(cpu.stdout, /\(absorb_q\.wgsl, up_proj\.wgsl\)/);
      assert.doesNotMatch(cpu.stdout, /_split\.wgsl|absorption split|up-projection split/);
      assert.match(gpu.stdout, /\(absorb_q_split\.wgsl, up_proj_split\.wgsl\)/);
      assert.match(
        gpu.stdout,
        /^ {2}q absorption split: 4 rows x 32 output vec4s a workgroup of 128, 4 lane groups splitting the nope channels/m,
      );
      assert.match(
        gpu.stdout,
        /^ {2}up-projection split: 4 tokens x 16 channels a workgroup of 256, 32 lanes splitting the latent width$/m,
      );
    }
  }
});
