// Chooses the compute path for a run: the tfjs reference engine on the active tfjs backend, or a
// fast path registered for that backend. The trainer calls only this.
import type { Architecture, InitResult } from "../sae/types.ts";
import type { Engine } from "./engine.ts";
import { TfjsEngine, type TfjsEngineOptions } from "./tfjs_engine.ts";

export interface CreateEngineOptions extends TfjsEngineOptions {
  /** Force the tfjs autodiff reference path even where a fast path exists. */
  reference?: boolean;
}

export function createEngine(
  arch: Architecture,
  init: InitResult,
  options: CreateEngineOptions,
): Engine {
  return new TfjsEngine(arch, init, options);
}
