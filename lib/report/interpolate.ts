// Reads a frontier at a given x (L0), linearly in log x between neighbouring points. Pure; never
// extrapolates: outside the measured range the answer is null.

/** Which columns of the frontier rows hold x (must be > 0) and y. */
export interface InterpolateOptions {
  x: string;
  y: string;
}

/**
 * Value of the frontier `rows` at `at`, linear in log(x) between the two nearest points. Returns
 * null when `at` lies outside [min x, max x] of the points (or there are none). Rows with a
 * non-positive or non-finite x, or a non-finite y, are ignored. An exact hit returns that point's y
 * (the lowest y if several points share that x).
 */
export function interpolateAt(
  rows: readonly Record<string, unknown>[],
  at: number,
  options: InterpolateOptions,
): number | null {
  const points = rows
    .map((r) => ({ x: r[options.x], y: r[options.y] }))
    .filter((p): p is { x: number; y: number } =>
      typeof p.x === "number" && typeof p.y === "number" && Number.isFinite(p.x) && p.x > 0 &&
      Number.isFinite(p.y)
    )
    .sort((a, b) => a.x - b.x || a.y - b.y);
  if (points.length === 0 || !(at > 0)) return null;
  if (at < points[0].x || at > points[points.length - 1].x) return null;
  const hit = points.find((p) => p.x === at);
  if (hit) return hit.y;
  const i = points.findIndex((p) => p.x > at);
  const lo = points[i - 1];
  const hi = points[i];
  const t = (Math.log(at) - Math.log(lo.x)) / (Math.log(hi.x) - Math.log(lo.x));
  return lo.y + t * (hi.y - lo.y);
}

/** The measured x range [min, max] of the frontier rows, or null when there are no usable rows. */
export function measuredRange(
  rows: readonly Record<string, unknown>[],
  options: InterpolateOptions,
): [number, number] | null {
  const xs = rows.map((r) => r[options.x]).filter((x): x is number =>
    typeof x === "number" && Number.isFinite(x) && x > 0
  );
  return xs.length === 0 ? null : [Math.min(...xs), Math.max(...xs)];
}
