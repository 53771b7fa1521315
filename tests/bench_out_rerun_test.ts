// A bench into the folder of a finished bench replaces its reports; killed halfway, it must
// not leave the earlier run's report.json, results.csv, summary.md and report.html beside its
// own records.jsonl: the folder then read as a finished bench of the earlier cases, and the
// next bench, seeing report.json, truncated the killed run's records without --force.
import assert from "node:assert/strict";
import { hasAdapter } from "../gpu/device.ts";
import { cliCommand } from "./helpers_cli.ts";
import { appendBenchRecord, startBenchRecords } from "../bench/out_dir.ts";
import type { BenchRecord } from "../bench/run_bench.ts";

const gpu = await hasAdapter();
const OLD = ["report.json", "results.csv", "summary.md", "report.html"];

Deno.test("startBenchRecords: removes the earlier bench's reports, empties records.jsonl", async () => {
  const out = await Deno.makeTempDir({ prefix: "mla_bench_rerun_" });
  for (const f of OLD) await Deno.writeTextFile(`${out}/${f}`, "OLD");
  await Deno.writeTextFile(`${out}/records.jsonl`, '{"id":"old"}\n');
  await Deno.writeTextFile(`${out}/notes.txt`, "kept");
  const stream = await startBenchRecords(`${out}/`);
  assert.equal(stream, `${out}/records.jsonl`);
  assert.equal(await Deno.readTextFile(stream), "");
  for (const f of OLD) {
    await assert.rejects(Deno.stat(`${out}/${f}`), Deno.errors.NotFound, `${f} removed`);
  }
  assert.equal(await Deno.readTextFile(`${out}/notes.txt`), "kept", "other files stay");
  await Deno.remove(out, { recursive: true });
});

Deno.test("appendBenchRecord: each record is synced to disk before it resolves, as run's results are", async () => {
  const out = await Deno.makeTempDir({ prefix: "mla_bench_sync_" });
  const stream = await startBenchRecords(out);
  // a power loss cannot be staged: the sync call that makes a line survive one is counted
  const proto = Deno.FsFile.prototype;
  const { syncData, sync } = proto;
  let syncs = 0;
  proto.syncData = function () {
    syncs++;
    return syncData.call(this);
  };
  proto.sync = function () {
    syncs++;
    return sync.call(this);
  };
  try {
    const record = { id: "preset=tiny;path=absorbed", status: "error", reason: "stub" };
    await appendBenchRecord(stream, record as unknown as BenchRecord);
    assert.equal(syncs, 1, "the record's line was synced");
    await appendBenchRecord(stream, { ...record, id: "b" } as unknown as BenchRecord);
    assert.equal(syncs, 2);
    const lines = (await Deno.readTextFile(stream)).split("\n");
    assert.deepEqual(lines.map((l) => l && JSON.parse(l).id), [record.id, "b", ""]);
  } finally {
    proto.syncData = syncData;
    proto.sync = sync;
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test({
  name: "bench: killed halfway into a finished bench's --out leaves no earlier reports; " +
    "the next bench is exit 2 without --force",
  ignore: !gpu,
  fn: async () => {
    const out = await Deno.makeTempDir({ prefix: "mla_bench_rerun_" });
    for (const f of OLD) await Deno.writeTextFile(`${out}/${f}`, "OLD");
    await Deno.writeTextFile(`${out}/records.jsonl`, '{"id":"old"}\n');
    const bench = (extra: string[]) =>
      cliCommand([
        "bench",
        "--matrix",
        "tiny",
        "--reps",
        "1",
        "--warmup-ms",
        "0",
        "--out",
        out,
        ...extra,
      ]);
    const child = bench([]).spawn();
    const stream = `${out}/records.jsonl`;
    const deadline = Date.now() + 120_000;
    // the earlier run's record goes when the new run starts its file; wait for a new one
    while (!(await Deno.readTextFile(stream).catch(() => "")).includes("preset=tiny")) {
      assert.ok(Date.now() < deadline, "no case ended within 120 s");
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill("SIGKILL");
    await child.output();
    for (const f of OLD) {
      const text = await Deno.readTextFile(`${out}/${f}`).catch(() => null);
      assert.notEqual(text, "OLD", `${f} of the earlier bench is still there`);
    }
    const again = await bench([]).output();
    const err = new TextDecoder().decode(again.stderr);
    assert.equal(again.code, 2, err);
    assert.match(err, /records\.jsonl with \d+ records? and no report\.json/);
    await Deno.remove(out, { recursive: true });
  },
});

Deno.test({
  name: "bench: records.jsonl that cannot take a record (a full disk) stops the bench, exit 3 " +
    "naming the file and --resume, not an internal error",
  ignore: !gpu,
  fn: async () => {
    const out = await Deno.makeTempDir({ prefix: "mla_bench_write_" });
    const child = cliCommand([
      "bench",
      "--matrix",
      "tiny",
      "--reps",
      "1",
      "--warmup-ms",
      "0",
      "--out",
      out,
    ]).spawn();
    const stream = `${out}/records.jsonl`;
    const deadline = Date.now() + 120_000;
    while (!(await Deno.readTextFile(stream).catch(() => "")).includes("preset=tiny")) {
      assert.ok(Date.now() < deadline, "no case ended within 120 s");
      await new Promise((r) => setTimeout(r, 20));
    }
    // a file that cannot be appended to, root or not: a folder in its place
    await Deno.remove(stream);
    await Deno.mkdir(stream);
    const r = await child.output();
    const err = new TextDecoder().decode(r.stderr);
    assert.equal(r.code, 3, err);
    assert.match(
      err,
      /records\.jsonl: cannot write the record of preset=tiny;.*: .*; the bench stopped there \(records\.jsonl holds the 1 record before it\): free space, then the same bench with --resume benches the rest/,
    );
    assert.doesNotMatch(err, /internal error|\n {4}at /);
    // the folder reads as a killed bench's: no report beside its records
    await assert.rejects(Deno.stat(`${out}/report.json`), Deno.errors.NotFound);
    await Deno.remove(out, { recursive: true });
  },
});

Deno.test({
  name: "bench: a report that cannot be written is exit 3 naming it, the table printed and " +
    "records.jsonl whole, not an internal error",
  ignore: !gpu,
  fn: async () => {
    const out = await Deno.makeTempDir({ prefix: "mla_bench_write_" });
    const child = cliCommand([
      "bench",
      "--matrix",
      "tiny",
      "--reps",
      "1",
      "--warmup-ms",
      "0",
      "--out",
      out,
    ]).spawn();
    const deadline = Date.now() + 120_000;
    while (!(await Deno.readTextFile(`${out}/records.jsonl`).catch(() => "")).includes("tiny")) {
      assert.ok(Date.now() < deadline, "no case ended within 120 s");
      await new Promise((r) => setTimeout(r, 20));
    }
    // a summary.md that cannot be replaced, root or not (the bench removed the earlier one
    // when it started): the second case and the ceilings after it are still to come
    await Deno.mkdir(`${out}/summary.md/x`, { recursive: true });
    const r = await child.output();
    const err = new TextDecoder().decode(r.stderr);
    assert.equal(r.code, 3, err);
    assert.match(
      err,
      /summary\.md: cannot write: .*; records\.jsonl holds every record the bench measured, and the table above shows them \(free space, then the same bench with --resume writes the reports/,
    );
    assert.doesNotMatch(err, /internal error|\n {4}at /);
    assert.match(new TextDecoder().decode(r.stdout), /path=expanded.* ok /);
    const lines = (await Deno.readTextFile(`${out}/records.jsonl`)).trim().split("\n");
    assert.equal(lines.length, 2);
    await Deno.remove(out, { recursive: true });
  },
});

Deno.test({
  name: "bench: a full disk under report.json names the file once, exit 3",
  ignore: !gpu,
  fn: async () => {
    const out = await Deno.makeTempDir({ prefix: "mla_bench_full_" });
    try {
      const r = await new Deno.Command(Deno.execPath(), {
        args: [
          ...["run", "-A", new URL("./fixtures/disk_full_main.ts", import.meta.url).pathname],
          ...["bench", "--matrix", "tiny", "--filter", "path=absorbed;sq=1", "--reps", "1"],
          ...["--warmup-ms", "0", "--out", out],
        ],
        env: { NO_COLOR: "1", MLA_TEST_FULL_FILE: "report.json" },
        stdout: "null",
        stderr: "piped",
      }).output();
      const err = new TextDecoder().decode(r.stderr);
      assert.equal(r.code, 3, err);
      // it read "<out>/report.json: cannot write: <out>/report.json: No space left on device"
      assert.ok(
        err.includes(`error: ${out}/report.json: cannot write: No space left on device; `),
        err,
      );
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});
