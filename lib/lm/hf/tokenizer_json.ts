// Reads a Hugging Face tokenizer.json with a BPE model (byte-level as in GPT-2 / Llama 3 / Qwen2,
// or SentencePiece-style with byte fallback as in Llama 2 / TinyLlama) into the project's
// Tokenizer. Encoding: added tokens split out, normalizer, pre-tokenizer, BPE merges by rank.
import { DataError } from "../../errors.ts";
import { mergeSymbols, type Tokenizer } from "../tokenizer.ts";
import { buildDecoder, buildNormalizer, buildPreTokenizer, type Fail } from "./_text_steps.ts";

export interface TokenizerJsonOptions {
  /** Labels error messages (the file's path). */
  name: string;
  /** Id `encode(..., { bos: true })` prepends (config.json's bos_token_id); null: none known. */
  bosId: number | null;
  /** Id `encode(..., { eos: true })` appends; null: none known. */
  eosId: number | null;
}

type Json = Record<string, unknown>;

/** Parses tokenizer.json text. */
export function parseTokenizerJson(text: string, options: TokenizerJsonOptions): Tokenizer {
  const { name, bosId, eosId } = options;
  const fail: Fail = (what) => {
    throw new DataError(`${name}: unsupported or malformed ${what}`, {
      hint: "tokenizer.json must have a BPE model (byte-level or SentencePiece-style with " +
        "byte fallback), as llama-family models ship",
      exitCode: 2,
    });
  };
  let root: Json;
  try {
    root = JSON.parse(text);
  } catch (err) {
    return fail(`JSON (${(err as Error).message})`);
  }
  const model = (root.model ?? {}) as Json;
  if (model.type !== "BPE") {
    fail(`model type ${JSON.stringify(model.type)} (only BPE is read)`);
  }
  if (model.continuing_subword_prefix || model.end_of_word_suffix) {
    fail("BPE with continuing_subword_prefix / end_of_word_suffix");
  }
  const vocab = new Map(Object.entries((model.vocab ?? {}) as Record<string, number>));
  const pieces: string[] = [];
  for (const [piece, id] of vocab) pieces[id] = piece;
  const added = ((root.added_tokens ?? []) as Json[]).map((t) => ({
    id: Number(t.id),
    content: String(t.content),
    special: t.special === true,
  }));
  for (const t of added) pieces[t.id] = t.content;
  const vocabSize = pieces.length;
  for (let id = 0; id < vocabSize; id++) {
    if (pieces[id] === undefined) fail(`vocabulary: no token has id ${id}`);
  }
  for (const [what, id] of [["bos_token_id", bosId], ["eos_token_id", eosId]] as const) {
    if (id !== null && id >= vocabSize) fail(`vocabulary: ${what} ${id} is not a token id`);
  }

  // Merge ranks keyed by the pair of ids; merges are "a b" strings or [a, b] pairs.
  const ranks = new Map<string, { priority: number; merged: number }>();
  const rankOf = new Map<number, number>();
  ((model.merges ?? []) as unknown[]).forEach((m, rank) => {
    const [a, b] = typeof m === "string" ? splitMerge(m) : (m as string[]);
    const ia = vocab.get(a), ib = vocab.get(b), merged = vocab.get(a + b);
    if (ia === undefined || ib === undefined || merged === undefined) {
      fail(`merge ${rank} ${JSON.stringify(m)}: a part or the result is not in the vocabulary`);
    }
    if (!ranks.has(`${ia},${ib}`)) ranks.set(`${ia},${ib}`, { priority: -rank, merged: merged! });
    if (!rankOf.has(merged!)) rankOf.set(merged!, rank);
  });
  const byteFallback = model.byte_fallback === true;
  const unkId = typeof model.unk_token === "string" ? vocab.get(model.unk_token) ?? null : null;
  const fuseUnk = model.fuse_unk === true;
  const ignoreMerges = model.ignore_merges === true;

  const normalize = buildNormalizer(root.normalizer, fail);
  const preTokenize = buildPreTokenizer(root.pre_tokenizer, fail);
  const decodeSteps = buildDecoder(root.decoder, fail);
  const addedSplit = added.length === 0 ? null : new RegExp(
    [...added].sort((a, b) => b.content.length - a.content.length)
      .map((t) => t.content.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"),
    "gu",
  );
  const addedId = new Map(added.map((t) => [t.content, t.id]));
  const skipOnDecode = new Set(added.filter((t) => t.special).map((t) => t.id));
  const cache = new Map<string, number[]>();

  // One pre-tokenized word: its characters (bytes as <0xNN> pieces when missing), merged by rank.
  function encodeWord(word: string): number[] {
    const hit = cache.get(word);
    if (hit) return hit;
    const whole = vocab.get(word);
    let ids: number[];
    if (ignoreMerges && whole !== undefined) {
      ids = [whole];
    } else {
      const symbols: number[] = [];
      for (const ch of word) {
        const id = vocab.get(ch);
        if (id !== undefined) {
          symbols.push(id);
          continue;
        }
        const bytes = byteFallback
          ? Array.from(
            new TextEncoder().encode(ch),
            (b) => vocab.get(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`),
          )
          : [];
        if (bytes.length > 0 && bytes.every((b) => b !== undefined)) {
          symbols.push(...(bytes as number[]));
        } else if (unkId !== null && !(fuseUnk && symbols.at(-1) === unkId)) {
          symbols.push(unkId);
        }
      }
      ids = mergeSymbols(symbols, (l, r) => ranks.get(`${l},${r}`));
    }
    // Pre-tokenized words repeat; whole documents (SentencePiece-style, no pre-tokenizer) do not.
    if (word.length <= 64 && cache.size < 100_000) cache.set(word, ids);
    return ids;
  }

  function encode(text: string, options: { bos?: boolean; eos?: boolean } = {}): number[] {
    const out: number[] = [];
    const special = (id: number | null, what: string) => {
      if (id === null) {
        throw new DataError(`${name}: the model has no ${what}_token_id, cannot add ${what}`, {
          hint: `set ${what}_token_id in the checkpoint's config.json`,
          exitCode: 2,
        });
      }
      out.push(id);
    };
    if (options.bos) special(bosId, "bos");
    const segments: (string | number)[] = [];
    let at = 0;
    if (addedSplit) {
      for (const m of text.matchAll(addedSplit)) {
        if (m.index! > at) segments.push(text.slice(at, m.index));
        segments.push(addedId.get(m[0])!);
        at = m.index! + m[0].length;
      }
    }
    if (at < text.length) segments.push(text.slice(at));
    segments.forEach((seg, i) => {
      if (typeof seg === "number") {
        out.push(seg);
        return;
      }
      for (const word of preTokenize([normalize(seg)], i === 0)) out.push(...encodeWord(word));
    });
    if (options.eos) special(eosId, "eos");
    return out;
  }

  const checkId = (id: number) => {
    if (!(id >= 0 && id < vocabSize)) {
      throw new DataError(`token id ${id} is outside the vocabulary (0..${vocabSize - 1})`);
    }
  };

  function decode(ids: ArrayLike<number>): string {
    const tokens: string[] = [];
    for (let k = 0; k < ids.length; k++) {
      checkId(ids[k]);
      if (!skipOnDecode.has(ids[k]) && ids[k] !== bosId && ids[k] !== eosId) {
        tokens.push(pieces[ids[k]]);
      }
    }
    return decodeSteps(tokens, { strip: true }).join("");
  }

  return {
    vocabSize,
    encode,
    decode,
    piece: (id: number) => pieces[id],
    // Merged tokens: minus the rank of the merge making them (earlier merges first); base: -inf.
    score: (id: number) => rankOf.has(id) ? -rankOf.get(id)! : -Infinity,
    display(id: number): string {
      checkId(id);
      if (addedId.has(pieces[id])) return pieces[id];
      return decodeSteps([pieces[id]], { strip: false }).join("");
    },
  };
}

/** "a b" -> ["a", "b"]; the split is at the first space (pieces hold no spaces in this form). */
function splitMerge(m: string): [string, string] {
  const i = m.indexOf(" ", 1);
  return [m.slice(0, i), m.slice(i + 1)];
}
