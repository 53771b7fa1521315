/**
 * Adapter and device acquisition, capability probing and device-loss handling.
 * This is the only place (with the other gpu/ files) that touches
 * `navigator.gpu`; it knows nothing about MLA.
 *
 * @module
 */
import { ConfigError } from "../adapter/errors.ts";
import { type DeviceClassName, MAX_SM_COUNT } from "../adapter/device_class.ts";
import type { DeviceCaps, PlanTuning } from "../adapter/types.ts";
import { otherDeviceClause, readTuningFileInfo } from "../adapter/plan_tuning.ts";
import { DeviceLostError, NO_ADAPTER_FIX, NoAdapterError } from "./errors.ts";
import { measureLoopBudget } from "./loop_budget.ts";
import { clearTexturesByCopies } from "./texture_clears.ts";
import {
  applyBackendChoice,
  backendChoice,
  formatBackendChoice,
  readsNoBackend,
  releaseBackendChoice,
  unknownBackendNames,
  unknownBackendText,
} from "./backend_choice.ts";

/** Options of {@link requestGpuAdapter}. */
export interface AdapterOptions {
  /** Power preference passed to requestAdapter. */
  powerPreference?: GPUPowerPreference;
  /** Accept a fallback (software) adapter such as lavapipe. Default true. */
  allowFallbackAdapter?: boolean;
}

/**
 * wgpu probes the window system while enumerating adapters and prints
 * "XDG_RUNTIME_DIR is invalid or not set" on headless machines. Give it a private,
 * empty runtime dir when none is set (headless: there is nothing to find there): one
 * fixed folder per user, `<tmp>/mla-harness-xdg-<uid>`, reused by every run, so nothing
 * accumulates (a fresh temporary folder per run leaked one folder per invocation).
 *
 * A folder of that name that is not ours (another owner, a symlink, open to others) is
 * not used; neither is anything when a permission is missing: the warning is cosmetic.
 *
 * @example
 * ```ts
 * import { quietWindowSystemProbe } from "./device.ts";
 * quietWindowSystemProbe(); // XDG_RUNTIME_DIR now names <tmp>/mla-harness-xdg-<uid>
 * ```
 */
export function quietWindowSystemProbe(): string | null {
  try {
    if (Deno.env.get("XDG_RUNTIME_DIR")) return null;
    const dir = runtimeDirPath();
    if (dir === null) return null;
    try {
      Deno.mkdirSync(dir, { mode: 0o700 });
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) return null;
    }
    const st = Deno.lstatSync(dir);
    // mode: wgpu and the drivers want a private runtime dir; uid: never adopt another
    // user's folder planted under the predictable name.
    if (!st.isDirectory || st.uid !== Deno.uid() || ((st.mode ?? 0) & 0o077) !== 0) return null;
    Deno.env.set("XDG_RUNTIME_DIR", dir);
    return dir;
  } catch {
    // without env/read/write/sys(uid) permission the warning is only cosmetic
    return null;
  }
}

function runtimeDirPath(): string | null {
  if (Deno.build.os === "windows") return null;
  const uid = Deno.uid();
  if (uid === null) return null;
  const tmp = Deno.permissions.querySync({ name: "env", variable: "TMPDIR" }).state === "granted"
    ? Deno.env.get("TMPDIR")
    : undefined;
  return `${(tmp && tmp.trim() !== "" ? tmp : "/tmp").replace(/\/+$/, "")}/mla-harness-xdg-${uid}`;
}

/**
 * What a runtime does before asking for an adapter, and how it names its backend in
 * messages. Deno (the default) decides wgpu's backend and quiets the window-system probe,
 * reading `Deno.env`; a browser page (browser/page_main.ts) installs its own, which reads
 * nothing: the browser chose its backend.
 */
export interface GpuEnvironment {
  /** Called before every requestAdapter; returns one line naming the backend. */
  prepareAdapter(): string;
  /**
   * The WebGPU backend devices of this environment run on, for `DeviceCaps.webgpuBackend`
   * (wgpu's "vulkan", "gl", ...); absent: not known (a browser page).
   */
  webgpuBackend?(): string;
  /** The SM count the user set for this device (MLA_HARNESS_SM_COUNT); absent: none. */
  smCount?(): number | undefined;
  /** The device class the user set for this device (MLA_HARNESS_DEVICE_CLASS); absent: none. */
  deviceClass?(): DeviceClassName | undefined;
  /** The plan tuning the user set for this device (MLA_HARNESS_TUNING); absent: none. */
  tuning?(): { tuning: PlanTuning; from: string; device?: string } | undefined;
  /**
   * What to do when no adapter came back, where the environment knows better than the
   * default fix (a DENO_WEBGPU_BACKEND wgpu cannot read); absent or undefined: the default.
   */
  noAdapterFix?(): string | undefined;
}

/** The environment variable that gives the harness the SM count of its device. */
export const SM_COUNT_ENV = "MLA_HARNESS_SM_COUNT";

/**
 * The SM count in MLA_HARNESS_SM_COUNT (1 to 999999 in decimal digits, no leading zero), or
 * undefined when it is not set, empty, or not readable (no env permission for it: nothing can
 * be known). Any other value throws a ConfigError (exit 2), never a silent default.
 *
 * @example
 * ```ts
 * import { smCountOf } from "./device.ts";
 * smCountOf("132"); // 132
 * smCountOf(undefined); // undefined
 * ```
 */
export function smCountOf(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const v = value.trim();
  // decimal digits without a leading zero, at most MAX_SM_COUNT
  if (!/^[1-9][0-9]*$/.test(v) || Number(v) > MAX_SM_COUNT) {
    throw new ConfigError(SM_COUNT_ENV, [{
      path: SM_COUNT_ENV,
      value,
      message:
        `must be a whole number from 1 to ${MAX_SM_COUNT}, in decimal digits without a leading ` +
        "zero: the device's SMs (compute units), e.g. 132 for an H100 SXM; `devices " +
        "--measure` estimates it",
    }], "invalid environment variable");
  }
  return Number(v);
}

function smCountFromEnv(): number | undefined {
  const status = Deno.permissions.querySync({ name: "env", variable: SM_COUNT_ENV });
  return status.state === "granted" ? smCountOf(Deno.env.get(SM_COUNT_ENV)) : undefined;
}

/**
 * The environment variable that sets the class of the device the harness runs on, over
 * the rules of adapter/device_class.ts: `gpu` makes lavapipe plan and run what a GPU would
 * (the tiled kernels, no weight textures), `cpu` the reverse. The loop budget stays the
 * device's.
 */
export const DEVICE_CLASS_ENV = "MLA_HARNESS_DEVICE_CLASS";

/**
 * The device class in MLA_HARNESS_DEVICE_CLASS ("cpu" or "gpu"), or undefined when it is
 * not set, empty, or not readable (no env permission for it). Any other value throws a
 * ConfigError (exit 2) naming the variable and the valid values.
 *
 * @example
 * ```ts
 * import { deviceClassOverrideOf } from "./device.ts";
 * deviceClassOverrideOf("gpu"); // "gpu"
 * deviceClassOverrideOf(undefined); // undefined
 * ```
 */
export function deviceClassOverrideOf(value: string | undefined): DeviceClassName | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const v = value.trim();
  if (v !== "cpu" && v !== "gpu") {
    throw new ConfigError(DEVICE_CLASS_ENV, [{
      path: DEVICE_CLASS_ENV,
      value,
      message: 'must be "cpu" or "gpu": the device class the harness plans for, over the ' +
        "rules (`explain` prints them)",
    }], "invalid environment variable");
  }
  return v;
}

function deviceClassFromEnv(): DeviceClassName | undefined {
  const status = Deno.permissions.querySync({ name: "env", variable: DEVICE_CLASS_ENV });
  return status.state === "granted"
    ? deviceClassOverrideOf(Deno.env.get(DEVICE_CLASS_ENV))
    : undefined;
}

/**
 * The environment variable naming a plan-tuning file (adapter/plan_tuning.ts: knobs over the
 * adapter's defaults for the GPU-shaped kernels' plans) for the device the harness runs on.
 */
export const TUNING_ENV = "MLA_HARNESS_TUNING";

/**
 * The plan tuning of the file MLA_HARNESS_TUNING names, or undefined when the variable is
 * not set, empty, or not readable (no env permission for it). A file that cannot be read or
 * is not a valid tuning throws a ConfigError naming the file and the knob (exit 2).
 *
 * @example
 * ```ts
 * import { tuningOf } from "./device.ts";
 * tuningOf(undefined); // undefined
 * ```
 */
export function tuningOf(
  value: string | undefined,
): { tuning: PlanTuning; from: string; device?: string } | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const path = value.trim();
  const { knobs, complete, device } = readTuningFileInfo(path);
  // a tuner stopped halfway left its best so far: said wherever the tuning is named
  return {
    tuning: knobs,
    from: `${TUNING_ENV}=${path}` +
      (complete === false ? " (incomplete: the tuner stopped before its last trial)" : ""),
    ...(device === undefined ? {} : { device }),
  };
}

function tuningFromEnv(): { tuning: PlanTuning; from: string; device?: string } | undefined {
  const status = Deno.permissions.querySync({ name: "env", variable: TUNING_ENV });
  return status.state === "granted" ? tuningOf(Deno.env.get(TUNING_ENV)) : undefined;
}

const denoEnvironment: GpuEnvironment = {
  prepareAdapter() {
    // Before the first requestAdapter: wgpu fixes the backend then (backend_choice.ts).
    const choice = applyBackendChoice();
    quietWindowSystemProbe();
    return formatBackendChoice(choice);
  },
  webgpuBackend: () => backendChoice().backend,
  noAdapterFix() {
    // a typo (vulcan) asks wgpu for no backend: the variable is wrong, no driver is missing
    // (only when it names no backend wgpu reads: vulkan,vulcan with no driver lacks a driver)
    const choice = backendChoice();
    if (choice.source !== "env") return undefined;
    if (readsNoBackend(choice.backend)) {
      return unknownBackendText(unknownBackendNames(choice.backend));
    }
    // DENO_WEBGPU_BACKEND=dx12 (or metal, gl) on a machine with no adapter there: "the harness
    // then picks Vulkan by itself" was false while the variable stays set
    if (choice.backend !== "vulkan") {
      return `DENO_WEBGPU_BACKEND=${choice.backend} gives no adapter on this machine: unset it ` +
        "(the harness then picks Vulkan where a Vulkan driver is installed, else GL; on a " +
        "machine without a GPU install Mesa lavapipe: apt-get install mesa-vulkan-drivers) " +
        "or set DENO_WEBGPU_BACKEND=vulkan";
    }
    return undefined;
  },
  smCount: smCountFromEnv,
  deviceClass: deviceClassFromEnv,
  tuning: tuningFromEnv,
};

let environment: GpuEnvironment = denoEnvironment;

/**
 * The user's settings for the device from this process's environment (MLA_HARNESS_SM_COUNT,
 * MLA_HARNESS_DEVICE_CLASS, MLA_HARNESS_TUNING) as caps fields, for a device whose caps are
 * read elsewhere: a browser page reads no environment, so `--runtime chromium` adds these to
 * the page's caps on the Deno side (browser/chromium_gpu.ts), where the plans are made. A bad
 * value throws the same ConfigError as for a device of this process. Given the device's
 * `adapter`, a tuning file measured on another device says so in its `tuningFrom`, as it
 * does for a device of this process.
 *
 * @example
 * ```ts
 * import { environmentCapsOverrides } from "./device.ts";
 * environmentCapsOverrides(); // {} when no variable is set
 * ```
 */
export function environmentCapsOverrides(adapter?: DeviceCaps["adapter"]): UserCaps {
  return userCapsOf(denoEnvironment, adapter);
}

/** The caps fields a user sets through an environment (SM count, device class, tuning). */
export type UserCaps = Pick<
  DeviceCaps,
  "smCount" | "smCountFrom" | "deviceClass" | "deviceClassFrom" | "tuning" | "tuningFrom"
>;

/** An environment's SM count, device class and tuning as caps fields, each named by its source. */
function userCapsOf(env: GpuEnvironment, adapter?: DeviceCaps["adapter"]): UserCaps {
  const smCount = env.smCount?.();
  const deviceClass = env.deviceClass?.();
  const tuning = env.tuning?.();
  // a file measured on another device is said wherever its source is named
  const elsewhere = tuning === undefined || adapter === undefined
    ? null
    : otherDeviceClause(tuning.device, adapter);
  return {
    ...(smCount === undefined ? {} : { smCount, smCountFrom: SM_COUNT_ENV }),
    ...(deviceClass === undefined ? {} : { deviceClass, deviceClassFrom: DEVICE_CLASS_ENV }),
    ...(tuning === undefined ? {} : {
      tuning: tuning.tuning,
      tuningFrom: elsewhere === null ? tuning.from : `${tuning.from} ${elsewhere}`,
    }),
  };
}

/**
 * Replace the runtime environment of gpu/ (a browser page); `null` restores Deno's.
 *
 * @example
 * ```ts
 * import { setGpuEnvironment } from "./device.ts";
 * setGpuEnvironment({ prepareAdapter: () => "backend: the browser's WebGPU" });
 * setGpuEnvironment(null);
 * ```
 */
export function setGpuEnvironment(env: GpuEnvironment | null): void {
  environment = env ?? denoEnvironment;
}

/** The backend line of the last adapter request (for a device request that fails after it). */
let lastBackendLine = "";

/**
 * Request an adapter, or throw a {@link NoAdapterError} whose message says how
 * to get one.
 *
 * @example
 * ```ts
 * // needs a WebGPU device: run where one is (tests/doc_examples_gpu_test.ts)
 * import { requestGpuAdapter } from "./device.ts";
 * const adapter = await requestGpuAdapter({ powerPreference: "high-performance" });
 * adapter.features.has("shader-f16");
 * ```
 */
export async function requestGpuAdapter(options: AdapterOptions = {}): Promise<GPUAdapter> {
  const backendLine = environment.prepareAdapter();
  lastBackendLine = backendLine;
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) throw new NoAdapterError("navigator.gpu is not available in this runtime");
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference });
  } catch (e) {
    throw new NoAdapterError(`requestAdapter() failed: ${(e as Error).message}`);
  } finally {
    releaseBackendChoice(); // wgpu has fixed the backend now; children choose for themselves
  }
  if (!adapter) {
    throw new NoAdapterError(
      `navigator.gpu.requestAdapter() returned null (${backendLine})`,
      environment.noAdapterFix?.() ?? NO_ADAPTER_FIX,
    );
  }
  if (options.allowFallbackAdapter === false && adapter.info.isFallbackAdapter) {
    throw new NoAdapterError(
      `only a fallback adapter (${adapter.info.description}) exists and fallback was refused`,
    );
  }
  return adapter;
}

/**
 * Whether an adapter can be acquired at all (tests use it to decide `ignore`).
 *
 * @example
 * ```ts
 * // needs a WebGPU device: run where one is (tests/doc_examples_gpu_test.ts)
 * import { hasAdapter } from "./device.ts";
 * const ok = await hasAdapter();
 * ```
 */
export async function hasAdapter(): Promise<boolean> {
  try {
    await requestGpuAdapter();
    return true;
  } catch {
    return false;
  }
}

/**
 * The capabilities of an adapter as plain data (features sorted, every limit, the SM
 * count from MLA_HARNESS_SM_COUNT, the device class from MLA_HARNESS_DEVICE_CLASS, the
 * wgpu backend it runs under).
 *
 * @example
 * ```ts
 * // needs a WebGPU device: run where one is (tests/doc_examples_gpu_test.ts)
 * import { probeCaps } from "./device.ts";
 * const caps = await probeCaps();
 * caps.limits.maxStorageBufferBindingSize;
 * ```
 */
export async function probeCaps(adapter?: GPUAdapter): Promise<DeviceCaps> {
  const a = adapter ?? await requestGpuAdapter();
  const limits: Record<string, number> = {};
  const src = a.limits as unknown as Record<string, number>;
  for (const key in src) {
    const v = src[key];
    if (typeof v === "number") limits[key] = v;
  }
  const info = {
    vendor: a.info.vendor,
    architecture: a.info.architecture,
    device: a.info.device,
    description: a.info.description,
    isFallbackAdapter: a.info.isFallbackAdapter,
  };
  return {
    adapter: info,
    features: [...a.features].sort(),
    limits,
    ...userCapsOf(environment, info),
    // Which wgpu backend runs it (the process chose it before requesting the adapter):
    // resolve() refuses model sizes on the GL fallback and sizes the tiled kernels'
    // workgroup memory for it, and `explain` must decide as `run` does.
    ...(environment.webgpuBackend ? { webgpuBackend: environment.webgpuBackend() } : {}),
  };
}

/** Limits a device is created with at the adapter's value unless `requiredLimits` is given. */
const ADAPTER_LIMITS_BY_DEFAULT = [
  "maxStorageBufferBindingSize",
  "maxBufferSize",
  "maxComputeWorkgroupStorageSize",
  // The plans' workgroup sizes are checked against the adapter's values of these two.
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  // The gemm backends size their textures by the adapter's value (gemm_plan.ts).
  "maxTextureDimension2D",
];

/**
 * The optional features every harness command creates its device with: shader-f16 (the
 * f16 cases), timestamp-query (kernel times) and subgroups (backend
 * wgsl-absorbed-tiled-sg). Each is enabled where the adapter offers it.
 *
 * @example
 * ```ts
 * import { HARNESS_FEATURES } from "./device.ts";
 * HARNESS_FEATURES.includes("timestamp-query"); // true
 * ```
 */
export const HARNESS_FEATURES: readonly GPUFeatureName[] = [
  "shader-f16",
  "timestamp-query",
  "subgroups",
];

/** Options of {@link GpuContext.create}. */
export interface ContextOptions extends AdapterOptions {
  /** Features to require; missing ones throw. Default: none. */
  requiredFeatures?: readonly GPUFeatureName[];
  /**
   * Features to enable when present (e.g. timestamp-query). Default: {@link HARNESS_FEATURES},
   * as for the limits below: {@link GpuContext.caps} lists the adapter's features, and plans
   * resolved against them (f16 where it has shader-f16, subgroups) must run on the device.
   * `[]` enables none.
   */
  optionalFeatures?: readonly GPUFeatureName[];
  /**
   * Limits to request explicitly; when the adapter is below a requested value the
   * device creation fails. Default: the adapter's maxStorageBufferBindingSize,
   * maxBufferSize, maxComputeWorkgroupStorageSize, maxComputeInvocationsPerWorkgroup
   * and maxComputeWorkgroupSizeX.
   */
  requiredLimits?: Record<string, number>;
}

/** What was recorded when a device was lost. */
export interface LossRecord {
  /** GPUDeviceLostReason. */
  readonly reason: string;
  /** The runtime's message. */
  readonly message: string;
  /** When (ms since epoch). */
  readonly at: number;
}

/**
 * An adapter + device pair with its capabilities, the enabled features, a record
 * of device losses and re-acquisition. Pipeline caches key off the device, so a
 * re-acquired device starts with empty caches.
 *
 * @example
 * ```ts
 * // needs a WebGPU device: run where one is (tests/doc_examples_gpu_test.ts)
 * import { GpuContext } from "./device.ts";
 * const ctx = await GpuContext.create({ optionalFeatures: ["shader-f16", "timestamp-query"] });
 * ctx.hasFeature("shader-f16");
 * ctx.destroy();
 * ```
 */
export class GpuContext {
  /** The adapter. */
  adapter: GPUAdapter;
  /** The current device (replaced by {@link GpuContext.reacquire}). */
  device: GPUDevice;
  /** Adapter capabilities as plain data. */
  readonly caps: DeviceCaps;
  /** Every device loss seen (destroy() by us is not recorded). */
  readonly losses: LossRecord[] = [];
  /** Increments whenever the device is replaced. */
  generation = 0;
  readonly #options: ContextOptions;
  #destroying = false;
  #lost = false;

  private constructor(
    adapter: GPUAdapter,
    device: GPUDevice,
    caps: DeviceCaps,
    options: ContextOptions,
  ) {
    this.adapter = adapter;
    this.device = device;
    this.caps = caps;
    this.#options = options;
    this.#watch(device);
  }

  /**
   * Acquire an adapter and a device with the requested features and limits.
   *
   * @example
   * ```ts
   * // needs a WebGPU device: run where one is (tests/doc_examples_gpu_test.ts)
   * import { GpuContext } from "./device.ts";
   * const ctx = await GpuContext.create({ requiredFeatures: ["shader-f16"] });
   * ctx.destroy();
   * ```
   */
  static async create(options: ContextOptions = {}): Promise<GpuContext> {
    const adapter = await requestGpuAdapter(options);
    const device = await GpuContext.#device(adapter, options);
    // The loop budget is measured once per context (a tiny dispatch): kernel plans
    // must stay within it (adapter/loop_budget.ts).
    const caps = {
      ...await probeCaps(adapter),
      loopIterationBudget: await measureLoopBudget(device),
    };
    return new GpuContext(adapter, device, caps, options);
  }

  static async #device(adapter: GPUAdapter, options: ContextOptions): Promise<GPUDevice> {
    const missing = (options.requiredFeatures ?? []).filter((f) => !adapter.features.has(f));
    if (missing.length > 0) {
      throw new NoAdapterError(
        `adapter "${adapter.info.description}" lacks required feature(s) ${missing.join(", ")}`,
      );
    }
    const features = new Set<GPUFeatureName>(options.requiredFeatures ?? []);
    for (const f of options.optionalFeatures ?? HARNESS_FEATURES) {
      if (adapter.features.has(f)) features.add(f);
    }
    const adapterLimits = adapter.limits as unknown as Record<string, number>;
    const limits: Record<string, number> = {};
    // By default the device gets the adapter's own buffer and workgroup-memory limits
    // (WebGPU's defaults are lower): the caps the adapter layer plans with are the
    // adapter's, so the device must allow what they promise.
    const wanted = options.requiredLimits ?? Object.fromEntries(
      ADAPTER_LIMITS_BY_DEFAULT.filter((k) => typeof adapterLimits[k] === "number")
        .map((k) => [k, adapterLimits[k]]),
    );
    for (const [k, v] of Object.entries(wanted)) {
      const have = adapterLimits[k];
      if (typeof have !== "number") throw new Error(`unknown WebGPU limit ${k}`);
      const isMin = k.startsWith("min");
      if (isMin ? v < have : v > have) {
        throw new NoAdapterError(`adapter limit ${k} = ${have} cannot satisfy ${v}`);
      }
      limits[k] = v;
    }
    let device: GPUDevice;
    try {
      device = await adapter.requestDevice({
        requiredFeatures: [...features],
        requiredLimits: limits,
      });
    } catch (e) {
      // Which adapter and backend failed: on an NVIDIA machine with Vulkan hidden, wgpu's GL
      // backend finds an adapter whose device request fails ("Parent device is lost").
      throw new NoAdapterError(
        `requestDevice() failed on adapter "${adapter.info.description}"` +
          `${lastBackendLine ? ` (${lastBackendLine})` : ""}: ${(e as Error).message}`,
      );
    }
    // A texture a kernel binds must not be zero-filled by a render pass: on lavapipe that
    // leaves every later pass untimed by its timestamps (texture_clears.ts).
    clearTexturesByCopies(device);
    return device;
  }

  #watch(device: GPUDevice): void {
    device.lost.then((info) => {
      if (device !== this.device) return;
      this.#lost = true;
      if (this.#destroying) return;
      this.losses.push({ reason: String(info.reason), message: info.message, at: Date.now() });
    });
  }

  /** Whether a feature is enabled on the current device. */
  hasFeature(name: GPUFeatureName): boolean {
    return this.device.features.has(name);
  }

  /** Whether the current device was lost. */
  get lost(): boolean {
    return this.#lost;
  }

  /**
   * Throw a {@link DeviceLostError} when the device was lost (call before a case).
   *
   * @example
   * ```ts
   * // needs a WebGPU device: run where one is (tests/doc_examples_gpu_test.ts)
   * import { GpuContext } from "./device.ts";
   * const ctx = await GpuContext.create();
   * ctx.assertAlive();
   * ```
   */
  assertAlive(): void {
    if (this.#lost) {
      const last = this.losses.at(-1);
      throw new DeviceLostError(last?.reason ?? "destroyed", last?.message ?? "device destroyed");
    }
  }

  /**
   * Acquire a fresh device (after a loss) with the same options. Increments
   * {@link GpuContext.generation} so caches keyed on the device start over.
   *
   * @example
   * ```ts
   * // needs a WebGPU device: run where one is (tests/doc_examples_gpu_test.ts)
   * import { GpuContext } from "./device.ts";
   * const ctx = await GpuContext.create();
   * if (ctx.lost) await ctx.reacquire();
   * ```
   */
  async reacquire(): Promise<void> {
    let adapter = this.adapter;
    let device: GPUDevice;
    try {
      device = await GpuContext.#device(adapter, this.#options);
    } catch {
      // An adapter may be invalidated by the loss: ask for a new one.
      adapter = await requestGpuAdapter(this.#options);
      device = await GpuContext.#device(adapter, this.#options);
    }
    this.adapter = adapter;
    this.device = device;
    this.#lost = false;
    this.#destroying = false;
    this.generation++;
    this.#watch(device);
  }

  /** Destroy the device (not recorded as a loss). */
  destroy(): void {
    this.#destroying = true;
    this.device.destroy();
  }
}
