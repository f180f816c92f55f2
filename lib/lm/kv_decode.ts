// Batched decoding with a key/value cache: B sequences advance one token per step in lockstep, each
// step runs the model's own pieces (model.ts `parts`) on B positions and attends over the keys and
// values cached from the earlier steps. Choosing the next token is sample.ts's.
//
// Shapes: B batch, D dim, K kv_dim, V vocab, nKV key/value heads, rep = nH / nKV, G = B * nKV head
// groups, hs head size, P positions so far.
import * as tf from "@tensorflow/tfjs";
import { DataError } from "../errors.ts";
import type { LlamaModel } from "./model.ts";

export interface KvDecoder {
  /** Positions fed so far (the next token goes to this position). */
  readonly position: number;
  /** Feeds one token per sequence (ids [B]) at the next position; returns its logits [B, V]. */
  step(ids: Int32Array): Promise<Float32Array>;
  /** Releases the cached keys and values. */
  dispose(): void;
}

/** A decoder for `batch` sequences over `model`, with an empty cache. */
export function createKvDecoder(model: LlamaModel, options: { batch: number }): KvDecoder {
  const { dim: D, nLayers, nHeads, nKvHeads, seqLen } = model.config;
  const B = options.batch;
  const hs = D / nHeads;
  const rep = nHeads / nKvHeads;
  const G = B * nKvHeads;
  const parts = model.parts;
  let keys: tf.Tensor3D[] = []; // per layer [G, hs, P]: stored transposed, so scores need no flag
  let values: tf.Tensor3D[] = []; // per layer [G, P, hs]
  let position = 0;

  async function step(ids: Int32Array): Promise<Float32Array> {
    if (ids.length !== B) throw new RangeError(`expected ${B} token ids, got ${ids.length}`);
    if (position >= seqLen) {
      throw new DataError(`cannot decode past the model's seq_len ${seqLen}`, {
        hint: "ask for sequences of at most seq_len tokens",
      });
    }
    const start = position;
    const nextKeys: tf.Tensor3D[] = [];
    const nextValues: tf.Tensor3D[] = [];
    const logits = tf.tidy(() => {
      let x = parts.embed(ids); // [B, D]
      for (let l = 0; l < nLayers; l++) {
        const { q, k, v } = parts.project(x, l, { B, T: 1, start });
        const kNew = tf.reshape(k, [G, hs, 1]) as tf.Tensor3D; // [G, hs, 1]
        const vNew = tf.reshape(v, [G, 1, hs]) as tf.Tensor3D; // [G, 1, hs]
        const kAll = tf.keep(start === 0 ? kNew : tf.concat([keys[l], kNew], 2)); // [G, hs, P]
        const vAll = tf.keep(start === 0 ? vNew : tf.concat([values[l], vNew], 1)); // [G, P, hs]
        nextKeys.push(kAll);
        nextValues.push(vAll);
        const qg = tf.reshape(q, [G, rep, hs]); // [G, rep, hs]: head h = kv head * rep + r
        const scores = tf.mul(tf.matMul(qg, kAll), 1 / Math.sqrt(hs)); // [G, rep, P]
        const mixed = tf.reshape(tf.matMul(tf.softmax(scores), vAll), [B, D]) as tf.Tensor2D;
        x = tf.add(x, parts.attnOut(mixed, l));
        x = tf.add(x, parts.mlp(x, l));
      }
      return parts.logits(x); // [B, V]
    });
    tf.dispose([...keys, ...values]);
    keys = nextKeys;
    values = nextValues;
    position++;
    try {
      return await logits.data() as Float32Array;
    } finally {
      logits.dispose();
    }
  }

  return {
    get position() {
      return position;
    },
    step,
    dispose() {
      tf.dispose([...keys, ...values]);
      keys = [];
      values = [];
    },
  };
}
