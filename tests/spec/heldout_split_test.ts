// heldoutSplit(): which runs split their held-out rows between the evaluation and the L0
// controller, checked case by case against what each layout promises.
import assert from "node:assert/strict";
import { heldoutSplit } from "../../lib/spec/heldout_split.ts";
import type { ValidationLayout } from "../../lib/spec/schema.ts";

function config(
  architecture: string,
  lambda: { mode?: string; validation_tokens?: number; validation_layout?: ValidationLayout },
) {
  return {
    sae: { architecture },
    eval: { tokens: 8192 },
    train: { lambda: { mode: "normalized", ...lambda } },
  } as unknown as Parameters<typeof heldoutSplit>[0];
}

Deno.test("heldoutSplit(): interleaved splits every run's rows; after only a controller's; none without validation_tokens", () => {
  const split = (layout: ValidationLayout) => ({ evalTokens: 8192, controlTokens: 1920, layout });
  for (const layout of ["interleaved", "after"] as const) {
    const lambda = { validation_tokens: 1920, validation_layout: layout };
    assert.deepEqual(heldoutSplit(config("jumprelu", lambda)), split(layout));
    assert.deepEqual(heldoutSplit(config("relu", lambda)), split(layout));
    // TopK and a fixed lambda read no control rows: with after they evaluate the first 8192 rows
    // and need no more held-out data than that.
    const uncontrolled = layout === "interleaved" ? split(layout) : null;
    assert.deepEqual(heldoutSplit(config("topk", lambda)), uncontrolled);
    assert.deepEqual(heldoutSplit(config("jumprelu", { ...lambda, mode: "fixed" })), uncontrolled);
    assert.equal(heldoutSplit(config("jumprelu", { validation_layout: layout })), null);
  }
  // run.json of before validation_layout: the controller's rows came after the evaluated ones.
  assert.deepEqual(heldoutSplit(config("jumprelu", { validation_tokens: 1920 })), split("after"));
});
