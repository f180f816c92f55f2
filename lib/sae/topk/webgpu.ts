// TopK and BatchTopK on the webgpu engine: per-row or batch-wide radix selection of the largest
// positive pre-activations, AuxK on dead latents, the dead-latent clock and (BatchTopK) the
// running threshold that inference uses, as topk.ts and ../batchtopk/batchtopk.ts.
import type { WebGpuKernel } from "../../engine/webgpu/kernel.ts";
import type { SaeConfig } from "../types.ts";
import { auxK, type AuxSettings } from "./options.ts";

/** The webgpu kernel of TopK (`batch` false) or BatchTopK (`batch` true). */
export function topkFamilyWebGpu(
  batch: boolean,
  options: (sae: SaeConfig) => AuxSettings & { threshold_momentum?: number },
): WebGpuKernel {
  return {
    unsupported: () => null,
    step(sae, { d }) {
      const o = options(sae);
      const k = sae.target_l0;
      return {
        preEncoderBias: sae.pre_encoder_bias,
        selection: batch
          ? { kind: "batchtopk", k, momentum: o.threshold_momentum! }
          : { kind: "topk", k },
        terms: [{
          kind: "auxk",
          k: auxK(o, d),
          alpha: o.aux_alpha,
          deadTokens: o.dead_tokens,
          scaleByDead: false,
        }],
        deadClock: true,
      };
    },
  };
}
