/**
 * The `layer` command end to end: safetensors written by another writer
 * (tests/fixtures/safetensors/make_fixtures.py) in, safetensors out (read back by
 * this reader and, when python3 exists, by the Python one), exit codes 0/1/2/3,
 * and an output that only ever appears whole.
 */
import assert from "node:assert/strict";
import { LayerUnsupportedError } from "../kernels/layer.ts";
import { encodeSafetensors, SafetensorsFile } from "../weights/safetensors.ts";
import { currentBackend } from "../drift/device_key.ts";
import { type GpuNeeds, ignoreReason, nameWithReason } from "./gpu_helpers.ts";
import { runCli, runTinyLayer } from "./helpers_cli.ts";

const F = new URL("./fixtures/safetensors/", import.meta.url).pathname;
/** The backend this process uses (the harness's choice unless the user set one). */
const VK = { DENO_WEBGPU_BACKEND: currentBackend() };

function cliTest(name: string, fn: () => Promise<void>, needs: GpuNeeds = {}): void {
  const reason = ignoreReason(needs);
  Deno.test({ name: nameWithReason(name, reason), ignore: reason !== null, fn });
}

async function tmp(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "mla-layer-cli-" });
}

cliTest(
  "layer: Python-written weights (layer 3, BF16/F16/F32) and BSHD input, parity passes",
  async () => {
    const dir = await tmp();
    try {
      const out = `${dir}/y.safetensors`;
      // the temp file of a write of this output that a killed layer left: removed (it stayed
      // beside the output for good, as large as it); the listing at the end holds the output
      await Deno.writeTextFile(`${dir}/.y.safetensors.0a1b2c3d.tmp`, "half");
      const r = await runCli([
        "layer",
        "--config",
        "tiny",
        "--weights",
        `${F}tiny_layer3.safetensors`,
        "--input",
        `${F}tiny_input_bshd.safetensors`,
        "--out",
        out,
      ], VK);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(
        r.stdout,
        /layer tiny: 10 tokens in 2 sequences \(bshd\), path absorbed, dtype f32/,
      );
      assert.match(r.stdout, /model\.layers\.3\.self_attn\./);
      assert.match(r.stdout, /parity vs float64 reference \(10 of 10 rows\): PASS/);
      const f = await SafetensorsFile.open(out);
      try {
        assert.deepEqual(f.info("output").shape, [2, 5, 64]);
        assert.equal(f.info("output").dtype, "F32");
        assert.deepEqual(f.info("lse").shape, [10, 4]);
        const lse = await f.read("lse");
        assert.ok(lse.every((v) => Number.isFinite(v) && v > -10 && v < 10));
      } finally {
        f.close();
      }
      const py = await new Deno.Command("python3", {
        args: [`${F}make_fixtures.py`, "--check", out],
      }).output().catch(() => null);
      if (py) {
        assert.ok(py.success, new TextDecoder().decode(py.stderr));
        const s = JSON.parse(new TextDecoder().decode(py.stdout));
        assert.deepEqual(s.output.shape, [2, 5, 64]);
      }
      assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["y.safetensors"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

cliTest(
  "layer: bare self_attn. F16 weights, packed BF16 input with --cu-seqlens, f16 expanded",
  async () => {
    const dir = await tmp();
    try {
      const r = await runCli([
        "layer",
        "--config",
        "tiny-yarn",
        "--weights",
        `${F}tiny_yarn_bare.safetensors`,
        "--input",
        `${F}tiny_input_thd.safetensors`,
        "--cu-seqlens",
        "0,5,12",
        "--dtype",
        "f16",
        "--path",
        "expanded",
        "--out",
        `${dir}/y.safetensors`,
      ], VK);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /12 tokens in 2 sequences \(thd\), path expanded, dtype f16/);
      assert.match(r.stdout, /PASS/);
      // Checked against the reference of what the f16 layer stores (storedAs): seen on
      // lavapipe, out cos_diff 8.5e-8 (1.6e-7 against the plain float64 reference). The bound
      // sits between the two; another device's f16 arithmetic may need it moved, with a note.
      const cos = Number(/^ {2}out: .*?cos_diff ([^;]+);/m.exec(r.stdout)?.[1]);
      assert.ok(cos < 1.2e-7, `out cos_diff ${cos}:\n${r.stdout}`);
      const f = await SafetensorsFile.open(`${dir}/y.safetensors`);
      assert.deepEqual(f.info("output").shape, [12, 64]);
      f.close();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
  // f16 storage: the adapter decides whether this device has it (no shader-f16 on GL)
  {
    cases: [{
      spec: "tiny",
      dtype: "f16",
      backend: "wgsl-expanded",
      layout: { kind: "thd", cuSeqlensQ: [0, 5, 12], causal: true },
    }],
  },
);

cliTest(
  "layer: a planted fault fails the parity check (exit 1), one the inputs hide is named NOT caught (exit 4); --no-check skips it",
  async () => {
    const dir = await tmp();
    try {
      const base = [
        "layer",
        "--config",
        "tiny",
        "--input",
        `${F}tiny_input_bshd.safetensors`,
        "--out",
        `${dir}/y.safetensors`,
      ];
      const [bad, unchecked, unseen, pointless] = await Promise.all([
        runCli([...base, "--plant-fault", "kv-split-wrong-half", "--out", `${dir}/bad.st`], VK),
        runCli([...base, "--no-check", "--seed", "2", "--out", `${dir}/unchecked.st`], VK),
        // eps matters only where the mean square is near it: the fixture's activations hide it
        runCli([...base, "--plant-fault", "rmsnorm-no-eps"], VK),
        runCli([...base, "--plant-fault", "kv-split-wrong-half", "--no-check"], VK),
      ]);
      assert.equal(bad.code, 1, bad.stdout + bad.stderr);
      assert.match(bad.stdout, /weights random \(seed 1\), planted fault kv-split-wrong-half/);
      assert.match(bad.stdout, /: FAIL\n {2}out: .*FAILED/);
      assert.doesNotMatch(bad.stdout, /NOT caught/);
      // exit 0 read as a caught fault to a CI self-test: 4, as run --plant-fault's
      assert.equal(unseen.code, 4, unseen.stdout + unseen.stderr);
      assert.match(unseen.stdout, /: PASS\n/);
      assert.match(
        unseen.stdout,
        /planted fault rmsnorm-no-eps NOT caught on these inputs: it shows with small activations/,
      );
      assert.equal(pointless.code, 2, pointless.stdout + pointless.stderr);
      assert.match(
        pointless.stderr,
        /--plant-fault kv-split-wrong-half .* --no-check skips the check/,
      );
      assert.equal(pointless.stdout, "");
      assert.equal(unchecked.code, 0, unchecked.stdout + unchecked.stderr);
      assert.match(unchecked.stdout, /parity: not checked \(--no-check\)/);
      // the output says what made it and whether it was checked (it named the config, path,
      // backend and dtype only: a FAILed or unchecked output read like a checked one)
      const meta = async (name: string) => {
        const f = await SafetensorsFile.open(`${dir}/${name}`);
        try {
          return f.metadata;
        } finally {
          f.close();
        }
      };
      const [badMeta, uncheckedMeta] = [await meta("bad.st"), await meta("unchecked.st")];
      assert.match(badMeta?.check ?? "", /^FAIL \(\d+ of \d+ token rows\)$/);
      assert.equal(badMeta?.planted_fault, "kv-split-wrong-half");
      assert.equal(badMeta?.weights, "random (seed 1)");
      assert.equal(badMeta?.input, `${F}tiny_input_bshd.safetensors`);
      assert.equal(uncheckedMeta?.check, "not checked (--no-check)");
      assert.equal(uncheckedMeta?.weights, "random (seed 2)");
      assert.equal(uncheckedMeta?.planted_fault, undefined);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

cliTest(
  "layer: --backend decides the path; an explicit --path of the other is exit 2, and the output names the path that ran",
  async () => {
    const dir = await tmp();
    try {
      const base = ["layer", "--config", "tiny", "--input", `${F}tiny_input_bshd.safetensors`];
      const [ran, clash] = await Promise.all([
        runCli([...base, "--backend", "wgsl-expanded", "--out", `${dir}/y.safetensors`], VK),
        runCli([
          ...base,
          "--backend",
          "wgsl-expanded",
          "--path",
          "absorbed",
          "--out",
          `${dir}/z.safetensors`,
        ], VK),
      ]);
      assert.equal(ran.code, 0, ran.stdout + ran.stderr);
      assert.match(ran.stdout, /path expanded, dtype f32/);
      const f = await SafetensorsFile.open(`${dir}/y.safetensors`);
      try {
        // Before: the --path default (absorbed), whatever the backend ran.
        assert.equal(f.metadata?.path, "expanded");
      } finally {
        f.close();
      }
      assert.equal(clash.code, 2, clash.stdout + clash.stderr);
      assert.match(
        clash.stderr,
        /--path absorbed contradicts --backend wgsl-expanded, which runs the expanded path; drop --path/,
      );
      assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["y.safetensors"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("layer: bad input exits 2 naming the tensor or field, expected and found; no output", async () => {
  const dir = await tmp();
  try {
    const out = `${dir}/y.safetensors`;
    const truncated = `${dir}/cut.safetensors`;
    const bytes = await Deno.readFile(`${F}tiny_input_bshd.safetensors`);
    await Deno.writeFile(truncated, bytes.slice(0, bytes.length - 100));
    const run = (args: string[]) => runCli(["layer", "--out", out, ...args], VK);
    const [wrongSpec, layer4, cu, noCu, missing, cut, hiddenWidth] = await Promise.all([
      run([
        "--config",
        "tiny-yarn",
        "--weights",
        `${F}tiny_layer3.safetensors`,
        "--input",
        `${F}tiny_input_bshd.safetensors`,
      ]),
      run([
        "--config",
        "tiny",
        "--weights",
        `${F}tiny_layer3.safetensors`,
        "--layer",
        "4",
        "--input",
        `${F}tiny_input_bshd.safetensors`,
      ]),
      run([
        "--config",
        "tiny",
        "--input",
        `${F}tiny_input_thd.safetensors`,
        "--cu-seqlens",
        "0,5,11",
      ]),
      run(["--config", "tiny", "--input", `${F}tiny_input_thd.safetensors`]),
      run(["--config", "tiny", "--input", `${F}tiny_layer3.safetensors`]),
      run(["--config", "tiny", "--input", truncated]),
      run(["--config", "deepseek-v2-lite", "--input", `${F}tiny_input_bshd.safetensors`]),
    ]);
    for (const r of [wrongSpec, layer4, cu, noCu, missing, cut, hiddenWidth]) {
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.doesNotMatch(r.stderr, /internal error|at .*\.ts:\d+/);
    }
    assert.match(wrongSpec.stderr, /tensors do not match tiny-yarn/);
    assert.match(
      wrongSpec.stderr,
      /model\.layers\.3\.self_attn\.q_a_proj\.weight: \(missing\) missing: expected shape \[24, 64\], found none/,
    );
    assert.match(
      wrongSpec.stderr,
      /model\.layers\.3\.self_attn\.q_proj\.weight: \[96,64\] unexpected for tiny-yarn \(low-rank q path\)/,
    );
    // said once, with the layers the file holds (each tensor was listed as missing)
    assert.match(
      layer4.stderr,
      /--layer: 4 names a layer whose attention the file does not hold; it holds the attention of layer 3 \(model\.layers\.N\.self_attn\.\*\)/,
    );
    assert.doesNotMatch(layer4.stderr, /\(missing\) missing/);
    assert.match(
      cu.stderr,
      // the input file named (it named the tensor alone)
      /--cu-seqlens 0,5,11: the last offset is 11, expected the token count 12 of \S*tiny_input_thd\.safetensors: hidden_states \[12, 64\]/,
    );
    assert.match(
      noCu.stderr,
      /hidden_states has shape \[12, 64\]: a packed \[tokens, hidden\] input needs --cu-seqlens/,
    );
    assert.match(
      missing.stderr,
      /no tensor "hidden_states" \(expected shape \[batch, seq, 64\] or \[tokens, 64\]\); found "model\.layers\.3/,
    );
    assert.match(
      cut.stderr,
      /cut\.safetensors: tensor "hidden_states": data_offsets \[0, 2560\] lie outside the byte buffer/,
    );
    assert.match(
      hiddenWidth.stderr,
      /hidden_states has shape \[2, 5, 64\]; expected \[batch, seq, 2048\] \(hidden_size of deepseek-v2-lite/,
    );
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["cut.safetensors"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("layer: an input with bytes no tensor covers, or a BOM before its header, is exit 2", async () => {
  const dir = await tmp();
  try {
    const out = `${dir}/y.safetensors`;
    const bytes = await Deno.readFile(`${F}tiny_input_bshd.safetensors`);
    const trailing = `${dir}/trailing.safetensors`;
    await Deno.writeFile(trailing, new Uint8Array([...bytes, ...new Uint8Array(64)]));
    // the same file with EF BB BF before its header (header length + 3)
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const bom = new Uint8Array(bytes.length + 3);
    new DataView(bom.buffer).setBigUint64(0, BigInt(n + 3), true);
    bom.set([0xef, 0xbb, 0xbf], 8);
    bom.set(bytes.subarray(8), 11);
    await Deno.writeFile(`${dir}/bom.safetensors`, bom);
    const run = (input: string) =>
      runCli(["layer", "--config", "tiny", "--input", input, "--out", out], VK);
    const [t, b] = await Promise.all([run(trailing), run(`${dir}/bom.safetensors`)]);
    for (const r of [t, b]) {
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.doesNotMatch(r.stderr, /internal error|at .*\.ts:\d+/);
    }
    const size = bytes.length - 8 - n;
    assert.ok(
      t.stderr.includes(
        `trailing.safetensors: bytes [${size}, ${size + 64}) of the byte buffer (file bytes ` +
          `[${bytes.length}, ${bytes.length + 64})) belong to no tensor (after tensor ` +
          `"hidden_states")`,
      ),
      t.stderr,
    );
    assert.match(b.stderr, /bom\.safetensors: header starts with a UTF-8 byte order mark/);
    assert.deepEqual(
      [...Deno.readDirSync(dir)].map((e) => e.name).sort(),
      ["bom.safetensors", "trailing.safetensors"],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("layer: no adapter exits 3 with the fix", async () => {
  const dir = await tmp();
  try {
    const r = await runCli([
      "layer",
      "--config",
      "tiny",
      "--input",
      `${F}tiny_input_bshd.safetensors`,
      "--out",
      `${dir}/y.safetensors`,
    ], { DENO_WEBGPU_BACKEND: "dx12" });
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.match(r.stderr, /DENO_WEBGPU_BACKEND=vulkan/);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("layer --help: its exit codes list 4, the --plant-fault the check did not catch", async () => {
  // --plant-fault's own text said "NOT caught, exit 4" while the command's exit codes
  // stopped at 3
  const r = await runCli(["layer", "--help"]);
  assert.equal(r.code, 0);
  const help = r.stdout.replace(/\s+/g, " ");
  assert.match(help, /Exit codes: .* 3 no adapter, .*, 4 a --plant-fault the check did not catch/);
});

Deno.test("LayerUnsupportedError says a reason every backend gave once, and keeps them all", () => {
  const spec = { code: "spec.longrope-factors", message: "the spec's list is not the keys'" };
  const dtype = { code: "dtype.f16-unavailable", message: "no shader-f16" };
  const e = new LayerUnsupportedError([spec, dtype, spec]);
  assert.equal(
    e.message,
    "the layer is unsupported here: the spec's list is not the keys'; no shader-f16",
  );
  assert.equal(e.reasons.length, 3);
});

Deno.test("layer: an input tensor that would say where the tokens sit (positions, a mask, lengths) or the keys before them (past_key_value) is exit 2 naming it", async () => {
  const dir = await tmp();
  try {
    const hidden = {
      dtype: "F32" as const,
      shape: [1, 4, 64],
      data: Array.from({ length: 256 }, (_, i) => Math.sin(i)),
    };
    await Deno.writeFile(
      `${dir}/x.safetensors`,
      encodeSafetensors({
        hidden_states: hidden,
        position_ids: { dtype: "F32", shape: [1, 4], data: [100, 101, 102, 103] },
        cu_seqlens: { dtype: "F32", shape: [3], data: [0, 1, 4] },
        // a captured decode step's cache: the tokens would run with no keys before them
        past_key_value: { dtype: "F32", shape: [1, 2, 40], data: Array(80).fill(0.5) },
        // any other tensor is not about the layout: left alone
        expected_output: hidden,
      }),
    );
    const r = await runTinyLayer(dir, [], VK);
    // before: run as one sequence at positions 0..3, PASS, exit 0
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /x\.safetensors: "position_ids", "cu_seqlens", "past_key_value" would be ignored: the layer reads only "hidden_states", each sequence at positions 0, 1, \.\.\. with a causal mask and no keys cached before it/,
    );
    assert.doesNotMatch(r.stderr, /expected_output/);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["x.safetensors"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

cliTest(
  "layer: the parity lines' positions name the output's [batch, seq, hidden] and the LSE's [token, head]",
  async () => {
    // with a subsample they counted the compared rows: "at [2,4]" of an output [2, 5, 64]
    const dir = await tmp();
    try {
      const out = `${dir}/y.safetensors`;
      const r = await runCli([
        "layer",
        "--config",
        "tiny",
        "--input",
        `${F}tiny_input_bshd.safetensors`,
        "--out",
        out,
        "--check-rows",
        "4",
      ], VK);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /\(4 of 10 rows; first\/last token of each sequence included\)/);
      const f = await SafetensorsFile.open(out);
      try {
        for (const [name, strides] of [["output", [320, 64, 1]], ["lse", [4, 1]]] as const) {
          const label = name === "output" ? "out" : "lse";
          const m = r.stdout.match(
            new RegExp(`${label}: max abs err (\\S+) at \\[([\\d,]+)\\] \\(got (\\S+),`),
          );
          assert.ok(m, r.stdout);
          const at = m[2].split(",").map(Number);
          assert.equal(at.length, strides.length, `${label} at [${at}]`);
          const flat = at.reduce((s, v, i) => s + v * strides[i], 0);
          const data = await f.read(name);
          // got is printed to digits that show the error: within a tenth of it
          const [err, got] = [Number(m[1]), Number(m[3])];
          assert.ok(Math.abs(data[flat] - got) <= err / 10, `${label} at [${at}]: ${data[flat]}`);
        }
      } finally {
        f.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
