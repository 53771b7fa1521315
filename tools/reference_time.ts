/**
 * How long the float64 references take on this machine, for the case size the kernel tests
 * check most (a DeepSeek-V2-Lite decode of 2 sequences x 1100 keys): the dense reference
 * (K/V expanded per head, what every parity test compares against) and the absorbed one.
 * No GPU. Prints the best of `--rounds` (default 3) per reference, in ms.
 *
 *   deno run tools/reference_time.ts [--rounds 3] [--keys 1100] [--batch 2]
 *
 * @module
 */
import { toolArgs } from "./tool_args.ts";
import { normalizeLayout } from "../adapter/layout.ts";
import { presetSpec } from "../adapter/presets.ts";
import { absorbedAttention, denseAttention } from "../reference/attention.ts";
import { makeAttentionInputs } from "../reference/inputs.ts";
import { AXIS_BOUNDS } from "../matrix/schema.ts";

const { values } = toolArgs(
  {
    options: {
      rounds: { type: "string", default: "3" },
      keys: { type: "string", default: "1100" },
      batch: { type: "string", default: "2" },
    },
  },
  "usage: deno run -A tools/reference_time.ts [--rounds <n>] [--keys <n>] [--batch <n>]",
);
const count = (name: string, text: string, max = Number.MAX_SAFE_INTEGER): number => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`--${name} must be a positive integer, got "${text}"`);
    Deno.exit(2);
  }
  if (n > max) {
    console.error(`--${name} ${text}: at most ${max} (a matrix's bound for that axis)`);
    Deno.exit(2);
  }
  return n;
};
const rounds = count("rounds", values.rounds);
const seqK = count("keys", values.keys, AXIS_BOUNDS.sk.max);
const batch = count("batch", values.batch, AXIS_BOUNDS.b.max);

const spec = presetSpec("deepseek-v2-lite");
let layout: ReturnType<typeof normalizeLayout>;
let inputs: ReturnType<typeof makeAttentionInputs>;
try {
  layout = normalizeLayout({ kind: "bshd", batch, seqQ: 1, seqK, causal: true });
  inputs = makeAttentionInputs(spec, layout, { seed: 1 });
} catch (e) {
  // --keys 99999999999: "Invalid array length" or a failed allocation, with a stack trace
  if (!(e instanceof RangeError)) throw e;
  console.error(
    `reference_time: ${batch} x ${seqK} keys do not fit in this process's memory ` +
      `(${e.message}); ask for fewer --keys or a smaller --batch`,
  );
  Deno.exit(2);
}
console.log(`DeepSeek-V2-Lite decode, ${batch} x ${seqK} keys, best of ${rounds}:`);
for (const [name, fn] of [["dense", denseAttention], ["absorbed", absorbedAttention]] as const) {
  let best = Infinity;
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    fn(spec, layout, { inputs });
    best = Math.min(best, performance.now() - t0);
  }
  console.log(`  ${name.padEnd(8)} ${best.toFixed(0)} ms`);
}
