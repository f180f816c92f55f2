// Tests lib/sae/registry.ts: what registerArchitecture() refuses, and that the example in mod.ts's
// module documentation really registers and trains a user architecture (run as written, in a
// subprocess, since the registry is process-wide).
import assert from "node:assert/strict";
import { join } from "node:path";
import { getArchitecture, registerArchitecture } from "../../lib/sae/registry.ts";
import { ROOT } from "../tasks/_spawn.ts";

Deno.test("registerArchitecture() refuses duplicates, shared-key names and penalty options without lambda", () => {
  const topk = getArchitecture("topk");
  assert.throws(() => registerArchitecture(topk), /architecture "topk" is registered/);
  assert.throws(() => registerArchitecture({ ...topk, name: "width" }), /must be snake_case/);
  assert.throws(() => registerArchitecture({ ...topk, name: "Bad-Name" }), /must be snake_case/);
  assert.throws(
    () => registerArchitecture({ ...topk, name: "no_lambda", sparsity: "penalty" }),
    /penalty architecture "no_lambda" needs options lambda and controller_gain/,
  );
  assert.throws(() => getArchitecture("no_lambda"), /unknown architecture "no_lambda"/);
});

/** The ```ts block of mod.ts's module documentation, importing the local mod.ts. */
async function modExample(): Promise<string> {
  const text = await Deno.readTextFile(join(ROOT, "mod.ts"));
  const block = text.match(/```ts\n([\s\S]*?) \* ```/);
  assert.ok(block, "mod.ts documents an example");
  return block[1].split("\n").map((l) => l.replace(/^ \* ?/, "")).join("\n")
    .replace('"@saesweep/saesweep"', JSON.stringify(new URL("../../mod.ts", import.meta.url).href));
}

Deno.test("the mod.ts example registers plain_l1 and trains it from a spec to DONE", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "example.ts"), await modExample());
    await Deno.writeTextFile(
      join(dir, "plain.yaml"),
      [
        "name: plain",
        "data: { source: synthetic, d_model: 8, n_features: 16 }",
        "sae: { architecture: plain_l1, width: 32, target_l0: 4 }",
        "train: { tokens: 32768, batch_size: 256, lr: 0.01, backend: wasm, log_every: 16 }",
        "eval: { tokens: 256 }",
      ].join("\n"),
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", `--config=${ROOT}deno.json`, "-A", "example.ts", "plain.yaml"],
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    assert.equal(out.code, 0, dec.decode(out.stderr));
    const [runId, l0, fvu] = dec.decode(out.stdout).trim().split(" ");
    assert.match(runId, /^run-[0-9a-f]{8}$/);
    assert.ok(Number(l0) > 0 && Number(fvu) > 0 && Number(fvu) < 1, `l0 ${l0}, fvu ${fvu}`);
    const runDir = join(dir, "runs/plain", runId);
    await Deno.stat(join(runDir, "DONE"));
    const manifest = JSON.parse(await Deno.readTextFile(join(runDir, "run.json")));
    assert.equal(manifest.config.sae.architecture, "plain_l1");
    assert.deepEqual(manifest.config.sae.plain_l1, { lambda: 0.01, controller_gain: 0.1 });
    assert.equal(manifest.notes.lambda_mode, "normalized");
    const cfg = JSON.parse(await Deno.readTextFile(join(runDir, "sae/cfg.json")));
    assert.equal(cfg.architecture, "standard");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a penalty architecture without penaltyShape is refused under mode normalized, trains under controller", async () => {
  const script = `
    import { registerArchitecture, getArchitecture } from "${ROOT}lib/sae/registry.ts";
    import { parseExperiment } from "${ROOT}lib/spec/load.ts";
    registerArchitecture({ ...getArchitecture("relu"), name: "no_shape", penaltyShape: undefined });
    const spec = "name: t\\ndata: { source: synthetic }\\nsae: { architecture: no_shape }\\n";
    for (const train of ["", "train: { lambda: { mode: controller } }\\n"]) {
      try {
        parseExperiment(spec + train, "x.yaml");
        console.log("ok");
      } catch (err) {
        console.log(err.message.replaceAll("\\n", " "));
      }
    }
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", `--config=${ROOT}deno.json`, script],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  assert.equal(out.code, 0, dec.decode(out.stderr));
  const [normalized, controller] = dec.decode(out.stdout).trim().split("\n");
  assert.match(
    normalized,
    /x\.yaml:3:\d+: sae\.architecture: .*needs the penalty of architecture no_shape/,
  );
  assert.match(normalized, /set train\.lambda\.mode: controller/);
  assert.equal(controller, "ok");
});
