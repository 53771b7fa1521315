/**
 * The files `bench --out <dir>` writes, and the check that they destroy nothing: not the
 * `--reference-ceilings` report the run reads, not another command's output folder.
 *
 * @module
 */
import { checkOutputsApart } from "../report/output_overlap.ts";
import { OutputPathError, refuseRunFolder } from "../report/output_paths.ts";
import { BENCH_FILES, BENCH_RECORDS, BENCH_STATE } from "../report/output_paths.ts";
import { plural } from "../util/plural.ts";
import { type HostLoad, hostLoadProblem } from "../util/host_load.ts";
import { isRecord } from "../util/is_record.ts";
import { writeTextAtomic } from "../util/fs.ts";
import { JsonlWriter } from "../report/jsonl.ts";
import type { BenchRecord } from "./run_bench.ts";

/**
 * Refuse (OutputPathError, exit 2) a `bench --out` folder whose writing would destroy an
 * input or another command's output: a folder holding `run.json` or `results.jsonl` (a
 * run's or a merge's: bench's report.json, summary.md and report.html would replace
 * theirs), and a `--reference-ceilings` file that is one of the files bench writes
 * there. Checked before the device starts; a missing folder is fine.
 *
 * @example
 * ```ts ignore
 * import { checkBenchOut } from "./out_dir.ts";
 * await checkBenchOut("out/bench", { referenceCeilings: "out/bench/report.json" });
 * // throws: --out out/bench: bench writes report.json there, and that file is the
 * // --reference-ceilings out/bench/report.json it reads: writing it would destroy ...
 * ```
 */
export async function checkBenchOut(
  out: string,
  options: { referenceCeilings?: string } = {},
): Promise<void> {
  const dir = out.replace(/\/+$/, "") || "/";
  await refuseRunFolder(
    out,
    "whose report.json, summary.md and report.html bench would replace; give a new folder " +
      "or a bench output folder",
  );
  const files = BENCH_FILES.map((f) => `${dir}/${f}`);
  try {
    await checkOutputsApart(
      files.map((f) => ["--out", f] as const),
      [["--reference-ceilings", options.referenceCeilings]],
    );
  } catch (e) {
    // said of the folder the user gave, not of the file inside it bench would write
    if (!(e instanceof OutputPathError) || !files.includes(e.path)) throw e;
    throw new OutputPathError(
      "--out",
      out,
      `bench writes ${e.path.slice(dir.length + 1)} there, and that file is the ` +
        `--reference-ceilings ${options.referenceCeilings} it reads: writing it would destroy ` +
        "the reference; give another --out folder, or copy the reference elsewhere first",
    );
  }
}

/**
 * Refuse (OutputPathError, exit 2) a `bench --out` folder holding the records of a bench
 * that did not finish: records.jsonl with lines and no report.json (a bench killed
 * halfway, whose measurements the file keeps; a half-written last line is not counted), a
 * report.json marked interrupted (a bench a signal stopped), or one of fewer records than
 * bench.json's selected cases (a bench case timeouts in a row stopped). A new bench would truncate it; `bench --resume` runs the rest,
 * `bench --force` skips this check. A finished bench's folder is replaced.
 *
 * @example
 * ```ts ignore
 * import { checkUnfinishedBench } from "./out_dir.ts";
 * await checkUnfinishedBench("out/bench"); // throws when a killed bench's records are there
 * ```
 */
export async function checkUnfinishedBench(out: string): Promise<void> {
  const dir = out.replace(/\/+$/, "") || "/";
  let text: string;
  try {
    text = await Deno.readTextFile(`${dir}/${BENCH_RECORDS}`);
  } catch {
    return; // none
  }
  // a last line a kill cut in half is no record (it said "2 records" of one and a half)
  const lines = text.split("\n").filter((l) => l.trim() !== "").filter((l, i, all) => {
    if (i < all.length - 1) return true;
    try {
      JSON.parse(l);
      return true;
    } catch {
      return false;
    }
  }).length;
  if (lines === 0) return;
  const report = await reportState(dir);
  if (report.state === "finished") return;
  throw new OutputPathError(
    "--out",
    out,
    `holds ${BENCH_RECORDS} with ${plural(lines, "record")} and ${
      report.state === "interrupted"
        ? "a report.json marked interrupted: a bench that a signal stopped"
        : report.state === "short"
        ? `a report.json of ${report.records} of its ${report.selected} cases: a bench that ` +
          "stopped before its end (case timeouts in a row)"
        : "no report.json: a bench that did not finish (killed?)"
    } measured them, and a new bench would truncate the file; --resume runs the rest of that ` +
      "bench (give its options), --force replaces it, or move it away or pick another --out",
  );
}

/**
 * The text of `out`/report.json when the folder holds a bench that finished and wrote every
 * report (report.json of all its cases, not interrupted, readable as JSON; results.csv,
 * summary.md and report.html there); null otherwise (a missing report a full disk kept from
 * being written included: a resume writes it).
 *
 * @example
 * ```ts ignore
 * import { finishedBenchReport } from "./out_dir.ts";
 * await finishedBenchReport("out/bench"); // the report.json text of a finished bench, or null
 * ```
 */
export async function finishedBenchReport(out: string): Promise<string | null> {
  const dir = out.replace(/\/+$/, "") || "/";
  if ((await reportState(dir)).state !== "finished") return null;
  const reports = ["report.json", "results.csv", "summary.md", "report.html"];
  for (const f of reports) {
    const info = await Deno.stat(`${dir}/${f}`).catch(() => null);
    if (!info?.isFile) return null;
  }
  try {
    const text = await Deno.readTextFile(`${dir}/report.json`);
    JSON.parse(text);
    return text;
  } catch {
    return null; // damaged: the resume writes it anew
  }
}

/**
 * The bench.json of `dir`: Deno.errors.NotFound when there is none, an Error when it is not
 * one this harness wrote (no reps, case list, backends, modules or device key).
 */
async function readBenchState(dir: string): Promise<BenchState> {
  const state = JSON.parse(await Deno.readTextFile(`${dir}/${BENCH_STATE}`)) as BenchState;
  const o = state?.options;
  if (
    typeof o?.reps !== "number" || !Array.isArray(o.cases) || !Array.isArray(o.backends) ||
    !Array.isArray(o.modules) || typeof state?.device?.key !== "string"
  ) {
    throw new Error("not a bench.json of this harness");
  }
  return state;
}

/**
 * Whether `dir/report.json` is there; marked interrupted; or holding fewer records than the
 * cases `dir/bench.json` says the bench selected (a bench that case timeouts in a row stopped
 * writes a report of what ran, not marked interrupted: a new bench replaced its records
 * without a word, where its last line had offered `--resume`).
 */
async function reportState(
  dir: string,
): Promise<
  { state: "none" | "interrupted" | "finished" } | {
    state: "short";
    records: number;
    selected: number;
  }
> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${dir}/report.json`);
  } catch {
    return { state: "none" };
  }
  let report: { interrupted?: unknown; records?: unknown };
  try {
    report = JSON.parse(text) as { interrupted?: unknown; records?: unknown };
  } catch {
    return { state: "finished" }; // not read here: a damaged report was a finished bench's too
  }
  if (report.interrupted) return { state: "interrupted" };
  const selected = await readBenchState(dir).then((s) => s.options.cases, () => undefined);
  if (
    selected !== undefined && Array.isArray(report.records) &&
    report.records.length < selected.length
  ) {
    return { state: "short", records: report.records.length, selected: selected.length };
  }
  return { state: "finished" };
}

/**
 * The options that make a bench (`bench.json`): `bench --resume` keeps the records of a
 * folder only when they are the same.
 */
export interface BenchOptions {
  /** `--matrix`, as given. */
  readonly matrix: string;
  /** `--filter`, or null. */
  readonly filter: string | null;
  /** The ids of the cases they select, in order. */
  readonly cases: readonly string[];
  /** The `--backend` ids. */
  readonly backends: readonly string[];
  /** The `--backend-module` files, with their fingerprint hashes (which kernel ran). */
  readonly modules: readonly {
    readonly specifier: string;
    readonly id: string;
    readonly hashes: Readonly<Record<string, string>>;
  }[];
  /** `--runtime`. */
  readonly runtime: string;
  /** `--reps`. */
  readonly reps: number;
  /** `--warmup-ms`, as given. */
  readonly warmupMs: number | "auto";
  /** `--replay`, as given. */
  readonly replay: string;
}

/** The device a bench ran on and how it timed there (`bench.json`). */
export interface BenchDevice {
  /** The device key (drift/device_key.ts): adapter, driver, WebGPU backend or browser. */
  readonly key: string;
  /** The warm-up `--warmup-ms` meant on it, ms. */
  readonly warmupMs: number;
  /** The replay mode `--replay` meant on it. */
  readonly replay: string;
}

/** What `bench.json` holds: the bench a folder's records.jsonl belongs to. */
export interface BenchState {
  /** Its options. */
  readonly options: BenchOptions;
  /** Its device. */
  readonly device: BenchDevice;
}

/** What `bench --resume` keeps of a folder: the bench there and its records, by case id. */
export interface BenchResume {
  /** The bench of the folder (null: none there, a new bench starts). */
  readonly state: BenchState | null;
  /** Its records, by case id (the first of an id). */
  readonly kept: ReadonlyMap<string, BenchRecord>;
  /**
   * The host's load its report.json recorded (a stopped bench's), where it has one: the kept
   * records were timed under it, so the resumed bench keeps the busier of it and its own.
   */
  readonly hostLoad?: HostLoad;
}

/**
 * The differences between the options of the bench a folder holds and this one's, each
 * named with both values ("--reps 2 there, 7 here"); none when they select the same cases
 * the same way.
 *
 * @example
 * ```ts
 * import { benchOptionDifferences } from "./out_dir.ts";
 * const a = { matrix: "tiny", filter: null, cases: ["x"], backends: [], modules: [],
 *   runtime: "deno", reps: 2, warmupMs: 0, replay: "auto" } as const;
 * benchOptionDifferences(a, { ...a, reps: 7 }); // ["--reps 2 there, 7 here"]
 * ```
 */
export function benchOptionDifferences(held: BenchOptions, now: BenchOptions): string[] {
  const out: string[] = [];
  const differ = (option: string, there: string, here: string) => {
    if (there !== here) out.push(`${option} ${there} there, ${here} here`);
  };
  // The same cases however the selection is spelt (filter values in another order).
  if (held.cases.join("\n") !== now.cases.join("\n")) {
    const before = out.length;
    differ("--matrix", held.matrix, now.matrix);
    differ("--filter", held.filter ?? "(none)", now.filter ?? "(none)");
    if (out.length === before) {
      out.push(
        `the cases (the matrix changed since: ${held.cases.length} there, ` +
          `${now.cases.length} here)`,
      );
    }
  }
  const list = (xs: readonly string[]) => xs.length ? xs.join(", ") : "(none)";
  differ("--backend", list(held.backends), list(now.backends));
  const modules = (ms: BenchOptions["modules"]) => list(ms.map((m) => `${m.specifier} (${m.id})`));
  const before = out.length;
  differ("--backend-module", modules(held.modules), modules(now.modules));
  if (out.length === before) {
    const changed = held.modules.filter((m, i) =>
      JSON.stringify(m.hashes) !== JSON.stringify(now.modules[i]?.hashes)
    );
    if (changed.length) {
      out.push(
        `the kernels of --backend-module ${
          changed.map((m) => m.specifier).join(", ")
        } (their files changed since)`,
      );
    }
  }
  differ("--runtime", held.runtime, now.runtime);
  differ("--reps", String(held.reps), String(now.reps));
  return out;
}

/**
 * The differences between the device and timing of the bench a folder holds and this
 * one's: the device key, and the warm-up and replay mode as they apply on the device
 * ("--warmup-ms auto" is 0 on a cpu-class device: the same as "--warmup-ms 0" there).
 *
 * @example
 * ```ts
 * import { benchDeviceDifferences } from "./out_dir.ts";
 * benchDeviceDifferences(
 *   { options: { warmupMs: "auto", replay: "auto" }, device: { key: "a", warmupMs: 0, replay: "waited" } },
 *   { options: { warmupMs: 0, replay: "auto" }, device: { key: "a", warmupMs: 0, replay: "waited" } },
 * ); // []
 * ```
 */
export function benchDeviceDifferences(
  held: { options: Pick<BenchOptions, "warmupMs" | "replay">; device: BenchDevice },
  now: { options: Pick<BenchOptions, "warmupMs" | "replay">; device: BenchDevice },
): string[] {
  const out: string[] = [];
  if (held.device.key !== now.device.key) {
    out.push(`the device ${held.device.key} there, ${now.device.key} here`);
  }
  const asked = (a: string | number, used: string | number) =>
    String(a) === String(used) ? String(a) : `${a} (${used})`;
  if (held.device.warmupMs !== now.device.warmupMs) {
    out.push(
      `--warmup-ms ${asked(held.options.warmupMs, held.device.warmupMs)} there, ` +
        `${asked(now.options.warmupMs, now.device.warmupMs)} here`,
    );
  }
  if (held.device.replay !== now.device.replay) {
    out.push(
      `--replay ${asked(held.options.replay, held.device.replay)} there, ` +
        `${asked(now.options.replay, now.device.replay)} here`,
    );
  }
  return out;
}

/**
 * Read what `bench --resume` keeps of `out`: the bench its bench.json names, and the
 * records of its records.jsonl, once this bench's options are the same. A folder without
 * records is a new bench (state null). Refuses (OutputPathError, exit 2): records without
 * bench.json (their bench unknown), another bench's options (each difference named), a
 * damaged line before the last (the last, half written when the bench was killed, is
 * dropped), a record of a case this bench does not select.
 *
 * @example
 * ```ts ignore
 * import { readBenchResume } from "./out_dir.ts";
 * const { state, kept } = await readBenchResume("out/bench", options);
 * ```
 */
export async function readBenchResume(out: string, now: BenchOptions): Promise<BenchResume> {
  const dir = out.replace(/\/+$/, "") || "/";
  const records = new Map<string, BenchRecord>();
  let text = "";
  try {
    text = await Deno.readTextFile(`${dir}/${BENCH_RECORDS}`);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      throw new OutputPathError(
        "--out",
        out,
        `cannot read ${BENCH_RECORDS}: ${(e as Error).message}`,
      );
    }
  }
  const lines = text.split("\n").map((l, i) => ({ l, n: i + 1 })).filter(({ l }) => l.trim());
  if (lines.length === 0) return { state: null, kept: records };
  let state: BenchState;
  try {
    state = await readBenchState(dir);
  } catch (e) {
    throw new OutputPathError(
      "--out",
      out,
      `holds ${BENCH_RECORDS} with ${plural(lines.length, "record")} but ${
        e instanceof Deno.errors.NotFound
          ? `no ${BENCH_STATE} (a bench from before it was written)`
          : `a ${BENCH_STATE} that cannot be read (${(e as Error).message})`
      }: which bench measured them is unknown, so --resume would credit them to this one; ` +
        "--force starts over, or pick another --out",
    );
  }
  const differ = benchOptionDifferences(state.options, now);
  if (differ.length) {
    throw new OutputPathError(
      "--out",
      out,
      `holds a bench that differs from this one in ${differ.join("; ")}; --resume continues ` +
        "only the same bench (matrices, filter, backends, runtime, --reps, --warmup-ms, " +
        "--replay, device): give its options, pick another --out, or --force to replace it",
    );
  }
  const selected = new Set(now.cases);
  for (const [i, { l, n }] of lines.entries()) {
    let r: BenchRecord;
    try {
      r = JSON.parse(l) as BenchRecord;
    } catch (e) {
      if (i === lines.length - 1) break; // half written when the bench was killed
      throw new OutputPathError(
        "--out",
        out,
        `${BENCH_RECORDS} line ${n} is not JSON (${(e as Error).message}); a damaged line ` +
          "before the last is not skipped: repair or remove it, or --force to start over",
      );
    }
    if (typeof r?.id !== "string" || !["ok", "unsupported", "error"].includes(r.status)) {
      throw new OutputPathError(
        "--out",
        out,
        `${BENCH_RECORDS} line ${n} is not a bench record (no id or status); repair or ` +
          "remove it, or --force to start over",
      );
    }
    if (!selected.has(r.id)) {
      throw new OutputPathError(
        "--out",
        out,
        `${BENCH_RECORDS} line ${n} is of case "${r.id}", which this bench does not select ` +
          "(the matrix changed since?): --force starts over, or pick another --out",
      );
    }
    if (!records.has(r.id)) records.set(r.id, r);
  }
  const load = await reportedLoad(dir);
  return { state, kept: records, ...(load !== undefined ? { hostLoad: load } : {}) };
}

/** The valid `hostLoad` of `<dir>/report.json`, or undefined (none, or no report). */
async function reportedLoad(dir: string): Promise<HostLoad | undefined> {
  try {
    const report: unknown = JSON.parse(await Deno.readTextFile(`${dir}/report.json`));
    const load = isRecord(report) ? report.hostLoad : undefined;
    return load !== undefined && hostLoadProblem(load, "hostLoad") === null
      ? load as HostLoad
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Start a bench's records in `--out`: remove the reports of the bench that wrote the folder
 * before (report.json, results.csv, summary.md, report.html: they are replaced when this
 * run ends), write bench.json (which bench the records are of: what `--resume` checks)
 * and records.jsonl: empty, or the records a resume keeps (`keep`). Without the removal a
 * bench killed halfway (SIGKILL, an out-of-memory kill, a CI job's time limit) left the
 * earlier run's reports beside its own records.jsonl: the folder read as a finished bench
 * of the earlier cases, and the next bench, seeing report.json, truncated the killed run's
 * records without `--force`.
 *
 * @example
 * ```ts ignore
 * import { startBenchRecords } from "./out_dir.ts";
 * const stream = await startBenchRecords("out/bench"); // "out/bench/records.jsonl", empty
 * ```
 */
export async function startBenchRecords(
  out: string,
  options: { state?: BenchState; keep?: readonly BenchRecord[] } = {},
): Promise<string> {
  const dir = out.replace(/\/+$/, "") || "/";
  await Deno.mkdir(dir, { recursive: true });
  for (const file of BENCH_FILES) {
    if (file === BENCH_RECORDS) continue;
    await Deno.remove(`${dir}/${file}`).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
  }
  const stream = `${dir}/${BENCH_RECORDS}`;
  // a resume's records rewritten whole: a line half written when the bench was killed goes
  await writeTextAtomic(stream, (options.keep ?? []).map((r) => JSON.stringify(r) + "\n").join(""));
  // after the records: killed in between, the earlier bench's records are never left
  // beside this bench's bench.json (a resume would credit them to it)
  if (options.state) {
    await writeTextAtomic(`${dir}/${BENCH_STATE}`, JSON.stringify(options.state, null, 2));
  }
  return stream;
}

/**
 * Append one record to a bench's records.jsonl (the path {@link startBenchRecords} returns)
 * and make it durable (`syncData`) before resolving, as run's results.jsonl lines are: the
 * same writer (report/jsonl.ts). It was appended without a sync, so a power loss or a
 * machine reset could lose records a `bench --resume` would have kept. A failed write
 * rejects with the OS's error.
 *
 * @example
 * ```ts ignore
 * import { appendBenchRecord, startBenchRecords } from "./out_dir.ts";
 * import type { BenchRecord } from "./run_bench.ts";
 * declare const record: BenchRecord;
 * await appendBenchRecord(await startBenchRecords("out/bench"), record);
 * ```
 */
export async function appendBenchRecord(stream: string, record: BenchRecord): Promise<void> {
  const writer = await JsonlWriter.open<BenchRecord>(stream);
  try {
    await writer.write(record);
  } finally {
    await writer.close();
  }
}
