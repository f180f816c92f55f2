// Tests lib/train/memory_estimate.ts against a hand count of float32 values.
import assert from "node:assert/strict";
import { estimateRunBytes, formatBytes } from "../../lib/train/memory_estimate.ts";

Deno.test("estimateRunBytes() counts parameters x10 and batch activations, 4 bytes each", () => {
  // d 2, f 3, batch 5: params 3*2*3 + 3*3 + 2 = 29 -> 290; per step 5 * (6*3 + 4*2) = 130.
  assert.equal(estimateRunBytes({ d: 2, f: 3, batch: 5 }), 4 * (290 + 130));
  // The absurd width: 2e9 latents of d_model 8 need terabytes, far above any machine.
  assert.ok(estimateRunBytes({ d: 8, f: 2e9, batch: 256 }) > 1e12);
});

Deno.test("estimateRunBytes() counts the held-out vectors of eval.tokens when they are the peak", () => {
  // d 2, f 3, batch 5, eval 10000: evaluation 2*10000*2 + 2048*(2*3 + 2) = 56384 > per step 130.
  assert.equal(
    estimateRunBytes({ d: 2, f: 3, batch: 5, evalTokens: 10000 }),
    4 * (290 + 56384),
  );
  // A few eval tokens do not add to the step's peak.
  assert.equal(estimateRunBytes({ d: 2, f: 3, batch: 5, evalTokens: 4 }), 4 * (290 + 130));
  // The eval.tokens 500,000,000 at d_model 32: 2 * 5e8 * 32 * 4 bytes = 128 GB.
  assert.ok(estimateRunBytes({ d: 32, f: 256, batch: 1024, evalTokens: 5e8 }) > 1.28e11);
});

Deno.test("formatBytes() picks binary units", () => {
  assert.equal(formatBytes(512), "512 B");
  assert.equal(formatBytes(1536), "1.5 KiB");
  assert.equal(formatBytes(24 * 2 ** 30), "24 GiB");
});
