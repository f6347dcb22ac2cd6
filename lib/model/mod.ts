/** The payload model: prefixes, VRPs, router keys, ASPA, packed VRP sets and tables. */
export * from "./prefix.ts";
export * from "./types.ts";
export * from "./vrp_set.ts";
export * from "./table.ts";
