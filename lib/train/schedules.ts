// Learning-rate and lambda schedules: pure functions of the step (nanoGPT style), no state.

export interface LrSchedule {
  lr: number;
  warmupSteps: number;
  decay: "none" | "linear" | "cosine";
  /** Step at which decay begins. */
  decayStart: number;
  totalSteps: number;
}

/**
 * Learning rate at `step` (0-based): cosine warmup from 0.1 lr to lr over `warmupSteps` (Gemma
 * Scope), constant, then linear or cosine decay to 0 from `decayStart` to `totalSteps`.
 */
export function learningRate(step: number, s: LrSchedule): number {
  if (step < s.warmupSteps) {
    const t = step / s.warmupSteps;
    return s.lr * (0.1 + 0.9 * 0.5 * (1 - Math.cos(Math.PI * t)));
  }
  if (s.decay === "none" || step < s.decayStart) return s.lr;
  const span = Math.max(1, s.totalSteps - s.decayStart);
  const t = Math.min(1, (step - s.decayStart) / span);
  return s.decay === "linear" ? s.lr * (1 - t) : s.lr * 0.5 * (1 + Math.cos(Math.PI * t));
}

/** Multiplier of lambda at `step`: linear warmup from 0 to 1 over `warmupSteps`. */
export function lambdaWarmup(step: number, warmupSteps: number): number {
  return warmupSteps <= 0 ? 1 : Math.min(1, step / warmupSteps);
}
