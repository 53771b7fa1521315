/**
 * `layer` on hostile inputs: NaN or infinite values in hidden_states or in a weight (the
 * GPU and the float64 reference both give NaN there, and a NaN matches a NaN: before the
 * fix a PASS, exit 0), a folder as --input or --weights (an OS error with a stack trace),
 * and a --seed too large to be exact. Each is exit 2 naming the file, tensor or flag,
 * before the GPU is touched, and no output is written.
 */
import assert from "node:assert/strict";
import { encodeSafetensors, SafetensorsFile, type TensorToWrite } from "../weights/safetensors.ts";
import { nonFiniteAt } from "../weights/hf_names.ts";
import { openWeights } from "../weights/sharded.ts";
import { runCli, runTinyLayer } from "./helpers_cli.ts";

const F = new URL("./fixtures/safetensors/", import.meta.url).pathname;

/** The fixture's tensors with `name`'s element `at` replaced by `value`. */
async function withValue(
  src: string,
  name: string,
  at: number,
  value: number,
): Promise<Uint8Array> {
  const f = await SafetensorsFile.open(src);
  try {
    const tensors: Record<string, TensorToWrite> = {};
    for (const [n, t] of f.tensors) {
      const data = await f.read(n);
      if (n === name) data[at] = value;
      tensors[n] = { dtype: t.dtype as "F32" | "F16" | "BF16", shape: t.shape, data };
    }
    return encodeSafetensors(tensors);
  } finally {
    f.close();
  }
}

Deno.test("nonFiniteAt: counts NaN and ±Infinity and gives the first multi-index", () => {
  assert.equal(nonFiniteAt(new Float32Array([1, 2, 3]), [3]), null);
  assert.deepEqual(nonFiniteAt(new Float32Array([0, 1, 2, 3, Infinity, NaN]), [2, 3]), {
    count: 2,
    index: [1, 1],
    value: Infinity,
  });
});

Deno.test("layer: NaN/Infinity in the input or a weight, a folder, a huge --seed: exit 2, no output", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla-layer-hostile-" });
  try {
    const input = `${F}tiny_input_bshd.safetensors`;
    const weights = `${F}tiny_layer3.safetensors`;
    // hidden_states [2, 5, 64]: element 5 * 64 + 7 is [1, 0, 7]
    await Deno.writeFile(
      `${dir}/nan_in.safetensors`,
      await withValue(input, "hidden_states", 5 * 64 + 7, NaN),
    );
    await Deno.writeFile(
      `${dir}/inf_in.safetensors`,
      await withValue(input, "hidden_states", 3, -Infinity),
    );
    // q_proj.weight [96, 64] (BF16): element 64 + 2 is [1, 2]
    const q = "model.layers.3.self_attn.q_proj.weight";
    await Deno.writeFile(`${dir}/nan_w.safetensors`, await withValue(weights, q, 64 + 2, NaN));
    // beyond f16's range, with --dtype f16: infinite once stored (the run died after the GPU
    // work with "a value beyond f16's range ... from this input or these weights")
    await Deno.writeFile(`${dir}/big_w.safetensors`, await withValue(weights, q, 64 + 2, -1e5));
    await Deno.writeFile(
      `${dir}/big_in.safetensors`,
      await withValue(input, "hidden_states", 64 + 9, 70000),
    );
    await Deno.mkdir(`${dir}/folder`);
    // JSON given as a file: --input was told to give a sharded checkpoint's index, which
    // only --weights takes; --weights under a .safetensors name still is
    await Deno.writeTextFile(`${dir}/x.json`, '{"hidden_states": [1, 2]}');
    await Deno.writeTextFile(`${dir}/w.safetensors`, '{"weight_map": {}}');
    const out = `${dir}/y.safetensors`;
    const run = (args: string[]) => runCli(["layer", "--config", "tiny", "--out", out, ...args]);
    const f16 = ["--dtype", "f16"];
    const [nanIn, infIn, nanW, folderIn, folderW, seed, bigW, bigIn, jsonIn, jsonW] = await Promise
      .all([
        run(["--input", `${dir}/nan_in.safetensors`]),
        run(["--input", `${dir}/inf_in.safetensors`]),
        run(["--input", input, "--weights", `${dir}/nan_w.safetensors`]),
        run(["--input", `${dir}/folder`]),
        run(["--input", input, "--weights", `${dir}/folder`]),
        run(["--input", input, "--seed", "1e30"]),
        run(["--input", input, "--weights", `${dir}/big_w.safetensors`, ...f16]),
        run(["--input", `${dir}/big_in.safetensors`, ...f16]),
        run(["--input", `${dir}/x.json`]),
        run(["--input", input, "--weights", `${dir}/w.safetensors`]),
      ]);
    for (const r of [nanIn, infIn, nanW, folderIn, folderW, seed, bigW, bigIn, jsonIn, jsonW]) {
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.doesNotMatch(r.stderr, /internal error|at .*\.ts:\d+/);
      assert.doesNotMatch(r.stdout, /PASS/);
    }
    assert.match(
      nanIn.stderr,
      /nan_in\.safetensors: hidden_states holds 1 non-finite value, the first NaN at \[1, 0, 7\]; the layer's input must be finite/,
    );
    assert.match(
      infIn.stderr,
      /hidden_states holds 1 non-finite value, the first -Infinity at \[0, 0, 3\]/,
    );
    assert.match(
      nanW.stderr,
      /nan_w\.safetensors: tensor "model\.layers\.3\.self_attn\.q_proj\.weight" holds 1 non-finite value, the first NaN at \[1, 2\]; layer weights must be finite/,
    );
    assert.match(folderIn.stderr, /folder: is a folder; give a \.safetensors file/);
    assert.match(folderW.stderr, /folder: is a folder; give a \.safetensors file/);
    assert.match(seed.stderr, /--seed <n>.*"1e30" is not an integer >= 0 \(and below 2\^53\)/);
    assert.match(
      bigW.stderr,
      /big_w\.safetensors: tensor "model\.layers\.3\.self_attn\.q_proj\.weight" holds 1 value beyond f16's range \(\|x\| <= 65504\), the first -99840 at \[1, 2\]; --dtype f16 stores it as f16, where it is infinite: use --dtype f32/,
    );
    assert.match(
      bigIn.stderr,
      /big_in\.safetensors: hidden_states holds 1 value beyond f16's range \(\|x\| <= 65504\), the first 70000 at \[0, 1, 9\]/,
    );
    assert.match(
      jsonIn.stderr,
      /x\.json: is JSON text \(it starts "\{"hidden_states": \[1, 2\]\}"\), not a safetensors file\n/,
    );
    assert.doesNotMatch(jsonIn.stderr, /index/);
    assert.match(
      jsonW.stderr,
      /w\.safetensors: is JSON text .*; a sharded checkpoint is given by its index, whose name ends in \.json/,
    );
    assert.deepEqual((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort(), [
      "big_in.safetensors",
      "big_w.safetensors",
      "folder",
      "inf_in.safetensors",
      "nan_in.safetensors",
      "nan_w.safetensors",
      "w.safetensors",
      "x.json",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a pipe or a device is refused as not a regular file (a FIFO blocked the first read forever)", async () => {
  await assert.rejects(
    () => SafetensorsFile.open("/dev/null"),
    /\/dev\/null: is not a regular file \(a pipe, socket or device\)/,
  );
  const dir = await Deno.makeTempDir({ prefix: "mla-fifo-" });
  try {
    const fifo = `${dir}/x.safetensors`;
    const made = await new Deno.Command("mkfifo", { args: [fifo] }).output().catch(() => null);
    if (made?.success) {
      // nothing writes to it: before, this open never returned
      await assert.rejects(() => SafetensorsFile.open(fifo), /is not a regular file/);
    }
    // a sharded checkpoint's index as a FIFO: its read blocked forever too
    const index = `${dir}/model.safetensors.index.json`;
    const madeIndex = await new Deno.Command("mkfifo", { args: [index] }).output()
      .catch(() => null);
    if (madeIndex?.success) {
      await assert.rejects(
        () => openWeights(index),
        /model\.safetensors\.index\.json: is not a regular file \(a pipe, socket or device\)/,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("layer: a packed input of no tokens is exit 2 (was 3, unsupported)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla-empty-thd-" });
  try {
    await Deno.writeFile(
      `${dir}/x.safetensors`,
      encodeSafetensors({ hidden_states: { dtype: "F32", shape: [0, 64], data: [] } }),
    );
    const r = await runTinyLayer(dir, ["--cu-seqlens", "0,0"]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /hidden_states has shape \[0, 64\]; with --cu-seqlens expected \[tokens, 64\] \(hidden_size of tiny, tokens >= 1\)/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a header number with a fraction or exponent is refused (JSON.parse read 1024.0 as 1024; serde refuses it)", async () => {
  const file = (header: string) => {
    const h = new TextEncoder().encode(header);
    const bytes = new Uint8Array(8 + h.length + 16);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(h.length), true);
    bytes.set(h, 8);
    return bytes;
  };
  const ok = '{"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}';
  assert.ok(await SafetensorsFile.fromBytes(file(ok), { source: "ok" }));
  for (
    const [bad, token] of [[ok.replace("16]", "16.0]"), "16.0"], [
      ok.replace("[4]", "[4e0]"),
      "4e0",
    ]]
  ) {
    await assert.rejects(
      () => SafetensorsFile.fromBytes(file(bad), { source: "h.safetensors" }),
      new RegExp(
        `h\\.safetensors: header number ${
          token.replace(".", "\\.")
        } \\(byte \\d+ of the file\\) is not a plain integer`,
      ),
    );
  }
  // a number inside a string (a tensor name, metadata) is text, not a number
  const named =
    '{"__metadata__":{"v":"1.5e3"},"x.1.0":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}';
  assert.ok(await SafetensorsFile.fromBytes(file(named), { source: "named" }));
});
