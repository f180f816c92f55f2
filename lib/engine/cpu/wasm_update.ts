// The optimiser passes of the fast engine (Adam, decoder-gradient projection, row
// renormalisation) on the WebAssembly kernels of sgemm.wasm, split over its threads, for buffers
// that live in its memory; the TypeScript versions in adam.ts otherwise. Both give bit-identical
// results (assembly/update.ts repeats the float64 operations in order), so the choice never
// changes a training run. Shapes: F latents, D d_model.
import type { WasmKernels } from "./wasm_kernels.ts";
import { type AdamOptions, adamUpdate, normalizeRows, projectRows } from "./adam.ts";

/** Entries below which a pass runs on the calling thread only. */
const MIN_PARALLEL = 1 << 16;

export interface UpdateOps {
  projectRows(g: Float32Array, w: Float32Array, d: number): void;
  adamUpdate(p: Float32Array, g: Float32Array, options: AdamOptions): void;
  normalizeRows(w: Float32Array, d: number): void;
}

export const JS_UPDATE: UpdateOps = { projectRows, adamUpdate, normalizeRows };

function ranges(n: number, lanes: number, unit = 1): [number, number][] {
  const step = Math.ceil(n / lanes / unit) * unit;
  const out: [number, number][] = [];
  for (let s = 0; s < n; s += step) out.push([s, Math.min(n, s + step)]);
  return out.length ? out : [[0, 0]];
}

/** The passes on `wasm` (whole rows or, for Adam, even entry ranges per thread). */
export function wasmUpdate(wasm: WasmKernels): UpdateOps {
  const at = (...views: Float32Array[]) => {
    const offsets = views.map((v) => wasm.arena.offsetOf(v));
    return offsets.every((o) => o >= 0) ? offsets : null;
  };
  const lanes = (n: number) => n < MIN_PARALLEL ? 1 : wasm.lanes();
  return {
    projectRows(g, w, d) {
      const o = at(g, w);
      if (!o) return projectRows(g, w, d);
      wasm.run("projectRows", [o[0], o[1], d], ranges(g.length / d, lanes(g.length)));
    },
    adamUpdate(p, g, opt) {
      const o = at(p, g, opt.m, opt.v);
      if (!o) return adamUpdate(p, g, opt);
      const args = [
        ...o,
        opt.beta1,
        opt.beta2,
        opt.lr / opt.c1,
        1 / opt.c2,
        opt.eps,
        opt.scale,
      ];
      // Even-length ranges, so the float64 pairs line up as in one pass.
      wasm.run("adam", args, ranges(p.length, lanes(p.length), 2));
    },
    normalizeRows(w, d) {
      const o = at(w);
      if (!o) return normalizeRows(w, d);
      wasm.run("normalizeRows", [o[0], d], ranges(w.length / d, lanes(w.length)));
    },
  };
}
