// Tests lib/export/saelens.ts with every architecture's exportTensors(): the exported directory,
// loaded back, encodes raw activations exactly as the trained SAE encodes normalised ones (latents
// scaled by the normalisation scalar C), and reconstructs in raw units.
import assert from "node:assert/strict";
import { join } from "node:path";
import { architectures, getArchitecture } from "../../lib/sae/registry.ts";
import { TfjsEngine } from "../../lib/train/tfjs_engine.ts";
import { loadSaeDirectory, writeSaeDirectory } from "../../lib/export/saelens.ts";
import { Rng } from "../../lib/data/rng.ts";
import { closeness, gaussian, saeSpec, useBackend } from "../_tf.ts";

const D = 8, F = 24, B = 64, C = 2.5;

for (const name of architectures().map((a) => a.name)) {
  Deno.test(`${name}: export then reload gives the same encodings and reconstructions in raw units`, async () => {
    await useBackend("cpu");
    const sae = saeSpec({
      architecture: name,
      width: F,
      target_l0: 4,
      jumprelu: { init_threshold: 0.05 },
    });
    const arch = getArchitecture(sae.architecture);
    const engine = new TfjsEngine(arch, arch.init({ d: D, f: F }, { sae, rng: new Rng(2) }), {
      sae,
      adamEps: 1e-8,
      gradClip: null,
    });
    // Train a little so biases, b_dec and thresholds are non-trivial.
    for (let i = 0; i < 30; i++) {
      engine.step(gaussian(B * D, { seed: 100 + i, mean: 0.3 }), { lr: 1e-2, lambda: 0.01 });
    }
    const raw = gaussian(B * D, { seed: 7, std: C, mean: 0.5 });
    const normalised = raw.map((v) => v / C);
    const ref = await engine.encode(normalised, B);
    const snap = await engine.snapshot();
    const dir = join(await Deno.makeTempDir(), "sae");
    const exported = arch.exportTensors(snap.params, snap.state, { sae, scale: C });
    await writeSaeDirectory(dir, {
      tensors: exported.tensors,
      cfg: { ...exported.cfg, d_in: D, d_sae: F, dtype: "float32", normalize_activations: "none" },
    });
    const loaded = await loadSaeDirectory(dir);
    const f = await loaded.encode(raw, B);
    const xHat = await loaded.decode(f, B);
    const tol = { atol: 1e-4, rtol: 1e-4 };
    assert.ok(ref.f.some((v) => v > 0), "some latents must fire");
    assert.ok(closeness(f, ref.f.map((v) => v * C), tol) <= 1, "latents differ");
    assert.ok(closeness(xHat, ref.xHat.map((v) => v * C), tol) <= 1, "reconstructions differ");
    engine.dispose();
  });
}

Deno.test("loadSaeDirectory() explains a missing or unsupported directory", async () => {
  const dir = await Deno.makeTempDir();
  await assert.rejects(loadSaeDirectory(dir), /cannot read .*cfg\.json/);
  await Deno.writeTextFile(join(dir, "cfg.json"), JSON.stringify({ architecture: "matryoshka" }));
  await assert.rejects(loadSaeDirectory(dir), /unsupported SAE architecture "matryoshka"/);
});
