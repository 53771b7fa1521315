// An empty --filter (or one of only ';', as from an unset shell variable) would select every
// case without a word: each command taking a filter refuses it with exit 2, saying it is
// empty and what a filter looks like. Each invocation would fail on its own otherwise (an
// unknown matrix, a missing file, --max-cases 1), so none of them runs a case before the fix.
import assert from "node:assert/strict";
import { parseFilter } from "../matrix/case_id.ts";
import { parseBenchFilter } from "../bench/cases.ts";
import { parseFilterOption } from "../cli/options.ts";
import { runCli } from "./helpers_cli.ts";

Deno.test("every command refuses an empty or ';' filter with exit 2 saying what a filter is", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const invocations = [
      ["run", "--max-cases", "1", "--out", `${dir}/r`, "--filter", ""],
      ["run", "--max-cases", "1", "--out", `${dir}/r`, "--filter", ";"],
      ["bench", "--matrix", "nosuch", "--out", `${dir}/b`, "--filter", ""],
      ["bench", "--matrix", "nosuch", "--out", `${dir}/b`, "--filter", " ; "],
      ["history", "--db", `${dir}/none.sqlite`, ""],
      ["baseline", "update", "--from-report", `${dir}/none`, "--dir", `${dir}/bl`, "--filter", ""],
      ["compare-runtimes", "--matrix", "nosuch", "--out", `${dir}/c`, "--filter", ";"],
      ["upgrade-check", "--filter", ""],
    ];
    const results = await Promise.all(invocations.map((args) => runCli(args)));
    results.forEach((r, i) => {
      const what = invocations[i].join(" ");
      assert.equal(r.code, 2, `${what}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /the filter is (empty|only ';'): it holds no key=value term/, what);
      assert.match(r.stderr, /a filter looks like 'preset=tiny;dtype=f16,f32'/, what);
      assert.doesNotMatch(r.stderr, /\n\s+at |internal error/, what);
      assert.doesNotMatch(r.stdout, /\[1\//, `${what}: no case ran`);
    });
    assert.deepEqual([...Deno.readDirSync(dir)], [], "no output folder created");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the filter parsers refuse a filter with no term too", () => {
  for (const text of ["", ";", " ; ;"]) {
    assert.throws(() => parseFilterOption(text), /holds no key=value term/);
    assert.throws(
      () => parseFilter(text),
      (e: unknown) =>
        e instanceof RangeError && /^filter .* holds no key=value term/.test(e.message),
    );
    assert.throws(() => parseBenchFilter(text), /holds no key=value term/);
  }
  assert.equal(parseFilterOption("preset=tiny;"), "preset=tiny;");
  assert.deepEqual(parseFilter("preset=tiny;").get("preset"), ["tiny"]);
});

Deno.test("an empty filter value names an example value, also for an axis whose default is empty", () => {
  assert.throws(
    () => parseFilter("dtype="),
    /dtype= is empty; give a value of dtype \(e\.g\. dtype=f32\)/,
  );
  // backend's default is "" (the path's bundled backend): the example is a real id
  assert.throws(
    () => parseFilter("backend="),
    /backend= is empty; give a value of backend \(e\.g\. backend=wgsl-absorbed-gemm\)/,
  );
});

Deno.test("an empty value between a filter term's commas names the term, not an empty term", () => {
  for (const text of ["sq=1,,4", "sq=1,", "dtype=,f16"]) {
    assert.throws(
      () => parseFilter(text),
      (e: unknown) =>
        e instanceof RangeError &&
        e.message.includes(`filter term "${text}" has an empty value between its commas`) &&
        !e.message.includes("= is empty"),
      text,
    );
  }
});
