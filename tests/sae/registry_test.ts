// Tests lib/sae/registry.ts: what registerArchitecture() refuses, and what mode normalized needs of a
// registered penalty architecture (in a subprocess, since the registry is process-wide). The
// example in mod.ts's module documentation, which registers and trains one, runs as a doc test.
import assert from "node:assert/strict";
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
