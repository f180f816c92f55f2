// The Gated SAE on the fast CPU path: the same loss as gated.ts (gate and magnitude paths
// sharing W_gate, L1 on ReLU(gate), auxiliary reconstruction through a frozen decoder), computed
// over the entries with an open gate (gate > 0) after one dense GEMM for both paths.
// Shapes: B batch, D d_model, F latents.
import type { FastKernel, KernelContext } from "../../engine/cpu/fast_kernel.ts";
import type { ActiveList } from "../../engine/cpu/active.ts";
import {
  activeList,
  addColumnSums,
  encodeOutput,
  encoderGemm,
  encoderInput,
  squaredErrorGrad,
  subtractEncoderPath,
} from "../../engine/cpu/kernel_parts.ts";

const fround = Math.fround;

/**
 * Open-gate entries: val = f = H(gate) ReLU(mag), val2 = ReLU(gate) = gate; `raw` keeps xIn W_gate
 * at each entry (for the r_mag gradient). Returns xIn [B, D].
 */
function forward(
  ctx: KernelContext,
  x: Float32Array,
  options: {
    b: number;
    list: ActiveList;
    raw: Float32Array | null;
    scale: Float32Array;
    name: string;
  },
): Float32Array {
  const { b, list, raw, scale, name } = options;
  const f = ctx.f;
  const xIn = encoderInput(ctx, x, { b, subtract: ctx.sae.pre_encoder_bias, name: `${name}XIn` });
  const g = encoderGemm(ctx, xIn, { b, wT: ctx.params.W_gate, name: `${name}Pre` }); // [B, F]
  const bGate = ctx.params.b_gate;
  const bMag = ctx.params.b_mag;
  list.reset(b, f);
  const row = { r: 0, f, bGate, bMag, scale, raw, list };
  for (let r = 0; r < b; r++) {
    list.startRow(r);
    row.r = r;
    scanRow(g, row);
  }
  list.finish();
  return xIn;
}

/** One row: appends the open-gate entries, recording xIn W_gate in `raw` at the same index. */
function scanRow(
  g: Float32Array,
  row: {
    r: number;
    f: number;
    bGate: Float32Array;
    bMag: Float32Array;
    scale: Float32Array;
    raw: Float32Array | null;
    list: ActiveList;
  },
): void {
  const { r, f, bGate, bMag, scale, raw, list } = row;
  const o = r * f;
  for (let i = 0; i < f; i++) {
    const gi = g[o + i];
    const gate = fround(gi + bGate[i]);
    if (gate > 0) {
      const mag = fround(fround(gi * scale[i]) + bMag[i]);
      const j = list.push(r, i, mag > 0 ? mag : 0, gate);
      if (raw) raw[j] = gi;
    }
  }
}

function magScale(ctx: KernelContext): Float32Array {
  const s = ctx.ws.get("magScale", ctx.f);
  const r = ctx.params.r_mag;
  for (let i = 0; i < ctx.f; i++) s[i] = Math.exp(r[i]);
  return s;
}

export const gatedKernel: FastKernel = {
  transposed: ["W_gate"],

  step(ctx, x, { b, lambda }) {
    const { d, f, params, grads, ops, sae } = ctx;
    const list = ctx.latents;
    const scale = magScale(ctx);
    const raw = ctx.ws.get("gatedRaw", b * f);
    const xIn = forward(ctx, x, { b, list, raw, scale, name: "step" });

    // Reconstruction through f and auxiliary reconstruction through ReLU(gate) (frozen decoder).
    const xHat = ctx.ws.get("xHat", b * d);
    ops.decode(list, list.val, { w: params.W_dec, d, out: xHat, bias: params.b_dec });
    const dxHat = ctx.ws.get("dxHat", b * d);
    const sse = squaredErrorGrad(x, xHat, { b, grad: dxHat });
    const xAux = ctx.ws.get("xAux", b * d);
    ops.decode(list, list.val2, { w: params.W_dec, d, out: xAux, bias: params.b_dec });
    const dxAux = ctx.ws.get("dxAux", b * d);
    const auxSse = squaredErrorGrad(x, xAux, { b, grad: dxAux });
    let gateSum = 0;
    for (let j = 0; j < list.n; j++) gateSum += list.val2[j];
    const sparsity = (lambda * gateSum) / b;
    const forwardEnd = performance.now();

    // d mag = (dxHat . W_dec[i]) where mag > 0; d gate = (dxAux . W_dec[i]) + lambda / B.
    ops.accumulate(list, list.val, { src: dxHat, g: grads.W_dec, d });
    ops.dots(list, { a: dxHat, w: params.W_dec, d, out: list.grad });
    ops.dots(list, { a: dxAux, w: params.W_dec, d, out: list.grad2 });
    const coef = ctx.ws.get("gatedCoef", list.n); // d (xIn W_gate) at each entry
    const gBGate = grads.b_gate;
    const gBMag = grads.b_mag;
    const gR = grads.r_mag;
    for (let j = 0; j < list.n; j++) {
      const i = list.col[j];
      const dMag = list.val[j] > 0 ? list.grad[j] : 0;
      const dGate = list.grad2[j] + lambda / b;
      gBGate[i] += dGate;
      gBMag[i] += dMag;
      gR[i] += dMag * raw[j];
      coef[j] = dGate + scale[i] * dMag;
    }
    for (let i = 0; i < f; i++) gR[i] *= scale[i];
    ops.accumulate(list, coef, { src: xIn, g: grads.W_gate, d });
    addColumnSums(dxHat, grads.b_dec, b);
    if (sae.pre_encoder_bias) {
      const gBias = ctx.ws.get("gatedBias", f); // sum_b d (xIn W_gate)
      gBias.fill(0);
      for (let j = 0; j < list.n; j++) gBias[list.col[j]] += coef[j];
      subtractEncoderPath(grads.b_dec, { wT: params.W_gate, gBias, d });
    }
    return { terms: [sse / b, sparsity, auxSse / b], sse, forwardEnd };
  },

  encode(ctx, x, n) {
    const list = activeList(ctx, "encode");
    forward(ctx, x, { b: n, list, raw: null, scale: magScale(ctx), name: "enc" });
    return encodeOutput(ctx, list, n);
  },
};
