// Turns the text files of an `lm` data spec into token sequences: documents split on
// <|endoftext|>, stripped, encoded with BOS and truncated to the context; the held-out sequences
// are taken first and their documents are never used for training. A part may instead be given as
// sequences sampled from the model (sampled_corpus.ts), taken whole and in order.
import { DataError } from "../errors.ts";
import type { Tokenizer } from "./tokenizer.ts";

/** Separator of documents in text files (TinyStories' convention). */
export const DOCUMENT_SEPARATOR = "<|endoftext|>";

/** Documents of a text: split on the separator, surrounding whitespace stripped, empties dropped. */
export function splitDocuments(text: string): string[] {
  return text.split(DOCUMENT_SEPARATOR).map((d) => d.trim()).filter((d) => d.length > 0);
}

export interface CorpusOptions {
  /** Tokens per sequence (BOS included); longer documents are truncated. */
  context: number;
  /** Activation vectors wanted from each part. */
  trainTokens: number;
  heldoutTokens: number;
  /** Held-out sequences needed for cross-entropy evaluation (taken from the held-out part too). */
  evalSequences: number;
  /** BOS positions give no activation vector. */
  excludeBos: boolean;
}

export interface LmCorpus {
  /** Training sequences, each starting with BOS; together >= trainTokens vectors. */
  train: Int32Array[];
  /** Held-out sequences; together >= heldoutTokens vectors and at least evalSequences of them. */
  heldout: Int32Array[];
  /** Training documents skipped because they are held-out documents. */
  skippedOverlap: number;
}

/** A part's text: contents of text files, or token sequences sampled from the model. */
export type CorpusText = string[] | { sampled: Int32Array[] };

/**
 * Builds the sequences of both parts. Held-out: documents of `heldoutTexts` in order until both
 * `heldoutTokens` vectors and `evalSequences` sequences are reached. Train: documents of
 * `trainTexts` in order, skipping any document identical to a held-out one, until `trainTokens`
 * vectors. So the same file may serve both parts: its first documents become held-out text.
 * Sampled sequences are compared by their tokens: one equal to a held-out sequence is skipped.
 */
export function buildCorpus(
  texts: { train: CorpusText; heldout: CorpusText },
  options: CorpusOptions & { tokenizer: Tokenizer },
): LmCorpus {
  const { tokenizer, context, excludeBos } = options;
  // Activation vectors of a sequence: all positions but the BOS at 0 (token_batch.ts); a BOS the
  // model samples inside a sequence is a position like any other.
  const vectors = (s: Int32Array) => s.length - (excludeBos ? 1 : 0);
  const encode = (doc: string) =>
    Int32Array.from(tokenizer.encode(doc, { bos: true }).slice(0, context));
  // Each item of a part: the key it is compared by (document text or tokens) and its sequence.
  function* items(text: CorpusText): Generator<{ key: string; seq: () => Int32Array }> {
    if (Array.isArray(text)) {
      for (const doc of text.flatMap(splitDocuments)) yield { key: doc, seq: () => encode(doc) };
    } else for (const s of text.sampled) yield { key: tokensKey(s), seq: () => s };
  }

  const heldout: Int32Array[] = [];
  const heldoutKeys = new Set<string>();
  let heldoutVectors = 0;
  for (const item of items(texts.heldout)) {
    if (heldoutVectors >= options.heldoutTokens && heldout.length >= options.evalSequences) break;
    const seq = item.seq();
    if (vectors(seq) <= 0) continue;
    heldout.push(seq);
    heldoutKeys.add(item.key).add(tokensKey(seq));
    heldoutVectors += vectors(seq);
  }

  const train: Int32Array[] = [];
  let trainVectors = 0;
  let skippedOverlap = 0;
  for (const item of items(texts.train)) {
    if (trainVectors >= options.trainTokens) break;
    if (heldoutKeys.has(item.key)) {
      skippedOverlap++;
      continue;
    }
    const seq = item.seq();
    if (vectors(seq) <= 0) continue;
    train.push(seq);
    trainVectors += vectors(seq);
  }

  const problems: string[] = [];
  if (heldoutVectors < options.heldoutTokens || heldout.length < options.evalSequences) {
    problems.push(
      `held-out text gives ${heldoutVectors} activation vectors in ${heldout.length} sequences, ` +
        `but data.heldout_tokens = ${options.heldoutTokens} and eval.lm_sequences = ` +
        `${options.evalSequences}`,
    );
  }
  if (trainVectors < options.trainTokens) {
    problems.push(
      `training text gives ${trainVectors} activation vectors (after setting aside ` +
        `${heldout.length} held-out documents), but data.train_tokens = ${options.trainTokens}`,
    );
  }
  if (problems.length > 0) {
    throw new DataError(`not enough text for the lm data source: ${problems.join("; ")}`, {
      hint: "lower data.train_tokens / data.heldout_tokens / eval.lm_sequences, raise " +
        "data.context, add text files, or sample more (sample.sequences / sample.length)",
    });
  }
  return { train, heldout, skippedOverlap };
}

/** Comparison key of a token sequence (distinct from any document text, which has no "\u0000"). */
function tokensKey(seq: Int32Array): string {
  return `\u0000${seq.join(",")}`;
}
