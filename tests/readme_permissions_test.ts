/**
 * README.md's Permissions table says what deno.json's tasks grant: the `run`/`harness` row's
 * flags and the environment variables its "why" names are the tasks' `--allow-env` list, the
 * `bench` row's "as `run`, without ..." takes away exactly what the bench task lacks, and the
 * `upgrade-check` and `test` rows give their tasks' flags. The bench row named `CHROME_PATH`
 * alone, where the task also leaves out `MLA_HARNESS_CHROMIUM_TIMEOUT`.
 */
import assert from "node:assert/strict";
import { ROOT, TASKS } from "./harness_spec.ts";

/** The `--allow-*` flags of a task, in its order. */
function grants(task: string): string[] {
  return task.split(/\s+/).filter((w) => w.startsWith("--allow-"));
}

/** The variables of a task's `--allow-env=<list>`. */
function envList(task: string): string[] {
  return grants(task).find((g) => g.startsWith("--allow-env="))!.slice("--allow-env=".length)
    .split(",");
}

/** The README table's rows by their first cell, each as its cells. */
function permissionRows(readme: string): Map<string, string[]> {
  const start = readme.indexOf("### Permissions");
  assert.ok(start >= 0, "README.md has a Permissions section");
  const rows = new Map<string, string[]>();
  for (const line of readme.slice(start).split("\n")) {
    if (rows.size > 0 && !line.startsWith("|")) break;
    if (!line.startsWith("| `")) continue;
    const cells = line.split("|").slice(1, -1).map((c) => c.trim());
    rows.set(cells[0], cells);
  }
  return rows;
}

/** The `code spans` of a cell. */
function spans(cell: string): string[] {
  return [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
}

const rows = permissionRows(await Deno.readTextFile(`${ROOT}README.md`));
const isVariable = (s: string) => /^[A-Z][A-Z0-9_]+$/.test(s);

Deno.test("README permissions: the run and harness row is the two tasks' grants", () => {
  const [, flags, why] = rows.get("`run`, `harness`")!;
  assert.equal(TASKS.run.replace(/ main\.ts .*$/, ""), TASKS.harness.replace(/ main\.ts$/, ""));
  const listed = spans(flags)[0].split(" ").map((f) => f.replace(/^--allow-env=<list>$/, "env"));
  const given = grants(TASKS.run).map((g) => g.startsWith("--allow-env=") ? "env" : g);
  assert.deepEqual(listed, given);
  assert.deepEqual(spans(why).filter(isVariable).sort(), envList(TASKS.run).sort());
});

Deno.test("README permissions: the bench row takes away what the bench task lacks", () => {
  const [, as] = rows.get("`bench`")!;
  assert.match(as, /^as `run`, without /);
  const removed = spans(as).slice(1);
  const flags = (t: string) => grants(t).map((g) => g.replace(/=.*$/, ""));
  assert.deepEqual(
    flags(TASKS.run).filter((f) => !removed.includes(f)),
    flags(TASKS.bench),
    `flags: ${removed.join(", ")}`,
  );
  assert.deepEqual(
    envList(TASKS.run).filter((v) => !removed.includes(v)),
    envList(TASKS.bench),
    `variables: ${removed.join(", ")}`,
  );
  // what it keeps, it keeps as run has it (--allow-sys=cpus,uid,loadavg)
  const kept = (t: string) => grants(t).filter((g) => !g.startsWith("--allow-env="));
  assert.deepEqual(
    kept(TASKS.bench),
    kept(TASKS.run).filter((g) => flags(TASKS.bench).includes(g.replace(/=.*$/, ""))),
  );
});

Deno.test("README permissions: the upgrade-check and test rows are their tasks' flags", () => {
  for (const name of ["upgrade-check", "test"]) {
    const [, flags] = rows.get(`\`${name}\``)!;
    assert.deepEqual(spans(flags)[0].split(" "), grants(TASKS[name]), name);
  }
});
