// Tests lib/lm/vocab.ts on the real tok512 tokenizer: special, byte and merged pieces display as
// hand-checked strings.
import assert from "node:assert/strict";
import { displayVocab } from "../../lib/lm/vocab.ts";
import { loadStories260k } from "./_fixtures.ts";

const { tokenizer } = await loadStories260k();

Deno.test("displayVocab() shows special tokens bare, printable bytes as characters, pieces as text", () => {
  const vocab = displayVocab(tokenizer);
  assert.equal(vocab.length, 512);
  assert.deepEqual(vocab.slice(0, 3), ["<unk>", "<s>", "</s>"]);
  assert.equal(vocab[3 + 0x0a], "\n");
  assert.equal(vocab[3 + 0x41], "A");
  assert.equal(vocab[3 + 0x00], "<0x00>");
  assert.equal(vocab[3 + 0xe2], "<0xE2>");
  const [lily] = tokenizer.encode("Lily");
  assert.equal(vocab[lily], " Lily");
  // Merged pieces: ASCII ones as they are, others decoded from UTF-8 (465 is a left double quote).
  for (let id = 259; id < 512; id++) {
    const piece = tokenizer.piece(id);
    if (/^[\x20-\x7e]*$/.test(piece)) assert.equal(vocab[id], piece, `id ${id}`);
  }
  assert.equal(tokenizer.piece(465), "\xe2\x80\x9c");
  assert.equal(vocab[465], "\u201c");
});
