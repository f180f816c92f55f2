// Tests lib/report/rating.ts: which runs a rating page compares, how its items are sampled
// (deterministic, balanced, shuffled), and how saved ratings are counted per architecture.
import assert from "node:assert/strict";
import {
  chooseRatingRuns,
  type RatingKey,
  type RatingRun,
  sampleRatingItems,
  sessionId,
  summariseRatings,
} from "../../lib/report/rating.ts";

const run = (run_id: string, architecture: string, l0: number, l0_target = 0): RatingRun => ({
  run_id,
  architecture,
  l0,
  l0_target,
  run_dir: `/runs/${run_id}`,
});

Deno.test("chooseRatingRuns() takes per architecture the swept run closest to the target L0", () => {
  const runs = [
    run("j8", "jumprelu", 13, 8), // swept at 8, missed it
    run("j8b", "jumprelu", 14, 8),
    run("j16", "jumprelu", 15, 16),
    run("t8", "topk", 8, 8),
    run("t16", "topk", 16, 16),
    run("r16", "relu", 17, 16),
  ];
  const chosen = chooseRatingRuns(runs, [8, 16, 32]);
  assert.deepEqual(chosen.get(8)?.map((r) => r.run_id), ["j8", "t8"]);
  assert.deepEqual(chosen.get(16)?.map((r) => r.run_id), ["j16", "r16", "t16"]);
  assert.equal(chosen.has(32), false); // nothing swept there, and 17 is more than 1.5x from 32
});

Deno.test("chooseRatingRuns() falls back to achieved L0 within 1.5x of an unswept target", () => {
  const runs = [
    run("j9", "jumprelu", 9),
    run("j15", "jumprelu", 15),
    run("t8", "topk", 8),
    run("t24", "topk", 24),
    run("r", "relu", 17),
  ];
  const chosen = chooseRatingRuns(runs, [10, 16, 100]);
  assert.deepEqual(chosen.get(10)?.map((r) => r.run_id), ["j9", "t8"]);
  // At 16: topk's nearest in log space are t24 (ratio 1.5) and, out of range, t8 (ratio 2).
  assert.deepEqual(chosen.get(16)?.map((r) => r.run_id), ["j15", "r", "t24"]);
  assert.equal(chosen.has(100), false); // fewer than two architectures qualify
});

Deno.test("sampleRatingItems() draws up to perRun latents per run, shuffled, deterministically", async () => {
  const runs = [run("a", "jumprelu", 8), run("b", "topk", 8)];
  const firing = (r: RatingRun) => r.run_id === "a" ? [0, 2, 4, 6, 8, 10] : [1, 3];
  const items = sampleRatingItems(runs, firing, { targetL0: 8, perRun: 4 });
  assert.deepEqual(items.map((i) => i.item), ["1", "2", "3", "4", "5", "6"]);
  assert.equal(items.filter((i) => i.run_id === "a").length, 4);
  assert.deepEqual(items.filter((i) => i.run_id === "b").map((i) => i.latent).sort(), [1, 3]);
  for (const i of items) assert.ok(firing(runs[i.run_id === "a" ? 0 : 1]).includes(i.latent));
  assert.deepEqual(sampleRatingItems(runs, firing, { targetL0: 8, perRun: 4 }), items);
  // Not grouped by run: over other seeds (targets), run b's items are not always last.
  const lastTwo = [2, 3, 4, 5, 6, 7, 8, 9].map((t) =>
    sampleRatingItems(runs, firing, { targetL0: t, perRun: 4 }).slice(4).every((i) =>
      i.run_id === "b"
    )
  );
  assert.ok(lastTwo.includes(false));
  assert.notEqual(await sessionId(8, items), await sessionId(9, items));
  assert.match(await sessionId(8, items), /^[0-9a-f]{12}$/);
});

Deno.test("summariseRatings() counts each rating under its item's architecture", () => {
  const key: RatingKey = {
    session: "s1",
    target_l0: 8,
    runs: [],
    items: [
      { item: "1", run_id: "a", architecture: "jumprelu", latent: 0 },
      { item: "2", run_id: "b", architecture: "topk", latent: 3 },
      { item: "3", run_id: "a", architecture: "jumprelu", latent: 5 },
    ],
  };
  const { rows, problems } = summariseRatings([
    { path: "r1.json", session: "s1", ratings: { "1": "yes", "2": "no", "3": "maybe" } },
    { path: "r2.json", session: "s1", ratings: { "1": "yes", "2": "great", "9": "no" } },
    { path: "r3.json", session: "zz", ratings: { "1": "yes" } },
  ], new Map([["s1", key]]));
  assert.deepEqual(rows, [
    { target_l0: 8, architecture: "jumprelu", rated: 3, yes: 2, maybe: 1, no: 0 },
    { target_l0: 8, architecture: "topk", rated: 1, yes: 0, maybe: 0, no: 1 },
  ]);
  assert.deepEqual(problems, [
    'r2.json: ignored rating "great" of item 2',
    'r2.json: ignored rating "no" of item 9',
    "r3.json: session zz matches no rating page key",
  ]);
});

Deno.test("chooseRatingRuns() admits achieved L0s at 1.5x of an unswept target either way, not beyond", () => {
  // Target 16: 24 and 16 / 1.5 = 10.67 are at the factor (in); 24.01 and 10.66 just past it (out).
  const pick = (l0: number) =>
    chooseRatingRuns([run("j", "jumprelu", 16), run("t", "topk", l0)], [16]).get(16)?.map((r) =>
      r.run_id
    ) ?? [];
  assert.deepEqual(pick(24), ["j", "t"]);
  assert.deepEqual(pick(16 / 1.5), ["j", "t"]);
  assert.deepEqual(pick(24.01), []);
  assert.deepEqual(pick(10.66), []);
  // Of two runs of one architecture inside the factor, the one nearer in log space: 21 (ratio
  // 1.3125) over 12 (ratio 1.333), though 12 is nearer in plain L0 (4 away against 5).
  const near = chooseRatingRuns(
    [run("j", "jumprelu", 16), run("t12", "topk", 12), run("t21", "topk", 21)],
    [16],
  );
  assert.deepEqual(near.get(16)?.map((r) => r.run_id), ["j", "t21"]);
});
