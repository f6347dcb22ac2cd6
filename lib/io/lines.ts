/**
 * Reading a byte stream as text lines, as they arrive: the batch inputs of `validate` (routes,
 * AS paths, `bgpdump -m` output) are answered line by line, so a program talking to `rtr` over a
 * pipe gets each answer without waiting for the end of its input.
 */

/**
 * Call `onLine` for every line of `input` (without its newline; the last line may lack one) with
 * its 1-based number; `afterChunk` runs after each chunk's lines, e.g. to flush the answers.
 */
export async function eachLine(
  input: ReadableStream<Uint8Array>,
  onLine: (line: string, lineNo: number) => void,
  afterChunk?: () => Promise<void>,
): Promise<void> {
  const dec = new TextDecoder();
  let rest = "", lineNo = 0;
  for await (const chunk of input) {
    const text = rest + dec.decode(chunk, { stream: true });
    let start = 0;
    for (;;) {
      const nl = text.indexOf("\n", start);
      if (nl < 0) break;
      onLine(text.slice(start, nl), ++lineNo);
      start = nl + 1;
    }
    rest = text.slice(start);
    await afterChunk?.();
  }
  rest += dec.decode();
  if (rest !== "") onLine(rest, ++lineNo);
}
