/**
 * The WGSL MLA kernels and their TS entry points: `runAttention` (RoPE,
 * absorption or expansion, absorbed or expanded attention, split-KV combine) and
 * `runRope`, plus the source loader used for fault injection and the unroller of its
 * `// @unroll` loops.
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
