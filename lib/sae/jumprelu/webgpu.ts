// JumpReLU on the webgpu engine: a threshold selection with the paper's STEs, the L0, quadratic or
// frequency-weighted step penalty, AuxK on dead latents and the pre-activation loss. The tanh
// penalty and post-activation step inputs have no WGSL kernels yet (they train on the cpu engine).
import type { WebGpuKernel } from "../../engine/webgpu/kernel.ts";
import { jumpreluOptions } from "./options.ts";
import { auxKWebGpuTerm } from "../shared/aux_k.ts";

export const jumpreluWebGpu: WebGpuKernel = {
  unsupported(sae) {
    const o = jumpreluOptions(sae);
    if (o.penalty === "tanh") return "sae.jumprelu.penalty tanh has no webgpu kernel";
    if (o.step_input === "post") return "sae.jumprelu.step_input post has no webgpu kernel";
    return null;
  },
  step(sae, { d }) {
    const o = jumpreluOptions(sae);
    return {
      preEncoderBias: sae.pre_encoder_bias,
      selection: { kind: "threshold", log: o.threshold_param === "log" },
      terms: [
        {
          kind: "step",
          penalty: o.penalty === "tanh" ? "l0" : o.penalty,
          targetL0: sae.target_l0,
          s: o.frequency_scale,
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
