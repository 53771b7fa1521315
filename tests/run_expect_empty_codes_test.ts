// A group expecting "unsupported" with an empty codes list (any reason) whose case the
// adapter planned was reported as 'expected unsupported () but the adapter planned ...':
// an empty pair of brackets where the codes go. It now reads 'expected unsupported but ...'.
import assert from "node:assert/strict";
import { runCli } from "./helpers_cli.ts";

Deno.test("run: an unsupported expectation without codes reads without empty brackets", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla-expect-empty-codes-" });
  try {
    await Deno.writeTextFile(
      `${dir}/m.json`,
      JSON.stringify({
        name: "m",
        groups: [{
          axes: { preset: "tiny", sk: 8 },
          expect: { support: "unsupported", codes: [] },
        }],
      }),
    );
    const r = await runCli([
      "run",
      "--matrix",
      `${dir}/m.json`,
      "--out",
      `${dir}/out`,
      "--repeats",
      "0",
    ]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const [line] = (await Deno.readTextFile(`${dir}/out/results.jsonl`)).trim().split("\n");
    const result = JSON.parse(line) as { status: string; message: string };
    assert.equal(result.status, "unexpected");
    assert.match(result.message, /^expected unsupported but the adapter planned /);
    assert.doesNotMatch(r.stdout + r.stderr, /\(\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
