// What every BatchTopK-family architecture shares (BatchTopK, Bussmann et al. 2024, and Matryoshka
// BatchTopK): selection of the k * B largest activations across the batch with AuxK, a running
// estimate of the smallest kept activation that becomes one global threshold, so inference (and
// the export) is a JumpReLU with that threshold for every latent.
// Shapes: B batch, D d_model, F latents.
import * as tf from "@tensorflow/tfjs";
import type { Architecture, SaeConfig } from "../types.ts";
import {
  exportLinearSae,
  fullHost,
  initLinearSae,
  linearDecode,
  zerosHost,
} from "../linear_sae.ts";
import type { AuxSettings } from "./aux_k.ts";
import { tickSinceFired } from "./dead_latents.ts";
import { reluPre, topkFamilyLoss } from "./topk_family.ts";

/** What a BatchTopK-family architecture reads from its options section. */
export interface BatchTopKSettings extends AuxSettings {
  threshold_momentum: number;
  adam_beta1: number;
  adam_beta2: number;
}

/** The members of a descriptor that every BatchTopK-family architecture shares. */
export type BatchTopKParts = Pick<
  Architecture,
  | "sparsity"
  | "uses"
  | "termNames"
  | "unitNormDecoder"
  | "decoderParam"
  | "init"
  | "loss"
  | "encode"
  | "decode"
  | "updateState"
  | "adamBetas"
  | "deadTokens"
  | "exportTensors"
>;

/**
 * BatchTopK's training and inference for an architecture called `name` whose options `read`
 * returns: selection over the batch, AuxK, the running global threshold, the JumpReLU export.
 * Architectures that extend BatchTopK (Matryoshka) start from these parts and override some.
 */
export function batchTopKParts(
  name: string,
  read: (sae: SaeConfig) => BatchTopKSettings,
): BatchTopKParts {
  return {
    sparsity: "k",
    uses: ["pre_encoder_bias", "b_dec_init"],
    termNames: () => ["recon", "aux"],
    deadTokens: (sae) => read(sae).dead_tokens,
    unitNormDecoder: true,
    decoderParam: "W_dec",

    init({ d, f }, { rng }) {
      return {
        params: initLinearSae(d, f, rng),
        // threshold < 0 means "no estimate yet".
        state: { since_fired: zerosHost(f), threshold: fullHost(-1, 1) },
      };
    },

    loss(params, state, x, { sae }) {
      return topkFamilyLoss(params, state, x, { sae, batch: true, aux: read(sae) });
    },

    encode(params, state, x, sae) {
      return tf.tidy(() => {
        const r = reluPre(params, x, sae);
        const theta = tf.maximum(state.threshold, 0);
        return tf.mul(r, tf.cast(tf.greater(r, theta), "float32")) as tf.Tensor2D;
      });
    },

    decode(params, f) {
      return tf.tidy(() => linearDecode(params, f));
    },

    updateState(state, { f, sae }) {
      // Smallest kept activation of this batch, folded into a running mean.
      const positive = tf.greater(f, 0);
      const minKept = tf.min(tf.where(positive, f, tf.fill(f.shape, Infinity)));
      const m = read(sae).threshold_momentum;
      const old = state.threshold;
      const ema = tf.add(tf.mul(old, m), tf.mul(minKept, 1 - m));
      const fresh = tf.reshape(minKept, [1]);
      const threshold = tf.where(tf.less(old, 0), fresh, ema);
      // A batch with no activation at all leaves the estimate unchanged.
      return {
        since_fired: tickSinceFired(state.since_fired, f),
        threshold: tf.where(tf.isFinite(threshold), threshold, old),
      };
    },

    adamBetas(sae) {
      return [read(sae).adam_beta1, read(sae).adam_beta2];
    },

    exportTensors(params, state, { sae, scale }) {
      const f = params.b_enc.shape[0];
      const theta = Math.max(state.threshold.data[0], 0);
      return {
        tensors: {
          ...exportLinearSae(params, { scale, preEncoderBias: sae.pre_encoder_bias }),
          threshold: fullHost(theta * scale, f),
        },
        cfg: {
          architecture: "jumprelu",
          apply_b_dec_to_input: false,
          trained_as: name,
          k: sae.target_l0,
        },
      };
    },
  };
}
