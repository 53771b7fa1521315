// `run --out` into the folder of a bench killed before its reports (records.jsonl, no
// report.json): refused, not taken over with the bench's measurements left among the run's
// files; --force removes them and runs.
import assert from "node:assert/strict";
import { hasAdapter } from "../gpu/device.ts";
import { runCli } from "./helpers_cli.ts";

const gpu = await hasAdapter();
const RECORD = JSON.stringify({ id: "preset=tiny;path=absorbed", medianMs: 1.5 });

Deno.test("run --out: a killed bench's records.jsonl is exit 2 naming it, the file untouched", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla-benchdir-" });
  try {
    await Deno.writeTextFile(`${dir}/records.jsonl`, `${RECORD}\n${RECORD}\n`);
    const r = await runCli(["run", "--filter", "preset=tiny;dtype=f32;sq=1", "--out", dir]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /holds records\.jsonl with 2 records: the measurements of a bench killed before its reports \(bench --resume finishes it\)/,
    );
    assert.match(r.stderr, /--force to remove them/);
    assert.equal(await Deno.readTextFile(`${dir}/records.jsonl`), `${RECORD}\n${RECORD}\n`);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["records.jsonl"]);
    // a finished bench's folder is said to be one, not a killed bench's
    await Deno.writeTextFile(`${dir}/report.json`, "{}");
    const done = await runCli(["run", "--filter", "preset=tiny;dtype=f32;sq=1", "--out", dir]);
    assert.equal(done.code, 2, done.stdout + done.stderr);
    assert.match(done.stderr, /2 records: a bench's folder, whose report\.json, summary\.md and/);
    assert.doesNotMatch(done.stderr, /killed/);
    // a compare-runtimes folder: its report was left among the run's files, without a word
    const cmp = `${dir}/cmp`;
    await Deno.mkdir(cmp);
    await Deno.writeTextFile(`${cmp}/compare-runtimes.json`, "{}\n");
    await Deno.writeTextFile(`${cmp}/compare-runtimes.md`, "# its comparison\n");
    const c = await runCli(["run", "--filter", "preset=tiny;dtype=f32;sq=1", "--out", cmp]);
    assert.equal(c.code, 2, c.stdout + c.stderr);
    assert.match(
      c.stderr,
      /holds compare-runtimes\.json, compare-runtimes\.md: the output of compare-runtimes, .*--force to remove them/,
    );
    assert.deepEqual(
      [...Deno.readDirSync(cmp)].map((e) => e.name).sort(),
      ["compare-runtimes.json", "compare-runtimes.md"],
    );
    assert.equal(await Deno.readTextFile(`${cmp}/compare-runtimes.md`), "# its comparison\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "run --force over a bench's folder removes records.jsonl and results.csv (and a " +
    "comparison's compare-runtimes.json) and runs",
  ignore: !gpu,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "mla-benchdir-" });
    try {
      await Deno.writeTextFile(`${dir}/records.jsonl`, `${RECORD}\n`);
      await Deno.writeTextFile(`${dir}/results.csv`, "id,ms\n");
      await Deno.writeTextFile(`${dir}/compare-runtimes.json`, "{}\n");
      const filter = "preset=tiny;dtype=f32;path=absorbed;sq=1;layout=bshd;causal=1";
      const r = await runCli(
        ["run", "--filter", filter, "--out", dir, "--repeats", "0", "--force"],
      );
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const names = new Set([...Deno.readDirSync(dir)].map((e) => e.name));
      assert.ok(!names.has("records.jsonl") && !names.has("results.csv"), [...names].join());
      assert.ok(!names.has("compare-runtimes.json"), [...names].join());
      assert.ok(names.has("report.json") && names.has("results.jsonl"), [...names].join());
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
