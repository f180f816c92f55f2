// The training step of a linear SAE on the cuda engine as a list of operations over named device
// buffers: cuBLAS products and CUDA C kernels (cuda_c.ts). The same step, stage for stage, as the
// webgpu engine's (lib/engine/webgpu/step_programs.ts, built from the same architecture
// description, WebGpuStep): encoder GEMM, selection (ReLU, JumpReLU, per-row TopK or batch TopK by
// radix select), decoder GEMM, reconstruction gradient, one column pass over [B, F] that gates the
// latent gradient and gathers per-latent counts, the extra terms (decoder-norm L1, JumpReLU step
// penalty, pre-activation loss, AuxK), weight-gradient GEMMs, Adam with decoder projection and
// renormalisation, state updates and on-device statistics. For k-sparse codes (L.sparse) the
// decode, the latent gradients and the weight gradients run over lists of kept latents instead
// (sparse.ts). Pure: no CUDA calls.
// Shapes: B batch, D d_model, F latents.
import { LINEAR_ENCODER, type Selection, type WebGpuStep } from "../webgpu/kernel.ts";
import { statsRowLength } from "../step_stats.ts";
import {
  cf,
  columnSum,
  type CudaKernel,
  elementwise,
  globalKth,
  type Named,
  PARTS,
  PRELUDE,
  reduceIntoSlot,
  rowKth,
  rowPass,
  sumIntoSlot,
} from "./cuda_c.ts";
import { COL_CHUNKS, columnRows, Q, QG, QN, S } from "../step_layout.ts";
import { tanhSech2 } from "./tanh_sech2.ts";
import {
  type ColumnLists,
  columnLists,
  selectRows,
  sparseColumnProduct,
  sparseDecode,
  sparseRowDot,
} from "./sparse.ts";
import { prefixGroups, termExpressions } from "../step_terms.ts";

/**
 * A row-major product C[m, n] = alpha op(A) op(B) + beta C (+ the bias row broadcast first),
 * op(A) [m, k], op(B) [k, n]; the engine turns it into one column-major cuBLAS call.
 */
export interface GemmOp {
  kind: "gemm";
  label: string;
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  alpha: number;
  beta: number;
  a: string;
  b: string;
  c: string;
  /**
   * Sub-matrices: element offsets into a, b and c, and the row-major leading dimensions of A and C
   * when they are columns of a wider matrix (default their own widths: k or m, and n). B's
   * sub-matrices are row ranges, which an offset alone selects.
   */
  at?: { a?: number; b?: number; c?: number; lda?: number; ldc?: number };
  /** As CudaKernel's. */
  when?: "aux" | "noAux";
}

export type Op = CudaKernel | GemmOp;

type PrefixTerm = Extract<WebGpuStep["terms"][number], { kind: "prefix_recon" }>;
type AuxTerm = Extract<WebGpuStep["terms"][number], { kind: "auxk" }>;

/** Whether AuxK does any work (else only its zero value is written). */
function auxOn(term: AuxTerm): boolean {
  return term.k > 0 && term.alpha !== 0;
}

/** Marks `ops` to run only while some latent may be dead (AuxK's work). */
function whileAux(ops: Op[]): Op[] {
  return ops.map((op) => ({ ...op, when: "aux" as const }));
}

/** The dimensions and settings a plan is built for. */
export interface PlanLayout {
  b: number;
  d: number;
  f: number;
  step: WebGpuStep;
  /** Trainable parameters in order (Adam's hp slots follow this order). */
  paramNames: string[];
  /** Element counts of the parameters. */
  sizes: Record<string, number>;
  /** Names of the state tensors. */
  stateNames: string[];
  adam: { beta1: number; beta2: number; eps: number; gradClip: number | null };
  unitNormDecoder: boolean;
  /** Number of loss terms (recon first). */
  termCount: number;
  /**
   * Which products run over lists of kept latents (sparse.ts; lib/engine/sparse_plan.ts's rule):
   * `main` the decode, the latent gradient and both weight gradients, `aux` AuxK's decode and
   * latent gradient. Absent: every product is a dense GEMM.
   */
  sparse?: { main: boolean; aux: boolean };
}

/** Buffer names: parameters `p.<name>`, gradients `g.`, Adam moments `m.`, `v.`, state `s.`. */
export const P = (n: string) => `p.${n}`;
const G = (n: string) => `g.${n}`;
const ST = (n: string) => `s.${n}`;

/** The per-latent row lists of the sparse weight gradients (the column pass's chunks). */
function columnListsOf(L: PlanLayout): ColumnLists {
  const chunks = Math.min(COL_CHUNKS, L.b);
  return { idx: "sparse.colIdx", cnt: "sparse.colCnt", chunks, per: Math.ceil(L.b / chunks) };
}

/** Each row's kept latents [B, F] and their counts [B] (unsigned), of f or of AuxK's fAux. */
const ROW_LISTS = { idx: "sparse.rowIdx", cnt: "sparse.rowCnt" };
const AUX_LISTS = { idx: "sparse.auxIdx", cnt: "sparse.auxCnt" };

/** Element counts of every work buffer a plan uses besides parameters, moments and state. */
export function workBuffers(L: PlanLayout): Record<string, number> {
  const { b, d, f } = L;
  const out: Record<string, number> = {
    x: b * d,
    xIn: b * d,
    pre: b * f,
    f: b * f,
    df: b * f,
    xHat: b * d,
    dxHat: b * d,
    xMean: d,
    cp: QN * Math.min(COL_CHUNKS, b) * f,
    cs: QN * f,
    cpart: 64 * Math.max(d, f),
    part: 64 * PARTS,
    scal: 64,
    stats: statsRowLength(L.termCount),
    hp: 8 + L.paramNames.length,
    kth: b,
    ctl: 258,
    rown: f,
    flags: L.paramNames.length + L.stateNames.length,
  };
  if (L.step.terms.some((t) => t.kind === "auxk")) {
    Object.assign(out, {
      "aux.e": b * d,
      "aux.eHat": b * d,
      "aux.fAux": b * f,
      "aux.dfAux": b * f,
      "aux.kthAux": b,
      "aux.eMean": d,
    });
  }
  const prefix = L.step.terms.find((t): t is PrefixTerm => t.kind === "prefix_recon");
  if (prefix) {
    out["prefix.mx"] = b * d;
    prefix.widths.forEach((_, m) => out[`prefix.dx${m}`] = b * d);
  }
  if (L.step.selection.kind === "gate_magnitude") {
    // ReLU(gate) then the frozen-decoder term's latent gradient; that term's reconstruction then
    // its gradient; the column sums of d pi (the bias the encoder lacks, for b_dec's gradient).
    Object.assign(out, { "gate.g": b * f, "gate.x": b * d, "gate.s": f });
  }
  if (L.sparse?.main) {
    // Lists as large as the matrices they index (no code overflows them), u32 entries.
    const cols = columnListsOf(L);
    Object.assign(out, {
      [ROW_LISTS.idx]: b * f,
      [ROW_LISTS.cnt]: b,
      [cols.idx]: f * b,
      [cols.cnt]: cols.chunks * f,
    });
    if (L.sparse.aux) Object.assign(out, { [AUX_LISTS.idx]: b * f, [AUX_LISTS.cnt]: b });
  }
  return out;
}

/** The encoder's weight and bias (if any) buffers, and where gb_enc's column sums of d pre go. */
function encoderOf(
  L: PlanLayout,
): { w: string; bias?: string; gw: string; gbias: string; label: string } {
  const enc = L.step.encoder ?? LINEAR_ENCODER;
  return {
    label: `pre = xIn ${enc.weight}${enc.bias === null ? "" : ` + ${enc.bias}`}`,
    w: P(enc.weight),
    bias: enc.bias === null ? undefined : P(enc.bias),
    gw: G(enc.weight),
    gbias: enc.bias === null ? "gate.s" : G(enc.bias),
  };
}

function gemm(
  label: string,
  o: {
    m: number;
    n: number;
    k: number;
    transA?: boolean;
    transB?: boolean;
    alpha?: number;
    beta?: number;
  },
  bufs: { a: string; b: string; c: string; bias?: string; at?: GemmOp["at"] },
): Op[] {
  const out: Op[] = [];
  let beta = o.beta ?? 0;
  if (bufs.bias) {
    out.push(elementwise({
      label: `${label}: bias rows`,
      n: o.m * o.n,
      body: `c[i] = bias[i % ${o.n}u];`,
      buffers: { c: bufs.c, bias: bufs.bias },
    }));
    beta = 1;
  }
  out.push({
    kind: "gemm",
    label,
    m: o.m,
    n: o.n,
    k: o.k,
    transA: o.transA ?? false,
    transB: o.transB ?? false,
    alpha: o.alpha ?? 1,
    beta,
    a: bufs.a,
    b: bufs.b,
    c: bufs.c,
    ...(bufs.at ? { at: bufs.at } : {}),
  });
  return out;
}

function thresholdName(sel: Selection): string {
  return sel.kind === "threshold" && sel.log ? "log_threshold" : "threshold";
}

/** CUDA C for theta_j of the JumpReLU threshold parameter `th`. */
function thetaOf(sel: Selection): string {
  return sel.kind === "threshold" && sel.log ? "expf(th[j])" : "th[j]";
}

/** The encoder half: xIn, pre, f (training or inference selection). Shared with encode(). */
export function encoderPlan(L: PlanLayout, options: { training: boolean }): Op[] {
  const { b, d, f, step } = L;
  const out: Op[] = [];
  if (step.preEncoderBias) {
    out.push(elementwise({
      label: "x - b_dec",
      n: b * d,
      body: `xIn[i] = x[i] - bd[i % ${d}u];`,
      buffers: { x: "x", xIn: "xIn", bd: P("b_dec") },
    }));
  }
  const enc = encoderOf(L);
  out.push(...gemm(enc.label, { m: b, n: f, k: d }, {
    a: step.preEncoderBias ? "xIn" : "x",
    b: enc.w,
    c: "pre",
    bias: enc.bias,
  }));
  out.push(...selectPlan(L, options));
  if (L.sparse?.main) {
    out.push(sparseDecode({
      label: "xHat = f W_dec + b_dec (sparse)",
      rows: b,
      cols: f,
      d,
      val: "f",
      ...ROW_LISTS,
      w: P("W_dec"),
      out: "xHat",
      bias: P("b_dec"),
    }));
    return out;
  }
  out.push(...gemm("xHat = f W_dec + b_dec", { m: b, n: d, k: f }, {
    a: "f",
    b: P("W_dec"),
    c: "xHat",
    bias: P("b_dec"),
  }));
  return out;
}

function selectPlan(L: PlanLayout, options: { training: boolean }): Op[] {
  const { b, f, step } = L;
  const sel = step.selection;
  const n = b * f;
  if (sel.kind === "rectify") {
    return [elementwise({
      label: "f = relu(pre)",
      n,
      body: "f[i] = fmaxf(pre[i], 0.0f);",
      buffers: { pre: "pre", f: "f" },
    })];
  }
  if (sel.kind === "threshold") {
    return [elementwise({
      label: "f = jumprelu(pre)",
      n,
      body: `unsigned j = i % ${f}u; float z = pre[i]; f[i] = z > ${thetaOf(sel)} ? z : 0.0f;`,
      buffers: { pre: "pre", f: "f", th: P(thresholdName(sel)) },
    })];
  }
  if (sel.kind === "gate_magnitude") {
    return [elementwise({
      label: "f = H(gate) relu(mag), relu(gate)",
      n,
      body: `unsigned j = i % ${f}u; float z = pre[i]; float gate = z + bg[j];
    f[i] = gate > 0.0f ? fmaxf(z * expf(rm[j]) + bm[j], 0.0f) : 0.0f;
    ga[i] = fmaxf(gate, 0.0f);`,
      buffers: {
        pre: "pre",
        f: "f",
        ga: "gate.g",
        bg: P("b_gate"),
        rm: P("r_mag"),
        bm: P("b_mag"),
      },
    })];
  }
  if (sel.kind === "batch_topk" && !options.training) {
    return [keepWhere(L, {
      label: "f = pre above the running threshold",
      keep: () => "z > fmaxf(thr[0], 0.0f)",
      extra: { thr: ST("threshold") },
    })];
  }
  if (sel.kind === "row_topk") {
    return [
      rowKth({
        label: "row k-th",
        rows: b,
        cols: f,
        k: Math.min(sel.k, f),
        src: "pre",
        kth: "kth",
      }),
      keepWhere(L, {
        label: "f = top k per row",
        keep: (row) => `key(z) >= kth[${row}] && z > 0.0f`,
        extra: { kth: "kth" },
        types: { kth: "unsigned" },
      }),
    ];
  }
  return [
    ...globalKth({ label: "batch k-th", n, k: Math.min(sel.k * b, n), src: "pre", ctl: "ctl" }),
    keepWhere(L, {
      label: "f = top k B of the batch",
      keep: () => "key(z) >= ctl[0] && z > 0.0f",
      extra: { ctl: "ctl" },
      types: { ctl: "unsigned" },
    }),
  ];
}

/**
 * f = pre where `keep` holds (z the pre-activation; `keep(row)` gets the expression of its row),
 * else 0; with the sparse products (L.sparse) it also lists each row's kept latents.
 */
function keepWhere(L: PlanLayout, o: {
  label: string;
  keep: (row: string) => string;
  extra: Named;
  types?: Record<string, string>;
}): CudaKernel {
  const { b, f } = L;
  if (L.sparse?.main) {
    return selectRows({
      label: `${o.label} (listed)`,
      rows: b,
      cols: f,
      src: "pre",
      out: "f",
      ...ROW_LISTS,
      keep: o.keep("row"),
      extra: o.extra,
      types: o.types,
    });
  }
  return elementwise({
    label: o.label,
    n: b * f,
    body: `float z = pre[i]; f[i] = (${o.keep(`i / ${f}u`)}) ? z : 0.0f;`,
    buffers: { pre: "pre", f: "f", ...o.extra },
    types: o.types,
  });
}

/** The whole training step (after x and hp are uploaded). */
export function stepPlan(L: PlanLayout): Op[] {
  const { b, d, f, step } = L;
  const out: Op[] = [];
  const relu = step.terms.some((t) => t.kind === "decoder_norm_l1");
  if (relu) {
    out.push(rowPass({
      label: "decoder row norms",
      rows: f,
      cols: d,
      dot: `w[r * ${d}u + k] * w[r * ${d}u + k]`,
      body: "if (k == 0u) rown[r] = sqrtf(t);",
      buffers: { w: P("W_dec"), rown: "rown" },
    }));
  }
  out.push(...encoderPlan(L, { training: true }));
  out.push(...sumIntoSlot("scal", {
    label: "dxHat, sse",
    n: b * d,
    body: `float e = xHat[i] - x[i]; dxHat[i] = ${cf(2 / b)} * e;`,
    value: "e * e",
    slot: S.sse,
    buffers: { x: "x", xHat: "xHat", dxHat: "dxHat", part: "part" },
  }));
  out.push(...columnSum({
    label: "x column means",
    rows: b,
    cols: d,
    src: "x",
    out: "xMean",
    cpart: "cpart",
    combine: `s / ${cf(b)}`,
  }));
  out.push(...sumIntoSlot("scal", {
    label: "sst",
    n: b * d,
    body: `float c = x[i] - xm[i % ${d}u];`,
    value: "c * c",
    slot: S.sst,
    buffers: { x: "x", xm: "xMean", part: "part" },
  }));
  out.push(...latentGradient(L, {
    label: "df = dxHat W_dec^T",
    left: "dxHat",
    out: "df",
    lists: L.sparse?.main ? ROW_LISTS : undefined,
  }));
  const prefix = step.terms.find((t): t is PrefixTerm => t.kind === "prefix_recon");
  if (prefix) out.push(...prefixReconstructions(L, prefix));
  if (step.terms.some((t) => t.kind === "frozen_gate_recon")) out.push(...frozenGateRecon(L));
  out.push(...columnPass(L));
  if (step.selection.kind === "gate_magnitude") out.push(gatedGradients(L));
  out.push(latentSum(L, { label: "active", value: `cs[${Q.count * f}u + j]`, slot: S.active }));
  for (const term of step.terms) {
    if (term.kind === "decoder_norm_l1") {
      out.push(latentSum(L, {
        label: "l1",
        value: `cs[${Q.fsum * f}u + j] * rown[j]`,
        slot: S.l1,
        extra: { rown: "rown" },
      }));
    } else if (term.kind === "step") out.push(...stepPenalty(L, term));
    else if (term.kind === "tanh") out.push(...tanhPenalty(L));
    else if (term.kind === "auxk") out.push(...auxK(L, term));
    else if (term.kind === "pre_act") out.push(...preActLoss(L, term));
    else if (term.kind === "gate_l1") {
      out.push(latentSum(L, { label: "gate l1", value: `cs[${QG.gate * f}u + j]`, slot: S.l1 }));
    }
  }
  const auxTerm = step.terms.find((t): t is AuxTerm => t.kind === "auxk");
  if (L.sparse?.main) {
    out.push(...sparseDecoderGradient(L, auxTerm));
  } else {
    out.push(...gemm("gW_dec = f^T dxHat", { m: f, n: d, k: b, transA: true }, {
      a: "f",
      b: "dxHat",
      c: G("W_dec"),
    }));
  }
  if (auxTerm && !L.sparse?.main) {
    out.push(
      ...whileAux(gemm("gW_dec += fAux^T deHat", { m: f, n: d, k: b, transA: true, beta: 1 }, {
        a: "aux.fAux",
        b: "aux.eHat",
        c: G("W_dec"),
      })),
    );
  }
  if (relu) {
    out.push(elementwise({
      label: "gW_dec += decoder-norm path",
      n: f * d,
      body: `unsigned j = i / ${d}u; float s = cs[${Q.fsum * f}u + j];
    if (s != 0.0f) g[i] += hp[0] * s / ${cf(b)} / rown[j] * w[i];`,
      buffers: { g: G("W_dec"), w: P("W_dec"), cs: "cs", rown: "rown", hp: "hp" },
    }));
  }
  if (prefix) out.push(...prefixWeightGradients(L, prefix));
  const enc = encoderOf(L);
  const xIn = step.preEncoderBias ? "xIn" : "x";
  if (L.sparse?.main) {
    out.push(sparseColumnProduct({
      label: "gW_enc = xIn^T dpre (sparse)",
      rows: b,
      cols: f,
      d,
      lists: columnListsOf(L),
      terms: [{ val: "df", mat: xIn }],
      out: enc.gw,
      transposed: true,
    }));
  } else {
    out.push(...gemm("gW_enc = xIn^T dpre", { m: d, n: f, k: b, transA: true }, {
      a: xIn,
      b: "df",
      c: enc.gw,
    }));
  }
  out.push(
    ...columnSum({ label: "gb_enc", rows: b, cols: f, src: "df", out: enc.gbias, cpart: "cpart" }),
  );
  out.push(
    ...columnSum({
      label: "gb_dec",
      rows: b,
      cols: d,
      src: "dxHat",
      out: G("b_dec"),
      cpart: "cpart",
    }),
  );
  if (step.preEncoderBias) {
    out.push(...gemm("gb_dec -= W_enc gb_enc", {
      m: 1,
      n: d,
      k: f,
      transB: true,
      alpha: -1,
      beta: 1,
    }, { a: enc.gbias, b: enc.w, c: G("b_dec") }));
  }
  out.push(...update(L));
  out.push(...stateUpdate(L));
  out.push(statsKernel(L));
  return out;
}

/**
 * out [B, F] = left [B, D] W_dec^T: everywhere (a dense GEMM), or at the listed entries of each
 * row only (`lists`), which are all the column pass (and AuxK's "dpre += aux") reads.
 */
function latentGradient(L: PlanLayout, o: {
  label: string;
  left: string;
  out: string;
  lists?: { idx: string; cnt: string };
}): Op[] {
  const { b, d, f } = L;
  if (!o.lists) {
    return gemm(o.label, { m: b, n: f, k: d, transB: true }, {
      a: o.left,
      b: P("W_dec"),
      c: o.out,
    });
  }
  return [sparseRowDot({
    label: `${o.label} (sparse)`,
    rows: b,
    cols: f,
    d,
    left: o.left,
    w: P("W_dec"),
    ...o.lists,
    out: o.out,
  })];
}

/**
 * gW_dec = f^T dxHat over the per-latent row lists; with AuxK, while some latent may be dead, the
 * same kernel adds fAux^T deHat (the lists then hold the rows where f > 0 or fAux > 0).
 */
function sparseDecoderGradient(L: PlanLayout, auxTerm: AuxTerm | undefined): Op[] {
  const { b, d, f } = L;
  const product = (aux: boolean) =>
    sparseColumnProduct({
      label: `gW_dec = f^T dxHat${aux ? " + fAux^T deHat" : ""} (sparse)`,
      rows: b,
      cols: f,
      d,
      lists: columnListsOf(L),
      terms: [
        { val: "f", mat: "dxHat" },
        ...(aux ? [{ val: "aux.fAux", mat: "aux.eHat" }] : []),
      ],
      out: G("W_dec"),
      transposed: false,
    });
  if (!auxTerm || !auxOn(auxTerm)) return [product(false)];
  return [{ ...product(false), when: "noAux" }, { ...product(true), when: "aux" }];
}

/**
 * Matryoshka's inner reconstructions, before the column pass, group by group as the cpu engine
 * does (group m holds the latents [w_{m-1}, w_m)): x_hat_m = x_hat_{m-1} + f[:, group m]
 * W_dec[group m] from b_dec, dxHat_m = 2 (x_hat_m - x) / B and its sum of squares (slot prefixSse
 * + m); then each dxHat_m becomes D_m = the sum of dxHat_j over inner j >= m (what a latent of
 * group m sees from every prefix holding it) and df[:, group m] += D_m W_dec[group m]^T. GEMMs over
 * sub-matrices (offsets and leading dimensions), so every group is multiplied once.
 */
function prefixReconstructions(L: PlanLayout, term: PrefixTerm): Op[] {
  const { b, d, f } = L;
  const groups = prefixGroups(term.widths);
  const out: Op[] = [elementwise({
    label: "x_hat_0 = b_dec",
    n: b * d,
    body: `xh[i] = bias[i % ${d}u];`,
    buffers: { xh: "prefix.mx", bias: P("b_dec") },
  })];
  groups.forEach(({ lo, hi }, m) => {
    out.push(
      ...gemm(`x_hat_${hi} += f[:, ${lo}:${hi}] W_dec[${lo}:${hi}]`, {
        m: b,
        n: d,
        k: hi - lo,
        beta: 1,
      }, { a: "f", b: P("W_dec"), c: "prefix.mx", at: { a: lo, lda: f, b: lo * d } }),
      ...sumIntoSlot("scal", {
        label: `dxHat_${hi}, sse_${hi}`,
        n: b * d,
        body: `float e = xh[i] - x[i]; dx[i] = ${cf(2 / b)} * e;`,
        value: "e * e",
        slot: S.prefixSse + m,
        buffers: { x: "x", xh: "prefix.mx", dx: `prefix.dx${m}`, part: "part" },
      }),
    );
  });
  for (let m = groups.length - 2; m >= 0; m--) {
    out.push(elementwise({
      label: `D_${m} = dxHat_${groups[m].hi} + D_${m + 1}`,
      n: b * d,
      body: "dx[i] += up[i];",
      buffers: { dx: `prefix.dx${m}`, up: `prefix.dx${m + 1}` },
    }));
  }
  groups.forEach(({ lo, hi }, m) => {
    out.push(...gemm(`df[:, ${lo}:${hi}] += D_${m} W_dec[${lo}:${hi}]^T`, {
      m: b,
      n: hi - lo,
      k: d,
      transB: true,
      beta: 1,
    }, { a: `prefix.dx${m}`, b: P("W_dec"), c: "df", at: { b: lo * d, c: lo, ldc: f } }));
  });
  return out;
}

/**
 * Matryoshka's share of the decoder gradients, after gW_dec = f^T dxHat: gW_dec[group m] +=
 * f[:, group m]^T D_m, and dxHat += D_0 (the sum of every inner dxHat) so that gb_dec, its
 * column sums, covers every prefix.
 */
function prefixWeightGradients(L: PlanLayout, term: PrefixTerm): Op[] {
  const { b, d, f } = L;
  const out: Op[] = prefixGroups(term.widths).flatMap(({ lo, hi }, m) =>
    gemm(`gW_dec[${lo}:${hi}] += f[:, ${lo}:${hi}]^T D_${m}`, {
      m: hi - lo,
      n: d,
      k: b,
      transA: true,
      beta: 1,
    }, { a: "f", b: `prefix.dx${m}`, c: G("W_dec"), at: { a: lo, lda: f, c: lo * d } })
  );
  out.push(elementwise({
    label: "dxHat += D_0",
    n: b * d,
    body: "dxHat[i] += dx[i];",
    buffers: { dxHat: "dxHat", dx: "prefix.dx0" },
  }));
  return out;
}

/**
 * The Gated SAE's frozen-decoder reconstruction, before the column pass: x_aux = ReLU(gate) W_dec
 * + b_dec, dxAux = 2 (x_aux - x) / B and its sum of squares (slot gateRecon), then the gate
 * path's latent gradient dxAux W_dec^T over ReLU(gate) in gate.g (read by the column pass).
 */
function frozenGateRecon(L: PlanLayout): Op[] {
  const { b, d, f } = L;
  return [
    ...gemm("xAux = relu(gate) W_dec + b_dec", { m: b, n: d, k: f }, {
      a: "gate.g",
      b: P("W_dec"),
      c: "gate.x",
      bias: P("b_dec"),
    }),
    ...sumIntoSlot("scal", {
      label: "dxAux, aux sse",
      n: b * d,
      body: `float e = xa[i] - x[i]; xa[i] = ${cf(2 / b)} * e;`,
      value: "e * e",
      slot: S.gateRecon,
      buffers: { x: "x", xa: "gate.x", part: "part" },
    }),
    ...gemm("dgate = dxAux W_dec^T", { m: b, n: f, k: d, transB: true }, {
      a: "gate.x",
      b: P("W_dec"),
      c: "gate.g",
    }),
  ];
}

/** The gated selection's own gradients from the column pass's sums: gb_gate, gb_mag, gr_mag. */
function gatedGradients(L: PlanLayout): CudaKernel {
  const { f } = L;
  return elementwise({
    label: "gb_gate, gb_mag, gr_mag",
    n: f,
    body: `gbg[i] = cs[${QG.dgate * f}u + i];
    gbm[i] = cs[${QG.dmag * f}u + i];
    grm[i] = cs[${QG.dmagPre * f}u + i] * expf(rm[i]);`,
    buffers: { cs: "cs", rm: P("r_mag"), gbg: G("b_gate"), gbm: G("b_mag"), grm: G("r_mag") },
  });
}

/**
 * One pass over [B, F] by column chunks: dpre = df (+ the per-latent add) where f > 0, else 0,
 * written over df; per latent: count of f > 0, sum of f, smallest positive f, and for JumpReLU the
 * entries inside the STE window and the sum of df over them (and the pre-activation loss's parts);
 * the tanh penalty adds its gradient to both and sums tanh(c f), the step penalty on
 * post-activations counts f > theta and f inside the step STE's window.
 */
function columnPass(L: PlanLayout): CudaKernel[] {
  const { b, f, step } = L;
  const sel = step.selection;
  const chunks = Math.min(COL_CHUNKS, b);
  const per = Math.ceil(b / chunks);
  const jump = sel.kind === "threshold";
  const relu = step.terms.some((t) => t.kind === "decoder_norm_l1");
  const preAct = step.terms.find((t) => t.kind === "pre_act");
  const tanh = step.terms.find((t) => t.kind === "tanh");
  const post = step.terms.some((t) => t.kind === "step" && t.input === "post");
  const gated = sel.kind === "gate_magnitude";
  const gateL1 = step.terms.some((t) => t.kind === "gate_l1");
  const gateRecon = step.terms.some((t) => t.kind === "frozen_gate_recon");
  const bufs: Named = { pre: "pre", f: "f", df: "df", cp: "cp" };
  if (jump) bufs.th = P(thresholdName(sel));
  if (gated) {
    bufs.bg = P("b_gate");
    bufs.rm = P("r_mag");
  }
  if (gateRecon) bufs.dga = "gate.g";
  if (preAct?.deadOnly) bufs.since = ST("since_fired");
  if (jump && step.bandwidth === "state") bufs.bw = ST("bandwidth");
  if (relu) bufs.rown = "rown";
  if (relu || tanh || gateL1) bufs.hp = "hp";
  const lists = L.sparse?.main ? columnListsOf(L) : undefined;
  if (lists) {
    bufs.lidx = lists.idx;
    bufs.lcnt = lists.cnt;
  }
  // The gated selection's d gate where gate > 0: the frozen-decoder term's and the L1's.
  const gateGrad = [gateRecon ? "dga[i]" : "", gateL1 ? `hp[0] / ${cf(b)}` : ""]
    .filter((t) => t).join(" + ") || "0.0f";
  const eps = step.bandwidth === "state" ? "bw[0]" : cf(step.bandwidth ?? 0.001);
  // The tanh penalty: tanh(c f) and ds = lambda c sech^2(c f) / B per entry (f = 0 below the
  // threshold); ds joins d pre where f > 0 and d f on the STE window.
  const tanhCode = tanh
    ? `${tanhSech2(`${cf(tanh.c)} * v`)}
    float ds = hp[0] * ${cf(tanh.c)} * ts2 / ${cf(b)};`
    : "";
  const dsAdd = tanh ? " + ds; ts += tt" : "";
  const dsNear = tanh ? " + ds" : "";
  const body = `  unsigned j = blockIdx.x * 64u + threadIdx.x;
  unsigned c = blockIdx.y;
  if (j >= ${f}u) return;
  ${jump ? `float theta = ${thetaOf(sel)}; float eps = ${eps};` : ""}
  float add = ${relu ? `hp[0] * rown[j] / ${cf(b)}` : "0.0f"};
  float count = 0.0f, fsum = 0.0f, minpos = BIG, kc = 0.0f, dn = 0.0f, pc = 0.0f, ps = 0.0f;
  float ts = 0.0f, hs = 0.0f, ks = 0.0f;
  ${gated ? "float sc = expf(rm[j]), gl = 0.0f, dgs = 0.0f, dms = 0.0f, dmz = 0.0f;" : ""}
  ${
    preAct
      ? `bool counted = ${preAct.deadOnly ? `since[j] >= ${cf(preAct.deadTokens)}` : "true"};`
      : ""
  }
  unsigned r1 = min(${b}u, (c + 1u) * ${per}u);
  ${lists ? "unsigned listed = 0u;" : ""}
  for (unsigned r = c * ${per}u; r < r1; r++) {
    unsigned i = r * ${f}u + j;
    float v = f[i];
    float g = df[i];
    ${tanhCode}
    if (v > 0.0f) { count += 1.0f; fsum += v; minpos = fminf(minpos, v); df[i] = g + add${dsAdd}; }
    else df[i] = 0.0f;
    ${lists ? `if (v > 0.0f) { lidx[j * ${b}u + c * ${per}u + listed] = r; listed++; }` : ""}
    ${
    // Gated: df is d mag here (d f where f > 0); d pi = d gate H(gate) + exp(r_mag) d mag.
    gated
      ? `float pz = pre[i], gt = pz + bg[j], dg = 0.0f, dm = df[i];
    if (gt > 0.0f) { gl += gt; dg = ${gateGrad}; dgs += dg; }
    dms += dm; dmz += dm * pz; df[i] = dg + sc * dm;`
      : ""}
    ${
    jump
      ? `float z = pre[i];
    float u = (z - theta) / eps;
    if (fabsf(z - theta) < eps && u > -0.5f && u < 0.5f) { kc += 1.0f; dn += g${dsNear}; }`
      : ""
  }
    ${
    post
      ? `float up = (v - theta) / eps;
    if (fabsf(v - theta) < eps && up > -0.5f && up < 0.5f) ks += 1.0f;
    if (v > theta) hs += 1.0f;`
      : ""
  }
    ${
    preAct
      ? `float gap = theta - pre[i];
    if (counted && gap > 0.0f) { pc += 1.0f; ps += gap; df[i] -= ${cf(preAct.alpha / b)}; }`
      : ""
  }
  }
  unsigned o = c * ${f}u + j;
  ${lists ? "lcnt[o] = listed;" : ""}
  ${columnRows(gated).map(([q, v]) => `cp[${q * chunks * f}u + o] = ${v};`).join("\n  ")}`;
  const pass: CudaKernel = {
    kind: "kernel",
    label: "column pass",
    name: "",
    source: `extern "C" __global__ void NAME(${
      Object.keys(bufs).map((n) => `${n === "lidx" || n === "lcnt" ? "unsigned" : "float"}* ${n}`)
        .join(", ")
    }) {\n${body}\n}`,
    args: Object.values(bufs),
    grid: [Math.ceil(f / 64), chunks],
    block: 64,
  };
  const finish = elementwise({
    label: "column finish",
    n: f,
    body: `    unsigned j = i;
    for (unsigned q = 0u; q < ${QN}u; q++) {
      float s = 0.0f, lo = BIG;
      for (unsigned c = 0u; c < ${chunks}u; c++) {
        float v = cp[(q * ${chunks}u + c) * ${f}u + j];
        s += v;
        lo = fminf(lo, v);
      }
      cs[q * ${f}u + j] = q == ${Q.minpos}u ? lo : s;
    }`,
    buffers: { cp: "cp", cs: "cs" },
  });
  return [pass, finish];
}

/** scal[slot] = sum (or min) over latents j of `value`. */
function latentSum(
  L: PlanLayout,
  o: { label: string; value: string; slot: number; min?: boolean; extra?: Named },
): CudaKernel {
  return reduceIntoSlot({
    label: o.label,
    count: L.f,
    value: o.value,
    slot: o.slot,
    min: o.min,
    buffers: { cs: "cs", scal: "scal", ...(o.extra ?? {}) },
  });
}

/** JumpReLU's step penalty: its value and the threshold gradient (both STEs). */
function stepPenalty(
  L: PlanLayout,
  term: Extract<WebGpuStep["terms"][number], { kind: "step" }>,
): CudaKernel[] {
  const { b, f, step } = L;
  const sel = step.selection;
  if (sel.kind !== "threshold") throw new Error("the step penalty needs a JumpReLU selection");
  const out: CudaKernel[] = [];
  // H(z - theta) and the step STE's window count z = pre (the column pass's count of f > 0 and
  // its STE window) or z = f (its hstep and kstep rows).
  const post = term.input === "post";
  const p = `(cs[${(post ? Q.hstep : Q.count) * f}u + j] / ${cf(b)})`;
  const l0 = `scal[${post ? S.stepH : S.active}] / ${cf(b)}`;
  out.push(latentSum(L, { label: "ste window", value: `cs[${Q.kcount * f}u + j]`, slot: S.near }));
  if (post) {
    out.push(latentSum(L, {
      label: "step counts on f",
      value: `cs[${Q.hstep * f}u + j]`,
      slot: S.stepH,
    }));
  }
  if (term.penalty === "quadratic_frequency") {
    out.push(latentSum(L, {
      label: "frequency penalty",
      value: `${p} * (1.0f + ${p} / ${cf(term.s)})`,
      slot: S.penalty,
    }));
  }
  const dH = term.penalty === "l0"
    ? `lambda / ${cf(b)}`
    : term.penalty === "quadratic"
    ? `2.0f * lambda * (${l0} / ${cf(term.targetL0)} - 1.0f) / ${cf(term.targetL0)} / ${cf(b)}`
    : `lambda * (1.0f + 2.0f * ${p} / ${cf(term.s)}) / ${cf(b)}`;
  const name = thresholdName(sel);
  const eps = step.bandwidth === "state" ? "bw[0]" : cf(step.bandwidth ?? 0.001);
  const buffers: Named = { th: P(name), g: G(name), cs: "cs", scal: "scal", hp: "hp" };
  if (step.bandwidth === "state") buffers.bw = ST("bandwidth");
  out.push(elementwise({
    label: "threshold gradient",
    n: f,
    body: `    unsigned j = i;
    float lambda = hp[0];
    float theta = ${thetaOf(sel)};
    float eps = ${eps};
    float dt = cs[${Q.dnear * f}u + j] * (-theta / eps) + (${dH}) * (-1.0f / eps) * cs[${
      (post ? Q.kstep : Q.kcount) * f
    }u + j];
    g[j] = ${sel.log ? "dt * theta" : "dt"};`,
    buffers,
  }));
  return out;
}

/**
 * The tanh penalty: its value and the threshold gradient through the JumpReLU STE (its encoder
 * gradient and its part of the window's d f are added in the column pass).
 */
function tanhPenalty(L: PlanLayout): CudaKernel[] {
  const { f, step } = L;
  const sel = step.selection;
  if (sel.kind !== "threshold") throw new Error("the tanh penalty needs a JumpReLU selection");
  const name = thresholdName(sel);
  const eps = step.bandwidth === "state" ? "bw[0]" : cf(step.bandwidth ?? 0.001);
  const buffers: Named = { th: P(name), g: G(name), cs: "cs" };
  if (step.bandwidth === "state") buffers.bw = ST("bandwidth");
  return [
    latentSum(L, { label: "ste window", value: `cs[${Q.kcount * f}u + j]`, slot: S.near }),
    latentSum(L, { label: "tanh penalty", value: `cs[${Q.tsum * f}u + j]`, slot: S.tanh }),
    elementwise({
      label: "threshold gradient",
      n: f,
      body: `    unsigned j = i;
    float theta = ${thetaOf(sel)};
    float dt = cs[${Q.dnear * f}u + j] * (-theta / ${eps});
    g[j] = ${sel.log ? "dt * theta" : "dt"};`,
      buffers,
    }),
  ];
}

/** The pre-activation loss: its value and its threshold gradient (the encoder's is in the column pass). */
function preActLoss(
  L: PlanLayout,
  term: Extract<WebGpuStep["terms"][number], { kind: "pre_act" }>,
): CudaKernel[] {
  const { b, f, step } = L;
  const sel = step.selection;
  if (sel.kind !== "threshold") {
    throw new Error("the pre-activation loss needs a JumpReLU selection");
  }
  const name = thresholdName(sel);
  return [
    latentSum(L, { label: "pre-act sum", value: `cs[${Q.psum * f}u + j]`, slot: S.preAct }),
    elementwise({
      label: "pre-act threshold gradient",
      n: f,
      body: `    unsigned j = i;
    float theta = ${thetaOf(sel)};
    g[j] += ${cf(term.alpha / b)} * ${sel.log ? "theta" : "1.0f"} * cs[${Q.pcount * f}u + j];`,
      buffers: { th: P(name), g: G(name), cs: "cs" },
    }),
  ];
}

/** AuxK on dead latents: selection, residual reconstruction, its value and gradients. */
function auxK(
  L: PlanLayout,
  term: Extract<WebGpuStep["terms"][number], { kind: "auxk" }>,
): Op[] {
  const { b, d, f } = L;
  const k = Math.min(term.k, f);
  if (k === 0 || term.alpha === 0) {
    return [elementwise({
      label: "aux off",
      n: 1,
      body: `scal[${S.auxValue}] = 0.0f;`,
      buffers: { scal: "scal" },
    })];
  }
  const since = ST("since_fired");
  const dead = `(since[j] >= ${cf(term.deadTokens)})`;
  // While no latent can be dead yet (the engine bounds since_fired on the host), AuxK is zero:
  // its selection and three GEMMs are skipped and only its value is written.
  const off: Op = {
    ...elementwise({
      label: "aux off (no latent can be dead yet)",
      n: 1,
      body: `scal[${S.auxValue}] = 0.0f; scal[${S.nDead}] = 0.0f;`,
      buffers: { scal: "scal" },
    }),
    when: "noAux",
  };
  const out: Op[] = [];
  out.push(latentSum(L, {
    label: "dead latents",
    value: `(since[j] >= ${cf(term.deadTokens)} ? 1.0f : 0.0f)`,
    slot: S.nDead,
    extra: { since },
  }));
  out.push(elementwise({
    label: "aux residual",
    n: b * d,
    body: "e[i] = x[i] - xHat[i];",
    buffers: { e: "aux.e", x: "x", xHat: "xHat" },
  }));
  // Without a dead latent the auxiliary latents are empty whatever kth says: skip the count.
  out.push(rowKth({
    label: "aux k-th among dead",
    rows: b,
    cols: f,
    k,
    src: "pre",
    kth: "aux.kthAux",
    mask: dead,
    skip: `scal[${S.nDead}] == 0.0f`,
    extra: { since, scal: "scal" },
  }));
  const lists = L.sparse?.aux ? AUX_LISTS : undefined;
  if (lists) {
    out.push(selectRows({
      label: "fAux (listed)",
      rows: b,
      cols: f,
      src: "pre",
      out: "aux.fAux",
      ...lists,
      keep: `${dead} && key(z) >= kth[row] && z > 0.0f`,
      extra: { kth: "aux.kthAux", since },
      types: { kth: "unsigned" },
    }));
    out.push(sparseDecode({
      label: "eHat = fAux W_dec (sparse)",
      rows: b,
      cols: f,
      d,
      val: "aux.fAux",
      ...lists,
      w: P("W_dec"),
      out: "aux.eHat",
    }));
  } else {
    out.push(elementwise({
      label: "fAux",
      n: b * f,
      body: `unsigned j = i % ${f}u; float z = pre[i];
    fa[i] = (${dead} && key(z) >= kth[i / ${f}u] && z > 0.0f) ? z : 0.0f;`,
      buffers: { pre: "pre", fa: "aux.fAux", kth: "aux.kthAux", since },
      types: { kth: "unsigned" },
    }));
    out.push(...gemm("eHat = fAux W_dec", { m: b, n: d, k: f }, {
      a: "aux.fAux",
      b: P("W_dec"),
      c: "aux.eHat",
    }));
  }
  out.push(...columnSum({
    label: "aux residual means",
    rows: b,
    cols: d,
    src: "aux.e",
    out: "aux.eMean",
    cpart: "cpart",
  }));
  out.push(...sumIntoSlot("scal", {
    label: "aux spread",
    n: b * d,
    body: `float c = e[i] - em[i % ${d}u] / ${cf(b)};`,
    value: "c * c",
    slot: S.auxSpread,
    buffers: { e: "aux.e", em: "aux.eMean", part: "part" },
  }));
  out.push(...sumIntoSlot("scal", {
    label: "aux error",
    n: b * d,
    body: "float q = e[i] - eh[i];",
    value: "q * q",
    slot: S.auxErr,
    buffers: { e: "aux.e", eh: "aux.eHat", part: "part" },
  }));
  const alphaEff = term.scaleByDead
    ? `${cf(term.alpha)} * fminf(scal[${S.nDead}] / ${cf(k)}, 1.0f)`
    : cf(term.alpha);
  out.push(elementwise({
    label: "aux value",
    n: 1,
    body: `float spread = scal[${S.auxSpread}] + 1e-12f;
    float alpha = ${alphaEff};
    bool on = scal[${S.nDead}] > 0.0f && alpha > 0.0f;
    scal[${S.auxValue}] = on ? alpha * scal[${S.auxErr}] / spread : 0.0f;
    scal[${S.auxCoef}] = on ? 2.0f * alpha / spread : 0.0f;`,
    buffers: { scal: "scal" },
  }));
  out.push(elementwise({
    label: "deHat",
    n: b * d,
    body: `eh[i] = scal[${S.auxCoef}] * (eh[i] - e[i]);`,
    buffers: { eh: "aux.eHat", e: "aux.e", scal: "scal" },
  }));
  out.push(...latentGradient(L, {
    label: "dfAux = deHat W_dec^T",
    left: "aux.eHat",
    out: "aux.dfAux",
    lists,
  }));
  out.push(elementwise({
    label: "dpre += aux",
    n: b * f,
    body: "if (fa[i] > 0.0f) df[i] += dfa[i];",
    buffers: { df: "df", fa: "aux.fAux", dfa: "aux.dfAux" },
  }));
  if (L.sparse?.main) {
    // dpre is now nonzero where f > 0 or fAux > 0: the weight gradients' lists take both.
    out.push(columnLists({
      label: "rows where f > 0 or fAux > 0, per latent",
      rows: b,
      cols: f,
      lists: columnListsOf(L),
      listed: "fv[i] > 0.0f || fa[i] > 0.0f",
      buffers: { fv: "f", fa: "aux.fAux" },
    }));
  }
  return [off, ...whileAux(out)];
}

/** Decoder projection, gradient clipping, Adam, renormalisation, threshold floor. */
function update(L: PlanLayout): CudaKernel[] {
  const { d, f, step, sizes, paramNames, adam } = L;
  const out: CudaKernel[] = [];
  if (L.unitNormDecoder) {
    out.push(rowPass({
      label: "project decoder gradient",
      rows: f,
      cols: d,
      dot: `g[r * ${d}u + k] * w[r * ${d}u + k]`,
      body: `g[r * ${d}u + k] -= t * w[r * ${d}u + k];`,
      buffers: { g: G("W_dec"), w: P("W_dec") },
    }));
  }
  if (adam.gradClip !== null) {
    paramNames.forEach((name, pi) => {
      out.push(...sumIntoSlot("scal", {
        label: `|g ${name}|^2`,
        n: sizes[name],
        value: "g[i] * g[i]",
        slot: S.gradSq + pi,
        buffers: { g: G(name), part: "part" },
      }));
    });
  }
  const norm2 = paramNames.map((_, pi) => `scal[${S.gradSq + pi}]`).join(" + ");
  const scale = adam.gradClip === null
    ? "1.0f"
    : `fminf(1.0f, ${cf(adam.gradClip)} / (sqrtf(${norm2}) + 1e-12f))`;
  paramNames.forEach((name, pi) => {
    const mNew = adam.beta1 === 0 ? "gi" : `${cf(adam.beta1)} * m[i] + ${cf(1 - adam.beta1)} * gi`;
    out.push(elementwise({
      label: `adam ${name}`,
      n: sizes[name],
      body: `    float sc = ${scale};
    float gi = g[i] * sc;
    float mi = ${mNew};
    float vi = ${cf(adam.beta2)} * v[i] + ${cf(1 - adam.beta2)} * gi * gi;
    m[i] = mi; v[i] = vi;
    p[i] -= (hp[${4 + pi}] / hp[2] * mi) / (sqrtf(vi / hp[3]) + ${cf(adam.eps)});`,
      buffers: { p: P(name), g: G(name), m: `m.${name}`, v: `v.${name}`, hp: "hp", scal: "scal" },
    }));
  });
  if (L.unitNormDecoder) {
    out.push(rowPass({
      label: "renormalise decoder rows",
      rows: f,
      cols: d,
      dot: `w[r * ${d}u + k] * w[r * ${d}u + k]`,
      body: `w[r * ${d}u + k] = w[r * ${d}u + k] * (1.0f / fmaxf(sqrtf(t), 1e-12f));`,
      buffers: { w: P("W_dec") },
    }));
  }
  if (step.thresholdFloor !== undefined && paramNames.includes("threshold")) {
    out.push(elementwise({
      label: "threshold floor",
      n: f,
      body: `t[i] = fmaxf(t[i], ${cf(step.thresholdFloor)});`,
      buffers: { t: P("threshold") },
    }));
  }
  return out;
}

/** since_fired clocks and BatchTopK's running threshold. */
function stateUpdate(L: PlanLayout): CudaKernel[] {
  const { b, f, step } = L;
  const out: CudaKernel[] = [];
  if (step.deadClock) {
    out.push(elementwise({
      label: "since_fired",
      n: f,
      body: `s[i] = cs[${Q.count * f}u + i] > 0.0f ? 0.0f : s[i] + ${cf(b)};`,
      buffers: { s: ST("since_fired"), cs: "cs" },
    }));
  }
  const sel = step.selection;
  if (sel.kind === "batch_topk") {
    out.push(latentSum(L, {
      label: "smallest kept",
      value: `cs[${Q.minpos * f}u + j]`,
      slot: S.minKept,
      min: true,
    }));
    out.push(elementwise({
      label: "running threshold",
      n: 1,
      body: `float lo = scal[${S.minKept}];
    float old = thr[0];
    if (lo < 2.0e38f) thr[0] = old < 0.0f ? lo : old * ${cf(sel.momentum)} + lo * ${
        cf(1 - sel.momentum)
      };`,
      buffers: { thr: ST("threshold"), scal: "scal" },
    }));
  }
  return out;
}

/** stats += [loss, ...terms, l0, sse, sst, ste] of this step. */
function statsKernel(L: PlanLayout): CudaKernel {
  const { b, f, step } = L;
  const k = L.termCount;
  const terms = termExpressions(step, { b, lit: cf });
  const lines = terms.map((t, i) => `float t${i} = ${t}; st[${1 + i}] += t${i};`).join("\n    ");
  const total = terms.map((_, i) => `t${i}`).join(" + ");
  const ste = step.selection.kind === "threshold"
    ? `st[${4 + k}] += scal[${S.near}] / ${cf(b * f)};`
    : "";
  return elementwise({
    label: "statistics",
    n: 1,
    body: `    float lambda = hp[0];
    ${lines}
    st[0] += ${total};
    st[${1 + k}] += scal[${S.active}] / ${cf(b)};
    st[${2 + k}] += scal[${S.sse}];
    st[${3 + k}] += scal[${S.sst}];
    ${ste}`,
    buffers: { st: "stats", scal: "scal", hp: "hp" },
  });
}

/** One flag per parameter and state tensor, set where a value is not finite. */
export function finiteChecks(L: PlanLayout, stateSizes: Record<string, number>): CudaKernel[] {
  const tensors: [string, number][] = [
    ...L.paramNames.map((n): [string, number] => [P(n), L.sizes[n]]),
    ...L.stateNames.map((n): [string, number] => [ST(n), stateSizes[n]]),
  ];
  return tensors.map(([buf, n], k) =>
    elementwise({
      label: `non-finite check ${buf}`,
      n,
      body: `if (((__float_as_uint(t[i]) >> 23) & 255u) == 255u) fl[${k}] = 1u;`,
      buffers: { t: buf, fl: "flags" },
      types: { fl: "unsigned" },
    })
  );
}

/**
 * One CUDA C module holding every distinct kernel of `plans`, each kernel named `k<n>` (shared by
 * identical sources), with the line each starts on, so a compile error can name its kernel.
 */
export function moduleOf(plans: Op[][]): {
  source: string;
  kernels: { name: string; label: string; line: number }[];
} {
  const byCode = new Map<string, string>();
  const kernels: { name: string; label: string; line: number }[] = [];
  let source = PRELUDE;
  for (const plan of plans) {
    for (const op of plan) {
      if (op.kind !== "kernel") continue;
      let name = byCode.get(op.source);
      if (!name) {
        name = `k${byCode.size}`;
        byCode.set(op.source, name);
        kernels.push({ name, label: op.label, line: source.split("\n").length });
        source += `// ${op.label.replace(/\n/g, " ")}\n${op.source.replace("NAME", name)}\n`;
      }
      op.name = name;
    }
  }
  return { source, kernels };
}
