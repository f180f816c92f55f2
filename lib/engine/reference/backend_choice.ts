// The record of which tfjs backend a run uses (kept in run.json) and its one-line description for
// the start of a run. No tfjs import, so command-line tasks can use it before tfjs loads.
import type { BackendName } from "../names.ts";

export interface BackendChoice {
  requested: BackendName;
  /** tfjs backend name actually active (`wasm`, `cpu`, `webgpu`, `tensorflow`). */
  used: string;
  /** GPU adapter description, when on WebGPU. */
  adapter?: string;
  /** True when the WebGPU adapter is a software (fallback) implementation. */
  fallback?: boolean;
  /** Why `auto` did not pick something faster, or which package was loaded (for run.json). */
  notes: string[];
}

/**
 * One line such as `backend webgpu (requested auto), adapter NVIDIA H100, hardware` or
 * `backend wasm (requested auto; tensorflow: not installed; webgpu: no WebGPU adapter ...)`.
 */
export function describeBackend(choice: BackendChoice): string {
  const why = [`requested ${choice.requested}`, ...choice.notes].join("; ");
  let line = `backend ${choice.used} (${why})`;
  if (choice.adapter !== undefined) {
    line += `, adapter ${choice.adapter}, ${choice.fallback ? "software fallback" : "hardware"}`;
  }
  return line;
}
