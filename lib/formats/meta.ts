/**
 * The table metadata and output format names, defined in records.ts (the one module of records
 * and metadata); this face stays for the writers that import it by this name.
 */
export { OUTPUT_FORMATS, type OutputFormat, type TableMeta } from "./records.ts";
