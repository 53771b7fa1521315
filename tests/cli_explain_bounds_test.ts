// `explain`'s shape flags take the matrix schema's bounds (b <= 4096, sq and sk <= 1 Mi) and
// at most MAX_LAYOUT_TOKENS tokens in all: a huge shape is exit 2 up front naming the flag,
// its value and the valid range, not a RangeError stack trace after a minute of CPU.
import assert from "node:assert/strict";
import { AXIS_BOUNDS } from "../matrix/schema.ts";
import { checkLayoutSize, MAX_LAYOUT_TOKENS, parseAxisInt } from "../cli/options.ts";
import { CliError } from "../cli/errors.ts";
import { runCli } from "./helpers_cli.ts";

const noStack = (s: string) => assert.ok(!/\n\s+at /.test(s), `no stack trace: ${s}`);

Deno.test("explain refuses huge --batch, --seq-q, --seq-k with exit 2 naming flag, value, range", async () => {
  const cases: [string[], RegExp][] = [
    [["--batch", "99999999999"], /--batch <n>.*'99999999999'.*from 1 to 4096/],
    [["--seq-k", "9999999999999"], /--seq-k <n>.*'9999999999999'.*from 0 to 1048576/],
    [["--seq-q", "1048577"], /--seq-q <n>.*'1048577'.*from 1 to 1048576/],
    [["--seq-k", "50000000", "--batch", "4"], /--seq-k <n>.*'50000000'.*from 0 to 1048576/],
    [
      ["--seq-k", "1048576", "--batch", "4096"],
      /--batch 4096 x --seq-k 1048576 = 4,294,967,296 tokens; explain takes at most 16,777,216/,
    ],
    [
      ["--layout", "thd", "--cu-seqlens", "0,999999999999"],
      /--cu-seqlens: sequence 0 \(offsets 0 to 999999999999\) has 999,999,999,999 tokens; at most 1,048,576/,
    ],
    [
      ["--layout", "thd", "--cu-seqlens", "0,5", "--cu-seqlens-k", "0,2000000"],
      /--cu-seqlens-k: sequence 0 .* at most 1,048,576 .*sk\)/,
    ],
  ];
  for (const [flags, message] of cases) {
    const r = await runCli(["explain", "tiny", "--no-device", ...flags]);
    assert.equal(r.code, 2, `${flags.join(" ")}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr.replace(/\s+/g, " "), message);
    assert.doesNotMatch(r.stderr, /internal error|RangeError/);
    noStack(r.stderr);
    assert.equal(r.stdout, "");
  }
});

Deno.test("explain at the bounds still answers", async () => {
  const r = await runCli([
    "explain",
    "tiny",
    "--no-device",
    "--backend",
    "cpu-reference",
    "--batch",
    "4096",
    "--seq-k",
    "0",
    "--json",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).spec.name, "tiny");
});

Deno.test("parseAxisInt and checkLayoutSize follow AXIS_BOUNDS and MAX_LAYOUT_TOKENS", () => {
  assert.equal(parseAxisInt("b")(String(AXIS_BOUNDS.b.max)), AXIS_BOUNDS.b.max);
  assert.throws(() => parseAxisInt("b")(String(AXIS_BOUNDS.b.max + 1)), /from 1 to 4096/);
  assert.equal(parseAxisInt("sk")("0"), 0);
  assert.throws(() => parseAxisInt("sq")("0"), /from 1 to 1048576/);
  const dense = { layout: "bshd", batch: 16, seqQ: 1, seqK: 1 << 20, causal: true } as const;
  checkLayoutSize(dense); // 16 Mi keys: the bound itself
  assert.throws(
    () => checkLayoutSize({ ...dense, batch: 17 }),
    (e: unknown) =>
      e instanceof CliError && e.exitCode === 2 && /--batch 17 x --seq-k/.test(e.message),
  );
  // thd: 17 sequences of 1 Mi tokens each: every sequence in bounds, the total not
  const cu = Array.from({ length: 18 }, (_, i) => i * (1 << 20));
  assert.ok(cu[17] > MAX_LAYOUT_TOKENS);
  assert.throws(
    () =>
      checkLayoutSize({ layout: "thd", batch: 1, seqQ: 1, seqK: 1, cuSeqlens: cu, causal: true }),
    /--cu-seqlens: its largest offset \(the token count\) = 17,825,792 tokens; explain takes at most 16,777,216/,
  );
  const many = Array.from({ length: 4098 }, (_, i) => i);
  assert.throws(
    () =>
      checkLayoutSize({ layout: "thd", batch: 1, seqQ: 1, seqK: 1, cuSeqlens: many, causal: true }),
    /--cu-seqlens: 4,098 offsets are 4,097 sequences; at most 4096/,
  );
});

Deno.test("explain --help states the bounds the shape flags check", async () => {
  const { explainCommand } = await import("../cli/explain.ts");
  const help = explainCommand(() => Promise.resolve(null)).helpInformation().replace(/\s+/g, " ");
  assert.ok(
    help.includes(
      `(b <= ${AXIS_BOUNDS.b.max}, sq <= ${AXIS_BOUNDS.sq.max}, sk <= ${AXIS_BOUNDS.sk.max}) ` +
        `and at most ${MAX_LAYOUT_TOKENS} query or key tokens in all`,
    ),
    help,
  );
  // and each shape flag's own line
  for (const [flag, axis] of [["--batch", "b"], ["--seq-q", "sq"], ["--seq-k", "sk"]]) {
    const { min, max } = AXIS_BOUNDS[axis];
    assert.match(help, new RegExp(`${flag} <n> [^-]*\\), ${min} to ${max} \\(default`), flag);
  }
  assert.ok(
    help.includes(`at most ${AXIS_BOUNDS.b.max} sequences of ${AXIS_BOUNDS.sq.max} tokens`),
    help,
  );
});
