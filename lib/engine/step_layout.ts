// The layout both GPU engines give a training step's statistics (webgpu/step_programs.ts and
// cuda/step_plan.ts write the same kernels in WGSL and CUDA C): the scalar slots of the per-step
// `scal` buffer and the rows of the column pass's per-latent statistics. Constants, and the sum
// each row holds.

/** Scalar slots of the per-step `scal` buffer. */
export const S = {
  sse: 0,
  sst: 1,
  active: 2,
  near: 3,
  penalty: 4,
  nDead: 5,
  auxSpread: 6,
  auxErr: 7,
  auxValue: 8,
  auxCoef: 9,
  l1: 10,
  minKept: 11,
  preAct: 12,
  /** sum_i H(f - theta) counts (the step penalty on post-activations). */
  stepH: 13,
  /** sum tanh(c f) (the tanh penalty). */
  tanh: 14,
  /** Sum of squared errors of the Gated SAE's frozen-decoder reconstruction. */
  gateRecon: 15,
  /** Gradient sums of squares, one slot per parameter from here. */
  gradSq: 16,
  /** Sums of squared errors of Matryoshka's inner prefixes, one slot each from here. */
  prefixSse: 32,
} as const;

/** Inner prefixes the scalar slots hold room for (`scal` has 64 slots). */
export const MAX_PREFIXES = 32;

/**
 * Per-latent statistics of the column pass (rows of `cs` [QN, F]): tsum is the tanh penalty's
 * sum of tanh(c f); hstep and kstep count H(f - theta) and the step STE's window on the outputs f
 * (the step penalty on post-activations).
 */
export const Q = {
  count: 0,
  fsum: 1,
  minpos: 2,
  kcount: 3,
  dnear: 4,
  pcount: 5,
  psum: 6,
  tsum: 7,
  hstep: 8,
  kstep: 9,
} as const;
export const QN = 10;

/**
 * The Gated SAE's per-latent sums, in rows only JumpReLU fills otherwise (a step has one
 * selection): gate sums ReLU(gate) (the L1), dgate and dmag the gate and magnitude gradients
 * (gb_gate, gb_mag), dmagPre dmag (xIn W_gate) (gr_mag / exp(r_mag)).
 */
export const QG = { gate: Q.kcount, dgate: Q.dnear, dmag: Q.pcount, dmagPre: Q.psum } as const;
/** Row chunks of the column pass. */
export const COL_CHUNKS = 64;

/**
 * The sum each row of the column pass's partials holds, by the name both engines' column passes
 * give it: the gated selection's sums replace JumpReLU's in the rows QG names.
 */
export function columnRows(gated: boolean): [row: number, sum: string][] {
  const rows = new Map<number, string>([
    [Q.count, "count"],
    [Q.fsum, "fsum"],
    [Q.minpos, "minpos"],
    [Q.kcount, "kc"],
    [Q.dnear, "dn"],
    [Q.pcount, "pc"],
    [Q.psum, "ps"],
    [Q.tsum, "ts"],
    [Q.hstep, "hs"],
    [Q.kstep, "ks"],
  ]);
  if (gated) {
    rows.set(QG.gate, "gl").set(QG.dgate, "dgs").set(QG.dmag, "dms").set(QG.dmagPre, "dmz");
  }
  return [...rows];
}
