// What `deno task bench` measures: architectures x shapes x L0 targets, the default and quick
// grids, shape parsing, and the dense-equivalent FLOP count used for effective GFLOP/s. Pure.
import { architectureNames, FEATURED_ARCHITECTURE, REFERENCE_BASELINE } from "../sae/registry.ts";
import { UsageError } from "../errors.ts";

export interface BenchShape {
  d_model: number;
  d_sae: number;
  batch: number;
}

export interface BenchConfig extends BenchShape {
  arch: string;
  l0_target: number;
}

/** Shapes of issue 6 (d_model x d_sae x batch). */
export const DEFAULT_SHAPES: readonly BenchShape[] = [
  { d_model: 64, d_sae: 512, batch: 4096 },
  { d_model: 256, d_sae: 2048, batch: 4096 },
  { d_model: 512, d_sae: 4096, batch: 4096 },
  { d_model: 768, d_sae: 16384, batch: 1024 },
];
export const DEFAULT_TARGET_L0S: readonly number[] = [32, 128];
/**
 * `--quick`: the default shapes, the featured architecture and its reference baseline (JumpReLU and
 * TopK, issue 15's yardsticks) at one L0 target.
 */
export const QUICK_ARCHS: readonly string[] = [FEATURED_ARCHITECTURE, REFERENCE_BASELINE];
export const QUICK_TARGET_L0S: readonly number[] = [32];

/** "512x4096x4096" -> { d_model: 512, d_sae: 4096, batch: 4096 }. */
export function parseShape(text: string): BenchShape {
  const m = /^(\d+)x(\d+)x(\d+)$/.exec(text.trim());
  if (!m) {
    throw new UsageError(
      `--shape expects d_model x d_sae x batch like 512x4096x4096, got "${text}"`,
    );
  }
  return { d_model: Number(m[1]), d_sae: Number(m[2]), batch: Number(m[3]) };
}

export function shapeLabel(s: BenchShape): string {
  return `${s.d_model}x${s.d_sae}x${s.batch}`;
}

export function parseArch(text: string): string {
  const name = text.trim();
  if (!architectureNames().includes(name)) {
    throw new UsageError(
      `--arch expects one of ${architectureNames().join(", ")}, got "${text}"`,
    );
  }
  return name;
}

/** Every (arch, shape, target L0) combination whose target is below d_sae, in a stable order. */
export function benchGrid(
  archs: readonly string[],
  options: { shapes: readonly BenchShape[]; targetL0s: readonly number[] },
): BenchConfig[] {
  const out: BenchConfig[] = [];
  for (const shape of options.shapes) {
    for (const targetL0 of options.targetL0s) {
      if (targetL0 >= shape.d_sae) continue;
      for (const arch of archs) out.push({ arch, ...shape, l0_target: targetL0 });
    }
  }
  return out;
}

/**
 * FLOPs of a dense training step: six GEMMs of 2 B D F each (encoder and decoder forward, and
 * the four backward products), the work a dense PyTorch step does. Effective GFLOP/s divides it
 * by the measured step time, whatever shortcuts the engine took.
 */
export function denseStepFlops(s: BenchShape): number {
  return 12 * s.batch * s.d_model * s.d_sae;
}
