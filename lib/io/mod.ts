/** Byte and text output: the text sink and the atomic file writer. */
export * from "./text_sink.ts";
