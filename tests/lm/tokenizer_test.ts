import assert from "node:assert/strict";
import { DataError } from "../../lib/errors.ts";
import { BOS_ID, EOS_ID, loadTokenizer, parseTokenizer } from "../../lib/lm/tokenizer.ts";
import { requireFixture, TEXT, TOKENIZER } from "./_fixtures.ts";

const tokenizer = await loadTokenizer(requireFixture(TOKENIZER), 512);

Deno.test("encode() matches a hand-checked llama2.c encoding with byte fallback", () => {
  // Worked by hand from tok512.bin: the dummy space prefix joins "the" (" the" = 265); "\n" has no
  // piece (byte <0x0A> = id 13), nor has "ö" (bytes C3 B6 = ids 198, 185); "é" has one (485).
  const ids = tokenizer.encode("the\nöé", { bos: true, eos: true });
  assert.deepEqual(ids.map((id) => tokenizer.piece(id)), [
    "\n<s>\n",
    " the",
    "<0x0A>",
    "<0xC3>",
    "<0xB6>",
    "\xC3\xA9", // é as its two UTF-8 bytes
    "\n</s>\n",
  ]);
  assert.deepEqual(ids, [BOS_ID, 265, 13, 198, 185, 485, EOS_ID]);
  assert.equal(tokenizer.decode(ids), "the\nöé");
  assert.deepEqual(tokenizer.encode(""), []);
  assert.deepEqual(tokenizer.encode("", { bos: true }), [BOS_ID]);
});

Deno.test("encode() merges the highest-scoring pair first, leftmost on ties", () => {
  // run.c's quadratic reference loop, written out directly, on a short text.
  const text = "Once upon a time, Lily said “hello” to the little bird.";
  const want = referenceMerge(tokenizer, text);
  assert.deepEqual(tokenizer.encode(text), want);
});

Deno.test("decode(encode()) round-trips the fixture texts", async () => {
  for (
    const name of [
      "tinystories_sample.txt",
      "tinystories_valid_head.txt",
      "tinyshakespeare_input.txt",
    ]
  ) {
    const text = (await Deno.readTextFile(requireFixture(`${TEXT}${name}`))).slice(0, 8192);
    const ids = tokenizer.encode(text, { bos: true });
    assert.equal(tokenizer.decode(ids), text, name);
    // Without BOS the dummy prefix space stays, as in llama2.c.
    assert.equal(tokenizer.decode(ids.slice(1)), " " + text, name);
    const head = text.slice(0, 1500);
    assert.deepEqual(tokenizer.encode(head), referenceMerge(tokenizer, head), name);
  }
});

Deno.test("parseTokenizer() rejects a file that does not hold vocab_size tokens", async () => {
  const bytes = await Deno.readFile(requireFixture(TOKENIZER));
  assert.throws(() => parseTokenizer(bytes, { vocabSize: 513 }), DataError);
  assert.throws(() => parseTokenizer(bytes, { vocabSize: 500 }), /expected 500 tokens/);
});

// llama2.c run.c encode(): one symbol per UTF-8 character (or its bytes), then repeatedly merge
// the leftmost adjacent pair with the highest score until none merges. Quadratic; short texts only.
function referenceMerge(tok: typeof tokenizer, text: string): number[] {
  const pieceId = new Map<string, number>();
  for (let id = tok.vocabSize - 1; id >= 0; id--) pieceId.set(tok.piece(id), id);
  const enc = new TextEncoder();
  const bytes = (s: string) => Array.from(enc.encode(s), (b) => String.fromCharCode(b)).join("");
  const symbols: number[] = [pieceId.get(" ")!];
  for (const ch of text) {
    const id = pieceId.get(bytes(ch));
    if (id !== undefined) symbols.push(id);
    else for (const b of enc.encode(ch)) symbols.push(b + 3);
  }
  const score = (id: number) => tok.score(id);
  for (;;) {
    let best = -Infinity, at = -1, merged = -1;
    for (let i = 0; i + 1 < symbols.length; i++) {
      const id = pieceId.get(tok.piece(symbols[i]) + tok.piece(symbols[i + 1]));
      if (id !== undefined && score(id) > best) [best, at, merged] = [score(id), i, id];
    }
    if (at < 0) return symbols;
    symbols.splice(at, 2, merged);
  }
}
