// Tests lib/metrics/l0_miss.ts: one rule for "the run missed its target L0", whose default is the
// spec's report.l0_tolerance default and whose tolerance reaches training through every plan.
import assert from "node:assert/strict";
import { DEFAULT_L0_TOLERANCE, l0RelError, missedTargetL0 } from "../../lib/metrics/l0_miss.ts";
import { parseExperiment } from "../../lib/spec/load.ts";
import { expandSweep } from "../../lib/sweep/expand.ts";

Deno.test("missedTargetL0() is |l0 - target| / target > tolerance, either way, not at it", () => {
  // Target 32: 28 and 36 are exactly 1/8 off (exact in binary).
  assert.equal(l0RelError(28, 32), -0.125);
  assert.equal(l0RelError(36, 32), 0.125);
  for (const l0 of [28, 36]) {
    assert.equal(missedTargetL0(l0RelError(l0, 32), { tolerance: 0.125 }), false);
  }
  for (const l0 of [27.5, 36.5]) {
    assert.equal(missedTargetL0(l0RelError(l0, 32), { tolerance: 0.125 }), true);
  }
  // The default: 10%.
  assert.equal(missedTargetL0(l0RelError(29, 32)), false); // 9.4% below
  assert.equal(missedTargetL0(l0RelError(28, 32)), true); // 12.5% below
});

Deno.test("every plan carries the spec's report.l0_tolerance, DEFAULT_L0_TOLERANCE when unset", () => {
  const text = "name: t\ndata: {source: synthetic}\nsweep:\n  sae.target_l0: [4, 8]\n";
  const plansOf = (yaml: string) => {
    const { spec, axes, configs } = parseExperiment(yaml, "t.yaml");
    return expandSweep({ spec, axes, configs, specPath: "t.yaml", specDir: ".", specHash: "0" }, {
      outDir: "runs",
    });
  };
  const plain = plansOf(text);
  assert.equal(DEFAULT_L0_TOLERANCE, 0.1);
  assert.deepEqual(plain.map((p) => p.l0Tolerance), [0.1, 0.1]);
  const strict = plansOf(text + "report: {l0_tolerance: 0.03}\n");
  assert.deepEqual(strict.map((p) => p.l0Tolerance), [0.03, 0.03]);
  // Not part of what a run reads: the tolerance renames no run.
  assert.deepEqual(strict.map((p) => p.runId), plain.map((p) => p.runId));
});
