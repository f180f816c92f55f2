// WGSL of the "unrolled" GEMM kernel, the fastest on llvmpipe: one dispatch per K-chunk of kc
// steps, each straight-line code (no loop) that reads A from workgroup memory at constant offsets.
// Used by gemm.ts, which records the chunks and their parameters (a uniform at a dynamic offset).
//
// Why: llvmpipe runs 8 invocations as one SIMD vector and loads a storage or workgroup value lane
// by lane (a loop of 8 scalar loads), unless the offset is a compile-time constant outside any
// loop, which it loads once and broadcasts. So a workgroup stages its tm x kc block of A in
// workgroup memory, and every invocation then reads it at constant offsets while it loads only its
// own columns of B (one vec4 per k) lane by lane: tm FMAs per lane-by-lane load instead of ~4.
// Texture loads are the exception: llvmpipe builds them as vector code for all 8 lanes at once
// (a fraction of the cost of a lane-by-lane load of the same vec4). So with `textures` the kernel
// reads A and B from texture mirrors of their buffers (mirror.ts, kept up to date by
// recordPrograms), which made the five products of a training step at 64/512/4096 2-4x faster.
import type { GemmOptions } from "./_gemm_options.ts";
import { f32 } from "./_gemm_wgsl.ts";
import { mirrorDeclaration, mirrorFits, mirrorLoad } from "./mirror.ts";

/** Unrolled kernel: `w` invocations, tm rows x tn columns each (tn % 4 == 0), kc K per dispatch. */
export interface UnrolledTile {
  kind: "unrolled";
  w: number;
  tm: number;
  tn: number;
  kc: number;
  /**
   * Read A and B from texture mirrors (vec4s along their contiguous dimension, mirror.ts) instead
   * of storage buffers. Needs tm % 4 == 0, kc % 4 == 0 and shapes that unrolledTextures() accepts.
   */
  textures?: boolean;
}

/** Width (vec4s along the contiguous dimension) and height of one texture operand. */
export type TextureShape = readonly [number, number];

/**
 * The texture shapes of A and B for `o` (A [m, k] is k/4 wide and m high, A^T [k, m] m/4 wide),
 * or null when a texture tile cannot take them (mirrorFits: the contiguous dimension a multiple of
 * 64 floats, no side longer than the device's maxTextureDimension2D).
 */
export function unrolledTextures(
  o: GemmOptions,
  limits: GPUSupportedLimits,
): { a: TextureShape; b: TextureShape } | null {
  const { m, n, k } = o;
  const a: TextureShape = o.transA ? [m / 4, k] : [k / 4, m];
  const b: TextureShape = o.transB ? [k / 4, n] : [n / 4, k];
  const ok = (t: TextureShape) => mirrorFits(t[1], 4 * t[0], limits);
  return ok(a) && ok(b) ? { a, b } : null;
}

/** Rows and columns of C one workgroup covers. */
export function unrolledExtent(t: UnrolledTile): { rows: number; cols: number } {
  return { rows: t.tm, cols: t.w * t.tn };
}

/** K steps per dispatch for `k` (all of k when it is shorter than the tile's kc). */
export function unrolledChunk(t: UnrolledTile, k: number): number {
  return Math.min(t.kc, k);
}

/**
 * Whether consecutive workgroups walk down the rows of C (workgroup x the row block) rather than
 * along its columns: when B is wider than A is tall (n > m) they then share one column block of B
 * (kc x w tn per chunk, cache-hot) and re-read A's smaller chunk, instead of streaming all of B
 * again for every row block. gW_enc = xIn^T dpre at 64/512/4096 (m 64, n 512, B the [4096, 512]
 * dpre) took 18.1 instead of 22.9 ms on llvmpipe this way (best of 8 rounds, interleaved in one
 * process); the other products of a step have n <= m and keep the column order.
 */
export function unrolledRowsFirst(o: GemmOptions): boolean {
  return o.n > o.m;
}

const XYZW = "xyzw";

/**
 * The kernel. Binding 4 holds `kc0` (first k of this dispatch) and `first` (1 for the first
 * chunk: it applies beta and bias; later chunks add to C). Rows of a workgroup are r0 .. r0 + tm
 * (r0 = workgroup y * tm); an invocation's columns come in vec4 chunks at column 4 * (workgroup x
 * * w * tn/4 + c * w + lane). Out-of-range rows and columns read clamped addresses and are not
 * stored; k past the end (only when kc does not divide k) reads as 0.
 */
export function unrolledWgsl(o: GemmOptions, t: UnrolledTile): string {
  const { m, n, k } = o;
  const transA = o.transA ?? false, transB = o.transB ?? false;
  const alpha = o.alpha ?? 1, beta = o.beta ?? 0, bias = o.bias ?? false;
  const relu = o.relu ?? false;
  const { w, tm, tn } = t;
  const kc = unrolledChunk(t, k), tn4 = tn / 4;
  const raggedM = m % tm !== 0, raggedN = n % (w * tn) !== 0, raggedK = k % kc !== 0;
  const vecB = transB ? k % 4 === 0 && kc % 4 === 0 : n % 4 === 0;
  const vecC = n % 4 === 0;
  // Staging loads A as vec4 along its contiguous dimension when aligned.
  const vecA = transA ? m % 4 === 0 && tm % 4 === 0 : k % 4 === 0 && kc % 4 === 0;
  const tex = t.textures ?? false;
  // Which workgroup id counts row blocks and which column blocks (unrolledRowsFirst).
  const [rowBlock, colBlock] = unrolledRowsFirst(o) ? ["wg.x", "wg.y"] : ["wg.y", "wg.x"];
  if (tex && !(vecA && vecB)) {
    throw new RangeError(`gemm: texture tile needs vec4-aligned A and B (unrolledTextures)`);
  }

  const s: string[] = [];
  // S holds vec4s along k when kc % 4 == 0 (a quarter of the loads in the unrolled part).
  const vecS = kc % 4 === 0;
  const put = (index: string, value: string) =>
    vecS ? `{ let e = ${index}; S[e / 4u][e % 4u] = ${value}; }` : `S[${index}] = ${value};`;
  // Stage A's tm x kc block: S[i * kc + p] = A(r0 + i, kc0 + p), 0 past k. A^T [k, m] in vec4s
  // along m goes in 4 x 4 blocks (4 rows, 4 consecutive k), transposed into 4 vec4 stores along k
  // (a store per component would be 16, each made lane by lane on a software adapter).
  const blocks = vecA && transA && vecS;
  const groups = blocks ? (tm * kc) / 16 : vecA ? (tm * kc) / 4 : tm * kc; // units to load
  const count = Math.ceil(groups / w);
  for (let j = 0; j < count; j++) {
    const e = `${j * w}u + lane`;
    const guard = (j + 1) * w > groups ? `if (${e} < ${groups}u) ` : "";
    const lines: string[] = [];
    if (vecA && !transA) {
      // e -> row i = e / (kc/4), p4 = e % (kc/4); 4 consecutive k.
      lines.push(`let i = (${e}) / ${kc / 4}u; let p4 = (${e}) % ${kc / 4}u;`);
      const r = raggedM ? `min(r0 + i, ${m - 1}u)` : `(r0 + i)`;
      const kk = `(kc0 / 4u + p4)`;
      const idx = raggedK
        ? `${r} * ${k / 4}u + min(${kk}, ${k / 4 - 1}u)`
        : `${r} * ${k / 4}u + ${kk}`;
      const at = tex ? mirrorLoad("A", raggedK ? `min(${kk}, ${k / 4 - 1}u)` : kk, r) : `A[${idx}]`;
      const v = raggedK ? `select(vec4<f32>(0.0), ${at}, ${kk} < ${k / 4}u)` : at;
      lines.push(`let v = ${v};`);
      lines.push(`S[i * ${kc / 4}u + p4] = v;`); // vecA && !transA implies vecS
    } else if (blocks) {
      // e -> p4 = e / (tm/4), i4 = e % (tm/4); rows 4 i4 .. 4 i4 + 3, k 4 p4 .. 4 p4 + 3.
      lines.push(`let p4 = (${e}) / ${tm / 4}u; let i4 = (${e}) % ${tm / 4}u;`);
      const r4 = raggedM ? `min(r0 / 4u + i4, ${m / 4 - 1}u)` : `(r0 / 4u + i4)`;
      for (let t = 0; t < 4; t++) {
        const p = `(4u * p4 + ${t}u)`;
        const kk = raggedK ? `min(kc0 + ${p}, ${k - 1}u)` : `(kc0 + ${p})`;
        const at = tex ? mirrorLoad("A", r4, kk) : `A[${kk} * ${m / 4}u + ${r4}]`;
        const v = raggedK ? `select(vec4<f32>(0.0), ${at}, kc0 + ${p} < ${k}u)` : at;
        lines.push(`let v${t} = ${v};`);
      }
      for (let q = 0; q < 4; q++) {
        const x = XYZW[q];
        lines.push(
          `S[(i4 * 4u + ${q}u) * ${kc / 4}u + p4] = vec4<f32>(v0.${x}, v1.${x}, v2.${x}, v3.${x});`,
        );
      }
    } else if (vecA && transA) {
      // e -> p = e / (tm/4), i4 = e % (tm/4); 4 consecutive rows.
      lines.push(`let p = (${e}) / ${tm / 4}u; let i4 = (${e}) % ${tm / 4}u;`);
      const r4 = raggedM ? `min(r0 / 4u + i4, ${m / 4 - 1}u)` : `(r0 / 4u + i4)`;
      const kk = raggedK ? `min(kc0 + p, ${k - 1}u)` : `(kc0 + p)`;
      const at = tex ? mirrorLoad("A", r4, kk) : `A[${kk} * ${m / 4}u + ${r4}]`;
      const v = raggedK ? `select(vec4<f32>(0.0), ${at}, kc0 + p < ${k}u)` : at;
      lines.push(`let v = ${v};`);
      for (let q = 0; q < 4; q++) lines.push(put(`(i4 * 4u + ${q}u) * ${kc}u + p`, `v.${XYZW[q]}`));
    } else {
      // One value: for A [m, k] walk k fastest, for A^T [k, m] walk m fastest.
      if (transA) lines.push(`let p = (${e}) / ${tm}u; let i = (${e}) % ${tm}u;`);
      else lines.push(`let i = (${e}) / ${kc}u; let p = (${e}) % ${kc}u;`);
      const r = raggedM ? `min(r0 + i, ${m - 1}u)` : `(r0 + i)`;
      const kk = raggedK ? `min(kc0 + p, ${k - 1}u)` : `(kc0 + p)`;
      const idx = transA ? `${kk} * ${m}u + ${r}` : `${r} * ${k}u + ${kk}`;
      const v = raggedK ? `select(0.0, A[${idx}], kc0 + p < ${k}u)` : `A[${idx}]`;
      lines.push(put(`i * ${kc}u + p`, v));
    }
    s.push(`${guard}{ ${lines.join(" ")} }`);
  }
  s.push(`workgroupBarrier();`);

  const col = (c: number, j: number) =>
    raggedN ? `min(cb${c} + ${j}u, ${n - 1}u)` : `(cb${c} + ${j}u)`;
  const col4 = (c: number) => raggedN ? `min(cv${c}, ${n / 4 - 1}u)` : `cv${c}`;
  /** k index of step p of this chunk, clamped into range when kc does not divide k. */
  const kAt = (p: number) => raggedK ? `min(kc0 + ${p}u, ${k - 1}u)` : `(kc0 + ${p}u)`;
  for (let c = 0; c < tn4; c++) {
    s.push(
      `let cv${c} = ${colBlock} * ${w * tn4}u + ${c * w}u + lane;`,
      `let cb${c} = cv${c} * 4u;`,
    );
  }
  for (let i = 0; i < tm; i++) {
    for (let c = 0; c < tn4; c++) s.push(`var acc${i}_${c} = vec4<f32>(0.0);`);
  }
  for (let p = 0; p < kc; p++) {
    // B(kc0 + p, columns of chunk c) as vec4s. Past k it reads row k - 1 again, which A's zeros
    // cancel (an infinite value there would give NaN instead of infinity).
    const b: string[] = [];
    for (let c = 0; c < tn4; c++) {
      if (!transB && vecB) {
        const at = tex ? mirrorLoad("B", col4(c), kAt(p)) : `B[${kAt(p)} * ${n / 4}u + ${col4(c)}]`;
        s.push(`let b${p}_${c} = ${at};`);
      } else if (transB && vecB) {
        if (p % 4 === 0) {
          const kv = raggedK ? `min(kc0 / 4u + ${p / 4}u, ${k / 4 - 1}u)` : `kc0 / 4u + ${p / 4}u`;
          for (let j = 0; j < 4; j++) {
            const at = tex ? mirrorLoad("B", kv, col(c, j)) : `B[${col(c, j)} * ${k / 4}u + ${kv}]`;
            s.push(`let bt${p}_${c}_${j} = ${at};`);
          }
        }
        const p0 = p - (p % 4), x = XYZW[p % 4];
        s.push(
          `let b${p}_${c} = vec4<f32>(${
            [0, 1, 2, 3].map((j) => `bt${p0}_${c}_${j}.${x}`).join(", ")
          });`,
        );
      } else {
        const at = (j: number) =>
          transB ? `B[${col(c, j)} * ${k}u + ${kAt(p)}]` : `B[${kAt(p)} * ${n}u + ${col(c, j)}]`;
        s.push(`let b${p}_${c} = vec4<f32>(${[0, 1, 2, 3].map(at).join(", ")});`);
      }
      b.push(`b${p}_${c}`);
    }
    for (let i = 0; i < tm; i++) {
      if (!vecS) s.push(`let a${p}_${i} = vec4<f32>(S[${i * kc + p}u]);`);
      else {
        if (p % 4 === 0) s.push(`let s${p / 4}_${i} = S[${(i * kc + p) / 4}u];`);
        s.push(`let a${p}_${i} = vec4<f32>(s${(p - (p % 4)) / 4}_${i}.${XYZW[p % 4]});`);
      }
      for (let c = 0; c < tn4; c++) {
        s.push(`acc${i}_${c} = fma(a${p}_${i}, ${b[c]}, acc${i}_${c});`);
      }
    }
  }

  // Epilogue: the first chunk applies beta and bias, later ones add to C. Loads of C only where
  // they count (beta 1, or a chunk after the first); bias once per column chunk.
  const scale = (v: string) => alpha === 1 ? v : `${f32(alpha)} * ${v}`;
  const chunks = Math.ceil(k / kc);
  for (let c = 0; c < tn4; c++) {
    if (!bias) continue;
    for (const j of vecC ? [null] : [0, 1, 2, 3]) {
      const at = j === null ? col4(c) : col(c, j);
      const name = j === null ? `bias${c}` : `bias${c}_${j}`;
      const zero = j === null ? "vec4<f32>(0.0)" : "0.0";
      s.push(
        chunks === 1
          ? `let ${name} = bias[${at}];`
          : `let ${name} = select(${zero}, bias[${at}], first == 1u);`,
      );
    }
  }
  for (let i = 0; i < tm; i++) {
    const inRow = raggedM ? `r0 + ${i}u < ${m}u` : "";
    for (let c = 0; c < tn4; c++) {
      for (const j of vecC ? [null] : [0, 1, 2, 3]) {
        const comp = j === null ? "" : `.${XYZW[j]}`;
        const colIdx = j === null ? `cv${c}` : `cb${c} + ${j}u`;
        const idx = `(r0 + ${i}u) * ${vecC ? n / 4 : n}u + ${colIdx}`;
        const lines = [`var v = ${scale(`acc${i}_${c}${comp}`)};`];
        if (beta === 1) lines.push(`v += C[${idx}];`);
        else if (chunks > 1) lines.push(`if (first == 0u) { v += C[${idx}]; }`);
        if (bias) lines.push(`v += bias${c}${j === null ? "" : `_${j}`};`);
        if (relu) {
          // Only once the whole of k is in: the last chunk (or the only one).
          const zero = j === null ? "vec4<f32>(0.0)" : "0.0";
          lines.push(chunks === 1 ? `v = max(v, ${zero});` : `if (last) { v = max(v, ${zero}); }`);
        }
        lines.push(`C[${idx}] = v;`);
        const inCol = j === null ? (raggedN ? `cv${c} < ${n / 4}u` : "") : `cb${c} + ${j}u < ${n}u`;
        const conds = [inRow, inCol].filter((x) => x);
        s.push(`${conds.length ? `if (${conds.join(" && ")}) ` : ""}{ ${lines.join(" ")} }`);
      }
    }
  }

  const ty = (v: boolean) => v ? "vec4<f32>" : "f32";
  // The relu epilogue's condition (only when k takes several chunks).
  const last = relu && chunks > 1 ? `\n  let last = kc0 + ${kc}u >= ${k}u;` : "";
  return `// gemm (unrolled) ${m}x${n}x${k} transA=${transA} transB=${transB} alpha=${alpha} ` +
    `beta=${beta} bias=${bias} relu=${relu} tile ${tm}x${
      w * tn
    }, ${tm}x${tn} per invocation, k ${kc} per dispatch${tex ? ", A and B from textures" : ""}
struct Chunk { kc0: u32, first: u32 }
${
      tex
        ? `${mirrorDeclaration(0, "A")}
${mirrorDeclaration(1, "B")}`
        : `@group(0) @binding(0) var<storage, read> A: array<${ty(vecA)}>;
@group(0) @binding(1) var<storage, read> B: array<${ty(vecB)}>;`
    }
@group(0) @binding(2) var<storage, read_write> C: array<${ty(vecC)}>;
${bias ? `@group(0) @binding(3) var<storage, read> bias: array<${ty(vecC)}>;` : ""}
@group(0) @binding(4) var<uniform> chunk: Chunk;
var<workgroup> S: array<${ty(vecS)}, ${vecS ? (tm * kc) / 4 : tm * kc}>;

@compute @workgroup_size(${w}, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let r0 = ${rowBlock} * ${tm}u;
  let kc0 = chunk.kc0;
  let first = chunk.first;${last}
${s.map((l) => `  ${l}`).join("\n")}
}
`;
}
