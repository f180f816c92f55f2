// The names of the engines (where a training step runs) and of the tfjs backends the reference
// engine computes on, for the spec schema and the command line. No tfjs import.

/** `train.engine`: auto picks the fastest available engine for the run (lib/engine/create_engine.ts). */
export const ENGINES = ["auto", "cpu", "cuda", "webgpu", "reference"] as const;
export type EngineName = typeof ENGINES[number];

/** `train.backend`: the tfjs backend of the reference engine and of the LM forward pass. */
export const BACKENDS = ["auto", "cpu", "wasm", "webgpu", "tensorflow"] as const;
export type BackendName = typeof BACKENDS[number];
