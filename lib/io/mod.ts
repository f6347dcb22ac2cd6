/** Byte and text input and output: the text sink, the atomic file writer, the ASCII builder. */
export * from "./text_sink.ts";
export * from "./atomic_file.ts";
export * from "./std_stream.ts";
export * from "./file_error.ts";
export * from "./input_file.ts";
export * from "./magic.ts";
export * from "./ascii.ts";
export * from "./file_watch.ts";
export * from "./lines.ts";
