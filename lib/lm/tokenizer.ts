// Loads llama2.c tokenizers (tok*.bin) and encodes/decodes text exactly as llama2.c's run.c does:
// dummy space prefix, UTF-8 characters with byte fallback, then greedy highest-score pair merges.
import { DataError } from "../errors.ts";

/** Token ids with a fixed meaning in llama2.c tokenizers. */
export const UNK_ID = 0;
export const BOS_ID = 1;
export const EOS_ID = 2;
/** Id of the byte piece `<0x00>`; byte b is id BYTE_OFFSET + b. */
export const BYTE_OFFSET = 3;

export interface Tokenizer {
  readonly vocabSize: number;
  /** Token ids of `text` (UTF-8), with BOS/EOS added on request. */
  encode(text: string, options?: { bos?: boolean; eos?: boolean }): number[];
  /**
   * Text of `ids`: BOS/EOS are dropped, byte pieces become their bytes, and a piece that follows
   * BOS loses its leading space (so `decode(encode(s, { bos: true }))` is `s`).
   */
  decode(ids: ArrayLike<number>): string;
  /** The raw piece of one id as a byte string (one char per byte), e.g. " the" or "<0x0A>". */
  piece(id: number): string;
  /** The merge score of one id (higher merges first). */
  score(id: number): number;
  /**
   * Display text of one id for dashboards (lib/lm/vocab.ts); absent for llama2.c tokenizers,
   * whose pieces vocab.ts reads by its own conventions.
   */
  display?(id: number): string;
}

/** Bytes as a JS string with one char per byte (TextDecoder's "latin1" is windows-1252). */
function byteString(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

/** Reads a llama2.c tokenizer file for a model with `vocabSize` tokens. */
export async function loadTokenizer(path: string, vocabSize: number): Promise<Tokenizer> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (cause) {
    throw new DataError(`cannot read tokenizer ${path}: ${(cause as Error).message}`, {
      hint: "check data.tokenizer (paths are relative to the spec file)",
      cause,
    });
  }
  return parseTokenizer(bytes, { vocabSize, name: path });
}

/** Parses tokenizer bytes: int32 max_token_length, then per id float32 score, int32 length, bytes. */
export function parseTokenizer(
  bytes: Uint8Array,
  options: { vocabSize: number; name?: string },
): Tokenizer {
  const { vocabSize } = options;
  const name = options.name ?? "tokenizer";
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const pieces: string[] = [];
  const scores = new Float32Array(vocabSize);
  let offset = 4;
  for (let id = 0; id < vocabSize; id++) {
    if (offset + 8 > bytes.byteLength) break;
    scores[id] = view.getFloat32(offset, true);
    const len = view.getInt32(offset + 4, true);
    offset += 8;
    if (len < 0 || offset + len > bytes.byteLength) break;
    // Like llama2.c's C strings, a piece ends at its first NUL byte.
    const raw = bytes.subarray(offset, offset + len);
    const nul = raw.indexOf(0);
    pieces.push(byteString(nul >= 0 ? raw.subarray(0, nul) : raw));
    offset += len;
  }
  if (pieces.length !== vocabSize || offset !== bytes.byteLength) {
    throw new DataError(
      `${name}: expected ${vocabSize} tokens filling the file exactly, read ${pieces.length} ` +
        `ending at byte ${offset} of ${bytes.byteLength}`,
      { hint: "use the tokenizer exported for this checkpoint (its vocab_size must match)" },
    );
  }
  return makeTokenizer(pieces, scores);
}

function makeTokenizer(pieces: string[], scores: Float32Array): Tokenizer {
  const vocabSize = pieces.length;
  // llama2.c looks pieces up in a sorted copy; with unique pieces a first-wins map is the same.
  const lookup = new Map<string, number>();
  pieces.forEach((p, id) => {
    if (!lookup.has(p)) lookup.set(p, id);
  });
  const bytePiece = /^<0x([0-9A-Fa-f]{2})>$/;

  function encode(text: string, options: { bos?: boolean; eos?: boolean } = {}): number[] {
    const ids: number[] = [];
    if (options.bos) ids.push(BOS_ID);
    const symbols: number[] = [];
    const bytes = new TextEncoder().encode(text);
    if (bytes.length > 0) {
      const space = lookup.get(" ");
      if (space === undefined) throw new DataError("tokenizer has no piece for a single space");
      symbols.push(space);
    }
    // Group bytes into UTF-8 characters (at most 4 bytes each, as run.c does).
    let start = 0;
    for (let i = 0; i < bytes.length; i++) {
      const next = bytes[i + 1];
      if (i + 1 < bytes.length && (next & 0xc0) === 0x80 && i + 1 - start < 4) continue;
      const char = bytes.subarray(start, i + 1);
      const id = lookup.get(byteString(char));
      if (id !== undefined) symbols.push(id);
      else for (const b of char) symbols.push(b + BYTE_OFFSET);
      start = i + 1;
    }
    ids.push(...mergePairs(symbols));
    if (options.eos) ids.push(EOS_ID);
    return ids;
  }

  // Repeatedly merges the adjacent pair whose concatenation has the highest score, the leftmost
  // one on ties: run.c's quadratic loop.
  function mergePairs(symbols: number[]): number[] {
    return mergeSymbols(symbols, (left, right) => {
      const merged = lookup.get(pieces[left] + pieces[right]);
      return merged === undefined ? undefined : { priority: scores[merged], merged };
    });
  }

  function decode(ids: ArrayLike<number>): string {
    const out: number[] = [];
    let prev = -1;
    for (let k = 0; k < ids.length; k++) {
      const token = ids[k];
      if (token < 0 || token >= vocabSize) {
        throw new DataError(`token id ${token} is outside the vocabulary (0..${vocabSize - 1})`);
      }
      if (token !== BOS_ID && token !== EOS_ID) {
        let piece = pieces[token];
        if (prev === BOS_ID && piece.startsWith(" ")) piece = piece.slice(1);
        const byte = bytePiece.exec(piece);
        if (byte) out.push(parseInt(byte[1], 16));
        else for (let i = 0; i < piece.length; i++) out.push(piece.charCodeAt(i));
      }
      prev = token;
    }
    return new TextDecoder().decode(new Uint8Array(out));
  }

  return {
    vocabSize,
    encode,
    decode,
    piece: (id: number) => pieces[id],
    score: (id: number) => scores[id],
  };
}

/**
 * Merges adjacent symbols until no pair merges: each time the pair of highest `priority` (the
 * leftmost on ties) becomes `merged`, done with a heap over a linked list. Shared by llama2.c's
 * score-ordered merges and Hugging Face BPE (priority = -rank).
 */
export function mergeSymbols(
  symbols: number[],
  pairMerge: (left: number, right: number) => { priority: number; merged: number } | undefined,
): number[] {
  const n = symbols.length;
  const id = Int32Array.from(symbols);
  const prev = new Int32Array(n).map((_, i) => i - 1);
  const next = new Int32Array(n).map((_, i) => (i + 1 < n ? i + 1 : -1));
  const alive = new Uint8Array(n).fill(1);
  const heap = new PairHeap();
  const push = (left: number) => {
    const right = next[left];
    if (right < 0) return;
    const m = pairMerge(id[left], id[right]);
    if (m !== undefined) {
      heap.push({
        score: m.priority,
        left,
        leftId: id[left],
        rightId: id[right],
        merged: m.merged,
      });
    }
  };
  for (let i = 0; i + 1 < n; i++) push(i);
  for (let top = heap.pop(); top !== undefined; top = heap.pop()) {
    const { left, leftId, rightId, merged } = top;
    const right = next[left];
    // Skip entries made stale by an earlier merge of either symbol.
    if (!alive[left] || right < 0 || id[left] !== leftId || id[right] !== rightId) continue;
    id[left] = merged;
    alive[right] = 0;
    next[left] = next[right];
    if (next[right] >= 0) prev[next[right]] = left;
    if (prev[left] >= 0) push(prev[left]);
    push(left);
  }
  const out: number[] = [];
  for (let i = n > 0 ? 0 : -1; i >= 0; i = next[i]) out.push(id[i]);
  return out;
}

interface PairEntry {
  score: number;
  /** Position of the left symbol (positions keep text order, so lower = further left). */
  left: number;
  leftId: number;
  rightId: number;
  merged: number;
}

/** Max-heap on score, then min on position. */
class PairHeap {
  #items: PairEntry[] = [];
  #before(a: PairEntry, b: PairEntry): boolean {
    return a.score > b.score || (a.score === b.score && a.left < b.left);
  }
  push(e: PairEntry): void {
    const items = this.#items;
    items.push(e);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#before(items[i], items[parent])) break;
      [items[i], items[parent]] = [items[parent], items[i]];
      i = parent;
    }
  }
  pop(): PairEntry | undefined {
    const items = this.#items;
    if (items.length === 0) return undefined;
    const top = items[0];
    const last = items.pop()!;
    if (items.length > 0) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let best = i;
        if (l < items.length && this.#before(items[l], items[best])) best = l;
        if (r < items.length && this.#before(items[r], items[best])) best = r;
        if (best === i) break;
        [items[i], items[best]] = [items[best], items[i]];
        i = best;
      }
    }
    return top;
  }
}
