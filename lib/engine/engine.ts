// The Engine interface: what the trainer needs from a compute path (one training step, stats,
// encoding, snapshots). The tfjs autodiff engine is the reference; every fast path implements the
// same interface and is tested against it. Types only.
import type { HostTensors } from "./types.ts";

export interface StepHyper {
  /** Base learning rate of this step (per-parameter multipliers are the architecture's). */
  lr: number;
  /** Sparsity coefficient of this step (ignored by topk/batchtopk). */
  lambda: number;
}

/** Means over the steps since the previous `readStats()`. */
export interface StepStats {
  steps: number;
  loss: number;
  terms: Record<string, number>;
  /** Mean active latents per token. */
  l0: number;
  /** Training-batch FVU: sum of squared errors / sum of squared deviations from each batch mean. */
  fvu: number;
  /** Names of parameters or state with a non-finite value at read time (empty when healthy). */
  nonFinite: string[];
  /**
   * Mean over the steps of the fraction of pre-activation entries inside the threshold STE window
   * (|pi - theta| < eps / 2: the entries that give the thresholds gradient); absent for
   * architectures without one.
   */
  steWindow?: number;
  /**
   * Fraction of latents that have not fired for the architecture's dead_tokens training tokens, at
   * read time; absent for architectures without a dead-latent clock.
   */
  deadFrac?: number;
}

export interface OptimizerSnapshot {
  /** Adam steps taken. */
  t: number;
  m: HostTensors;
  v: HostTensors;
}

export interface EngineSnapshot {
  params: HostTensors;
  state: HostTensors;
  optimizer: OptimizerSnapshot;
}

export interface Engine {
  /** Backend the engine computes on (`wasm`, `cpu`, `webgpu`, `tensorflow`, `fast-cpu`...). */
  readonly backend: string;
  /** One training step on a normalised batch, row-major [batch, d_model]. No device read. */
  step(x: Float32Array, hyper: StepHyper): void;
  /**
   * Resolves once at most a few submitted steps are still running on the device (engines that
   * queue work; absent on the others). The trainer awaits it after every step, so the queue never
   * runs minutes ahead of the host and a stop signal is acted on within a few steps' time. Waiting
   * on a step submitted several steps ago costs nothing once it has finished.
   */
  settle?(): Promise<void>;
  // The three reads below may return a Promise: a GPU can only be read back asynchronously
  // (WebGPU has no synchronous readback under Deno). Callers always `await` them.
  /** Reads and resets the accumulated statistics (the only device read of the training loop). */
  readStats(): StepStats | Promise<StepStats>;
  /** Inference latents [n, F] and reconstruction [n, D] of normalised inputs. */
  encode(
    x: Float32Array,
    n: number,
  ): { f: Float32Array; xHat: Float32Array } | Promise<{ f: Float32Array; xHat: Float32Array }>;
  snapshot(): EngineSnapshot | Promise<EngineSnapshot>;
  restore(snapshot: EngineSnapshot): void;
  dispose(): void;
}
