// The optimiser settings both engines apply at a step, computed once here: Adam's betas and bias
// corrections for step t, each parameter's learning rate (the architecture's multiplier), and the
// gradient-clipping factor. The element-wise update itself is each engine's (tensors or arrays).
import type { SaeConfig, TrainingLayout } from "./types.ts";

export interface AdamStep {
  beta1: number;
  beta2: number;
  /** Bias corrections 1 - beta^t. */
  c1: number;
  c2: number;
  /** Learning rate of a parameter at this step. */
  lrOf(param: string): number;
}

/** Adam's settings at step `t` (1-based) with base learning rate `lr`. */
export function adamStep(
  arch: TrainingLayout,
  options: { sae: SaeConfig; t: number; lr: number },
): AdamStep {
  const { sae, t, lr } = options;
  const [beta1, beta2] = arch.adamBetas(sae);
  return {
    beta1,
    beta2,
    c1: 1 - beta1 ** t,
    c2: 1 - beta2 ** t,
    lrOf: (param) => lr * (arch.lrScale?.(param, sae) ?? 1),
  };
}

/** Factor on every gradient so the global norm is at most `clip` (1 without clipping). */
export function clipFactor(globalNorm: number, clip: number | null): number {
  return clip === null ? 1 : Math.min(1, clip / (globalNorm + 1e-12));
}
