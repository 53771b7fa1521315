/**
 * The Chromium runtime: a small CDP client, finding and launching headless Chromium tied
 * to the harness's life, a page driver, and the WebGPU device of a page that runs the
 * harness's own GPU code (docs/chromium_runtime.md). `page_main.ts` is the page's entry
 * (bundled, not exported here).
 *
 * @module
 */
export * from "./cdp.ts";
export * from "./chromium.ts";
export * from "./page.ts";
export * from "./chromium_gpu.ts";
export * from "./server.ts";
export * from "./wire.ts";
export * from "./bundle.ts";
export type * from "./page_api.ts";
