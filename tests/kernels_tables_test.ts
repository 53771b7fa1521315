/**
 * The work order of the CPU-shaped kernels' grids (kernels/tables.ts balancedOrder and
 * balancedTiles), GPU-free. Lavapipe gives each thread one contiguous run of a
 * dispatch's workgroups, so what counts is the work of every contiguous run: these
 * tests split an order into runs as the driver does and compare the heaviest run with
 * an even share.
 */
import assert from "node:assert/strict";
import { normalizeLayout } from "../adapter/layout.ts";
import { balancedOrder, balancedTiles, denseGroups, queryMeta } from "../kernels/tables.ts";

/** The heaviest of `threads` contiguous runs of `order` over an even share of the work. */
function worstRun(weights: readonly number[], order: readonly number[], threads: number): number {
  const per = Math.ceil(order.length / threads);
  let worst = 0;
  for (let r = 0; r < order.length; r += per) {
    let sum = 0;
    for (const i of order.slice(r, r + per)) sum += weights[i];
    worst = Math.max(worst, sum);
  }
  const total = weights.reduce((a, b) => a + b, 0);
  return worst / (total / threads);
}

const identity = (n: number) => Array.from({ length: n }, (_, i) => i);

Deno.test("balancedOrder is a permutation of the indices", () => {
  for (const w of [[], [5], [3, 3, 3], [1, 9, 2, 8, 2], identity(17).map((i) => (i * 7) % 5)]) {
    const order = balancedOrder(w);
    assert.deepEqual([...order].sort((a, b) => a - b), identity(w.length));
  }
});

Deno.test("balancedOrder evens out the runs of a causal triangle, which increasing order does not", () => {
  // The tiles of one causal prefill: tile i sees i + 1 key groups.
  for (const n of [16, 64, 256]) {
    const w = identity(n).map((i) => i + 1);
    for (const threads of [2, 4, 8]) {
      const balanced = worstRun(w, balancedOrder(w), threads);
      const increasing = worstRun(w, identity(n), threads);
      assert.ok(balanced <= 1.05, `n ${n}, ${threads} threads: balanced run ${balanced}`);
      assert.ok(increasing >= 1.4, `n ${n}, ${threads} threads: increasing run ${increasing}`);
    }
  }
});

Deno.test("balancedOrder keeps heaviest first and puts the lightest next to it", () => {
  assert.deepEqual(balancedOrder([4, 1, 3, 2]), [0, 1, 2, 3]);
  assert.deepEqual(balancedOrder([1, 2, 3, 4, 5]), [4, 0, 3, 1, 2]);
  // ties in index order
  assert.deepEqual(balancedOrder([2, 2, 2]), [0, 2, 1]);
});

Deno.test("balancedTiles reorders tiles within each group only, by the keys of their last query", () => {
  // Three sequences of different lengths, small bindings: more than one group.
  const layout = normalizeLayout({
    kind: "thd",
    cuSeqlensQ: [0, 40, 47, 111],
    cuSeqlensK: [0, 40, 47, 111],
    causal: true,
  });
  const rowBytes = 256;
  const { tiles, groups } = denseGroups(layout, 16, {
    rowK: rowBytes,
    rowV: rowBytes,
    maxBinding: 70 * rowBytes,
    align: 256,
  });
  assert.ok(groups.length >= 2, `groups ${groups.length}`);
  const out = balancedTiles(layout, tiles, groups);
  const meta = queryMeta(layout);
  const seen = (t: number[], i: number) => meta[4 * (t[2 * i] + t[2 * i + 1] - 1) + 2];
  for (const g of groups) {
    const range = (t: number[]) => {
      const pairs: string[] = [];
      for (let i = g.tileBegin; i < g.tileBegin + g.tiles; i++) {
        pairs.push(`${t[2 * i]}:${t[2 * i + 1]}`);
      }
      return pairs;
    };
    // the same tiles in the group, none lost or moved to another group
    assert.deepEqual([...range(out)].sort(), [...range(tiles)].sort());
    // heaviest first, then the lightest of the group
    const w = Array.from({ length: g.tiles }, (_, i) => seen(tiles, g.tileBegin + i));
    assert.equal(seen(out, g.tileBegin), Math.max(...w));
    if (g.tiles > 1) assert.equal(seen(out, g.tileBegin + 1), Math.min(...w));
  }
});
