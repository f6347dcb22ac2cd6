/** Validation of routes against the payload table: route origin validation (RFC 6811). */
export * from "./origin.ts";
