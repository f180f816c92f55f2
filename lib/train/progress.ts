// Progress events a training run reports while it runs (used by the executor's live display).
// Types only.

export interface TrainProgress {
  runId: string;
  step: number;
  totalSteps: number;
  tokensPerS: number;
  /** Running training L0 and FVU since the previous report. */
  l0: number;
  fvu: number;
  lambda: number | null;
  elapsedS: number;
  /** Estimated seconds left at the current speed. */
  etaS: number;
}
