/**
 * Validation of routes against the payload table: route origin validation (RFC 6811) and AS_PATH
 * verification with ASPA (draft-ietf-sidrops-aspa-verification-19).
 */
export * from "./origin.ts";
export * from "./aspa.ts";
export * from "./path_input.ts";
