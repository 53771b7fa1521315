/**
 * Where the test suite's time goes: runs a command (default `deno task test`), stamps each line
 * of its output with the seconds since the start, and samples how busy the CPUs are every
 * `--interval` seconds (from /proc/stat: the share of CPU time not idle or waiting on I/O,
 * over all CPUs). At the end it prints the command's wall time, the CPUs' busy share over the
 * run and per `--bucket` seconds, the test modules that spanned longest (from their first
 * test's start, a result line's stamp less the test's duration, to their last result line),
 * and those with the most test time (the sum of their tests'
 * durations, whatever ran beside them: a cold and a warm run's lists compared give what
 * compiling costs each module). docs/benchmarks.md (session 40) used it to find that two modules
 * at once left the CPUs idle 9% of a run on an empty shader cache. It reads both of deno test's
 * formats: `--parallel`'s (Vulkan) and one module's `deno test` (the GL fallback's runner);
 * where that runner runs several modules at once, each module's output comes whole when it
 * ends, and the spans are said not to be measured (until then: every span 0 s and no test
 * time on the GL fallback).
 *
 *   deno run -A tools/suite_timeline.ts                       # deno task test
 *   deno run -A tools/suite_timeline.ts --out /tmp/tl -- deno task test tests/smoke_matrix_test.ts
 *
 * The command's output goes to this process's stdout as it comes; with `--out DIR` the stamped
 * lines go to DIR/timeline.log and the samples to DIR/cpu.tsv too. The exit code is the
 * command's (2 on a bad option). Where there is no /proc/stat (not Linux), the CPU share is
 * said to be unknown and the rest still runs.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { ANSI_COLOR } from "./test_runner.ts";

/** Cumulative CPU times from /proc/stat's first line, in clock ticks. */
export interface CpuTimes {
  /** Every field added up. */
  total: number;
  /** idle + iowait. */
  idle: number;
}

/**
 * The aggregate `cpu` line of /proc/stat (`cpu user nice system idle iowait irq ...`) as
 * totals, or null when the text has none.
 *
 * @example
 * ```ts
 * import { parseProcStat } from "./suite_timeline.ts";
 * parseProcStat("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 50 0 25 400 25 0 0 0 0 0\n");
 * // { total: 1000, idle: 850 }
 * parseProcStat("cpu  100 0 50 800 50 0 0 0 0 0\n")?.idle; // 850
 * ```
 */
export function parseProcStat(text: string): CpuTimes | null {
  const line = text.split("\n").find((l) => /^cpu\s/.test(l));
  if (!line) return null;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  if (v.length < 5 || v.some((x) => !Number.isFinite(x))) return null;
  return { total: v.reduce((a, b) => a + b, 0), idle: v[3] + v[4] };
}

/**
 * The share of CPU time that was busy between two samples, in percent (0 when no time passed).
 *
 * @example
 * ```ts
 * import { busyPercent } from "./suite_timeline.ts";
 * busyPercent({ total: 1000, idle: 850 }, { total: 1200, idle: 900 }); // 75
 * ```
 */
export function busyPercent(a: CpuTimes, b: CpuTimes): number {
  const total = b.total - a.total;
  return total > 0 ? (100 * (total - (b.idle - a.idle))) / total : 0;
}

/** One CPU sample: seconds since the start, busy percent since the previous sample. */
export interface CpuSample {
  t: number;
  busy: number;
}

/**
 * The mean busy share of the samples in each `bucket`-second stretch of the run, in order
 * (a stretch without samples is left out).
 *
 * @example
 * ```ts
 * import { bucketBusy } from "./suite_timeline.ts";
 * bucketBusy([{ t: 1, busy: 90 }, { t: 2, busy: 100 }, { t: 31, busy: 40 }], 30);
 * // [{ from: 0, busy: 95 }, { from: 30, busy: 40 }]
 * ```
 */
export function bucketBusy(
  samples: readonly CpuSample[],
  bucket: number,
): { from: number; busy: number }[] {
  const sums = new Map<number, { sum: number; n: number }>();
  for (const s of samples) {
    const k = Math.floor(s.t / bucket);
    const e = sums.get(k) ?? { sum: 0, n: 0 };
    e.sum += s.busy;
    e.n++;
    sums.set(k, e);
  }
  return [...sums.entries()].sort((a, b) => a[0] - b[0]).map(([k, e]) => ({
    from: k * bucket,
    busy: e.sum / e.n,
  }));
}

/** A test module's span, in seconds since the start. */
export interface ModuleSpan {
  module: string;
  /**
   * When it started: its `running` line, or earlier, a top-level result line's stamp less
   * that test's duration (with `--parallel` a module prints no `running` line, and its first
   * line comes when its first test ends).
   */
  first: number;
  /** Its last result line. */
  last: number;
}

/** A line of a test module's, as {@link moduleLines} reads it. */
interface ModuleLine {
  /** The module's file name. */
  module: string;
  /** `running N tests from` (a module's start), else a result line. */
  kind: "start" | "result";
  /** A top-level test's result line: its duration as printed (null for a step or none). */
  duration: string | null;
}

/**
 * The lines of stamped output that belong to a test module, colours removed: deno test's
 * `running N tests from ./tests/x_test.ts`, and its result lines in both of its formats:
 * `./tests/x_test.ts => name ... ok (3s)` (with `--parallel`: Vulkan's one `deno test`) and
 * `name ... ok (3s)` after the module's `running` line (one module's `deno test`, as the GL
 * fallback's runner starts them; a step's line is indented there, and has a second ` ... `
 * in the other format: not a top-level result).
 */
function moduleLines<T>(lines: readonly (readonly [T, string])[]): [T, ModuleLine][] {
  const out: [T, ModuleLine][] = [];
  let current: string | null = null;
  for (const [t, raw] of lines) {
    const line = raw.replace(ANSI_COLOR, "");
    const start = /^running \d+ tests? from (?:.*\/)?([^/\s]+\.[jt]s)$/.exec(line);
    if (start) {
      current = start[1];
      out.push([t, { module: current, kind: "start", duration: null }]);
      continue;
    }
    // a module outside the working folder prints as `../x/y_test.ts => ...`: it was not read
    const prefixed = /^(?:\.\.?\/|\/|file:\/\/\/)(?:.*\/)?([^/\s]+\.[jt]s) => (.*)$/.exec(line);
    if (prefixed) {
      const r = / \.\.\. (?:ok|FAILED) \(([^)]+)\)$/.exec(prefixed[2]);
      const top = r !== null && !prefixed[2].slice(0, r.index).includes(" ... ");
      out.push([t, { module: prefixed[1], kind: "result", duration: top ? r[1] : null }]);
      continue;
    }
    if (/^(?:ok|FAILED) \| /.test(line) || line.startsWith("test_runner: ")) {
      current = null; // a module's summary, the runner's next header: what follows is not its
      continue;
    }
    const plain = /^(\s*)\S.* \.\.\. (?:ok|FAILED|ignored)(?: \(([^)]+)\))?$/.exec(line);
    if (plain && current !== null) {
      const top = plain[1] === "" && !/ \.\.\. ignored/.test(line);
      out.push([t, { module: current, kind: "result", duration: top ? plain[2] ?? null : null }]);
    }
  }
  return out;
}

/**
 * Each test module's span from stamped lines (`[seconds, line]`): a module is named by deno
 * test's `running N tests from ./tests/x_test.ts` and its result lines (`./tests/x_test.ts =>
 * name ... ok` as it prints them with `--parallel`, `name ... ok` after the `running` line in
 * one module's `deno test`), colours removed. A module starts at its `running` line or, if
 * earlier, at a top-level result's stamp less that test's duration. Longest first.
 *
 * @example
 * ```ts
 * import { moduleSpans } from "./suite_timeline.ts";
 * moduleSpans([
 *   [0.5, "running 2 tests from ./tests/a_test.ts"],
 *   [2, "./tests/a_test.ts => one ... ok (1s)"],
 *   [4, "./tests/a_test.ts => two ... ok (2s)"],
 *   [5, "ok | 2 passed | 0 failed (4s)"],
 *   [90, "./tests/b_test.ts => smoke ... ok (1m23s)"], // --parallel: no running line
 * ]);
 * // [{ module: "b_test.ts", first: 7, last: 90 }, { module: "a_test.ts", first: 0.5, last: 4 }]
 * ```
 */
export function moduleSpans(lines: readonly (readonly [number, string])[]): ModuleSpan[] {
  const spans = new Map<string, ModuleSpan>();
  for (const [t, { module, duration }] of moduleLines(lines)) {
    // A result comes when its test ends: the test began its duration earlier. From the
    // result lines alone, a module whose first test ran 83 s (the smoke matrix's) spanned 0 s.
    const began = Math.max(0, t - (duration === null ? 0 : durationSeconds(duration) ?? 0));
    const s = spans.get(module);
    if (s) {
      s.first = Math.min(s.first, began);
      s.last = t;
    } else spans.set(module, { module, first: began, last: t });
  }
  return [...spans.values()].sort((a, b) => b.last - b.first - (a.last - a.first));
}

/**
 * Seconds of a duration as deno test prints it after a result (`1m2s`, `12s`, `345ms`, `7µs`),
 * or null for anything else.
 *
 * @example
 * ```ts
 * import { durationSeconds } from "./suite_timeline.ts";
 * durationSeconds("1m2s"); // 62
 * durationSeconds("345ms"); // 0.345
 * durationSeconds("soon"); // null
 * ```
 */
export function durationSeconds(text: string): number | null {
  const m = /^(?:(\d+)m)?(?:(\d+(?:\.\d+)?)(s|ms|µs|us|ns))?$/.exec(text.trim());
  if (!m || (m[1] === undefined && m[2] === undefined)) return null;
  // divided, not multiplied by 1e-3: 345 / 1000 is 0.345, 345 * 1e-3 is 0.34500000000000003
  const per = { s: 1, ms: 1e3, "µs": 1e6, us: 1e6, ns: 1e9 }[m[3] ?? "s"] ?? 1;
  return Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0) / per;
}

/** A test module's tests and the sum of their durations. */
export interface ModuleTestTime {
  module: string;
  /** Top-level tests that reported a result (ok or FAILED). */
  tests: number;
  /** The sum of their durations, in seconds, as deno test printed them. */
  seconds: number;
}

/**
 * Each test module's test time: the durations deno test prints after each top-level test's
 * result (`./tests/x_test.ts => name ... ok (3s)`, as with `--parallel`, or `name ... ok (3s)`
 * after the module's `running` line, as one module's `deno test` prints it on the GL
 * fallback; a step's line, with a second ` ... ` or indented, is inside its test's time and
 * not counted again), colours removed. Unlike
 * a module's span (first test's start to last line), this is the module's own work, whatever ran beside
 * it. Largest first.
 *
 * @example
 * ```ts
 * import { moduleTestTimes } from "./suite_timeline.ts";
 * moduleTestTimes([
 *   "./tests/a_test.ts => one ... ok (1s)",
 *   "./tests/a_test.ts => two ... inner ... ok (500ms)",
 *   "./tests/a_test.ts => two ... FAILED (2s)",
 *   "./tests/b_test.ts => three ... ok (4s)",
 * ]);
 * // [{ module: "b_test.ts", tests: 1, seconds: 4 }, { module: "a_test.ts", tests: 2, seconds: 3 }]
 * ```
 */
export function moduleTestTimes(lines: readonly string[]): ModuleTestTime[] {
  const times = new Map<string, ModuleTestTime>();
  for (const [, l] of moduleLines(lines.map((l) => [0, l] as const))) {
    if (l.kind !== "result" || l.duration === null) continue;
    const seconds = durationSeconds(l.duration);
    if (seconds === null) continue;
    const t = times.get(l.module) ?? { module: l.module, tests: 0, seconds: 0 };
    t.tests++;
    t.seconds += seconds;
    times.set(l.module, t);
  }
  return [...times.values()].sort((a, b) => b.seconds - a.seconds);
}

/**
 * The modules at once of the GL fallback's runner (tools/test_runner.ts) when more than one:
 * it then prints each module's output whole when its process ends, so that the stamps of a
 * module's lines say when it ended, not how long it ran. Null for any other output.
 *
 * @example
 * ```ts
 * import { wholeOutputJobs } from "./suite_timeline.ts";
 * wholeOutputJobs([[0, "test_runner: GL fallback (no Vulkan driver): 3 modules ...; 2 at once"]]); // 2
 * ```
 */
export function wholeOutputJobs(lines: readonly (readonly [number, string])[]): number | null {
  for (const [, raw] of lines) {
    const m = /^test_runner: GL fallback .*; (\d+) at once$/.exec(raw.replace(ANSI_COLOR, ""));
    if (m) return Number(m[1]) > 1 ? Number(m[1]) : null;
  }
  return null;
}

/** What {@link runTimeline} measured. */
export interface Timeline {
  /** The command's exit code. */
  code: number;
  /** Its wall time in seconds. */
  wallS: number;
  /** The CPU samples (empty without /proc/stat). */
  samples: CpuSample[];
  /** Its output lines, each with the seconds since the start when it came. */
  lines: [number, string][];
}

async function readCpu(): Promise<CpuTimes | null> {
  try {
    return parseProcStat(await Deno.readTextFile("/proc/stat"));
  } catch {
    return null;
  }
}

/**
 * Run `cmd` (stdout and stderr merged line by line), stamping each line, with the CPUs sampled
 * every `intervalS` seconds; `onLine` sees each stamped line as it comes.
 *
 * @example
 * ```ts ignore
 * import { runTimeline } from "./suite_timeline.ts";
 * const tl = await runTimeline(["sh", "-c", "echo a; sleep 1; echo b"], 0.5);
 * tl.lines.length; // 2
 * ```
 */
export async function runTimeline(
  cmd: readonly string[],
  intervalS: number,
  options: { onLine?: (t: number, line: string) => void } = {},
): Promise<Timeline> {
  const t0 = performance.now();
  const now = () => (performance.now() - t0) / 1000;
  const samples: CpuSample[] = [];
  let prev = await readCpu();
  const timer = prev === null ? undefined : setInterval(async () => {
    const cur = await readCpu();
    if (cur && prev) samples.push({ t: now(), busy: busyPercent(prev, cur) });
    prev = cur;
  }, intervalS * 1000);
  const lines: [number, string][] = [];
  try {
    const child = new Deno.Command(cmd[0], {
      args: cmd.slice(1),
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const pump = async (stream: ReadableStream<Uint8Array>) => {
      let rest = "";
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        const parts = (rest + chunk).split("\n");
        rest = parts.pop() ?? "";
        for (const l of parts) {
          const t = now();
          lines.push([t, l]);
          options.onLine?.(t, l);
        }
      }
      if (rest) {
        const t = now();
        lines.push([t, rest]);
        options.onLine?.(t, rest);
      }
    };
    const [status] = await Promise.all([child.status, pump(child.stdout), pump(child.stderr)]);
    return { code: status.code, wallS: now(), samples, lines };
  } finally {
    if (timer !== undefined) clearInterval(timer);
  }
}

/**
 * The summary lines of a timeline: wall time, the CPUs' busy share over the run and per
 * `bucket` seconds, and the `top` longest module spans.
 *
 * @example
 * ```ts
 * import { summarizeTimeline } from "./suite_timeline.ts";
 * summarizeTimeline({ code: 0, wallS: 40, samples: [{ t: 1, busy: 90 }, { t: 31, busy: 50 }],
 *   lines: [[1, "./tests/a_test.ts => x ... ok"], [30, "./tests/a_test.ts => y ... ok"]] },
 *   { bucket: 30, top: 5 })[1];
 * // "CPUs busy: 70% of the run (2 samples)"
 * ```
 */
export function summarizeTimeline(
  tl: Timeline,
  options: { bucket: number; top: number },
): string[] {
  const out = [`wall: ${tl.wallS.toFixed(1)} s, exit ${tl.code}`];
  if (tl.samples.length === 0) {
    out.push("CPUs busy: unknown (no /proc/stat samples)");
  } else {
    const mean = tl.samples.reduce((a, s) => a + s.busy, 0) / tl.samples.length;
    out.push(`CPUs busy: ${mean.toFixed(0)}% of the run (${tl.samples.length} samples)`);
    out.push(
      `per ${options.bucket} s: ` +
        bucketBusy(tl.samples, options.bucket).map((b) => `${b.from}:${b.busy.toFixed(0)}%`)
          .join(" "),
    );
  }
  const spans = moduleSpans(tl.lines).slice(0, options.top);
  const whole = wholeOutputJobs(tl.lines);
  if (whole !== null && spans.length) {
    // each module's lines came at once, when its process ended: every span would read 0
    out.push(
      `longest module spans: not measured (the GL fallback's runner ran ${whole} modules at ` +
        "once and printed each one's output whole when it ended; DENO_JOBS=1 shows them)",
    );
  } else if (spans.length) {
    out.push(`longest module spans (first test's start to last result line, s):`);
    for (const s of spans) {
      out.push(
        `  ${(s.last - s.first).toFixed(0).padStart(4)}  ${s.module} (${s.first.toFixed(0)}-${
          s.last.toFixed(0)
        })`,
      );
    }
  }
  const times = moduleTestTimes(tl.lines.map(([, l]) => l)).slice(0, options.top);
  if (times.length) {
    out.push(`most test time per module (the sum of its tests' durations, s):`);
    for (const t of times) {
      out.push(
        `  ${t.seconds.toFixed(0).padStart(4)}  ${t.module} (${t.tests} ${
          t.tests === 1 ? "test" : "tests"
        })`,
      );
    }
  }
  return out;
}

const HELP = `tools/suite_timeline.ts: where a test run's time goes

usage: deno run -A tools/suite_timeline.ts [options] [-- command ...]

  (default command: deno task test)
  --interval S   seconds between CPU samples from /proc/stat (default 1)
  --bucket S     stretch of the run the busy share is given for (default 30)
  --top N        longest module spans, and modules with the most test time, listed
                 (default 12 each)
  --out DIR      also write DIR/timeline.log (stamped lines) and DIR/cpu.tsv (t, busy %)
  -h, --help     this text

Exit code: the command's; 2 on a bad option, an --out folder it cannot make, or a command
that cannot be started.`;

async function main(argv: string[]): Promise<number> {
  let values;
  let positionals;
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        interval: { type: "string", default: "1" },
        bucket: { type: "string", default: "30" },
        top: { type: "string", default: "12" },
        out: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    console.error(`suite_timeline: ${(e as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const num = (name: string, v: string, min: number): number | string => {
    const n = Number(v);
    return Number.isFinite(n) && n >= min ? n : `--${name} must be a number >= ${min}, got "${v}"`;
  };
  const interval = num("interval", values.interval, 0.1);
  const bucket = num("bucket", values.bucket, 1);
  const top = num("top", values.top, 0);
  for (const v of [interval, bucket, top]) {
    if (typeof v === "string") {
      console.error(`suite_timeline: ${v}`);
      return 2;
    }
  }
  const cmd = positionals.length ? positionals : [Deno.execPath(), "task", "test"];
  // --out made before the run: a folder it cannot make is said now, not after a suite's
  // minutes with a stack trace and the timeline lost
  if (values.out) {
    try {
      await Deno.mkdir(values.out, { recursive: true });
    } catch (e) {
      console.error(
        `suite_timeline: --out ${values.out}: cannot make the folder: ${(e as Error).message}`,
      );
      return 2;
    }
  }
  let tl: Timeline;
  try {
    tl = await runTimeline(cmd, interval as number, {
      onLine: (_t, l) => console.log(l),
    });
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound || e instanceof Deno.errors.PermissionDenied)) throw e;
    console.error(`suite_timeline: cannot start ${cmd[0]}: ${e.message}`);
    return 2;
  }
  const summary = summarizeTimeline(tl, { bucket: bucket as number, top: top as number });
  console.log(`\n${summary.join("\n")}`);
  if (values.out) {
    await Deno.writeTextFile(
      `${values.out}/timeline.log`,
      tl.lines.map(([t, l]) => `${t.toFixed(1).padStart(7)} ${l}`).join("\n") + "\n",
    );
    await Deno.writeTextFile(
      `${values.out}/cpu.tsv`,
      "t\tbusy\n" + tl.samples.map((s) => `${s.t.toFixed(1)}\t${s.busy.toFixed(1)}`).join("\n") +
        "\n",
    );
  }
  return tl.code;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
