// What an engine needs of an architecture: its training layout, its tfjs reference maths and its
// kernels per engine (each engine owns the type of its kernel). Types only; lib/sae implements it.
import type { ReferenceMaths, TrainingLayout } from "./types.ts";
import type { FastKernel } from "./cpu/fast_kernel.ts";
import type { WebGpuKernel } from "./webgpu/kernel.ts";

/**
 * The kernels an architecture supplies per engine (the reference engine needs none: it
 * differentiates ReferenceMaths). An engine without its kernel cannot train the architecture.
 */
export interface EngineKernels {
  /** The CPU engine's forward + backward on host buffers (lib/engine/cpu/fast_kernel.ts). */
  readonly cpu?: FastKernel;
  /** The webgpu engine's step description, built into WGSL kernels (lib/engine/webgpu/kernel.ts). */
  readonly webgpu?: WebGpuKernel;
}

/** Everything an engine needs of an architecture: layout, reference maths, kernels per engine. */
export interface EngineArchitecture extends TrainingLayout, ReferenceMaths {
  /** Absent for an architecture that trains on the reference engine only. */
  readonly kernels?: EngineKernels;
}
