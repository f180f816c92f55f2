// Matryoshka BatchTopK SAE (Bussmann et al. 2025, "Learning multi-level features with Matryoshka
// SAEs"; SAELens and dictionary_learning ship it): BatchTopK whose dictionary is split into nested
// prefixes; the kept latents of the whole batch selection reconstruct x from every prefix, and the
// loss sums the reconstruction errors of all prefixes, so early latents must work without later
// ones. Saved as a JumpReLU with BatchTopK's global threshold. The fast kernel is kernel.ts.
// Shapes: B batch, D d_model, F latents, w a prefix width.
import * as tf from "@tensorflow/tfjs";
import type { Architecture, SaeConfig } from "../types.ts";
import { reconstructionLoss } from "../linear_sae.ts";
import { matMul } from "../ste.ts";
import { batchTopKParts } from "../shared/batchtopk_parts.ts";
import { MatryoshkaBatchTopKOptions, matryoshkaOptions, prefixWidths } from "./options.ts";
import { matryoshkaKernel } from "./kernel.ts";
import { topkFamilyWebGpu } from "../shared/topk_family.ts";

const base = batchTopKParts("matryoshka_batchtopk", matryoshkaOptions);

/** Widths of the inner prefixes (every prefix but the whole dictionary). */
function innerWidths(sae: SaeConfig): number[] {
  return prefixWidths(sae.width, matryoshkaOptions(sae).group_fractions).slice(0, -1);
}

export const matryoshka_batchtopk: Architecture = {
  ...base,
  name: "matryoshka_batchtopk",
  summary: "Matryoshka BatchTopK SAE: BatchTopK with the reconstruction loss summed over nested " +
    "prefixes of the dictionary (Bussmann et al. 2025)",
  options: MatryoshkaBatchTopKOptions,
  defaultsVersion: 1,
  kernels: {
    cpu: matryoshkaKernel,
    webgpu: topkFamilyWebGpu(true, matryoshkaOptions, innerWidths),
  },
  parityCases: [
    { label: "without pre-encoder bias", sae: { pre_encoder_bias: false } },
    // Parity cases have F = 96: prefixes 24, 48, 96 and two equal groups.
    {
      label: "three prefixes",
      sae: { matryoshka_batchtopk: { group_fractions: [0.25, 0.25, 0.5] } },
    },
  ],
  // AuxK freezes its residual target, so the finite-difference check runs without it.
  gradientCheck: { params: ["W_dec"], sae: { matryoshka_batchtopk: { aux_alpha: 0 } } },

  // recon (whole dictionary), one recon_<w> per inner prefix, aux.
  termNames: (sae) => ["recon", ...innerWidths(sae).map((w) => `recon_${w}`), "aux"],

  check(sae) {
    const fractions = matryoshkaOptions(sae).group_fractions;
    const sum = fractions.reduce((a, b) => a + b, 0);
    const path = "sae.matryoshka_batchtopk.group_fractions";
    if (Math.abs(sum - 1) > 1e-6) {
      return [{ paths: [path], message: `group fractions must sum to 1, got ${sum}` }];
    }
    const widths = prefixWidths(sae.width, fractions);
    if (widths.some((w, i) => w <= (i === 0 ? 0 : widths[i - 1]))) {
      return [{
        paths: [path, "sae.width"],
        message: `every group needs at least one latent: prefix widths ${widths.join(", ")} ` +
          `of width ${sae.width} are not increasing`,
      }];
    }
    return [];
  },

  loss(params, state, x, ctx) {
    const out = base.loss(params, state, x, ctx); // BatchTopK selection, recon and AuxK
    const inner: Record<string, tf.Scalar> = {};
    for (const w of innerWidths(ctx.sae)) {
      const fw = tf.slice(out.f, [0, 0], [-1, w]) as tf.Tensor2D; // [B, w]
      const dec = tf.slice(params.W_dec, [0, 0], [w, -1]) as tf.Tensor2D; // [w, D]
      const xHat = tf.add(matMul(fw, dec), params.b_dec) as tf.Tensor2D; // [B, D]
      inner[`recon_${w}`] = reconstructionLoss(x, xHat);
    }
    return {
      ...out,
      total: tf.addN([out.total, ...Object.values(inner)]) as tf.Scalar,
      terms: { recon: out.terms.recon, ...inner, aux: out.terms.aux },
    };
  },
};
