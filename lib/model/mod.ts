/** The payload model: prefixes, VRPs, router keys, ASPA, packed VRP sets, tables, timers and the §11.2 order. */
export * from "./prefix.ts";
export * from "./types.ts";
export * from "./vrp_set.ts";
export * from "./table.ts";
export * from "./timers.ts";
export * from "./order.ts";
