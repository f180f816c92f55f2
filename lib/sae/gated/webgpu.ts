// The Gated SAE on the GPU engines: one encoder GEMM xIn W_gate (no bias) feeds the gated
// selection (gate and magnitude paths), the L1 on ReLU(gate) and the auxiliary reconstruction
// through a frozen decoder, as gated.ts and kernel.ts. Every option has kernels.
import type { WebGpuKernel } from "../../engine/webgpu/kernel.ts";

export const gatedWebGpu: WebGpuKernel = {
  unsupported: () => null,
  step: (sae) => ({
    preEncoderBias: sae.pre_encoder_bias,
    encoder: { weight: "W_gate", bias: null },
    selection: { kind: "gate_magnitude" },
    // In termNames order: recon, sparsity, aux.
    terms: [{ kind: "gate_l1" }, { kind: "frozen_gate_recon" }],
    deadClock: false,
  }),
};
