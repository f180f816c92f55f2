import assert from "node:assert/strict";
import { didYouMean, editDistance } from "../../lib/spec/did_you_mean.ts";

Deno.test("editDistance() counts insertions, deletions, substitutions and transpositions", () => {
  assert.equal(editDistance("bandwidth", "bandwidth"), 0);
  assert.equal(editDistance("bandwith", "bandwidth"), 1);
  assert.equal(editDistance("witdh", "width"), 1);
  assert.equal(editDistance("kitten", "sitting"), 3);
});

Deno.test("didYouMean() suggests the closest name and nothing for unrelated words", () => {
  assert.equal(didYouMean("bandwith", ["lambda", "bandwidth", "init_threshold"]), "bandwidth");
  assert.equal(didYouMean("zzzzzz", ["lambda", "bandwidth"]), undefined);
});
