// End to end with a Hugging Face llama-family folder: `deno task sweep` (a subprocess, the real
// trainer) trains one SAE on the random-weight llama fixture (tests/lm/hf/fixtures, checked against
// numpy in tests/lm/hf/weights_test.ts), and refuses broken folders with exit 2 before writing.
import assert from "node:assert/strict";
import { join } from "node:path";
import { FIXTURES, requireFixture } from "../lm/_fixtures.ts";
import { copyFixture, hfFixture, removeCopy } from "../lm/hf/_hf_fixtures.ts";
import { listTree, runTask } from "./_spawn.ts";

const text = () => requireFixture(`${FIXTURES}text/tinystories_valid_head.txt`);

const spec = (checkpoint: string, cacheDir: string) => `
name: hf_e2e
data:
  source: lm
  checkpoint: ${checkpoint}
  train_text: [${text()}]
  heldout_text: [${text()}]
  site: resid_post
  layer: 1
  context: 64
  train_tokens: 2000
  heldout_tokens: 1100
  cache_dir: ${cacheDir}
sae: {width: 64, architecture: topk, target_l0: 8}
train: {tokens: 5120, batch_size: 256, lr: 0.003, log_every: 10}
eval: {tokens: 1024, lm_sequences: 4}
`;

Deno.test("deno task sweep trains an SAE on a Hugging Face folder (no data.tokenizer)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "saesweep_hf_e2e_" });
  try {
    await Deno.writeTextFile(join(dir, "hf.yaml"), spec(hfFixture("llama"), join(dir, "cache")));
    const r = await runTask("sweep", ["hf.yaml", "--jobs", "1"], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /1 done, 0 skipped \(already done\), 0 failed/);
    const expDir = join(dir, "runs", "hf_e2e");
    const [id] = [...Deno.readDirSync(expDir)].map((e) => e.name).filter((n) => !n.startsWith("."));
    const s = JSON.parse(await Deno.readTextFile(join(expDir, id, "summary.json")));
    assert.equal(s.d_model, 32);
    assert.equal(s.steps, 20);
    assert.ok(s.fvu > 0 && s.fvu < 1, `fvu ${s.fvu}`);
    assert.ok(Number.isFinite(s.ce_clean) && Number.isFinite(s.delta_lm_loss));
    // The run records every file of the folder it read.
    const run = JSON.parse(await Deno.readTextFile(join(expDir, id, "run.json")));
    const read = JSON.stringify(run);
    for (const f of ["config.json", "model.safetensors", "tokenizer.json"]) {
      assert.ok(read.includes(`${hfFixture("llama")}/${f}`), f);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task sweep refuses an unsupported architecture and a missing shard with the path and a hint, exit 2", async () => {
  const dir = await Deno.makeTempDir({ prefix: "saesweep_hf_bad_" });
  const model = await copyFixture("qwen2");
  try {
    await Deno.writeTextFile(join(dir, "hf.yaml"), spec(model, join(dir, "cache")));
    const config = await Deno.readTextFile(`${model}/config.json`);
    await Deno.writeTextFile(
      `${model}/config.json`,
      config.replace('"Qwen2ForCausalLM"', '"Qwen2MoeForCausalLM"'),
    );
    const r = await runTask("sweep", ["hf.yaml"], { cwd: dir });
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `data\\.checkpoint: ${model}/config\\.json: unsupported architecture "Qwen2MoeForCausalLM"`,
      ),
    );
    assert.match(r.stderr, /data\.checkpoint: hint: expected architectures \["Qwen2ForCausalLM"\]/);

    await Deno.writeTextFile(`${model}/config.json`, config);
    await Deno.remove(`${model}/model-00001-of-00002.safetensors`);
    const shard = await runTask("sweep", ["hf.yaml"], { cwd: dir });
    assert.equal(shard.code, 2, shard.stderr);
    assert.match(
      shard.stderr,
      new RegExp(`missing shard ${model}/model-00001-of-00002\\.safetensors`),
    );
    assert.match(shard.stderr, /hint: .*model\.safetensors\.index\.json lists 2 shards/);

    await Deno.writeTextFile(`${model}/config.json`, config.slice(0, 40));
    const bad = await runTask("sweep", ["hf.yaml"], { cwd: dir });
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, new RegExp(`${model}/config\\.json: not valid JSON`));
    assert.deepEqual(await listTree(dir), ["hf.yaml"]); // nothing written
  } finally {
    await Deno.remove(dir, { recursive: true });
    await removeCopy(model);
  }
});
