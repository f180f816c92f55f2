// raceEngines() (how train.engine auto decides by measured speed): each candidate is timed over
// its steps and one statistics read, after an untimed first step; the fastest wins, a candidate
// that fails to start or to step loses, and every engine is disposed. A fake clock that each
// fake engine advances makes the times exact.
import assert from "node:assert/strict";
import { raceEngines } from "../../lib/engine/race.ts";
import type { Engine } from "../../lib/engine/engine.ts";

let clock = 0;
const disposed: string[] = [];

/** A fake engine whose step costs `stepMs` and whose statistics read costs `readMs`. */
function fake(name: string, stepMs: number, readMs = 0, fail = false): () => Promise<Engine> {
  return () =>
    Promise.resolve({
      backend: name,
      step() {
        if (fail) throw new Error("device lost");
        clock += stepMs;
      },
      readStats() {
        clock += readMs;
        return { steps: 1, loss: 0, terms: {}, l0: 0, fvu: 0, nonFinite: [] };
      },
      encode: () => ({ f: new Float32Array(), xHat: new Float32Array() }),
      snapshot: () => ({ params: {}, state: {}, optimizer: { t: 0, m: {}, v: {} } }),
      restore() {},
      dispose: () => void disposed.push(name),
    });
}

Deno.test("raceEngines() times steps plus the final read and picks the fastest", async () => {
  disposed.length = 0;
  const r = await raceEngines({
    cpu: fake("cpu", 30),
    // Queues steps cheaply but pays at the read: 3 x 2 + 60 = 66 ms over 3 steps, 22 ms a step.
    webgpu: fake("webgpu", 2, 60),
  }, { batch: 4, d: 2, hyper: { lr: 0, lambda: 0 }, steps: 3, now: () => clock });
  assert.deepEqual(r.ms, { cpu: 30, webgpu: 22 });
  assert.equal(r.winner, "webgpu");
  assert.equal(r.describe, "cpu 30.0, webgpu 22.0");
  assert.deepEqual(disposed.sort(), ["cpu", "webgpu"]);
});

Deno.test("raceEngines() lets a candidate that fails lose, never throw", async () => {
  disposed.length = 0;
  const r = await raceEngines({
    webgpu: fake("webgpu", 1, 0, true),
    cpu: fake("cpu", 50),
    none: () => Promise.reject(new Error("no adapter")),
  }, { batch: 4, d: 2, hyper: { lr: 0, lambda: 0 }, now: () => clock });
  assert.equal(r.ms.webgpu, Infinity);
  assert.equal(r.ms.none, Infinity);
  assert.equal(r.winner, "cpu");
  assert.deepEqual(disposed.sort(), ["cpu", "webgpu"]);
});
