// WGSL of the "direct" GEMM kernel: no workgroup memory and no barriers; each invocation reads its
// operands straight from the storage buffers, as vec4 where the layout allows, and keeps a tm x tn
// block of C in registers. On llvmpipe it beats the tiled kernel but not the unrolled one, so
// gemm.ts keeps it only for comparison (DIRECT_TILES).
//
// Why: llvmpipe runs 8 invocations as one SIMD vector and loads every storage or workgroup value
// lane by lane, so a load costs far more than an FMA and workgroup memory saves nothing. What
// counts is FMAs per loaded value, tm * tn / (tm + tn), and vec4 loads (4 values per load).
import type { GemmOptions } from "./_gemm_options.ts";
import { f32 } from "./_gemm_wgsl.ts";

/** Direct kernel: `w` invocations per workgroup, each with tm rows x tn columns (tn % 4 == 0). */
export interface DirectTile {
  kind: "direct";
  w: number;
  tm: number;
  tn: number;
}

/** Rows and columns of C one workgroup covers. */
export function directExtent(t: DirectTile): { rows: number; cols: number } {
  return { rows: t.tm, cols: t.w * t.tn };
}

const XYZW = "xyzw";

/**
 * The kernel. Rows of an invocation are r0 + i (r0 = workgroup y * tm, the same for all lanes);
 * its columns come in vec4 chunks c = 0 .. tn/4 - 1 at column 4 * (workgroup x * w * tn/4 +
 * c * w + lane), so neighbouring lanes read neighbouring columns. Out-of-range rows and columns
 * read a clamped (valid) address and are not stored; K runs in groups of 4 plus an unrolled tail.
 */
export function directWgsl(o: GemmOptions, t: DirectTile): string {
  const { m, n, k } = o;
  const transA = o.transA ?? false, transB = o.transB ?? false;
  const alpha = o.alpha ?? 1, beta = o.beta ?? 0, bias = o.bias ?? false;
  const relu = o.relu ?? false;
  const { w, tm, tn } = t;
  const tn4 = tn / 4;
  // vec4 views where every vec4 starts at a multiple of 4 floats.
  const vecA = transA ? m % 4 === 0 && tm % 4 === 0 : k % 4 === 0;
  const vecB = transB ? k % 4 === 0 : n % 4 === 0;
  const vecC = n % 4 === 0;
  const raggedM = m % tm !== 0, raggedN = n % (w * tn) !== 0;
  const k4 = Math.floor(k / 4), tail = k % 4;

  const row = (i: number) => raggedM ? `min(r0 + ${i}u, ${m - 1}u)` : `(r0 + ${i}u)`;
  /** Column index (scalar) of component j of chunk c, clamped into range. */
  const col = (c: number, j: number) =>
    raggedN ? `min(cb${c} + ${j}u, ${n - 1}u)` : `(cb${c} + ${j}u)`;
  const col4 = (c: number) => raggedN ? `min(cv${c}, ${n / 4 - 1}u)` : `cv${c}`;

  /** Statements loading one group of `g` k values starting at WGSL expression `kb`, then FMAs. */
  function group(kb: string, g: number, vector: boolean): string[] {
    const s: string[] = [];
    const a: string[][] = Array.from({ length: tm }, () => []); // a[i][q]: A(r0 + i, kb + q)
    const b: string[][] = Array.from({ length: g }, () => []); // b[q][c]: vec4 of B(kb + q, chunk c)
    const kq = (q: number) => `${kb} + ${q}u`;
    if (!transA && vecA && vector) {
      for (let i = 0; i < tm; i++) {
        s.push(`let a${i} = A[${row(i)} * ${k / 4}u + kv];`);
        for (let q = 0; q < g; q++) a[i][q] = `a${i}.${XYZW[q]}`;
      }
    } else if (transA && vecA) {
      for (let q = 0; q < g; q++) {
        for (let i4 = 0; i4 < tm / 4; i4++) {
          const r = raggedM ? `min(r0 / 4u + ${i4}u, ${m / 4 - 1}u)` : `r0 / 4u + ${i4}u`;
          s.push(`let a${q}_${i4} = A[(${kq(q)}) * ${m / 4}u + ${r}];`);
          for (let j = 0; j < 4; j++) a[4 * i4 + j][q] = `a${q}_${i4}.${XYZW[j]}`;
        }
      }
    } else {
      for (let i = 0; i < tm; i++) {
        for (let q = 0; q < g; q++) {
          const idx = transA ? `(${kq(q)}) * ${m}u + ${row(i)}` : `${row(i)} * ${k}u + ${kq(q)}`;
          s.push(`let a${i}_${q} = A[${idx}];`);
          a[i][q] = `a${i}_${q}`;
        }
      }
    }
    for (let c = 0; c < tn4; c++) {
      if (!transB && vecB) {
        for (let q = 0; q < g; q++) {
          s.push(`let b${q}_${c} = B[(${kq(q)}) * ${n / 4}u + ${col4(c)}];`);
          b[q][c] = `b${q}_${c}`;
        }
      } else if (transB && vecB && vector) {
        for (let j = 0; j < 4; j++) s.push(`let bt${c}_${j} = B[${col(c, j)} * ${k / 4}u + kv];`);
        for (let q = 0; q < g; q++) {
          const x = XYZW[q];
          b[q][c] = `vec4<f32>(bt${c}_0.${x}, bt${c}_1.${x}, bt${c}_2.${x}, bt${c}_3.${x})`;
        }
      } else {
        for (let q = 0; q < g; q++) {
          const at = (j: number) =>
            transB ? `B[${col(c, j)} * ${k}u + ${kq(q)}]` : `B[(${kq(q)}) * ${n}u + ${col(c, j)}]`;
          s.push(`let b${q}_${c} = vec4<f32>(${[0, 1, 2, 3].map(at).join(", ")});`);
          b[q][c] = `b${q}_${c}`;
        }
      }
    }
    for (let q = 0; q < g; q++) {
      for (let i = 0; i < tm; i++) {
        for (let c = 0; c < tn4; c++) {
          s.push(`acc${i}_${c} = fma(vec4<f32>(${a[i][q]}), ${b[q][c]}, acc${i}_${c});`);
        }
      }
    }
    return s;
  }

  const decl: string[] = [];
  for (let c = 0; c < tn4; c++) {
    decl.push(`let cv${c} = wg.x * ${w * tn4}u + ${c * w}u + lane;`, `let cb${c} = cv${c} * 4u;`);
  }
  for (let i = 0; i < tm; i++) {
    for (let c = 0; c < tn4; c++) decl.push(`var acc${i}_${c} = vec4<f32>(0.0);`);
  }

  const store: string[] = [];
  const scale = (v: string) => alpha === 1 ? v : `${f32(alpha)} * ${v}`;
  for (let i = 0; i < tm; i++) {
    const inRow = raggedM ? `r0 + ${i}u < ${m}u` : "";
    for (let c = 0; c < tn4; c++) {
      if (vecC) {
        const idx = `(r0 + ${i}u) * ${n / 4}u + cv${c}`;
        let v = scale(`acc${i}_${c}`);
        if (beta === 1) v += ` + C[${idx}]`;
        if (bias) v += ` + bias[cv${c}]`;
        if (relu) v = `max(${v}, vec4<f32>(0.0))`;
        const conds = [inRow, raggedN ? `cv${c} < ${n / 4}u` : ""].filter((x) => x);
        const st = `C[${idx}] = ${v};`;
        store.push(conds.length ? `if (${conds.join(" && ")}) { ${st} }` : st);
      } else {
        for (let j = 0; j < 4; j++) {
          const idx = `(r0 + ${i}u) * ${n}u + cb${c} + ${j}u`;
          let v = scale(`acc${i}_${c}.${XYZW[j]}`);
          if (beta === 1) v += ` + C[${idx}]`;
          if (bias) v += ` + bias[cb${c} + ${j}u]`;
          if (relu) v = `max(${v}, 0.0)`;
          const conds = [inRow, `cb${c} + ${j}u < ${n}u`].filter((x) => x);
          store.push(`if (${conds.join(" && ")}) { C[${idx}] = ${v}; }`);
        }
      }
    }
  }

  const vecMain = (!transA && vecA) || (transB && vecB);
  const body: string[] = [];
  if (k4 > 0) {
    body.push(`for (var kv = 0u; kv < ${k4}u; kv++) {`);
    if (vecMain) body.push(...group("kv * 4u", 4, true).map((l) => `  ${l}`));
    else body.push(...group("kv * 4u", 4, false).map((l) => `  ${l}`));
    body.push(`}`);
  }
  if (tail > 0) body.push(`{`, ...group(`${4 * k4}u`, tail, false).map((l) => `  ${l}`), `}`);

  const ty = (v: boolean) => v ? "vec4<f32>" : "f32";
  return `// gemm (direct) ${m}x${n}x${k} transA=${transA} transB=${transB} alpha=${alpha} ` +
    `beta=${beta} bias=${bias} relu=${relu} tile ${tm}x${w * tn}, ${tm}x${tn} per invocation
@group(0) @binding(0) var<storage, read> A: array<${ty(vecA)}>;
@group(0) @binding(1) var<storage, read> B: array<${ty(vecB)}>;
@group(0) @binding(2) var<storage, read_write> C: array<${ty(vecC)}>;
${bias ? `@group(0) @binding(3) var<storage, read> bias: array<${ty(vecC)}>;` : ""}

@compute @workgroup_size(${w}, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let r0 = wg.y * ${tm}u;
${[...decl, ...body, ...store].map((l) => `  ${l}`).join("\n")}
}
`;
}
