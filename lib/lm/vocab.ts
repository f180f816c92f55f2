// Display text of every token of a llama2.c tokenizer, for feature dashboards: pieces decoded as
// UTF-8, byte pieces as their character when printable (`<0x0A>` becomes "\n"), else kept as is,
// special tokens without llama2.c's surrounding newlines. Tokenizers that display their own ids
// (tokenizer.json) are asked instead; ids of a model's padded vocabulary beyond the tokenizer's show
// as `<unused N>`.
import { BYTE_OFFSET, type Tokenizer } from "./tokenizer.ts";

/** The display text of ids 0..size-1 (size: the model's vocab_size, default the tokenizer's). */
export function displayVocab(tokenizer: Tokenizer, options: { size?: number } = {}): string[] {
  const size = options.size ?? tokenizer.vocabSize;
  const unused = Array.from(
    { length: Math.max(0, size - tokenizer.vocabSize) },
    (_, i) => `<unused ${tokenizer.vocabSize + i}>`,
  );
  if (tokenizer.display) {
    return Array.from({ length: tokenizer.vocabSize }, (_, id) => tokenizer.display!(id))
      .concat(unused);
  }
  const utf8 = new TextDecoder("utf-8", { fatal: true });
  const out: string[] = [];
  for (let id = 0; id < tokenizer.vocabSize; id++) {
    const piece = tokenizer.piece(id);
    if (id < BYTE_OFFSET) { // <unk>, <s>, </s> (llama2.c writes "\n<s>\n")
      out.push(piece.trim());
      continue;
    }
    const byte = /^<0x([0-9A-Fa-f]{2})>$/.exec(piece);
    if (byte && id >= BYTE_OFFSET) {
      const b = parseInt(byte[1], 16);
      out.push(
        b === 0x0a || b === 0x09 || (b >= 0x20 && b < 0x7f) ? String.fromCharCode(b) : piece,
      );
      continue;
    }
    try {
      out.push(utf8.decode(Uint8Array.from(piece, (c) => c.charCodeAt(0))));
    } catch {
      out.push(piece); // not valid UTF-8 on its own (part of a multi-byte character)
    }
  }
  return out.concat(unused);
}
