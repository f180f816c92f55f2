// The names of the engines (where a training step runs) and of the tfjs backends the reference
// engine computes on, for the spec schema and the command line. No tfjs import.

/** `train.engine`: auto picks the fastest available engine for the run (lib/engine/create_engine.ts). */
export const ENGINES = ["auto", "cpu", "cuda", "webgpu", "reference"] as const;
export type EngineName = typeof ENGINES[number];

/**
 * `train.precision`: the cuda engine's dense products in fp32 (the default, the same numbers as the
 * other engines within float32 tolerance), or on tensor cores in TF32 or BF16 (cuda engine only).
 */
export const PRECISIONS = ["fp32", "tf32", "bf16"] as const;
export type Precision = typeof PRECISIONS[number];

/** `train.backend`: the tfjs backend of the reference engine and of the LM forward pass. */
export const BACKENDS = ["auto", "cpu", "wasm", "webgpu", "tensorflow"] as const;
export type BackendName = typeof BACKENDS[number];
