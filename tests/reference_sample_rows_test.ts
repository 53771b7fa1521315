/**
 * Row sampling keeps sequence boundaries and respects max.
 */
import assert from "node:assert/strict";
import { normalizeLayout } from "../adapter/layout.ts";
import { sampleRows, withNonFiniteRows } from "../reference/sample_rows.ts";

Deno.test("sampleRows: boundaries always in, sorted, distinct, exactly max rows", () => {
  const layout = normalizeLayout({
    kind: "thd",
    cuSeqlensQ: [0, 100, 100, 101, 250, 400],
    causal: true,
  });
  const boundaries = [0, 99, 100, 101, 249, 250, 399];
  for (const seed of [1, 2, 3]) {
    const rows = sampleRows(layout, { max: 20, seed });
    assert.equal(rows.length, 20);
    for (const b of boundaries) assert.ok(rows.includes(b), `seed ${seed}: boundary ${b}`);
    for (let i = 1; i < rows.length; i++) assert.ok(rows[i] > rows[i - 1]);
    assert.ok(rows.every((q) => Number.isInteger(q) && q >= 0 && q < 400));
    assert.deepEqual(sampleRows(layout, { max: 20, seed }), rows, "deterministic");
  }
  assert.notDeepEqual(
    sampleRows(layout, { max: 20, seed: 1 }),
    sampleRows(layout, {
      max: 20,
      seed: 2,
    }),
  );
  // Boundaries alone exceed max: exactly the boundaries.
  assert.deepEqual(sampleRows(layout, { max: 3, seed: 1 }), boundaries);
});

Deno.test("sampleRows: all rows when the total fits; bshd boundaries", () => {
  const small = normalizeLayout({ kind: "bshd", batch: 2, seqQ: 3, seqK: 3, causal: true });
  assert.deepEqual(sampleRows(small, { max: 6, seed: 1 }), [0, 1, 2, 3, 4, 5]);
  const big = normalizeLayout({ kind: "sbhd", batch: 3, seqQ: 50, seqK: 50, causal: false });
  const rows = sampleRows(big, { max: 10, seed: 4 });
  assert.equal(rows.length, 10);
  for (const b of [0, 49, 50, 99, 100, 149]) assert.ok(rows.includes(b));
  assert.throws(() => sampleRows(big, { max: -1, seed: 1 }), RangeError);
});

Deno.test("sampleRows: the other rows are spread over the whole range", () => {
  const layout = normalizeLayout({ kind: "bshd", batch: 1, seqQ: 1000, seqK: 1000, causal: true });
  const counts = new Array(10).fill(0);
  for (let seed = 0; seed < 40; seed++) {
    for (const q of sampleRows(layout, { max: 52, seed })) {
      if (q !== 0 && q !== 999) counts[Math.floor(q / 100)]++;
    }
  }
  // 40 * 50 draws over 10 bins: 200 expected per bin.
  assert.ok(counts.every((c) => c > 140 && c < 260), `${counts}`);
});

Deno.test("sampleRows: no stretch of two strata's length goes unsampled (a wrong query tile in a long prefill is seen)", () => {
  // 4096 queries, 64 rows: 2 boundaries and 62 drawn rows, one per run of 66 (or 67) rows
  const layout = normalizeLayout({ kind: "bshd", batch: 1, seqQ: 4096, seqK: 4096, causal: true });
  for (let seed = 1; seed <= 5; seed++) {
    const rows = sampleRows(layout, { max: 64, seed });
    assert.equal(rows.length, 64);
    const gaps = rows.slice(1).map((q, i) => q - rows[i]);
    // a uniform draw of 62 rows leaves a largest gap of about 4096 ln(62) / 62 = 270
    assert.ok(Math.max(...gaps) <= 2 * 67, `seed ${seed}: largest gap ${Math.max(...gaps)}`);
  }
});

Deno.test("withNonFiniteRows: rows that do not divide the tensors, a sample row past them or a bad max is a RangeError", () => {
  const got = { out: [0, 0, NaN, 0, 0, 0], lse: [0, 0, 0], rows: 3 };
  assert.deepEqual(withNonFiniteRows([0, 2], got), [0, 1, 2]);
  // Each scanned misaligned rows, added none or returned a row past the tensors, silently.
  const cases: [() => unknown, RegExp][] = [
    [
      () => withNonFiniteRows([0], { ...got, out: got.out.slice(1) }),
      /got\.out has 5 values, not a whole number of values per row for got\.rows = 3/,
    ],
    [() => withNonFiniteRows([0], { ...got, rows: 2 }), /got\.lse has 3 values/],
    [
      () => withNonFiniteRows([0], { ...got, rows: 1.5 }),
      /got\.rows must be a whole number >= 0, found 1\.5/,
    ],
    [() => withNonFiniteRows([3], got), /sample row 3 is not a row of the 3 rows/],
    [() => withNonFiniteRows([0], got, { max: NaN }), /max must be a whole number >= 0, found NaN/],
  ];
  for (const [f, message] of cases) {
    assert.throws(f, (e: Error) => e instanceof RangeError && message.test(e.message));
  }
});

Deno.test("sampleRows: a layout request instead of a normalized layout is a RangeError saying what to pass", () => {
  for (const max of [2, 100]) {
    assert.throws(
      () => sampleRows({ kind: "bshd", batch: 2, seqQ: 3, seqK: 3 } as never, { max, seed: 1 }),
      (e: Error) =>
        e instanceof RangeError &&
        /sampleRows: layout is not a normalized layout/.test(e.message) &&
        /normalizeLayout\(request\)/.test(e.message),
    );
  }
});

Deno.test("sampleRows and withNonFiniteRows: missing or wrong-typed arguments are a RangeError naming them", () => {
  const layout = normalizeLayout({ kind: "thd", cuSeqlensQ: [0, 50, 100], causal: true });
  type So = Parameters<typeof sampleRows>[1];
  type Got = Parameters<typeof withNonFiniteRows>[1];
  const got = { out: new Float64Array(4), lse: new Float64Array(2), rows: 2 };
  const cases: [() => unknown, RegExp][] = [
    // "Cannot destructure property 'max' of 'options' as it is undefined"
    [
      () => sampleRows(layout, undefined as unknown as So),
      /^sampleRows: options must be an object \{ max, seed \}, found undefined$/,
    ],
    // "max must be an integer >= 0, got 5" for the string "5"
    [
      () => sampleRows(layout, { max: "5" as unknown as number, seed: 1 }),
      /^sampleRows: max must be an integer >= 0, got "5"$/,
    ],
    [
      () => sampleRows(layout, { max: 5, seed: "1" as unknown as number }),
      /^sampleRows: seed must be a safe integer \(the case seed\), found "1"$/,
    ],
    // "Cannot read properties of undefined (reading 'rows')", "sample is not iterable",
    // "Cannot read properties of null (reading 'max')"
    [
      () => withNonFiniteRows([0], undefined as unknown as Got),
      /^withNonFiniteRows: got must be \{ out, lse, rows \}.*found undefined$/,
    ],
    [
      () => withNonFiniteRows([0], { ...got, out: undefined } as unknown as Got),
      /^withNonFiniteRows: got\.out must be an array or typed array of numbers, found undefined$/,
    ],
    [
      () => withNonFiniteRows(undefined as unknown as number[], got),
      /^withNonFiniteRows: sample must be an array of row indices, found undefined$/,
    ],
    [
      () => withNonFiniteRows([0], got, null as unknown as { max?: number }),
      /^withNonFiniteRows: options must be an object \{ max\? \}, found null$/,
    ],
  ];
  for (const [f, message] of cases) {
    assert.throws(
      f,
      (e: Error) => e instanceof RangeError && message.test(e.message),
      `${message}`,
    );
  }
});
