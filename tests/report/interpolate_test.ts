import { strictEqual } from "node:assert/strict";
import { interpolateAt, measuredRange } from "../../lib/report/interpolate.ts";

const frontier = [
  { l0: 8, fvu: 0.2 },
  { l0: 32, fvu: 0.1 },
  { l0: 128, fvu: 0.04 },
];
const opts = { x: "l0", y: "fvu" };
const close = (a: number | null, b: number, tol = 1e-12) =>
  strictEqual(a !== null && Math.abs(a - b) <= tol, true, `${a} vs ${b}`);

Deno.test("interpolateAt() is linear in log L0: the geometric midpoint gets the mean", () => {
  // log 16 lies halfway between log 8 and log 32.
  close(interpolateAt(frontier, 16, opts), 0.15);
  close(interpolateAt(frontier, 64, opts), 0.07);
});

Deno.test("interpolateAt() matches hand-computed values off the midpoint", () => {
  // t = ln(20/8) / ln(32/8) = 0.6609640474436812; 0.2 - 0.1 t = 0.13390359525563188
  close(interpolateAt(frontier, 20, opts), 0.13390359525563188);
  // t = ln(100/32) / ln(4) = 0.8219280948873623; 0.1 - 0.06 t = 0.05068431430675826
  close(interpolateAt(frontier, 100, opts), 0.05068431430675826);
});

Deno.test("interpolateAt() returns measured points exactly, ends included", () => {
  strictEqual(interpolateAt(frontier, 8, opts), 0.2);
  strictEqual(interpolateAt(frontier, 32, opts), 0.1);
  strictEqual(interpolateAt(frontier, 128, opts), 0.04);
});

Deno.test("interpolateAt() never extrapolates outside the measured range", () => {
  strictEqual(interpolateAt(frontier, 7.99, opts), null);
  strictEqual(interpolateAt(frontier, 128.01, opts), null);
  strictEqual(interpolateAt([], 16, opts), null);
  strictEqual(interpolateAt([{ l0: 16, fvu: 0.1 }], 16, opts), 0.1);
  strictEqual(interpolateAt([{ l0: 16, fvu: 0.1 }], 17, opts), null);
});

Deno.test("measuredRange() spans the usable x values", () => {
  strictEqual(JSON.stringify(measuredRange(frontier, opts)), "[8,128]");
  strictEqual(measuredRange([{ l0: 0, fvu: 1 }], opts), null);
});
