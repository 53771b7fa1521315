/**
 * The WGSL MLA kernels and their TS entry points: `runAttention` (RoPE,
 * absorption or expansion, absorbed or expanded attention, split-KV combine) and
 * `runRope`, plus the source loader used for fault injection, the unroller of its
 * `// @unroll` loops, and the static barrier check (`workgroupHazards`).
 *
 * @module
 */
export * from "./attention.ts";
export * from "./measure.ts";
export * from "./replay.ts";
export * from "./rope.ts";
export * from "./source.ts";
export * from "./tables.ts";
export * from "./unroll.ts";
export * from "./workgroup_hazards.ts";
