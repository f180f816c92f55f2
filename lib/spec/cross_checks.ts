// Checks that involve several keys of one resolved run config (target_l0 < width, integer k for
// k-sparse architectures, enough tokens for one batch, held-out vectors for the L0 controller's
// reading on lm data, what mode normalized needs, and each architecture's own check()).
// Pure; `load.ts` locates each problem in the file.
import type { RunConfig } from "./schema.ts";
import { getArchitecture } from "../sae/registry.ts";
import { heldoutSplit } from "./heldout_split.ts";
import type { Architecture, ConfigProblem } from "../sae/types.ts";

/** Every cross-field problem of one run config. */
export function crossFieldProblems(config: RunConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const { sae, train } = config;
  if (sae.target_l0 >= sae.width) {
    problems.push({
      paths: ["sae.target_l0", "sae.width"],
      message: `target_l0 ${sae.target_l0} must be < sae.width ${sae.width}`,
    });
  }
  const arch = getArchitecture(sae.architecture);
  if (arch.sparsity === "k" && !Number.isInteger(sae.target_l0)) {
    problems.push({
      paths: ["sae.target_l0", "sae.architecture"],
      message:
        `${sae.architecture} takes k = target_l0, which must be an integer, got ${sae.target_l0}`,
    });
  }
  if (train.tokens < train.batch_size) {
    problems.push({
      paths: ["train.tokens", "train.batch_size"],
      message:
        `train.tokens ${train.tokens} must be >= train.batch_size ${train.batch_size} (at least one step)`,
    });
  }
  if (config.data.source === "lm" && config.data.heldout_tokens < config.eval.tokens) {
    problems.push({
      paths: ["eval.tokens", "data.heldout_tokens"],
      message: `eval.tokens ${config.eval.tokens} must be <= data.heldout_tokens ` +
        `${config.data.heldout_tokens} (the held-out vectors the evaluation reads); lower ` +
        "eval.tokens or raise data.heldout_tokens (their defaults are 16384 and 8192)",
    });
  }
  // The controller's held-out rows, and with the interleaved layout every run's evaluated rows.
  const control = heldoutSplit(config)?.controlTokens;
  if (
    control !== undefined && config.data.source === "lm" &&
    config.data.heldout_tokens < config.eval.tokens + control
  ) {
    problems.push({
      paths: ["train.lambda.validation_tokens", "data.heldout_tokens", "eval.tokens"],
      message: `the L0 controller reads ${control} held-out vectors beside the eval.tokens ` +
        `${config.eval.tokens} of the final evaluation, so data.heldout_tokens must be >= ` +
        `${config.eval.tokens + control}, got ${config.data.heldout_tokens}`,
    });
  }
  if (arch.sparsity === "penalty" && train.lambda.mode === "normalized") {
    problems.push(...normalizedLambdaProblems(sae, arch));
  }
  problems.push(...arch.check?.(sae) ?? []);
  return problems;
}

/**
 * Mode normalized derives the starting lambda, so a penalty architecture must declare its penalty's
 * shape, and a sae.<arch>.lambda that differs from its default (a start a spec written for mode
 * controller, the default before 2026-12-05, relies on) would be ignored: refused, never dropped.
 */
function normalizedLambdaProblems(sae: RunConfig["sae"], arch: Architecture): ConfigProblem[] {
  if (!arch.penaltyShape) {
    return [{
      paths: ["train.lambda.mode", "sae.architecture"],
      message: `train.lambda.mode normalized (the default) needs the penalty of architecture ` +
        `${arch.name} (Architecture.penaltyShape), which it does not declare; set ` +
        `train.lambda.mode: controller to start from sae.${arch.name}.lambda`,
    }];
  }
  const set = (sae[arch.name] as { lambda?: number } | undefined)?.lambda;
  const byDefault = (arch.options.parse({}) as { lambda?: number }).lambda;
  if (set === undefined || set === byDefault) return [];
  return [{
    paths: [`sae.${arch.name}.lambda`, "train.lambda.mode"],
    message: `sae.${arch.name}.lambda ${set} is ignored by train.lambda.mode normalized (the ` +
      "default since 2026-12-05), which derives the start from the target, width, penalty and " +
      "data; remove it (train.lambda.start scales the derived start), or set train.lambda.mode: " +
      "controller to start from it as before",
  }];
}
