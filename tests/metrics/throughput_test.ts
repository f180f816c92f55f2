import assert from "node:assert/strict";
import { tokensPerSecond } from "../../lib/metrics/throughput.ts";

Deno.test("tokensPerSecond() divides tokens by seconds and is 0 before time passes", () => {
  assert.equal(tokensPerSecond(4096, 2), 2048);
  assert.equal(tokensPerSecond(4096, 0), 0);
});
