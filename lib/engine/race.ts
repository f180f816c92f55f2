// Times candidate engines on a run's shape and names the fastest: how `train.engine: auto`
// decides by measured speed rather than by what is installed. Each candidate trains a few steps
// on a random batch from a copy of the run's initial state (the run's own engine starts afresh),
// ending with one statistics read so that a GPU's queued work is counted.
// Shapes: B batch, D d_model.
import type { Engine, StepHyper } from "./engine.ts";
import { Rng } from "../data/rng.ts";

export interface RaceResult {
  winner: string;
  /** Mean ms per step of each candidate (Infinity when it failed to start or to step). */
  ms: Record<string, number>;
  /** `webgpu 12.3, cpu 456.7` for run.json. */
  describe: string;
}

export async function raceEngines(
  candidates: Record<string, () => Promise<Engine>>,
  options: {
    batch: number;
    d: number;
    hyper: StepHyper;
    steps?: number;
    /** Milliseconds now (tests inject a clock). */
    now?: () => number;
  },
): Promise<RaceResult> {
  const steps = options.steps ?? 3;
  const now = options.now ?? (() => performance.now());
  const x = new Float32Array(options.batch * options.d);
  new Rng(7, 0x7ace).fillNormal(x, 1 / Math.sqrt(options.d));
  const ms: Record<string, number> = {};
  for (const [name, make] of Object.entries(candidates)) {
    let engine: Engine | undefined;
    try {
      engine = await make();
      engine.step(x, options.hyper); // first step: pipelines compiled, buffers touched
      await engine.readStats();
      const t0 = now();
      for (let i = 0; i < steps; i++) engine.step(x, options.hyper);
      await engine.readStats();
      ms[name] = (now() - t0) / steps;
    } catch {
      ms[name] = Infinity;
    } finally {
      engine?.dispose();
    }
  }
  const winner = Object.keys(ms).reduce((a, b) => (ms[b] < ms[a] ? b : a));
  const describe = Object.entries(ms).map(([n, v]) => `${n} ${v.toFixed(1)}`).join(", ");
  return { winner, ms, describe };
}
