// Tests lib/report/l0_misses.ts: runs are flagged when their achieved L0 misses the target by more
// than the tolerance in either direction (an undershoot is what a run stuck at its lambda floor
// shows), never exactly at the tolerance. Values are exact in binary so "exactly" means exactly.
import assert from "node:assert/strict";
import { l0Accuracy } from "../../lib/report/l0_misses.ts";
import { l0MissTable } from "../../lib/report/_tables.ts";
import type { ReportModel } from "../../lib/report/build.ts";

const done = (run_id: string, l0: number, l0_target = 32) => ({
  run_id,
  status: "done",
  architecture: "jumprelu",
  l0_target,
  l0,
});

Deno.test("l0Accuracy() flags undershoots and overshoots beyond the tolerance, and neither at it", () => {
  // Target 32, tolerance 0.125 (4 latents): 28 and 36 are exactly at it; one ulp of 36 (2^-47)
  // further is outside, by 2^-52 in rel_error: no slack in the comparison is allowed.
  const eps = 2 ** -47;
  const runs = [
    done("on", 32),
    done("under-at", 28),
    done("over-at", 36),
    done("under-just", 28 - eps),
    done("over-just", 36 + eps),
    done("under-inside", 28 + eps),
    done("over-inside", 36 - eps),
    done("floor", 8), // a run stuck at its lambda floor: a quarter of the target
    done("double", 64),
    done("zero", 0),
  ];
  const got = l0Accuracy(runs, { tolerance: 0.125 });
  // rel_error = (l0 - 32) / 32 by hand: 28 -> -1/8, 36 -> 1/8, 8 -> -3/4, 64 -> 1, 0 -> -1.
  assert.deepEqual(got.map((r) => [r.run_id, r.rel_error, r.outside]), [
    ["on", 0, false],
    ["under-at", -0.125, false],
    ["over-at", 0.125, false],
    ["under-just", -0.125 - eps / 32, true],
    ["over-just", 0.125 + eps / 32, true],
    ["under-inside", -0.125 + eps / 32, false],
    ["over-inside", 0.125 - eps / 32, false],
    ["floor", -0.75, true],
    ["double", 1, true],
    ["zero", -1, true],
  ]);
});

Deno.test("l0Accuracy() takes the miss training recorded (l0_rel_error) over recomputing it", () => {
  // A summary's l0 is rounded for display elsewhere; the run's own l0_rel_error is what counts.
  const recorded = { ...done("recorded", 36), l0_rel_error: 0.25 };
  const [r] = l0Accuracy([recorded], { tolerance: 0.2 });
  assert.equal(r.rel_error, 0.25);
  assert.equal(r.outside, true); // (36 - 32) / 32 = 0.125 would have been inside
});

Deno.test("l0Accuracy() reads the tolerance it is given, in both directions", () => {
  // The same runs at tolerance 0.5: 16 and 48 are exactly at it; 8 and 64 are beyond it.
  const runs = [done("a", 16), done("b", 48), done("c", 8), done("d", 64)];
  assert.deepEqual(l0Accuracy(runs, { tolerance: 0.5 }).map((r) => r.outside), [
    false,
    false,
    true,
    true,
  ]);
  // Tolerance 0: only an exact hit is inside.
  const exact = [done("e", 32), done("f", 32 + 2 ** -16), done("g", 32 - 2 ** -16)];
  assert.deepEqual(l0Accuracy(exact, { tolerance: 0 }).map((r) => r.outside), [false, true, true]);
});

Deno.test("l0Accuracy() keeps only done runs with a numeric L0 and a positive target, in order", () => {
  const runs = [
    { ...done("failed", 8), status: "failed" },
    { ...done("damaged", 8), status: "damaged" },
    done("no-l0", null as unknown as number),
    done("no-target", 8, 0),
    done("kept", 8, 16),
    { ...done("series", 40), series: "topk k=32" },
  ];
  assert.deepEqual(l0Accuracy(runs, { tolerance: 0.1 }), [
    {
      run_id: "kept",
      series: "jumprelu",
      l0_target: 16,
      l0: 8,
      rel_error: -0.5,
      outside: true,
    },
    {
      run_id: "series",
      series: "topk k=32",
      l0_target: 32,
      l0: 40,
      rel_error: 0.25,
      outside: true,
    },
  ]);
});

Deno.test("the report's L0 table lists an undershooting run as well as an overshooting one", () => {
  // Target 16: 8 is -50.0%, 24 is +50.0%, 16 is on target and not listed (tolerance 0.1).
  const l0 = l0Accuracy([done("under", 8, 16), done("on", 16, 16), done("over", 24, 16)], {
    tolerance: 0.1,
  });
  const table = l0MissTable({ l0 } as ReportModel);
  assert.deepEqual(table.rows.map((r) => r.map((c) => c.text)), [
    ["under", "jumprelu", "16", "8", "-50.0%"],
    ["over", "jumprelu", "16", "24", "+50.0%"],
  ]);
});
