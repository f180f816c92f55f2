// Pairs benchmark results by (arch, shape, L0 target) and computes our/peer throughput ratios:
// the fast CPU path against PyTorch, and against the tfjs reference engine.
import type { BenchResult } from "./measure_engine.ts";

export interface BenchRatio {
  arch: string;
  d_model: number;
  d_sae: number;
  batch: number;
  l0_target: number;
  ours: string;
  peer: string;
  ours_tokens_per_s: number;
  peer_tokens_per_s: number;
  /** ours / peer tokens per second (> 1: we are faster). */
  ratio: number;
}

function key(r: BenchResult): string {
  return `${r.arch}|${r.d_model}|${r.d_sae}|${r.batch}|${r.l0_target}`;
}

export function benchRatios(results: readonly BenchResult[]): BenchRatio[] {
  const out: BenchRatio[] = [];
  const byKey = new Map<string, BenchResult[]>();
  for (const r of results) byKey.set(key(r), [...(byKey.get(key(r)) ?? []), r]);
  for (const group of byKey.values()) {
    const ours = group.find((r) => r.engine === "fast");
    if (!ours) continue;
    for (const peer of group) {
      if (peer.engine === "fast") continue;
      out.push({
        arch: ours.arch,
        d_model: ours.d_model,
        d_sae: ours.d_sae,
        batch: ours.batch,
        l0_target: ours.l0_target,
        ours: ours.backend,
        peer: peer.engine === "torch" ? "torch" : `tfjs-${peer.backend}`,
        ours_tokens_per_s: ours.tokens_per_s,
        peer_tokens_per_s: peer.tokens_per_s,
        ratio: ours.tokens_per_s / peer.tokens_per_s,
      });
    }
  }
  return out;
}
