// Computes and writes the feature data of a finished lm run: encodes the held-out activations the
// run was evaluated on, collects per-latent statistics and contexts, adds the logit lens and the
// measures. Other sources have no tokens, so their runs get none (returns null).
import { join } from "node:path";
import type { ActivationSource } from "../data/source.ts";
import type { Engine } from "../engine/engine.ts";
import { FeatureAccumulator } from "./collect.ts";
import { FEATURE_DEFAULTS, type FeatureData, type FeatureOptions } from "./feature_data.ts";
import { logitLens } from "./logit_lens.ts";
import { type FeatureMeasures, featureMeasures } from "./measures.ts";
import { FEATURE_FILES, writeFeatureData } from "./store.ts";

export interface RunFeatureOptions {
  /** Held-out rows to use (the run's eval.tokens, so frequencies match summary.json). */
  tokens: number;
  /** Normalisation scalar: the engine encodes x / scale; its latents times scale are raw units. */
  scale: number;
  width: number;
  /** Decoder rows [F, D] (any units). */
  decoder: Float32Array;
  features?: Partial<FeatureOptions>;
  /** Rows per encode call. */
  chunk?: number;
}

/** Writes `runDir/features/` and returns the measures, or null when `source` has no tokens. */
export async function computeRunFeatures(
  runDir: string,
  run: { engine: Engine; source: ActivationSource },
  options: RunFeatureOptions,
): Promise<{ dir: string; data: FeatureData; measures: FeatureMeasures } | null> {
  const { engine, source } = run;
  const inputs = source.lmFeatureInputs?.();
  if (!inputs) return null;
  const D = source.dModel;
  const featureOptions = { ...FEATURE_DEFAULTS, ...options.features };
  const x = await source.heldout(options.tokens); // [n, D], raw units
  const n = x.length / D;
  const chunk = options.chunk ?? 2048;
  const acc = new FeatureAccumulator(options.width);
  const inv = 1 / options.scale; // as the trainer normalises, so the latents are the evaluated ones
  for (let start = 0; start < n; start += chunk) {
    const rows = Math.min(chunk, n - start);
    const xs = x.slice(start * D, (start + rows) * D).map((v) => v * inv);
    const { f } = await engine.encode(xs, rows); // [rows, F], normalised units
    // The exported SAE's latents (raw units) are the engine's times the scale: show those.
    for (let k = 0; k < f.length; k++) f[k] *= options.scale;
    acc.add(f, rows);
  }
  const stats = acc.finish(inputs, featureOptions);
  const lens = await logitLens(options.decoder, { ...inputs, dModel: D }, {
    tokens: featureOptions.logitTokens,
  });
  const data: FeatureData = { ...stats, ...lens, vocab: inputs.vocab };
  const measures = await featureMeasures(data, options.decoder, D);
  await writeFeatureData(runDir, data, measures);
  return { dir: join(runDir, FEATURE_FILES.dir), data, measures };
}
