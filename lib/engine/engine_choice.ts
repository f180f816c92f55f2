// The record of which engine a run uses and why (kept in run.json), and its one-line description
// for the start of a run. No tfjs import, so command-line tasks can use it before tfjs loads.
import type { EngineName } from "./names.ts";
import type { GemmInfo } from "./cpu/gemm/select_gemm.ts";

/** Which engine a run uses and why, for run.json and the line a run prints at start. */
export interface EngineChoice {
  requested: EngineName;
  /** The engine that trains (`cpu`, `cuda`, `webgpu` or `reference`). */
  used: Exclude<EngineName, "auto">;
  /** Engine.backend of it (`cpu-openblas`, `webgpu`, `wasm`, ...). */
  backend: string;
  /** The GEMM under the CPU engine. */
  gemm?: GemmInfo;
  /** The WebGPU adapter, when on the webgpu engine or when auto looked at one. */
  adapter?: string;
  /** The CUDA device, when on the cuda engine (`NVIDIA H200 (sm_90; driver CUDA 13.0, ...)`). */
  device?: string;
  /** Precision of the dense products (`fp32`; `tf32` or `bf16` on the cuda engine when asked). */
  precision?: string;
  /** Why auto passed over the other engines, and what it measured (ms per step). */
  notes: string[];
}

/** `engine cpu (requested auto; ...)`: the line a run prints at start. */
export function describeEngine(choice: EngineChoice): string {
  const why = [`requested ${choice.requested}`, ...choice.notes].join("; ");
  let line = `engine ${choice.used} [${choice.backend}] (${why})`;
  if (choice.adapter) line += `, adapter ${choice.adapter}`;
  if (choice.device) line += `, device ${choice.device}`;
  return line;
}
