import assert from "node:assert/strict";
import {
  JsonlWriter,
  readJsonl,
  readReportJson,
  repairJsonl,
  ReportFileError,
  writeReportJson,
} from "../report/mod.ts";
import { mixedResults, report, withTempDir } from "./report_util.ts";

Deno.test("jsonl: written results read back equal, in order", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/results.jsonl`;
    const results = mixedResults();
    const w = await JsonlWriter.open(path);
    // Concurrent writes land whole and in call order.
    await Promise.all(results.map((r) => w.write(r)));
    assert.equal(w.count, results.length);
    await w.close();
    const text = await Deno.readTextFile(path);
    assert.equal(text.split("\n").length, results.length + 1);
    const back = await readJsonl(path);
    assert.deepEqual(back.results, JSON.parse(JSON.stringify(results)));
    assert.equal(back.corruptTail, false);
    assert.deepEqual(back.badLines, []);
  });
});

Deno.test("jsonl: reopening appends instead of truncating", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/results.jsonl`;
    const [a, b] = mixedResults();
    const w1 = await JsonlWriter.open(path);
    await w1.write(a);
    await w1.close();
    const w2 = await JsonlWriter.open(path);
    await w2.write(b);
    await w2.close();
    assert.deepEqual((await readJsonl(path)).results.map((r) => r.id), [a.id, b.id]);
  });
});

Deno.test("jsonl: a truncated last line is tolerated, reported and repaired", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/results.jsonl`;
    const [a, b, c] = mixedResults();
    const w = await JsonlWriter.open(path);
    await w.write(a);
    await w.write(b);
    await w.close();
    const whole = JSON.stringify(c);
    await Deno.writeTextFile(path, whole.slice(0, 40), { append: true }); // killed mid-write
    const got = await readJsonl(path);
    assert.equal(got.corruptTail, true);
    assert.deepEqual(got.results.map((r) => r.id), [a.id, b.id]);
    assert.deepEqual(got.badLines, [{ line: 3, text: whole.slice(0, 40) }]);

    assert.equal(await repairJsonl(path), 40);
    const fixed = await readJsonl(path);
    assert.equal(fixed.corruptTail, false);
    assert.equal(fixed.results.length, 2);
    assert.ok((await Deno.readTextFile(path)).endsWith("\n"));
    assert.equal(await repairJsonl(path), 0); // idempotent
  });
});

Deno.test("jsonl: opening a writer on a truncated file cuts the fragment first", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/results.jsonl`;
    const [a, b] = mixedResults();
    await Deno.writeTextFile(path, JSON.stringify(a) + "\n" + '{"id":"half');
    const w = await JsonlWriter.open(path);
    await w.write(b);
    await w.close();
    const got = await readJsonl(path);
    assert.equal(got.corruptTail, false);
    assert.deepEqual(got.results.map((r) => r.id), [a.id, b.id]);
  });
});

Deno.test("jsonl: an unterminated but whole last record is kept", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/results.jsonl`;
    const [a, b] = mixedResults();
    await Deno.writeTextFile(path, JSON.stringify(a) + "\n" + JSON.stringify(b));
    const got = await readJsonl(path);
    assert.equal(got.corruptTail, false);
    assert.equal(got.results.length, 2);
    assert.equal(await repairJsonl(path), 0);
    assert.ok((await Deno.readTextFile(path)).endsWith("}\n"));
  });
});

Deno.test("jsonl: a malformed middle line is an error naming file and line", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/results.jsonl`;
    const [a, b] = mixedResults();
    await Deno.writeTextFile(
      path,
      [JSON.stringify(a), "{not json", JSON.stringify(b), ""].join("\n"),
    );
    await assert.rejects(readJsonl(path), (e: unknown) => {
      assert.ok(e instanceof ReportFileError);
      assert.equal(e.line, 2);
      assert.match(e.message, new RegExp(`^${path.replace(/[.]/g, "\\.")}:2: not valid JSON`));
      return true;
    });
    const lenient = await readJsonl(path, { lenient: true });
    assert.equal(lenient.results.length, 2);
    assert.deepEqual(lenient.badLines, [{ line: 2, text: "{not json" }]);
  });
});

Deno.test("jsonl and report.json: a leading byte order mark (a Windows editor's save) is read past", async () => {
  // merge and resume refused the folder: "results.jsonl:1: not valid JSON (... at line 1,
  // column 1)", naming nothing to fix
  await withTempDir(async (dir) => {
    const [a, b] = mixedResults();
    await Deno.writeTextFile(
      `${dir}/results.jsonl`,
      "\uFEFF" + [JSON.stringify(a), JSON.stringify(b), ""].join("\n"),
    );
    const read = await readJsonl(`${dir}/results.jsonl`);
    assert.deepEqual(read.results, [a, b]);
    assert.equal(read.corruptTail, false);
    const r = report([a, b]);
    await writeReportJson(`${dir}/report.json`, r);
    await Deno.writeTextFile(
      `${dir}/report.json`,
      "\uFEFF" + await Deno.readTextFile(`${dir}/report.json`),
    );
    assert.deepEqual((await readReportJson(`${dir}/report.json`)).results, r.results);
  });
});

Deno.test("jsonl: a JSON line that is not a case result names the field", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/results.jsonl`;
    const [a] = mixedResults();
    await Deno.writeTextFile(path, `{"id":"x","status":"maybe"}\n${JSON.stringify(a)}\n`);
    await assert.rejects(readJsonl(path), /results\.jsonl:1: not a case result: field "status"/);
  });
});

Deno.test("jsonl: a parity record the reports cannot read names its field, not a TypeError", async () => {
  // merge of a results.jsonl whose headroom was null (an Infinity through JSON.stringify) said
  // "internal error: TypeError: Cannot read properties of null (reading 'toExponential')"
  // after writing report.json and junit.xml
  await withTempDir(async (dir) => {
    const path = `${dir}/results.jsonl`;
    const fail = mixedResults().find((r) => r.out !== undefined)!;
    const cases: [Record<string, unknown>, RegExp][] = [
      [
        { headroom: null },
        /field "out\.headroom" must be a finite number >= 0 or absent \(got null\)/,
      ],
      [{ headroom: -1 }, /field "out\.headroom"/],
      [{ summary: undefined }, /field "out\.summary" must be a string \(got nothing\)/],
      [{ checks: "elementwise" }, /field "out\.checks" must be a list of strings/],
      [{ maxAbsAt: "0,1" }, /field "out\.maxAbsAt" must be a list of numbers or null/],
      [{ worst: { got: 1, want: 2 } }, /field "out\.worst" must be an object whose "at"/],
      [{ nonfinite: { count: 2 } }, /field "out\.nonfinite" must be an object whose "firstAt"/],
    ];
    for (const [over, message] of cases) {
      await Deno.writeTextFile(
        path,
        JSON.stringify({ ...fail, out: { ...fail.out, ...over } }) + "\n",
      );
      await assert.rejects(readJsonl(path), message, JSON.stringify(over));
    }
    // what the runner writes reads back
    await Deno.writeTextFile(path, mixedResults().map((r) => JSON.stringify(r) + "\n").join(""));
    assert.equal((await readJsonl(path)).results.length, mixedResults().length);
  });
});

Deno.test("json: report.json is written atomically and read back; errors name the file", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/report.json`;
    const r = report(mixedResults());
    await writeReportJson(path, r);
    assert.deepEqual(await readReportJson(path), JSON.parse(JSON.stringify(r)));
    // No temp file left behind.
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assert.deepEqual(names, ["report.json"]);

    await assert.rejects(readReportJson(`${dir}/nope.json`), /nope\.json: missing/);
    await Deno.writeTextFile(path, "{nope}");
    await assert.rejects(readReportJson(path), /report\.json: not valid JSON/);
    // one that ends partway through (a partial copy, a write lost in a crash) is said so
    await Deno.writeTextFile(path, "{");
    await assert.rejects(readReportJson(path), /report\.json: half-written: it ends partway/);
    await Deno.writeTextFile(path, JSON.stringify({ ...r, matrixIds: "all" }));
    await assert.rejects(readReportJson(path), /report\.json: not a run report: field "matrixIds"/);
  });
});

Deno.test("jsonl: a process killed after writing keeps every finished line", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/results.jsonl`;
    const results = mixedResults();
    const script = `${dir}/child.ts`;
    await Deno.writeTextFile(
      script,
      `import { JsonlWriter } from ${
        JSON.stringify(new URL("../report/jsonl.ts", import.meta.url).href)
      };
const results = JSON.parse(Deno.args[1]);
const w = await JsonlWriter.open(Deno.args[0]);
for (const r of results) await w.write(r);
console.log("written");
setInterval(() => {}, 1000); // never closes the writer
`,
    );
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", "--allow-write", script, path, JSON.stringify(results)],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = child.stdout.getReader();
    let seen = "";
    while (!seen.includes("written")) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += new TextDecoder().decode(value);
    }
    child.kill("SIGKILL");
    reader.releaseLock();
    await child.stdout.cancel();
    const status = await child.status;
    assert.equal(status.success, false);
    assert.ok(seen.includes("written"));
    const got = await readJsonl(path);
    assert.deepEqual(got.results.map((r) => r.id), results.map((r) => r.id));
    assert.equal(got.corruptTail, false);
  });
});
