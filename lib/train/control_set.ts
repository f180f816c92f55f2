// The L0 controller's held-out reading (train.lambda.validation_tokens): held-out vectors that the
// final evaluation does not use, and the mean L0 of the current SAE on them. A small training set
// seen many times lets the SAE fit its L0 to those vectors (stories260K: 60,000 vectors seen 33
// times end 1-7% above the target on unseen text), which the training-batch reading cannot see.
import type { ActivationSource } from "../data/source.ts";
import type { Engine } from "../engine/engine.ts";
import { DataError } from "../errors.ts";
import { scaleInPlace } from "./normalize.ts";

/** The control vectors: held-out rows [evalTokens, evalTokens + tokens), normalised by `scale`. */
export async function loadControlSet(
  source: ActivationSource,
  options: { evalTokens: number; tokens: number; scale: number; what: string },
): Promise<Float32Array> {
  const { evalTokens, tokens } = options;
  const d = source.dModel;
  const all = await source.heldout(evalTokens + tokens);
  const rows = all.length / d;
  if (rows < evalTokens + tokens) {
    throw new DataError(
      `${options.what}: the L0 controller reads ${tokens} held-out vectors after the ` +
        `${evalTokens} of the final evaluation, but the held-out data has ${rows}`,
      {
        hint:
          `raise the held-out data to at least eval.tokens + train.lambda.validation_tokens = ` +
          `${evalTokens + tokens} vectors (data.heldout_tokens for lm data, ` +
          `data.heldout_fraction for files), or lower train.lambda.validation_tokens`,
      },
    );
  }
  return scaleInPlace(all.slice(evalTokens * d), options.scale);
}

/** Mean number of non-zero latents per row of the engine's inference encoding of `x` ([n, D]). */
export async function controlL0(engine: Engine, x: Float32Array, n: number): Promise<number> {
  const { f } = await engine.encode(x, n);
  let active = 0;
  for (let i = 0; i < f.length; i++) if (f[i] !== 0) active++;
  return active / n;
}
