/** Table formats: reading every dialect (read.ts) and writing every output format (write.ts). */
export * from "./read.ts";
export * from "./write.ts";
export { diffCounts } from "./ndjson.ts";
export * from "./records.ts";
export { CSV_HEADER } from "./csv.ts";
export { jsonMetadata } from "./json.ts";
