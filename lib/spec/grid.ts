// Cartesian product of sweep axes: axes in spec order, the last axis varying fastest; a zip
// group is one axis whose paths move together. Pure.

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

/** Every grid point, in order (the last axis varies fastest). */
export function gridPoints(axes: readonly SweepAxis[]): GridPoint[] {
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
    points.push({ indices, overrides });
  }
  return points;
}
