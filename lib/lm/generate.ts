// Greedy (argmax) decoding with a LlamaModel, recomputing the whole prefix each step (no KV cache):
// meant for checks and demos on small models, not for throughput.
import * as tf from "@tensorflow/tfjs";
import type { LlamaModel } from "./model.ts";
import { BOS_ID } from "./tokenizer.ts";
import { packSequences } from "./token_batch.ts";

/**
 * Extends `prompt` by up to `maxTokens` argmax tokens, stopping early (without appending it) at BOS,
 * which llama2.c's run.c treats as the end of a story. Returns only the new tokens.
 */
export async function greedyDecode(
  model: LlamaModel,
  prompt: number[],
  options: { maxTokens: number },
): Promise<number[]> {
  const tokens = [...prompt];
  const out: number[] = [];
  const limit = Math.min(options.maxTokens, model.config.seqLen - prompt.length);
  for (let step = 0; step < limit; step++) {
    const { logits } = model.forward(packSequences([tokens]));
    const next = tf.tidy(() =>
      tf.argMax(tf.squeeze(tf.slice(logits!, [0, tokens.length - 1, 0], [1, 1, -1])))
    ); // []
    const id = (await next.data())[0];
    tf.dispose([logits!, next]);
    if (id === BOS_ID) break;
    tokens.push(id);
    out.push(id);
  }
  return out;
}
