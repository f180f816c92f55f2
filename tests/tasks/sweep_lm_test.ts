// End to end on a real language model: `deno task sweep` (a subprocess, the real trainer) trains
// JumpReLU and TopK SAEs on stories260K's residual stream for a few hundred steps, then each
// run's summary is checked against references that do not come from this code:
// - ce_clean over the five stories of tinystories_sample.txt (BOS kept, 512-token context) is
//   the fixture README's 1.266 nats/token (llama2.c's model on its own data, 1,804 predictions);
// - ce_zero_ablated at a residual site is ln 512 (see below);
// - delta_lm_loss = ce_spliced - ce_clean is positive (an SAE loses information), finite, and
//   below the zero-ablation bound ce_zero_ablated - ce_clean (the SAE is better than nothing);
// - the exported SAE has SAELens's cfg.json keys and tensor layout.
import assert from "node:assert/strict";
import { join } from "node:path";
import { FIXTURES, requireFixture } from "../lm/_fixtures.ts";
import { runTask } from "./_spawn.ts";

const fixture = (p: string) => requireFixture(`${FIXTURES}${p}`);

const spec = (cacheDir: string) => `
name: lm_e2e
data:
  source: lm
  checkpoint: ${fixture("stories260K/stories260K.bin")}
  tokenizer: ${fixture("stories260K/tok512.bin")}
  train_text: [${fixture("text/tinystories_valid_head.txt")}]
  heldout_text: [${fixture("text/tinystories_sample.txt")}]
  site: resid_post
  layer: 2
  context: 512
  exclude_bos: false
  train_tokens: 4096
  heldout_tokens: 1024
  cache_dir: ${cacheDir}
sae: {width: 128, target_l0: 8, jumprelu: {threshold_param: linear}}
train: {tokens: 38400, batch_size: 128, lr: 0.003, lr_warmup_steps: 10, log_every: 50}
eval: {tokens: 1024, lm_sequences: 5}
sweep:
  sae.architecture: [jumprelu, topk]
report: {target_l0s: [8], metrics: [fvu, delta_lm_loss]}
`;

Deno.test("an lm sweep through deno task sweep reproduces ce_clean and bounds delta LM loss", async () => {
  const dir = await Deno.makeTempDir({ prefix: "saesweep_lm_e2e_" });
  try {
    await Deno.writeTextFile(join(dir, "lm.yaml"), spec(join(dir, "cache")));
    const r = await runTask("sweep", ["lm.yaml", "--jobs", "1"], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /2 done, 0 skipped \(already done\), 0 failed/);
    const expDir = join(dir, "runs", "lm_e2e");
    const ids = [...Deno.readDirSync(expDir)].map((e) => e.name).filter((n) => !n.startsWith("."));
    assert.deepEqual(ids.map((id) => id.split("-")[0]).sort(), ["jumprelu", "topk"]);
    for (const id of ids) {
      const s = JSON.parse(await Deno.readTextFile(join(expDir, id, "summary.json")));
      assert.equal(s.steps, 300, id);
      // The fixture README: 1.266 nats/token over the 1,804 predictions of these stories.
      assert.ok(Math.abs(s.ce_clean - 1.266) <= 0.005, `${id}: ce_clean ${s.ce_clean}`);
      assert.ok(Number.isFinite(s.ce_spliced) && Number.isFinite(s.ce_zero_ablated), id);
      assert.ok(s.delta_lm_loss > 0, `${id}: delta_lm_loss ${s.delta_lm_loss}`);
      assert.ok(Math.abs(s.delta_lm_loss - (s.ce_spliced - s.ce_clean)) < 1e-9, id);
      // A zero residual stream stays zero through the later blocks (RMSNorm(0) = 0 and no layer
      // has a bias), so every logit is 0 and the loss is ln(vocab) = ln 512 exactly.
      assert.ok(Math.abs(s.ce_zero_ablated - Math.log(512)) <= 1e-4, `${id}: ${s.ce_zero_ablated}`);
      // Zeroing the residual stream costs several nats; a trained SAE costs a fraction of that.
      const bound = s.ce_zero_ablated - s.ce_clean;
      assert.ok(bound > 1, `${id}: zero ablation costs only ${bound}`);
      assert.ok(s.delta_lm_loss < 0.5 * bound, `${id}: delta ${s.delta_lm_loss} vs bound ${bound}`);
      assert.ok(
        Math.abs(s.ce_loss_recovered - (s.ce_zero_ablated - s.ce_spliced) / bound) < 1e-9,
        id,
      );
      assert.ok(s.fvu > 0 && s.fvu < 1, `${id}: fvu ${s.fvu}`);
      // SAELens's layout: cfg.json keys and tensor shapes (safetensors header read directly).
      const cfg = JSON.parse(await Deno.readTextFile(join(expDir, id, "sae", "cfg.json")));
      assert.equal(cfg.d_in, 64);
      assert.equal(cfg.d_sae, 128);
      assert.equal(cfg.dtype, "float32");
      assert.equal(cfg.normalize_activations, "none");
      assert.equal(typeof cfg.apply_b_dec_to_input, "boolean");
      assert.equal(cfg.architecture, id.startsWith("topk") ? "topk" : "jumprelu");
      if (cfg.architecture === "topk") assert.equal(cfg.k, 8);
      const bytes = await Deno.readFile(join(expDir, id, "sae", "sae_weights.safetensors"));
      const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
      const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
      assert.deepEqual(header.W_enc.shape, [64, 128]);
      assert.deepEqual(header.W_dec.shape, [128, 64]);
      assert.deepEqual(header.b_dec.shape, [64]);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
