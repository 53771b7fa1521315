import assert from "node:assert/strict";
import { ConfigError } from "../adapter/errors.ts";
import { readJsonFile } from "../adapter/json_file.ts";
import { jsonSyntaxProblem, scanJson } from "../adapter/json_scan.ts";
import { HistoryStore } from "../drift/mod.ts";
import { runCli } from "./helpers_cli.ts";

Deno.test("scanJson: syntax errors with line and column, never the text", () => {
  const p = scanJson('{\n  "a": 1,\n  "b": tru\n}');
  assert.deepEqual(p && { line: p.line, column: p.column }, { line: 3, column: 8 });
  assert.match(p!.message, /expected a value/);
  assert.equal(scanJson('{"a": [1, 2]}'), null);
  assert.match(scanJson("[1, 2")!.message, /unexpected end of input/);
  assert.match(scanJson('{"a": 1,}')!.message, /property name in double quotes/);
  assert.match(scanJson('"\\q"')!.message, /invalid escape/);
  assert.match(scanJson("1 2")!.message, /unexpected content after the JSON value/);
  // deep nesting is scanned without recursion
  assert.equal(scanJson("[".repeat(50_000) + "]".repeat(50_000)), null);
});

Deno.test("scanJson: repeated keys are found at any depth, escaped spellings included", () => {
  assert.equal(scanJson('{"a": 1, "a": 2}'), null, "syntax only by default");
  const dup = (t: string) => scanJson(t, { duplicateKeys: true })?.message;
  assert.equal(dup('{"a": 1, "a": 2}'), 'key "a" appears more than once in (root)');
  assert.equal(
    dup('{"x": {"y": [0, {"k": 1, "k": 2}]}}'),
    'key "k" appears more than once in x.y[1]',
  );
  assert.equal(dup('{"w": 1, "\\u0077": 2}'), 'key "w" appears more than once in (root)');
  assert.equal(dup('{"a": {"k": 1}, "b": {"k": 1}}'), undefined, "same key in two objects is fine");
});

Deno.test("readJsonFile: a file that is not JSON is named with a position, its content never quoted", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/passwd.json`;
    await Deno.writeTextFile(path, "root:x:0:0:root:/root:/bin/bash\nsecret-line\n");
    const e = await readJsonFile(path, { what: "config" }).then(() => null, (e) => e);
    assert.ok(e instanceof ConfigError, String(e));
    assert.match(e.message, /passwd\.json: malformed config/);
    assert.match(e.message, /is not valid JSON: expected a value .* at line 1, column 1/);
    assert.ok(!/root:x|secret-line|bin\/bash/.test(e.message), e.message);
    await Deno.writeTextFile(path, '{"kv_lora_rank": 512, "kv_lora_rank": 64}');
    await assert.rejects(
      () => readJsonFile(path, { what: "config" }),
      /key "kv_lora_rank" appears more than once in \(root\) \(line 1, column 23\)/,
    );
    await Deno.writeTextFile(path, "  \n");
    await assert.rejects(() => readJsonFile(path, { what: "config" }), /the file is empty/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// A `// comment` read "expected a property name in double quotes at line 2, column 3", a
// trailing comma "expected a value ...", and a folder given for the file "cannot be read (Is
// a directory (os error 21) ...)": each now names the likely cause, where it is, and the fix.
Deno.test("readJsonFile: a comment, a trailing comma or a folder is named as such", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/m.json`;
    const refusal = async (text: string) => {
      await Deno.writeTextFile(path, text);
      const e = await readJsonFile(path, { what: "matrix" }).then(() => null, (e) => e);
      assert.ok(e instanceof ConfigError, String(e));
      return e.message;
    };
    assert.match(
      await refusal('{"name": "m",\n  // smoke only\n  "groups": []}'),
      /is not valid JSON: a comment at line 2, column 3: JSON has no comments \(remove it\)/,
    );
    assert.match(
      await refusal('{"a": {"b": 1,\n}}'),
      /a trailing comma before \} at line 2, column 1 \(remove the comma\)/,
    );
    assert.match(
      await refusal('{"a": [1, 2, ]}'),
      /a trailing comma before \] at line 1, column 14 \(remove the comma\)/,
    );
    assert.match(await refusal("{'a': 1}"), /single quotes at line 1, column 2/);
    // a "__proto__" key (kept by JSON.parse, dropped by a schema's record) is named
    assert.match(
      await refusal('{"limits": {"maxBufferSize": 4, "__proto__": 5}}'),
      /holds the key "__proto__" at limits\.__proto__, which JavaScript objects reserve/,
    );
    // other problems keep the scanner's words
    assert.match(await refusal('{"a": }'), /expected a value .* at line 1, column 7/);
    const folder = await readJsonFile(dir, { what: "matrix" }).then(() => null, (e) => e);
    assert.ok(folder instanceof ConfigError, String(folder));
    assert.match(
      folder.message,
      /is a folder, not a matrix file: give the file itself \(its JSON files: m\.json\)/,
    );
    // a `what` that already says file: "not a caps file file" read doubled
    const caps = await readJsonFile(dir, { what: "caps file" }).then(() => null, (e) => e);
    assert.ok(caps instanceof ConfigError, String(caps));
    assert.match(caps.message, /is a folder, not a caps file: give the file itself/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("reports, baselines and thresholds that are not JSON: where, never the file's bytes", async () => {
  assert.equal(jsonSyntaxProblem(""), "not valid JSON (empty)");
  assert.match(
    jsonSyntaxProblem('{"a": }'),
    /^not valid JSON \(expected a value .* at line 1, column 7\)$/,
  );
  const dir = await Deno.makeTempDir();
  try {
    // control characters and a secret-looking string: JSON.parse's message would quote them
    const path = `${dir}/garbage.json`;
    await Deno.writeTextFile(path, '{"token": "s3cr3t", "a":\u0001\u0002 x');
    const r = await runCli(["compare", path, path]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /garbage\.json: not valid JSON \(.* at line 1, column 25\)/);
    assert.ok(!r.stderr.includes("s3cr3t") && !r.stderr.includes("\u0001"), r.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// A history database given where a report or baseline goes (history --add <db>, compare
// <db> ...) said "expected a value ... at line 1, column 1": now what the file is.
Deno.test("a history database given as a report or baseline is named as one (exit 2)", async () => {
  assert.match(
    jsonSyntaxProblem("SQLite format 3\u0000\u0010\u0000"),
    /^not valid JSON: an SQLite database file \(a history database is read by history --db/,
  );
  const dir = await Deno.makeTempDir();
  try {
    const db = `${dir}/h.sqlite`;
    // an empty history database, as the harness makes it
    (await HistoryStore.open(db)).close();
    for (
      const args of [
        ["history", "--db", `${dir}/other.sqlite`, "--add", db],
        ["compare", db, db],
        ["baseline", "update", "--from-report", db, "--dir", `${dir}/b`],
      ]
    ) {
      const r = await runCli(args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /h\.sqlite: not valid JSON: an SQLite database file/, args.join(" "));
      assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
