// The ReLU SAE on the webgpu engine: f = ReLU(x W_enc + b_enc) and the decoder-norm-weighted L1
// with the norms' gradient reaching W_dec (free decoder, no pre-encoder bias), as relu.ts.
import type { WebGpuKernel } from "../../engine/webgpu/kernel.ts";

export const reluWebGpu: WebGpuKernel = {
  unsupported: () => null,
  step: () => ({
    preEncoderBias: false,
    selection: { kind: "rectify" },
    terms: [{ kind: "decoder_norm_l1" }],
    deadClock: false,
  }),
};
