/** The cache side of RTR, sans-I/O: serial history, responder, response encoding, notify limits. */
export * from "./serial_history.ts";
export * from "./wire_payload.ts";
export * from "./response_encoder.ts";
export * from "./rtr_cache.ts";
export * from "./responder.ts";
export * from "./notify_limiter.ts";
export { composeVrpChanges } from "../model/delta.ts";
export * from "./reload_guard.ts";
