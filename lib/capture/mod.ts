/**
 * Captures of RTR sessions: raw byte dumps, pcap and pcapng readers, frame decoding, TCP
 * reassembly, tolerant PDU framing, NDJSON records, replaying streams into tables, protocol
 * checks, and a pcap writer for `--dump FILE.pcap`.
 */
export * from "./timestamp.ts";
export * from "./packet.ts";
export * from "./pcap_reader.ts";
export * from "./pcapng_reader.ts";
export * from "./frame.ts";
export * from "./tcp_reassembler.ts";
export * from "./pdu_scanner.ts";
export * from "./flows.ts";
export * from "./capture_reader.ts";
export * from "./records.ts";
export * from "./table_replay.ts";
export * from "./check.ts";
export * from "./pcap_writer.ts";
