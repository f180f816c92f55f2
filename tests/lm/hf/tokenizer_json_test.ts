// tokenizer.json BPE against hand-built vocabularies whose ids are worked out in the comments (each
// expectation was also what Hugging Face's own `tokenizers` 0.23.2 gives for the same JSON, checked
// once by hand; CI needs no Python), and the fixtures' tokenizers against the generator's Python BPE.
import assert from "node:assert/strict";
import { DataError } from "../../../lib/errors.ts";
import { parseTokenizerJson } from "../../../lib/lm/hf/tokenizer_json.ts";
import { displayVocab } from "../../../lib/lm/vocab.ts";
import { hfFixture } from "./_hf_fixtures.ts";

// Llama 3's pre-tokenizer regex, as its tokenizer.json writes it.
const LLAMA3_REGEX =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/**
 * A hand-built byte-level BPE: GPT-2 writes byte 0x20 (space) as "Ġ" (U+0120) and 0x0A as "Ċ".
 * Merge ranks: "a b" 0, "ab c" 1, "Ġ a" 2, "Ġa b" 3, "1 2" 4, "3 4" 5.
 */
function byteLevel(options: { ignoreMerges?: boolean; preTokenizer?: unknown } = {}) {
  const vocab: Record<string, number> = {
    a: 0,
    b: 1,
    c: 2,
    "Ġ": 3,
    ab: 4,
    abc: 5,
    "Ġa": 6,
    "Ġab": 7,
    "1": 8,
    "2": 9,
    "3": 10,
    "4": 11,
    "12": 12,
    "!": 13,
    "34": 14,
    "Ċ": 15,
  }; // deno-fmt-ignore
  return parseTokenizerJson(
    JSON.stringify({
      added_tokens: [{ id: 16, content: "<|bos|>", special: true }],
      normalizer: null,
      pre_tokenizer: options.preTokenizer ?? {
        type: "Sequence",
        pretokenizers: [
          { type: "Split", pattern: { Regex: LLAMA3_REGEX }, behavior: "Isolated", invert: false },
          { type: "ByteLevel", add_prefix_space: false, use_regex: false },
        ],
      },
      decoder: { type: "ByteLevel" },
      model: {
        type: "BPE",
        vocab,
        merges: [["a", "b"], ["ab", "c"], ["Ġ", "a"], ["Ġa", "b"], ["1", "2"], ["3", "4"]],
        ignore_merges: options.ignoreMerges ?? false,
        byte_fallback: false,
      },
    }),
    { name: "byte.json", bosId: 16, eosId: null },
  );
}

/** A hand-built SentencePiece-style BPE (Llama 2 / TinyLlama): "▁" for spaces, byte fallback. */
function sentencePiece(style: "normalizer" | "metaspace", byteFallback = true) {
  const vocab: Record<string, number> = { "<unk>": 0, "<s>": 1, "</s>": 2 };
  for (let b = 0; b < 256; b++) {
    vocab[`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`] = 3 + b;
  }
  Object.assign(vocab, { "▁": 259, h: 260, i: 261, "▁h": 262, "▁hi": 263, hi: 264 });
  const normalizer = {
    type: "Sequence",
    normalizers: [
      { type: "Prepend", prepend: "▁" },
      { type: "Replace", pattern: { String: " " }, content: "▁" },
    ],
  };
  const metaspace = { type: "Metaspace", replacement: "▁", prepend_scheme: "first", split: false };
  return parseTokenizerJson(
    JSON.stringify({
      added_tokens: ["<unk>", "<s>", "</s>"].map((content, id) => ({ id, content, special: true })),
      normalizer: style === "normalizer" ? normalizer : null,
      pre_tokenizer: style === "metaspace" ? metaspace : null,
      decoder: style === "normalizer"
        ? {
          type: "Sequence",
          decoders: [
            { type: "Replace", pattern: { String: "▁" }, content: " " },
            { type: "ByteFallback" },
            { type: "Fuse" },
            { type: "Strip", content: " ", start: 1, stop: 0 },
          ],
        }
        : { type: "Sequence", decoders: [metaspace, { type: "ByteFallback" }, { type: "Fuse" }] },
      model: {
        type: "BPE",
        vocab,
        merges: ["▁ h", "▁h i", "h i"],
        unk_token: "<unk>",
        fuse_unk: true,
        byte_fallback: byteFallback,
      },
    }),
    { name: "sp.json", bosId: 1, eosId: 2 },
  );
}

Deno.test("byte-level BPE merges by rank, not left to right", () => {
  const tok = byteLevel();
  // "abc": a b c -> ab c (rank 0) -> abc (rank 1). " ab": Ġ a b has "a b" (rank 0) before
  // "Ġ a" (rank 2); once merged, "Ġ ab" is no merge, so it stays Ġ + ab (left to right: Ġab).
  assert.deepEqual(tok.encode("abc ab"), [5, 3, 4]);
  assert.equal(tok.decode([5, 3, 4]), "abc ab");
  // ignore_merges (Llama 3): a pre-tokenized word in the vocabulary is one token as it is.
  assert.deepEqual(byteLevel({ ignoreMerges: true }).encode("abc ab"), [5, 7]);
});

Deno.test("byte-level pre-tokenizer regex splits digits in threes and punctuation apart", () => {
  const tok = byteLevel();
  // \p{N}{1,3}: "1234" -> "123" | "4", so "3 4" cannot merge across the split.
  assert.deepEqual(tok.encode("1234"), [12, 10, 11]);
  // GPT-2's ByteLevel regex ( ?\p{N}+) keeps "1234" whole: "1 2" then "3 4".
  const gpt2 = byteLevel({
    preTokenizer: { type: "ByteLevel", add_prefix_space: false, use_regex: true },
  });
  assert.deepEqual(gpt2.encode("1234"), [12, 14]);
  // "ab!" -> "ab" | "!"; "\n" is byte 0x0A, written "Ċ".
  assert.deepEqual(tok.encode("ab!\n"), [4, 13, 15]);
  assert.equal(tok.decode([4, 13, 15]), "ab!\n");
});

Deno.test("encode() adds the configured BOS id, splits added tokens out and decode() drops specials", () => {
  const tok = byteLevel();
  assert.deepEqual(tok.encode("ab", { bos: true }), [16, 4]);
  assert.deepEqual(tok.encode("a<|bos|>b"), [0, 16, 1]);
  assert.equal(tok.decode([16, 4, 16]), "ab");
  const e = (() => {
    try {
      tok.encode("ab", { eos: true });
    } catch (err) {
      return err as DataError;
    }
    return undefined;
  })();
  assert.ok(e instanceof DataError);
  assert.match(e.message, /no eos_token_id/);
});

Deno.test("SentencePiece-style BPE prefixes ▁, falls back to bytes and round-trips", () => {
  for (const style of ["normalizer", "metaspace"] as const) {
    const tok = sentencePiece(style);
    // "hi é" -> ▁hi▁é: "▁ h" (rank 0), "▁h i" (rank 1); é (U+00E9) is not a piece, so its UTF-8
    // bytes C3 A9 become <0xC3> (3 + 0xC3 = 198) and <0xA9> (3 + 0xA9 = 172).
    assert.deepEqual(tok.encode("hi é", { bos: true }), [1, 263, 259, 198, 172], style);
    assert.equal(tok.decode([1, 263, 259, 198, 172]), "hi é", style);
    assert.deepEqual(tok.encode("hi", { bos: true, eos: true }), [1, 263, 2], style);
  }
  // Metaspace with prepend_scheme "first": text after an added token gets no ▁ ("h i" -> hi).
  assert.deepEqual(sentencePiece("metaspace").encode("<s>hi"), [1, 264]);
  // Without byte fallback, unknown characters become one fused <unk>.
  assert.deepEqual(sentencePiece("normalizer", false).encode("hi éé"), [263, 259, 0]);
});

Deno.test("display() shows tokens as text for dashboards", () => {
  const sp = sentencePiece("normalizer");
  const vocab = displayVocab(sp);
  assert.equal(vocab.length, 265);
  assert.deepEqual([vocab[1], vocab[263], vocab[3 + 0x41]], ["<s>", " hi", "A"]);
  assert.equal(displayVocab(byteLevel())[7], " ab");
  // A model's vocabulary padded beyond the tokenizer's (Qwen2: 151,936 vs 151,665 tokens).
  assert.deepEqual(displayVocab(sp, { size: 267 }).slice(264), [
    "hi",
    "<unused 265>",
    "<unused 266>",
  ]);
});

Deno.test("the fixtures' tokenizers round-trip text, and unsupported models are refused", async () => {
  const text = "the cat sat on the mat. Then 12345 dogs ran: naïve café, 你好!\n\n  end";
  for (const [name, bos] of [["llama", 300], ["qwen2", 1]] as const) {
    const json = await Deno.readTextFile(`${hfFixture(name)}/tokenizer.json`);
    const tok = parseTokenizerJson(json, { name, bosId: bos, eosId: null });
    const ids = tok.encode(text, { bos: true });
    assert.equal(ids[0], bos);
    assert.equal(tok.decode(ids), text, name);
    assert.ok(ids.length < new TextEncoder().encode(text).length, `${name}: merges apply`);
  }
  const wordPiece = JSON.stringify({ model: { type: "WordPiece", vocab: { a: 0 } } });
  const e = (() => {
    try {
      parseTokenizerJson(wordPiece, { name: "/m/tokenizer.json", bosId: null, eosId: null });
    } catch (err) {
      return err as DataError;
    }
    return undefined;
  })();
  assert.ok(e instanceof DataError);
  assert.match(e.message, /^\/m\/tokenizer\.json: unsupported or malformed model type "WordPiece"/);
  assert.equal(e.exitCode, 2);
});

Deno.test("the fixtures' tokenizers encode as the generator's own Python BPE does", async () => {
  for (const [name, bos] of [["llama", 300], ["qwen2", 1]] as const) {
    const dir = hfFixture(name);
    const tok = parseTokenizerJson(await Deno.readTextFile(`${dir}/tokenizer.json`), {
      name,
      bosId: bos,
      eosId: null,
    });
    const cases = JSON.parse(await Deno.readTextFile(`${dir}/expected_tokens.json`));
    assert.equal(cases.length, 3);
    for (const { text, ids } of cases) {
      assert.deepEqual(tok.encode(text), ids, `${name}: ${JSON.stringify(text)}`);
      assert.equal(tok.decode(ids), text);
    }
  }
});
