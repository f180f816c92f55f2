// The dead-latent clock: training tokens since each latent last fired (state `since_fired`), which
// AuxK and the dead-latent statistics read. The tfjs reference update and the cpu engine's.
import * as tf from "@tensorflow/tfjs";
import type { KernelContext } from "../../engine/cpu/fast_kernel.ts";

/** Tokens since each latent last fired, reset where f [B, F] fired in this batch (reference). */
export function tickSinceFired(sinceFired: tf.Tensor, f: tf.Tensor2D): tf.Tensor {
  const fired = tf.greater(tf.max(f, 0), 0); // [F]
  return tf.where(fired, tf.zerosLike(sinceFired), tf.add(sinceFired, f.shape[0]));
}

/** The same on the cpu engine, from the step's active latents of a batch of `b` rows. */
export function tickDeadClock(ctx: KernelContext, b: number): void {
  const act = ctx.latents;
  const since = ctx.state.since_fired;
  const fired = new Uint8Array(ctx.f);
  for (let j = 0; j < act.n; j++) if (act.val[j] > 0) fired[act.col[j]] = 1;
  for (let i = 0; i < ctx.f; i++) since[i] = fired[i] ? 0 : since[i] + b;
}
