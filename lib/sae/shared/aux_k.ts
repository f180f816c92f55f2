// AuxK (Gao et al. 2024), shared by the TopK family and JumpReLU's recipe: reconstruct the
// residual of the step from the top k_aux ReLU pre-activations of dead latents (no activation in
// the last `dead_tokens` training tokens), so dead latents get a gradient. The settings, the tfjs
// reference loss and the cpu engine's term; the webgpu engine's term is `auxKWebGpuTerm`.
// Shapes: B batch, D d_model, F latents.
import * as tf from "@tensorflow/tfjs";
import type { KernelContext } from "../../engine/cpu/fast_kernel.ts";
import { activeList } from "../../engine/cpu/kernel_parts.ts";
import { auxKTerm } from "../../engine/cpu/auxk.ts";
import { matMul, stopGradient, topkSelect } from "../ste.ts";

/** The AuxK settings of an architecture's options (`auxKShape()`: k_aux, alpha, dead horizon). */
export interface AuxSettings {
  aux_alpha: number;
  aux_k: number | null;
  dead_tokens: number;
}

/** Number of dead latents AuxK may use: the configured value or min(512, D / 2). */
export function auxK(options: { aux_k: number | null }, d: number): number {
  return options.aux_k ?? Math.min(512, Math.max(1, Math.floor(d / 2)));
}

/**
 * AuxK term: alpha * ||e - e_hat||^2 / ||e - mean(e)||^2 (summed over the batch), where
 * e = x - x_hat (frozen) and e_hat decodes the top k_aux ReLU pre-activations among dead latents.
 * Zero when no latent is dead. With `scaleByDead`, alpha is multiplied by min(n_dead / k_aux, 1)
 * (SynthSAEBench's JumpReLU, Chanin & Garriga-Alonso 2026).
 */
export function auxKLoss(
  r: tf.Tensor2D,
  x: tf.Tensor2D,
  xHat: tf.Tensor2D,
  options: {
    wDec: tf.Tensor2D;
    sinceFired: tf.Tensor;
    deadTokens: number;
    k: number;
    alpha: number;
    scaleByDead?: boolean;
  },
): tf.Scalar {
  const dead = tf.cast(tf.greaterEqual(options.sinceFired, options.deadTokens), "float32"); // [F]
  const k = Math.min(options.k, r.shape[1]);
  if (k === 0 || options.alpha === 0) return tf.scalar(0);
  const fAux = topkSelect(tf.mul(r, dead) as tf.Tensor2D, k); // [B, F]
  const e = stopGradient(tf.sub(x, xHat)) as tf.Tensor2D; // [B, D]
  const eHat = matMul(fAux, options.wDec); // [B, D]
  const err = tf.sum(tf.square(tf.sub(e, eHat)));
  const spread = tf.add(tf.sum(tf.square(tf.sub(e, tf.mean(e, 0)))), 1e-12);
  const weight = options.scaleByDead
    ? tf.minimum(tf.div(tf.sum(dead), k), 1) // min(n_dead / k_aux, 1), 0 with no dead latent
    : tf.cast(tf.greater(tf.sum(dead), 0), "float32");
  return tf.mul(tf.mul(options.alpha, weight), tf.div(err, spread)) as tf.Scalar;
}

/** The cpu engine's AuxK term of a step with `opts` (unscaled by the number of dead latents). */
export function auxKKernelTerm(
  ctx: KernelContext,
  buffers: { x: Float32Array; xIn: Float32Array; pre: Float32Array; xHat: Float32Array; b: number },
  opts: AuxSettings,
): { values: number[]; backward(): void } {
  const aux = auxKTerm(ctx, buffers, {
    k: auxK(opts, ctx.d),
    alpha: opts.aux_alpha,
    deadTokens: opts.dead_tokens,
    list: activeList(ctx, "aux"),
  });
  return { values: [aux.value], backward: aux.backward };
}

/** The webgpu engine's AuxK term with `opts` at d_model `d`. */
export function auxKWebGpuTerm(opts: AuxSettings, d: number, scaleByDead: boolean) {
  return {
    kind: "auxk" as const,
    k: auxK(opts, d),
    alpha: opts.aux_alpha,
    deadTokens: opts.dead_tokens,
    scaleByDead,
  };
}
