/**
 * `baseline update`: run a matrix (or take a finished run's report) and write
 * `baselines/<device-key>.json`; `baseline key`: print this device's key.
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import {
  baselineFromReport,
  currentBackend,
  deviceKey,
  DriftInputError,
  HistoryStore,
  loadComparable,
  poolRounds,
  writeBaseline,
} from "../drift/mod.ts";
import { probeCaps } from "../gpu/device.ts";
import { readReportJson } from "../report/json.ts";
import { ReportFileError } from "../report/errors.ts";
import { runMatrix } from "../runner/run_matrix.ts";
import { writeRunReports } from "../report/run_reports.ts";
import type { RunReport } from "../results/types.ts";
import { EXIT } from "./errors.ts";
import { parseNonNegativeInt, parsePositiveInt } from "./options.ts";
import { runExitCode } from "./run.ts";

async function reportFrom(path: string): Promise<RunReport> {
  let file = path;
  try {
    if ((await Deno.stat(path)).isDirectory) file = `${path.replace(/\/+$/, "")}/report.json`;
    return await readReportJson(file);
  } catch (e) {
    if (e instanceof ReportFileError) throw e;
    if (e instanceof Deno.errors.NotFound) throw new DriftInputError(file, "no such file");
    throw e;
  }
}

/**
 * Build the `baseline` command (`update`, `key`).
 *
 * @example
 * ```ts ignore
 * import { baselineCommand } from "./baseline.ts";
 * const cmd = baselineCommand();
 * ```
 */
export function baselineCommand() {
  const update = new Command("update")
    .description(
      "Run a matrix and write <dir>/<device-key>.json: per case the support decision, plan " +
        "digest and reasons, error metrics (max abs, max rel, cos_diff, norm_rel, LSE), output " +
        "digest, timing samples (median, spread, count) and kernel source hash, plus the full " +
        "environment fingerprint. The device key is derived from the adapter (description " +
        "without its version, vendor, device id) and the backend the harness uses " +
        "(DENO_WEBGPU_BACKEND, else its own choice). Exit 1 when a " +
        "case of the run failed (the baseline is written anyway), 2 on bad input.",
    )
    .option(
      "--matrix <name|file>",
      "bundled matrix (smoke, nightly, adapter) or a JSON file",
      "smoke",
    )
    .option("--filter <query>", "select cases, e.g. 'preset=tiny;dtype=f32'")
    .option(
      "--repeats <n>",
      "timed repetitions per case (10 lets the speed test reach p < 0.01)",
      parseNonNegativeInt,
      10,
    )
    .option(
      "--rounds <n>",
      "run the selection n times and pool each case's timing samples (spreads them over the " +
        "machine's states; outputs in <out>/round-<i>)",
      parsePositiveInt,
      1,
    )
    .option(
      "--max-rows <n>",
      "query rows the float64 reference computes at most",
      parsePositiveInt,
      64,
    )
    .option("--out <dir>", "run output directory", "out/baseline")
    .option("--dir <dir>", "baselines directory", "baselines")
    .option(
      "--from-report <file|dir>",
      "take this finished run (report.json or its folder) instead of running",
    )
    .option("--history <db>", "also append the run to this history database")
    .action(async (opts) => {
      let report: RunReport;
      if (opts.fromReport) report = await reportFrom(opts.fromReport);
      else {
        const rounds: RunReport[] = [];
        for (let i = 1; i <= opts.rounds; i++) {
          const r = await runMatrix({
            matrix: opts.matrix,
            filter: opts.filter,
            out: opts.rounds === 1 ? opts.out : `${opts.out}/round-${i}`,
            repeats: opts.repeats,
            maxRows: opts.maxRows,
            writeReports: writeRunReports,
          });
          rounds.push(r);
          if (r.interrupted) break;
        }
        report = poolRounds(rounds);
      }
      const baseline = await baselineFromReport(report, { backend: currentBackend() });
      const path = await writeBaseline(opts.dir, baseline);
      if (opts.history) {
        const store = await HistoryStore.open(opts.history);
        try {
          await store.append(report, { label: "baseline", backend: baseline.backend });
        } finally {
          store.close();
        }
      }
      const t = report.totals;
      console.log(
        `baseline: ${path} (${baseline.cases.length} cases, device ${baseline.deviceKey}, ` +
          `Deno ${report.fingerprint.runtime.deno}); ${t.pass} pass, ${t.fail} fail, ` +
          `${t.unexpected} unexpected, ${t.error} error`,
      );
      if (t.fail + t.unexpected + t.error > 0) {
        console.error("warning: the baseline records failing cases as they are");
      }
      Deno.exitCode = report.interrupted ? 130 : runExitCode(t);
    });
  const key = new Command("key")
    .description(
      "Print this device's key (the baseline file name without .json): from the default " +
        "adapter, or from a run's report.json / folder / baseline file. Exit 3 without an adapter.",
    )
    .argument("[source]", "report.json, run folder or baseline file (default: probe the adapter)")
    .action(async (source) => {
      const backend = currentBackend();
      const k = source
        ? (await loadComparable(source, { backend })).deviceKey
        : deviceKey({ adapter: await probeCaps() }, { backend });
      console.log(k);
      Deno.exitCode = EXIT.ok;
    });
  return new Command("baseline")
    .description(
      "Baselines per device class: baselines/<device-key>.json (see `baseline update --help`)",
    )
    .addCommand(update.exitOverride())
    .addCommand(key.exitOverride());
}
