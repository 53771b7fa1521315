/**
 * A sharded checkpoint read through its model.safetensors.index.json: before the fix the
 * index given as --weights was read as a safetensors file ("header length 7017841271895827067
 * is larger than ..."), and a layer split across two shards could not be read at all (each
 * shard alone is missing tensors). Now the shards holding the picked layer are opened, the
 * read weights equal a single file's, and a hostile index (not JSON, no weight_map, a key
 * repeated, a shard outside the folder, a missing shard, a tensor its shard lacks) is one
 * error naming the index and the tensor; --out naming a shard is refused.
 */
import assert from "node:assert/strict";
import { presetSpec } from "../adapter/presets.ts";
import { makeLayerWeights } from "../reference/inputs.ts";
import { expectedTensors, loadLayerWeights } from "../weights/hf_names.ts";
import { encodeSafetensors, type TensorToWrite } from "../weights/safetensors.ts";
import { openWeights, parseShardIndex, ShardedSafetensors } from "../weights/sharded.ts";
import { SafetensorsError } from "../weights/errors.ts";
import { ConfigError } from "../adapter/errors.ts";
import { runCli } from "./helpers_cli.ts";
import { GOOD_HF } from "./config_helpers.ts";

const SPEC = presetSpec("tiny");
const S1 = "model-00001-of-00002.safetensors";
const S2 = "model-00002-of-00002.safetensors";

/** Layer 3 of `tiny` split across two shards (the first also holds layer 2's o_proj). */
async function writeSharded(dir: string): Promise<Record<string, string>> {
  const w = makeLayerWeights(SPEC, { seed: 5 });
  const a: Record<string, TensorToWrite> = {};
  const b: Record<string, TensorToWrite> = {};
  const map: Record<string, string> = {};
  expectedTensors(SPEC).forEach((t, i) => {
    const name = `model.layers.3.self_attn.${t.suffix}`;
    (i < 2 ? a : b)[name] = { dtype: "BF16", shape: t.shape, data: w[t.field]! };
    map[name] = i < 2 ? S1 : S2;
  });
  a["model.layers.2.self_attn.o_proj.weight"] = { dtype: "F32", shape: [1], data: [1] };
  map["model.layers.2.self_attn.o_proj.weight"] = S1;
  await Deno.writeFile(`${dir}/${S1}`, encodeSafetensors(a));
  await Deno.writeFile(`${dir}/${S2}`, encodeSafetensors(b));
  await Deno.writeFile(`${dir}/single.safetensors`, encodeSafetensors({ ...a, ...b }));
  await Deno.writeTextFile(
    `${dir}/model.safetensors.index.json`,
    JSON.stringify({ metadata: { total_size: 0 }, weight_map: map }),
  );
  return map;
}

/** The message of the ConfigError `p` rejects with. */
async function configDetail(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    return e.message;
  }
  return assert.fail("expected a ConfigError");
}

async function detail(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof SafetensorsError, `expected SafetensorsError, got ${e}`);
    return e.message;
  }
  return assert.fail("expected a SafetensorsError");
}

Deno.test("sharded: a layer split across two shards reads as the single file does", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla-sharded-" });
  try {
    await writeSharded(dir);
    const idx = `${dir}/model.safetensors.index.json`;
    await assert.rejects(() => ShardedSafetensors.open(idx), /--layer.*layers 2, 3/);
    const sharded = await openWeights(idx, { layer: 3 });
    const single = await openWeights(`${dir}/single.safetensors`);
    try {
      assert.ok(sharded instanceof ShardedSafetensors);
      assert.deepEqual(sharded.shards, [`${dir}/${S1}`, `${dir}/${S2}`]);
      assert.equal(sharded.fileOf("model.layers.3.self_attn.o_proj.weight"), `${dir}/${S2}`);
      const got = await loadLayerWeights(sharded, SPEC, { layer: 3 });
      const want = await loadLayerWeights(single, SPEC, { layer: 3 });
      for (const t of expectedTensors(SPEC)) {
        assert.deepEqual(got[t.field], want[t.field], t.suffix);
      }
      // a tensor that does not match the config is named with its shard, not the index alone
      const heads8 = { ...SPEC, numHeads: 8 };
      await assert.rejects(
        () => loadLayerWeights(sharded, heads8, { layer: 3 }),
        (e: Error) => {
          assert.match(
            e.message,
            /q_proj\.weight: .*wrong shape: expected \[192, 64\], found \[96, 64\]; in the config, dim 0 is num_attention_heads 8 x \(qk_nope_head_dim 16 \+ qk_rope_head_dim 8\) = 192 \(in .*00001-of-00002\.safetensors\)/,
          );
          assert.match(
            e.message,
            /o_proj\.weight: .*wrong shape: expected \[64, 128\], found \[64, 64\]; in the config, dim 1 is num_attention_heads 8 x v_head_dim 16 = 128 \(in .*00002-of-00002\.safetensors\)/,
          );
          return true;
        },
      );
      // a single file's issues are raised on the file itself: no "(in ...)"
      await assert.rejects(
        () => loadLayerWeights(single, heads8, { layer: 3 }),
        (e: Error) => !/\(in /.test(e.message) && /single\.safetensors/.test(e.message),
      );
    } finally {
      sharded.close();
      single.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** The index of writeSharded's checkpoint plus layer 3's indexer, mapped to a shard not there. */
async function withIndexerOnMissingShard(dir: string): Promise<string> {
  const index = JSON.parse(await Deno.readTextFile(`${dir}/model.safetensors.index.json`));
  for (const t of ["wq_b.weight", "wk.weight", "k_norm.weight", "weights_proj.weight"]) {
    index.weight_map[`model.layers.3.self_attn.indexer.${t}`] = "model-00003-of-00003.safetensors";
  }
  const path = `${dir}/sparse.index.json`;
  await Deno.writeTextFile(path, JSON.stringify(index));
  return path;
}

// DeepSeek-V3.2: a shard holding only the layer's indexer tensors (which a sparse config does
// not read) was opened, and a download without it failed as "cannot be read".
Deno.test("sharded: under a sparse config, a shard only the indexer's tensors map to is not opened", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla-sharded-" });
  try {
    await writeSharded(dir);
    const idx = await withIndexerOnMissingShard(dir);
    const w = await openWeights(idx, { layer: 3, sparse: true });
    try {
      assert.ok(w instanceof ShardedSafetensors);
      assert.deepEqual(w.shards, [`${dir}/${S1}`, `${dir}/${S2}`]);
      assert.ok(![...w.tensors.keys()].some((n) => n.includes(".indexer.")));
      const got = await loadLayerWeights(w, { ...SPEC, indexTopK: 16 }, { layer: 3 });
      assert.equal(got.oProj!.length, SPEC.hiddenSize * SPEC.numHeads * SPEC.vHeadDim);
    } finally {
      w.close();
    }
    // a dense config reads every tensor under the layer: the missing shard is still named
    assert.match(
      await detail(openWeights(idx, { layer: 3 })),
      /maps tensor "model\.layers\.3\.self_attn\.indexer\..*" to model-00003-of-00003\.safetensors, which cannot be read/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sharded: a hostile index is one error naming the index and the tensor", async () => {
  assert.match(
    await detail(Promise.resolve().then(() => parseShardIndex('{"weight_map": {', "i.json"))),
    /^i\.json: a sharded checkpoint's index must be JSON/,
  );
  // the byte of the file, not the text's index (2 short after "\u00e9\u00e9")
  assert.match(
    await detail(
      Promise.resolve().then(() =>
        parseShardIndex('{"weight_map": {"\u00e9\u00e9": "a.safetensors",}}', "i.json")
      ),
    ),
    /expected a property name in double quotes at byte 40\)/,
  );
  assert.match(
    await detail(Promise.resolve().then(() => parseShardIndex('{"a": 1}', "i.json"))),
    /is not a sharded checkpoint's index: expected \{"weight_map"/,
  );
  assert.match(
    await detail(
      Promise.resolve().then(() =>
        parseShardIndex('{"weight_map": {"x": "a.safetensors", "x": "b.safetensors"}}', "i.json")
      ),
    ),
    /index is ambiguous: key "x" appears more than once in weight_map \(byte 38\); each tensor may be mapped once$/,
  );
  // a ".." segment is refused by name, even one that stays inside the folder; an absolute path too
  for (
    const [file, why] of [["sub/../a.safetensors", 'no ".." segment'], [
      "/a.safetensors",
      "not an absolute path",
    ]]
  ) {
    assert.match(
      await detail(
        Promise.resolve().then(() => parseShardIndex(`{"weight_map": {"x": "${file}"}}`, "i.json")),
      ),
      new RegExp(`inside it \\(${why.replace(/[.]/g, "\\.")}\\)`),
    );
  }
  // a second weight_map is no tensor mapped twice
  assert.match(
    await detail(
      Promise.resolve().then(() =>
        parseShardIndex('{"weight_map": {}, "weight_map": {}}', "i.json")
      ),
    ),
    /key "weight_map" appears more than once in \(root\) \(byte 19\); each key may appear once \(a JSON reader keeps the last, hiding the first\)$/,
  );
  // a tensor or shard name with a control character is refused, escaped (printed as it was,
  // it reached the terminal)
  for (
    const [map, what] of [
      [{ "o_proj\u001b[2J": "a.safetensors" }, 'tensor name "o_proj\\\\u001b\\[2J" holds U\\+001B'],
      [{ o_proj: "a\n.safetensors" }, 'shard name "a\\\\u000a\\.safetensors" holds U\\+000A'],
    ] as const
  ) {
    assert.match(
      await detail(
        Promise.resolve().then(() =>
          parseShardIndex(JSON.stringify({ weight_map: map }), "i.json")
        ),
      ),
      new RegExp(`^i\\.json: weight_map: the ${what}, a control character .*; rename it$`),
    );
  }
  for (const shard of ["../a.safetensors", "/etc/a.safetensors", 3, ""]) {
    const text = JSON.stringify({ weight_map: { x: shard } });
    assert.match(
      await detail(Promise.resolve().then(() => parseShardIndex(text, "i.json"))),
      /weight_map\["x"\] (is|must be)/,
      String(shard),
    );
  }
  const dir = await Deno.makeTempDir({ prefix: "mla-sharded-" });
  try {
    const map = await writeSharded(dir);
    const idx = `${dir}/bad.index.json`;
    const o = "model.layers.3.self_attn.o_proj.weight";
    // a UTF-8 BOM is 3 bytes of the file: the byte named counts them (it was 3 short, the
    // decoder having dropped them), and a BOM'd index that is good opens
    const bom = new Uint8Array([0xef, 0xbb, 0xbf]);
    const withBom = (s: string) => new Uint8Array([...bom, ...new TextEncoder().encode(s)]);
    await Deno.writeFile(idx, withBom('{"weight_map": {"x": "a.safetensors",}}'));
    assert.match(await detail(openWeights(idx, { layer: 3 })), /at byte 40\)/);
    await Deno.writeFile(idx, withBom('{"weight_map": {"x": "a", "x": "b"}}'));
    assert.match(await detail(openWeights(idx, { layer: 3 })), /\(byte 29\)/);
    await Deno.writeFile(idx, withBom(JSON.stringify({ weight_map: map })));
    (await openWeights(idx, { layer: 3 })).close();
    // an index of no attention tensor was "0 tensors in the file ... or give a sharded
    // checkpoint's model.safetensors.index.json"
    await Deno.writeTextFile(idx, '{"weight_map": {}}');
    const empty = await configDetail(openWeights(idx, { layer: 3 }));
    assert.match(empty, /0 tensors in the index's weight_map \(it is empty\); give the index of/);
    await Deno.writeTextFile(idx, JSON.stringify({ weight_map: { "model.norm.weight": S1 } }));
    const other = await configDetail(openWeights(idx, { layer: 3 }));
    assert.match(other, /1 tensor in the index's weight_map, none an attention tensor/);
    for (const m of [empty, other]) assert.doesNotMatch(m, /in the file|give a sharded/);
    await Deno.writeTextFile(idx, JSON.stringify({ weight_map: { ...map, [o]: S1 } }));
    assert.match(
      await detail(openWeights(idx, { layer: 3 })),
      /bad\.index\.json: weight_map maps tensor "model\.layers\.3\.self_attn\.o_proj\.weight" to model-00001-of-00002\.safetensors, whose header has no such tensor; model-00002-of-00002\.safetensors holds it \(a stale index\?\): map it to model-00002-of-00002\.safetensors in weight_map$/,
    );
    // the shard holding it is found where the index sends none of the layer's tensors (it
    // named only "a stale index?", leaving the user to open each shard's header)
    const allInS1 = Object.fromEntries(
      Object.keys(map).map((k) => [k, k.startsWith("model.layers.3.") ? S1 : S2]),
    );
    await Deno.writeTextFile(idx, JSON.stringify({ weight_map: allInS1 }));
    assert.match(
      await detail(openWeights(idx, { layer: 3 })),
      /to model-00001-of-00002\.safetensors, whose header has no such tensor; model-00002-of-00002\.safetensors holds it/,
    );
    // no shard holds it: said so (an unreadable shard passed over)
    await Deno.writeTextFile(
      idx,
      JSON.stringify({ weight_map: { ...allInS1, "model.norm.weight": "absent.safetensors" } }),
    );
    await Deno.rename(`${dir}/${S2}`, `${dir}/${S2}.moved`);
    try {
      assert.match(
        await detail(openWeights(idx, { layer: 3 })),
        /whose header has no such tensor \(a shard of another checkpoint, or a stale index\?\), and no other shard the index names that could be read holds it$/,
      );
    } finally {
      await Deno.rename(`${dir}/${S2}.moved`, `${dir}/${S2}`);
    }
    await Deno.writeTextFile(
      idx,
      JSON.stringify({ weight_map: { ...map, [o]: "gone.safetensors" } }),
    );
    assert.match(
      await detail(openWeights(idx, { layer: 3 })),
      // the index and the tensor that sent the reader to the missing shard, then the shard
      /bad\.index\.json: weight_map maps tensor "model\.layers\.3\.self_attn\.o_proj\.weight" to gone\.safetensors, which cannot be read: .*gone\.safetensors: no such file/,
    );
    // A Hugging Face cache's snapshot link to a blob never written: "no such file" named
    // neither the link nor where it points
    await Deno.symlink("../blobs/0123abcd", `${dir}/linked.safetensors`);
    await Deno.writeTextFile(
      idx,
      JSON.stringify({ weight_map: { ...map, [o]: "linked.safetensors" } }),
    );
    assert.match(
      await detail(openWeights(idx, { layer: 3 })),
      /maps tensor "model\.layers\.3\.self_attn\.o_proj\.weight" to linked\.safetensors, which cannot be read: .*linked\.safetensors: is a symlink to \.\.\/blobs\/0123abcd, which does not exist \(a download that did not finish/,
    );
    await Deno.symlink("../blobs/4567", `${dir}/linked.index.json`);
    assert.match(
      await detail(openWeights(`${dir}/linked.index.json`)),
      /linked\.index\.json: is a symlink to \.\.\/blobs\/4567, which does not exist/,
    );
    assert.match(
      await detail(openWeights(`${dir}/gone.safetensors`)),
      /gone\.safetensors: no such file$/,
    );
    // The shards' headers and the index disagree: a tensor in two shards was read from the
    // one the index names, the other copy (maybe other values) ignored; one the index does
    // not map read as "missing: ... found none". Both are refused, naming shard and tensor.
    const w = makeLayerWeights(SPEC, { seed: 6 });
    const again: Record<string, TensorToWrite> = {};
    const againMap: Record<string, string> = { ...map };
    expectedTensors(SPEC).forEach((t, i) => {
      const name = `model.layers.3.self_attn.${t.suffix}`;
      // the second shard's tensors, and a second copy of q_proj (of other values)
      again[name] = { dtype: "F32", shape: t.shape, data: w[t.field]! };
      if (i >= 2) againMap[name] = "again.safetensors";
    });
    await Deno.writeFile(`${dir}/again.safetensors`, encodeSafetensors(again));
    await Deno.writeTextFile(idx, JSON.stringify({ weight_map: againMap }));
    assert.match(
      await detail(openWeights(idx, { layer: 3 })),
      /bad\.index\.json: tensor "model\.layers\.3\.self_attn\.q_proj\.weight" is in two shards: weight_map maps it to model-00001-of-00002\.safetensors, and again\.safetensors holds it too/,
    );
    const { [o]: _, ...unmapped } = map;
    await Deno.writeTextFile(idx, JSON.stringify({ weight_map: unmapped }));
    assert.match(
      await detail(openWeights(idx, { layer: 3 })),
      /bad\.index\.json: model-00002-of-00002\.safetensors holds tensor "model\.layers\.3\.self_attn\.o_proj\.weight" of the picked layer, and weight_map does not map it/,
    );
    // one shard spelled two ways is one shard
    const dotted = Object.fromEntries(
      Object.entries(map).map(([k, v], i) => [k, i % 2 ? `./${v}` : v]),
    );
    await Deno.writeTextFile(idx, JSON.stringify({ weight_map: dotted }));
    const once = await openWeights(idx, { layer: 3 });
    try {
      // each shard opened (and listed in the output's metadata) once, not once per spelling
      assert.ok(once instanceof ShardedSafetensors);
      assert.deepEqual(once.shards, [`${dir}/${S1}`, `${dir}/${S2}`]);
      assert.equal(new Set(once.allShards).size, once.allShards.length);
    } finally {
      once.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--weights <folder>: the message names the index or .safetensors file in it", async () => {
  // A checkpoint's folder was "is a folder; give a .safetensors file", with an index in it
  const dir = await Deno.makeTempDir({ prefix: "mla-sharded-" });
  try {
    const empty = `${dir}/empty`;
    const one = `${dir}/one`;
    await Deno.mkdir(empty);
    await Deno.mkdir(one);
    await Deno.writeFile(`${one}/model.safetensors`, encodeSafetensors({}));
    await writeSharded(dir);
    assert.match(
      await detail(openWeights(dir, { layer: 3 })),
      new RegExp(
        `is a folder; give the checkpoint's index in it: --weights ${dir}/model\\.safetensors\\.index\\.json$`,
      ),
    );
    assert.match(
      await detail(openWeights(one)),
      /is a folder; give the file in it: --weights .*one\/model\.safetensors$/,
    );
    assert.match(
      await detail(openWeights(empty)),
      /is a folder; give a \.safetensors file or a sharded checkpoint's index \(model\.safetensors\.index\.json\): the folder holds neither/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("layer --weights <index.json>: runs the split layer; --out naming a shard is exit 2", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla-sharded-" });
  try {
    await writeSharded(dir);
    await Deno.writeFile(
      `${dir}/x.safetensors`,
      encodeSafetensors({
        hidden_states: {
          dtype: "F32",
          shape: [1, 3, SPEC.hiddenSize],
          data: Array.from({ length: 3 * SPEC.hiddenSize }, (_, i) => Math.sin(i)),
        },
      }),
    );
    const args = (out: string) => [
      "layer",
      "--config",
      "tiny",
      "--weights",
      `${dir}/model.safetensors.index.json`,
      "--layer",
      "3",
      "--input",
      `${dir}/x.safetensors`,
      "--out",
      out,
    ];
    const shard = `${dir}/${S2}`;
    const before = await Deno.readFile(shard);
    const [ok, clobber] = await Promise.all([
      runCli(args(`${dir}/y.safetensors`)),
      runCli(args(shard)),
    ]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(
      ok.stdout,
      /weights .*model\.safetensors\.index\.json \(model\.layers\.3\.self_attn\.; shards .*00001-of-00002\.safetensors, .*00002-of-00002\.safetensors\)/,
    );
    assert.match(ok.stdout, /PASS/);
    assert.equal(clobber.code, 2, clobber.stdout + clobber.stderr);
    assert.match(
      clobber.stderr,
      /--out .* is the shard .*00002-of-00002\.safetensors of --weights/,
    );
    assert.deepEqual(await Deno.readFile(shard), before);

    // A shard of the checkpoint that holds another layer, and the --config file: inputs too
    // (both were overwritten, exit 0)
    const other = `${dir}/model-extra.safetensors`;
    await Deno.writeFile(
      other,
      encodeSafetensors({ "model.layers.4.mlp.w": { dtype: "F32", shape: [1], data: [1] } }),
    );
    const map = JSON.parse(await Deno.readTextFile(`${dir}/model.safetensors.index.json`));
    map.weight_map["model.layers.4.mlp.w"] = "model-extra.safetensors";
    await Deno.writeTextFile(`${dir}/more.index.json`, JSON.stringify(map));
    const cfg = `${dir}/config.json`;
    await Deno.writeTextFile(cfg, JSON.stringify(GOOD_HF));
    const extraBefore = await Deno.readFile(other);
    const [otherShard, config] = await Promise.all([
      runCli(
        args(other).map((a) =>
          a.endsWith("model.safetensors.index.json") ? `${dir}/more.index.json` : a
        ),
      ),
      runCli(["layer", "--config", cfg, "--input", `${dir}/x.safetensors`, "--out", cfg]),
    ]);
    // a sparse config (index_topk) is read without the indexer's shard (absent here)
    const sparseCfg = `${dir}/sparse_config.json`;
    await Deno.writeTextFile(sparseCfg, JSON.stringify({ ...GOOD_HF, index_topk: 16 }));
    const sparseIdx = await withIndexerOnMissingShard(dir);
    const sparse = await runCli(
      args(`${dir}/z.safetensors`).map((a) =>
        a.endsWith("model.safetensors.index.json") ? sparseIdx : a === "tiny" ? sparseCfg : a
      ),
    );
    assert.equal(sparse.code, 0, sparse.stdout + sparse.stderr);
    assert.match(sparse.stdout, /PASS/);
    assert.equal(otherShard.code, 2, otherShard.stdout + otherShard.stderr);
    assert.match(
      otherShard.stderr,
      /--out .* is the shard .*model-extra\.safetensors of --weights/,
    );
    assert.deepEqual(await Deno.readFile(other), extraBefore);
    assert.equal(config.code, 2, config.stdout + config.stderr);
    assert.match(config.stderr, /--out .*config\.json is the --config file/);
    assert.deepEqual(JSON.parse(await Deno.readTextFile(cfg)), GOOD_HF);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
