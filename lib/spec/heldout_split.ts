// Which held-out rows a run's final evaluation reads and which its L0 controller reads
// (train.lambda.validation_tokens, validation_layout); lib/train/control_set.ts reads them. One
// decision for the spec's checks and the trainer.
import type { RunConfig, ValidationLayout } from "./schema.ts";
import { getArchitecture } from "../sae/registry.ts";

/** How a run splits its held-out rows: evalTokens evaluated, controlTokens for the controller. */
export interface HeldoutSplit {
  evalTokens: number;
  controlTokens: number;
  layout: ValidationLayout;
}

/**
 * The split of a run, or null when its evaluation reads the first eval.tokens held-out rows and
 * nothing else reads any: no validation_tokens, or layout after without a controller. With layout
 * interleaved every run of the spec gets the split, with a controller or not: a TopK run beside
 * the JumpReLU runs must evaluate on the same rows. A config without validation_layout (run.json
 * of before it) had the layout after.
 */
export function heldoutSplit(
  config: Pick<RunConfig, "sae" | "eval"> & {
    train: {
      lambda: Pick<RunConfig["train"]["lambda"], "mode" | "validation_tokens"> & {
        validation_layout?: ValidationLayout;
      };
    };
  },
): HeldoutSplit | null {
  const { lambda } = config.train;
  const controlTokens = lambda.validation_tokens;
  if (controlTokens === undefined) return null;
  const layout = lambda.validation_layout ?? "after";
  const controlled = getArchitecture(config.sae.architecture).sparsity === "penalty" &&
    lambda.mode !== "fixed";
  if (layout === "after" && !controlled) return null;
  return { evalTokens: config.eval.tokens, controlTokens, layout };
}
