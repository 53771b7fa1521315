/**
 * Benchmarks: device ceilings, kernel benchmark cases and matrices, FlashMLA's
 * FLOP/byte formulas, the runner and the JSON/CSV/Markdown writers.
 *
 * @module
 */
export * from "./cases.ts";
export * from "./ceilings.ts";
export * from "./crossover.ts";
export * from "./formulas.ts";
export * from "./machine.ts";
export * from "./out_dir.ts";
export * from "./reference_ceilings.ts";
export * from "./report.ts";
export * from "./run_bench.ts";
export * from "./stats.ts";
export * from "./timing.ts";
export * from "./pass_times.ts";
export * from "./bench_html.ts";
export * from "./unused_backends.ts";
