/**
 * The environment fingerprint of a run (runtime, host, adapter, harness revision, kernel
 * source hashes), and the differences between two fingerprints for drift attribution.
 *
 * @module
 */
import { backendChoice } from "../gpu/backend_choice.ts";
import { ConfigError } from "../adapter/errors.ts";
import { userBackendHashes } from "../kernels/backend_module.ts";
import { cpus } from "node:os";
import type { Fingerprint } from "../results/types.ts";
import { sha256Hex16 } from "../util/hash.ts";
import { isRecord } from "../util/is_record.ts";
import { configFileOf, isConfigPath } from "../matrix/config_paths.ts";

export { diffFingerprints } from "../report/fingerprint_diff.ts";
export type { FingerprintChange } from "../report/fingerprint_diff.ts";
// in words; report/ owns it (merge and the reports say the changes too)
export { fingerprintChangeText } from "../report/fingerprint_diff.ts";

/** Options of {@link collectFingerprint}. */
export interface FingerprintOptions {
  /**
   * The adapter: a `GPUAdapter`, a `GPUAdapterInfo`, `DeviceCaps` (gpu/ `probeCaps`) or
   * any JSON-able record; null when there is none. Stored as plain data.
   */
  readonly adapter: unknown;
  /** Folder of the `*.wgsl` kernel sources. */
  readonly kernelDir: URL;
  /** Repository root for the git revision (default: the folder above runner/). */
  readonly repoRoot?: URL;
}

/**
 * Collects the fingerprint of this process: Deno/V8/TypeScript versions, OS, architecture,
 * CPU count and model (from /proc/cpuinfo; "unknown" elsewhere), the adapter as plain
 * data, the harness git revision (`-dirty` when the work tree has changes; without git or
 * outside a checkout the value of {@link REVISION_ENV}, else null) and the hash of every
 * kernel source.
 *
 * Needs read permission (kernels, /proc/cpuinfo) and run permission for git (without it
 * the revision is null).
 *
 * @example
 * ```ts
 * import { collectFingerprint } from "./fingerprint.ts";
 * const fp = await collectFingerprint({
 *   adapter: null,
 *   kernelDir: new URL("../kernels/", import.meta.url),
 * });
 * console.log(fp.runtime.deno, fp.harnessRevision, fp.kernelHashes);
 * ```
 */
export async function collectFingerprint(options: FingerprintOptions): Promise<Fingerprint> {
  const [cpuModel, gitRev, kernelHashes] = await Promise.all([
    readCpuModel(),
    gitRevision(options.repoRoot ?? new URL("../", import.meta.url)),
    hashKernels(options.kernelDir),
  ]);
  // a copy without git (a container image, the tree sent to a GPU machine) names its revision
  // through MLA_HARNESS_REVISION; git's own answer, where there is one, is the truth
  const harnessRevision = gitRev ?? revisionFromEnv() ?? null;
  return {
    runtime: {
      deno: Deno.version.deno,
      v8: Deno.version.v8,
      typescript: Deno.version.typescript,
    },
    host: {
      os: Deno.build.os,
      arch: Deno.build.arch,
      cpus: navigator.hardwareConcurrency,
      cpuModel,
    },
    adapter: plainAdapter(options.adapter),
    harnessRevision,
    // User backend modules loaded for this run (--backend-module) join the bundled
    // kernels, as "<backend id>:<file>", so drift attribution can name them.
    kernelHashes: { ...kernelHashes, ...userBackendHashes() },
    backend: backendChoice().backend,
  };
}

/**
 * SHA-256 (16 hex characters) of every `*.wgsl` file directly in a folder, keyed by file
 * name, in name order. An unreadable folder throws.
 *
 * @example
 * ```ts
 * import { hashKernels } from "./fingerprint.ts";
 * const hashes = await hashKernels(new URL("../kernels/", import.meta.url));
 * hashes["absorbed.wgsl"]; // e.g. "3f9c0a7d1e2b4c65"
 * ```
 */
export async function hashKernels(kernelDir: URL): Promise<Record<string, string>> {
  const dir = kernelDir.href.endsWith("/") ? kernelDir : new URL(kernelDir.href + "/");
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if ((e.isFile || e.isSymlink) && e.name.endsWith(".wgsl")) names.push(e.name);
  }
  names.sort();
  const hashes: Record<string, string> = {};
  for (const name of names) {
    hashes[name] = await sha256Hex16(await Deno.readFile(new URL(name, dir)));
  }
  return hashes;
}

/**
 * The kernel hashes a run records (`fingerprint.kernelHashes`): every bundled `*.wgsl` file
 * by name, and the files of the user backend modules loaded (`<backend id>:<file>`). What
 * compare-runtimes.json records too, so a comparison names the kernel files it compared.
 *
 * @example
 * ```ts
 * import { runKernelHashes } from "./fingerprint.ts";
 * (await runKernelHashes())["absorbed.wgsl"]; // e.g. "3f9c0a7d1e2b4c65"
 * ```
 */
export async function runKernelHashes(): Promise<Record<string, string>> {
  return {
    ...await hashKernels(new URL("../kernels/", import.meta.url)),
    ...userBackendHashes(),
  };
}

/**
 * SHA-256 (16 hex characters) of each config file that the matrix `presets` name (a preset
 * that is a path: matrix/config_paths.ts `isConfigPath`), keyed by the preset as written,
 * in path order: what a run records as `configDigests` (results/types.ts), so a resume or a
 * merge notices a config edited since. A relative path is read from `baseDir` (as the
 * runner reads it); preset names are skipped, and so is a file that cannot be read (its
 * cases report the config error themselves).
 *
 * @example
 * ```ts
 * import { hashConfigFiles } from "./fingerprint.ts";
 * await hashConfigFiles(["tiny", "deepseek-v2-lite"], "."); // {}: presets, no file read
 * ```
 */
export async function hashConfigFiles(
  presets: Iterable<string>,
  baseDir: string,
): Promise<Record<string, string>> {
  const paths = [...new Set([...presets].filter(isConfigPath))].sort();
  const digests: Record<string, string> = {};
  for (const p of paths) {
    try {
      digests[p] = await sha256Hex16(await Deno.readFile(configFileOf(p, baseDir)));
    } catch {
      // missing or unreadable: the case says so as its result; nothing to compare
    }
  }
  return digests;
}

/**
 * The environment variable that names the harness revision of a copy without git (a container
 * image, a tree copied to another machine): used only where git gives none.
 */
export const REVISION_ENV = "MLA_HARNESS_REVISION";

/**
 * The revision in MLA_HARNESS_REVISION (a git commit id of 7 to 40 hex digits, optionally
 * `-dirty`), or undefined when it is not set, empty, or not readable (no env permission for
 * it). Any other value throws a ConfigError (exit 2), never a revision recorded wrong.
 *
 * @example
 * ```ts
 * import { revisionOf } from "./fingerprint.ts";
 * revisionOf("1f2e3d4c5b6a-dirty"); // "1f2e3d4c5b6a-dirty"
 * revisionOf(undefined); // undefined
 * ```
 */
export function revisionOf(value: string | undefined): string | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const v = value.trim();
  if (!/^[0-9a-f]{7,40}(-dirty)?$/.test(v)) {
    throw new ConfigError(REVISION_ENV, [{
      path: REVISION_ENV,
      value,
      message: "must be a git commit id (7 to 40 lowercase hex digits, `git rev-parse HEAD`), " +
        "optionally followed by -dirty: the harness revision of a copy without git",
    }], "invalid environment variable");
  }
  return v;
}

/**
 * {@link revisionOf} of this process's MLA_HARNESS_REVISION (undefined without permission
 * to read it).
 *
 * @example
 * ```ts
 * import { revisionFromEnv } from "./fingerprint.ts";
 * revisionFromEnv(); // undefined unless MLA_HARNESS_REVISION is set
 * ```
 */
export function revisionFromEnv(): string | undefined {
  const status = Deno.permissions.querySync({ name: "env", variable: REVISION_ENV });
  return status.state === "granted" ? revisionOf(Deno.env.get(REVISION_ENV)) : undefined;
}

async function git(cwd: URL, args: string[]): Promise<string | null> {
  try {
    const out = await new Deno.Command("git", {
      args,
      cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
    return out.success ? new TextDecoder().decode(out.stdout) : null;
  } catch {
    // git is absent (NotFound) or running it is not permitted.
    return null;
  }
}

/**
 * The git revision (`git rev-parse HEAD`) of a checkout, with `-dirty` appended when
 * `git status --porcelain` lists anything; null when git is absent, not permitted, or the
 * folder is not a checkout.
 *
 * @example
 * ```ts
 * import { gitRevision } from "./fingerprint.ts";
 * await gitRevision(new URL("../", import.meta.url)); // e.g. "1f2e…9a-dirty"
 * ```
 */
export async function gitRevision(repoRoot: URL): Promise<string | null> {
  const head = (await git(repoRoot, ["rev-parse", "HEAD"]))?.trim();
  if (!head) return null;
  const status = await git(repoRoot, ["status", "--porcelain"]);
  return status !== null && status.trim() !== "" ? `${head}-dirty` : head;
}

const CPU_MODEL_KEYS = ["model name", "cpu model", "Hardware", "Processor"];

async function readCpuModel(): Promise<string> {
  // node:os needs only --allow-sys; Deno reads /proc files only with --allow-all.
  try {
    const model = cpus()[0]?.model?.trim();
    if (model) return model.replace(/\s+/g, " ");
  } catch {
    // no sys permission: try /proc below
  }
  let text: string;
  try {
    text = await Deno.readTextFile("/proc/cpuinfo");
  } catch {
    return "unknown";
  }
  for (const key of CPU_MODEL_KEYS) {
    const m = text.match(new RegExp(`^${key}\\s*:\\s*(.+)$`, "m"));
    if (m && m[1].trim() !== "") return m[1].trim().replace(/\s+/g, " ");
  }
  return "unknown";
}

const INFO_KEYS = [
  "vendor",
  "architecture",
  "device",
  "description",
  "isFallbackAdapter",
  "subgroupMinSize",
  "subgroupMaxSize",
];

/** Copies the adapter info fields (getters on a WebGPU object) into a plain record. */
function plainInfo(info: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of INFO_KEYS) {
    const v = info[k];
    if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") out[k] = v;
  }
  return out;
}

function isPlain(v: Record<string, unknown>): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null || Array.isArray(v);
}

/**
 * The adapter as plain JSON data: a `GPUAdapter` becomes `{adapter: info, features,
 * limits}` (the `DeviceCaps` shape), a `GPUAdapterInfo` its fields, a plain record a copy;
 * null/undefined become null.
 *
 * @example
 * ```ts
 * import { plainAdapter } from "./fingerprint.ts";
 * plainAdapter(undefined); // null
 * plainAdapter({ adapter: { vendor: "mesa" }, features: [], limits: {} }); // a copy
 * ```
 */
export function plainAdapter(adapter: unknown): unknown {
  if (adapter === null || adapter === undefined) return null;
  if (!isRecord(adapter)) return adapter;
  if (isPlain(adapter)) return JSON.parse(JSON.stringify(adapter));
  const features = adapter.features;
  const limits = adapter.limits;
  if (isRecord(adapter.info) && isRecord(features) && Symbol.iterator in features) {
    const limitValues: Record<string, number> = {};
    if (isRecord(limits)) {
      for (const key in limits) {
        const v = limits[key];
        if (typeof v === "number") limitValues[key] = v;
      }
    }
    return {
      adapter: plainInfo(adapter.info),
      features: [...(features as Iterable<unknown>)].map(String).sort(),
      limits: limitValues,
    };
  }
  return plainInfo(adapter);
}
