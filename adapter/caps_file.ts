/**
 * The DeviceCaps schema, and reading a caps JSON file (`--caps`), e.g. one written by
 * `devices --json`, so decisions can be explained for a device that is not attached.
 *
 * @module
 */
import { z } from "zod";
import { ConfigError, issuesFromSchema } from "./errors.ts";
import { readJsonFile } from "./json_file.ts";
import type { DeviceCaps } from "./types.ts";

const capsSchema = z.object({
  adapter: z.object({
    vendor: z.string({ error: "must be a string" }).default(""),
    architecture: z.string({ error: "must be a string" }).default(""),
    device: z.string({ error: "must be a string" }).default(""),
    description: z.string({ error: "must be a string" }).default(""),
    isFallbackAdapter: z.boolean({ error: "must be true or false" }).default(false),
  }, { error: "is required; expected an object with vendor, description, ..." }),
  features: z.array(z.string(), { error: 'must be an array of feature names like "shader-f16"' }),
  limits: z.record(z.string(), z.number(), {
    error: "must be an object of numeric limits like maxStorageBufferBindingSize",
  }),
  loopIterationBudget: z.number({ error: "must be a positive integer or null" }).int().positive()
    .nullable().optional(),
  smCount: z.number({ error: "must be a positive integer (SMs / compute units)" }).int()
    .positive().optional(),
  webgpuBackend: z.string({ error: 'must be a WebGPU backend name like "vulkan" or "gl"' })
    .optional(),
});

/**
 * Validate a parsed caps value (the JSON of `devices --json`; keys other than caps, such as
 * ceilings, are dropped). A bad value throws a `ConfigError` naming `source` and the field.
 *
 * @example
 * ```ts
 * import { parseCaps } from "./caps_file.ts";
 * const caps = parseCaps({
 *   adapter: { description: "llvmpipe" },
 *   features: ["shader-f16"],
 *   limits: { maxStorageBufferBindingSize: 134217728 },
 *   loopIterationBudget: 65535,
 * }, "caps.json");
 * caps.loopIterationBudget; // 65535
 * ```
 */
export function parseCaps(raw: unknown, source: string): DeviceCaps {
  const parsed = capsSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      source,
      issuesFromSchema(parsed.error.issues, raw),
      "invalid caps file",
    );
  }
  // The devices command writes {adapter, features, limits, loopIterationBudget} plus extra
  // keys (ceilings); keep only caps.
  const { adapter, features, limits, loopIterationBudget, smCount, webgpuBackend } = parsed.data;
  return {
    adapter,
    features,
    limits,
    ...(loopIterationBudget === undefined ? {} : { loopIterationBudget }),
    ...(smCount === undefined ? {} : { smCount }),
    ...(webgpuBackend === undefined ? {} : { webgpuBackend }),
  };
}

/**
 * Read and validate a caps file; a bad file throws a `ConfigError` naming the file and the
 * field.
 *
 * @example
 * ```ts
 * import { readCapsFile } from "./caps_file.ts";
 * const caps = await readCapsFile("tests/fixtures/caps_lavapipe.json");
 * ```
 */
export async function readCapsFile(path: string): Promise<DeviceCaps> {
  return parseCaps(await readJsonFile(path, { what: "caps file" }), path);
}
