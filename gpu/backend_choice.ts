/**
 * Which WebGPU backend wgpu is asked for, and why.
 *
 * Deno reads `DENO_WEBGPU_BACKEND` (not `WGPU_BACKEND`) when the first adapter is
 * requested, and the choice then holds for the whole process (checked with Deno 2.9.6: an
 * instance created for Vulkan finds nothing after the variable is changed to `gl`). So
 * the harness decides before its first `requestAdapter`:
 *
 * - `DENO_WEBGPU_BACKEND` set by the user: used as given;
 * - on Linux, a Vulkan driver found (an ICD manifest where the Vulkan loader looks, or the
 *   files `VK_DRIVER_FILES` / `VK_ICD_FILENAMES` name): `vulkan`. On a machine without a
 *   GPU that is Mesa's lavapipe, which has shader-f16 and is several times faster than the
 *   GL fallback;
 * - on Linux, no Vulkan driver: `gl` (what wgpu falls back to anyway; set explicitly so the
 *   backend in the device key is the one in use);
 * - elsewhere: wgpu's own default (Metal on macOS, DX12/Vulkan on Windows), named
 *   `default`.
 *
 * The choice is a pure function of the environment and the file system
 * ({@link chooseBackend}); {@link applyBackendChoice} sets the variable once.
 *
 * @module
 */
import { canonicalBackend, WGPU_BACKEND_NAMES } from "../util/wgpu_backends.ts";

// Part of the public API (mod.ts, through gpu/mod.ts) since before the list moved to util/.
export { WGPU_BACKEND_NAMES };

/** The decision: the backend wgpu is asked for, where it came from and why. */
export interface BackendChoice {
  /**
   * Backend label (used in device keys): `vulkan`, `gl`, `default` or the user's value with
   * wgpu's aliases as one name each (`gles` is `gl`).
   */
  readonly backend: string;
  /** `env`: the user's DENO_WEBGPU_BACKEND; `auto`: chosen here; `default`: left to wgpu. */
  readonly source: "env" | "auto" | "default";
  /** One line saying why, e.g. "Vulkan driver found: /usr/share/vulkan/icd.d/lvp_icd.json". */
  readonly reason: string;
  /** The value DENO_WEBGPU_BACKEND is set to by the harness, or null when left alone. */
  readonly setTo: string | null;
  /** Vulkan driver manifests found (empty when none or not looked for). */
  readonly vulkanDrivers: readonly string[];
}

/** What {@link chooseBackend} reads; injectable for tests. */
export interface BackendProbe {
  /** Environment variable, undefined when unset or not readable. */
  readonly env: (name: string) => string | undefined;
  /** Operating system (`Deno.build.os`). */
  readonly os: string;
  /** Whether a path is an existing file (false when it is not readable). */
  readonly isFile: (path: string) => boolean;
  /** The `*.json` files of a folder (empty when absent or not readable). */
  readonly jsonFiles: (dir: string) => string[];
}

/**
 * The names of a DENO_WEBGPU_BACKEND value that wgpu does not know ({@link WGPU_BACKEND_NAMES}),
 * in order; empty when every name is one it reads.
 *
 * @example
 * ```ts
 * import { unknownBackendNames } from "./backend_choice.ts";
 * unknownBackendNames("Vulkan, gl"); // []
 * unknownBackendNames("vulcan"); // ["vulcan"]
 * ```
 */
export function unknownBackendNames(value: string): string[] {
  return backendNames(value).filter((n) => !WGPU_BACKEND_NAMES.includes(n.toLowerCase()));
}

/**
 * Whether a DENO_WEBGPU_BACKEND value names no backend wgpu reads, so that wgpu is asked for
 * none (`vulcan`; not `vulkan,vulcan`, which asks for Vulkan).
 *
 * @example
 * ```ts
 * import { readsNoBackend } from "./backend_choice.ts";
 * readsNoBackend("vulcan"); // true
 * readsNoBackend("vulkan,vulcan"); // false
 * ```
 */
export function readsNoBackend(value: string): boolean {
  const names = backendNames(value);
  return names.length > 0 && unknownBackendNames(value).length === names.length;
}

/** The names of a comma-separated value, trimmed, empty ones left out (wgpu skips them). */
function backendNames(value: string): string[] {
  return value.split(",").map((n) => n.trim()).filter((n) => n !== "");
}

/**
 * What no adapter says when DENO_WEBGPU_BACKEND names no backend wgpu reads: the variable is
 * bad input, not a missing driver.
 *
 * @example
 * ```ts
 * import { unknownBackendText } from "./backend_choice.ts";
 * unknownBackendText(["vulcan"]).startsWith('"vulcan" is not a backend name wgpu reads'); // true
 * ```
 */
export function unknownBackendText(unknown: readonly string[]): string {
  return `${unknown.map((n) => JSON.stringify(n)).join(", ")} ${
    unknown.length === 1 ? "is not a backend name" : "are not backend names"
  } wgpu reads (it reads vulkan or vk, gl, gles or opengl, metal or mtl, dx12 or d3d12, ` +
    "webgpu; comma-separated): unset DENO_WEBGPU_BACKEND to let the harness choose, or set " +
    "it to vulkan or gl";
}

/** Environment variables the choice reads (the deno.json tasks allow exactly these). */
export const BACKEND_ENV_VARS: readonly string[] = [
  "DENO_WEBGPU_BACKEND",
  "VK_DRIVER_FILES",
  "VK_ICD_FILENAMES",
  "VK_ADD_DRIVER_FILES",
  "XDG_DATA_DIRS",
];

/**
 * Folders where the Vulkan loader looks for driver manifests on Linux when neither
 * `VK_DRIVER_FILES` nor `VK_ICD_FILENAMES` is set (system folders, and `XDG_DATA_DIRS`;
 * the per-user folders under $HOME are not searched here: a driver only there is missed
 * and the harness then picks GL, which DENO_WEBGPU_BACKEND=vulkan overrides).
 *
 * @example
 * ```ts
 * import { vulkanDriverFolders } from "./backend_choice.ts";
 * vulkanDriverFolders(undefined).includes("/usr/share/vulkan/icd.d"); // true
 * ```
 */
export function vulkanDriverFolders(xdgDataDirs: string | undefined): string[] {
  const data =
    (xdgDataDirs && xdgDataDirs.trim() !== "" ? xdgDataDirs : "/usr/local/share:/usr/share")
      .split(":").filter((d) => d !== "");
  const dirs = [
    "/etc/xdg/vulkan/icd.d",
    "/etc/vulkan/icd.d",
    "/usr/local/etc/vulkan/icd.d",
    ...data.map((d) => `${d.replace(/\/+$/, "")}/vulkan/icd.d`),
    "/usr/share/vulkan/icd.d",
  ];
  return [...new Set(dirs)];
}

/**
 * The Vulkan driver manifests the loader would find, and where it looked.
 *
 * @example
 * ```ts
 * import { findVulkanDrivers, systemProbe } from "./backend_choice.ts";
 * findVulkanDrivers(systemProbe()).found; // e.g. ["/usr/share/vulkan/icd.d/lvp_icd.x86_64.json"]
 * ```
 */
export function findVulkanDrivers(probe: BackendProbe): { found: string[]; looked: string } {
  // The loader uses only the listed files when VK_DRIVER_FILES (or its older name
  // VK_ICD_FILENAMES) is set; entries may also be folders.
  const listVar = ["VK_DRIVER_FILES", "VK_ICD_FILENAMES"].find((v) => probe.env(v)?.trim());
  const expand = (entries: string[]) =>
    entries.flatMap((p) => probe.isFile(p) ? [p] : probe.jsonFiles(p));
  const added = (probe.env("VK_ADD_DRIVER_FILES") ?? "").split(":").filter((p) => p !== "");
  if (listVar) {
    const listed = probe.env(listVar)!.split(":").filter((p) => p !== "");
    return {
      found: expand([...listed, ...added]),
      looked: `${listVar}=${probe.env(listVar)}`,
    };
  }
  const folders = vulkanDriverFolders(probe.env("XDG_DATA_DIRS"));
  return {
    found: [...new Set(expand([...added, ...folders]))],
    looked: folders.join(", "),
  };
}

/**
 * Decide the backend (pure: reads only through `probe`).
 *
 * @example
 * ```ts
 * import { chooseBackend } from "./backend_choice.ts";
 * const c = chooseBackend({
 *   env: () => undefined,
 *   os: "linux",
 *   isFile: () => false,
 *   jsonFiles: (d) => d === "/usr/share/vulkan/icd.d" ? [d + "/lvp_icd.x86_64.json"] : [],
 * });
 * c.backend; // "vulkan"
 * ```
 */
export function chooseBackend(probe: BackendProbe): BackendChoice {
  const user = probe.env("DENO_WEBGPU_BACKEND")?.trim();
  if (user) {
    const unknown = unknownBackendNames(user);
    return {
      // one name per backend: gles and opengl are the GL fallback as gl is (its rules, its
      // device key), vk is vulkan
      backend: canonicalBackend(user),
      source: "env",
      reason: `DENO_WEBGPU_BACKEND=${user} was set` +
        (unknown.length === 0
          ? ""
          : `; wgpu skips ${unknown.map((n) => JSON.stringify(n)).join(", ")}, no backend name`),
      setTo: null,
      vulkanDrivers: [],
    };
  }
  if (probe.os !== "linux") {
    return {
      backend: "default",
      source: "default",
      reason: `wgpu's default choice on ${probe.os} (DENO_WEBGPU_BACKEND unset)`,
      setTo: null,
      vulkanDrivers: [],
    };
  }
  const { found, looked } = findVulkanDrivers(probe);
  if (found.length > 0) {
    return {
      backend: "vulkan",
      source: "auto",
      reason: `Vulkan driver found (${found.map(baseName).join(", ")}); ` +
        "set DENO_WEBGPU_BACKEND=gl to use GL instead",
      setTo: "vulkan",
      vulkanDrivers: found,
    };
  }
  return {
    backend: "gl",
    source: "auto",
    reason: `no Vulkan driver found (looked in ${looked}); GL has no shader-f16 and is slower: ` +
      "apt-get install mesa-vulkan-drivers for lavapipe",
    setTo: "gl",
    vulkanDrivers: [],
  };
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

function allowed(desc: Deno.PermissionDescriptor): boolean {
  try {
    // querySync never prompts (a read would, on a terminal, for an unlisted variable).
    return Deno.permissions.querySync(desc).state === "granted";
  } catch {
    return false;
  }
}

/**
 * The probe of this process: environment variables and files it may read without a
 * permission prompt (anything not permitted counts as absent).
 *
 * @example
 * ```ts
 * import { chooseBackend, systemProbe } from "./backend_choice.ts";
 * chooseBackend(systemProbe()).reason;
 * ```
 */
export function systemProbe(): BackendProbe {
  return {
    env: (name) => allowed({ name: "env", variable: name }) ? Deno.env.get(name) : undefined,
    os: Deno.build.os,
    isFile: (path) => {
      if (!allowed({ name: "read", path })) return false;
      try {
        return Deno.statSync(path).isFile;
      } catch {
        return false;
      }
    },
    jsonFiles: (dir) => {
      if (!allowed({ name: "read", path: dir })) return [];
      try {
        const names: string[] = [];
        for (const e of Deno.readDirSync(dir)) {
          if (!e.isDirectory && e.name.endsWith(".json")) names.push(`${dir}/${e.name}`);
        }
        return names.sort();
      } catch {
        return [];
      }
    },
  };
}

let applied: BackendChoice | null = null;

/**
 * Decide once per process and set `DENO_WEBGPU_BACKEND` when the harness chose (call
 * before the first `requestAdapter`; later calls return the same choice). When the
 * variable may not be set (no env permission), the choice says so and wgpu's default
 * applies.
 *
 * @example
 * ```ts
 * import { applyBackendChoice } from "./backend_choice.ts";
 * const choice = applyBackendChoice();
 * console.log(`backend: ${choice.backend} (${choice.reason})`);
 * ```
 */
export function applyBackendChoice(): BackendChoice {
  if (applied) return applied;
  let choice = chooseBackend(systemProbe());
  if (choice.setTo !== null) {
    try {
      Deno.env.set("DENO_WEBGPU_BACKEND", choice.setTo);
    } catch {
      choice = {
        ...choice,
        backend: "default",
        source: "default",
        setTo: null,
        reason: `wgpu's default choice (would pick ${choice.backend}: ${choice.reason}, but ` +
          "DENO_WEBGPU_BACKEND may not be set: --allow-env=DENO_WEBGPU_BACKEND is missing)",
      };
    }
  }
  applied = choice;
  return choice;
}

let released = false;

/**
 * Remove the `DENO_WEBGPU_BACKEND` the harness set, once the first adapter was requested:
 * wgpu keeps the backend for the rest of the process (checked with Deno 2.9.6: later
 * requests and devices stay on it), and child processes (the CLI under test, a Chromium
 * run, another Deno version) then choose for themselves instead of inheriting a value the
 * user never set. A value the user set is left alone.
 *
 * @example
 * ```ts
 * import { applyBackendChoice, releaseBackendChoice } from "./backend_choice.ts";
 * applyBackendChoice();
 * await navigator.gpu.requestAdapter();
 * releaseBackendChoice();
 * ```
 */
export function releaseBackendChoice(): void {
  if (released || applied === null || applied.setTo === null) return;
  released = true;
  try {
    if (Deno.env.get("DENO_WEBGPU_BACKEND") === applied.setTo) {
      Deno.env.delete("DENO_WEBGPU_BACKEND");
    }
  } catch {
    // no env permission: nothing was set either
  }
}

/**
 * The backend a GPU run of this process uses: the applied choice when the GPU was touched,
 * else what {@link applyBackendChoice} would choose (without setting anything).
 *
 * @example
 * ```ts
 * import { backendChoice } from "./backend_choice.ts";
 * backendChoice().backend; // "vulkan" on a machine with lavapipe installed
 * ```
 */
export function backendChoice(): BackendChoice {
  return applied ?? chooseBackend(systemProbe());
}

/**
 * One line for headers: `backend: vulkan (Vulkan driver found (lvp_icd.x86_64.json); ...)`.
 *
 * @example
 * ```ts
 * import { backendChoice, formatBackendChoice } from "./backend_choice.ts";
 * console.log(formatBackendChoice(backendChoice()));
 * ```
 */
export function formatBackendChoice(choice: BackendChoice): string {
  const how = choice.source === "auto" ? "chosen by the harness: " : "";
  return `backend: ${choice.backend} (${how}${choice.reason})`;
}
