/** The router side of RTR, sans-I/O: the client session and what it stages and commits. */
export * from "./client_session.ts";
