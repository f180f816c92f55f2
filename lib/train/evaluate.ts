// Final evaluation of a trained engine on held-out activations: reconstruction, sparsity,
// feature recovery (synthetic data) and spliced LM cross-entropy (lm data). Metric definitions
// live in lib/metrics/; this file only feeds them.
import type { ActivationSource } from "../data/source.ts";
import type { Engine } from "../engine/engine.ts";
import { ReconstructionAccumulator } from "../metrics/reconstruction.ts";
import { SparsityAccumulator } from "../metrics/sparsity.ts";
import { featureRecovery } from "../metrics/recovery.ts";
import { scaleInPlace } from "./normalize.ts";
import { readHeldout } from "./control_set.ts";
import type { HeldoutSplit } from "../spec/heldout_split.ts";
import type { RunSummary } from "../store/records.ts";
import type { HostTensors } from "../engine/types.ts";
import { firingHistogram } from "../metrics/firing_histogram.ts";

export interface EvaluationOptions {
  tokens: number;
  /** The held-out split with the controller's rows (control_set.ts); absent: the first `tokens` rows. */
  split?: HeldoutSplit | null;
  width: number;
  /** Normalisation scalar of the run (inputs are divided by it). */
  scale: number;
  /** Name of the decoder parameter [F, D] in the engine snapshot. */
  decoderParam: string;
  denseThreshold: number;
  recoveredCos: number;
  /** Rows per encode call. */
  chunk?: number;
  /** The architecture's health numbers of the trained parameters on the held-out inputs. */
  health?: (
    snapshot: { params: HostTensors; state: HostTensors },
    x: Float32Array,
    n: number,
  ) => Record<string, number>;
}

/** The held-out part of summary.json (definitions in lib/metrics/ and store/records.ts). */
export type Evaluation = Pick<
  RunSummary,
  | "eval_tokens"
  | "l0"
  | "mse"
  | "mse_raw"
  | "fvu"
  | "explained_variance"
  | "dead_frac"
  | "dense_frac"
  | "firing_hist"
  | "thr_unreachable_frac"
  | "thr_stranded_frac"
  | "ste_window_frac"
  | "l2_ratio"
  | "shrinkage_gamma"
  | "mmcs"
  | "recovered_frac"
  | "ce_clean"
  | "ce_spliced"
  | "delta_lm_loss"
  | "ce_zero_ablated"
  | "ce_loss_recovered"
>;

export async function evaluateEngine(
  engine: Engine,
  source: ActivationSource,
  options: EvaluationOptions,
): Promise<Evaluation> {
  const d = source.dModel;
  const { evaluated } = await readHeldout(source, {
    evalTokens: options.tokens,
    split: options.split ?? null,
    what: "the held-out data",
  });
  const x = scaleInPlace(evaluated, options.scale);
  const n = x.length / d;
  const chunk = options.chunk ?? 2048;
  const rec = new ReconstructionAccumulator(d);
  const sparsity = new SparsityAccumulator(options.width);
  for (let start = 0; start < n; start += chunk) {
    const rows = Math.min(chunk, n - start);
    const xs = x.subarray(start * d, (start + rows) * d);
    const { f, xHat } = await engine.encode(xs, rows);
    rec.add(xs, xHat, rows);
    sparsity.add(f, rows);
  }
  const r = rec.result();
  const s = sparsity.result(options.denseThreshold);
  const out: Evaluation = {
    eval_tokens: n,
    l0: s.l0,
    mse: r.mse,
    mse_raw: r.mse * options.scale ** 2,
    fvu: r.fvu,
    explained_variance: r.explained_variance,
    dead_frac: s.dead_frac,
    dense_frac: s.dense_frac,
    firing_hist: firingHistogram(s.frequencies),
    l2_ratio: r.l2_ratio,
    shrinkage_gamma: r.shrinkage_gamma,
  };
  const snapshot = options.health || source.groundTruth ? await engine.snapshot() : undefined;
  if (options.health) Object.assign(out, options.health(snapshot!, x, n));
  if (source.groundTruth) {
    const dec = snapshot!.params[options.decoderParam].data;
    const fr = featureRecovery(dec, source.groundTruth.directions, {
      dModel: d,
      threshold: options.recoveredCos,
    });
    out.mmcs = fr.mmcs;
    out.recovered_frac = fr.recovered_frac;
  }
  if (source.evaluateLm) {
    const lm = await source.evaluateLm(async (raw, rows) => {
      const xs = scaleInPlace(Float32Array.from(raw), options.scale);
      const { xHat } = await engine.encode(xs, rows);
      for (let i = 0; i < xHat.length; i++) xHat[i] *= options.scale;
      return xHat;
    });
    out.ce_clean = lm.ce_clean;
    out.ce_spliced = lm.ce_spliced;
    out.ce_zero_ablated = lm.ce_zero_ablated;
    out.delta_lm_loss = lm.ce_spliced - lm.ce_clean;
    const gap = lm.ce_zero_ablated - lm.ce_clean;
    out.ce_loss_recovered = gap > 0 ? (lm.ce_zero_ablated - lm.ce_spliced) / gap : Number.NaN;
  }
  return out;
}
