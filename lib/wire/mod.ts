/** The RTR wire layer: PDU values, constants, strict decoding, encoding and stream framing. */
export * from "./constants.ts";
export * from "./pdu.ts";
export * from "./decode.ts";
export * from "./encode.ts";
export * from "./framer.ts";
