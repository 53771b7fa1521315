/**
 * Case matrices: types, stable ids, filters, sharding, validation and expansion.
 *
 * @module
 */
export * from "./types.ts";
export * from "./case_id.ts";
export * from "./schema.ts";
export * from "./expand.ts";
export * from "./config_paths.ts";
export * from "./select.ts";
export * from "./reason_codes.ts";
export * from "./matrix_name.ts";
export type { ConfigIssue, SchemaIssue } from "../adapter/errors.ts";
export * from "./selection_digest.ts";
