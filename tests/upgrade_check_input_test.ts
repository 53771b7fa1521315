// upgrade-check's input, refused before any side starts: --matrix and --filter as `run`
// refuses them (exit 2, the same message), an --html naming one of the check's own outputs
// (exit 2 naming both), and npx or git missing from PATH (exit 3 naming the program and
// what it is for, not a stack trace). The CLI runs with PATH set to an empty folder: were a
// check missing, the first side would fail to start npx (or git), not fetch a Deno.
import assert from "node:assert/strict";
import { precheckUpgradeSelection, upgradeCheck, upgradePrograms } from "../drift/mod.ts";
import { type CliResult, runCli } from "./helpers_cli.ts";

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** A test with its own temporary folder (and an empty one for PATH), removed when it passes. */
function tmpTest(name: string, fn: (dir: string, emptyPath: string) => Promise<void>): void {
  Deno.test(name, async () => {
    const dir = await Deno.makeTempDir({ prefix: "mla-upgrade-input-" });
    await Deno.mkdir(`${dir}/empty-path`);
    await fn(dir, `${dir}/empty-path`);
    await Deno.remove(dir, { recursive: true });
  });
}

/** `deno run -A main.ts upgrade-check ...args` with PATH an empty folder. */
const upgradeNoPath = (emptyPath: string, args: string[]) =>
  runCli(["upgrade-check", ...args], { PATH: emptyPath }, { all: true });

/** The one `error:` line (and those indented under it) of a CLI's stderr. */
function errorOf(r: CliResult): string {
  const lines = r.stderr.split("\n");
  const i = lines.findIndex((l) => l.startsWith("error: "));
  assert.ok(i >= 0, r.stderr);
  const rest = lines.slice(i + 1);
  const end = rest.findIndex((l) => !l.startsWith(" "));
  return [lines[i], ...rest.slice(0, end < 0 ? rest.length : end)].join("\n");
}

function assertNoTrace(r: CliResult): void {
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at /, "no stack trace");
}

tmpTest(
  "upgrade-check --matrix/--filter: exit 2 with run's message, before any side",
  async (dir, empty) => {
    const cases: string[][] = [
      ["--filter", "preset=no-such-preset"],
      ["--filter", "presettiny"],
      ["--matrix", `${dir}/no-such-matrix.json`],
    ];
    for (const bad of cases) {
      const up = await upgradeNoPath(empty, [
        "--from",
        "2.9.5",
        "--to",
        "2.9.6",
        "--out",
        `${dir}/up`,
        ...bad,
      ]);
      assert.equal(up.code, 2, up.stdout + up.stderr);
      assertNoTrace(up);
      const run = await runCli(["run", "--out", `${dir}/run`, ...bad]);
      assert.equal(run.code, 2, run.stdout + run.stderr);
      assert.equal(errorOf(up), errorOf(run), `${bad.join(" ")}: upgrade-check says what run says`);
    }
    // the chromium side runs this checkout too
    const chromium = await upgradeNoPath(empty, [
      "--from",
      "2.9.5",
      "--to",
      "chromium",
      "--filter",
      "dtype=f64",
      "--out",
      `${dir}/up`,
    ]);
    assert.equal(chromium.code, 2, chromium.stderr);
    assert.match(chromium.stderr, /filter value dtype=f64/);
    // nothing made: no output folder left behind
    await assert.rejects(() => Deno.stat(`${dir}/up`), Deno.errors.NotFound);
  },
);

Deno.test("precheckUpgradeSelection: versions are checked here, revisions by their own run", async () => {
  await precheckUpgradeSelection({
    from: "2.9.5",
    to: "2.9.6",
    matrix: "smoke",
    filter: "preset=tiny",
  });
  await assert.rejects(
    () => precheckUpgradeSelection({ from: "2.9.5", to: "2.9.6", matrix: "smoke", filter: "x" }),
    RangeError,
  );
  // another revision may have other matrices and axes: not judged by this checkout
  await precheckUpgradeSelection({ fromRef: "v1", toRef: "v2", matrix: "future", filter: "x=1" });
});

tmpTest(
  "upgrade-check --html naming one of its own outputs: exit 2 naming both",
  async (dir, empty) => {
    const out = `${dir}/up`;
    const up = (...args: string[]) =>
      upgradeNoPath(empty, ["--from", "2.9.5", "--to", "2.9.6", "--out", out, ...args]);
    const refused: [string[], RegExp][] = [
      [["--html", `${out}/compare.md`], /is the file --out \(compare\.md\) writes too/],
      [["--html", `${out}/./compare.json`], /is the file --out \(compare\.json\) writes too/],
      [
        ["--html", `${out}/from/report.json`],
        /is the file --out \(from\/report\.json\) writes too/,
      ],
      [
        ["--rounds", "2", "--html", `${out}/to/round-2/report.html`],
        /is the file --out \(to\/round-2\/report\.html\) writes too/,
      ],
      [["--html", `${out}/to`], /is the folder the to side's run writes in \(--out /],
    ];
    for (const [args, message] of refused) {
      const r = await up(...args);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assertNoTrace(r);
      assert.match(r.stderr, new RegExp(`error: --html ${esc(args.at(-1)!)}: `));
      assert.match(r.stderr, message);
    }
    // a compare.md from an earlier check is not overwritten by the refused one
    await Deno.mkdir(out, { recursive: true });
    await Deno.writeTextFile(`${out}/compare.md`, "earlier");
    assert.equal((await up("--html", `${out}/compare.md`)).code, 2);
    assert.equal(await Deno.readTextFile(`${out}/compare.md`), "earlier");
    // --out's compare.json would overwrite the --thresholds it reads
    await Deno.writeTextFile(`${out}/compare.json`, "{}");
    const t = await up("--thresholds", `${out}/compare.json`);
    assert.equal(t.code, 2, t.stderr);
    assert.match(
      t.stderr,
      /--out \(compare\.json\) .*: is .*compare\.json, which --thresholds reads/,
    );
  },
);

tmpTest(
  "upgrade-check without npx or git on PATH: exit 3 naming the program and its use",
  async (dir, empty) => {
    const versions = await upgradeNoPath(empty, [
      "--from",
      "2.9.5",
      "--to",
      "2.9.6",
      "--out",
      `${dir}/up`,
    ]);
    assert.equal(versions.code, 3, versions.stdout + versions.stderr);
    assertNoTrace(versions);
    assert.match(
      versions.stderr,
      /error: npx is not on PATH; upgrade-check needs it to fetch and run Deno 2\.9\.5 and 2\.9\.6 \(`npx --yes deno@<version>`\)/,
    );
    const refs = await upgradeNoPath(empty, [
      "--from-ref",
      "HEAD",
      "--to-ref",
      "HEAD",
      "--out",
      `${dir}/up`,
    ]);
    assert.equal(refs.code, 3, refs.stdout + refs.stderr);
    assertNoTrace(refs);
    assert.match(
      refs.stderr,
      /error: git is not on PATH; upgrade-check needs it to check out --from-ref HEAD and --to-ref HEAD/,
    );
    // the output folder it created is removed again
    await assert.rejects(() => Deno.stat(`${dir}/up`), Deno.errors.NotFound);
    // which programs each kind of check starts by name
    assert.deepEqual(upgradePrograms({ from: "chromium", to: "chromium:/opt/c" }), []);
    assert.equal(upgradePrograms({ from: "deno@2.9.5", to: "chromium" })[0].program, "npx");
  },
);

tmpTest(
  "upgradeCheck (library): a program that cannot be started is one message",
  async (dir, empty) => {
    const path = Deno.env.get("PATH");
    Deno.env.set("PATH", empty);
    try {
      await assert.rejects(
        () =>
          upgradeCheck({
            fromRef: "HEAD",
            toRef: "HEAD",
            matrix: "smoke",
            repeats: 1,
            out: `${dir}/up`,
            log: () => {},
          }),
        /^Error: upgrade-check: could not start git for git worktree .*is it installed and on PATH\?/,
      );
      await assert.rejects(
        () =>
          upgradeCheck({
            from: "2.9.5",
            to: "2.9.6",
            matrix: "smoke",
            repeats: 1,
            out: `${dir}/up`,
            log: () => {},
          }),
        /upgrade-check: could not start npx for the deno 2\.9\.5 side/,
      );
    } finally {
      if (path === undefined) Deno.env.delete("PATH");
      else Deno.env.set("PATH", path);
    }
  },
);
