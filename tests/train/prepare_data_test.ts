import assert from "node:assert/strict";
import { join } from "node:path";
import { loadExperiment } from "../../lib/spec/load.ts";
import { expandSweep } from "../../lib/sweep/expand.ts";
import { openSource } from "../../lib/train/open_source.ts";
import { prepareSweepData } from "../../lib/train/prepare_data.ts";
import { FIXTURES, requireFixture } from "../lm/_fixtures.ts";

requireFixture(`${FIXTURES}text/tinystories_valid_head.txt`);

const SPEC = `name: sites
data:
  source: lm
  checkpoint: ${FIXTURES}stories260K/stories260K.bin
  tokenizer: ${FIXTURES}stories260K/tok512.bin
  train_text: [${FIXTURES}text/tinystories_valid_head.txt]
  heldout_text: [${FIXTURES}text/tinystories_valid_head.txt]
  context: 64
  train_tokens: 1500
  heldout_tokens: 256
  cache_dir: cache
sae: {width: 32, target_l0: 4}
train: {tokens: 2048, batch_size: 256}
eval: {tokens: 256, lm_sequences: 2}
sweep:
  data.site: [resid_pre, attn_out, mlp_out, resid_post]
  sae.architecture: [topk, jumprelu]
`;

Deno.test("prepareSweepData() harvests every site a sweep needs in one pass; the runs then harvest nothing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "spec.yaml"), SPEC);
    const plans = expandSweep(await loadExperiment(join(dir, "spec.yaml")), {
      outDir: join(dir, "runs"),
    });
    assert.equal(plans.length, 8);
    const what = new Set<string>();
    const prepared = await prepareSweepData(plans, { onProgress: (p) => what.add(p.what) });
    assert.deepEqual(prepared, { sections: 4, harvested: 4 }); // 8 runs, 4 distinct data sections
    assert.deepEqual([...what].sort(), [
      "harvesting resid_pre.2, attn_out.2, mlp_out.2, resid_post.2 (held-out)",
      "harvesting resid_pre.2, attn_out.2, mlp_out.2, resid_post.2 (train)",
    ]);
    for (const plan of plans) {
      const source = await openSource(plan.config.data, {
        specDir: plan.specDir,
        streamSeed: 0,
        evalSequences: plan.config.eval.lm_sequences,
      });
      assert.equal(source.describe().harvested_now, false, plan.runId);
      source.close();
    }
    assert.deepEqual(await prepareSweepData(plans), { sections: 4, harvested: 0 });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("prepareSweepData() does nothing for runs without lm data", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      join(dir, "spec.yaml"),
      "name: s\ndata: {source: synthetic}\nsae: {width: 32, target_l0: 4}\n",
    );
    const plans = expandSweep(await loadExperiment(join(dir, "spec.yaml")), {
      outDir: join(dir, "runs"),
    });
    assert.deepEqual(await prepareSweepData(plans), { sections: 0, harvested: 0 });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
