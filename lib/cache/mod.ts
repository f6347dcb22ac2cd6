/** The cache side of RTR, sans-I/O: serial history, responder, response encoding, notify limits. */
export * from "./responder.ts";
