// The d_model/d_sae/batch shapes that `deno task gpu-bench` and `deno task gpu-probe` time, and
// their --shapes parser (usage errors exit 2).
import { UsageError } from "../lib/errors.ts";

/** The speed issue's shapes plus Gemma-2-2B's residual width (2304). */
export const DEFAULT_SHAPES =
  "64/512/4096,256/2048/4096,512/4096/4096,768/16384/1024,2304/16384/4096";

/** Where the tfjs reference engine is timed too: it takes seconds per step on a GPU. */
export const REFERENCE_SHAPES = "64/512/4096,512/4096/4096";

export interface Shape {
  d: number;
  f: number;
  batch: number;
}

export function parseShapes(text: string, flag = "--shapes"): Shape[] {
  if (text.trim() === "") return [];
  return text.split(",").map((s) => {
    const parts = s.trim().split("/").map(Number);
    if (parts.length !== 3 || parts.some((n) => !Number.isInteger(n) || n < 1)) {
      throw new UsageError(`${flag}: expected d_model/d_sae/batch, got "${s}"`);
    }
    return { d: parts[0], f: parts[1], batch: parts[2] };
  });
}

export function shapeKey(s: Shape): string {
  return `${s.d}/${s.f}/${s.batch}`;
}
