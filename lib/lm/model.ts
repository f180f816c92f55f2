// A llama2.c Llama-2 transformer as tfjs ops, with read/replace hooks at every block's residual
// stream, attention output and MLP output. Uses whichever tfjs backend is active; never sets one.
// RoPE theta and scaling, RMSNorm epsilon and q/k/v biases come from the config (Hugging Face
// llama-family checkpoints); their q/k weights arrive already permuted to interleaved pairs.
//
// Shapes: B batch, T sequence length, N = B*T positions, D dim, K kv_dim, H hidden, V vocab,
// nH query heads, nKV key/value heads, rep = nH / nKV, G = B * nKV head groups, hs head size.
import * as tf from "@tensorflow/tfjs";
import { DataError } from "../errors.ts";
import type { LlamaCheckpoint, LlamaConfig } from "./checkpoint.ts";
import type { TokenBatch } from "./token_batch.ts";

/** Hook sites of a block (the names of `LmData.site` in the spec). */
export type LmSite = "resid_pre" | "attn_out" | "mlp_out" | "resid_post";

/** One hook point: a site of block `layer` (0-based). */
export interface HookPoint {
  site: LmSite;
  layer: number;
}

/** Replaces the activations [N, D] at a hook point by `fn`'s result [N, D] (called inside tidy). */
export interface HookReplacement extends HookPoint {
  fn: (activations: tf.Tensor2D) => tf.Tensor2D;
}

export interface ForwardOptions {
  /** Hook points whose activations [N, D] are returned in `captured` (before any replacement). */
  capture?: HookPoint[];
  /** Hook points whose activations are replaced before the model continues. */
  replace?: HookReplacement[];
  /** Compute the logits (default true); when false the pass stops after the last captured block. */
  logits?: boolean;
}

export interface ForwardResult {
  /** Next-token logits [B, T, V] (absent when `logits: false`); the caller disposes it. */
  logits?: tf.Tensor3D;
  /** Captured activations [N, D] keyed by `hookKey`; the caller disposes them. */
  captured: Record<string, tf.Tensor2D>;
}

export interface LlamaModel {
  readonly config: LlamaConfig;
  forward(batch: TokenBatch, options?: ForwardOptions): ForwardResult;
  /** The pieces `forward` is made of, for other passes over the same weights (kv_decode.ts). */
  readonly parts: ModelParts;
  /** Releases the weight tensors. */
  dispose(): void;
}

/** Key of a hook point in `ForwardResult.captured`, e.g. "resid_post.2". */
export function hookKey(point: HookPoint): string {
  return `${point.site}.${point.layer}`;
}

/**
 * The steps of the forward pass on N = B*T positions of B sequences that all start at position
 * `start` (tensors returned are the caller's, inside its tidy).
 */
export interface ModelParts {
  /** Token embeddings [N, D]. */
  embed(ids: Int32Array): tf.Tensor2D;
  /** Block `layer`'s queries [N, D], keys [N, K] (rotated for their positions) and values [N, K]. */
  project(
    x: tf.Tensor2D,
    layer: number,
    shape: { B: number; T: number; start: number },
  ): { q: tf.Tensor2D; k: tf.Tensor2D; v: tf.Tensor2D };
  /** Block `layer`'s attention output [N, D] from the heads' mixed values [N, D]. */
  attnOut(mixed: tf.Tensor2D, layer: number): tf.Tensor2D;
  /** Block `layer`'s MLP output [N, D] (its RMSNorm included). */
  mlp(x: tf.Tensor2D, layer: number): tf.Tensor2D;
  /** Next-token logits [N, V] from the last residual stream [N, D]. */
  logits(x: tf.Tensor2D): tf.Tensor2D;
}

const RMS_EPS = 1e-5;
const MASKED = -1e9;

// Type aliases (not interfaces) so that tf.tidy accepts them as tensor containers.
type Layer = {
  rmsAtt: tf.Tensor1D; // [D]
  wqT: tf.Tensor2D; // [D, D]
  wkT: tf.Tensor2D; // [D, K]
  wvT: tf.Tensor2D; // [D, K]
  woT: tf.Tensor2D; // [D, D]
  rmsFfn: tf.Tensor1D; // [D]
  w1T: tf.Tensor2D; // [D, H]
  w2T: tf.Tensor2D; // [H, D]
  w3T: tf.Tensor2D; // [D, H]
  bq?: tf.Tensor1D; // [D]
  bk?: tf.Tensor1D; // [K]
  bv?: tf.Tensor1D; // [K]
};

/** Builds the model's tensors from a checkpoint (transposed once, so matMuls need no flags). */
export function createModel(checkpoint: LlamaCheckpoint): LlamaModel {
  const { config, weights: w } = checkpoint;
  const { dim: D, hiddenDim: H, nLayers, nHeads, nKvHeads, vocabSize: V, seqLen } = config;
  const hs = D / nHeads;
  const K = (D * nKvHeads) / nHeads;
  const eps = config.rmsNormEps ?? RMS_EPS;

  const tensors = tf.tidy(() => {
    // A weight stored [out, in] as its transpose [in, out], materialised once.
    const t = (data: Float32Array, layer: number, out: number, inp: number) =>
      tf.tensor2d(data.subarray(layer * out * inp, (layer + 1) * out * inp), [out, inp]).transpose()
        .clone() as tf.Tensor2D;
    const vec = (data: Float32Array, layer: number, n = D) =>
      tf.tensor1d(data.subarray(layer * n, (layer + 1) * n));
    const layers: Layer[] = [];
    for (let l = 0; l < nLayers; l++) {
      layers.push({
        rmsAtt: vec(w.rmsAtt, l),
        wqT: t(w.wq, l, D, D),
        wkT: t(w.wk, l, K, D),
        wvT: t(w.wv, l, K, D),
        woT: t(w.wo, l, D, D),
        rmsFfn: vec(w.rmsFfn, l),
        w1T: t(w.w1, l, H, D),
        w2T: t(w.w2, l, D, H),
        w3T: t(w.w3, l, H, D),
        ...(w.bq && { bq: vec(w.bq, l) }),
        ...(w.bk && { bk: vec(w.bk, l, K) }),
        ...(w.bv && { bv: vec(w.bv, l, K) }),
      });
    }
    const rope = ropeTables(seqLen, D, hs, config);
    return {
      layers,
      embedding: tf.tensor2d(w.tokenEmbedding, [V, D]), // [V, D]
      rmsFinal: tf.tensor1d(w.rmsFinal), // [D]
      classifierT: t(w.classifier, 0, V, D), // [D, V]
      cos: tf.tensor2d(rope.cos, [seqLen, D]), // [seqLen, D]
      sin: tf.tensor2d(rope.sin, [seqLen, D]), // [seqLen, D]
      rotateQ: tf.tensor2d(pairRotation(D), [D, D]), // [D, D]
      rotateK: tf.tensor2d(pairRotation(K), [K, K]), // [K, K]
    };
  });

  function rmsNorm(x: tf.Tensor2D, weight: tf.Tensor1D): tf.Tensor2D {
    const ms = tf.mean(tf.square(x), -1, true); // [N, 1]
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, eps))), weight);
  }

  // Rotary embedding on interleaved pairs: x * cos + rotate(x) * sin, rotate(x)_(2i, 2i+1) =
  // (-x_(2i+1), x_2i); the rotation is an exact +-1 permutation matMul. x: [N, width], positions
  // start..start+T-1.
  function rope(x: tf.Tensor2D, B: number, T: number, rotate: tf.Tensor2D, start = 0): tf.Tensor2D {
    const width = x.shape[1];
    const cos = tf.slice(tensors.cos, [start, 0], [T, width]); // [T, width] (head pattern repeats)
    const sin = tf.slice(tensors.sin, [start, 0], [T, width]); // [T, width]
    const x3 = tf.reshape(x, [B, T, width]);
    const rotated = tf.reshape(tf.matMul(x, rotate), [B, T, width]);
    return tf.reshape(tf.add(tf.mul(x3, cos), tf.mul(rotated, sin)), [B * T, width]);
  }

  // Query heads are grouped by the key/value head they share (head h = g * rep + r), so each of
  // the B * nKV score matrices is one 2D matMul [rep*T, hs] x [hs, T]: on wasm, G 2D matMuls are
  // 5-10x faster than one BatchMatMul at these shapes (measured at [40, 457, 8] x [40, 8, 457]).
  // x W^T + b, the bias only where the checkpoint has one. x: [N, in].
  function linear(x: tf.Tensor2D, wT: tf.Tensor2D, b?: tf.Tensor1D): tf.Tensor2D {
    const y: tf.Tensor2D = tf.matMul(x, wT);
    return b ? tf.add(y, b) : y;
  }

  function project(x: tf.Tensor2D, l: number, shape: { B: number; T: number; start: number }) {
    const { B, T, start } = shape;
    const layer = tensors.layers[l];
    const xn = rmsNorm(x, layer.rmsAtt); // [N, D]
    const q = rope(linear(xn, layer.wqT, layer.bq), B, T, tensors.rotateQ, start); // [N, D]
    const k = rope(linear(xn, layer.wkT, layer.bk), B, T, tensors.rotateK, start); // [N, K]
    const v = linear(xn, layer.wvT, layer.bv); // [N, K]
    return { q, k, v };
  }

  function attention(x: tf.Tensor2D, l: number, B: number, T: number): tf.Tensor2D {
    const rep = nHeads / nKvHeads;
    const G = B * nKvHeads;
    const { q, k, v } = project(x, l, { B, T, start: 0 });
    const qg = tf.reshape(
      tf.transpose(tf.reshape(q, [B, T, nKvHeads, rep, hs]), [0, 2, 3, 1, 4]),
      [G, rep * T, hs],
    ); // [G, rep*T, hs]
    const kT = tf.reshape(tf.transpose(tf.reshape(k, [B, T, nKvHeads, hs]), [0, 2, 3, 1]), [
      G,
      hs,
      T,
    ]); // [G, hs, T]
    const vg = tf.reshape(tf.transpose(tf.reshape(v, [B, T, nKvHeads, hs]), [0, 2, 1, 3]), [
      G,
      T,
      hs,
    ]); // [G, T, hs]
    // One group at a time, so the [rep*T, T] score matrices are never stacked or unstacked.
    const mask = causalMask(T, rep); // [rep*T, T]
    const qs = tf.unstack(qg) as tf.Tensor2D[];
    const ks = tf.unstack(kT) as tf.Tensor2D[];
    const vs = tf.unstack(vg) as tf.Tensor2D[];
    const mixed = tf.stack(qs.map((qi, g) => {
      const scores = tf.add(tf.mul(tf.matMul(qi, ks[g]), 1 / Math.sqrt(hs)), mask); // [rep*T, T]
      return tf.matMul(tf.softmax(scores), vs[g]); // [rep*T, hs]
    })); // [G, rep*T, hs]
    const merged = tf.reshape(
      tf.transpose(tf.reshape(mixed, [B, nHeads, T, hs]), [0, 2, 1, 3]),
      [B * T, D],
    ); // [N, D]
    return tf.matMul(merged, tensors.layers[l].woT); // [N, D]
  }

  function mlp(x: tf.Tensor2D, l: number): tf.Tensor2D {
    const layer = tensors.layers[l];
    const xn = rmsNorm(x, layer.rmsFfn); // [N, D]
    const gate = tf.matMul(xn, layer.w1T); // [N, H]
    const up = tf.matMul(xn, layer.w3T); // [N, H]
    return tf.matMul(tf.mul(tf.mul(gate, tf.sigmoid(gate)), up), layer.w2T); // [N, D]
  }

  function embed(ids: Int32Array): tf.Tensor2D {
    return tf.gather(tensors.embedding, tf.tensor1d(ids, "int32")) as tf.Tensor2D; // [N, D]
  }

  function finalLogits(x: tf.Tensor2D): tf.Tensor2D {
    return tf.matMul(rmsNorm(x, tensors.rmsFinal), tensors.classifierT); // [N, V]
  }

  function forward(batch: TokenBatch, options: ForwardOptions = {}): ForwardResult {
    const { batch: B, length: T } = batch;
    const capture = options.capture ?? [];
    const replace = options.replace ?? [];
    for (const p of [...capture, ...replace]) checkHookPoint(p, nLayers);
    if (T > seqLen) {
      throw new DataError(`sequence length ${T} exceeds the model's seq_len ${seqLen}`, {
        hint: "lower data.context to at most the checkpoint's seq_len",
      });
    }
    const wantLogits = options.logits ?? true;
    const lastLayer = wantLogits ? nLayers - 1 : Math.max(-1, ...capture.map((p) => p.layer));
    return tf.tidy(() => {
      const captured: Record<string, tf.Tensor2D> = {};
      // Captures, then replaces, the activations at one hook point.
      const hook = (site: LmSite, layer: number, act: tf.Tensor2D): tf.Tensor2D => {
        const key = hookKey({ site, layer });
        if (capture.some((p) => hookKey(p) === key)) captured[key] = act;
        for (const r of replace) {
          if (hookKey(r) === key) act = checkReplacement(r.fn(act), act, key);
        }
        return act;
      };
      let x = embed(batch.ids); // [N, D]
      for (let l = 0; l <= lastLayer; l++) {
        x = hook("resid_pre", l, x);
        x = tf.add(x, hook("attn_out", l, attention(x, l, B, T)));
        x = tf.add(x, hook("mlp_out", l, mlp(x, l)));
        x = hook("resid_post", l, x);
      }
      if (!wantLogits) return { captured };
      const logits = finalLogits(x); // [N, V]
      return { logits: tf.reshape(logits, [B, T, V]) as tf.Tensor3D, captured };
    });
  }

  return {
    config,
    forward,
    parts: {
      embed,
      project,
      attnOut: (mixed, l) => tf.matMul(mixed, tensors.layers[l].woT),
      mlp,
      logits: finalLogits,
    },
    dispose: () => tf.dispose(tensors),
  };
}

function checkHookPoint(p: HookPoint, nLayers: number): void {
  if (!Number.isInteger(p.layer) || p.layer < 0 || p.layer >= nLayers) {
    throw new DataError(`hook layer ${p.layer} is outside the model's layers 0..${nLayers - 1}`, {
      hint: `set data.layer to an integer from 0 to ${nLayers - 1}`,
    });
  }
}

function checkReplacement(next: tf.Tensor2D, prev: tf.Tensor2D, key: string): tf.Tensor2D {
  if (next.shape[0] !== prev.shape[0] || next.shape[1] !== prev.shape[1]) {
    throw new DataError(
      `replacement at ${key} has shape [${next.shape}], expected [${prev.shape}]`,
    );
  }
  return next.dtype === "float32" ? next : tf.cast(next, "float32");
}

/**
 * Additive causal mask [rep*T, T] for `rep` stacked blocks of T queries: 0 where key <= query, a
 * large negative number elsewhere.
 */
function causalMask(T: number, rep: number): tf.Tensor2D {
  const mask = new Float32Array(rep * T * T);
  for (let i = 0; i < rep * T; i++) mask.fill(MASKED, i * T + (i % T) + 1, (i + 1) * T);
  return tf.tensor2d(mask, [rep * T, T]);
}

/**
 * cos/sin tables [seqLen, D]: column j uses frequency theta^(-(j - j mod 2) mod hs / hs) (theta
 * 10000 unless the config says otherwise), then the config's scaling.
 */
function ropeTables(
  seqLen: number,
  D: number,
  hs: number,
  config: Pick<LlamaConfig, "ropeTheta" | "ropeScaling">,
): { cos: Float32Array; sin: Float32Array } {
  const theta = config.ropeTheta ?? 10000;
  const cos = new Float32Array(seqLen * D);
  const sin = new Float32Array(seqLen * D);
  for (let pos = 0; pos < seqLen; pos++) {
    for (let j = 0; j < D; j += 2) {
      // As run.c: the frequency and angle are single-precision.
      const base = Math.fround(1 / Math.fround(Math.pow(theta, Math.fround((j % hs) / hs))));
      const freq = config.ropeScaling
        ? Math.fround(scaleFrequency(base, config.ropeScaling))
        : base;
      const angle = Math.fround(pos * freq);
      cos[pos * D + j] = cos[pos * D + j + 1] = Math.cos(angle);
      sin[pos * D + j] = sin[pos * D + j + 1] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

/**
 * One RoPE frequency under the config's scaling: "linear" divides by the factor; "llama3" (as
 * transformers' _compute_llama3_parameters) divides low frequencies (wavelength above
 * original_max_position_embeddings / low_freq_factor) by the factor, keeps high ones (wavelength
 * below original / high_freq_factor) and blends linearly in 1 / wavelength between them.
 */
function scaleFrequency(freq: number, scaling: NonNullable<LlamaConfig["ropeScaling"]>): number {
  if (scaling.type === "linear") return freq / scaling.factor;
  const { factor, lowFreqFactor: low, highFreqFactor: high } = scaling;
  const old = scaling.originalMaxPositionEmbeddings;
  const wavelen = (2 * Math.PI) / freq;
  if (wavelen < old / high) return freq;
  if (wavelen > old / low) return freq / factor;
  const smooth = (old / wavelen - low) / (high - low);
  return (1 - smooth) * (freq / factor) + smooth * freq;
}

/** Matrix P [n, n] with (x P)_(2i) = -x_(2i+1) and (x P)_(2i+1) = x_(2i). */
function pairRotation(n: number): Float32Array {
  const p = new Float32Array(n * n);
  for (let i = 0; i < n; i += 2) {
    p[(i + 1) * n + i] = -1; // row = input index, column = output index
    p[i * n + i + 1] = 1;
  }
  return p;
}
