// Tests lib/train/memory_estimate.ts against a hand count of float32 values.
import assert from "node:assert/strict";
import { estimateRunBytes, formatBytes } from "../../lib/train/memory_estimate.ts";

Deno.test("estimateRunBytes() counts parameters x10 and batch activations, 4 bytes each", () => {
  // d 2, f 3, batch 5: params 3*2*3 + 3*3 + 2 = 29 -> 290; per step 5 * (6*3 + 4*2) = 130.
  assert.equal(estimateRunBytes({ d: 2, f: 3, batch: 5 }), 4 * (290 + 130));
  // The absurd width: 2e9 latents of d_model 8 need terabytes, far above any machine.
  assert.ok(estimateRunBytes({ d: 8, f: 2e9, batch: 256 }) > 1e12);
});

Deno.test("formatBytes() picks binary units", () => {
  assert.equal(formatBytes(512), "512 B");
  assert.equal(formatBytes(1536), "1.5 KiB");
  assert.equal(formatBytes(24 * 2 ** 30), "24 GiB");
});
