/**
 * Where a matrix's config paths may point. A `preset` that is a path (ends in `.json` or
 * holds a `/`) is read relative to the matrix file's folder and must resolve inside a
 * root folder: the matrix file's folder, or the one given with `run --config-root`.
 * Bundled matrices keep their configs in matrix/bundled/configs/. A matrix from an
 * untrusted pull request can then not read (and copy into CI artifacts) files elsewhere
 * on the machine, such as `../../../../etc/passwd`. Symbolic links are followed before
 * the check, so a link inside the root that points outside it is refused too.
 *
 * A config path is part of its cases' ids, written as the path from the matrix file's
 * folder with no `.`, `..` or doubled `/` ({@link normalizeConfigPath}): `cfg.json`,
 * `./cfg.json`, `../dir/cfg.json` (from `dir/`) and the absolute path name one file, so
 * they give one case id.
 *
 * @module
 */
import { dirname, isAbsolute, relative, resolve, sep } from "node:path";
import { ConfigError, type ConfigIssue } from "../adapter/errors.ts";
import { readJsonFile } from "../adapter/json_file.ts";
import { wrongFileKindIssue } from "../adapter/file_kind.ts";
import { loadSpec } from "../adapter/source.ts";
import type { CaseFilter } from "./case_id.ts";
import type { CaseParams, MatrixFile } from "./types.ts";

/** Where a matrix's config paths are read from and where they must stay. */
export interface ConfigPlace {
  /** Folder relative config paths are resolved against (absolute). */
  readonly baseDir: string;
  /** Folder every config path must resolve inside (absolute). */
  readonly root: string;
  /** What the root is, for messages ("the matrix file's folder", "--config-root"). */
  readonly rootName: string;
}

const BUNDLED_DIR = new URL("./bundled", import.meta.url).pathname;

/**
 * Whether a preset value names a config file rather than a preset (as adapter/source.ts
 * decides).
 *
 * @example
 * ```ts
 * import { isConfigPath } from "./config_paths.ts";
 * isConfigPath("configs/x.json"); // true
 * isConfigPath("deepseek-v3"); // false
 * ```
 */
export function isConfigPath(preset: string): boolean {
  return preset.endsWith(".json") || preset.includes("/");
}

/**
 * The file a matrix's config path names: an absolute path as it is, a relative one under
 * `baseDir` (the matrix's folder), as case ids, the runner and the config digests read it.
 *
 * @example
 * ```ts
 * import { configFileOf } from "./config_paths.ts";
 * configFileOf("cfg.json", "/ci"); // "/ci/cfg.json"
 * configFileOf("/abs/cfg.json", "/ci"); // "/abs/cfg.json"
 * ```
 */
export function configFileOf(path: string, baseDir: string): string {
  return isAbsolute(path) ? path : `${baseDir}/${path}`;
}

/**
 * Where the config paths of a matrix are resolved and confined: bundled matrices in
 * matrix/bundled/ with the root matrix/bundled/configs/; a matrix file in its own folder,
 * with that folder as the root unless `configRoot` is given.
 *
 * @example
 * ```ts
 * import { configPlace } from "./config_paths.ts";
 * configPlace("ci/matrix.json", { bundled: false }).rootName; // "the matrix file's folder"
 * ```
 */
export function configPlace(
  matrix: string,
  options: { bundled: boolean; configRoot?: string },
): ConfigPlace {
  if (options.bundled) {
    return {
      baseDir: BUNDLED_DIR,
      root: options.configRoot ? resolve(options.configRoot) : resolve(BUNDLED_DIR, "configs"),
      rootName: options.configRoot ? "--config-root" : "matrix/bundled/configs",
    };
  }
  const baseDir = resolve(dirname(matrix));
  return options.configRoot
    ? { baseDir, root: resolve(options.configRoot), rootName: "--config-root" }
    : { baseDir, root: baseDir, rootName: "the matrix file's folder" };
}

const inside = (root: string, path: string): boolean => {
  const rel = relative(root, path);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
};

async function realOrSelf(path: string): Promise<string> {
  try {
    return await Deno.realPath(path);
  } catch {
    return path; // missing: the case reports the unreadable config itself
  }
}

/**
 * For a config path that is outside the root or names no file: a hint when the path, read
 * from `--config-root` instead of the matrix's folder, names a file (a user who took
 * `--config-root` for the folder paths are read from), or "".
 */
async function readFromRootHint(preset: string, place: ConfigPlace): Promise<string> {
  if (place.rootName !== "--config-root" || isAbsolute(preset)) return "";
  const there = resolve(place.root, preset);
  if (there === resolve(place.baseDir, preset)) return "";
  const info = await Deno.stat(there).catch(() => null);
  if (info === null || !info.isFile) return "";
  return `; config paths are read from the matrix file's folder (${place.baseDir}), not from ` +
    `--config-root, which only bounds where they may point: for ${there}, write ` +
    JSON.stringify(relative(place.baseDir, there).split(sep).join("/"));
}

/**
 * For a config path that names no file: a hint when the path, read from the current folder
 * instead of the matrix's folder, names a file (a user who wrote the path as the shell sees
 * it from where the job runs), or "".
 */
async function readFromCwdHint(preset: string, place: ConfigPlace): Promise<string> {
  if (isAbsolute(preset)) return "";
  const cwd = Deno.cwd();
  const there = resolve(cwd, preset);
  if (there === resolve(place.baseDir, preset)) return "";
  const info = await Deno.stat(there).catch(() => null);
  if (info === null || !info.isFile) return "";
  const fromMatrix = relative(place.baseDir, there).split(sep).join("/");
  return `; config paths are read from the matrix file's folder (${place.baseDir}), not from ` +
    `the current folder (${cwd}): for ${there}, write ${JSON.stringify(fromMatrix)}` +
    (inside(place.root, there)
      ? ""
      : ` and run with --config-root naming a folder that holds it (it is outside ${place.rootName}, ${place.root})`);
}

/**
 * For a config path that names no file: a hint when the matrix file is a symbolic link and
 * the path, read from the folder of the link's target, names a file (config paths are read
 * from the folder of the matrix path as given, which a link to a matrix elsewhere is not),
 * or "".
 */
async function readFromLinkTargetHint(
  preset: string,
  matrix: string,
  place: ConfigPlace,
): Promise<string> {
  if (isAbsolute(preset)) return "";
  const link = await Deno.lstat(matrix).catch(() => null);
  if (link === null || !link.isSymlink) return "";
  const target = await Deno.realPath(matrix).catch(() => null);
  if (target === null) return "";
  const there = resolve(dirname(target), preset);
  if (there === resolve(place.baseDir, preset)) return "";
  const info = await Deno.stat(there).catch(() => null);
  if (info === null || !info.isFile) return "";
  return `; ${matrix} is a symbolic link to ${target}, and config paths are read from the ` +
    `folder of the matrix path given (${place.baseDir}), not of the link's target, where ` +
    `${JSON.stringify(preset)} is ${there}: give --matrix ${target}`;
}

/**
 * The absolute path of a config path, or why it may not be read: outside the root
 * (lexically, or after following symbolic links).
 *
 * @example
 * ```ts ignore
 * import { configPlace, resolveConfigPath } from "./config_paths.ts";
 * await resolveConfigPath("../../etc/passwd", configPlace("m.json", { bundled: false }));
 * // { problem: "resolves to /etc/passwd, outside the matrix file's folder ..." }
 * ```
 */
export async function resolveConfigPath(
  preset: string,
  place: ConfigPlace,
): Promise<{ path: string } | { problem: string }> {
  const path = resolve(place.baseDir, preset);
  const outside = async (where: string) => ({
    problem: `resolves to ${where}, outside ${place.rootName} (${place.root}); configs of a ` +
      "matrix must be inside it (run --config-root <dir> names another folder)" +
      await readFromRootHint(preset, place),
  });
  if (!inside(place.root, path)) return await outside(path);
  const real = await realOrSelf(path);
  if (!inside(await realOrSelf(place.root), real)) {
    return await outside(`${real} (a symbolic link)`);
  }
  return { path };
}

/**
 * Check every config path of a matrix against its place; a path that escapes throws a
 * ConfigError naming the entry (`groups[0].axes.preset[1]`), the path it resolves to and
 * the root, and so does one that names no file (or a folder): every case of it would fail
 * the same way, so it is bad input, not a case result, and so is a file that is not JSON, or
 * JSON the adapter rejects as a config (`loadSpec`), in a group that does not expect
 * "invalid". (In a group that expects "invalid" such a file is a case result: those groups
 * test exactly that.)
 *
 * @example
 * ```ts ignore
 * import { checkConfigPaths, configPlace } from "./config_paths.ts";
 * await checkConfigPaths(file, "m.json", configPlace("m.json", { bundled: false }));
 * ```
 */
export async function checkConfigPaths(
  m: MatrixFile,
  source: string,
  place: ConfigPlace,
): Promise<void> {
  const issues: ConfigIssue[] = [];
  const missing: ConfigIssue[] = [];
  const malformed: ConfigIssue[] = [];
  const invalid: ConfigIssue[] = [];
  for (const [gi, g] of m.groups.entries()) {
    const presets = g.axes.preset === undefined ? [] : [g.axes.preset].flat();
    for (const [pi, preset] of presets.entries()) {
      if (typeof preset !== "string" || !isConfigPath(preset)) continue;
      const path = `groups[${gi}].axes.preset[${pi}]`;
      const r = await resolveConfigPath(preset, place);
      if ("problem" in r) {
        issues.push({ path, value: preset, message: r.problem });
        continue;
      }
      const info = await Deno.stat(r.path).catch((e) => {
        if (e instanceof Deno.errors.NotFound) return null;
        throw e;
      });
      if (info?.isFile && g.expect?.support !== "invalid") {
        // Not JSON at all (cut short, a BOM, a key twice): every case of it would be
        // "config rejected", exit 1 read as a regression, where a missing file is exit 2.
        // A group that expects "invalid" tests exactly that, and keeps it a case result.
        // Nor is another of the harness's files (a matrix, a run's report.json: a config
        // path given the wrong file), which every case rejects the same way too.
        const problem = await readJsonFile(r.path, { what: "config" }).then(
          (raw) => {
            const other = wrongFileKindIssue(raw, "model-config");
            return other === null
              ? null
              : `is not a model config: its key ${other.path} ${other.message}`;
          },
          (e: unknown) => e instanceof ConfigError ? e.issues[0]?.message ?? e.message : null,
        );
        // JSON the adapter rejects as a config (no MLA keys, an odd rope width) was loaded
        // and each of its cases ran to "config rejected", exit 1 read as a regression, as a
        // file that is not JSON did before it was refused here
        const rejected = problem !== null ? null : await loadSpec(r.path).then(
          () => null,
          (e: unknown) => e instanceof ConfigError ? e : null,
        );
        if (rejected !== null) {
          const said = rejected.issues.slice(0, 3).map((i) => `${i.path}: ${i.message}`);
          invalid.push({
            path,
            value: preset,
            message:
              `names a config the harness rejects (${r.path}: ${said.join("; ")}${
                rejected.issues.length > 3 ? `; ${rejected.issues.length - 3} more` : ""
              }), so every case of it would be rejected; fix the file, or expect ` +
              '{"support": "invalid"} in a group that tests such a file',
          });
        }
        if (problem !== null) {
          malformed.push({
            path,
            value: preset,
            message: `names a file that ${problem} (${r.path}), so every case of it would be ` +
              'rejected; fix the file, or expect {"support": "invalid"} in a group that ' +
              "tests such a file",
          });
        }
      }
      if (info === null || info.isDirectory) {
        missing.push({
          path,
          value: preset,
          message: `${info === null ? "names no file" : "is a folder"} (it resolves to ` +
            `${r.path}, from ${place.baseDir}); give the path of a config.json, or a preset ` +
            `name${
              await readFromRootHint(preset, place) ||
              await readFromLinkTargetHint(preset, source, place) ||
              await readFromCwdHint(preset, place)
            }`,
        });
      }
    }
  }
  if (issues.length) throw new ConfigError(source, issues, "config path outside its folder");
  if (missing.length) {
    // "not found" only where nothing is there: a folder in a config's place is named as one.
    const title = missing.every((i) => i.message.startsWith("is a folder"))
      ? "config path is a folder"
      : missing.some((i) => i.message.startsWith("is a folder"))
      ? "config file not found or a folder"
      : "config file not found";
    throw new ConfigError(source, missing, title);
  }
  if (malformed.length) throw new ConfigError(source, malformed, "malformed config file");
  if (invalid.length) throw new ConfigError(source, invalid, "invalid config file");
}

/**
 * A config path as case ids write it: the path from `place.baseDir` to the file it names,
 * `/`-separated, without `.`, `..` or doubled separators (lexically; symbolic links are
 * not followed), kept a path (`./x` when the result alone would read as a preset name).
 * A preset name is returned as it is.
 *
 * @example
 * ```ts
 * import { normalizeConfigPath } from "./config_paths.ts";
 * const place = { baseDir: "/ci/dir" };
 * normalizeConfigPath("./cfg.json", place); // "cfg.json"
 * normalizeConfigPath("../dir/configs//a.json", place); // "configs/a.json"
 * normalizeConfigPath("/ci/dir/cfg.json", place); // "cfg.json"
 * normalizeConfigPath("tiny", place); // "tiny"
 * ```
 */
export function normalizeConfigPath(preset: string, place: Pick<ConfigPlace, "baseDir">): string {
  if (!isConfigPath(preset)) return preset;
  const rel = relative(place.baseDir, resolve(place.baseDir, preset)).split(sep).join("/");
  return rel === "" ? "./" : isConfigPath(rel) ? rel : `./${rel}`;
}

const normalizeValues = (v: unknown, place: Pick<ConfigPlace, "baseDir">): unknown =>
  Array.isArray(v)
    ? v.map((x) => normalizeValues(x, place))
    : typeof v === "string"
    ? normalizeConfigPath(v, place)
    : v;

/** A matrix with its config paths normalized, and how each normalized path was written. */
export interface NormalizedConfigPaths {
  /** The matrix, every `preset` of its axes and excludes normalized. */
  readonly file: MatrixFile;
  /** Each normalized config path written more than one way: its spellings in the file. */
  readonly spellings: ReadonlyMap<string, readonly string[]>;
}

/**
 * Normalize every config path of a matrix ({@link normalizeConfigPath}), in its groups'
 * axes and excludes, so that one file gives one case id; also says which were written more
 * than one way (for the message when two spellings then make one case twice).
 *
 * @example
 * ```ts
 * import { normalizeConfigPaths } from "./config_paths.ts";
 * const m = { name: "m", groups: [{ axes: { preset: ["cfg.json", "./cfg.json"] } }] };
 * normalizeConfigPaths(m, { baseDir: "/ci" }).spellings.get("cfg.json");
 * // ["cfg.json", "./cfg.json"]
 * ```
 */
export function normalizeConfigPaths(
  m: MatrixFile,
  place: Pick<ConfigPlace, "baseDir">,
): NormalizedConfigPaths {
  const written = new Map<string, Set<string>>();
  const note = (v: unknown) => {
    for (const x of [v].flat()) {
      if (typeof x !== "string" || !isConfigPath(x)) continue;
      const n = normalizeConfigPath(x, place);
      written.set(n, (written.get(n) ?? new Set()).add(x));
    }
  };
  const withPreset = <T extends Readonly<Partial<Record<keyof CaseParams, unknown>>>>(a: T): T => {
    if (a.preset === undefined) return a;
    note(a.preset);
    return { ...a, preset: normalizeValues(a.preset, place) };
  };
  const file: MatrixFile = {
    ...m,
    groups: m.groups.map((g) => ({
      ...g,
      axes: withPreset(g.axes),
      ...(g.exclude ? { exclude: g.exclude.map(withPreset) } : {}),
    })),
  };
  const spellings = new Map<string, string[]>();
  for (const [n, set] of written) if (set.size > 1) spellings.set(n, [...set]);
  return { file, spellings };
}

/**
 * A filter with its `preset` config paths normalized as the matrix's are
 * ({@link normalizeConfigPath}), so `--filter preset=./cfg.json` selects the cases of
 * `cfg.json`.
 *
 * @example
 * ```ts
 * import { normalizeFilterPresets } from "./config_paths.ts";
 * normalizeFilterPresets(new Map([["preset", ["./cfg.json"]]]), { baseDir: "/ci" });
 * // Map { "preset" => ["cfg.json"] }
 * ```
 */
export function normalizeFilterPresets(
  filter: CaseFilter,
  place: Pick<ConfigPlace, "baseDir">,
): CaseFilter {
  const presets = filter.get("preset");
  if (!presets) return filter;
  return new Map([...filter, ["preset", presets.map((p) => normalizeConfigPath(p, place))]]);
}
