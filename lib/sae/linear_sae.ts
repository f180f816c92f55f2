// Pieces of a linear SAE (W_enc, b_enc, W_dec, b_dec) that architectures compose: initialisation,
// encoder input, decoding, the reconstruction loss, the export fold. Public: user architectures use them.
// Shapes: B batch, D d_model, F latents.
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../data/rng.ts";
import type { HostTensor, HostTensors, TensorMap } from "./types.ts";
import { matMul } from "./ste.ts";

/** W_dec [F, D] He-uniform (fan-in F), then every row scaled to unit norm (Gemma Scope §3.2). */
export function initDecoder(f: number, d: number, rng: Rng): HostTensor {
  const data = new Float32Array(f * d);
  const bound = Math.sqrt(6 / f);
  for (let i = 0; i < data.length; i++) data[i] = (2 * rng.uniform() - 1) * bound;
  for (let r = 0; r < f; r++) {
    let norm = 0;
    for (let c = 0; c < d; c++) norm += data[r * d + c] ** 2;
    const inv = 1 / Math.sqrt(norm || 1);
    for (let c = 0; c < d; c++) data[r * d + c] *= inv;
  }
  return { shape: [f, d], data };
}

/** Transpose of a 2-D host tensor. */
export function transposeHost(t: HostTensor): HostTensor {
  const [rows, cols] = t.shape;
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[c * rows + r] = t.data[r * cols + c];
  }
  return { shape: [cols, rows], data: out };
}

export function zerosHost(...shape: number[]): HostTensor {
  return { shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) };
}

export function fullHost(value: number, ...shape: number[]): HostTensor {
  return { shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(value) };
}

/** Squared L2 error summed over D, averaged over the batch: mean_b sum_d (x - xHat)^2. */
export function reconstructionLoss(x: tf.Tensor2D, xHat: tf.Tensor2D): tf.Scalar {
  return tf.mean(tf.sum(tf.square(tf.sub(x, xHat)), 1));
}

/** Encoder input: x - b_dec when the pre-encoder bias is on, else x. */
export function encoderInput(x: tf.Tensor2D, bDec: tf.Tensor, on: boolean): tf.Tensor2D {
  return on ? tf.sub(x, bDec) : x;
}

/**
 * Raw-unit encoder bias after folding: with x = x_raw / C, the encoder computes
 * (x_raw - C b_dec) W_enc / C + b_enc, so latents in raw units are C times larger and
 * b_enc' = C b_enc - C b_dec W_enc (b_dec term only with the pre-encoder bias).
 */
export function foldEncoderBias(
  bEnc: HostTensor,
  wEnc: HostTensor,
  bDec: HostTensor,
  options: { scale: number; preEncoderBias: boolean },
): HostTensor {
  const [d, f] = wEnc.shape;
  const out = new Float32Array(f);
  for (let j = 0; j < f; j++) {
    let acc = 0;
    if (options.preEncoderBias) {
      for (let i = 0; i < d; i++) acc += bDec.data[i] * wEnc.data[i * f + j];
    }
    out[j] = options.scale * (bEnc.data[j] - acc);
  }
  return { shape: [f], data: out };
}

export function scaleHost(t: HostTensor, s: number): HostTensor {
  return { shape: t.shape, data: t.data.map((v) => v * s) };
}

/** The usual parameters: W_dec He-uniform with unit rows, W_enc = W_dec^T, zero biases. */
export function initLinearSae(d: number, f: number, rng: Rng): HostTensors {
  const wDec = initDecoder(f, d, rng);
  return { W_enc: transposeHost(wDec), b_enc: zerosHost(f), W_dec: wDec, b_dec: zerosHost(d) };
}

/** x_hat = f W_dec + b_dec [B, D]. */
export function linearDecode(params: TensorMap, f: tf.Tensor2D): tf.Tensor2D {
  return tf.add(matMul(f, params.W_dec as tf.Tensor2D), params.b_dec) as tf.Tensor2D;
}

/** W_enc, b_enc, W_dec, b_dec in raw units (scale folded in, see foldEncoderBias). */
export function exportLinearSae(
  params: HostTensors,
  options: { scale: number; preEncoderBias: boolean },
): HostTensors {
  return {
    W_enc: params.W_enc,
    b_enc: foldEncoderBias(params.b_enc, params.W_enc, params.b_dec, options),
    W_dec: params.W_dec,
    b_dec: scaleHost(params.b_dec, options.scale),
  };
}
