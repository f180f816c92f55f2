// Test helper run as a subprocess (the CUDA libraries load once per process): creates the cuda
// engine for a small TopK case with `engine` (argument 1: cuda or auto; argument 2, optional:
// the batch size, default the case's) and prints one JSON line: the engine it got and the notes,
// or the error's class, exit code, message and hint.
import { createEngine, engineChoice } from "../../../lib/engine/create_engine.ts";
import { makeParityCase } from "../../../lib/bench/engine_parity.ts";
import { SaeSweepError } from "../../../lib/errors.ts";

const c = makeParityCase("topk", { steps: 1 });
try {
  const engine = await createEngine(c.arch, c.init, {
    sae: c.sae,
    adamEps: 1e-8,
    gradClip: null,
    batch: Deno.args[1] ? Number(Deno.args[1]) : c.dims.b,
    engine: Deno.args[0] as "cuda" | "auto",
  });
  console.log(
    JSON.stringify({ used: engineChoice(engine)?.used, notes: engineChoice(engine)?.notes }),
  );
  engine.dispose();
} catch (err) {
  if (!(err instanceof SaeSweepError)) throw err;
  console.log(JSON.stringify({
    error: err.name,
    exitCode: err.exitCode,
    message: err.message,
    hint: err.hint,
  }));
}
