// `history` with a case filter or --device that matches nothing in the database is exit 2
// naming what matched nothing and what the database holds (as `run` refuses a filter that
// selects no case), so `--fail-on-step` with a typo cannot pass silently.
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { checkHistoryFile, HistoryStore } from "../drift/mod.ts";
import { caseResult, reportOf } from "./drift_helpers.ts";
import { runCli } from "./helpers_cli.ts";

const A = "preset=tiny;path=absorbed;dtype=f32;b=2;sq=1;sk=20;layout=bshd;causal=1";
const E = "preset=tiny;path=expanded;dtype=f32;b=2;sq=1;sk=20;layout=bshd;causal=1";

/** A history database `db` of three nightly runs, each of the results `night` gives. */
async function threeNights(
  db: string,
  night: (n: number) => ReturnType<typeof caseResult>[],
): Promise<void> {
  const store = await HistoryStore.open(db);
  try {
    for (let n = 1; n <= 3; n++) {
      await store.append(
        reportOf(night(n), {
          startedAt: `2026-01-0${n}T02:00:00.000Z`,
          endedAt: `2026-01-0${n}T02:01:00.000Z`,
        }),
        { backend: "vulkan" },
      );
    }
  } finally {
    store.close();
  }
}

Deno.test("history: a filter or --device matching nothing is exit 2 naming it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const db = `${dir}/history.sqlite`;
    await threeNights(db, (night) => [caseResult(A, 1, night), caseResult(E, 2, night + 10)]);
    const history = (...args: string[]) => runCli(["history", "--db", db, ...args]);
    const refused: [string[], RegExp][] = [
      [
        ["preset=nosuch", "--fail-on-step"],
        /error: case filter preset=nosuch matches no median_ms value in .*history\.sqlite; its values of preset: tiny/,
      ],
      [
        ["path=absorbed;dtype=f16"],
        /matches no median_ms value .*; its values of path: absorbed, expanded; its values of dtype: f32/,
      ],
      [
        ["--device", "nosuch", "--fail-on-step"],
        /error: --device nosuch matches no run of .*history\.sqlite; its device keys: llvmpipe-65541-vulkan/,
      ],
      [["path=absorbed", "--device", "nosuch", "--json"], /--device nosuch matches no run/],
      [
        ["path=absorbed", "--metric", "out_max_abs"],
        /case filter path=absorbed matches no out_max_abs value/,
      ],
      [
        ["--device", "llvmpipe-65541-vulkan", "--metric", "out_max_abs"],
        /--device llvmpipe-65541-vulkan has runs in .* but no out_max_abs value/,
      ],
    ];
    for (const [args, message] of refused) {
      const r = await history(...args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, "", "nothing printed as an answer");
    }
    // what matches still answers, exit 0
    const ok = await history("path=absorbed", "--device", "llvmpipe-65541-vulkan");
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /median_ms over 3 runs/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// With no value of the metric at all, the message listed each filter key's values as
// "none", as if the filter had a typo.
Deno.test("history: a filter on a database without runs, or without the metric, says so (exit 2)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const empty = `${dir}/empty.sqlite`;
    (await HistoryStore.open(empty)).close();
    const e = await runCli(["history", "--db", empty, "preset=tiny"]);
    assert.equal(e.code, 2, e.stdout + e.stderr);
    assert.match(
      e.stderr,
      /case filter preset=tiny matches no median_ms value in .*empty\.sqlite: it holds no run yet \(record runs with run --history, or add them with history --add\)/,
    );
    assert.doesNotMatch(e.stderr, /its values of/);
    const db = `${dir}/history.sqlite`;
    await threeNights(db, (night) => [caseResult(A, 1, night)]);
    const m = await runCli(["history", "--db", db, "path=absorbed", "--metric", "lse_max_rel"]);
    assert.equal(m.code, 2, m.stdout + m.stderr);
    assert.match(
      m.stderr,
      /matches no lse_max_rel value in .*history\.sqlite: its runs record no lse_max_rel value \(try another --metric\)/,
    );
    // without a filter, an empty database is a plain answer
    const plain = await runCli(["history", "--db", empty]);
    assert.equal(plain.code, 0, plain.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("history: a value no harness writes (edited or damaged) names the database, run, case and column", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const db = `${dir}/history.sqlite`;
    await threeNights(db, (night) => [caseResult(A, 1, night)]);
    const sql = new DatabaseSync(db);
    sql.exec("UPDATE case_results SET median_ms = 'abc' WHERE run_id = 2");
    sql.close();
    const r = await runCli(["history", "--db", db]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `history\\.sqlite: run 2, case ${A}: case_results\\.median_ms is ` +
          `"abc", not a finite number >= 0`,
      ),
    );
    assert.doesNotMatch(r.stderr, /case filter/, "no filter was given");
    // a negative time or error (no harness writes one) was charted and searched for steps
    const neg = new DatabaseSync(db);
    neg.exec("UPDATE case_results SET median_ms = 1 WHERE run_id = 2");
    neg.exec("UPDATE case_results SET median_ms = -5, out_max_abs = -1e-7 WHERE run_id = 3");
    neg.close();
    for (const metric of ["median_ms", "out_max_abs"]) {
      const m = await runCli(["history", "--db", db, "--metric", metric]);
      assert.equal(m.code, 2, m.stdout + m.stderr);
      assert.match(
        m.stderr,
        new RegExp(
          `history\\.sqlite: run 3, case ${A}: case_results\\.${metric} is ` +
            `"-(5|1e-7)", not a finite number >= 0 .*edited or damaged`,
        ),
      );
      assert.equal(m.stdout, "", "no chart of the edited value");
    }
    // a folder where the database should be: the message names both options that take one
    const folder = await runCli(["history", "--db", dir]);
    assert.equal(folder.code, 2);
    assert.match(
      folder.stderr,
      /is a folder; a history database is a file \(run --history <file>, history --db <file>\)/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("history --add: two at once store a run once, the second waiting for the first's write", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const folder = `${dir}/run`;
    await Deno.mkdir(folder);
    await Deno.writeTextFile(
      `${folder}/report.json`,
      JSON.stringify(reportOf([caseResult(A, 1, 1), caseResult(E, 2, 11)])),
    );
    for (let attempt = 1; attempt <= 3; attempt++) {
      const db = `${dir}/h${attempt}.sqlite`;
      const [a, b] = await Promise.all([
        runCli(["history", "--db", db, "--add", folder, "--json"]),
        runCli(["history", "--db", db, "--add", folder, "--json"]),
      ]);
      for (const r of [a, b]) {
        assert.equal(r.code, 0, r.stderr);
        assert.doesNotMatch(r.stderr, /database is locked|internal error/);
      }
      const store = await HistoryStore.open(db);
      try {
        assert.equal(store.runs().length, 1, `attempt ${attempt}: the run stored once`);
      } finally {
        store.close();
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("history --alpha at or below 1/2000 is exit 2: no step could ever be flagged", async () => {
  // refused before the database is read: a nightly `--fail-on-step` with it never failed
  for (const alpha of ["0.0001", "0.0005"]) {
    const r = await runCli(["history", "--db", "/nonexistent/h.sqlite", "--alpha", alpha]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--alpha <p>' argument '0\.000[15]' is invalid/);
    assert.match(r.stderr, /at or below the permutation test's smallest p, 1\/2000 \(0\.0005\)/);
    assert.match(r.stderr, /give a number above 0\.0005 and below 1 \(default 0\.05\)/);
    assert.doesNotMatch(r.stderr, /no such history database/);
  }
  const ok = await runCli(["history", "--db", "/nonexistent/h.sqlite", "--alpha", "0.0006"]);
  assert.match(ok.stderr, /no such history database/);
});

Deno.test("history --db <a file>/h.sqlite names the file on the path (not run --history there)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla-history-file-on-path-" });
  try {
    await Deno.writeTextFile(`${dir}/afile`, "x");
    for (const db of [`${dir}/afile/h.sqlite`, `${dir}/afile/sub/h.sqlite`]) {
      const r = await runCli(["history", "--db", db]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(
          `^error: ${db}: no such history database, nor can there be one: ${dir}/afile is a ` +
            "file, not a folder; give a path of folders$",
          "m",
        ),
      );
      assert.doesNotMatch(r.stderr, /record runs with run --history|os error/);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("history: a filter given as two words is exit 2 naming the one filter they make", async () => {
  const r = await runCli(["history", "--db", "/nonexistent/h.sqlite", "preset=tiny", "dtype=f32"]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr,
    /^error: history takes one case filter, but was given "preset=tiny", "dtype=f32": join a filter's terms with ';' and quote it, e\.g\. 'preset=tiny;dtype=f32'/m,
  );
  assert.doesNotMatch(r.stderr, /no such history database/);
});

// --html in a missing folder was refused ("its folder ... does not exist") while --db in one
// was created: a nightly job writing into a dated folder failed on the chart alone.
Deno.test("history --html: a missing folder is created, as --db's is, and removed again on exit 2", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const db = `${dir}/history.sqlite`;
    await threeNights(db, (night) => [caseResult(A, 1, night)]);
    const html = `${dir}/nightly/2026-01-03/history.html`;
    const ok = await runCli(["history", "--db", db, "--html", html]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(await Deno.readTextFile(html), /<html/i);
    const refused = await runCli([
      "history",
      "preset=nosuch",
      "--db",
      db,
      "--html",
      `${dir}/gone/h.html`,
    ]);
    assert.equal(refused.code, 2, refused.stderr);
    await assert.rejects(Deno.stat(`${dir}/gone`), Deno.errors.NotFound, "no folder left behind");
    // a folder that is there (here a file) is the file's own check, naming the file
    const underFile = await runCli(["history", "--db", db, "--html", `${db}/h.html`]);
    assert.equal(underFile.code, 2, underFile.stderr);
    assert.match(
      underFile.stderr,
      /--html .*history\.sqlite\/h\.html: runs into .*history\.sqlite, which is a file/,
    );
    const help = await runCli(["history", "--help"]);
    assert.match(
      help.stdout.replace(/\s+/g, " "),
      /--html <file>.*its folder is created when missing/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Sets or clears the immutable flag (chattr), which even root cannot write through; false where chattr or the filesystem cannot. */
async function immutable(path: string, on: boolean): Promise<boolean> {
  try {
    const r = await new Deno.Command("chattr", { args: [on ? "+i" : "-i", path], stderr: "null" })
      .output();
    return r.success;
  } catch {
    return false;
  }
}

const CAN_CHATTR = await (async () => {
  const f = await Deno.makeTempFile();
  try {
    return await immutable(f, true) && await immutable(f, false);
  } finally {
    await Deno.remove(f).catch(() => {});
  }
})();

// A history database on a read-only filesystem (a CI artifact, a shared mount) was "not a
// history database (attempt to write a readonly database)", for a query too; and run --history
// found out only after the whole run.
Deno.test({
  name:
    "history: a database that cannot be written is queried read-only; storing a run is refused naming why",
  ignore: !CAN_CHATTR,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const db = `${dir}/history.sqlite`;
    const old = `${dir}/old.sqlite`;
    try {
      await threeNights(db, (night) => [caseResult(A, 1, night)]);
      await Deno.copyFile(db, old);
      const v1 = new DatabaseSync(old);
      v1.exec("PRAGMA user_version = 1");
      v1.close();
      assert.ok(await immutable(db, true) && await immutable(old, true));
      const query = await runCli(["history", "--db", db]);
      assert.equal(query.code, 0, query.stderr);
      assert.match(query.stdout, /median_ms over 3 runs/);
      await Deno.mkdir(`${dir}/run`);
      await Deno.writeTextFile(
        `${dir}/run/report.json`,
        JSON.stringify(reportOf([caseResult(A, 1, 4)])),
      );
      const [add, older] = await Promise.all([
        runCli(["history", "--db", db, "--add", `${dir}/run`]),
        runCli(["history", "--db", old]),
      ]);
      assert.equal(add.code, 2, add.stderr);
      assert.match(
        add.stderr,
        /history\.sqlite: cannot be written \(.*: a read-only file or filesystem\?\), and storing a run writes to it/,
      );
      assert.equal(older.code, 2, older.stderr);
      assert.match(
        older.stderr,
        /old\.sqlite: cannot be written .* a history database of an older harness/,
      );
    } finally {
      await immutable(db, false);
      await immutable(old, false);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

// run --history into a folder that cannot be made or written ran the whole matrix, then died
// with "internal error: Read-only file system ... mkdir" (or "cannot open (unable to open
// database file)"), the run not stored: now refused before any work, naming the folder.
Deno.test({
  name: "history: a new database in a folder that cannot be written is refused before any work",
  ignore: !CAN_CHATTR,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const locked = `${dir}/locked`;
    await Deno.mkdir(locked);
    try {
      await threeNights(`${dir}/h.sqlite`, (night) => [caseResult(A, 1, night)]);
      await Deno.mkdir(`${dir}/run`);
      await Deno.writeTextFile(
        `${dir}/run/report.json`,
        JSON.stringify(reportOf([caseResult(A, 1, 4)])),
      );
      assert.ok(await immutable(locked, true));
      for (const db of [`${locked}/h.sqlite`, `${locked}/sub/h.sqlite`]) {
        await assert.rejects(
          checkHistoryFile(db),
          new RegExp(`${db}: cannot be created: cannot write in ${locked} \\(`),
        );
        const r = await runCli(["history", "--db", db, "--add", `${dir}/run`]);
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, /cannot be created: cannot write in .*locked/);
      }
      // a file on the way is named as such
      await assert.rejects(
        checkHistoryFile(`${dir}/h.sqlite/x.sqlite`),
        /cannot be created: .*h\.sqlite is a file, not a folder/,
      );
      // a query reads only: no folder check
      await checkHistoryFile(`${locked}/h.sqlite`, { write: false });
    } finally {
      await immutable(locked, false);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

// `history --add --label` stored the label, and history showed it nowhere (text or JSON).
Deno.test("history: the runs' labels are listed (text and JSON), '-' for a run without one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const db = `${dir}/history.sqlite`;
    await threeNights(db, (night) => [caseResult(A, 1, night)]);
    await Deno.mkdir(`${dir}/run`);
    await Deno.writeTextFile(
      `${dir}/run/report.json`,
      JSON.stringify(reportOf([caseResult(A, 1, 4)], {
        startedAt: "2026-01-04T02:00:00.000Z",
        endedAt: "2026-01-04T02:01:00.000Z",
      })),
    );
    const text = await runCli([
      "history",
      "--db",
      db,
      "--add",
      `${dir}/run`,
      "--label",
      "after driver 25.1",
    ]);
    assert.equal(text.code, 0, text.stderr);
    // on a fresh machine (GL) the run added is another device than the three nights (Vulkan), so a
    // device column stands between value and label
    assert.match(text.stdout, /value( +device)? +label\n/);
    assert.match(text.stdout, /\n {2}1 .* -\n/);
    assert.match(text.stdout, /\n {2}4 .* {2}after driver 25\.1\n/);
    const json = await runCli(["history", "--db", db, "--json"]);
    const [s] = JSON.parse(json.stdout) as { points: { runId: number; label?: string }[] }[];
    assert.deepEqual(s.points.map((p) => p.label ?? null), [null, null, null, "after driver 25.1"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
