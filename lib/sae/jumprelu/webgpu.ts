// JumpReLU on the GPU engines: a threshold selection with the paper's STEs; the L0, quadratic or
// frequency-weighted step penalty on pre- or post-activations, or the tanh penalty through the
// JumpReLU STE; AuxK on dead latents and the pre-activation loss. Every option has kernels.
import type { WebGpuKernel } from "../../engine/webgpu/kernel.ts";
import { jumpreluOptions } from "./options.ts";
import { auxKWebGpuTerm } from "../shared/aux_k.ts";

export const jumpreluWebGpu: WebGpuKernel = {
  unsupported: () => null,
  step(sae, { d }) {
    const o = jumpreluOptions(sae);
    return {
      preEncoderBias: sae.pre_encoder_bias,
      selection: { kind: "threshold", log: o.threshold_param === "log" },
      terms: [
        o.penalty === "tanh" ? { kind: "tanh", c: o.tanh_scale } : {
          kind: "step",
          penalty: o.penalty,
          targetL0: sae.target_l0,
          s: o.frequency_scale,
          input: o.step_input,
        },
        ...(o.aux_alpha > 0 ? [auxKWebGpuTerm(o, d, true)] : []),
        ...(o.pre_act_alpha > 0
          ? [{
            kind: "pre_act" as const,
            alpha: o.pre_act_alpha,
            deadOnly: o.pre_act_dead_only,
            deadTokens: o.dead_tokens,
          }]
          : []),
      ],
      deadClock: true,
      bandwidth: o.bandwidth_unit === "pre_act_std" ? "state" : o.bandwidth,
      thresholdFloor: o.threshold_param === "linear" ? 1e-6 : undefined,
    };
  },
};
