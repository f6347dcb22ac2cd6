/** The history directory (docs/formats.md §5): per-serial files, current table, state, serial diffs. */
export * from "./serial_file.ts";
export * from "./delta.ts";
export * from "./history_store.ts";
export * from "./history_diff.ts";
