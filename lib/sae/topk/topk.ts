// TopK SAE (Gao et al. 2024): f = TopK_k(ReLU((x - b_dec) W_enc + b_enc)) with k = target_l0, unit
// norm decoder, and the AuxK loss that reconstructs the residual from the top k_aux pre-activations
// of dead latents (no activation in the last `dead_tokens` training tokens). The machinery it
// shares with BatchTopK (all but the selection) is ../shared/topk_family.ts.
// Shapes: B batch, D d_model, F latents.
import * as tf from "@tensorflow/tfjs";
import { topkSelect } from "../ste.ts";
import type { Architecture } from "../types.ts";
import { exportLinearSae, initLinearSae, linearDecode, zerosHost } from "../linear_sae.ts";
import { TopKOptions, topkOptions } from "./options.ts";
import { tickSinceFired } from "../shared/dead_latents.ts";
import {
  reluPre,
  topkFamilyKernel,
  topkFamilyLoss,
  topkFamilyWebGpu,
} from "../shared/topk_family.ts";

export const topk: Architecture = {
  name: "topk",
  summary:
    "TopK SAE keeping the k = target_l0 largest latents per token, with AuxK (Gao et al. 2024)",
  options: TopKOptions,
  defaultsVersion: 1,
  sparsity: "k",
  uses: ["pre_encoder_bias", "b_dec_init"],
  kernels: {
    cpu: topkFamilyKernel(false, (ctx) => topkOptions(ctx.sae)),
    webgpu: topkFamilyWebGpu(false, topkOptions),
  },
  saelens: {
    loads: "topk",
    required: ["W_enc", "b_enc", "W_dec", "b_dec"],
    encode(t, xIn, cfg) {
      const k = Number(cfg.k);
      const r = tf.relu(tf.add(tf.matMul(xIn, t("W_enc")), t("b_enc"))); // [N, F]
      const kth = tf.slice(tf.topk(r, k).values, [0, k - 1], [-1, 1]);
      return tf.mul(
        r,
        tf.cast(tf.logicalAnd(tf.greaterEqual(r, kth), tf.greater(r, 0)), "float32"),
      );
    },
  },
  parityCases: [
    { label: "without pre-encoder bias", sae: { pre_encoder_bias: false } },
    // Half the latents of a parity case are dead: 48 of 96, against k_aux 8 by default.
    { label: "fewer dead latents than k_aux", sae: { topk: { aux_k: 64 } } },
  ],
  // AuxK freezes its residual target, so the check runs without it.
  gradientCheck: { params: ["W_dec"], sae: { topk: { aux_alpha: 0 } } },
  termNames: () => ["recon", "aux"],
  unitNormDecoder: true,
  decoderParam: "W_dec",

  init({ d, f }, { rng }) {
    return { params: initLinearSae(d, f, rng), state: { since_fired: zerosHost(f) } };
  },

  loss(params, state, x, { sae }) {
    return topkFamilyLoss(params, state, x, { sae, batch: false, aux: topkOptions(sae) });
  },

  encode(params, _state, x, sae) {
    return tf.tidy(() => topkSelect(reluPre(params, x, sae), sae.target_l0));
  },

  decode(params, f) {
    return tf.tidy(() => linearDecode(params, f));
  },

  updateState(state, { f }) {
    return { since_fired: tickSinceFired(state.since_fired, f) };
  },

  adamBetas(sae) {
    return [topkOptions(sae).adam_beta1, topkOptions(sae).adam_beta2];
  },

  deadTokens: (sae) => topkOptions(sae).dead_tokens,

  exportTensors(params, _state, { sae, scale }) {
    return {
      tensors: exportLinearSae(params, { scale, preEncoderBias: sae.pre_encoder_bias }),
      cfg: { architecture: "topk", k: sae.target_l0, apply_b_dec_to_input: false },
    };
  },
};
