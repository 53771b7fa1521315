/**
 * The barrier check (kernels/workgroup_hazards.ts) on classic, correct compute kernels written
 * as a user would (tests/fixtures/wgsl_classic/): each compiles with naga, has no finding, and
 * with each of its barriers removed in turn (a string edit) is reported. A false report here
 * would fail `deno task harness compile` and warn in every run of a user's backend.
 */
import assert from "node:assert/strict";
import { barrierCheck, compileCheck } from "../kernels/compile_check.ts";
import { workgroupHazards } from "../kernels/workgroup_hazards.ts";
import { GpuContext } from "../gpu/device.ts";
import { HAS_ADAPTER } from "./gpu_helpers.ts";

const DIR = new URL("./fixtures/wgsl_classic/", import.meta.url);

/** A barrier to remove, by the text that follows it on its line, and what must then be found. */
interface Removal {
  /** Unique text of the barrier's line after `workgroupBarrier();` (its comment). */
  readonly line: string;
  /** A substring of one finding's message. */
  readonly finding: string;
}

/** Each kernel and every one of its barriers; each is needed, so each removal is reported. */
const KERNELS: Record<string, readonly Removal[]> = {
  "reduce_tree.wgsl": [
    { line: "every slot is loaded", finding: "write of sums[lid] (line 18) reaches the read" },
    {
      line: "all reads of this step are done",
      finding: "read of sums[lid + stride] (line 23) reaches the write of sums[lid] (line 27)",
    },
    { line: "this step's writes are seen", finding: "around the back edge of the loop" },
  ],
  "reduce_tree_marked.wgsl": [
    // The marked line is exempt from the load it meets without a barrier (the mark covers
    // conflicts not carried around a loop, so a write before the loop too): the removal is
    // still reported, through the final `m[0]` read only (docs/backends.md, limits).
    {
      line: "every slot is loaded",
      finding: "write of m[lid] (line 18) reaches the read of m[0] (line 27)",
    },
    {
      line: "this step's writes are seen",
      finding: "write of m[lid] (line 22) reaches the read of m[lid + stride] (line 22), around",
    },
  ],
  "matmul_tiled.wgsl": [
    {
      line: "both tiles are complete",
      finding: "write of tb[lid.y][lid.x] (line 26) reaches the read of tb[k][lid.x] (line 29)",
    },
    {
      line: "every read of this tile is done",
      finding: "read of ta[lid.y][k] (line 29) reaches the write of ta[lid.y][lid.x] (line 25)",
    },
  ],
  "transpose_padded.wgsl": [
    {
      line: "",
      finding: "write of tile[lid.y][lid.x] (line 20) reaches the read of tile[lid.x][lid.y]",
    },
  ],
  "scan_hillis_steele.wgsl": [
    { line: "the block is loaded", finding: "reaches the read of x[lid - offset] (line 19)" },
    {
      line: "every read of this step precedes",
      finding: "read of x[lid - offset] (line 19) reaches the write of x[lid] (line 22)",
    },
    { line: "the step's sums are seen", finding: "around the back edge of the loop at line 16" },
  ],
  "softmax_row.wgsl": [
    { line: "outside the `if`", finding: "around the back edge of the loop at line 13" },
    {
      line: "every partial maximum",
      finding: "write of red[lid] (line 29) reaches the read of red[0] (line 32)",
    },
    {
      line: "everyone has read red[0]",
      finding: "read of red[0] (line 32) reaches the write of red[lid] (line 38)",
    },
    {
      line: "every partial sum",
      finding: "write of red[lid] (line 38) reaches the read of red[0] (line 41)",
    },
  ],
  "histogram.wgsl": [
    {
      line: "no increment may land",
      finding: "atomic store of bins[lid] (line 19) reaches the atomic update of bins[values[i]",
    },
    {
      line: "every increment of this workgroup",
      finding: "reaches the atomic load of bins[lid] (line 25)",
    },
  ],
};

async function source(name: string): Promise<string> {
  return await Deno.readTextFile(new URL(name, DIR));
}

/** The source with the barrier whose line continues with `after` removed (it must be one). */
function withoutBarrier(src: string, after: string): string {
  const lines = src.split("\n");
  const at = lines.flatMap((l, i) =>
    l.includes(`workgroupBarrier();${after ? " // " + after : ""}`) ? [i] : []
  );
  assert.equal(at.length, 1, `one barrier followed by ${JSON.stringify(after)}`);
  lines[at[0]] = lines[at[0]].replace("workgroupBarrier();", "");
  return lines.join("\n");
}

Deno.test("classic kernels: every barrier of each is listed for removal", async () => {
  for (const [name, removals] of Object.entries(KERNELS)) {
    const count = (await source(name)).split("workgroupBarrier();").length - 1;
    assert.equal(removals.length, count, name);
  }
});

Deno.test("classic kernels: the barrier check finds nothing in any specialization", async () => {
  for (const name of Object.keys(KERNELS)) {
    const src = await source(name);
    assert.deepEqual(workgroupHazards(src), [], name);
    const { findings, skipped } = barrierCheck(name, src, ["f32", "f16"]);
    assert.deepEqual(findings, [], name);
    assert.equal(skipped, null, name);
  }
});

Deno.test("classic kernels: each barrier removed is reported", async () => {
  for (const [name, removals] of Object.entries(KERNELS)) {
    const src = await source(name);
    for (const r of removals) {
      const messages = workgroupHazards(withoutBarrier(src, r.line)).map((h) => h.message);
      assert.ok(
        messages.some((m) => m.includes(r.finding)),
        `${name} without the barrier "${r.line}": ${JSON.stringify(messages)}`,
      );
    }
  }
});

Deno.test("classic kernels: the tree reductions' one-barrier step needs its @no-race mark", async () => {
  for (const name of ["reduce_tree_marked.wgsl", "softmax_row.wgsl"]) {
    const unmarked = (await source(name)).replace(/ \/\/ @no-race: [^\n]*/, "");
    const messages = workgroupHazards(unmarked).map((h) => h.message);
    assert.equal(messages.length, 1, name);
    assert.match(messages[0], /read of \w+\[lid \+ stride\] .* reaches the write of \w+\[lid\]/);
  }
});

Deno.test({
  name: "classic kernels compile with naga",
  ignore: !HAS_ADAPTER,
  async fn() {
    const ctx = await GpuContext.create();
    try {
      const files = Object.keys(KERNELS).map((n) => new URL(n, DIR).pathname);
      const checks = await compileCheck(ctx, { files, dtypes: ["f32"] });
      assert.equal(checks.length, files.length);
      for (const c of checks) assert.ok(c.ok, `${c.file}: ${c.message}`);
    } finally {
      ctx.destroy();
    }
  },
});
