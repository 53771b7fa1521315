/**
 * The GPU layer: adapter/device acquisition, capabilities, shaders and the
 * pipeline cache, buffers, dispatch, error scopes and timing. Knows nothing
 * about MLA.
 *
 * @module
 */
export * from "./errors.ts";
export * from "./device.ts";
export * from "./backend_choice.ts";
export * from "./scopes.ts";
export * from "./shader.ts";
export * from "./buffers.ts";
export * from "./dispatch.ts";
export * from "./timing.ts";
export * from "./loop_budget.ts";
export * from "./text_source.ts";
export * from "./texture_clears.ts";
export * from "./runtime.ts";
