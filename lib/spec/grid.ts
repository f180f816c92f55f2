// Cartesian product of sweep axes: axes in spec order, the last axis varying fastest; a zip
// group is one axis whose paths move together; `sweep.exclude` rules drop points. Pure.
import canonicalize from "canonicalize";

/** One sweep axis: one or more config paths (several for a zip group) and their value tuples. */
export interface SweepAxis {
  /** Dotted config paths, e.g. `["sae.target_l0"]`, or all paths of a zip group. */
  paths: string[];
  /** `values[i][j]`: value of `paths[j]` at the axis' i-th point. */
  values: unknown[][];
  /** Where each path's list is in the spec file (`["sweep", "zip", 0, "sae.width"]`). */
  origins: (string | number)[][];
}

/** Number of grid points (product of axis lengths; 1 when there are no axes). */
export function gridSize(axes: readonly SweepAxis[]): number {
  return axes.reduce((n, axis) => n * axis.values.length, 1);
}

/** One grid point: which index of each axis it takes. */
export interface GridPoint {
  /** Index into each axis' values, in axis order. */
  indices: number[];
  /** Dotted path -> value, in axis order. */
  overrides: Record<string, unknown>;
}

/**
 * One `sweep.exclude` rule: a grid point is left out when, for every path of the rule, its value is
 * one of the listed values (`{ sae.architecture: [relu, gated], sae.target_l0: [128] }`).
 */
export interface ExcludeRule {
  /** Swept path (or `recipe`) -> the values that match. */
  match: Record<string, unknown[]>;
  /** Where the rule is in the spec file (`["sweep", "exclude", 0]`). */
  origin: (string | number)[];
}

/** Whether `overrides` (a grid point's swept values) matches `rule`. */
export function excludes(rule: ExcludeRule, overrides: Readonly<Record<string, unknown>>): boolean {
  return Object.entries(rule.match).every(([path, values]) =>
    values.some((v) => canonicalize(v) === canonicalize(overrides[path]))
  );
}

/** Every grid point, in order (the last axis varies fastest), less those an exclude rule matches. */
export function gridPoints(
  axes: readonly SweepAxis[],
  exclude: readonly ExcludeRule[] = [],
): GridPoint[] {
  const total = gridSize(axes);
  const points: GridPoint[] = [];
  for (let n = 0; n < total; n++) {
    const indices = new Array<number>(axes.length);
    let rest = n;
    for (let a = axes.length - 1; a >= 0; a--) {
      const len = axes[a].values.length;
      indices[a] = rest % len;
      rest = Math.floor(rest / len);
    }
    const overrides: Record<string, unknown> = {};
    axes.forEach((axis, a) => {
      axis.paths.forEach((path, j) => {
        overrides[path] = axis.values[indices[a]][j];
      });
    });
    if (!exclude.some((rule) => excludes(rule, overrides))) points.push({ indices, overrides });
  }
  return points;
}
