/**
 * tools/asm_loops.ts: loops found by their back edges and counted by kind on a listing made
 * here, its command line's errors, and (where lavapipe, RADV and cc exist) the FA2 prefill's
 * compiled loops held to the shape session 34 gave them: a score chunk of pure FMAs and a
 * values pass of one LDS load per four rows.
 */
import assert from "node:assert/strict";
import { asmLoops, formatAsmLoops } from "../tools/asm_loops.ts";
import { runTool } from "./helpers_cli.ts";
import { spirvAuditSkip } from "./gpu_helpers.ts";
import { radvSkip } from "./helpers_spirv.ts";

/** Two nested loops (BB1..BB3 holds BB2..BB2) and a loop-free tail. */
const LISTING = [
  "== NIR (skipped)",
  "BB99:",
  "\tv_fmac_f32_e32 v0, v1, v2 ; not assembly yet: before the section",
  "== Assembly",
  "BB0:",
  "\ts_mov_b32 s0, 0                 ; bf800000",
  "BB1:",
  "\tds_write_b128 v1, v[4:7]",
  "\ts_barrier",
  "BB2:",
  "\tds_read_b128 v[8:11], v1",
  "\tv_fmac_f32_e32 v0, v8, v9",
  "\tv_fma_f32 v2, v8, v9, v2",
  "\ts_cbranch_scc0 BB2",
  "BB3:",
  "\tglobal_load_dwordx4 v[4:7], v[12:13], off",
  "\tv_exp_f32_e32 v3, v3",
  "\ts_cbranch_vccnz BB1",
  "BB4:",
  "\ts_endpgm",
  "",
].join("\n");

Deno.test("asmLoops: each back edge is a loop, its body's instructions counted by kind", () => {
  const loops = asmLoops(LISTING);
  assert.deepEqual(loops, [
    {
      head: "BB1",
      tail: "BB3",
      instructions: 9,
      fma: 2,
      ldsLoads: 1,
      ldsStores: 1,
      barriers: 1,
      globalLoads: 1,
      exp: 1,
    },
    {
      head: "BB2",
      tail: "BB2",
      instructions: 4,
      fma: 2,
      ldsLoads: 1,
      ldsStores: 0,
      barriers: 0,
      globalLoads: 0,
      exp: 0,
    },
  ]);
  const table = formatAsmLoops(loops, 11);
  assert.match(table, /^\| BB1\.\.BB3 \| 9 \| 2 \| 1 \| 1 \| 1 \| 1 \| 1 \|$/m);
  assert.match(table, /^11 instructions in the listing/m);
  assert.deepEqual(asmLoops("BB0:\n\ts_endpgm\n"), [], "no back edge, no loop");
  assert.throws(() => asmLoops("not a listing"), /no assembly blocks \(BBn:\)/);
});

Deno.test("asm_loops: the table for a file; a missing or foreign file is exit 2, named", async () => {
  const dir = await Deno.makeTempDir({ prefix: "asm_loops_" });
  try {
    await Deno.writeTextFile(`${dir}/k.txt`, LISTING);
    const ok = await runTool("asm_loops.ts", [`${dir}/k.txt`]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^\| BB2\.\.BB2 \| 4 \| 2 \| 1 \| 0 \| 0 \| 0 \| 0 \|$/m);
    assert.match(ok.stdout, /^11 instructions in the listing/m);
    const missing = await runTool("asm_loops.ts", [`${dir}/nope.txt`]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^asm_loops: cannot read .*nope\.txt/);
    await Deno.writeTextFile(`${dir}/x.json`, "{}");
    const foreign = await runTool("asm_loops.ts", [`${dir}/x.json`]);
    assert.equal(foreign.code, 2);
    assert.match(foreign.stderr, /x\.json: no assembly blocks .*is it a --radv-ir listing\?/);
    const none = await runTool("asm_loops.ts", []);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /give one assembly file\n\nusage:/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const skip = (await spirvAuditSkip()) ?? (await radvSkip());
Deno.test({
  name: "the FA2 prefill on RADV navi21 (V2-Lite f32, gpu-class): a score chunk of 6 columns " +
    "(lavapipe's 32 KiB) is 384 fmas and 2 barriers in under 1.75 instructions a fma (its " +
    "staging included); the values pass of a whole " +
    "tile is 64 fmas and 5 LDS loads a key" + (skip ? ` (ignored: ${skip})` : ""),
  ignore: skip !== null,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "asm_loops_fa2_" });
    try {
      const args = ["--backend", "wgsl-expanded-tiled", "--shape", "prefill", "--keep", dir];
      const r = await runTool("spirv_audit.ts", [
        ...args,
        "--radv",
        "navi21",
        "--radv-ir",
        "--json",
      ]);
      assert.equal(r.code, 0, r.stderr);
      const modules =
        (JSON.parse(r.stdout) as { modules: { file: string; entryPoints: string[] }[] })
          .modules;
      const fa2 = modules.find((m) => m.entryPoints.includes("expanded_fa2"));
      assert.ok(fa2, r.stdout);
      const loops = asmLoops(await Deno.readTextFile(`${dir}/${fa2.file}.navi21.txt`));
      const table = formatAsmLoops(loops, 0);
      // The chunk loop: two barriers (staged, then read), the 6 unrolled columns' fmas (the
      // plan's chunk at lavapipe's 32 KiB since session 36; 12 before). Before session 34
      // (chunks of 4 columns, a dot product and an add per key) it held 48 fmas in 247
      // instructions, and 12 of it ran per key tile.
      const chunk = loops.find((l) => l.barriers === 2 && l.fma > 0);
      assert.ok(chunk, table);
      assert.equal(chunk.fma, 6 * 64, table);
      // Its staging is in it too (loads, then stores, unrolled): 642 instructions here. With
      // the staged chunks indexed flat (before session 36) every LDS load had its own
      // clamped address: 754 at these 6 columns (1.96 a fma; 1446 at 12).
      assert.ok(chunk.instructions < 1.75 * chunk.fma, table);
      // The whole tile's values pass: per key 4 rows x 4 value vec4s of fmas, the 4 rows' p in
      // one LDS load and the 4 value vec4s in four: 94 instructions (112 with a clamped flat
      // index a value vec4; before session 33: 261 instructions, 12 LDS loads, no fma).
      const values = loops.find((l) => l.fma === 64 && l.barriers === 0);
      assert.ok(values, table);
      assert.equal(values.ldsLoads, 5, table);
      assert.ok(values.instructions <= 100, table);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/**
 * The lines of a listing's blocks `head` .. `tail` (inclusive), by their labels.
 */
function blockLines(listing: string, head: string, tail: string): string[] {
  const lines = listing.slice(listing.indexOf("== Assembly")).split("\n");
  const start = lines.findIndex((l) => l.startsWith(`${head}:`));
  const last = lines.findIndex((l) => l.startsWith(`${tail}:`));
  const end = lines.findIndex((l, i) => i > last && /^BB\d+:/.test(l));
  return lines.slice(start, end < 0 ? undefined : end);
}

/** Listings already compiled in this module, by backend, shape and entry. */
const listings = new Map<string, Promise<string>>();

/**
 * Compiles `backend`'s plan (V2-Lite f32, gpu-class) on RADV navi21; its entry's listing.
 * Compiled once per module: three tests read the tiled decode's.
 */
function radvListing(backend: string, shape: string, entry: string): Promise<string> {
  const key = `${backend} ${shape} ${entry}`;
  let p = listings.get(key);
  if (!p) {
    p = compileRadvListing(backend, shape, entry);
    listings.set(key, p);
  }
  return p;
}

async function compileRadvListing(backend: string, shape: string, entry: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "asm_loops_waits_" });
  try {
    const r = await runTool("spirv_audit.ts", [
      ...["--backend", backend, "--shape", shape, "--keep", dir],
      ...["--radv", "navi21", "--radv-ir", "--json"],
    ]);
    assert.equal(r.code, 0, r.stderr);
    const modules = (JSON.parse(r.stdout) as { modules: { file: string; entryPoints: string[] }[] })
      .modules;
    const m = modules.find((x) => x.entryPoints.includes(entry));
    assert.ok(m, r.stdout);
    return await Deno.readTextFile(`${dir}/${m.file}.navi21.txt`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "RADV navi21 issues the kernels' global loads together: the FA2 chunk's staging has no " +
    "loop of its own, and the tiled decode's tile loop waits for all its loads at most 3 times" +
    (skip ? ` (ignored: ${skip})` : ""),
  ignore: skip !== null,
  fn: async () => {
    // FA2: staged a trip at a time (load, store, next), each load was waited for alone:
    // before session 34's staging change the chunk loop held the staging loops.
    const fa2 = asmLoops(await radvListing("wgsl-expanded-tiled", "prefill", "expanded_fa2"));
    const chunk = fa2.find((l) => l.barriers === 2 && l.fma > 0);
    assert.ok(chunk, formatAsmLoops(fa2, 0));
    const index = (name: string) => Number(name.slice(2));
    const inner = fa2.filter((l) =>
      l !== chunk && index(l.head) >= index(chunk.head) && index(l.tail) <= index(chunk.tail)
    );
    assert.deepEqual(inner, [], formatAsmLoops(fa2, 0));
    // The decode: with the tile fetched one ahead loaded inside a branch, each of its ten
    // loads was followed by `s_waitcnt vmcnt(0)` (11 in the tile loop); branch-free, 3.
    const listing = await radvListing("wgsl-absorbed-tiled", "decode", "absorbed_tiled");
    const loops = asmLoops(listing);
    const tile = loops.find((l) => l.barriers >= 4);
    assert.ok(tile, formatAsmLoops(loops, 0));
    const waits = blockLines(listing, tile.head, tile.tail)
      .filter((l) => /s_waitcnt[^;]*vmcnt\(0\)/.test(l)).length;
    assert.ok(waits <= 3, `${waits} full memory waits in the tile loop`);
  },
});

Deno.test({
  name: "the tiled decode on RADV navi21 (V2-Lite f32, gpu-class): the partial scores take two " +
    "keys a trip in at most 150 instructions, with their LDS loads at immediate offsets; the " +
    "pair sums read 15 or fewer LDS loads in at most 100" + (skip ? ` (ignored: ${skip})` : ""),
  ignore: skip !== null,
  fn: async () => {
    const listing = await radvListing("wgsl-absorbed-tiled", "decode", "absorbed_tiled");
    const loops = asmLoops(listing);
    const table = formatAsmLoops(loops, 0);
    // Two keys of 9 chunks: 18 LDS loads and 2 x 9 x 4 fmas (RADV counts the first of each
    // chain as a multiply). One key a trip with the key tile indexed flat (before session
    // 36): 99 instructions a key, each load after an add, a min and a shift of its own.
    const scores = loops.find((l) => l.ldsLoads === 18 && l.barriers === 0);
    assert.ok(scores, table);
    assert.ok(scores.instructions <= 150, table);
    const lines = blockLines(listing, scores.head, scores.tail);
    const offsets = lines.filter((l) => /ds_read_b128 [^;]*offset:\d+/.test(l)).length;
    assert.ok(offsets >= 16, `${offsets} of the 18 loads at an immediate offset\n${table}`);
    // The pair sums: 16 partials and the row limit; 136 instructions (17 loads) when the
    // partials were indexed flat.
    const pairs = loops.find((l) => l.ldsLoads >= 14 && l.ldsLoads <= 16 && l.fma === 0);
    assert.ok(pairs, table);
    assert.ok(pairs.instructions <= 100, table);
  },
});

Deno.test({
  name: "the tiled decode on RADV navi21 (V2-Lite f32, gpu-class): a whole tile's values run " +
    "unrolled in the tile loop itself, 8 keys x 32 fmas with each key's 3 LDS loads at immediate " +
    "offsets" + (skip ? ` (ignored: ${skip})` : ""),
  ignore: skip !== null,
  fn: async () => {
    const listing = await radvListing("wgsl-absorbed-tiled", "decode", "absorbed_tiled");
    const loops = asmLoops(listing);
    const table = formatAsmLoops(loops, 0);
    const tile = loops.find((l) => l.barriers >= 4);
    assert.ok(tile, table);
    // The tile loop's own lines: its blocks less those of the loops inside it.
    const index = (name: string) => Number(name.slice(2));
    const inner = loops.filter((l) =>
      l !== tile && index(l.head) >= index(tile.head) && index(l.tail) <= index(tile.tail)
    );
    const label = (l: string) => l.match(/^BB(\d+):/);
    let block = -1;
    const own = blockLines(listing, tile.head, tile.tail).filter((l) => {
      const m = label(l);
      if (m) block = Number(m[1]);
      return l.startsWith("\t") &&
        !inner.some((i) => block >= index(i.head) && block <= index(i.tail));
    });
    const count = (re: RegExp) => own.filter((l) => re.test(l)).length;
    // 8 keys x 8 rows x a value vec4 (session 37; before, every key was a trip of the rolled
    // loop: 80 instructions a key, 45 of them its bookkeeping, clamped indices and the mask,
    // and the tile loop's own lines held no fma).
    assert.equal(count(/v_fmac?_f32/), 8 * 8 * 4, table);
    const loads = count(/ds_read_b128/);
    assert.ok(loads >= 24, `${loads} 16-byte LDS loads\n${table}`);
    const offsets = count(/ds_read_b128 [^;]*offset:\d+/);
    assert.ok(offsets >= 22, `${offsets} of ${loads} at an immediate offset`);
    // 606 here: the unrolled form is 375 of them (47 a key, 43 of which its fmas, the rows'
    // sums and 3 loads); before it, 231.
    assert.ok(own.length <= 650, `${own.length} instructions of the tile loop's own`);
  },
});
