// The training step of a linear SAE on the webgpu engine as a list of compute programs over
// buffers allocated once: encoder GEMM, selection (ReLU, JumpReLU, per-row TopK or batch TopK by
// radix select), decoder GEMM, reconstruction gradient, one column pass over [B, F] that gates
// the latent gradient and gathers per-latent counts (L0, STE window, firing), the architecture's
// extra terms (decoder-norm L1, JumpReLU step penalty, AuxK), weight-gradient GEMMs, Adam with
// decoder projection and renormalisation, state updates and on-device statistics. The same maths
// as lib/engine/cpu/linear_step.ts and the architectures' cpu kernels.
// Shapes: B batch, D d_model, F latents.
import type { Program } from "./program.ts";
import { declare, f32, program } from "./program.ts";
import { type Mirror, mirrorLoad, readsMirror, sharedMirror } from "./mirror.ts";
import { createGemm, type GemmOptions, gemmProgram } from "./gemm.ts";
import { LINEAR_ENCODER, type Selection, type WebGpuStep } from "./kernel.ts";
import {
  columnSum,
  elementwise,
  globalKth,
  KEY_FN,
  rowKth,
  rowKthSerial,
  rowPass,
  rowPassSerial,
  sumIntoSlot,
  WG,
} from "./wgsl.ts";
import type { Named } from "./wgsl.ts";
import {
  type ColumnLists,
  selectRows,
  sparseColumnProduct,
  sparseDecode,
  sparseRowDot,
} from "./sparse.ts";
import { COL_CHUNKS, columnRows, Q, QG, QN, S } from "../step_layout.ts";
import { TANH_SECH2 } from "./tanh_sech2.ts";
import { prefixGroups, termExpressions } from "../step_terms.ts";

const BIG = "3.0e38";

type AuxTerm = Extract<WebGpuStep["terms"][number], { kind: "auxk" }>;
type PrefixTerm = Extract<WebGpuStep["terms"][number], { kind: "prefix_recon" }>;

/** Every buffer the step reads or writes, by name. */
export interface StepBuffers extends Named {
  x: GPUBuffer;
  xIn: GPUBuffer;
  pre: GPUBuffer;
  f: GPUBuffer;
  df: GPUBuffer;
  xHat: GPUBuffer;
  dxHat: GPUBuffer;
  xMean: GPUBuffer;
  cp: GPUBuffer;
  cs: GPUBuffer;
  cpart: GPUBuffer;
  part: GPUBuffer;
  scal: GPUBuffer;
  stats: GPUBuffer;
  hp: GPUBuffer;
  kth: GPUBuffer;
  ctl: GPUBuffer;
  rown: GPUBuffer;
}

export interface StepLayout {
  b: number;
  d: number;
  f: number;
  step: WebGpuStep;
  /** Trainable parameters in order (Adam's hp slots follow this order). */
  paramNames: string[];
  params: Record<string, GPUBuffer>;
  grads: Record<string, GPUBuffer>;
  m: Record<string, GPUBuffer>;
  v: Record<string, GPUBuffer>;
  sizes: Record<string, number>;
  state: Record<string, GPUBuffer>;
  buffers: StepBuffers;
  /** Auxiliary buffers (AuxK): e, eHat [B, D], fAux, dfAux [B, F], kthAux [B]. */
  aux?: {
    e: GPUBuffer;
    eHat: GPUBuffer;
    fAux: GPUBuffer;
    dfAux: GPUBuffer;
    kthAux: GPUBuffer;
    eMean: GPUBuffer;
    /** Indirect dispatch counts of the gated programs [3 * GATE_SLOTS] (u32, INDIRECT usage). */
    gate: GPUBuffer;
    /** Their counts when some latent is dead [3 * GATE_SLOTS] (u32, written by the engine). */
    gateFull: GPUBuffer;
    /** Programs dispatched through `gate`, by slot (filled while the step is built). */
    gated: Program[];
  };
  adam: { beta1: number; beta2: number; eps: number; gradClip: number | null };
  unitNormDecoder: boolean;
  /** A software adapter (llvmpipe): kernels without workgroup barriers where there is a choice. */
  software: boolean;
  /** Number of loss terms (recon first). */
  termCount: number;
  /** Lists of the sparse products (sparse.ts), present when sparsePlan's `main`. */
  sparse?: {
    /** Kept latents of each row of f [B, F] (u32) and their counts [B]. */
    rowIdx: GPUBuffer;
    rowCnt: GPUBuffer;
    /** Rows where dpre may be nonzero (f > 0 or fAux > 0), per latent, from the column pass. */
    cols: ColumnLists;
    /** AuxK's kept latents per row, when sparsePlan's `aux`. */
    aux?: { idx: GPUBuffer; cnt: GPUBuffer };
  };
  /**
   * Matryoshka's buffers: `mx` [B, D] (a prefix's reconstruction), one dxHat [B, D] per inner
   * prefix, and for one group of at most G latents at a time its columns of f `fg` [B, G], its rows
   * of W_dec `wg` [G, D], and a product `gg` [max(B, D) * G].
   */
  prefix?: { mx: GPUBuffer; dx: GPUBuffer[]; fg: GPUBuffer; wg: GPUBuffer; gg: GPUBuffer };
  /**
   * The gated selection's buffers: `g` [B, F] (ReLU(gate), then the frozen-decoder term's latent
   * gradient), `x` [B, D] (that term's reconstruction, then its gradient) and `s` [F] (column
   * sums of d pi, the gradient of the bias the encoder lacks, for b_dec's).
   */
  gated?: { g: GPUBuffer; x: GPUBuffer; s: GPUBuffer };
}

/** The encoder's weight, its bias (if any), and the buffers of their gradients. */
function encoderOf(layout: StepLayout): {
  w: GPUBuffer;
  gw: GPUBuffer;
  bias?: GPUBuffer;
  /** Column sums of d pre: the bias gradient, or the gated selection's `s`. */
  gbias: GPUBuffer;
  /** The encoder GEMM's label. */
  label: string;
} {
  const enc = layout.step.encoder ?? LINEAR_ENCODER;
  const { params, grads } = layout;
  return {
    label: `pre = xIn ${enc.weight}${enc.bias === null ? "" : ` + ${enc.bias}`}`,
    w: params[enc.weight],
    gw: grads[enc.weight],
    bias: enc.bias === null ? undefined : params[enc.bias],
    gbias: enc.bias === null ? layout.gated!.s : grads[enc.bias],
  };
}

/** Row chunks of the column pass over B rows (and of its per-latent row lists). */
export function columnChunks(b: number): { chunks: number; per: number } {
  const chunks = Math.min(COL_CHUNKS, b);
  return { chunks, per: Math.ceil(b / chunks) };
}

/** The row pass of the adapter: without workgroup barriers on a software one. */
function rowProgram(layout: StepLayout): typeof rowPass {
  return layout.software ? rowPassSerial : rowPass;
}

/**
 * Element-wise passes over [B, D] take vec4s of x-space when D allows (a quarter of the loads,
 * which a software adapter makes lane by lane): n values per unit and their WGSL array type.
 */
function dUnit(d: number): { n: number; ty: string; square: (e: string) => string } {
  return d % 4 === 0
    ? { n: 4, ty: "array<vec4<f32>>", square: (e) => `dot(${e}, ${e})` }
    : { n: 1, ty: "array<f32>", square: (e) => `${e} * ${e}` };
}

/** A program that records one GEMM. */
function gemm(device: GPUDevice, label: string, o: GemmOptions, bufs: {
  a: GPUBuffer;
  b: GPUBuffer;
  c: GPUBuffer;
  bias?: GPUBuffer;
}): Program {
  return gemmProgram(label, createGemm(device, o), bufs);
}

/**
 * WGSL for theta of the JumpReLU threshold parameter read as `th` (an expression, by default the
 * buffer `th` at latent j): exp of it for a log threshold.
 */
function thetaOf(sel: Selection, th = "th[j]"): string {
  return sel.kind === "threshold" && sel.log ? `exp(${th})` : th;
}

/** The encoder half: xIn, pre, f (training or inference selection). Shared with encode(). */
export function encoderPrograms(
  device: GPUDevice,
  layout: StepLayout,
  options: { training: boolean },
): Program[] {
  const { b, d, f, step, params, buffers: B } = layout;
  const out: Program[] = [];
  if (step.preEncoderBias) {
    const v = dUnit(d);
    const input = matrixInputs(device, layout, { cols: d, v: v.n }, { x: B.x }, {
      bd: params.b_dec,
    });
    out.push(elementwise(device, {
      label: "x - b_dec",
      n: (b * d) / v.n,
      body: `let j = i % ${d / v.n}u; xIn[i] = ${input.at.x} - ${input.at.bd};`,
      buffers: { ...input.buffers, xIn: B.xIn },
      types: { ...input.types, xIn: v.ty },
    }));
  }
  const enc = encoderOf(layout);
  // The ReLU selection runs in the encoder GEMM's epilogue, which writes f itself: no pass over
  // pre and no store of it, so nothing may read pre.
  const fused = step.selection.kind === "rectify";
  if (fused && step.terms.some((t) => t.kind === "auxk" || t.kind === "pre_act")) {
    throw new Error("webgpu: the ReLU selection keeps no pre-activations for AuxK or pre_act");
  }
  out.push(gemm(
    device,
    fused ? `f = relu(${enc.label.slice("pre = ".length)})` : enc.label,
    { m: b, n: f, k: d, bias: !!enc.bias, relu: fused },
    { a: step.preEncoderBias ? B.xIn : B.x, b: enc.w, c: fused ? B.f : B.pre, bias: enc.bias },
  ));
  if (!fused) out.push(...selectPrograms(device, layout, options));
  const sp = layout.sparse;
  out.push(
    sp
      ? sparseDecode(device, {
        label: "xHat = f W_dec + b_dec (sparse)",
        rows: b,
        cols: f,
        d,
        val: B.f,
        idx: sp.rowIdx,
        cnt: sp.rowCnt,
        w: params.W_dec,
        out: B.xHat,
        bias: params.b_dec,
      })
      : gemm(device, "xHat = f W_dec + b_dec", { m: b, n: d, k: f, bias: true }, {
        a: B.f,
        b: params.W_dec,
        c: B.xHat,
        bias: params.b_dec,
      }),
  );
  return out;
}

/**
 * The inputs of an element-wise pass over a [B, cols] matrix (cols F or D) in units of v = 1 or 4
 * values (index i, unit j = i % cols/v, which the pass defines): [B, cols] matrices `mats` and
 * [cols] vectors `vecs`, read through texture mirrors (mirror.ts) on a software adapter when v is
 * 4 and the shape allows (a vector fetch instead of a load per lane), else from their buffers.
 * Returns the bindings, their types and each input's WGSL expression at i.
 */
function matrixInputs(
  device: GPUDevice,
  layout: StepLayout,
  options: { cols: number; v: number },
  mats: Record<string, GPUBuffer>,
  vecs: Record<string, GPUBuffer> = {},
): { buffers: Named; types: Record<string, string>; at: Record<string, string> } {
  const { b } = layout;
  const { v, cols } = options;
  const mirrored = v === 4 && readsMirror(device, b, cols);
  const buffers: Named = {}, types: Record<string, string> = {}, at: Record<string, string> = {};
  for (const [name, buffer] of Object.entries({ ...mats, ...vecs })) {
    const matrix = name in mats;
    if (mirrored) {
      buffers[name] = sharedMirror(device, buffer, matrix ? b : 1, cols);
      types[name] = "texture";
      at[name] = mirrorLoad(name, "j", matrix ? `i / ${cols / 4}u` : "0u");
    } else {
      buffers[name] = buffer;
      types[name] = v === 4 ? "array<vec4<f32>>" : "array<f32>";
      at[name] = `${name}[${matrix ? "i" : "j"}]`;
    }
  }
  return { buffers, types, at };
}

function selectPrograms(
  device: GPUDevice,
  layout: StepLayout,
  options: { training: boolean },
): Program[] {
  const { b, f, step, params, state, buffers: B } = layout;
  const sel = step.selection;
  const n = b * f;
  // JumpReLU and Gated work on vec4s of four latents when F allows (a quarter of the loads, which
  // a software adapter makes lane by lane); each component computes what the scalar form would.
  const v = f % 4 === 0 ? 4 : 1;
  const ty = v === 4 ? "array<vec4<f32>>" : "array<f32>";
  const zero = v === 4 ? "vec4<f32>(0.0)" : "0.0";
  if (sel.kind === "rectify") {
    throw new Error("webgpu: the ReLU selection runs in the encoder GEMM (encoderPrograms)");
  }
  if (sel.kind === "threshold") {
    const input = matrixInputs(device, layout, { cols: f, v }, { pre: B.pre }, {
      th: params[sel.log ? "log_threshold" : "threshold"],
    });
    const theta = thetaOf(sel, input.at.th);
    return [elementwise(device, {
      label: "f = jumprelu(pre)",
      n: n / v,
      body: `let j = i % ${f / v}u; let z = ${input.at.pre};
        f[i] = select(${zero}, z, z > ${theta});`,
      buffers: { ...input.buffers, f: B.f },
      types: { ...input.types, f: ty },
    })];
  }
  if (sel.kind === "gate_magnitude") {
    const label = "f = H(gate) relu(mag), relu(gate)";
    const input = matrixInputs(device, layout, { cols: f, v }, { pre: B.pre }, {
      bg: params.b_gate,
      rm: params.r_mag,
      bm: params.b_mag,
    });
    const { at } = input;
    return [elementwise(device, {
      label,
      n: n / v,
      body: `let j = i % ${f / v}u; let z = ${at.pre}; let gate = z + ${at.bg};
    f[i] = select(${zero}, max(z * exp(${at.rm}) + ${at.bm}, ${zero}), gate > ${zero});
    ga[i] = max(gate, ${zero});`,
      buffers: { ...input.buffers, f: B.f, ga: layout.gated!.g },
      types: { ...input.types, f: ty, ga: ty },
    })];
  }
  const sp = layout.sparse;
  if (sel.kind === "batch_topk" && !options.training) {
    return [keepWhere(device, layout, {
      label: "f = pre above the running threshold",
      keep: () => "z > max(thr[0], 0.0)",
      extra: { thr: state.threshold },
    })];
  }
  if (sel.kind === "row_topk" && layout.software && !sp) {
    return [rowKthSerial(device, {
      label: "row k-th and f = top k per row",
      rows: b,
      cols: f,
      k: Math.min(sel.k, f),
      src: B.pre,
      kth: B.kth,
      out: B.f,
    })];
  }
  if (sel.kind === "row_topk") {
    return [
      (layout.software ? rowKthSerial : rowKth)(device, {
        label: "row k-th",
        rows: b,
        cols: f,
        k: Math.min(sel.k, f),
        src: B.pre,
        kth: B.kth,
      }),
      keepWhere(device, layout, {
        label: "f = top k per row",
        keep: (row) => `key(z) >= kth[${row}] && z > 0.0`,
        extra: { kth: B.kth },
        types: { kth: "array<u32>" },
        prelude: KEY_FN,
      }),
    ];
  }
  return [
    ...globalKth(device, {
      label: "batch k-th",
      n,
      k: Math.min(sel.k * b, n),
      src: B.pre,
      ctl: B.ctl,
    }),
    keepWhere(device, layout, {
      label: "f = top k B of the batch",
      keep: () => "key(z) >= ctl[0] && z > 0.0",
      extra: { ctl: B.ctl },
      types: { ctl: "array<u32>" },
      prelude: KEY_FN,
    }),
  ];
}

/**
 * f = pre where `keep` holds (z the pre-activation; `keep(row)` gets the expression of its row),
 * else 0; with the sparse products (layout.sparse) it also lists each row's kept latents.
 */
function keepWhere(
  device: GPUDevice,
  layout: StepLayout,
  o: {
    label: string;
    keep: (row: string) => string;
    extra: Named;
    types?: Record<string, string>;
    prelude?: string;
  },
): Program {
  const { b, f, buffers: B } = layout;
  const sp = layout.sparse;
  if (sp) {
    return selectRows(device, {
      label: `${o.label} (listed)`,
      rows: b,
      cols: f,
      src: B.pre,
      out: B.f,
      idx: sp.rowIdx,
      cnt: sp.rowCnt,
      keep: o.keep("row"),
      extra: o.extra,
      types: o.types,
      prelude: o.prelude,
    });
  }
  return elementwise(device, {
    label: o.label,
    n: b * f,
    body: `let z = pre[i]; f[i] = select(0.0, z, ${o.keep(`i / ${f}u`)});`,
    buffers: { pre: B.pre, f: B.f, ...o.extra },
    types: o.types,
    prelude: o.prelude,
  });
}

/** The whole training step (after x and hp are written). */
export function stepPrograms(device: GPUDevice, layout: StepLayout): Program[] {
  const { b, d, f, step, params, grads, buffers: B } = layout;
  const out: Program[] = [];
  const relu = step.terms.some((t) => t.kind === "decoder_norm_l1");
  if (relu) {
    out.push(
      rowProgram(layout)(device, {
        label: "decoder row norms",
        rows: f,
        cols: d,
        dot: `w[r * ${d}u + k] * w[r * ${d}u + k]`,
        body: "if (k == 0u) { rown[r] = sqrt(t); }",
        buffers: { w: params.W_dec, rown: B.rown },
      }),
    );
  }
  out.push(...encoderPrograms(device, layout, { training: true }));
  // Reconstruction: dxHat = 2 (xHat - x) / B and its sum of squares.
  const v = dUnit(d);
  const rec = matrixInputs(device, layout, { cols: d, v: v.n }, { x: B.x, xHat: B.xHat });
  out.push(...sumIntoSlot(device, B.scal, {
    label: "dxHat, sse",
    n: (b * d) / v.n,
    body: `let j = i % ${d / v.n}u; let e = ${rec.at.xHat} - ${rec.at.x}; dxHat[i] = ${
      f32(2 / b)
    } * e;`,
    value: v.square("e"),
    slot: S.sse,
    buffers: { ...rec.buffers, dxHat: B.dxHat, part: B.part },
    types: { ...rec.types, dxHat: v.ty },
  }));
  // Batch spread of x (the FVU denominator): column means, then squares about them.
  out.push(...columnSum(device, {
    label: "x column means",
    rows: b,
    cols: d,
    src: B.x,
    out: B.xMean,
    cpart: B.cpart,
    combine: `s / ${f32(b)}`,
  }));
  const spread = matrixInputs(device, layout, { cols: d, v: v.n }, { x: B.x }, { xm: B.xMean });
  out.push(...sumIntoSlot(device, B.scal, {
    label: "sst",
    n: (b * d) / v.n,
    body: `let j = i % ${d / v.n}u; let c = ${spread.at.x} - ${spread.at.xm};`,
    value: v.square("c"),
    slot: S.sst,
    buffers: { ...spread.buffers, part: B.part },
    types: spread.types,
  }));
  out.push(latentGradient(device, layout, {
    label: "df = dxHat W_dec^T",
    left: B.dxHat,
    out: B.df,
    lists: layout.sparse && { idx: layout.sparse.rowIdx, cnt: layout.sparse.rowCnt },
  }));
  const prefix = step.terms.find((t): t is PrefixTerm => t.kind === "prefix_recon");
  if (prefix) out.push(...prefixReconstructions(device, layout, prefix));
  if (step.terms.some((t) => t.kind === "frozen_gate_recon")) {
    out.push(...frozenGateRecon(device, layout));
  }
  // AuxK's selection and products run first: the column pass adds their latent gradient.
  const auxTerm = step.terms.find((t): t is AuxTerm => t.kind === "auxk");
  if (auxTerm) out.push(...auxK(device, layout, auxTerm));
  const auxLive = auxTerm !== undefined && auxOn(layout, auxTerm);
  out.push(...columnPass(device, layout, { aux: auxLive }));
  if (step.selection.kind === "gate_magnitude") out.push(gatedGradients(device, layout));
  out.push(
    ...latentSum(device, layout, {
      label: "active",
      value: `cs[${Q.count * f}u + j]`,
      slot: S.active,
    }),
  );
  for (const term of step.terms) {
    if (term.kind === "decoder_norm_l1") {
      out.push(...latentSum(device, layout, {
        label: "l1",
        value: `cs[${Q.fsum * f}u + j] * rown[j]`,
        slot: S.l1,
        extra: { rown: B.rown },
      }));
    } else if (term.kind === "step") {
      out.push(...stepPenalty(device, layout, term));
    } else if (term.kind === "tanh") {
      out.push(...tanhPenalty(device, layout));
    } else if (term.kind === "pre_act") {
      out.push(...preActLoss(device, layout, term));
    } else if (term.kind === "gate_l1") {
      out.push(...latentSum(device, layout, {
        label: "gate l1",
        value: `cs[${QG.gate * f}u + j]`,
        slot: S.l1,
      }));
    }
  }
  // Weight gradients.
  const xIn = step.preEncoderBias ? B.xIn : B.x;
  if (layout.sparse) {
    const aux = auxLive ? [{ val: layout.aux!.fAux, mat: layout.aux!.eHat }] : [];
    const lists = layout.sparse.cols;
    out.push(sparseColumnProduct(device, {
      label: "gW_dec = f^T dxHat (+ fAux^T deHat) (sparse)",
      rows: b,
      cols: f,
      d,
      lists,
      terms: [{ val: B.f, mat: B.dxHat }, ...aux],
      out: grads.W_dec,
      transposed: false,
    }));
    out.push(sparseColumnProduct(device, {
      label: "gW_enc = xIn^T dpre (sparse)",
      rows: b,
      cols: f,
      d,
      lists,
      terms: [{ val: B.df, mat: xIn }],
      out: encoderOf(layout).gw,
      transposed: true,
    }));
  } else {
    out.push(...denseWeightGradients(device, layout, { xIn, aux: auxLive }));
  }
  if (relu) {
    out.push(elementwise(device, {
      label: "gW_dec += decoder-norm path",
      n: f * d,
      body: `let j = i / ${d}u; let s = cs[${Q.fsum * f}u + j];
    if (s != 0.0) { g[i] += hp[0] * s / ${f32(b)} / rown[j] * w[i]; }`,
      buffers: { g: grads.W_dec, w: params.W_dec, cs: B.cs, rown: B.rown, hp: B.hp },
    }));
  }
  if (prefix) out.push(...prefixWeightGradients(device, layout, prefix));
  out.push(
    ...columnSum(device, {
      label: "gb_dec",
      rows: b,
      cols: d,
      src: B.dxHat,
      out: grads.b_dec,
      cpart: B.cpart,
    }),
  );
  if (step.preEncoderBias) {
    out.push(
      gemm(
        device,
        "gb_dec -= W_enc gb_enc",
        { m: 1, n: d, k: f, transB: true, alpha: -1, beta: 1 },
        {
          a: encoderOf(layout).gbias,
          b: encoderOf(layout).w,
          c: grads.b_dec,
        },
      ),
    );
  }
  out.push(...update(device, layout));
  out.push(...stateUpdate(device, layout));
  out.push(statsProgram(device, layout));
  return out;
}

/**
 * Matryoshka's inner reconstructions, before the column pass, group by group as the cpu engine
 * does (group m holds the latents [lo, hi) = [w_{m-1}, w_m)): x_hat_m = x_hat_{m-1} + f[:, lo:hi]
 * W_dec[lo:hi] from b_dec, dxHat_m = 2 (x_hat_m - x) / B and its sum of squares (slot prefixSse +
 * m); then each dxHat_m becomes D_m = the sum of dxHat_j over inner j >= m (what a latent of group
 * m sees from every prefix holding it) and df[:, lo:hi] += D_m W_dec[lo:hi]^T. The GEMMs take no
 * offsets or leading dimensions, so each group's columns of f and rows of W_dec are copied into
 * compact buffers first (O(B w) and O(w D) passes): every group is multiplied once.
 */
function prefixReconstructions(device: GPUDevice, layout: StepLayout, term: PrefixTerm): Program[] {
  const { b, d, params, buffers: B } = layout;
  const { mx, dx, fg, wg, gg } = layout.prefix!;
  const groups = prefixGroups(term.widths);
  const out: Program[] = [elementwise(device, {
    label: "x_hat_0 = b_dec",
    n: b * d,
    body: `xh[i] = bias[i % ${d}u];`,
    buffers: { xh: mx, bias: params.b_dec },
  })];
  groups.forEach(({ lo, hi }, m) => {
    const w = hi - lo;
    out.push(
      groupColumns(device, layout, { lo, hi }),
      groupRows(device, layout, { lo, hi }),
      gemm(device, `x_hat_${hi} += f[:, ${lo}:${hi}] W_dec[${lo}:${hi}]`, {
        m: b,
        n: d,
        k: w,
        beta: 1,
      }, { a: fg, b: wg, c: mx }),
      ...sumIntoSlot(device, B.scal, {
        label: `dxHat_${hi}, sse_${hi}`,
        n: b * d,
        body: `let e = xh[i] - x[i]; dx[i] = ${f32(2 / b)} * e;`,
        value: "e * e",
        slot: S.prefixSse + m,
        buffers: { x: B.x, xh: mx, dx: dx[m], part: B.part },
      }),
    );
  });
  for (let m = groups.length - 2; m >= 0; m--) {
    out.push(elementwise(device, {
      label: `D_${m} = dxHat_${groups[m].hi} + D_${m + 1}`,
      n: b * d,
      body: "dx[i] += up[i];",
      buffers: { dx: dx[m], up: dx[m + 1] },
    }));
  }
  groups.forEach(({ lo, hi }, m) => {
    const w = hi - lo;
    out.push(
      groupRows(device, layout, { lo, hi }),
      gemm(device, `D_${m} W_dec[${lo}:${hi}]^T`, { m: b, n: w, k: d, transB: true }, {
        a: dx[m],
        b: wg,
        c: gg,
      }),
      elementwise(device, {
        label: `df[:, ${lo}:${hi}] += D_${m} W_dec[${lo}:${hi}]^T`,
        n: b * w,
        body: `df[(i / ${w}u) * ${layout.f}u + ${lo}u + i % ${w}u] += g[i];`,
        buffers: { df: B.df, g: gg },
      }),
    );
  });
  return out;
}

/** prefix.fg [B, hi - lo] = f[:, lo:hi]. */
function groupColumns(
  device: GPUDevice,
  layout: StepLayout,
  g: { lo: number; hi: number },
): Program {
  const w = g.hi - g.lo;
  return elementwise(device, {
    label: `f[:, ${g.lo}:${g.hi}]`,
    n: layout.b * w,
    body: `fg[i] = fv[(i / ${w}u) * ${layout.f}u + ${g.lo}u + i % ${w}u];`,
    buffers: { fg: layout.prefix!.fg, fv: layout.buffers.f },
  });
}

/** prefix.wg [hi - lo, D] = W_dec[lo:hi]. */
function groupRows(device: GPUDevice, layout: StepLayout, g: { lo: number; hi: number }): Program {
  const { d } = layout;
  return elementwise(device, {
    label: `W_dec[${g.lo}:${g.hi}]`,
    n: (g.hi - g.lo) * d,
    body: `wg[i] = w[${g.lo * d}u + i];`,
    buffers: { wg: layout.prefix!.wg, w: layout.params.W_dec },
  });
}

/**
 * Matryoshka's share of the decoder gradients, after gW_dec = f^T dxHat: gW_dec[lo:hi] +=
 * f[:, lo:hi]^T D_m per group, and dxHat += D_0 (the sum of every inner dxHat) so that gb_dec, its
 * column sums, covers every prefix.
 */
function prefixWeightGradients(device: GPUDevice, layout: StepLayout, term: PrefixTerm): Program[] {
  const { b, d, grads, buffers: B } = layout;
  const { dx, fg, gg } = layout.prefix!;
  const out = prefixGroups(term.widths).flatMap(({ lo, hi }, m) => [
    groupColumns(device, layout, { lo, hi }),
    gemm(device, `f[:, ${lo}:${hi}]^T D_${m}`, { m: hi - lo, n: d, k: b, transA: true }, {
      a: fg,
      b: dx[m],
      c: gg,
    }),
    elementwise(device, {
      label: `gW_dec[${lo}:${hi}] += f[:, ${lo}:${hi}]^T D_${m}`,
      n: (hi - lo) * d,
      body: `g[${lo * d}u + i] += p[i];`,
      buffers: { g: grads.W_dec, p: gg },
    }),
  ]);
  out.push(elementwise(device, {
    label: "dxHat += D_0",
    n: b * d,
    body: "dxHat[i] += dx[i];",
    buffers: { dxHat: B.dxHat, dx: dx[0] },
  }));
  return out;
}

/**
 * The Gated SAE's frozen-decoder reconstruction, before the column pass: x_aux = ReLU(gate) W_dec
 * + b_dec, dxAux = 2 (x_aux - x) / B and its sum of squares (slot gateRecon), then the gate
 * path's latent gradient dxAux W_dec^T over ReLU(gate) in `g` (read by the column pass).
 */
function frozenGateRecon(device: GPUDevice, layout: StepLayout): Program[] {
  const { b, d, f, params, buffers: B } = layout;
  const G = layout.gated!;
  return [
    gemm(device, "xAux = relu(gate) W_dec + b_dec", { m: b, n: d, k: f, bias: true }, {
      a: G.g,
      b: params.W_dec,
      c: G.x,
      bias: params.b_dec,
    }),
    ...sumIntoSlot(device, B.scal, {
      label: "dxAux, aux sse",
      n: b * d,
      body: `let e = xa[i] - x[i]; xa[i] = ${f32(2 / b)} * e;`,
      value: "e * e",
      slot: S.gateRecon,
      buffers: { x: B.x, xa: G.x, part: B.part },
    }),
    gemm(device, "dgate = dxAux W_dec^T", { m: b, n: f, k: d, transB: true }, {
      a: G.x,
      b: params.W_dec,
      c: G.g,
    }),
  ];
}

/** The gated selection's own gradients from the column pass's sums: gb_gate, gb_mag, gr_mag. */
function gatedGradients(device: GPUDevice, layout: StepLayout): Program {
  const { f, params, grads, buffers: B } = layout;
  return elementwise(device, {
    label: "gb_gate, gb_mag, gr_mag",
    n: f,
    body: `gbg[i] = cs[${QG.dgate * f}u + i];
    gbm[i] = cs[${QG.dmag * f}u + i];
    grm[i] = cs[${QG.dmagPre * f}u + i] * exp(rm[i]);`,
    buffers: {
      cs: B.cs,
      rm: params.r_mag,
      gbg: grads.b_gate,
      gbm: grads.b_mag,
      grm: grads.r_mag,
    },
  });
}

/** The weight gradients as dense GEMMs: gW_dec = f^T dxHat (+ fAux^T deHat), gW_enc = xIn^T dpre. */
function denseWeightGradients(
  device: GPUDevice,
  layout: StepLayout,
  options: { xIn: GPUBuffer; aux: boolean },
): Program[] {
  const xIn = options.xIn;
  const { b, d, f, grads, buffers: B } = layout;
  const out = [gemm(device, "gW_dec = f^T dxHat", { m: f, n: d, k: b, transA: true }, {
    a: B.f,
    b: B.dxHat,
    c: grads.W_dec,
  })];
  if (options.aux) {
    const p = gemm(device, "gW_dec += fAux^T deHat", { m: f, n: d, k: b, transA: true, beta: 1 }, {
      a: layout.aux!.fAux,
      b: layout.aux!.eHat,
      c: grads.W_dec,
    });
    out.push(onlyWithDead(layout, p));
  }
  out.push(gemm(device, "gW_enc = xIn^T dpre", { m: d, n: f, k: b, transA: true }, {
    a: xIn,
    b: B.df,
    c: encoderOf(layout).gw,
  }));
  return out;
}

/**
 * out [B, F] = left [B, D] W_dec^T: everywhere (a dense GEMM), or at the listed entries of each
 * row only (`lists`), which are all the column pass reads.
 */
function latentGradient(device: GPUDevice, layout: StepLayout, options: {
  label: string;
  left: GPUBuffer;
  out: GPUBuffer;
  lists?: { idx: GPUBuffer; cnt: GPUBuffer };
}): Program {
  const { b, d, f, params } = layout;
  if (!options.lists) {
    return gemm(device, options.label, { m: b, n: f, k: d, transB: true }, {
      a: options.left,
      b: params.W_dec,
      c: options.out,
    });
  }
  return sparseRowDot(device, {
    label: `${options.label} (sparse)`,
    rows: b,
    cols: f,
    d,
    left: options.left,
    w: params.W_dec,
    idx: options.lists.idx,
    cnt: options.lists.cnt,
    out: options.out,
  });
}

/**
 * One pass over [B, F] by column chunks: dpre = df (+ the per-latent add) where f > 0, else 0,
 * minus the pre-activation loss's gradient, plus AuxK's latent gradient where its latents are
 * kept (`aux`), written over df; per latent: count of f > 0, sum of f, smallest positive f, for
 * JumpReLU the entries inside the STE window and the sum of df over them, and the sum of dpre:
 * the finish pass writes it as gb_enc (chunk sums in row order, then over chunks in order). The
 * tanh penalty adds its gradient to dpre and to the window's sum and sums tanh(c f); the step
 * penalty on post-activations counts f > theta and f inside the step STE's window.
 */
function columnPass(device: GPUDevice, layout: StepLayout, options: { aux: boolean }): Program[] {
  const { b, f, step, params, state, buffers: B } = layout;
  const sel = step.selection;
  const { chunks, per } = columnChunks(b);
  const jump = sel.kind === "threshold";
  const relu = step.terms.some((t) => t.kind === "decoder_norm_l1");
  const preAct = step.terms.find((t) => t.kind === "pre_act");
  const tanh = step.terms.find((t) => t.kind === "tanh");
  const post = step.terms.some((t) => t.kind === "step" && t.input === "post");
  const gated = sel.kind === "gate_magnitude";
  const gateL1 = step.terms.some((t) => t.kind === "gate_l1");
  const gateRecon = step.terms.some((t) => t.kind === "frozen_gate_recon");
  const extra: Named = {};
  if (jump) extra.th = params[sel.log ? "log_threshold" : "threshold"];
  if (gated) {
    extra.bg = params.b_gate;
    extra.rm = params.r_mag;
  }
  if (gateRecon) extra.dga = layout.gated!.g;
  if (preAct?.deadOnly) extra.since = state.since_fired;
  if (jump && step.bandwidth === "state") extra.bw = state.bandwidth;
  if (relu) extra.rown = B.rown;
  if (relu || tanh || gateL1) extra.hp = B.hp;
  if (options.aux) {
    extra.fa = layout.aux!.fAux;
    extra.dfa = layout.aux!.dfAux;
    extra.scal = B.scal;
  }
  const lists = layout.sparse?.cols;
  if (lists) {
    extra.lidx = lists.idx;
    extra.lcnt = lists.cnt;
  }
  const eps = step.bandwidth === "state" ? "bw[0]" : f32(step.bandwidth ?? 0.001);
  const all: Record<string, GPUBuffer | Mirror> = {
    pre: B.pre,
    f: B.f,
    df: B.df,
    cp: B.cp,
    cpart: B.cpart,
    ...extra,
  };
  // The gated selection's d gate where gate > 0: the frozen-decoder term's and the L1's.
  const gateGrad = (k: number) =>
    [gateRecon ? part("dgv", k) : "", gateL1 ? `lam / ${f32(b)}` : ""].filter((t) => t)
      .join(" + ") || "0.0";
  // An invocation takes V latents j = jv V + k of one row chunk: vec4 loads of f, df, pre (and
  // AuxK's) when F allows, each component running the scalar code below with its own sums.
  const V = f % 4 === 0 ? 4 : 1;
  const lanes = Array.from({ length: V }, (_, k) => k);
  const part = (name: string, k: number) => V === 4 ? `${name}.${"xyzw"[k]}` : name;
  const vecTy = V === 4 ? "array<vec4<f32>>" : "array<f32>";
  const types: Record<string, string> = { lidx: "array<u32>", lcnt: "array<u32>" };
  for (const n of ["pre", "f", "df", "fa", "dfa", "dga"]) types[n] = vecTy;
  const each = (code: (k: number) => string) => lanes.map(code).join("\n  ");
  // On a software adapter the [B, F] inputs are read through texture mirrors (mirror.ts) when F
  // allows: a vector fetch for all lanes instead of a load per lane. df is also written (d pre in
  // place), so its buffer stays bound beside its mirror dfT.
  const mirrored = V === 4 && readsMirror(device, b, f);
  const read = (name: string) => {
    if (!mirrored) return `${name}[q]`;
    const t = name === "df" ? "dfT" : name;
    all[t] = sharedMirror(device, all[name] as GPUBuffer, b, f);
    types[t] = "texture";
    return mirrorLoad(t, "jv", "r");
  };
  const setup = each((k) => {
    const jk = `jv * ${V}u + ${k}u`;
    return [
      `let j${k} = ${jk};`,
      jump ? `let theta${k} = ${thetaOf(sel, `th[j${k}]`)};` : "",
      `let add${k} = ${relu ? `hp[0] * rown[j${k}] / ${f32(b)}` : "0.0"};`,
      `var count${k} = 0.0; var fsum${k} = 0.0; var minpos${k} = ${BIG}; var kc${k} = 0.0;`,
      `var dn${k} = 0.0; var pc${k} = 0.0; var ps${k} = 0.0; var gs${k} = 0.0; var listed${k} = 0u;`,
      `var ts${k} = 0.0; var hs${k} = 0.0; var ks${k} = 0.0;`,
      gated
        ? `let sc${k} = exp(rm[j${k}]); let bg${k} = bg[j${k}]; var gl${k} = 0.0; var dgs${k} = 0.0; var dms${k} = 0.0; var dmz${k} = 0.0;`
        : "",
      preAct
        ? `let counted${k} = ${
          preAct.deadOnly ? `since[j${k}] >= ${f32(preAct.deadTokens)}` : "true"
        };`
        : "",
    ].filter((l) => l).join(" ");
  });
  const body = each((k) =>
    [
      `let v${k} = ${part("fv", k)}; let g${k} = ${part("gv", k)}; var dp${k} = 0.0;`,
      // The tanh penalty's gradient lambda c sech^2(c f) / B joins d f where f > 0 and in the window.
      tanh
        ? `let t2${k} = tanh_sech2(${f32(tanh.c)} * v${k}); let ds${k} = lam * ${
          f32(tanh.c)
        } * t2${k}.y / ${f32(b)};`
        : "",
      `if (v${k} > 0.0) { count${k} += 1.0; fsum${k} += v${k}; minpos${k} = min(minpos${k}, v${k});`,
      `  dp${k} = g${k} + add${k}${tanh ? ` + ds${k}; ts${k} += t2${k}.x` : ""}; }`,
      // Gated: dp is d mag here (d f where f > 0); d pi = d gate H(gate) + exp(r_mag) d mag.
      gated
        ? `let pz${k} = ${part("zv", k)}; let gt${k} = pz${k} + bg${k}; var dg${k} = 0.0;
    if (gt${k} > 0.0) { gl${k} += gt${k}; dg${k} = ${gateGrad(k)}; dgs${k} += dg${k}; }
    dms${k} += dp${k}; dmz${k} += dp${k} * pz${k}; dp${k} = dg${k} + sc${k} * dp${k};`
        : "",
      jump
        ? `let z${k} = ${part("zv", k)}; let u${k} = (z${k} - theta${k}) / eps;
    if (abs(z${k} - theta${k}) < eps && u${k} > -0.5 && u${k} < 0.5) { kc${k} += 1.0; dn${k} += g${k}${
          tanh ? ` + ds${k}` : ""
        }; }`
        : "",
      post
        ? `let up${k} = (v${k} - theta${k}) / eps;
    if (abs(v${k} - theta${k}) < eps && up${k} > -0.5 && up${k} < 0.5) { ks${k} += 1.0; }
    if (v${k} > theta${k}) { hs${k} += 1.0; }`
        : "",
      preAct
        ? `let gap${k} = theta${k} - ${part("zv", k)};
    if (counted${k} && gap${k} > 0.0) { pc${k} += 1.0; ps${k} += gap${k}; dp${k} -= ${
          f32(preAct.alpha / b)
        }; }`
        : "",
      options.aux
        ? `let auxKept${k} = anyDead && ${part("fav", k)} > 0.0; if (auxKept${k}) { dp${k} += ${
          part("dfav", k)
        }; }`
        : "",
      `gs${k} += dp${k};`,
      lists
        ? `if (v${k} > 0.0${
          options.aux ? ` || auxKept${k}` : ""
        }) { lidx[j${k} * ${b}u + ch * ${per}u + listed${k}] = r; listed${k}++; }`
        : "",
    ].filter((l) => l).join("\n    ")
  );
  const dps = lanes.map((k) => `dp${k}`).join(", ");
  // What each row of the loop reads: the WGSL name of the value and the [B, F] input it comes from.
  const inputs: [string, string][] = [["fv", "f"], ["gv", "df"]];
  if (jump || preAct || gated) inputs.push(["zv", "pre"]);
  if (options.aux) inputs.push(["fav", "fa"], ["dfav", "dfa"]);
  if (gateRecon) inputs.push(["dgv", "dga"]);
  const loads = inputs.map(([value, name]) => `let ${value} = ${read(name)};`).join(" ");
  const rows = columnRows(gated);
  const out = each((k) =>
    [
      `let o${k} = ch * ${f}u + j${k};`,
      `cpart[o${k}] = gs${k};`,
      lists ? `lcnt[o${k}] = listed${k};` : "",
      ...rows.map(([q, v]) => `cp[${q * chunks * f}u + o${k}] = ${v}${k};`),
    ].filter((l) => l).join(" ")
  );
  const code = `${declare(Object.keys(all), types)}
${tanh ? TANH_SECH2 : ""}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let jv = gid.x;
  let ch = gid.y;
  if (jv >= ${f / V}u) { return; }
  ${options.aux ? `let anyDead = ${ANY_DEAD};` : ""}
  ${jump ? `let eps = ${eps};` : ""}
  ${
    relu || tanh || gateL1
      ? "let lam = hp[0]; // lambda, read once: a load in the row loop is one per lane"
      : ""
  }
  ${setup}
  let r1 = min(${b}u, (ch + 1u) * ${per}u);
  for (var r = ch * ${per}u; r < r1; r++) {
    let q = r * ${f / V}u + jv;
    ${loads}
    ${body}
    df[q] = ${V === 4 ? `vec4<f32>(${dps})` : dps};
  }
  ${out}
}`;
  const finish = `${declare(["cp", "cs", "cpart", "gbe"])}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j = gid.x;
  if (j >= ${f}u) { return; }
  for (var q = 0u; q < ${QN}u; q++) {
    var s = 0.0;
    var lo = ${BIG};
    for (var c = 0u; c < ${chunks}u; c++) {
      let v = cp[(q * ${chunks}u + c) * ${f}u + j];
      s += v;
      lo = min(lo, v);
    }
    cs[q * ${f}u + j] = select(s, lo, q == ${Q.minpos}u);
  }
  var s = 0.0;
  for (var c = 0u; c < ${chunks}u; c++) { s += cpart[c * ${f}u + j]; }
  gbe[j] = s;
}`;
  return [
    program(device, {
      label: "column pass",
      code,
      buffers: Object.values(all),
      groups: [Math.ceil(f / V / 64), chunks],
    }),
    program(device, {
      label: "column finish",
      code: finish,
      buffers: [B.cp, B.cs, B.cpart, encoderOf(layout).gbias],
      groups: [Math.ceil(f / WG)],
    }),
  ];
}

/** scal[slot] = sum (or min) over latents j of `value` (one workgroup; F is at most ~1e5). */
function latentSum(
  device: GPUDevice,
  layout: StepLayout,
  options: { label: string; value: string; slot: number; min?: boolean; extra?: Named },
): Program[] {
  const { f, buffers: B } = layout;
  const all: Named = { cs: B.cs, scal: B.scal, ...(options.extra ?? {}) };
  const op = options.min ? "min" : "";
  const code = `${declare(Object.keys(all))}
var<workgroup> acc: array<f32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_id) lid: vec3<u32>) {
  var s = ${options.min ? BIG : "0.0"};
  for (var j = lid.x; j < ${f}u; j += ${WG}u) { ${
    op ? `s = min(s, ${options.value});` : `s += ${options.value};`
  } }
  acc[lid.x] = s;
  workgroupBarrier();
  for (var w = ${WG / 2}u; w > 0u; w = w >> 1u) {
    if (lid.x < w) { ${
    op ? "acc[lid.x] = min(acc[lid.x], acc[lid.x + w]);" : "acc[lid.x] += acc[lid.x + w];"
  } }
    workgroupBarrier();
  }
  if (lid.x == 0u) { scal[${options.slot}u] = acc[0]; }
}`;
  return [
    program(device, { label: options.label, code, buffers: Object.values(all), groups: [1] }),
  ];
}

/** JumpReLU's step penalty: its value and the threshold gradient (both STEs). */
function stepPenalty(
  device: GPUDevice,
  layout: StepLayout,
  term: Extract<WebGpuStep["terms"][number], { kind: "step" }>,
): Program[] {
  const { b, f, step, params, grads, state, buffers: B } = layout;
  const sel = step.selection;
  if (sel.kind !== "threshold") throw new Error("the step penalty needs a JumpReLU selection");
  const out: Program[] = [];
  // H(z - theta) and the step STE's window count z = pre (the column pass's count of f > 0 and
  // its STE window) or z = f (its hstep and kstep rows).
  const post = term.input === "post";
  const hRow = post ? Q.hstep : Q.count;
  const p = `(cs[${hRow * f}u + j] / ${f32(b)})`;
  const l0 = `scal[${post ? S.stepH : S.active}] / ${f32(b)}`;
  out.push(
    ...latentSum(device, layout, {
      label: "ste window",
      value: `cs[${Q.kcount * f}u + j]`,
      slot: S.near,
    }),
  );
  if (post) {
    out.push(...latentSum(device, layout, {
      label: "step counts on f",
      value: `cs[${Q.hstep * f}u + j]`,
      slot: S.stepH,
    }));
  }
  if (term.penalty === "quadratic_frequency") {
    out.push(...latentSum(device, layout, {
      label: "frequency penalty",
      value: `${p} * (1.0 + ${p} / ${f32(term.s)})`,
      slot: S.penalty,
    }));
  }
  const dH = term.penalty === "l0"
    ? `lambda / ${f32(b)}`
    : term.penalty === "quadratic"
    ? `2.0 * lambda * (${l0} / ${f32(term.targetL0)} - 1.0) / ${f32(term.targetL0)} / ${f32(b)}`
    : `lambda * (1.0 + 2.0 * ${p} / ${f32(term.s)}) / ${f32(b)}`;
  const paramName = sel.log ? "log_threshold" : "threshold";
  const eps = step.bandwidth === "state" ? "bw[0]" : f32(step.bandwidth ?? 0.001);
  const buffers: Named = {
    th: params[paramName],
    g: grads[paramName],
    cs: B.cs,
    scal: B.scal,
    hp: B.hp,
  };
  if (step.bandwidth === "state") buffers.bw = state.bandwidth;
  out.push(elementwise(device, {
    label: "threshold gradient",
    n: f,
    body: `let j = i;
    let lambda = hp[0];
    let theta = ${thetaOf(sel)};
    let eps = ${eps};
    let dt = cs[${Q.dnear * f}u + j] * (-theta / eps) + (${dH}) * (-1.0 / eps) * cs[${
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
function tanhPenalty(device: GPUDevice, layout: StepLayout): Program[] {
  const { f, step, params, grads, state, buffers: B } = layout;
  const sel = step.selection;
  if (sel.kind !== "threshold") throw new Error("the tanh penalty needs a JumpReLU selection");
  const paramName = sel.log ? "log_threshold" : "threshold";
  const eps = step.bandwidth === "state" ? "bw[0]" : f32(step.bandwidth ?? 0.001);
  const buffers: Named = { th: params[paramName], g: grads[paramName], cs: B.cs };
  if (step.bandwidth === "state") buffers.bw = state.bandwidth;
  return [
    ...latentSum(device, layout, {
      label: "ste window",
      value: `cs[${Q.kcount * f}u + j]`,
      slot: S.near,
    }),
    ...latentSum(device, layout, {
      label: "tanh penalty",
      value: `cs[${Q.tsum * f}u + j]`,
      slot: S.tanh,
    }),
    elementwise(device, {
      label: "threshold gradient",
      n: f,
      body: `let j = i;
    let theta = ${thetaOf(sel)};
    let dt = cs[${Q.dnear * f}u + j] * (-theta / ${eps});
    g[j] = ${sel.log ? "dt * theta" : "dt"};`,
      buffers,
    }),
  ];
}

/**
 * The pre-activation loss: its value; its encoder gradient (-alpha / B on every counted entry
 * below its threshold) is in the column pass, its threshold gradient added here.
 */
function preActLoss(
  device: GPUDevice,
  layout: StepLayout,
  term: Extract<WebGpuStep["terms"][number], { kind: "pre_act" }>,
): Program[] {
  const { b, f, step, params, grads, buffers: B } = layout;
  const sel = step.selection;
  if (sel.kind !== "threshold") {
    throw new Error("the pre-activation loss needs a JumpReLU selection");
  }
  const name = sel.log ? "log_threshold" : "threshold";
  return [
    ...latentSum(device, layout, {
      label: "pre-act sum",
      value: `cs[${Q.psum * f}u + j]`,
      slot: S.preAct,
    }),
    elementwise(device, {
      label: "pre-act threshold gradient",
      n: f,
      body: `let j = i;
    let theta = ${thetaOf(sel)};
    g[j] += ${f32(term.alpha / b)} * ${sel.log ? "theta" : "1.0"} * cs[${Q.pcount * f}u + j];`,
      buffers: { th: params[name], g: grads[name], cs: B.cs },
    }),
  ];
}

/** Indirect-dispatch slots of the programs AuxK runs only when some latent is dead. */
export const GATE_SLOTS = 16;

/** WGSL: whether some latent is dead this step (AuxK has work). */
const ANY_DEAD = `scal[${S.nDead}] > 0.0`;

/**
 * `p` dispatched with the workgroup counts of the next gate slot: its own counts when some latent
 * is dead, zeros (nothing runs) otherwise. The engine writes each slot's counts into
 * aux.gateFull once the step is built (gateCounts).
 */
function onlyWithDead(layout: StepLayout, p: Program): Program {
  const A = layout.aux!;
  const slot = A.gated.length;
  if (slot >= GATE_SLOTS) throw new Error(`webgpu engine: more than ${GATE_SLOTS} gated programs`);
  A.gated.push(p);
  const indirect = { buffer: A.gate, offset: 12 * slot };
  return {
    label: `${p.label} (if a latent is dead)`,
    groups: p.groups,
    record: (pass) => p.record(pass, indirect),
    mirrors: p.mirrors,
    writes: p.writes,
  };
}

/** Writes the gate slots: each slot's counts when some latent is dead, else zeros. */
function gateWriter(device: GPUDevice, layout: StepLayout): Program {
  const A = layout.aux!;
  return elementwise(device, {
    label: "aux dispatch counts",
    n: 3 * GATE_SLOTS,
    body: `gate[i] = select(0u, full[i], ${ANY_DEAD});`,
    buffers: { gate: A.gate, full: A.gateFull, scal: layout.buffers.scal },
    types: { gate: "array<u32>", full: "array<u32>" },
  });
}

/** The workgroup counts of the gated programs, three u32 a slot, for aux.gateFull. */
export function gateCounts(layout: StepLayout): Uint32Array {
  const out = new Uint32Array(3 * GATE_SLOTS);
  layout.aux?.gated.forEach((p, i) => out.set(p.groups, 3 * i));
  return out;
}

/** Whether AuxK contributes anything (k > 0 and alpha != 0). */
function auxOn(layout: StepLayout, term: AuxTerm): boolean {
  return Math.min(term.k, layout.f) > 0 && term.alpha !== 0;
}

/**
 * AuxK on dead latents: selection, residual reconstruction, its value and its latent gradient
 * dfAux (the column pass adds it to dpre where fAux > 0).
 */
function auxK(device: GPUDevice, layout: StepLayout, term: AuxTerm): Program[] {
  const { b, d, f, params, state, buffers: B } = layout;
  const A = layout.aux!;
  const k = Math.min(term.k, f);
  if (!auxOn(layout, term)) {
    return [elementwise(device, {
      label: "aux off",
      n: 1,
      body: `scal[${S.auxValue}] = 0.0;`,
      buffers: { scal: B.scal },
    })];
  }
  const dead = `(since[j] >= ${f32(term.deadTokens)})`;
  const out: Program[] = [];
  const always: Program[] = [];
  always.push(...latentSum(device, layout, {
    label: "dead latents",
    value: `select(0.0, 1.0, since[j] >= ${f32(term.deadTokens)})`,
    slot: S.nDead,
    extra: { since: state.since_fired },
  }));
  out.push(elementwise(device, {
    label: "aux residual",
    n: b * d,
    body: "e[i] = x[i] - xHat[i];",
    buffers: { e: A.e, x: B.x, xHat: B.xHat },
  }));
  const auxSelect = {
    label: "aux k-th among dead",
    rows: b,
    cols: f,
    k,
    src: B.pre,
    kth: A.kthAux,
    mask: dead,
    extra: { since: state.since_fired, scal: B.scal },
  };
  // Without a dead latent the auxiliary latents are empty whatever kth says: skip the count (fAux
  // then keeps stale values, which every reader ignores without a dead latent). On a software
  // adapter without lists the serial selection also writes fAux.
  const lists = layout.sparse?.aux;
  const fused = layout.software && !lists;
  out.push(
    layout.software
      ? rowKthSerial(device, {
        ...auxSelect,
        skip: `scal[${S.nDead}] == 0.0`,
        ...(fused ? { label: "aux k-th among dead and fAux", out: A.fAux } : {}),
      })
      : rowKth(device, auxSelect),
  );
  if (!fused) {
    out.push(
      lists
        ? selectRows(device, {
          label: "fAux (listed)",
          rows: b,
          cols: f,
          src: B.pre,
          out: A.fAux,
          idx: lists.idx,
          cnt: lists.cnt,
          keep: `${dead} && key(z) >= kth[row] && z > 0.0`,
          extra: { kth: A.kthAux, since: state.since_fired },
          types: { kth: "array<u32>" },
          prelude: KEY_FN,
        })
        : elementwise(device, {
          label: "fAux",
          n: b * f,
          body: `let j = i % ${f}u; let z = pre[i];
    fa[i] = select(0.0, z, ${dead} && key(z) >= kth[i / ${f}u] && z > 0.0);`,
          buffers: { pre: B.pre, fa: A.fAux, kth: A.kthAux, since: state.since_fired },
          types: { kth: "array<u32>" },
          prelude: KEY_FN,
        }),
    );
  }
  out.push(
    lists
      ? sparseDecode(device, {
        label: "eHat = fAux W_dec (sparse)",
        rows: b,
        cols: f,
        d,
        val: A.fAux,
        idx: lists.idx,
        cnt: lists.cnt,
        w: params.W_dec,
        out: A.eHat,
      })
      : gemm(device, "eHat = fAux W_dec", { m: b, n: d, k: f }, {
        a: A.fAux,
        b: params.W_dec,
        c: A.eHat,
      }),
  );
  out.push(...columnSum(device, {
    label: "aux residual means",
    rows: b,
    cols: d,
    src: A.e,
    out: A.eMean,
    cpart: B.cpart,
  }));
  out.push(...sumIntoSlot(device, B.scal, {
    label: "aux spread",
    n: b * d,
    body: `let c = e[i] - em[i % ${d}u] / ${f32(b)};`,
    value: "c * c",
    slot: S.auxSpread,
    buffers: { e: A.e, em: A.eMean, part: B.part },
  }));
  out.push(...sumIntoSlot(device, B.scal, {
    label: "aux error",
    n: b * d,
    body: "let q = e[i] - eh[i];",
    value: "q * q",
    slot: S.auxErr,
    buffers: { e: A.e, eh: A.eHat, part: B.part },
  }));
  const alphaEff = term.scaleByDead
    ? `${f32(term.alpha)} * min(scal[${S.nDead}] / ${f32(k)}, 1.0)`
    : f32(term.alpha);
  const value = elementwise(device, {
    label: "aux value",
    n: 1,
    body: `let spread = scal[${S.auxSpread}] + 1e-12;
    let alpha = ${alphaEff};
    let on = scal[${S.nDead}] > 0.0 && alpha > 0.0;
    scal[${S.auxValue}] = select(0.0, alpha * scal[${S.auxErr}] / spread, on);
    scal[${S.auxCoef}] = select(0.0, 2.0 * alpha / spread, on);`,
    buffers: { scal: B.scal },
  });
  out.push(value);
  out.push(elementwise(device, {
    label: "deHat",
    n: b * d,
    body: `eh[i] = scal[${S.auxCoef}] * (eh[i] - e[i]);`,
    buffers: { eh: A.eHat, e: A.e, scal: B.scal },
  }));
  out.push(latentGradient(device, layout, {
    label: "dfAux = deHat W_dec^T",
    left: A.eHat,
    out: A.dfAux,
    lists,
  }));
  if (layout.sparse) return [...always, ...out];
  // Dense path: everything but the dead count and the value runs only when a latent is dead.
  return [
    ...always,
    gateWriter(device, layout),
    ...out.map((p) => (p === value ? p : onlyWithDead(layout, p))),
  ];
}

/** Decoder projection, gradient clipping, Adam, renormalisation, threshold floor. */
function update(device: GPUDevice, layout: StepLayout): Program[] {
  const { d, f, step, params, grads, m, v, sizes, paramNames, buffers: B, adam } = layout;
  const out: Program[] = [];
  if (layout.unitNormDecoder) {
    out.push(
      rowProgram(layout)(device, {
        label: "project decoder gradient",
        rows: f,
        cols: d,
        dot: `g[r * ${d}u + k] * w[r * ${d}u + k]`,
        body: `g[r * ${d}u + k] -= t * w[r * ${d}u + k];`,
        buffers: { g: grads.W_dec, w: params.W_dec },
      }),
    );
  }
  if (adam.gradClip !== null) {
    paramNames.forEach((name, pi) => {
      out.push(...sumIntoSlot(device, B.scal, {
        label: `|g ${name}|^2`,
        n: sizes[name],
        value: "g[i] * g[i]",
        slot: S.gradSq + pi,
        buffers: { g: grads[name], part: B.part },
      }));
    });
  }
  const norm2 = paramNames.map((_, pi) => `scal[${S.gradSq + pi}]`).join(" + ");
  const scale = adam.gradClip === null
    ? "1.0"
    : `min(1.0, ${f32(adam.gradClip)} / (sqrt(${norm2}) + 1e-12))`;
  paramNames.forEach((name, pi) => {
    const a1 = f32(1 - adam.beta1);
    const a2 = f32(1 - adam.beta2);
    const mNew = adam.beta1 === 0 ? "gi" : `${f32(adam.beta1)} * m[i] + ${a1} * gi`;
    out.push(elementwise(device, {
      label: `adam ${name}`,
      n: sizes[name],
      body: `let sc = ${scale};
    let gi = g[i] * sc;
    let mi = ${mNew};
    let vi = ${f32(adam.beta2)} * v[i] + ${a2} * gi * gi;
    m[i] = mi; v[i] = vi;
    p[i] -= (hp[${4 + pi}] / hp[2] * mi) / (sqrt(vi / hp[3]) + ${f32(adam.eps)});`,
      buffers: { p: params[name], g: grads[name], m: m[name], v: v[name], hp: B.hp, scal: B.scal },
    }));
  });
  if (layout.unitNormDecoder) {
    out.push(
      rowProgram(layout)(device, {
        label: "renormalise decoder rows",
        rows: f,
        cols: d,
        dot: `w[r * ${d}u + k] * w[r * ${d}u + k]`,
        body: `w[r * ${d}u + k] = w[r * ${d}u + k] * (1.0 / max(sqrt(t), 1e-12));`,
        buffers: { w: params.W_dec },
      }),
    );
  }
  if (step.thresholdFloor !== undefined && params.threshold) {
    out.push(elementwise(device, {
      label: "threshold floor",
      n: f,
      body: `t[i] = max(t[i], ${f32(step.thresholdFloor)});`,
      buffers: { t: params.threshold },
    }));
  }
  return out;
}

/** since_fired clocks and BatchTopK's running threshold. */
function stateUpdate(device: GPUDevice, layout: StepLayout): Program[] {
  const { b, f, step, state, buffers: B } = layout;
  const out: Program[] = [];
  if (step.deadClock) {
    out.push(elementwise(device, {
      label: "since_fired",
      n: f,
      body: `s[i] = select(s[i] + ${f32(b)}, 0.0, cs[${Q.count * f}u + i] > 0.0);`,
      buffers: { s: state.since_fired, cs: B.cs },
    }));
  }
  const sel = step.selection;
  if (sel.kind === "batch_topk") {
    out.push(...latentSum(device, layout, {
      label: "smallest kept",
      value: `cs[${Q.minpos * f}u + j]`,
      slot: S.minKept,
      min: true,
    }));
    const m = f32(sel.momentum);
    out.push(elementwise(device, {
      label: "running threshold",
      n: 1,
      body: `let lo = scal[${S.minKept}];
    let old = thr[0];
    if (lo < 2.0e38) { thr[0] = select(old * ${m} + lo * ${
        f32(1 - sel.momentum)
      }, lo, old < 0.0); }`,
      buffers: { thr: state.threshold, scal: B.scal },
    }));
  }
  return out;
}

/** stats += [loss, ...terms, l0, sse, sst, ste] of this step. */
function statsProgram(device: GPUDevice, layout: StepLayout): Program {
  const { b, f, step, buffers: B } = layout;
  const k = layout.termCount;
  const terms = termExpressions(step, { b, lit: f32 });
  const lines = terms.map((t, i) => `let t${i} = ${t}; st[${1 + i}] += t${i};`).join("\n    ");
  const total = terms.map((_, i) => `t${i}`).join(" + ");
  const ste = step.selection.kind === "threshold"
    ? `st[${4 + k}] += scal[${S.near}] / ${f32(b * f)};`
    : "";
  return elementwise(device, {
    label: "statistics",
    n: 1,
    body: `let lambda = hp[0];
    ${lines}
    st[0] += ${total};
    st[${1 + k}] += scal[${S.active}] / ${f32(b)};
    st[${2 + k}] += scal[${S.sse}];
    st[${3 + k}] += scal[${S.sst}];
    ${ste}`,
    buffers: { st: B.stats, scal: B.scal, hp: B.hp },
  });
}
