// Pareto frontier of rows over two numeric columns (both minimised by default), per group. Pure:
// the frontier is the non-dominated set; ties at the same point are all kept.

/** Which columns span the frontier, and how rows are split into groups. */
export interface ParetoOptions {
  /** Column on the x axis (minimised), e.g. `l0`. */
  x: string;
  /** Column on the y axis, e.g. `fvu`. */
  y: string;
  /** Column(s) whose values split rows into separate frontiers, e.g. `architecture`. */
  groupBy?: string | string[];
  /** Direction of y: `min` (default: fvu, mse, delta_lm_loss) or `max` (explained_variance). */
  yOrder?: "min" | "max";
}

/**
 * The non-dominated rows of each group, sorted by group (first appearance) then by x. A row is
 * dominated when another row of its group is no worse in x and y and better in one of them.
 * Rows whose x or y is not a finite number are left out.
 */
export function paretoFrontier<T extends Record<string, unknown>>(
  rows: readonly T[],
  options: ParetoOptions,
): T[] {
  const keys = options.groupBy === undefined
    ? []
    : (Array.isArray(options.groupBy) ? options.groupBy : [options.groupBy]);
  const sign = options.yOrder === "max" ? -1 : 1;
  const groups = new Map<string, { row: T; x: number; y: number }[]>();
  for (const row of rows) {
    const x = row[options.x];
    const y = row[options.y];
    if (typeof x !== "number" || typeof y !== "number") continue;
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    const key = JSON.stringify(keys.map((k) => row[k] ?? null));
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push({ row, x, y: sign * y });
  }
  const out: T[] = [];
  for (const points of groups.values()) {
    points.sort((a, b) => a.x - b.x || a.y - b.y);
    // Sweep by increasing x: a point survives when its y beats every point before it, or when it
    // repeats exactly the point that first reached the lowest y so far.
    let bestY = Infinity;
    let bestX = NaN;
    for (const p of points) {
      if (p.y < bestY) {
        bestY = p.y;
        bestX = p.x;
        out.push(p.row);
      } else if (p.y === bestY && p.x === bestX) {
        out.push(p.row);
      }
    }
  }
  return out;
}
