// The L0 controller: calibrates the sparsity coefficient lambda so that the running training L0
// reaches target_l0, then freezes it so the final SAE trains with a fixed lambda (DESIGN §5).
// Pure: the state is plain data, every update returns a new state.

export interface ControllerState {
  /** log of the current lambda. */
  logLambda: number;
  frozen: boolean;
  /** (step, lambda, l0) at every update, for run.json and reports. */
  trajectory: [number, number, number][];
}

export interface ControllerOptions {
  target: number;
  /** Change of log(lambda) per unit of log(L0 / target), per update. */
  gain: number;
  /** Step from which lambda is frozen. */
  freezeStep: number;
  /** Steps before the controller starts (lambda warmup). */
  startStep: number;
}

export function initController(lambda: number): ControllerState {
  return { logLambda: Math.log(lambda), frozen: false, trajectory: [] };
}

/**
 * One update from the mean training L0 since the previous update: log(lambda) moves by
 * gain * log(L0 / target), clamped to +-0.5 per update so one noisy reading cannot swing lambda by
 * more than a factor e^0.5. Raises lambda when L0 is above target, lowers it when below.
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
  const ratio = Math.log(Math.max(reading.l0, 1e-3) / options.target);
  const delta = Math.max(-0.5, Math.min(0.5, options.gain * ratio));
  return { logLambda: state.logLambda + delta, frozen: false, trajectory };
}

export function controllerLambda(state: ControllerState): number {
  return Math.exp(state.logLambda);
}
