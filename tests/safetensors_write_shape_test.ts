/**
 * encodeSafetensors / writeSafetensorsFile write only files their own reader takes: a shape
 * with a negative or fractional dimension ([-1, -2] or [0.5, 4] for two values) was written,
 * and SafetensorsFile.open then refused the file. Now the writer throws a RangeError naming
 * the tensor, and writes nothing.
 */
import assert from "node:assert/strict";
import { encodeSafetensors, SafetensorsFile } from "../weights/safetensors.ts";

Deno.test("encodeSafetensors: a negative or fractional dimension is refused", () => {
  for (const shape of [[-1, -2], [0.5, 4], [2, Number.NaN]]) {
    assert.throws(
      () => encodeSafetensors({ a: { dtype: "F32", shape, data: [1, 2] } }),
      /tensor "a": shape \[.*\] must hold non-negative whole numbers/,
    );
  }
});

Deno.test("encodeSafetensors: what it writes, the reader opens", async () => {
  const bytes = encodeSafetensors({
    a: { dtype: "F32", shape: [2, 1], data: [1, 2] },
    empty: { dtype: "F16", shape: [0, 3], data: [] },
  });
  const f = await SafetensorsFile.fromBytes(bytes, { source: "mem" });
  try {
    assert.deepEqual(f.tensors.get("a")?.shape, [2, 1]);
    assert.deepEqual(f.tensors.get("empty")?.shape, [0, 3]);
  } finally {
    f.close();
  }
});

Deno.test("encodeSafetensors: a tensor name the reader refuses (a control character) is not written", () => {
  assert.throws(
    () => encodeSafetensors({ "a\nb": { dtype: "F32", shape: [1], data: [1] } }),
    /tensor name "a\\u000ab" holds U\+000A, a control character/,
  );
});
