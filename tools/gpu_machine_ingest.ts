/**
 * Ingest what `tools/gpu_machine_check.sh` brought back from a lent GPU machine (the device
 * tool's `files_at` folder, i.e. the script's $OUT) into the repository, in one command:
 *
 *   deno run -A tools/gpu_machine_ingest.ts <files_at>             # docs/gpu_machine/<device>-<date>/
 *   deno run -A tools/gpu_machine_ingest.ts <files_at> --dest docs/gpu_machine/h200-2026-12-04/run2
 *
 * It writes the folder issue 13 asks to commit, named from devices.json's adapter and the date
 * of the run's log (`--name`, `--date` or `--dest` override them):
 *
 *   README.md          what the run was and found: the steps with exit codes and seconds, the
 *                      bench targets met and missed (by how much), the smoke totals, the baseline
 *   devices.json, steps.txt, log.txt (its last 2 MB where longer)
 *   bench_summary.md, bench_report.json (bench_records.jsonl where bench died before its reports)
 *   smoke_summary.md, smoke_report.json
 *   ab.txt             the log of the A/B steps (ab, ab_fa2_tile, ab_dense_decode, ab_plans)
 *   probes.txt         the log of the probes step (tools/workgroup_probe.ts: barriers and
 *                      workgroup-memory reads)
 *
 * and then the device class's baseline, `main.ts baseline update --from-report` on the smoke
 * report (baselines/<device key>.json; `--no-baseline` skips it). Each input is checked for
 * what it claims to be (a bench report with ceilings and records, a run report) before anything
 * is written; the folder is built beside its destination and renamed into place at the end, so
 * a failure leaves no half-written folder; an existing destination is refused (exit 2) unless
 * `--force`. Exit 0 when the folder and the baseline are written, 1 when the folder is but the
 * baseline could not be made (its command's message is printed), 2 on bad input.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { basename, dirname, join, resolve } from "node:path";
import { parseReferenceCeilings } from "../bench/reference_ceilings.ts";
import { ConfigError } from "../adapter/errors.ts";
import { wrongFileKind } from "../adapter/file_kind.ts";
import { readJsonFile } from "../adapter/json_file.ts";
import { readReportJson } from "../report/json.ts";
import { ReportFileError } from "../report/errors.ts";
import { pathExists } from "../util/fs.ts";
import {
  type BenchReport,
  formatTargets,
  targetClassWords,
  type TargetOutcome,
} from "../bench/report.ts";

const HELP = `gpu_machine_ingest: commit a GPU machine run (tools/gpu_machine_check.sh's $OUT)

Usage: deno run -A tools/gpu_machine_ingest.ts <dir> [options]

  <dir>              the folder the device tool's files_at names (log.txt, steps.txt,
                     devices.json, bench/, smoke/)
  --name <device>    folder name's device part (default: from devices.json's adapter,
                     "NVIDIA H200" -> h200)
  --date <yyyy-mm-dd>  folder name's date (default: the run's, from the first line of log.txt)
  --docs <dir>       parent folder (default: docs/gpu_machine)
  --dest <dir>       the folder itself (instead of <docs>/<name>-<date>)
  --baselines <dir>  where baseline update writes (default: baselines)
  --no-baseline      do not make the baseline
  --force            replace an existing destination folder
  -h, --help         this text

Exit: 0 written; 1 the folder is written but the baseline could not be made; 2 bad input.`;

/** Most of log.txt kept in the folder (its tail); the clock samples alone are ~20 KB. */
const LOG_LIMIT = 2 * 1024 * 1024;

/** One line of the script's steps.txt. */
export interface StepRecord {
  /** The step's name (devices, devices_json, bench, smoke, spirv, ab, ...). */
  readonly name: string;
  /** Its exit code, or "skip" when too little of TOTAL_S was left to start it. */
  readonly exit: number | "skip";
  /** Seconds it took. */
  readonly seconds: number;
}

/** Bad input: a message naming the file and what is wrong (exit 2). */
export class IngestError extends Error {
  /** Build the error from its message. */
  constructor(message: string) {
    super(message);
    this.name = "IngestError";
  }
}

/**
 * Parse steps.txt (`name exit seconds`, one step a line, as the script's `printf` writes it);
 * a line of another shape throws an {@link IngestError} naming the file and line.
 *
 * @example
 * ```ts
 * import { parseSteps } from "./gpu_machine_ingest.ts";
 * parseSteps("bench             0    25s\nsplits         skip     0s\n", "steps.txt");
 * // [{ name: "bench", exit: 0, seconds: 25 }, { name: "splits", exit: "skip", seconds: 0 }]
 * ```
 */
export function parseSteps(text: string, file: string): StepRecord[] {
  const out: StepRecord[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    const m = /^(\S+)\s+(skip|\d+)\s+(\d+)s?$/.exec(line.trim());
    if (!m) {
      throw new IngestError(
        `${file}:${
          i + 1
        }: "${line}" is not a step line ("<name> <exit code or skip> <seconds>s", ` +
          "as tools/gpu_machine_check.sh writes them)",
      );
    }
    out.push({ name: m[1], exit: m[2] === "skip" ? "skip" : Number(m[2]), seconds: Number(m[3]) });
  });
  return out;
}

/**
 * The log's text of each step, by step name: from its `=== step NAME (timeout ...)` (or
 * `=== step NAME: skipped`) line to its `=== step NAME: exit ...` line, both included; a
 * step without an exit line (the machine's limit killed the script) ends where the next
 * step or the log does, with a line saying so.
 *
 * @example
 * ```ts
 * import { stepSections } from "./gpu_machine_ingest.ts";
 * const log = "=== step ab (timeout 5s): x\nvariant  1.0\n=== step ab: exit 0 in 3s\n";
 * stepSections(log).get("ab"); // the three lines
 * ```
 */
export function stepSections(log: string): Map<string, string> {
  const out = new Map<string, string>();
  const CUT = "(no exit line: the step was cut short here)\n";
  let name: string | null = null;
  let lines: string[] = [];
  for (const line of log.split("\n")) {
    const start = /^=== step (\S+) \(timeout /.exec(line) ?? /^=== step (\S+): skipped/.exec(line);
    if (start) {
      // A step without its exit line (killed with the script) ends where the next begins.
      if (name !== null) out.set(name, lines.join("\n") + "\n" + CUT);
      name = start[1];
      lines = [line];
      if (line.includes(": skipped")) {
        out.set(name, line + "\n");
        name = null;
      }
      continue;
    }
    if (name === null) continue;
    lines.push(line);
    if (line.startsWith(`=== step ${name}: exit `)) {
      out.set(name, lines.join("\n") + "\n");
      name = null;
    }
  }
  if (name !== null) out.set(name, lines.join("\n") + "\n" + CUT);
  return out;
}

/**
 * The device part of a folder name, from an adapter description: lower case, the vendor's
 * leading word dropped, every run of other characters a hyphen.
 *
 * @example
 * ```ts
 * import { deviceSlug } from "./gpu_machine_ingest.ts";
 * deviceSlug("NVIDIA H200"); // "h200"
 * deviceSlug("NVIDIA H100 80GB HBM3"); // "h100-80gb-hbm3"
 * ```
 */
export function deviceSlug(description: string): string {
  const words = description.trim().toLowerCase().replace(/\(.*?\)/g, " ");
  const rest = words.replace(/^(nvidia|amd|intel|apple|qualcomm|arm)\s+/, "");
  return rest.replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
}

/**
 * The run's UTC date (yyyy-mm-dd) from the first line of the script's log
 * (`gpu_machine_check: 2026-12-04T10:11:12Z on ...`), or null.
 *
 * @example
 * ```ts
 * import { runDate } from "./gpu_machine_ingest.ts";
 * runDate("gpu_machine_check: 2026-12-04T10:11:12Z on box (x86_64), root /r\n"); // "2026-12-04"
 * ```
 */
export function runDate(log: string): string | null {
  const m = /^gpu_machine_check: (\d{4}-\d{2}-\d{2})T/.exec(log);
  return m ? m[1] : null;
}

/** The parsed inputs, checked, before anything is written. */
interface Inputs {
  readonly steps: StepRecord[];
  readonly log: string;
  readonly devices: { adapter: { description: string } } | null;
  readonly bench:
    | { targets: TargetOutcome[] }
      & Pick<BenchReport, "targetClass" | "plannedClass">
    | null;
  readonly smokeTotals: Record<string, number> | null;
}

async function readText(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new IngestError(`${path}: cannot read: ${(e as Error).message}`);
  }
}

/**
 * A JSON input, or null where the file is absent; read as every JSON input of the harness is
 * (adapter/json_file.ts: a syntax error's line and column, a repeated key, a byte order
 * mark), its errors as {@link IngestError}s.
 */
async function readJsonInput(path: string, what: string): Promise<{ raw: unknown } | null> {
  if (!(await pathExists(path))) return null;
  try {
    return { raw: await readJsonFile(path, { what }) };
  } catch (e) {
    if (e instanceof ConfigError) throw new IngestError(e.message);
    throw e;
  }
}

async function readInputs(from: string): Promise<Inputs> {
  const stepsText = await readText(join(from, "steps.txt"));
  const log = await readText(join(from, "log.txt"));
  if (stepsText === null || log === null) {
    throw new IngestError(
      `${from}: not the output of tools/gpu_machine_check.sh: no ${
        stepsText === null ? "steps.txt" : "log.txt"
      } (give the folder the device tool's files_at names)`,
    );
  }
  const steps = parseSteps(stepsText, join(from, "steps.txt"));
  let devices: Inputs["devices"] = null;
  const devPath = join(from, "devices.json");
  const devJson = await readJsonInput(devPath, "`devices --json` output");
  if (devJson !== null) {
    const other = wrongFileKind(devJson.raw, "caps");
    if (other !== null) {
      throw new IngestError(`${devPath}: not \`devices --json\` output: ${other}`);
    }
    const raw = devJson.raw as { adapter?: { description?: unknown } } | null;
    if (typeof raw?.adapter?.description !== "string") {
      throw new IngestError(
        `${devPath}: adapter.description is missing; expected \`main.ts devices --json\` output`,
      );
    }
    devices = raw as Inputs["devices"];
  }
  let bench: Inputs["bench"] = null;
  const benchPath = join(from, "bench", "report.json");
  const benchJson = await readJsonInput(benchPath, "bench report");
  if (benchJson !== null) {
    const raw = benchJson.raw;
    try {
      parseReferenceCeilings(raw, benchPath);
    } catch (e) {
      if (e instanceof ConfigError) throw new IngestError(e.message);
      throw e;
    }
    const r = raw as
      & { records?: unknown; targets?: unknown }
      & Pick<BenchReport, "targetClass" | "plannedClass">;
    if (!Array.isArray(r.records) || !Array.isArray(r.targets)) {
      throw new IngestError(
        `${benchPath}: not a bench report: records and targets must be arrays ` +
          "(bench --out <dir> writes them)",
      );
    }
    bench = {
      targets: r.targets as TargetOutcome[],
      targetClass: r.targetClass,
      plannedClass: r.plannedClass,
    };
  }
  let smokeTotals: Inputs["smokeTotals"] = null;
  const smokePath = join(from, "smoke", "report.json");
  if (await pathExists(smokePath)) {
    try {
      smokeTotals = { ...(await readReportJson(smokePath)).totals };
    } catch (e) {
      if (e instanceof ReportFileError) throw new IngestError(e.message);
      throw e;
    }
  }
  return { steps, log, devices, bench, smokeTotals };
}

/** What {@link ingestGpuRun} wrote. */
export interface IngestResult {
  /** The folder written. */
  readonly dest: string;
  /** Its files, by name. */
  readonly files: readonly string[];
  /** The README.md it wrote (also printed by the command). */
  readonly readme: string;
}

/** Options of {@link ingestGpuRun}. */
export interface IngestOptions {
  /** Device part of the folder name (default: from devices.json). */
  readonly name?: string;
  /** Date part of the folder name (default: the run's, from log.txt). */
  readonly date?: string;
  /** Parent folder (default docs/gpu_machine). */
  readonly docs?: string;
  /** The folder itself (overrides docs, name and date). */
  readonly dest?: string;
  /** Replace an existing destination. */
  readonly force?: boolean;
}

function readmeOf(inputs: Inputs, dest: string, from: string, files: string[]) {
  const title = inputs.devices?.adapter.description ?? basename(dest);
  const lines = [
    `# ${title}: tools/gpu_machine_check.sh, ${runDate(inputs.log) ?? "date unknown"}`,
    "",
    `Ingested by \`deno run -A tools/gpu_machine_ingest.ts ${from}\` into ${dest}.`,
    "",
    "## Steps",
    "",
    "| step | exit | seconds |",
    "| --- | ---: | ---: |",
    ...inputs.steps.map((s) => `| ${s.name} | ${s.exit} | ${s.seconds} |`),
    "",
  ];
  const failed = inputs.steps.filter((s) => s.exit !== 0);
  lines.push(
    failed.length === 0
      ? "Every step exited 0."
      : `Not clean: ${failed.map((s) => `${s.name} (${s.exit})`).join(", ")}; see log.txt.`,
    "",
    "## Bench targets",
    "",
  );
  if (inputs.bench === null) {
    lines.push("No bench report came back (see log.txt).", "");
  } else {
    // bench_summary.md's words: a report older than device classes read "Targets of the ?
    // class"
    lines.push(`Targets of ${targetClassWords(inputs.bench)} (bench_summary.md):`, "");
    lines.push(...formatTargets(inputs.bench.targets).map((l) => `- ${l}`));
    lines.push("");
  }
  lines.push("## Smoke", "");
  if (inputs.smokeTotals === null) {
    lines.push("No smoke report came back (see log.txt).", "");
  } else {
    const t = inputs.smokeTotals;
    lines.push(
      Object.entries(t).map(([k, v]) => `${v} ${k}`).join(", ") + " (smoke_summary.md).",
      "",
    );
  }
  lines.push("## Files", "", ...files.map((f) => `- ${f}`), "");
  return lines.join("\n");
}

/**
 * Write the folder of a GPU machine run (see the module text) from `from`, the script's $OUT
 * as it came back. Throws an {@link IngestError} on bad input before anything is written.
 *
 * @example
 * ```ts ignore
 * import { ingestGpuRun } from "./gpu_machine_ingest.ts";
 * const r = await ingestGpuRun("/tmp/files_at", { docs: "docs/gpu_machine" });
 * console.log(r.dest); // docs/gpu_machine/h200-2026-12-04
 * ```
 */
export async function ingestGpuRun(
  from: string,
  options: IngestOptions = {},
): Promise<IngestResult> {
  const inputs = await readInputs(from);
  let dest = options.dest;
  if (dest === undefined) {
    const name = options.name ??
      (inputs.devices ? deviceSlug(inputs.devices.adapter.description) : undefined);
    if (!name) {
      throw new IngestError(
        `${from}: no devices.json to name the device by: give --name (e.g. h200) or --dest`,
      );
    }
    const date = options.date ?? runDate(inputs.log);
    if (!date) {
      throw new IngestError(
        `${join(from, "log.txt")}: its first line has no run date ` +
          '("gpu_machine_check: <yyyy-mm-dd>T..."): give --date or --dest',
      );
    }
    // a date the calendar has (2026-13-45 matched the pattern), and a name that stays one
    // folder inside --docs (a name of ../x wrote outside it)
    const at = new Date(`${date}T00:00:00Z`);
    const real = /^\d{4}-\d{2}-\d{2}$/.test(date) && !Number.isNaN(at.getTime()) &&
      at.toISOString().slice(0, 10) === date;
    if (!real) {
      const whence = options.date === undefined
        ? `the run date of ${join(from, "log.txt")}`
        : "--date";
      throw new IngestError(`${whence} ${date}: expected a calendar date, yyyy-mm-dd`);
    }
    if (!/^[a-z0-9][a-z0-9._-]*$/i.test(name) || name.includes("..")) {
      const whence = options.name === undefined ? "the device name from devices.json" : "--name";
      throw new IngestError(
        `${whence} ${name}: expected a device name of letters, digits, '.', '_' and '-' (e.g. ` +
          "h200): it names one folder inside --docs",
      );
    }
    dest = join(options.docs ?? "docs/gpu_machine", `${name}-${date}`);
  }
  if (await pathExists(dest) && !options.force) {
    throw new IngestError(
      `${dest} exists: give --force to replace it, or --dest for another folder (e.g. ${dest}/run2)`,
    );
  }
  await Deno.mkdir(dirname(resolve(dest)), { recursive: true });
  const tmp = await Deno.makeTempDir({ dir: dirname(resolve(dest)), prefix: ".ingest-" });
  try {
    const files: string[] = [];
    const copy = async (src: string, name: string) => {
      if (!(await pathExists(join(from, src)))) return;
      await Deno.copyFile(join(from, src), join(tmp, name));
      files.push(name);
    };
    await copy("devices.json", "devices.json");
    await copy("steps.txt", "steps.txt");
    await copy("bench/summary.md", "bench_summary.md");
    await copy("bench/report.json", "bench_report.json");
    if (inputs.bench === null) await copy("bench/records.jsonl", "bench_records.jsonl");
    await copy("smoke/summary.md", "smoke_summary.md");
    await copy("smoke/report.json", "smoke_report.json");
    const log = inputs.log.length > LOG_LIMIT
      ? `(the first ${inputs.log.length - LOG_LIMIT} characters left out)\n` +
        inputs.log.slice(-LOG_LIMIT)
      : inputs.log;
    await Deno.writeTextFile(join(tmp, "log.txt"), log);
    files.push("log.txt");
    const sections = stepSections(inputs.log);
    const ab = ["ab", "ab_fa2_tile", "ab_dense_decode", "ab_plans"]
      .map((s) => sections.get(s))
      .filter((s): s is string => s !== undefined);
    if (ab.length > 0) {
      await Deno.writeTextFile(join(tmp, "ab.txt"), ab.join("\n"));
      files.push("ab.txt");
    }
    const probes = sections.get("probes");
    if (probes !== undefined) {
      await Deno.writeTextFile(join(tmp, "probes.txt"), probes);
      files.push("probes.txt");
    }
    files.sort();
    const readme = readmeOf(inputs, dest, from, ["README.md", ...files]);
    await Deno.writeTextFile(join(tmp, "README.md"), readme);
    // makeTempDir makes it 0700; a committed folder is an ordinary one
    await Deno.chmod(tmp, 0o755);
    if (await pathExists(dest)) await Deno.remove(dest, { recursive: true });
    await Deno.rename(tmp, dest);
    return { dest, files: ["README.md", ...files], readme };
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw e;
  }
}

/** Run `main.ts baseline update --from-report` on the ingested smoke report. */
async function makeBaseline(report: string, dir: string): Promise<{ ok: boolean; text: string }> {
  const root = new URL("..", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-sys",
      "--allow-run=git",
      join(root, "main.ts"),
      "baseline",
      "update",
      "--from-report",
      report,
      "--dir",
      dir,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  // Exit 1: the baseline is written, with failing cases recorded as they are.
  return { ok: out.code === 0 || out.code === 1, text: text.trim() };
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: Deno.args,
      allowPositionals: true,
      options: {
        name: { type: "string" },
        date: { type: "string" },
        docs: { type: "string" },
        dest: { type: "string" },
        baselines: { type: "string", default: "baselines" },
        "no-baseline": { type: "boolean", default: false },
        force: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length !== 1) {
    console.error(`give exactly one folder (the device tool's files_at)\n\n${HELP}`);
    return 2;
  }
  let result: IngestResult;
  try {
    result = await ingestGpuRun(positionals[0], {
      name: values.name,
      date: values.date,
      docs: values.docs,
      dest: values.dest,
      force: values.force,
    });
  } catch (e) {
    if (e instanceof IngestError) {
      console.error(`gpu_machine_ingest: ${e.message}`);
      return 2;
    }
    throw e;
  }
  console.log(result.readme);
  console.log(`wrote ${result.dest}: ${result.files.join(", ")}`);
  if (values["no-baseline"]) return 0;
  const smoke = join(result.dest, "smoke_report.json");
  if (!result.files.includes("smoke_report.json")) {
    console.error("no smoke report: no baseline made (the smoke step did not finish)");
    return 1;
  }
  const b = await makeBaseline(smoke, values.baselines);
  console.log(b.text);
  // The baseline's line (its file, cases, device key and totals) ends README.md.
  const line = b.text.split("\n").find((l) => l.startsWith("baseline: "));
  await Deno.writeTextFile(
    join(result.dest, "README.md"),
    `## Baseline\n\n${line ? line.replace(/^baseline: /, "") : "none made:\n\n" + b.text}\n`,
    { append: true },
  );
  if (!b.ok) {
    console.error(`gpu_machine_ingest: the baseline could not be made from ${smoke} (above)`);
    return 1;
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main());
