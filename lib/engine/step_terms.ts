// What both GPU engines (webgpu/step_programs.ts in WGSL, cuda/step_plan.ts in CUDA C) read the
// same way off a step's loss terms: the expressions their statistics kernel sums, one per term in
// the architecture's termNames order, over the step's scalar slots `scal` (step_layout.ts) and
// `lambda`, written in the arithmetic both languages share, with float literals from `lit`; and
// the latent ranges of Matryoshka's groups. Pure.
import type { WebGpuStep } from "./webgpu/kernel.ts";
import { S } from "./step_layout.ts";

/** [recon, ...terms] of one step: the values the statistics row accumulates after the loss. */
export function termExpressions(
  step: WebGpuStep,
  options: { b: number; lit: (x: number) => string },
): string[] {
  const { b, lit } = options;
  const perRow = (slot: number) => `scal[${slot}] / ${lit(b)}`;
  const out = [perRow(S.sse)];
  for (const t of step.terms) {
    if (t.kind === "decoder_norm_l1" || t.kind === "gate_l1") out.push(`lambda * ${perRow(S.l1)}`);
    else if (t.kind === "pre_act") out.push(`${lit(t.alpha / b)} * scal[${S.preAct}]`);
    else if (t.kind === "auxk") out.push(`scal[${S.auxValue}]`);
    else if (t.kind === "tanh") out.push(`lambda * ${perRow(S.tanh)}`);
    else if (t.kind === "frozen_gate_recon") out.push(perRow(S.gateRecon));
    else if (t.kind === "prefix_recon") {
      t.widths.forEach((_, m) => out.push(perRow(S.prefixSse + m)));
    } else if (t.penalty === "quadratic_frequency") out.push(`lambda * scal[${S.penalty}]`);
    else {
      // The step penalty's L0: H(pre - theta) counts (S.active) or H(f - theta) (S.stepH).
      const l0 = perRow(t.input === "post" ? S.stepH : S.active);
      if (t.penalty === "l0") out.push(`lambda * ${l0}`);
      else {
        const r = `(${l0} / ${lit(t.targetL0)} - ${lit(1)})`;
        out.push(`lambda * ${r} * ${r}`);
      }
    }
  }
  return out;
}

/** The latent ranges [lo, hi) of Matryoshka's inner groups, from its inner prefix widths. */
export function prefixGroups(widths: readonly number[]): { lo: number; hi: number }[] {
  return widths.map((hi, m) => ({ lo: m === 0 ? 0 : widths[m - 1], hi }));
}
