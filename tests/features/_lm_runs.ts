// Test helper: trains tiny real stories260K runs (JumpReLU and TopK at L0 8, width 64, a few
// seconds each) into a temporary directory, for the feature-data and feature-page tests.
import { join } from "node:path";
import { loadExperiment } from "../../lib/spec/load.ts";
import { expandSweep } from "../../lib/sweep/expand.ts";
import type { RunPlan } from "../../lib/sweep/plan.ts";
import { trainRun } from "../../lib/train/train_run.ts";
import { FIXTURES, requireFixture } from "../lm/_fixtures.ts";

const spec = (cacheDir: string) => `
name: tinylm
data:
  source: lm
  checkpoint: ${requireFixture(`${FIXTURES}stories260K/stories260K.bin`)}
  tokenizer: ${requireFixture(`${FIXTURES}stories260K/tok512.bin`)}
  train_text: [${requireFixture(`${FIXTURES}text/tinystories_valid_head.txt`)}]
  heldout_text: [${FIXTURES}text/tinystories_valid_head.txt]
  site: resid_post
  layer: 2
  context: 64
  train_tokens: 3000
  heldout_tokens: 1024
  cache_dir: ${cacheDir}
sae: {width: 64, jumprelu: {threshold_param: linear}}
train: {tokens: 32768, batch_size: 256, lr: 0.003, lr_warmup_steps: 4, log_every: 8, backend: wasm}
eval: {tokens: 1024, lm_sequences: 2}
sweep:
  sae.architecture: [jumprelu, topk]
  sae.target_l0: [8]
report: {target_l0s: [8], metrics: [fvu]}
`;

/** Trains both runs into `dir` (runs under dir/runs/tinylm) and returns their plans. */
export async function trainTinyLmRuns(
  dir: string,
): Promise<{ specPath: string; plans: RunPlan[] }> {
  const specPath = join(dir, "tinylm.yaml");
  await Deno.writeTextFile(specPath, spec(join(dir, "cache")));
  const plans = expandSweep(await loadExperiment(specPath), { outDir: join(dir, "runs") });
  for (const plan of plans) await trainRun(plan);
  return { specPath, plans };
}
