// Paths of the shared real-data fixtures (../shared/fixtures from the repository root, never copied
// into the repository) and a loader that fails with a clear message when they are missing.
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { loadCheckpoint } from "../../lib/lm/checkpoint.ts";
import { createModel, type LlamaModel } from "../../lib/lm/model.ts";
import { loadTokenizer, type Tokenizer } from "../../lib/lm/tokenizer.ts";

/** Absolute path of /work/shared/fixtures, computed from this file's location. */
export const FIXTURES = new URL("../../../shared/fixtures/", import.meta.url).pathname;
export const CHECKPOINT = `${FIXTURES}stories260K/stories260K.bin`;
export const TOKENIZER = `${FIXTURES}stories260K/tok512.bin`;
export const TEXT = `${FIXTURES}text/`;

/** Throws a readable error naming the missing fixture and where to get it. */
export function requireFixture(path: string): string {
  try {
    Deno.statSync(path);
  } catch {
    throw new Error(
      `missing test fixture ${path}: the LM tests read ../shared/fixtures beside the repository ` +
        "(see its README.md; stories260K.bin and tok512.bin come from Karpathy's tinyllamas release)",
    );
  }
  return path;
}

/** The wasm backend (explicitly: tf backends are process-wide state). */
export async function useWasm(): Promise<void> {
  await tf.setBackend("wasm");
  await tf.ready();
}

/** stories260K and its tokenizer, tensors created on the wasm backend. */
export async function loadStories260k(): Promise<{ model: LlamaModel; tokenizer: Tokenizer }> {
  await useWasm();
  const checkpoint = await loadCheckpoint(requireFixture(CHECKPOINT));
  const tokenizer = await loadTokenizer(requireFixture(TOKENIZER), checkpoint.config.vocabSize);
  return { model: createModel(checkpoint), tokenizer };
}

/** Documents of a fixture text: split on <|endoftext|>, stripped, empty ones dropped. */
export async function fixtureDocuments(name: string): Promise<string[]> {
  const text = await Deno.readTextFile(requireFixture(`${TEXT}${name}`));
  return text.split("<|endoftext|>").map((d) => d.trim()).filter((d) => d.length > 0);
}
