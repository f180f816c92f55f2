// metrics.jsonl bookkeeping for the trainer: means of the stats read since the last line, and
// trimming lines written after the checkpoint a resumed run restarts from.
import type { MetricsLine } from "../store/records.ts";
import { writeFileAtomic } from "../store/atomic.ts";
import type { StepStats } from "../engine/engine.ts";

/** Accumulates StepStats readings into step-weighted means for one metrics line. */
export class MetricsWindow {
  #steps = 0;
  #loss = 0;
  #l0 = 0;
  #fvu = 0;
  #terms: Record<string, number> = {};
  #ste = 0;
  #steSteps = 0;
  #deadFrac: number | undefined;

  add(s: StepStats): void {
    if (s.steWindow !== undefined) {
      this.#ste += s.steWindow * s.steps;
      this.#steSteps += s.steps;
    }
    if (s.deadFrac !== undefined) this.#deadFrac = s.deadFrac; // a state: the latest reading
    this.#steps += s.steps;
    this.#loss += s.loss * s.steps;
    this.#l0 += s.l0 * s.steps;
    this.#fvu += s.fvu * s.steps;
    for (const [k, v] of Object.entries(s.terms)) {
      this.#terms[k] = (this.#terms[k] ?? 0) + v * s.steps;
    }
  }

  mean(): {
    loss: number;
    l0: number;
    fvu: number;
    losses: Record<string, number>;
    health: Pick<MetricsLine, "ste_window_frac" | "dead_frac">;
  } {
    const n = Math.max(1, this.#steps);
    const losses = Object.fromEntries(Object.entries(this.#terms).map(([k, v]) => [k, v / n]));
    const health: Pick<MetricsLine, "ste_window_frac" | "dead_frac"> = {};
    if (this.#steSteps > 0) health.ste_window_frac = this.#ste / this.#steSteps;
    if (this.#deadFrac !== undefined) health.dead_frac = this.#deadFrac;
    return { loss: this.#loss / n, l0: this.#l0 / n, fvu: this.#fvu / n, losses, health };
  }
}

/**
 * Keeps only metrics lines up to `step` (lines written after the last checkpoint are redone);
 * returns how many lines it dropped.
 */
export async function truncateMetrics(path: string, step: number): Promise<number> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch {
    return 0;
  }
  const kept = text.split("\n").filter((line) => {
    if (!line.trim()) return false;
    try {
      return (JSON.parse(line) as MetricsLine).step <= step;
    } catch {
      return false;
    }
  });
  await writeFileAtomic(path, kept.map((l) => l + "\n").join(""));
  return text.split("\n").filter((line) => line.trim()).length - kept.length;
}
