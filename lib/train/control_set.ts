// The held-out split between the final evaluation and the L0 controller's reading
// (train.lambda.validation_tokens): the controller reads held-out vectors that the evaluation does
// not use. A small training set seen many times lets the SAE fit its L0 to those vectors
// (stories260K: 60,000 vectors seen 33 times end 1-7% above the target on unseen text), which the
// training-batch reading cannot see.
//
// Which runs split their rows is decided in lib/spec/heldout_split.ts. Layout interleaved (the
// default): the control rows are spread evenly over the eval.tokens + validation_tokens held-out
// rows and the evaluation reads the others, so both sample the same documents. Layout after
// (before 2026-12-05): the control rows follow the evaluated ones, a contiguous block of a few
// documents whose L0 differs from the evaluated documents' by their sampling alone
// (jumprelu_recipes, 1920 control rows of ~6 stories: +1.1% on average over 80 runs, up to +3.9%;
// spread over all 32 stories, -0.3%, up to 2.4%).
import type { ActivationSource } from "../data/source.ts";
import type { Engine } from "../engine/engine.ts";
import { DataError } from "../errors.ts";
import type { HeldoutSplit } from "../spec/heldout_split.ts";

/**
 * Which of the first evalTokens + controlTokens held-out rows the controller reads (true) and which
 * the evaluation reads. Interleaved: control row j is floor((j + 1/2) N / controlTokens), N the
 * rows in all, so every stretch of the held-out data gives its share; after: the last
 * controlTokens.
 */
export function controlMask(split: HeldoutSplit): Uint8Array {
  const { evalTokens, controlTokens } = split;
  const n = evalTokens + controlTokens;
  const mask = new Uint8Array(n);
  if (split.layout === "after") {
    mask.fill(1, evalTokens);
  } else {
    for (let j = 0; j < controlTokens; j++) mask[Math.floor(((j + 0.5) * n) / controlTokens)] = 1;
  }
  return mask;
}

/**
 * The held-out rows (raw units) the final evaluation reads and those the controller reads. Without
 * a split: the first `evalTokens` rows (fewer when the data has fewer) and no control rows.
 */
export async function readHeldout(
  source: ActivationSource,
  options: { evalTokens: number; split: HeldoutSplit | null; what: string },
): Promise<{ evaluated: Float32Array; control: Float32Array | null }> {
  const { split } = options;
  if (split === null) return { evaluated: await source.heldout(options.evalTokens), control: null };
  const { evalTokens, controlTokens } = split;
  const d = source.dModel;
  const all = await source.heldout(evalTokens + controlTokens);
  const rows = all.length / d;
  if (rows < evalTokens + controlTokens) {
    throw new DataError(
      `${options.what}: the L0 controller reads ${controlTokens} held-out vectors beside the ` +
        `${evalTokens} of the final evaluation, but the held-out data has ${rows}`,
      {
        hint:
          `raise the held-out data to at least eval.tokens + train.lambda.validation_tokens = ` +
          `${evalTokens + controlTokens} vectors (data.heldout_tokens for lm data, ` +
          `data.heldout_fraction for files), or lower train.lambda.validation_tokens`,
      },
    );
  }
  const mask = controlMask(split);
  const evaluated = new Float32Array(evalTokens * d);
  const control = new Float32Array(controlTokens * d);
  let e = 0;
  let c = 0;
  for (let r = 0; r < mask.length; r++) {
    const row = all.subarray(r * d, (r + 1) * d);
    if (mask[r]) control.set(row, d * c++);
    else evaluated.set(row, d * e++);
  }
  return { evaluated, control };
}

/** Mean number of non-zero latents per row of the engine's inference encoding of `x` ([n, D]). */
export async function controlL0(engine: Engine, x: Float32Array, n: number): Promise<number> {
  const { f } = await engine.encode(x, n);
  let active = 0;
  for (let i = 0; i < f.length; i++) if (f[i] !== 0) active++;
  return active / n;
}
