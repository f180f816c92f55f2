// Pairs benchmark results by (arch, shape, L0 target) and computes our/peer throughput ratios:
// each fast CPU row (system BLAS or portable GEMM) against PyTorch and the tfjs reference engine.
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
    for (const ours of group.filter((r) => r.engine === "fast")) {
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
  }
  return out;
}

/** 2 B D F FLOPs (the encoder product) in ms at `gflops`. */
function encoderMs(r: BenchResult, gflops: number): number {
  return (2 * r.batch * r.d_model * r.d_sae) / (gflops * 1e9) * 1000;
}

/**
 * Sets encoder_ratio (step time / encoder GEMM time at the machine's ceiling) on every row, and
 * encoder_ratio_own (against the ceiling of the row's own GEMM: system or portable) on fast rows.
 */
export function encoderRatios(
  results: BenchResult[],
  options: { ceiling: number | null; ceilings: Record<string, number | null> },
): void {
  for (const r of results) {
    r.encoder_ratio = options.ceiling ? r.ms_per_step / encoderMs(r, options.ceiling) : null;
    const own = r.engine !== "fast"
      ? null
      : r.backend.startsWith("cpu-wasm-simd")
      ? options.ceilings.portable
      : options.ceilings.system;
    r.encoder_ratio_own = own ? r.ms_per_step / encoderMs(r, own) : null;
  }
}
