/**
 * Device class: whether a device is a CPU-class WebGPU implementation (Mesa's
 * llvmpipe/lavapipe, SwiftShader, any fallback adapter, anything with a loop budget)
 * or a GPU, with the reason; its workgroup-memory tier; and its SM count, which
 * WebGPU does not expose (a table by PCI vendor/device id, overridable by a caps
 * file's `smCount`). Kernel choice reads the class (adapter/backends.ts): the two
 * classes want different kernel shapes (one lane per head walking every key on a
 * CPU; workgroups that share key tiles through workgroup memory on a GPU). A caps
 * file's `deviceClass`, or MLA_HARNESS_DEVICE_CLASS for the device the harness runs on,
 * overrides the rules (e.g. to run the GPU-class kernels and tests on lavapipe); the
 * loop budget (adapter/loop_budget.ts) is the device's either way.
 *
 * @module
 */
import { loopBudgetOf } from "./loop_budget.ts";
import type { DeviceCaps } from "./types.ts";

/** The two device classes. */
export type DeviceClassName = "cpu" | "gpu";

/** Workgroup-memory tiers the tiled kernels have variants for (bytes). */
export type WorkgroupMemoryTier = 16384 | 32768 | 49152;

/** What the adapter knows about a device's class. */
export interface DeviceClass {
  /** "cpu" or "gpu". */
  readonly kind: DeviceClassName;
  /**
   * Why (one clause per reason; for "gpu", why none of the CPU rules matched; when set by
   * hand, who set it and what the rules say).
   */
  readonly reasons: readonly string[];
  /** Where the class came from: the rules, or set by hand. */
  readonly kindSource: "rules" | "caps file" | "MLA_HARNESS_DEVICE_CLASS";
  /** maxComputeWorkgroupStorageSize (bytes; WebGPU's default 16384 when the caps omit it). */
  readonly workgroupStorageBytes: number;
  /** The largest tier within it, or null when it is below 16 KiB. */
  readonly workgroupMemoryTier: WorkgroupMemoryTier | null;
  /** SMs (compute units), or null when unknown. */
  readonly smCount: number | null;
  /** Where the SM count came from. */
  readonly smCountSource: "caps file" | "MLA_HARNESS_SM_COUNT" | "table" | "unknown";
}

/** One known device of the SM-count table. */
export interface KnownDevice {
  /** PCI vendor id. */
  readonly vendor: number;
  /** PCI device id. */
  readonly device: number;
  /** Marketing name (for messages). */
  readonly name: string;
  /** Streaming multiprocessors (NVIDIA), compute units (AMD). */
  readonly smCount: number;
}

/**
 * The most SMs (compute units) the harness takes from a caps file or MLA_HARNESS_SM_COUNT:
 * six digits, far above any device (an H100 has 132).
 */
export const MAX_SM_COUNT = 999999;

/**
 * SM counts (compute units on AMD) by PCI vendor/device id. WebGPU reports the ids as decimal
 * strings on wgpu (the H100 of docs/gpu_machine/h100-2026-11-27 reports vendor "4318", device
 * "9008": 0x10de/0x2330). A device missing here is planned without its SM count (with
 * adapter/tiled_plan.ts's defaults); a caps file's `smCount` (from `devices --json`, edited) or
 * MLA_HARNESS_SM_COUNT gives it.
 *
 * Sources. The ids and names: the PCI ID repository (pci.ids 2023.04.10, Debian's `pci.ids`
 * package), except the H200's, which is newer than that file (pci.ids: 0x2335 "GH100 [H200 SXM
 * 141GB]"). The counts: the vendors' published core counts over the cores of one SM of that
 * architecture. H100 SXM5 132 SMs (NVIDIA's H100 datasheet, and the CUDA deviceQuery of an H100
 * 80GB HBM3), H100 PCIe 114 (14592 / 128); the H200 SXM is the same GH100 configuration as the
 * H100 SXM5, 132. A100 and A800 108 (6912 / 64), A30 56 (3584 / 64); V100 and V100S 80
 * (5120 / 64); T4 40 (2560 / 64); A10 72 (9216 / 128), A10G 80 (10240 / 128), A40 and RTX
 * A6000 84 (10752 / 128), RTX 3090 82 (10496 / 128); L4 58 (7424 / 128), L40 and RTX 6000 Ada
 * 142 (18176 / 128), RTX 4090 128 (16384 / 128). AMD Instinct (compute units): MI100 120,
 * MI210 104, MI250X 110 per graphics die (each die is its own device). Ids that pci.ids gives
 * several products of different counts (0x740c "MI250X/MI250", 0x2324 "H800") are left out.
 */
export const KNOWN_DEVICES: readonly KnownDevice[] = [
  { vendor: 0x10de, device: 0x2330, name: "NVIDIA H100 SXM5 80GB", smCount: 132 },
  { vendor: 0x10de, device: 0x2335, name: "NVIDIA H200 SXM 141GB", smCount: 132 },
  { vendor: 0x10de, device: 0x2331, name: "NVIDIA H100 PCIe", smCount: 114 },
  { vendor: 0x10de, device: 0x2322, name: "NVIDIA H800 PCIe", smCount: 114 },
  { vendor: 0x10de, device: 0x20b0, name: "NVIDIA A100 SXM4 40GB", smCount: 108 },
  { vendor: 0x10de, device: 0x20b1, name: "NVIDIA A100 PCIe 40GB", smCount: 108 },
  { vendor: 0x10de, device: 0x20b2, name: "NVIDIA A100 SXM4 80GB", smCount: 108 },
  { vendor: 0x10de, device: 0x20b5, name: "NVIDIA A100 PCIe 80GB", smCount: 108 },
  { vendor: 0x10de, device: 0x20f1, name: "NVIDIA A100 PCIe 40GB", smCount: 108 },
  { vendor: 0x10de, device: 0x20f3, name: "NVIDIA A800 SXM4 80GB", smCount: 108 },
  { vendor: 0x10de, device: 0x20f5, name: "NVIDIA A800 80GB PCIe", smCount: 108 },
  { vendor: 0x10de, device: 0x20f6, name: "NVIDIA A800 40GB PCIe", smCount: 108 },
  { vendor: 0x10de, device: 0x20b7, name: "NVIDIA A30 PCIe", smCount: 56 },
  { vendor: 0x10de, device: 0x1db1, name: "NVIDIA Tesla V100 SXM2 16GB", smCount: 80 },
  { vendor: 0x10de, device: 0x1db4, name: "NVIDIA Tesla V100 PCIe 16GB", smCount: 80 },
  { vendor: 0x10de, device: 0x1db5, name: "NVIDIA Tesla V100 SXM2 32GB", smCount: 80 },
  { vendor: 0x10de, device: 0x1db6, name: "NVIDIA Tesla V100 PCIe 32GB", smCount: 80 },
  { vendor: 0x10de, device: 0x1df6, name: "NVIDIA Tesla V100S PCIe 32GB", smCount: 80 },
  { vendor: 0x10de, device: 0x1eb8, name: "NVIDIA Tesla T4", smCount: 40 },
  { vendor: 0x10de, device: 0x2236, name: "NVIDIA A10", smCount: 72 },
  { vendor: 0x10de, device: 0x2237, name: "NVIDIA A10G", smCount: 80 },
  { vendor: 0x10de, device: 0x2235, name: "NVIDIA A40", smCount: 84 },
  { vendor: 0x10de, device: 0x2230, name: "NVIDIA RTX A6000", smCount: 84 },
  { vendor: 0x10de, device: 0x2204, name: "NVIDIA GeForce RTX 3090", smCount: 82 },
  { vendor: 0x10de, device: 0x27b8, name: "NVIDIA L4", smCount: 58 },
  { vendor: 0x10de, device: 0x26b5, name: "NVIDIA L40", smCount: 142 },
  { vendor: 0x10de, device: 0x26b1, name: "NVIDIA RTX 6000 Ada Generation", smCount: 142 },
  { vendor: 0x10de, device: 0x2684, name: "NVIDIA GeForce RTX 4090", smCount: 128 },
  { vendor: 0x1002, device: 0x738c, name: "AMD Instinct MI100", smCount: 120 },
  { vendor: 0x1002, device: 0x738e, name: "AMD Instinct MI100", smCount: 120 },
  { vendor: 0x1002, device: 0x740f, name: "AMD Instinct MI210", smCount: 104 },
  { vendor: 0x1002, device: 0x7408, name: "AMD Instinct MI250X (one graphics die)", smCount: 110 },
];

const CPU_NAMES = /llvmpipe|lavapipe|swiftshader/i;
const TIERS: readonly WorkgroupMemoryTier[] = [49152, 32768, 16384];

/** A PCI id as WebGPU reports it ("4318", "0x10de", "10de"), or null. */
function pciId(text: string): number | null {
  const t = text.trim();
  if (/^0x[0-9a-f]+$/i.test(t)) return parseInt(t.slice(2), 16);
  if (/^[0-9]+$/.test(t)) return parseInt(t, 10);
  return null;
}

/**
 * The entry of {@link KNOWN_DEVICES} for an adapter's vendor/device id, or undefined.
 *
 * @example
 * ```ts
 * import { knownDevice } from "./device_class.ts";
 * knownDevice("4318", "9008")?.smCount; // 132 (H100 SXM, ids in decimal as wgpu reports them)
 * knownDevice("0x10de", "0x2335")?.name; // "NVIDIA H200 SXM 141GB"
 * ```
 */
export function knownDevice(vendor: string, device: string): KnownDevice | undefined {
  const v = pciId(vendor);
  const d = pciId(device);
  if (v === null || d === null) return undefined;
  return KNOWN_DEVICES.find((k) => k.vendor === v && k.device === d);
}

/**
 * The workgroup-memory tier of a maxComputeWorkgroupStorageSize: the largest of 48,
 * 32 and 16 KiB it reaches, or null below 16 KiB.
 *
 * @example
 * ```ts
 * import { workgroupMemoryTier } from "./device_class.ts";
 * workgroupMemoryTier(32768); // 32768 (lavapipe)
 * workgroupMemoryTier(49152); // 49152 (H100 through wgpu)
 * workgroupMemoryTier(8192); // null
 * ```
 */
export function workgroupMemoryTier(bytes: number): WorkgroupMemoryTier | null {
  return TIERS.find((t) => bytes >= t) ?? null;
}

/**
 * Classify a device (null caps: no device, null class).
 *
 * "cpu" when it has a loop budget (measured, or known for its driver), is a fallback
 * adapter, or is named llvmpipe, lavapipe or SwiftShader; "gpu" otherwise. A class set by
 * hand (`caps.deviceClass`: a caps file's, or MLA_HARNESS_DEVICE_CLASS) wins; the reasons
 * then say who set it and what the rules say.
 *
 * @example
 * ```ts
 * import { deviceClassOf } from "./device_class.ts";
 * const c = deviceClassOf({
 *   adapter: { vendor: "4318", architecture: "", device: "9008",
 *     description: "NVIDIA H100 80GB HBM3", isFallbackAdapter: false },
 *   features: [], limits: { maxComputeWorkgroupStorageSize: 49152 }, loopIterationBudget: null,
 * });
 * [c?.kind, c?.smCount, c?.workgroupMemoryTier]; // ["gpu", 132, 49152]
 * ```
 */
export function deviceClassOf(caps: DeviceCaps | null): DeviceClass | null {
  if (caps === null) return null;
  const a = caps.adapter;
  const cpuReasons: string[] = [];
  const budget = loopBudgetOf(caps);
  if (budget !== null) {
    cpuReasons.push(`it ends every loop of an invocation after ${budget} iterations (loop budget)`);
  }
  if (a.isFallbackAdapter) cpuReasons.push("it is a fallback adapter");
  const names = `${a.vendor} ${a.architecture} ${a.device} ${a.description}`;
  const m = names.match(CPU_NAMES);
  if (m) cpuReasons.push(`its name says ${m[0]} (a CPU implementation)`);
  const bytes = caps.limits.maxComputeWorkgroupStorageSize ?? 16384;
  const known = knownDevice(a.vendor, a.device);
  const smCount = caps.smCount ?? known?.smCount ?? null;
  const smCountSource = caps.smCount !== undefined
    ? caps.smCountFrom ?? "caps file"
    : known
    ? "table"
    : "unknown";
  const ruled: DeviceClassName = cpuReasons.length > 0 ? "cpu" : "gpu";
  const ruleReasons = cpuReasons.length > 0
    ? cpuReasons
    : ["no loop budget, not a fallback adapter, not named llvmpipe/lavapipe/SwiftShader"];
  const set = caps.deviceClass;
  const kindSource = set === undefined ? "rules" : caps.deviceClassFrom ?? "caps file";
  return {
    kind: set ?? ruled,
    reasons: set === undefined ? ruleReasons : [
      `set by ${
        kindSource === "caps file"
          ? `the caps file's "deviceClass": "${set}"`
          : `${kindSource}=${set}`
      } (the rules say ${ruled}: ${ruleReasons.join(", ")})`,
    ],
    kindSource,
    workgroupStorageBytes: bytes,
    workgroupMemoryTier: workgroupMemoryTier(bytes),
    smCount,
    smCountSource,
  };
}

/**
 * One line for `explain` and `devices`: the class, why, the workgroup-memory tier and
 * the SM count with its source.
 *
 * @example
 * ```ts
 * import { deviceClassOf, formatDeviceClass } from "./device_class.ts";
 * formatDeviceClass(deviceClassOf({
 *   adapter: { vendor: "65541", architecture: "", device: "0",
 *     description: "llvmpipe (LLVM 15.0.6, 256 bits)", isFallbackAdapter: true },
 *   features: [], limits: { maxComputeWorkgroupStorageSize: 32768 },
 * })!);
 * // "device class cpu: it ends every loop ... ; workgroup memory 32768 bytes (tier 32 KiB); SMs unknown"
 * ```
 */
export function formatDeviceClass(c: DeviceClass): string {
  const tier = c.workgroupMemoryTier === null
    ? "below the 16 KiB tier"
    : `tier ${c.workgroupMemoryTier / 1024} KiB`;
  const sms = c.smCount === null ? "SMs unknown" : `${c.smCount} SMs (${c.smCountSource})`;
  return `device class ${c.kind}: ${c.reasons.join("; ")}; workgroup memory ` +
    `${c.workgroupStorageBytes} bytes (${tier}); ${sms}`;
}
