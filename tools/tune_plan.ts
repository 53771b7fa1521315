/**
 * Tune the adapter's plan constants on this machine's device (adapter/plan_tuning.ts): for
 * each knob in turn, run a matrix once per candidate value with the knobs found so far
 * (`main.ts run` with MLA_HARNESS_TUNING naming the candidate's file), keep a candidate only
 * when every case still passes its comparison with the float64 reference and the cases whose
 * plan it changed got faster by more than `--min-gain` (geometric mean of their median
 * times), and write the knobs found as a tuning file that `run`, `bench`, `explain` and
 * `baseline` take through MLA_HARNESS_TUNING (or a caps file's `tuning`).
 *
 *   deno run -A tools/tune_plan.ts --out tuning.json
 *   deno run -A tools/tune_plan.ts --out t.json --knobs tiledMaxRows,tiledMinKeysPerSplit \
 *     --matrix tools/tune_matrix.json --filter 'dtype=f16' --repeats 20
 *   MLA_HARNESS_TUNING=tuning.json deno task harness bench --matrix gpu
 *
 * The default matrix (tools/tune_matrix.json) holds the headline cases on the GPU-shaped
 * kernels, which a cpu-class device runs slowly (on lavapipe a gpu-shaped decode replay takes
 * over a second): the tool is meant for GPUs; the test suite runs it on tiny cases. A knob
 * whose candidates change no case's plan is left at the default and said so. Progress goes to
 * stderr, one line a run; the trials (every candidate's times, plan digests and status) go in
 * the file beside the knobs, and the table of them to stdout.
 *
 * Exit 0 when it wrote the file; 1 when the untuned plans themselves fail a case (nothing to
 * tune against); 2 on a bad option, or a matrix or filter `run` refuses; 3 when a run could
 * not start (no adapter: its message).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { TUNING_KNOBS, tuningChanges, tuningDeviceOf } from "../adapter/plan_tuning.ts";
import type { PlanTuning } from "../adapter/types.ts";
import { adapterIdentity } from "../report/adapter_info.ts";
import { checkOutputFile } from "../report/output_paths.ts";
import { type MatrixRun, type Trial, type TrialCase, tuneSearch } from "./tune_search.ts";

const USAGE = `tools/tune_plan.ts: tune the adapter's plan constants on this device

usage: deno run -A tools/tune_plan.ts --out FILE [options]

  --out FILE      the tuning file to write (adapter/plan_tuning.ts: {"format", "knobs", ...})
  --knobs LIST    comma-separated knobs to tune, in that order (default: all:
                  ${TUNING_KNOBS.join(", ")})
  --matrix M      the run matrix the candidates are timed on (default tools/tune_matrix.json)
  --filter Q      run's --filter over it
  --repeats N     timed repetitions per case and run (default 10)
  --min-gain F    a candidate is kept when the cases whose plan it changes take at most
                  1 - F of the best time so far (geometric mean; default 0.03)
  --max-rows N    run's --max-rows (query rows the float64 reference computes; default 16)
  --work DIR      where the runs' folders and candidate files go (default: a temporary folder,
                  removed at the end)
  --cached-only   start each run with deno's --cached-only (a machine with no network)
  -h, --help      this text

Every run is 'main.ts run' with MLA_HARNESS_TUNING set; MLA_HARNESS_DEVICE_CLASS and
MLA_HARNESS_SM_COUNT pass through. A first, unrecorded run warms the untuned kernels up.
Exit 0 written; 1 the untuned plans fail a case; 2 a bad option (or the matrix or filter
run refuses); 3 a run could not start (no adapter).`;

function usageError(message: string): never {
  console.error(`tools/tune_plan.ts: ${message}\n\n${USAGE}`);
  Deno.exit(2);
}

interface Options {
  out: string;
  knobs: (keyof PlanTuning)[];
  matrix: string;
  filter: string | null;
  repeats: number;
  minGain: number;
  maxRows: number;
  work: string | null;
  cachedOnly: boolean;
}

function parseOptions(args: string[]): Options {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        out: { type: "string" },
        knobs: { type: "string" },
        matrix: { type: "string" },
        filter: { type: "string" },
        repeats: { type: "string" },
        "min-gain": { type: "string" },
        "max-rows": { type: "string" },
        work: { type: "string" },
        "cached-only": { type: "boolean", default: false },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (e) {
    usageError(e instanceof Error ? e.message : String(e));
  }
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  if (!values.out) usageError("--out FILE is required (the tuning file to write)");
  const knobs = (values.knobs ?? TUNING_KNOBS.join(",")).split(",").map((k) => k.trim());
  for (const k of knobs) {
    if (!(TUNING_KNOBS as readonly string[]).includes(k)) {
      usageError(`--knobs: unknown knob ${JSON.stringify(k)}; valid: ${TUNING_KNOBS.join(", ")}`);
    }
  }
  const twice = knobs.find((k, i) => knobs.indexOf(k) !== i);
  if (twice !== undefined) {
    usageError(`--knobs: ${twice} is named twice; name each knob once, in the order to tune`);
  }
  const int = (name: string, v: string | undefined, def: number, lo: number, hi: number) => {
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isInteger(n) || n < lo || n > hi) {
      usageError(`--${name} ${JSON.stringify(v)}: must be an integer from ${lo} to ${hi}`);
    }
    return n;
  };
  const gain = values["min-gain"] === undefined ? 0.03 : Number(values["min-gain"]);
  if (!Number.isFinite(gain) || gain < 0 || gain >= 1) {
    usageError(`--min-gain ${JSON.stringify(values["min-gain"])}: must be a number in [0, 1)`);
  }
  return {
    out: values.out,
    knobs: knobs as (keyof PlanTuning)[],
    matrix: values.matrix ?? join(import.meta.dirname ?? ".", "tune_matrix.json"),
    filter: values.filter ?? null,
    repeats: int("repeats", values.repeats, 10, 1, 1000),
    minGain: gain,
    maxRows: int("max-rows", values["max-rows"], 16, 1, 4096),
    work: values.work ?? null,
    cachedOnly: values["cached-only"] === true,
  };
}

const MAIN = join(import.meta.dirname ?? ".", "..", "main.ts");

/** What `matrixRunArgs` needs of the options. */
export interface RunArgsOptions {
  /** The run matrix. */
  readonly matrix: string;
  /** run's --filter (null: none). */
  readonly filter: string | null;
  /** Timed repetitions per case. */
  readonly repeats: number;
  /** run's --max-rows. */
  readonly maxRows: number;
  /** Start deno with --cached-only. */
  readonly cachedOnly: boolean;
}

/**
 * The arguments of `deno` for one run of the matrix into `out` (`main.ts` is the harness).
 *
 * @example
 * ```ts
 * import { matrixRunArgs } from "./tune_plan.ts";
 * matrixRunArgs(
 *   { matrix: "m.json", filter: null, repeats: 10, maxRows: 16, cachedOnly: true },
 *   "out/run0",
 *   "main.ts",
 * ).slice(0, 4); // ["run", "--cached-only", "-A", "main.ts"]
 * ```
 */
export function matrixRunArgs(o: RunArgsOptions, out: string, main: string): string[] {
  return [
    "run",
    ...(o.cachedOnly ? ["--cached-only"] : []),
    "-A",
    main,
    "run",
    "--matrix",
    o.matrix,
    "--out",
    out,
    "--force",
    "--repeats",
    String(o.repeats),
    "--max-rows",
    String(o.maxRows),
    ...(o.filter === null ? [] : ["--filter", o.filter]),
  ];
}

/** The matrix run in progress, stopped with the tuner on SIGINT or SIGTERM. */
let running: Deno.ChildProcess | null = null;
/** A signal came: no further run starts while the tuner stops. */
let stopping = false;
/** Waits for ever: the signal handler ends the process (no trial is read or saved meanwhile). */
const park = () => new Promise<never>(() => {});

/** Run the matrix with `knobs`; the run's exit code and its cases. */
async function runWith(
  o: Options,
  work: string,
  label: string,
  knobs: PlanTuning,
): Promise<MatrixRun> {
  if (stopping) await park();
  const file = join(work, `${label}.json`);
  await Deno.writeTextFile(file, JSON.stringify({ format: "mla-harness-tuning/1", knobs }));
  const out = join(work, label);
  const child = new Deno.Command(Deno.execPath(), {
    args: matrixRunArgs(o, out, MAIN),
    env: { MLA_HARNESS_TUNING: file },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  running = child; // a signal to the tuner stops it too (below)
  const r = await child.output().finally(() => running = null);
  // killed by the handler: not a failed trial to record
  if (stopping) await park();
  const stderr = new TextDecoder().decode(r.stderr);
  let cases: TrialCase[] = [];
  let device: string | undefined;
  try {
    const report = JSON.parse(await Deno.readTextFile(join(out, "report.json"))) as {
      results: {
        id: string;
        status: string;
        planDigest?: string;
        timing?: { medianMs?: number } | null;
      }[];
      fingerprint?: { adapter?: unknown };
    };
    const a = adapterIdentity(report.fingerprint?.adapter ?? null);
    if (a.description !== null) {
      device = tuningDeviceOf(a); // what otherDeviceClause compares the device run on with
    }
    cases = report.results.map((c) => ({
      id: c.id,
      status: c.status,
      ...(c.planDigest ? { planDigest: c.planDigest } : {}),
      ...(typeof c.timing?.medianMs === "number" ? { medianMs: c.timing.medianMs } : {}),
    }));
  } catch {
    // No report: the run stopped before writing one (bad input, no adapter); exitCode says.
  }
  return { exitCode: r.code, cases, stderr, ...(device === undefined ? {} : { device }) };
}

function fmtMs(v: number | undefined): string {
  return v === undefined ? "-" : v < 10 ? v.toFixed(3) : v.toFixed(1);
}

/** The table of every trial: knob, value, verdict, ratio, and each case's median. */
function trialTable(trials: readonly Trial[]): string {
  const ids = trials[0]?.cases.map((c) => c.id) ?? [];
  const lines = [
    "cases: " + ids.map((id, i) => `c${i + 1} ${id}`).join("\n       "),
    "",
    ["knob", "value", "verdict", "ratio", ...ids.map((_, i) => `c${i + 1} ms`)].join("\t"),
  ];
  for (const t of trials) {
    lines.push([
      t.knob ?? "(untuned)",
      t.value ?? "",
      t.verdict,
      t.ratio === undefined ? "" : t.ratio.toFixed(3),
      ...ids.map((id) => fmtMs(t.cases.find((c) => c.id === id)?.medianMs)),
    ].join("\t"));
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const o = parseOptions(Deno.args);
  // An --out that cannot be written is said before any run, not after the first trial.
  try {
    await checkOutputFile(o.out, { label: "--out" });
  } catch (e) {
    usageError(e instanceof Error ? e.message : String(e));
  }
  const work = o.work ?? await Deno.makeTempDir({ prefix: "mla-tune-" });
  try {
    await Deno.mkdir(work, { recursive: true });
  } catch (e) {
    usageError(`--work ${work}: cannot be made a folder (${e instanceof Error ? e.message : e})`);
  }
  // Stopped by a signal: the matrix run it started stops too (it went on alone, at full CPU)
  // and the temporary folder goes, as at the end; the tuning file keeps its last whole trial.
  const signals = [["SIGINT", 130], ["SIGTERM", 143]] as const;
  // (Windows has no SIGTERM listener)
  for (
    const [signal, code] of signals.filter(([s]) => Deno.build.os !== "windows" || s === "SIGINT")
  ) {
    Deno.addSignalListener(signal, async () => {
      stopping = true;
      const child = running;
      if (child !== null) {
        try {
          child.kill("SIGTERM");
        } catch {
          // it ended meanwhile
        }
        await child.status;
      }
      // a trial being saved: its half-written file goes (the last whole one stays)
      await Deno.remove(`${o.out}.part`).catch(() => {});
      if (o.work === null) await Deno.remove(work, { recursive: true }).catch(() => {});
      console.error(
        `tools/tune_plan.ts: stopped by ${signal}; ${o.out} holds the last finished trial, if any`,
      );
      Deno.exit(code);
    });
  }
  try {
    const note = `tools/tune_plan.ts on ${o.matrix}${o.filter ? ` (${o.filter})` : ""}, ` +
      `${o.repeats} repetitions, min gain ${o.minGain}, ${new Date().toISOString()}`;
    const outcome = await tuneSearch((label, knobs) => runWith(o, work, label, knobs), {
      knobs: o.knobs,
      minGain: o.minGain,
      note,
      // Written beside and renamed over, so a run killed mid-write leaves the last whole file.
      save: async (body) => {
        await Deno.writeTextFile(`${o.out}.part`, JSON.stringify(body, null, 2) + "\n");
        await Deno.rename(`${o.out}.part`, o.out);
      },
      progress: (line) => console.error(line),
    });
    if (outcome.kind === "untuned-failed") {
      const base = outcome.run;
      const bad = base.cases.filter((c) => c.status !== "pass").map((c) => `${c.status} ${c.id}`);
      console.error(
        `tools/tune_plan.ts: the untuned run exited ${base.exitCode}` +
          (bad.length ? `; not passing: ${bad.join("; ")}` : "") +
          (base.cases.length === 0 ? `\n${base.stderr.trim()}` : "") +
          "\nnothing to tune against: fix or filter those cases first",
      );
      // The run's own bad input (a filter selecting nothing) or missing adapter is ours.
      // An exit code, not Deno.exit: the work folder is still removed below.
      Deno.exitCode = base.cases.length === 0 && [2, 3].includes(base.exitCode) ? base.exitCode : 1;
    } else {
      console.log(trialTable(outcome.trials));
      const changes = tuningChanges(outcome.knobs);
      console.log(
        `\n${o.out}: ${changes.length === 0 ? "every knob at the default" : changes.join(", ")}`,
      );
    }
  } finally {
    // (a signal's handler may have removed it already)
    if (o.work === null) await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}
