// Packs token sequences of different lengths into one right-padded [B, T] batch. Right padding is
// exact under causal attention: real positions never attend to the padding that follows them.

/** Token ids of B sequences, row-major [B, T], each padded on the right to T = `length`. */
export interface TokenBatch {
  /** Row-major [batch, length] token ids (padding uses id 0). */
  ids: Int32Array;
  batch: number;
  length: number;
  /** Real (unpadded) length of each sequence. */
  lengths: number[];
}

/** Right-pads `sequences` to their longest length (or `length`, if given and larger). */
export function packSequences(
  sequences: ArrayLike<number>[],
  options: { length?: number } = {},
): TokenBatch {
  const length = Math.max(options.length ?? 1, ...sequences.map((s) => s.length));
  const ids = new Int32Array(sequences.length * length);
  sequences.forEach((s, b) => ids.set(Array.from(s), b * length));
  return { ids, batch: sequences.length, length, lengths: sequences.map((s) => s.length) };
}

/**
 * Splits `sequences` (in order) into consecutive groups of at most `maxTokens` padded tokens each
 * (a single sequence longer than that forms its own group).
 */
export function groupSequences<S extends ArrayLike<number>>(
  sequences: S[],
  options: { maxTokens: number },
): S[][] {
  const groups: S[][] = [];
  let group: S[] = [];
  let longest = 0;
  for (const s of sequences) {
    const nextLongest = Math.max(longest, s.length);
    if (group.length > 0 && nextLongest * (group.length + 1) > options.maxTokens) {
      groups.push(group);
      group = [];
      longest = 0;
    }
    group.push(s);
    longest = Math.max(longest, s.length);
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

/**
 * Flat indices (b * T + t) of the real (unpadded) positions of `batch`, in order, leaving out BOS
 * positions when `excludeBos`: the rows whose activations are harvested or spliced. Every sequence
 * starts with its single BOS (corpus.ts), so BOS is position 0, whatever the tokenizer's BOS id.
 */
export function activationRows(batch: TokenBatch, options: { excludeBos: boolean }): Int32Array {
  const rows: number[] = [];
  for (let b = 0; b < batch.batch; b++) {
    for (let t = 0; t < batch.lengths[b]; t++) {
      const i = b * batch.length + t;
      if (!(options.excludeBos && t === 0)) rows.push(i);
    }
  }
  return Int32Array.from(rows);
}

/** Rows `rows` of a row-major [N, D] array, as [rows.length, D]. */
export function gatherRows(
  data: Float32Array,
  rows: Int32Array,
  options: { dim: number },
): Float32Array {
  const D = options.dim;
  const out = new Float32Array(rows.length * D);
  rows.forEach((r, i) => out.set(data.subarray(r * D, (r + 1) * D), i * D));
  return out;
}
