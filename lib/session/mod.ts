/**
 * The router side of RTR, sans-I/O: the client session, and the staging of a response that it
 * and `replay --check` share.
 */
export * from "./client_session.ts";
export * from "./staging.ts";
