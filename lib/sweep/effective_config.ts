// The effective config of a run: what actually determines its result, and so its identity. Only
// the chosen architecture's options and the shared keys it declares it reads are kept (a TopK run
// does not depend on sae.jumprelu.bandwidth, a ReLU run not on pre_encoder_bias), and the lambda
// schedule only for penalty architectures. Pure, but for the count a test can ask for
// (lib/spec/resolve_count.ts).
import type { EffectiveConfig, RunConfig } from "../spec/schema.ts";
import { getArchitecture } from "../sae/registry.ts";
import { PENALTY_UNIT_VERSION } from "../sae/shared/penalty_unit.ts";
import type { SaeConfig } from "../sae/types.ts";
import { saeCoreKeys } from "../engine/sae_keys.ts";
import { countResolve } from "../spec/resolve_count.ts";

/**
 * Version of the run-id hash scheme, recorded in run.json. 1: the whole resolved config (every
 * architecture's options); 2: runIdentity() below.
 */
export const RUN_ID_SCHEME = 2;

/** The parts of a resolved config that the run reads; what run ids hash and run.json records. */
export function effectiveConfig(config: RunConfig): EffectiveConfig {
  countResolve("effective", config);
  const { sae, train } = config;
  const arch = getArchitecture(sae.architecture);
  const effectiveSae = { architecture: sae.architecture } as EffectiveConfig["sae"];
  for (const key of saeCoreKeys()) effectiveSae[key] = sae[key];
  for (const key of arch.uses) effectiveSae[key] = sae[key];
  effectiveSae[arch.name] = sae[arch.name];
  const { lambda, ...rest } = train;
  // A run without a controller still evaluates on the rows the controller's split leaves it.
  const { validation_tokens, validation_layout } = lambda;
  const split = validation_tokens !== undefined && validation_layout !== "after"
    ? { lambda: { validation_tokens, validation_layout } }
    : {};
  return {
    experiment: config.experiment,
    data: config.data,
    sae: effectiveSae,
    train: arch.sparsity === "penalty" ? { ...rest, lambda } : { ...rest, ...split },
    eval: config.eval,
  };
}

/**
 * What a run id hashes: an effective config (effectiveConfig()), with the architecture's own options reduced to the
 * values that differ from its defaults plus the version of those defaults
 * (`Architecture.defaultsVersion`). Adding an option whose default keeps the old behaviour then
 * renames no run; changing a default means bumping the version, which renames exactly that
 * architecture's runs (tests/sae/defaults_test.ts pins the defaults of each version). Likewise a
 * penalty run of mode normalized carries `train.lambda.unit_version` when its penalty's law is past
 * version 1 (PENALTY_UNIT_VERSION): changing that law renames exactly those runs.
 */
export function runIdentity(effective: EffectiveConfig): Record<string, unknown> {
  const arch = getArchitecture(effective.sae.architecture);
  const defaults = arch.options.parse({}) as Record<string, unknown>;
  const options = (effective.sae[arch.name] ?? {}) as Record<string, unknown>;
  const changed = Object.fromEntries(
    Object.entries(options).filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(defaults[k])),
  );
  // train.engine, train.precision and data.heldout_path joined the config after run ids existed:
  // their defaults (auto, absent or fp32: the same numbers, null) rename no run.
  const { engine, ...train } = effective.train;
  let trainId: Record<string, unknown> = engine === "auto" ? train : effective.train;
  if (trainId.precision === "fp32") {
    const { precision: _, ...rest } = trainId;
    trainId = rest;
  }
  // train.lambda.validation_layout joined after run ids existed: it renames only the runs whose
  // held-out rows it moves (validation_tokens set, layout interleaved); after is the old layout.
  const lambda = effective.train.lambda;
  if (
    lambda?.validation_layout !== undefined &&
    (lambda.validation_tokens === undefined || lambda.validation_layout === "after")
  ) {
    const { validation_layout: _, ...kept } = lambda;
    trainId = { ...trainId, lambda: kept };
  }
  const shape = lambda !== undefined && "mode" in lambda && lambda.mode === "normalized"
    ? arch.penaltyShape?.(effective.sae as unknown as SaeConfig)
    : undefined;
  const unitVersion = shape ? PENALTY_UNIT_VERSION[shape.kind] ?? 1 : 1;
  if (unitVersion > 1) {
    trainId = {
      ...trainId,
      lambda: { ...(trainId.lambda as object), unit_version: unitVersion },
    };
  }
  return {
    ...effective,
    data: withoutNull(effective.data, "heldout_path"),
    train: trainId,
    sae: { ...effective.sae, [arch.name]: { defaults: arch.defaultsVersion, ...changed } },
  };
}

/** `data` without `key` when that key is null (a default added after run ids existed). */
function withoutNull<T extends object>(data: T, key: string): T {
  if (!(key in data) || (data as Record<string, unknown>)[key] != null) return data;
  const { [key]: _, ...rest } = data as Record<string, unknown>;
  return rest as T;
}
