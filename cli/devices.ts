/**
 * `devices`: what the harness sees (adapter info, features, limits, the measured loop
 * budget). No adapter exits 3 with the fix.
 *
 * @module
 */
import { formatTuning } from "../adapter/plan_tuning.ts";
import { Command } from "@commander-js/extra-typings";
import { type DeviceClass, deviceClassOf, formatDeviceClass } from "../adapter/device_class.ts";
import { liveDeviceKey } from "../drift/device_key.ts";
import type { DeviceCaps } from "../adapter/types.ts";
import { type Ceilings, measureCeilings } from "../bench/ceilings.ts";
import { formatSaturation, measureSaturation, type Saturation } from "../bench/saturation.ts";
import { formatCeilings } from "../bench/report.ts";
import { GpuContext, HARNESS_FEATURES } from "../gpu/device.ts";
import { backendChoice, formatBackendChoice } from "../gpu/backend_choice.ts";
import { LOOP_PROBE_TRIPS } from "../gpu/loop_budget.ts";
import {
  chromiumOption,
  runtimeOption,
  startChromiumStoppable,
  useChromiumStoppable,
} from "./runtime_options.ts";

/** Probe that throws (NoAdapterError) when no adapter exists. */
export type StrictCapsProbe = () => Promise<DeviceCaps>;

const KEY_LIMITS = [
  "maxStorageBufferBindingSize",
  "maxBufferSize",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupsPerDimension",
  "maxStorageBuffersPerShaderStage",
  "maxTextureDimension2D",
];

/**
 * Render caps for a terminal.
 *
 * @example
 * ```ts
 * import { formatCaps } from "./devices.ts";
 * formatCaps({ adapter: { vendor: "v", architecture: "", device: "0", description: "d",
 *   isFallbackAdapter: true }, features: ["shader-f16"], limits: {} });
 * ```
 */
export function formatCaps(caps: DeviceCaps): string {
  const a = caps.adapter;
  const lines = [
    `adapter: ${a.description || "(no description)"}${
      a.isFallbackAdapter ? " (fallback/software)" : ""
    }`,
    `  vendor ${a.vendor || "?"}, device ${a.device || "?"}, architecture ${a.architecture || "?"}`,
    `features: ${caps.features.join(", ") || "(none)"}`,
    `  shader-f16: ${
      caps.features.includes("shader-f16") ? "yes" : "no (f16 cases are unsupported)"
    }`,
    `  timestamp-query: ${
      caps.features.includes("timestamp-query") ? "yes" : "no (timings use the wall clock)"
    }`,
    "limits:",
  ];
  for (const k of KEY_LIMITS) if (k in caps.limits) lines.push(`  ${k}: ${caps.limits[k]}`);
  lines.push(`  (${Object.keys(caps.limits).length} limits in all; --json prints every one)`);
  if (caps.loopIterationBudget !== undefined) {
    lines.push(
      caps.loopIterationBudget === null
        ? `loop budget: none found (a ${LOOP_PROBE_TRIPS}-trip loop ran to the end)`
        : `loop budget: ${caps.loopIterationBudget} loop iterations per invocation (measured); ` +
          "kernel plans that need more are split or refused",
    );
  }
  // The class kernel choice reads (MLA_HARNESS_DEVICE_CLASS or a caps file can set it).
  const cls = deviceClassOf(caps);
  if (cls) lines.push(formatDeviceClass(cls));
  // The plan tuning the adapter plans this device's GPU-shaped kernels with (MLA_HARNESS_TUNING).
  const tuned = formatTuning(caps);
  if (tuned !== null) lines.push(tuned);
  return lines.join("\n");
}

/**
 * Build the `devices` command.
 *
 * @example
 * ```ts ignore
 * import { devicesCommand } from "./devices.ts";
 * const cmd = devicesCommand(probeCaps);
 * ```
 */
export function devicesCommand(probe: StrictCapsProbe) {
  return new Command("devices")
    .description(
      "Show the WebGPU backend the harness chose (and why) and the adapter it sees: adapter " +
        "info, features and limits. " +
        "Exit 3 when there is no adapter, or with --measure a ceiling kernel whose timestamps " +
        "did not advance (0 ms: no ceiling or saturation point follows); 130 when interrupted " +
        "by Ctrl-C (SIGINT), 143 by SIGTERM, said on stderr. The --json output can be passed to `explain --caps`; " +
        "besides the caps it holds the backend choice (backend; with --runtime chromium the " +
        "browser and its Dawn backend instead: runtime), the device class as the adapter " +
        "decides it (classified), the device key of this device's baseline (deviceKey) and, " +
        "with --measure, the ceilings and saturation point (ceilings, saturation).",
    )
    .option("--json", "print the capabilities as JSON")
    .option(
      "--measure",
      "also measure the device ceilings (bandwidth, FMA peak, overheads) and its saturation " +
        "point: how many FMA workgroups run at once (an SM-count estimate for a caps file)",
    )
    .addOption(runtimeOption())
    .addOption(chromiumOption())
    .action(async (opts) => {
      if (opts.runtime === "chromium") {
        // Chromium's adapter, read in the page like any device's (exit 3 without a browser);
        // --measure runs the same probes in the page.
        const gpu = await startChromiumStoppable({ chromium: opts.chromium }, "no device was read");
        // a Ctrl-C after start-up (--measure takes seconds) is said, as run and bench say it
        const what = opts.measure
          ? "while Chromium measured the device: nothing was printed"
          : "while Chromium read the device";
        await useChromiumStoppable(gpu, what, async () => {
          const runtime = { ...gpu.identity };
          const derived = derivedFacts(gpu.caps, liveDeviceKey(gpu.caps, gpu.identity));
          const line = `  runtime: chromium (${gpu.identity.version}, Dawn backend ` +
            `${String(gpu.identity.adapterInfo.backend ?? "?")}, driver ` +
            `${String(gpu.identity.adapterInfo.driver ?? "?")}, ${gpu.identity.path})`;
          const text = () => formatCaps(gpu.caps).replace(/\n/, `\n${line}\n`);
          if (!opts.measure) {
            console.log(
              opts.json ? JSON.stringify({ ...gpu.caps, runtime, ...derived }, null, 2) : text(),
            );
            return;
          }
          const ceilings = await gpu.measureCeilings({});
          const saturation = await gpu.measureSaturation();
          console.log(
            opts.json
              ? JSON.stringify({ ...gpu.caps, runtime, ...derived, ceilings, saturation }, null, 2)
              : measuredText(text(), gpu.caps, ceilings, saturation),
          );
        });
        return;
      }
      await probe(); // exits 3 with the fix when there is no adapter
      // A device is created to measure the loop budget (a tiny dispatch) along with the caps.
      const ctx = await GpuContext.create({ optionalFeatures: HARNESS_FEATURES });
      // The backend wgpu was asked for, and why (set before the first adapter request).
      const choice = backendChoice();
      const backend = { name: choice.backend, source: choice.source, reason: choice.reason };
      const caps = { ...ctx.caps, backend, ...derivedFacts(ctx.caps, liveDeviceKey(ctx.caps)) };
      // Second line, under the adapter it led to.
      const text = () => formatCaps(ctx.caps).replace(/\n/, `\n  ${formatBackendChoice(choice)}\n`);
      if (!opts.measure) {
        console.log(opts.json ? JSON.stringify(caps, null, 2) : text());
        ctx.destroy();
        return;
      }
      try {
        const ceilings = await measureCeilings(ctx);
        const saturation = await measureSaturation(ctx);
        console.log(
          opts.json
            ? JSON.stringify({ ...caps, ceilings, saturation }, null, 2)
            : measuredText(text(), ctx.caps, ceilings, saturation),
        );
      } finally {
        ctx.destroy();
      }
    });
}

/**
 * What `devices --json` adds to the caps, derived from them (a caps file read back drops
 * both, adapter/caps_file.ts): the device class as the adapter decides it (`classified`:
 * kind, reasons, workgroup-memory tier, SM count, each with its source) and the device key
 * that names this device's baseline file.
 */
function derivedFacts(
  caps: DeviceCaps,
  key: string,
): { classified: DeviceClass | null; deviceKey: string } {
  return { classified: deviceClassOf(caps), deviceKey: key };
}

/**
 * The capabilities text followed by the measured ceilings and saturation point (`devices
 * --measure` without `--json`, in either runtime).
 *
 * @example
 * ```ts ignore
 * console.log(measuredText(formatCaps(caps), caps, ceilings, saturation));
 * ```
 */
export function measuredText(
  capsText: string,
  caps: DeviceCaps,
  ceilings: Ceilings,
  saturation: Saturation,
): string {
  const cls = deviceClassOf(caps);
  const known = {
    kind: cls?.kind ?? null,
    smCount: cls?.smCount ?? null,
    smCountSource: cls?.smCountSource ?? "",
  };
  return `${capsText}
ceilings:
${formatCeilings(ceilings).replace(/^/gm, "  ")}
${formatSaturation(saturation, known).replace(/^/gm, "  ")}`;
}
