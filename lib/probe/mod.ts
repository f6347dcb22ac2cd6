/** `rtr probe`: a conformance test of an RTR cache, scenario by scenario (RFC 6810, RFC 8210, 8210bis). */
export * from "./scenario.ts";
export * from "./registry.ts";
export * from "./report.ts";
export { type Frame, hex, ProbeConn } from "./probe_conn.ts";
