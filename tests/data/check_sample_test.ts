// Tests lib/data/check_sample.ts on hand-made arrays, and end to end: NaN in activation files
// stops the run with a DataError naming file, row and column (not a "divergence" with a hint to
// lower the learning rate), even when the sweep's up-front check is bypassed (`deno task run`).
import assert from "node:assert/strict";
import { join } from "node:path";
import { checkFinite, checkSample } from "../../lib/data/check_sample.ts";
import { DataError, DivergenceError } from "../../lib/errors.ts";
import { writeNpy } from "../../lib/formats/npy.ts";
import { loadExperiment } from "../../lib/spec/load.ts";
import { expandSweep } from "../../lib/sweep/expand.ts";
import { trainRun } from "../../lib/train/train_run.ts";
import { rows, specWith } from "../corpus/cases.ts";

Deno.test("checkFinite() names the row and column of the first non-finite value", () => {
  checkFinite(new Float32Array([1, 2, 3, 4]), 2, (r) => `x: row ${r}`);
  assert.throws(
    () => checkFinite(new Float32Array([1, 2, 3, Infinity, NaN, 0]), 2, (r) => `x: row ${r}`),
    (e: Error) =>
      e instanceof DataError &&
      e.message === "x: row 1, column 1 holds Infinity (not a finite number)",
  );
});

Deno.test("checkSample() refuses all-zero and constant samples and accepts varied ones", () => {
  checkSample(new Float32Array([1, 0, 0, 1]), 2, "d");
  assert.throws(
    () => checkSample(new Float32Array(6), 2, "d"),
    /d: all 3 sampled activation vectors are zero/,
  );
  assert.throws(
    () => checkSample(new Float32Array([5, -1, 5, -1, 5, -1]), 2, "d"),
    /d: all 3 sampled activation vectors are identical/,
  );
  assert.throws(
    () => checkSample(new Float32Array([1, NaN]), 2, "d"),
    /d: sample row 0, column 1 holds NaN/,
  );
});

Deno.test("trainRun() on a file with NaN fails with a DataError naming file, row and column", async () => {
  const dir = await Deno.makeTempDir();
  const x = rows(3000, 8);
  x[2900 * 8 + 6] = NaN; // in the held-out tail (rows 2700-2999: 300 >= eval.tokens 256)
  await writeNpy(join(dir, "a.npy"), x, { shape: [3000, 8], dtype: "<f4" });
  await Deno.writeTextFile(
    join(dir, "spec.yaml"),
    specWith("{source: files, path: a.npy, heldout_fraction: 0.1}"),
  );
  const [plan] = expandSweep(await loadExperiment(join(dir, "spec.yaml")), { outDir: dir });
  const err = await trainRun(plan).then(() => undefined, (e) => e);
  assert.ok(err instanceof DataError && !(err instanceof DivergenceError), String(err));
  assert.match(err.message, /a\.npy: row 2900, column 6 holds NaN \(not a finite number\)/);
  assert.doesNotMatch(err.hint, /train\.lr/);
  await Deno.remove(dir, { recursive: true });
});
