import assert from "node:assert/strict";
import { kRowRange, normalizeLayout, visible, visibleKeyCount } from "../adapter/layout.ts";
import { backendById } from "../adapter/registry.ts";
import { BUNDLED_BACKENDS, loopHelpers } from "../adapter/backends.ts";
import { workgroupElementCap } from "../adapter/slow_device.ts";
import { presetSpec } from "../adapter/presets.ts";
import { LAVAPIPE_CAPS } from "./caps_fixtures.ts";
import type { NormalizedLayout } from "../adapter/types.ts";

/** All (q, k) pairs a layout lets attend, as "q:k" strings. */
function pairs(l: NormalizedLayout): string[] {
  const out: string[] = [];
  for (let q = 0; q < l.totalQ; q++) {
    for (let k = 0; k < l.totalK; k++) if (visible(l, q, k)) out.push(`${q}:${k}`);
  }
  return out;
}

Deno.test("thd: positions restart at 0 in every packed sequence", () => {
  const l = normalizeLayout({ kind: "thd", cuSeqlensQ: [0, 3, 3, 5], causal: true });
  assert.deepEqual(l.qPositions, [0, 1, 2, 0, 1]);
  assert.deepEqual(l.kPositions, [0, 1, 2, 0, 1]);
  assert.deepEqual(l.qSeqId, [0, 0, 0, 2, 2]);
  assert.equal(l.seqs[1].qLen, 0);
});

Deno.test("thd: sequences never see each other; causal within each", () => {
  const l = normalizeLayout({ kind: "thd", cuSeqlensQ: [0, 2, 4], causal: true });
  assert.deepEqual(pairs(l), ["0:0", "1:0", "1:1", "2:2", "3:2", "3:3"]);
  const n = normalizeLayout({ kind: "thd", cuSeqlensQ: [0, 2, 4], causal: false });
  assert.deepEqual(pairs(n), ["0:0", "0:1", "1:0", "1:1", "2:2", "2:3", "3:2", "3:3"]);
});

Deno.test("causal with s_q != s_k is bottom-right aligned", () => {
  // 2 queries over 4 keys: query 0 sees keys 0..2, query 1 sees 0..3 (top-left would be 0..0, 0..1).
  const l = normalizeLayout({ kind: "bshd", batch: 1, seqQ: 2, seqK: 4, causal: true });
  assert.deepEqual(pairs(l), ["0:0", "0:1", "0:2", "1:0", "1:1", "1:2", "1:3"]);
  assert.deepEqual(l.qPositions, [2, 3]);
  assert.equal(l.seqs[0].causalOffset, 2);
});

Deno.test("decode against per-sequence cache lengths, including an empty cache", () => {
  const l = normalizeLayout({
    kind: "bshd",
    batch: 3,
    seqQ: 1,
    seqK: 6,
    kvLens: [6, 0, 2],
    causal: true,
  });
  assert.deepEqual(l.seqs.map((s) => s.kLen), [6, 0, 2]);
  assert.deepEqual(l.qPositions, [5, 0, 1]);
  assert.deepEqual(l.kRowOf, [0, 1, 2, 3, 4, 5, 12, 13]);
  assert.equal(l.kRows, 18);
  // the query of the empty sequence sees nothing
  assert.equal(pairs(l).filter((p) => p.startsWith("1:")).length, 0);
});

Deno.test("sbhd maps (s, b) to row s*batch + b", () => {
  const l = normalizeLayout({ kind: "sbhd", batch: 2, seqQ: 3, seqK: 3, causal: false });
  assert.deepEqual(l.qRowOf, [0, 2, 4, 1, 3, 5]);
  const b = normalizeLayout({ kind: "bshd", batch: 2, seqQ: 3, seqK: 3, causal: false });
  assert.deepEqual(b.qRowOf, [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(l.qPositions, b.qPositions);
});

Deno.test("thd with padded offsets: rows skip the padding", () => {
  const l = normalizeLayout({
    kind: "thd",
    cuSeqlensQ: [0, 2, 5],
    cuSeqlensQPadded: [0, 4, 8],
    causal: true,
  });
  assert.deepEqual(l.qRowOf, [0, 1, 4, 5, 6]);
  assert.equal(l.qRows, 8);
  assert.deepEqual(l.kRowOf, [0, 1, 4, 5, 6]);
  assert.deepEqual(l.qPositions, [0, 1, 0, 1, 2]);
});

Deno.test("thd with separate key lengths (chunked prefill) aligns queries bottom-right", () => {
  const l = normalizeLayout({ kind: "thd", cuSeqlensQ: [0, 2], cuSeqlensK: [0, 5], causal: true });
  assert.deepEqual(l.qPositions, [3, 4]);
  assert.deepEqual(pairs(l), ["0:0", "0:1", "0:2", "0:3", "1:0", "1:1", "1:2", "1:3", "1:4"]);
});

Deno.test("paged cache: keys map through the block table; unused pages are never rows", () => {
  const l = normalizeLayout({
    kind: "bshd",
    batch: 2,
    seqQ: 1,
    seqK: 8,
    kvLens: [5, 3],
    causal: true,
    paging: { pageSize: 2, numPages: 6, blockTable: [[4, 0, 5, -1], [2, 1, -1, -1]] },
  });
  assert.deepEqual(l.kRowOf, [8, 9, 0, 1, 10, 4, 5, 2]);
  assert.equal(l.kRows, 12);
  assert.equal(l.pageSize, 2);
  assert.deepEqual(l.kPositions, [0, 1, 2, 3, 4, 0, 1, 2]);
  // page 3 (rows 6, 7) and the tail of page 1 (row 3) are used by nobody
  const used = new Set(l.kRowOf);
  assert.deepEqual([3, 6, 7, 11].filter((r) => used.has(r)), []);
});

Deno.test("paged thd cache", () => {
  const l = normalizeLayout({
    kind: "thd",
    cuSeqlensQ: [0, 1, 2],
    cuSeqlensK: [0, 3, 4],
    causal: true,
    paging: { pageSize: 4, numPages: 2, blockTable: [[1], [0]] },
  });
  assert.deepEqual(l.kRowOf, [4, 5, 6, 0]);
  assert.equal(l.kRows, 8);
});

Deno.test("visibleKeyCount: the keys each query sees are its sequence's first that many", () => {
  const layouts = [
    normalizeLayout({ kind: "bshd", batch: 2, seqQ: 3, seqK: 7, causal: true }),
    normalizeLayout({ kind: "bshd", batch: 2, seqQ: 5, seqK: 3, causal: true }), // s_q > s_k
    normalizeLayout({ kind: "bshd", batch: 3, seqQ: 1, seqK: 6, kvLens: [6, 0, 2], causal: true }),
    normalizeLayout({ kind: "thd", cuSeqlensQ: [0, 2, 2, 7], causal: true }),
    normalizeLayout({
      kind: "thd",
      cuSeqlensQ: [0, 3, 5],
      cuSeqlensK: [0, 4, 10],
      cuSeqlensQPadded: [0, 4, 8],
      cuSeqlensKPadded: [0, 6, 12],
      causal: false,
    }),
  ];
  for (const l of layouts) {
    for (let q = 0; q < l.totalQ; q++) {
      const s = l.seqs[l.qSeqId[q]];
      const seen: number[] = [];
      for (let k = 0; k < l.totalK; k++) if (visible(l, q, k)) seen.push(k);
      const n = visibleKeyCount(l, q);
      assert.deepEqual(seen, Array.from({ length: n }, (_, j) => s.kStart + j), `q ${q}`);
    }
  }
});

Deno.test("kRowRange: each sequence's lowest and highest key row, as kRowOf has them", () => {
  const layouts = [
    normalizeLayout({ kind: "bshd", batch: 3, seqQ: 2, seqK: 5, kvLens: [5, 0, 2], causal: true }),
    normalizeLayout({ kind: "sbhd", batch: 3, seqQ: 1, seqK: 4, causal: false }),
    normalizeLayout({
      kind: "thd",
      cuSeqlensQ: [0, 2, 2, 5],
      cuSeqlensK: [0, 3, 3, 7],
      cuSeqlensKPadded: [0, 4, 6, 12],
      causal: true,
    }),
    normalizeLayout({
      kind: "bshd",
      batch: 2,
      seqQ: 1,
      seqK: 6,
      kvLens: [6, 3],
      causal: true,
      paging: { pageSize: 2, numPages: 6, blockTable: [[5, 0, 3], [1, 4, 2]] },
    }),
  ];
  for (const l of layouts) {
    l.seqs.forEach((s, i) => {
      const rows = l.kRowOf.slice(s.kStart, s.kStart + s.kLen);
      assert.deepEqual(
        kRowRange(l, i),
        rows.length === 0 ? null : { lo: Math.min(...rows), hi: Math.max(...rows) },
        `${l.kind} sequence ${i}`,
      );
    });
  }
});

Deno.test("a long case's per-token rows are built on first read, and the backends' checks read none", () => {
  // 64 sequences of 200000 keys: 12.8 million rows, which resolve() (explain, the matrix's
  // refused cases) took seconds to build and walk though no check needs them.
  const l = normalizeLayout({ kind: "bshd", batch: 64, seqQ: 64, seqK: 200000, causal: true });
  for (const key of ["qRowOf", "kRowOf", "qPositions", "kPositions", "qSeqId", "kSeqId"]) {
    Object.defineProperty(l, key, {
      get: () => {
        throw new Error(`${key} read`);
      },
    });
  }
  const spec = presetSpec("deepseek-v2-lite");
  for (const [id, b] of Object.entries(BUNDLED_BACKENDS)) {
    if (b.runsOn !== "gpu") continue;
    const codes = backendById(id)!.check({
      spec,
      layout: l,
      dtype: "f32",
      caps: LAVAPIPE_CAPS,
      loop: loopHelpers(LAVAPIPE_CAPS),
      workgroupElementCap: workgroupElementCap(LAVAPIPE_CAPS),
    }).reasons.map((r) => r.code);
    assert.ok(codes.length > 0, `${id} refuses 12.8 million keys on lavapipe`);
  }
  // the rows, once read, are what they were
  const small = normalizeLayout({ kind: "sbhd", batch: 2, seqQ: 2, seqK: 3, causal: true });
  assert.deepEqual(JSON.parse(JSON.stringify(small)).kRowOf, [0, 2, 4, 1, 3, 5]);
  assert.deepEqual({ ...small }.qPositions, [1, 2, 1, 2]);
});

Deno.test("once read, a layout's per-token arrays are plain properties", () => {
  const l = normalizeLayout({ kind: "bshd", batch: 2, seqQ: 1, seqK: 3, causal: true });
  assert.deepEqual(l.kSeqId, [0, 0, 0, 1, 1, 1]);
  for (const key of ["qRowOf", "kRowOf", "qPositions", "kPositions", "qSeqId", "kSeqId"]) {
    const d = Object.getOwnPropertyDescriptor(l, key)!;
    assert.equal(d.get, undefined, key);
    assert.equal(d.enumerable, true, key);
  }
  assert.equal(l.kRowOf, l.kRowOf, "the same array each read");
});
