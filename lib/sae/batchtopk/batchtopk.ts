// BatchTopK SAE (Bussmann et al. 2024): keep the k * B largest activations across the batch, with
// AuxK for dead latents; a running estimate of the smallest kept activation becomes one global
// threshold, so inference (and the export) is a JumpReLU with that threshold for every latent.
// Its parts are shared with Matryoshka BatchTopK (../shared/batchtopk_parts.ts).
import type { Architecture } from "../types.ts";
import { batchTopKParts } from "../shared/batchtopk_parts.ts";
import { topkFamilyKernel, topkFamilyWebGpu } from "../shared/topk_family.ts";
import { BatchTopKOptions, batchtopkOptions } from "./options.ts";

export const batchtopk: Architecture = {
  name: "batchtopk",
  summary: "BatchTopK SAE keeping the k * B largest latents of a batch, exported as a JumpReLU " +
    "with one learned threshold (Bussmann et al. 2024)",
  options: BatchTopKOptions,
  defaultsVersion: 1,
  kernels: {
    cpu: topkFamilyKernel(true, (ctx) => batchtopkOptions(ctx.sae)),
    webgpu: topkFamilyWebGpu(true, batchtopkOptions),
  },
  parityCases: [{ label: "without pre-encoder bias", sae: { pre_encoder_bias: false } }],
  gradientCheck: { params: ["W_dec"], sae: { batchtopk: { aux_alpha: 0 } } },
  ...batchTopKParts("batchtopk", batchtopkOptions),
};
