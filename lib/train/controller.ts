// The L0 controller: calibrates the sparsity coefficient lambda so that the running training L0
// reaches target_l0, then freezes it so the final SAE trains with a fixed lambda (DESIGN §5).
// A proportional-derivative law on log scale: L0 answers lambda with a lag of ~100 steps, and the
// derivative term stops the controller from pushing on while L0 is already moving to the target.
// lambda never falls below start / max_drop (train.lambda.max_drop) against windup; the start is
// sae.<arch>.lambda, or with mode normalized the lambda derived from the data (lambda_scale.ts).
// Pure: the state is plain data, every update returns a new state.

export interface ControllerState {
  /** log of the current lambda. */
  logLambda: number;
  frozen: boolean;
  /** log(L0 / target) at the previous update (null before the first). */
  lastError: number | null;
  /** (step, lambda, l0) at every update, for run.json and reports. */
  trajectory: [number, number, number][];
  /**
   * log of the starting lambda, which the floor is relative to (absent in checkpoints written
   * before mode normalized: the start was sae.<arch>.lambda).
   */
  logStart?: number;
}

export interface ControllerOptions {
  /** The run's target L0 (`sae.target_l0`). */
  targetL0: number;
  /** Change of log(lambda) per unit of log(L0 / target), per update. */
  gain: number;
  /** Step from which lambda is frozen. */
  freezeStep: number;
  /** Steps before the controller starts (lambda warmup). */
  startStep: number;
  /** Derivative weight, in updates: the error's change per update counts this many times. */
  damping: number;
  /** Lowest log(lambda) (anti-windup; lambdaFloor()); unbounded when absent. */
  logFloor?: number;
}

export function initController(lambda: number): ControllerState {
  return {
    logLambda: Math.log(lambda),
    frozen: false,
    lastError: null,
    trajectory: [],
    logStart: Math.log(lambda),
  };
}

/**
 * One update from the mean training L0 since the previous update. With e = log(L0 / target),
 * log(lambda) moves by gain * (e + damping * (e - e_previous)), clamped to +-0.5 per update so one
 * noisy reading cannot swing lambda by more than a factor e^0.5. Raises lambda when L0 is above
 * target, lowers it when below, and brakes while L0 already approaches the target.
 */
export function updateController(
  state: ControllerState,
  reading: { step: number; l0: number },
  options: ControllerOptions,
): ControllerState {
  const lambda = Math.exp(state.logLambda);
  const trajectory = [
    ...state.trajectory,
    [reading.step, lambda, reading.l0] as [number, number, number],
  ];
  if (state.frozen || reading.step >= options.freezeStep) {
    return { ...state, frozen: true, trajectory };
  }
  if (reading.step < options.startStep || !Number.isFinite(reading.l0)) {
    return { ...state, trajectory };
  }
  const error = Math.log(Math.max(reading.l0, 1e-3) / options.targetL0);
  const change = state.lastError === null ? 0 : error - state.lastError;
  const delta = Math.max(-0.5, Math.min(0.5, options.gain * (error + options.damping * change)));
  const logLambda = Math.max(options.logFloor ?? -Infinity, state.logLambda + delta);
  return { ...state, logLambda, frozen: false, lastError: error, trajectory };
}

/**
 * The lowest log(lambda) for a starting lambda: log(start / maxDrop). Early in training L0 can fall
 * for reasons lambda does not control (a fresh decoder, thresholds moving); unbounded, lambda then
 * winds down by orders of magnitude and takes most of a short run to come back (quickstart
 * JumpReLU at lr 1e-3, target 24: lambda 1e-8, final L0 38). No ceiling: at a low learning rate
 * ReLU needs lambda hundreds of times its start to bring L0 down in time. Null: no floor.
 */
export function lambdaFloor(start: number, maxDrop: number | null): number | undefined {
  return maxDrop === null ? undefined : Math.log(start / maxDrop);
}

/** Whether lambda sits at its floor (within 1e-9 in log). */
export function atFloor(state: ControllerState, logFloor: number | undefined): boolean {
  return logFloor !== undefined && Math.abs(state.logLambda - logFloor) < 1e-9;
}

/**
 * The derivative weight in updates: `damping` when the spec fixes it, else horizon / (lr x
 * interval). L0 follows lambda through the parameters, which move about lr per Adam step, so its
 * lag in steps grows as 1 / lr: measured on the quickstart, a weight of 3 oscillates at lr 1e-3
 * and 10 at lr 3e-3, while 10 and 3 (horizon 0.1) hold both within 3% of the target.
 */
export function controllerDamping(
  train: { lr: number; lambda: { interval: number; horizon: number; damping: number | null } },
): number {
  return train.lambda.damping ?? train.lambda.horizon / (train.lr * train.lambda.interval);
}

/** What the controller of a `train.lambda` section runs with (mode controller or controller_v1). */
export interface ControllerSettings {
  gain: number;
  /** Derivative weight in updates. */
  damping: number;
  /** Fraction of training after which lambda is frozen. */
  freezeAt: number;
  /** Floor divisor of the starting lambda (null: no floor). */
  maxDrop: number | null;
}

/**
 * The settings of `train.lambda`: controller_v1 is the law before the derivative horizon and the
 * floor (damping 10 updates, gain 0.1, freeze at 0.7, no floor), kept to reproduce older runs;
 * controller reads the section and the architecture's controller_gain.
 */
export function controllerSettings(
  train: {
    lr: number;
    lambda: {
      mode: string;
      interval: number;
      horizon: number;
      damping: number | null;
      freeze_at: number;
      max_drop: number | null;
    };
  },
  gain: number,
): ControllerSettings {
  if (train.lambda.mode === "controller_v1") {
    return { gain: 0.1, damping: 10, freezeAt: 0.7, maxDrop: null };
  }
  return {
    gain,
    damping: controllerDamping(train),
    freezeAt: train.lambda.freeze_at,
    maxDrop: train.lambda.max_drop,
  };
}

export function controllerLambda(state: ControllerState): number {
  return Math.exp(state.logLambda);
}
