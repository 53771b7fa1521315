/**
 * `upgrade-check`: run the same matrix under two Deno versions (fetched from npm with
 * `npx --yes deno@X`) or two git revisions of the harness and kernels (each checked out
 * with `git worktree add` into a temporary folder, removed afterwards), one after the
 * other, then compare the second run with the first. The one-command answer to "is this
 * upgrade safe for our kernels?". Nothing here runs a kernel: the runs are subprocesses.
 *
 * @module
 */
import { isAbsolute, normalize as normalizePath, resolve as resolvePath } from "node:path";
import { readReportJson } from "../report/json.ts";
import { shellWord } from "../report/finish_commands.ts";
import {
  checkOutputsApart,
  type LabelledPath,
  runOutputFiles,
  sameFile,
} from "../report/output_overlap.ts";
import { lockHeld, pathExists } from "../util/fs.ts";
import { OutputPathError, roundOutDir } from "../report/output_paths.ts";
import { BUNDLED_MATRICES, matrixFileOf } from "../matrix/expand.ts";
import { didYouMean } from "../util/edit_distance.ts";
import { checkFilterSyntax } from "../matrix/case_id.ts";
import { selectMatrixCases } from "../matrix/select.ts";
import { checkCasesInCommon, COMPARE_FILES } from "./after_run.ts";
import { baselineFromReport } from "./baseline.ts";
import { compareBaselines, type CompareBaselinesOptions } from "./compare.ts";
import { DriftInputError } from "./errors.ts";
import { poolRounds } from "./pool.ts";
import { unusedBackends } from "../report/unused_backends.ts";
import type { CompareReport } from "./types.ts";
import { parseRuntimeSpec, runtimeSpecLabel } from "./runtime_spec.ts";
import {
  listenableStopSignals,
  STOP_WHEN_STDIN_CLOSES,
  type StopSignal,
} from "../util/stop_signals.ts";

/** One side of an upgrade check: the command that runs the matrix. */
export interface UpgradeSide {
  /** "deno 2.9.5" or "ref v1.2". */
  readonly label: string;
  /** Executable. */
  readonly command: string;
  /** Its arguments. */
  readonly args: readonly string[];
  /** Working directory (the repository, or a worktree of the ref). */
  readonly cwd: string;
  /** Extra environment. */
  readonly env: Readonly<Record<string, string>>;
  /** Where the run writes report.json. */
  readonly outDir: string;
}

/** A side with its `--out` (and outDir) moved to another folder (one per round). */
function inFolder(side: UpgradeSide, outDir: string): UpgradeSide {
  const args = [...side.args];
  const i = args.indexOf("--out");
  if (i >= 0) args[i + 1] = outDir;
  return { ...side, args, outDir };
}

/** Runs one side; returns the exit code. */
export type SideRunner = (side: UpgradeSide) => Promise<number>;

/**
 * The `--from-ref`/`--to-ref` value that names this checkout as it is, uncommitted edits and
 * untracked files included (a kernel being changed, before it is committed): its side runs
 * in the repository itself, with no worktree. `.` is no git revision name, so it cannot
 * shadow one.
 */
export const WORKING_TREE_REF = ".";

/** Runs git with arguments in a folder; returns the exit code and output. */
export type GitRunner = (
  cwd: string,
  args: readonly string[],
) => Promise<{ code: number; output: string }>;

/** Options of {@link upgradeCheck}. */
export interface UpgradeCheckOptions extends CompareBaselinesOptions {
  /** Deno version of the baseline side (with `to`). */
  from?: string;
  /** Deno version of the candidate side. */
  to?: string;
  /** Git revision of the baseline side (with `toRef`). */
  fromRef?: string;
  /** Git revision of the candidate side ({@link WORKING_TREE_REF}: this checkout as it is). */
  toRef?: string;
  /** Matrix name or file (a file path must exist in both revisions for refs). */
  matrix: string;
  /** Case filter. */
  filter?: string;
  /** `run --max-cases` of each side (default: run's). */
  maxCases?: number;
  /**
   * `run --config-root` of each side, passed as typed: a relative one is read where the side
   * runs, as `matrix` (with revisions: in each revision's checkout).
   */
  configRoot?: string;
  /** User backend modules (absolute paths or URLs) both sides load (`--backend-module`). */
  backendModules?: readonly string[];
  /** Run every case on this backend on both sides (`--backend`). */
  backend?: string;
  /** Timed repetitions per case and round (10 gives the speed test enough samples). */
  repeats: number;
  /**
   * Rounds per side, alternated (from, to, from, to, ...) and pooled per side (default 1;
   * 3 on a loaded machine, see `pool.ts`).
   */
  rounds?: number;
  /** Reference rows per case at most. */
  maxRows?: number;
  /** Output folder: `<out>/from`, `<out>/to`, `<out>/compare.md`, `<out>/compare.json`. */
  out: string;
  /** Repository root (default: the folder above drift/). */
  repoRoot?: string;
  /** Runs a side (default: a subprocess, its stdout forwarded to stderr). */
  runSide?: SideRunner;
  /** Runs git (default: a subprocess). */
  git?: GitRunner;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
}

/** Result of {@link upgradeCheck}. */
export interface UpgradeCheckResult {
  /** The comparison (from = baseline, to = current). */
  readonly report: CompareReport;
  /** Labels of the two sides. */
  readonly labels: readonly [string, string];
  /**
   * The labels of the sides where `--backend` ran none of the cases expected to run, for
   * reasons other than what the device lacks (each side's run said why and exited 1): the
   * check compared nothing of that backend there and fails. Absent when none.
   */
  readonly backendRanNothing?: readonly string[];
}

function absolute(path: string): string {
  return path.startsWith("/") ? path : `${Deno.cwd()}/${path}`.replace(/\/\.\//g, "/");
}

/**
 * What every side's run gets in its environment: no colour, and `GITHUB_STEP_SUMMARY` empty
 * (unset for `run`): each side's run appended its own summary.md there, two run summaries
 * with the same heading and neither the check's verdict, which a support or speed drift
 * between two passing sides left all green; the check appends its compare.md instead.
 */
const SIDE_ENV: Readonly<Record<string, string>> = { NO_COLOR: "1", GITHUB_STEP_SUMMARY: "" };

function runArgs(o: UpgradeCheckOptions, outDir: string): string[] {
  const args = ["task", "harness", "run", "--matrix", o.matrix, "--out", outDir];
  args.push("--repeats", String(o.repeats));
  if (o.filter) args.push("--filter", o.filter);
  if (o.maxCases !== undefined) args.push("--max-cases", String(o.maxCases));
  if (o.configRoot !== undefined) args.push("--config-root", o.configRoot);
  if (o.maxRows !== undefined) args.push("--max-rows", String(o.maxRows));
  for (const m of o.backendModules ?? []) args.push("--backend-module", m);
  if (o.backend) args.push("--backend", o.backend);
  return args;
}

/**
 * The two sides of a Deno-version check: `npx --yes deno@<v> task harness run ...` in the
 * repository, with `DENO_TLS_CA_STORE=system,mozilla` (needed behind a TLS-inspecting
 * proxy; harmless elsewhere).
 *
 * @example
 * ```ts
 * import { denoVersionSides } from "./upgrade_check.ts";
 * const [from, to] = denoVersionSides({
 *   from: "2.9.5", to: "2.9.6", matrix: "smoke", repeats: 10, out: "/tmp/up", repoRoot: "/repo",
 * });
 * from.args.slice(0, 2); // ["--yes", "deno@2.9.5"]
 * ```
 */
export function denoVersionSides(
  o:
    & Pick<
      UpgradeCheckOptions,
      | "from"
      | "to"
      | "matrix"
      | "filter"
      | "maxCases"
      | "configRoot"
      | "repeats"
      | "maxRows"
      | "out"
      | "backendModules"
      | "backend"
    >
    & {
      repoRoot: string;
    },
): [UpgradeSide, UpgradeSide] {
  const out = absolute(o.out);
  const side = (which: "from" | "to"): UpgradeSide => {
    // a runtime spec (drift/runtime_spec.ts): a Deno version, chromium or chromium:<path>
    const spec = parseRuntimeSpec(o[which] ?? "", `--${which}`);
    if (spec.kind === "chromium") {
      const runtime = ["--runtime", "chromium", ...(spec.path ? ["--chromium", spec.path] : [])];
      return {
        label: runtimeSpecLabel(spec),
        command: Deno.execPath(),
        args: [...runArgs(o as UpgradeCheckOptions, `${out}/${which}`), ...runtime],
        cwd: o.repoRoot,
        env: SIDE_ENV,
        outDir: `${out}/${which}`,
      };
    }
    const v = spec.version;
    return {
      label: `deno ${v}`,
      command: "npx",
      args: ["--yes", `deno@${v}`, ...runArgs(o as UpgradeCheckOptions, `${out}/${which}`)],
      cwd: o.repoRoot,
      env: { DENO_TLS_CA_STORE: "system,mozilla", ...SIDE_ENV },
      outDir: `${out}/${which}`,
    };
  };
  return [side("from"), side("to")];
}

/** A program that could not be started: one message, not a stack trace (CLI exit 3). */
function notStarted(command: string, what: string, e: unknown): Error {
  return new Error(
    `upgrade-check: could not start ${command} for ${what} (${
      e instanceof Error ? e.message : String(e)
    }); is it installed and on PATH?`,
  );
}

/** The side runs under way: a signal that stops the check is passed on to them. */
const runningSides = new Set<Deno.ChildProcess>();

/**
 * Ended by a signal (SIGINT, SIGTERM, SIGHUP: util/stop_signals.ts): the side's run was
 * passed the signal and waited for, the worktrees removed; the CLI exits 130, 143 or 129.
 */
export class UpgradeInterrupted extends Error {
  /** The signal that stopped it. */
  readonly signal: StopSignal;
  /** An interruption by `signal`. */
  constructor(signal: StopSignal) {
    super(
      `upgrade-check: stopped by ${signal}; the side that was running was stopped too, the ` +
        'worktrees removed and no comparison written. Its "to finish the run" line above ' +
        "is that run's alone, not this check's (a revision's worktree is gone, and this " +
        "checkout's code would finish it): to check again, give this upgrade-check again; " +
        "it runs both sides afresh",
    );
    this.signal = signal;
    this.name = "UpgradeInterrupted";
  }
}

async function defaultRunSide(side: UpgradeSide): Promise<number> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(side.command, {
      args: [...side.args],
      cwd: side.cwd,
      env: { ...side.env },
      // A pipe the check holds open until it ends, opened by a line that tells the side's run
      // to stop when it closes: a check killed by SIGKILL (no signal reaches the side, in a
      // group of its own) left the side's run going on alone.
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
      // A process group (session) of its own: a Ctrl-C in a terminal reaches the check alone,
      // which passes it on once. In the check's group the side's run was sent it twice (the
      // terminal's, then the check's) and read the second as "interrupt again: abandoning
      // the current case". (Windows has no process groups to leave.)
      detached: Deno.build.os !== "windows",
    }).spawn();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw notStarted(side.command, `the ${side.label} side`, e);
    }
    throw e;
  }
  runningSides.add(child);
  const stdin = child.stdin.getWriter();
  try {
    // a side that ends at once (npx failing) closes its end first: not an error of the check
    await stdin.write(new TextEncoder().encode(STOP_WHEN_STDIN_CLOSES)).catch(() => {});
    await child.stdout.pipeTo(Deno.stderr.writable, { preventClose: true });
    return (await child.status).code;
  } finally {
    runningSides.delete(child);
    await stdin.close().catch(() => {});
  }
}

async function defaultGit(cwd: string, args: readonly string[]) {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("git", {
      args: [...args],
      cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw notStarted("git", `git ${args[0]}`, e);
    throw e;
  }
  const dec = new TextDecoder();
  return { code: out.code, output: dec.decode(out.stdout) + dec.decode(out.stderr) };
}

/**
 * Whether `program` is an executable file in a folder of PATH; null when that cannot be
 * told (no permission to read PATH or the folders: starting it will tell).
 */
async function onPath(program: string): Promise<boolean | null> {
  let path: string | undefined;
  try {
    path = Deno.env.get("PATH");
  } catch {
    return null;
  }
  // unset: the system's default search path, which this does not know
  if (path === undefined) return null;
  const windows = Deno.build.os === "windows";
  const exts = windows ? ["", ".exe", ".cmd", ".bat"] : [""];
  for (const dir of path.split(windows ? ";" : ":")) {
    for (const ext of exts) {
      try {
        const info = await Deno.stat(`${dir || "."}/${program}${ext}`);
        if (info.isFile && (windows || info.mode === null || (info.mode & 0o111) !== 0)) {
          return true;
        }
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory)) {
          return null;
        }
      }
    }
  }
  return false;
}

/**
 * The programs a check starts by name (looked up on PATH), each with what it is needed
 * for: `npx` for a side that is a Deno version, `git` for git revisions. (A chromium side,
 * and a revision's run, start this Deno by its full path.) Throws DriftInputError on a
 * malformed `--from`/`--to`.
 *
 * @example
 * ```ts
 * import { upgradePrograms } from "./upgrade_check.ts";
 * upgradePrograms({ fromRef: "v1", toRef: "main" })[0].program; // "git"
 * ```
 */
export function upgradePrograms(
  o: Pick<UpgradeCheckOptions, "from" | "to" | "fromRef" | "toRef">,
): { program: string; purpose: string }[] {
  if (upgradeMode(o) === "refs") {
    return [{
      program: "git",
      purpose: `to check out --from-ref ${o.fromRef ?? ""} and --to-ref ${o.toRef ?? ""} ` +
        "(`git worktree add`)",
    }];
  }
  const versions = [["--from", o.from], ["--to", o.to]].flatMap(([flag, spec]) => {
    const parsed = parseRuntimeSpec(spec ?? "", flag ?? "");
    return parsed.kind === "deno" ? [parsed.version] : [];
  });
  if (versions.length === 0) return [];
  return [{
    program: "npx",
    purpose: `to fetch and run Deno ${versions.join(" and ")} (\`npx --yes deno@<version>\`); ` +
      "npx comes with Node.js (npm)",
  }];
}

/**
 * The message for the first program of {@link upgradePrograms} that is not on PATH, or
 * null when all are there (or PATH cannot be read: the start then says what is missing).
 * Checked before any work: without it the check would stop at its first subprocess.
 *
 * @example
 * ```ts ignore
 * import { missingProgram } from "./upgrade_check.ts";
 * await missingProgram({ from: "2.9.5", to: "2.9.6" }); // null where npx is installed
 * ```
 */
export async function missingProgram(
  o: Pick<UpgradeCheckOptions, "from" | "to" | "fromRef" | "toRef">,
): Promise<string | null> {
  for (const { program, purpose } of upgradePrograms(o)) {
    if ((await onPath(program)) === false) {
      return `${program} is not on PATH; upgrade-check needs it ${purpose}. Install it, or ` +
        "add its folder to PATH";
    }
  }
  return null;
}

/** The Deno versions npm has, or why they could not be listed. */
export type NpmDenoVersions = { readonly versions: readonly string[] } | {
  readonly error: string;
};

/** How long `npm view deno versions` is waited for (ms): offline, npm retries for a minute. */
const NPM_VIEW_TIMEOUT_MS = 20_000;

/**
 * The versions of the `deno` package on npm, as npx sees them: `npm view deno versions
 * --json` (the same npm configuration, registry and proxy as npx), one try, at most 20 s;
 * `{ error }` saying why when npm is missing, offline or answers what is not a list.
 *
 * @example
 * ```ts ignore
 * import { npmDenoVersions } from "./upgrade_check.ts";
 * const r = await npmDenoVersions(); // { versions: ["0.0.1", ..., "2.9.6"] }
 * ```
 */
export async function npmDenoVersions(): Promise<NpmDenoVersions> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("npm", {
      args: ["view", "deno", "versions", "--json", "--fetch-retries=0"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(NPM_VIEW_TIMEOUT_MS),
    }).output();
  } catch (e) {
    return {
      error: e instanceof Deno.errors.NotFound
        ? "npm is not on PATH"
        : e instanceof Error && e.name === "AbortError"
        ? `npm gave no answer in ${NPM_VIEW_TIMEOUT_MS / 1000} s`
        : e instanceof Error
        ? e.message
        : String(e),
    };
  }
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    const why = new TextDecoder().decode(out.stderr).split("\n").find((l) => /error/i.test(l));
    return { error: `npm view exited ${out.code}${why ? `: ${why.trim()}` : ""}` };
  }
  try {
    const v: unknown = JSON.parse(text);
    const list = typeof v === "string" ? [v] : v;
    if (Array.isArray(list) && list.every((x) => typeof x === "string")) {
      return { versions: list };
    }
  } catch {
    // said below
  }
  return { error: "npm view answered what is not a list of versions" };
}

/** a.b.c[-pre] as numbers, for ordering (a prerelease before its release). */
function versionKey(v: string): [number, number, number, string] {
  const m = /^(\d+)\.(\d+)\.(\d+)(?:-(.*))?$/.exec(v);
  if (!m) return [-1, -1, -1, v];
  return [Number(m[1]), Number(m[2]), Number(m[3]), m[4] ?? "\uffff"];
}

function compareVersions(a: string, b: string): number {
  const [ka, kb] = [versionKey(a), versionKey(b)];
  for (let i = 0; i < 3; i++) if (ka[i] !== kb[i]) return (ka[i] as number) - (kb[i] as number);
  return ka[3] < kb[3] ? -1 : ka[3] > kb[3] ? 1 : 0;
}

/**
 * The versions of `versions` nearest to `wanted` that exist: the latest one below it and the
 * first one above it (releases only, unless `wanted` is a prerelease).
 *
 * @example
 * ```ts
 * import { nearestVersions } from "./upgrade_check.ts";
 * nearestVersions("2.9.7", ["2.9.5", "2.9.6", "2.10.0"]); // ["2.9.6", "2.10.0"]
 * nearestVersions("9.0.0", ["2.9.5", "2.9.6"]); // ["2.9.6"]
 * ```
 */
export function nearestVersions(wanted: string, versions: readonly string[]): string[] {
  const pre = wanted.includes("-");
  const sorted = versions.filter((v) => pre || !v.includes("-")).sort(compareVersions);
  const below = sorted.filter((v) => compareVersions(v, wanted) < 0).at(-1);
  const above = sorted.find((v) => compareVersions(v, wanted) > 0);
  return [below, above].filter((v): v is string => v !== undefined);
}

/**
 * Refuse a `--from`/`--to` Deno version npm does not have, before anything runs (it was
 * found only when its side ran, after the other side's minutes): DriftInputError (exit 2)
 * naming the version and the nearest ones that exist. When npm cannot be asked (offline, no
 * npm), `warn` says the check could not be made, and the check goes on.
 *
 * @example
 * ```ts ignore
 * import { checkDenoVersionsOnNpm } from "./upgrade_check.ts";
 * await checkDenoVersionsOnNpm({ from: "2.9.5", to: "2.9.70" });
 * // throws DriftInputError: --to: Deno 2.9.70 is not on npm ...; the nearest there: 2.9.6
 * ```
 */
export async function checkDenoVersionsOnNpm(
  o: Pick<UpgradeCheckOptions, "from" | "to">,
  options: {
    readonly list?: () => Promise<NpmDenoVersions>;
    readonly warn?: (line: string) => void;
  } = {},
): Promise<void> {
  const wanted = ([["--from", o.from], ["--to", o.to]] as const).flatMap(([flag, spec]) => {
    if (spec === undefined) return [];
    const parsed = parseRuntimeSpec(spec, flag);
    return parsed.kind === "deno" ? [{ flag, version: parsed.version }] : [];
  });
  if (wanted.length === 0) return;
  const listed = await (options.list ?? npmDenoVersions)();
  if ("error" in listed) {
    (options.warn ?? ((l: string) => console.error(l)))(
      `upgrade-check: could not check that Deno ${wanted.map((w) => w.version).join(" and ")} ${
        wanted.length === 1 ? "is" : "are"
      } on npm (npm view deno versions: ${listed.error}); ` +
        "going on: npx will say if one is not",
    );
    return;
  }
  for (const { flag, version } of wanted) {
    if (listed.versions.includes(version)) continue;
    const near = nearestVersions(version, listed.versions);
    throw new DriftInputError(
      flag,
      `Deno ${version} is not on npm (npm view deno versions), so npx --yes deno@${version} ` +
        `cannot fetch it; ${
          near.length === 0 ? "npm lists no Deno version" : `the nearest there: ${near.join(", ")}`
        }`,
    );
  }
}

/**
 * Check the matrix and filter before any side runs. Two Deno versions (or chromium) run
 * this checkout's harness: the checks `run` makes (matrix/select.ts: the same errors, exit
 * 2, the same messages), so a typo does not cost a Deno download. Two git revisions run
 * their own harness, which may know other matrices and axes, so what every revision agrees
 * on is checked ({@link precheckRefSelection}): the filter's shape, that each revision
 * exists, and that each has the matrix; run's full check too where a revision selects a
 * bundled matrix's cases with this checkout's code; otherwise the filter's keys and values
 * are left to each revision's run. A matrix file is read as the sides read it: relative to the repository
 * (for revisions, to the revision's checkout).
 *
 * @example
 * ```ts ignore
 * import { precheckUpgradeSelection } from "./upgrade_check.ts";
 * await precheckUpgradeSelection({ from: "2.9.5", to: "2.9.6", matrix: "smoke", filter: "preset=nope" });
 * // throws ConfigError: --filter: selects no case of matrix smoke ...
 * ```
 */
export async function precheckUpgradeSelection(
  o:
    & Pick<
      UpgradeCheckOptions,
      "from" | "to" | "fromRef" | "toRef" | "matrix" | "filter" | "maxCases" | "configRoot"
    >
    & {
      repoRoot?: string;
      git?: GitRunner;
      /** Where a warning goes (default: stderr): two sides that are the same. */
      warn?: (line: string) => void;
    },
): Promise<void> {
  const repoRoot = o.repoRoot ?? defaultRepoRoot();
  const warn = o.warn ?? ((line: string) => console.error(line));
  if (upgradeMode(o) === "refs") {
    await precheckRefSelection(o, { repoRoot, git: o.git, warn });
    return;
  }
  const file = matrixFileOf(o.matrix) !== undefined && !o.matrix.startsWith("/");
  // the sides run in the repository: a relative file is found there (here too, normally)
  // (a file in neither place is named as given, so run's "did you mean" hint for a misspelt
  // bundled name applies: "<repo>/smok" never looked like "smoke")
  const inRepo = `${repoRoot}/${o.matrix}`;
  const matrix = file && resolvePath(repoRoot) !== resolvePath(Deno.cwd()) &&
      await pathExists(inRepo)
    ? inRepo
    : o.matrix;
  await selectMatrixCases({
    matrix,
    filter: o.filter,
    maxCases: o.maxCases,
    configRoot: o.configRoot,
  });
  // the same runtime on both sides (a typo, most often): its "No regressions" is the
  // machine's noise, not the upgrade's safety
  const [from, to] = [
    parseRuntimeSpec(o.from ?? "", "--from"),
    parseRuntimeSpec(o.to ?? "", "--to"),
  ];
  if (runtimeSpecLabel(from) === runtimeSpecLabel(to)) {
    warn(
      `warning: --from ${o.from} and --to ${o.to} are the same runtime (${
        runtimeSpecLabel(from)
      }): both sides run the same code, so the check measures only this machine's noise`,
    );
  }
}

/**
 * The `--from-ref/--to-ref` part of {@link precheckUpgradeSelection}, before any worktree
 * is made: the filter's shape (a RangeError, exit 2), then, where git is on PATH (without
 * it the check stops with exit 3 later), that each revision names a commit and that each
 * has the matrix: a bundled name is `matrix/bundled/<name>.json` of the revision, a relative
 * file a file of the revision (its side runs in a checkout of it), an absolute file one on
 * disk. Each failure is a DriftInputError (exit 2) naming the option and the revision. A
 * revision whose `matrix/` folder and selection modules equal the working tree's gets run's
 * full check of a bundled matrix and the filter (matrix/select.ts, its messages).
 *
 * @example
 * ```ts ignore
 * import { precheckRefSelection } from "./upgrade_check.ts";
 * await precheckRefSelection({ fromRef: "v1", toRef: "HEAD", matrix: "smoke" }, { repoRoot: "." });
 * ```
 */
export async function precheckRefSelection(
  o: Pick<
    UpgradeCheckOptions,
    "fromRef" | "toRef" | "matrix" | "filter" | "maxCases" | "configRoot"
  >,
  env: { repoRoot: string; git?: GitRunner; warn?: (line: string) => void },
): Promise<void> {
  const commits: string[] = [];
  if (o.filter !== undefined) checkFilterSyntax(o.filter);
  if (env.git === undefined && (await onPath("git")) === false) return;
  const git = env.git ?? defaultGit;
  const matrix = o.matrix;
  const absoluteFile = isAbsolute(matrix);
  if (absoluteFile) {
    const info = await Deno.stat(matrix).catch(() => null);
    if (info === null || !info.isFile) {
      throw new DriftInputError(
        "--matrix",
        `${matrix}: ${info === null ? "no such file" : "not a file"} (both revisions read ` +
          "this absolute path)",
      );
    }
  }
  // --config-root with revisions: a relative one is read in each revision's checkout, as a
  // relative matrix file is (each side's run is given it as typed, in its checkout), so it
  // must be a folder of each revision; an absolute one, a folder on disk (it was checked only
  // for --to-ref ., and a revision without it failed its side after the other's minutes)
  const root = o.configRoot;
  // (as git names a path of a revision: no trailing slash, "." the revision's top, "")
  const relRoot = root === undefined || isAbsolute(root)
    ? undefined
    : normalizePath(root).replace(/\/+$/, "").replace(/^\.$/, "");
  if (root !== undefined && relRoot === undefined) {
    const info = await Deno.stat(root).catch(() => null);
    if (info === null || !info.isDirectory) {
      throw new DriftInputError(
        "--config-root",
        `${root}: ${info === null ? "no such folder" : "not a folder"} (both revisions read ` +
          "this absolute path)",
      );
    }
  }
  for (const which of ["from", "to"] as const) {
    const ref = which === "from" ? o.fromRef : o.toRef;
    if (!ref || ref.startsWith("-")) {
      throw new DriftInputError(`--${which}-ref`, `"${ref ?? ""}" is not a git revision`);
    }
    if (ref === WORKING_TREE_REF) {
      if (relRoot !== undefined) {
        const info = await Deno.stat(`${env.repoRoot}/${relRoot || "."}`).catch(() => null);
        if (info === null || !info.isDirectory) {
          throw new DriftInputError("--config-root", configRootNotIn(root!, which, ref, info));
        }
      }
      // this checkout as it is: its side runs here, as `run` would
      if (absoluteFile) continue;
      const bundledName = !matrix.includes("/") && !matrix.endsWith(".json");
      await selectMatrixCases({
        matrix: bundledName ? matrix : `${env.repoRoot}/${matrix}`,
        filter: o.filter,
        maxCases: o.maxCases,
        configRoot: o.configRoot === undefined || isAbsolute(o.configRoot)
          ? o.configRoot
          : `${env.repoRoot}/${o.configRoot}`,
      });
      continue;
    }
    const commit = await git(env.repoRoot, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]);
    if (commit.code !== 0) {
      throw new DriftInputError(
        `--${which}-ref`,
        `"${ref}" names no commit of the repository ${env.repoRoot} (git rev-parse --verify)`,
      );
    }
    commits.push(commit.output.trim());
    // a path out of the checkout (../x) is not the revision's to answer: its run tells
    if (relRoot !== undefined && relRoot !== ".." && !relRoot.startsWith("../")) {
      const kind = await git(env.repoRoot, ["cat-file", "-t", `${ref}:${relRoot}`]);
      if (kind.code !== 0 || kind.output.trim() !== "tree") {
        throw new DriftInputError(
          "--config-root",
          configRootNotIn(root!, which, ref, kind.code === 0 ? { isDirectory: false } : null),
        );
      }
    }
    if (absoluteFile) continue;
    const has = async (path: string) =>
      (await git(env.repoRoot, ["cat-file", "-e", `${ref}:${path}`])).code === 0;
    const rel = normalizePath(matrix);
    // a path out of the checkout (../x) is not the revision's to answer: its run tells
    if (rel === ".." || rel.startsWith("../")) continue;
    const bundledName = !matrix.includes("/") && !matrix.endsWith(".json");
    if (bundledName && await has(`matrix/bundled/${matrix}.json`)) {
      // where the revision selects cases with this checkout's code and bundled matrices,
      // run's own check answers for it: the filter's keys and values too
      if (await sameSelectionCode(ref, env.repoRoot, git)) {
        await selectMatrixCases({ matrix, filter: o.filter, maxCases: o.maxCases });
      }
      continue;
    }
    if (await has(rel)) continue;
    const listed = await git(env.repoRoot, ["ls-tree", "--name-only", ref, "matrix/bundled/"]);
    const names = listed.code === 0
      ? listed.output.split("\n").filter((l) => l.endsWith(".json")).map((l) =>
        l.replace(/^matrix\/bundled\//, "").replace(/\.json$/, "")
      )
      : [...BUNDLED_MATRICES];
    const near = didYouMean(matrix, names);
    throw new DriftInputError(
      "--matrix",
      `"${matrix}" is at --${which}-ref ${ref} neither a bundled matrix (${near}its bundled ` +
        `matrices: ${names.join(", ")}) nor a file of that revision (its side runs in a ` +
        "checkout of the revision: commit a matrix file, or give an absolute path)",
    );
  }
  // the same commit on both sides (a typo, most often): its "No regressions" is the
  // machine's noise, not the change's safety
  if (commits.length === 2 && commits[0] !== "" && commits[0] === commits[1]) {
    (env.warn ?? ((line: string) => console.error(line)))(
      `warning: --from-ref ${o.fromRef} and --to-ref ${o.toRef} are the same commit ` +
        `(${commits[0].slice(0, 12)}): both sides run the same code, so the check measures ` +
        "only this machine's noise",
    );
  }
}

/** A relative --config-root that is not a folder of a revision's checkout, said so. */
function configRootNotIn(
  root: string,
  which: "from" | "to",
  ref: string,
  info: { isDirectory: boolean } | null,
): string {
  return `"${root}" is ${
    info === null ? "not in" : "not a folder, but a file, of"
  } --${which}-ref ${ref} ` +
    `(${ref === WORKING_TREE_REF ? "this checkout" : "that revision"}): a relative ` +
    "--config-root is read in each revision's checkout, as a relative --matrix file is; " +
    "commit the folder, or give an absolute path";
}

/**
 * Whether revision `ref` selects a bundled matrix's cases as this checkout does: its
 * `matrix/` folder (code, bundled matrices and configs) and every module the selection
 * imports (read from the import lines of matrix/select.ts, recursively) are the same as in
 * the working tree, and none of them is untracked here.
 */
async function sameSelectionCode(ref: string, repoRoot: string, git: GitRunner): Promise<boolean> {
  const files = new Set<string>();
  const pending = ["matrix/select.ts"];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    const text = await Deno.readTextFile(`${repoRoot}/${file}`).catch(() => "");
    for (const m of text.matchAll(/from\s+"(\.{1,2}\/[^"]+\.ts)"/g)) {
      pending.push(normalizePath(`${file.replace(/[^/]*$/, "")}${m[1]}`));
    }
  }
  const paths = ["matrix/", ...[...files].filter((f) => !f.startsWith("matrix/"))];
  const diff = await git(repoRoot, ["diff", "--quiet", ref, "--", ...paths]);
  if (diff.code !== 0) return false;
  const untracked = await git(repoRoot, [
    "ls-files",
    "--others",
    "--exclude-standard",
    "--",
    ...paths,
  ]);
  return untracked.code === 0 && untracked.output.trim() === "";
}

/**
 * Check the check's outputs before any work: `--html` must not be a file the check writes
 * in `--out` (compare.md, compare.json, a side's run files in from/ and to/, or their
 * round-<i>/ folders) nor one of those folders, and no output may be an input (the
 * thresholds, a matrix file, a backend module). Throws OutputPathError (exit 2) naming both.
 *
 * @example
 * ```ts ignore
 * import { checkUpgradeOutputs } from "./upgrade_check.ts";
 * await checkUpgradeOutputs({ out: "out/up", html: "out/up/compare.md", matrix: "smoke" });
 * // throws: --html out/up/compare.md: is the file --out (compare.md) writes too; ...
 * ```
 */
export async function checkUpgradeOutputs(
  o: Pick<UpgradeCheckOptions, "out" | "rounds" | "matrix" | "backendModules"> & {
    html?: string;
    thresholds?: string;
  },
): Promise<void> {
  const out = o.out.replace(/\/+$/, "") || "/";
  const rounds = o.rounds ?? 1;
  // [side, its run's folder below --out]: from, to, or from/round-<i> with --rounds
  const folders: [string, string][] = [];
  for (const which of ["from", "to"] as const) {
    for (let r = 1; r <= rounds; r++) folders.push([which, roundOutDir(which, r, rounds)]);
  }
  if (o.html !== undefined) {
    for (const [which, sub] of [...folders, ["from", "from"], ["to", "to"]]) {
      const dir = `${out}/${sub}`;
      if (await sameFile(o.html, dir)) {
        throw new OutputPathError(
          "--html",
          o.html,
          `is the folder the ${which} side's run writes in (--out ${o.out}); give a file path`,
        );
      }
    }
  }
  const outputs: LabelledPath[] = [
    [`--out (${COMPARE_FILES.md})`, `${out}/${COMPARE_FILES.md}`],
    [`--out (${COMPARE_FILES.json})`, `${out}/${COMPARE_FILES.json}`],
    // labelled by their place in --out: "--out (from/report.json)"
    ...folders.flatMap(([, sub]) => runOutputFiles(out, { label: "--out", under: sub })),
    ["--html", o.html],
  ];
  await checkOutputsApart(outputs, [
    ["--thresholds", o.thresholds],
    ["--matrix", matrixFileOf(o.matrix)],
    ...(o.backendModules ?? []).filter((m) => !m.includes("://")).map((m): LabelledPath => [
      "--backend-module",
      m,
    ]),
  ]);
}

function defaultRepoRoot(): string {
  return new URL("../", import.meta.url).pathname.replace(/\/$/, "");
}

/**
 * Which kind of check the options ask for: two Deno versions (`from`/`to`) or two git
 * revisions (`fromRef`/`toRef`). Both kinds, or neither, is a DriftInputError (exit 2).
 *
 * @example
 * ```ts
 * import { upgradeMode } from "./upgrade_check.ts";
 * upgradeMode({ fromRef: "v1", toRef: "main" }); // "refs"
 * ```
 */
export function upgradeMode(
  o: Pick<UpgradeCheckOptions, "from" | "to" | "fromRef" | "toRef">,
): "versions" | "refs" {
  const versions = o.from !== undefined || o.to !== undefined;
  const refs = o.fromRef !== undefined || o.toRef !== undefined;
  if (versions === refs) {
    throw new DriftInputError(
      "upgrade-check",
      versions
        ? "--from/--to (Deno versions) and --from-ref/--to-ref (git revisions) cannot be " +
          "combined; give one pair"
        : "give either --from and --to (Deno versions) or --from-ref and --to-ref (git revisions)",
    );
  }
  // Half a pair: name the missing half, not "" as a bad value of it.
  const [a, b, what] = versions
    ? [o.from, o.to, "Deno versions or runtimes"]
    : [o.fromRef, o.toRef, "git revisions"];
  if (a === undefined || b === undefined) {
    const [given, missing] = a === undefined
      ? [versions ? "--to" : "--to-ref", versions ? "--from" : "--from-ref"]
      : [versions ? "--from" : "--from-ref", versions ? "--to" : "--to-ref"];
    throw new DriftInputError(
      missing,
      `is missing: ${given} names one side, and ${missing} names the other (two ${what} ` +
        "to compare)",
    );
  }
  return versions ? "versions" : "refs";
}

/** Removes the worktrees (from git's list too), then their temporary folder `tmp`. */
async function removeWorktrees(
  worktrees: readonly string[],
  tmp: string | undefined,
  o: { repoRoot: string; git: GitRunner; log: (line: string) => void },
): Promise<void> {
  for (const dir of worktrees) {
    const r = await o.git(o.repoRoot, ["worktree", "remove", "--force", dir]);
    if (r.code !== 0) o.log(`upgrade-check: could not remove worktree ${dir}: ${r.output.trim()}`);
  }
  if (tmp === undefined) return;
  try {
    await Deno.remove(tmp, { recursive: true });
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      o.log(`upgrade-check: could not remove ${tmp}: ${e instanceof Error ? e.message : e}`);
    }
  }
}

/**
 * A side's folder is the check's own: a run an earlier check left in it (finished, stopped by
 * a signal, killed) is removed, else the side's run would refuse the folder (exit 2, naming
 * --resume and --force, which upgrade-check does not take) or its files be read as this
 * check's. Not while that run is still going (its run.lock held: an earlier check killed,
 * its side's run left alone): that is a DriftInputError.
 */
async function clearEarlierRun(dir: string, log: (line: string) => void): Promise<void> {
  if (!(await pathExists(`${dir}/run.json`))) return;
  if (await lockHeld(`${dir}/run.lock`)) {
    throw new DriftInputError(
      dir,
      "is being written by a run that is still going (its run.lock is held): an " +
        "earlier upgrade-check's side, left running when that check was killed? Wait " +
        "for it or stop it, or give another --out",
    );
  }
  log(`upgrade-check: ${dir} holds an earlier check's run: removed`);
  await Deno.remove(dir, { recursive: true });
}

/**
 * Run both sides one after the other (never in parallel: they would slow each other
 * down), then compare `to` against `from` and write `<out>/compare.md` and
 * `<out>/compare.json`. A side that exits with anything but 0 or 1 (1: some case failed,
 * which the comparison shows) throws DriftInputError for usage problems (2) or an Error
 * naming the side and its exit code. Git revisions are checked out in worktrees under one
 * temporary folder, removed (worktrees and folder) whether the check succeeds or fails.
 *
 * @example
 * ```ts ignore
 * import { upgradeCheck } from "./upgrade_check.ts";
 * const { report } = await upgradeCheck({
 *   from: "2.9.5", to: "2.9.6", matrix: "smoke", filter: "preset=tiny", repeats: 10, out: "out/upgrade",
 * });
 * report.regressions; // 0: the upgrade is safe for these cases
 * ```
 */
export async function upgradeCheck(o: UpgradeCheckOptions): Promise<UpgradeCheckResult> {
  const log = o.log ?? ((s: string) => console.error(s));
  const runSide = o.runSide ?? defaultRunSide;
  const git = o.git ?? defaultGit;
  const repoRoot = o.repoRoot ?? defaultRepoRoot();
  const versions = upgradeMode(o) === "versions";
  const out = absolute(o.out);
  await Deno.mkdir(out, { recursive: true });
  const worktrees: string[] = [];
  const outDirs: [string[], string[]] = [[], []];
  let sides: [UpgradeSide, UpgradeSide];
  // the worktrees' folder: removed as a whole at the end, also when a side fails
  let tmp: string | undefined;
  // SIGINT or SIGTERM: passed on to the side's run, which stops as `run` does, then the
  // check stops and removes its worktrees (the signal ended this process before, leaving
  // them registered in the repository and the side's run going on alone).
  // SIGHUP (a terminal closed, an ssh session dropped) too, as run takes it: it killed the
  // check with its worktrees left registered and the side's run going on alone
  let stoppedBy: StopSignal | null = null;
  const listeners = listenableStopSignals().map((signal) => {
    const onSignal = () => {
      stoppedBy ??= signal;
      for (const child of runningSides) {
        try {
          child.kill(signal);
        } catch {
          // already ended
        }
      }
    };
    Deno.addSignalListener(signal, onSignal);
    return [signal, onSignal] as const;
  });
  const checkStopped = () => {
    if (stoppedBy !== null) throw new UpgradeInterrupted(stoppedBy);
  };
  try {
    if (versions) {
      sides = denoVersionSides({ ...o, repoRoot, out });
    } else {
      const refOf = { from: o.fromRef, to: o.toRef };
      tmp = await Deno.makeTempDir({ prefix: "mla-upgrade-" });
      const made: Partial<Record<"from" | "to", UpgradeSide>> = {};
      for (const which of ["from", "to"] as const) {
        const ref = refOf[which];
        if (!ref || ref.startsWith("-")) {
          throw new DriftInputError(`--${which}-ref`, `"${ref ?? ""}" is not a git revision`);
        }
        if (ref === WORKING_TREE_REF) {
          made[which] = {
            label: "working tree",
            command: Deno.execPath(),
            args: runArgs(o, `${out}/${which}`),
            cwd: repoRoot,
            env: SIDE_ENV,
            outDir: `${out}/${which}`,
          };
          continue;
        }
        const dir = `${tmp}/${which}`;
        log(`upgrade-check: git worktree add ${dir} ${ref}`);
        const r = await git(repoRoot, ["worktree", "add", "--detach", dir, ref]);
        if (r.code !== 0) {
          throw new DriftInputError(
            `--${which}-ref`,
            `git worktree add failed: ${r.output.trim()}`,
          );
        }
        worktrees.push(dir);
        made[which] = {
          label: `ref ${ref}`,
          command: Deno.execPath(),
          args: runArgs(o, `${out}/${which}`),
          cwd: dir,
          env: SIDE_ENV,
          outDir: `${out}/${which}`,
        };
      }
      sides = [made.from!, made.to!];
    }
    const rounds = o.rounds ?? 1;
    if (!Number.isInteger(rounds) || rounds < 1) {
      throw new DriftInputError("--rounds", `${rounds} must be an integer >= 1`);
    }
    // An earlier check's outputs in --out go before any side runs: a check that stopped at a
    // side (exit 3, a signal) left that check's compare.md and compare.json, and its other
    // side's run, to be read as this check's verdict.
    for (const f of [COMPARE_FILES.md, COMPARE_FILES.json]) {
      await Deno.remove(`${out}/${f}`).catch((e) => {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      });
    }
    for (const template of sides) {
      await clearEarlierRun(template.outDir, log);
      for (let round = 1; rounds > 1 && round <= rounds; round++) {
        await clearEarlierRun(roundOutDir(template.outDir, round, rounds), log);
      }
    }
    for (let round = 1; round <= rounds; round++) {
      for (const [i, template] of sides.entries()) {
        const side = rounds === 1
          ? template
          : inFolder(template, roundOutDir(template.outDir, round, rounds));
        log(
          `upgrade-check: ${side.label}${rounds > 1 ? ` (round ${round}/${rounds})` : ""}: ` +
            // pasteable: a path with a space, a filter with ";", quoted for a shell
            [side.command, ...side.args].map(shellWord).join(" "),
        );
        checkStopped();
        const code = await runSide(side);
        checkStopped();
        if (code === 2) {
          throw new DriftInputError(side.label, `the run rejected its input (exit 2); see above`);
        }
        if (code !== 0 && code !== 1) {
          throw new Error(
            `upgrade-check: the ${side.label} run failed with exit ${code}; see above`,
          );
        }
        // exit 0 or 1 with no report.json: not a run that ended, but one that never began
        // (npx's exit 1 for a Deno version npm does not have: the other side ran on, and the
        // check then said "<out>/to/report.json: missing", exit 2, as if --out were wrong)
        if (!await pathExists(`${side.outDir}/report.json`)) {
          throw new Error(
            `upgrade-check: the ${side.label} run exited ${code} without writing ` +
              `${side.outDir}/report.json, so it never ran the matrix (see above${
                side.command === "npx"
                  ? `; is ${side.args[1]} published on npm? \`npm view deno versions\` lists ` +
                    "the versions there"
                  : ""
              }); nothing compared`,
          );
        }
        outDirs[i].push(side.outDir);
      }
    }
  } catch (e) {
    // A Ctrl-C while git made a worktree (git, in the check's process group, stopped by it too)
    // read as "--from-ref: git worktree add failed", exit 2: bad input, for a stop
    checkStopped();
    throw e;
  } finally {
    await removeWorktrees(worktrees, tmp, { repoRoot, git, log });
    for (const [signal, onSignal] of listeners) Deno.removeSignalListener(signal, onSignal);
  }
  checkStopped();
  const pooled = async (dirs: string[]) => {
    const reports = [];
    for (const d of dirs) reports.push(await readReportJson(`${d}/report.json`));
    return poolRounds(reports);
  };
  const runs = [await pooled(outDirs[0]), await pooled(outDirs[1])] as const;
  const [fromSide, toSide] = [
    await baselineFromReport(runs[0]),
    await baselineFromReport(runs[1]),
  ];
  // Two sides with no case id in common (another revision's matrix or case ids): every case
  // new or removed read "No regressions", exit 0, for a comparison never made. Exit 2, as
  // compare and run --baseline refuse it.
  checkCasesInCommon(fromSide, toSide, {
    base: `the ${sides[0].label} side (${out}/from)`,
    current: `the ${sides[1].label} side (${out}/to)`,
  });
  const report = compareBaselines(fromSide, toSide, o);
  // A side's run exits 1 when its --backend ran none of the cases (as when a case failed):
  // two such sides compared as "unchanged", and the check passed having tested nothing.
  const ranNothing = o.backend === undefined
    ? []
    : sides.filter((_, i) =>
      unusedBackends(runs[i].results, { backend: o.backend, modules: [] }).backendRanNothing
    ).map((s) => s.label);
  return {
    report,
    labels: [sides[0].label, sides[1].label],
    ...(ranNothing.length > 0 ? { backendRanNothing: ranNothing } : {}),
  };
}
