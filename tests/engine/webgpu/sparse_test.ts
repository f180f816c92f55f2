// The sparse products of lib/engine/webgpu/sparse.ts: each kernel against the same product
// computed densely in TypeScript (float64) on random k-sparse data, with vec4 (d = 8) and scalar
// (d = 6) rows; then the webgpu engine with its sparse products forced on (on llvmpipe its rule
// keeps them off) against the cpu engine over 3 Adam steps for every k-sparse parity variant and
// in encode() (inference selection), and a snapshot restored into a new sparse engine continuing
// bit-identically.
import assert from "node:assert/strict";
import { openDevice } from "../../../lib/engine/webgpu/device.ts";
import {
  selectRows,
  sparseColumnProduct,
  sparseDecode,
  sparseRowDot,
} from "../../../lib/engine/webgpu/sparse.ts";
import { sparsePlan } from "../../../lib/engine/sparse_plan.ts";
import { createEngine } from "../../../lib/engine/create_engine.ts";
import { createWebGpuEngine } from "../../../lib/engine/webgpu/create_webgpu_engine.ts";
import type { Program } from "../../../lib/engine/webgpu/program.ts";
import {
  compareEncodings,
  compareRuns,
  encodeAfterStep,
  makeParityCase,
  type ParityCase,
  runEngine,
  webgpuParityVariants,
} from "../../../lib/bench/engine_parity.ts";
import { Rng } from "../../../lib/data/rng.ts";
import { runAndRead, storageBuffer, webgpuTest } from "../_webgpu.ts";

const ROWS = 23;
const COLS = 40;

async function readF32(device: GPUDevice, programs: Program[], out: GPUBuffer, words: number) {
  return new Float32Array(await runAndRead(device, programs, out, words));
}

function worst(have: Float32Array, want: Float64Array): number {
  return have.reduce((m, v, i) => Math.max(m, Math.abs(v - want[i])), 0);
}

/** Pre-activations [ROWS, COLS] and the kept mask: entries above 0.8 (a few a row, some rows none). */
function code(rng: Rng): { pre: Float32Array; keep: (i: number) => boolean } {
  const pre = new Float32Array(ROWS * COLS).map(() => rng.normal());
  for (let j = 0; j < COLS; j++) pre[3 * COLS + j] = -1; // a row with nothing kept
  return { pre, keep: (i) => pre[i] > 0.8 };
}

for (const d of [8, 6]) {
  webgpuTest(`sparse kernels match dense products on a k-sparse code (d = ${d})`, async () => {
    const { device } = await openDevice();
    try {
      const rng = new Rng(5, 0x5a);
      const { pre, keep } = code(rng);
      const w = new Float32Array(COLS * d).map(() => rng.normal());
      const left = new Float32Array(ROWS * d).map(() => rng.normal());
      const bias = new Float32Array(d).map(() => rng.normal());
      const f = pre.map((z, i) => (keep(i) ? z : 0));
      const bufs = {
        pre: storageBuffer(device, pre),
        f: storageBuffer(device, new Float32Array(ROWS * COLS).fill(7)),
        idx: storageBuffer(device, new Uint32Array(ROWS * COLS)),
        cnt: storageBuffer(device, new Uint32Array(ROWS)),
        w: storageBuffer(device, w),
        left: storageBuffer(device, left),
        bias: storageBuffer(device, bias),
        xHat: storageBuffer(device, new Float32Array(ROWS * d)),
        df: storageBuffer(device, new Float32Array(ROWS * COLS)),
      };
      const select = selectRows(device, {
        label: "select",
        rows: ROWS,
        cols: COLS,
        src: bufs.pre,
        out: bufs.f,
        idx: bufs.idx,
        cnt: bufs.cnt,
        keep: "z > 0.8",
      });
      const haveF = await readF32(device, [select], bufs.f, ROWS * COLS);
      assert.deepEqual(Array.from(haveF), Array.from(f));
      const common = { rows: ROWS, cols: COLS, d, idx: bufs.idx, cnt: bufs.cnt, w: bufs.w };
      // xHat = f w + bias
      const decode = sparseDecode(device, {
        label: "decode",
        ...common,
        val: bufs.f,
        out: bufs.xHat,
        bias: bufs.bias,
      });
      const wantX = new Float64Array(ROWS * d);
      for (let r = 0; r < ROWS; r++) {
        for (let k = 0; k < d; k++) {
          let s = bias[k];
          for (let j = 0; j < COLS; j++) s += f[r * COLS + j] * w[j * d + k];
          wantX[r * d + k] = s;
        }
      }
      const haveX = await readF32(device, [decode], bufs.xHat, ROWS * d);
      assert.ok(worst(haveX, wantX) <= 1e-5, `decode: max |diff| ${worst(haveX, wantX)}`);
      // df = left w^T at kept entries; others keep what they held (0 here)
      const dot = sparseRowDot(device, { label: "dot", ...common, left: bufs.left, out: bufs.df });
      const wantD = new Float64Array(ROWS * COLS);
      for (let i = 0; i < ROWS * COLS; i++) {
        if (!keep(i)) continue;
        const [r, j] = [Math.floor(i / COLS), i % COLS];
        for (let k = 0; k < d; k++) wantD[i] += left[r * d + k] * w[j * d + k];
      }
      const haveD = await readF32(device, [dot], bufs.df, ROWS * COLS);
      assert.ok(worst(haveD, wantD) <= 1e-5, `row dot: max |diff| ${worst(haveD, wantD)}`);
      // Column lists of the kept entries, in 4 chunks of 6 rows (the column pass's layout).
      const chunks = 4, per = 6;
      const lidx = new Uint32Array(COLS * ROWS), lcnt = new Uint32Array(chunks * COLS);
      for (let j = 0; j < COLS; j++) {
        for (let c = 0; c < chunks; c++) {
          for (let r = c * per; r < Math.min(ROWS, (c + 1) * per); r++) {
            if (keep(r * COLS + j)) lidx[j * ROWS + c * per + lcnt[c * COLS + j]++] = r;
          }
        }
      }
      const lists = {
        idx: storageBuffer(device, lidx),
        cnt: storageBuffer(device, lcnt),
        chunks,
        per,
      };
      const val2 = new Float32Array(ROWS * COLS).map(() => rng.normal());
      const mat2 = new Float32Array(ROWS * d).map(() => rng.normal());
      for (const transposed of [false, true]) {
        const out = storageBuffer(device, new Float32Array(COLS * d));
        const p = sparseColumnProduct(device, {
          label: "column product",
          rows: ROWS,
          cols: COLS,
          d,
          lists,
          terms: [
            { val: bufs.f, mat: bufs.left },
            { val: storageBuffer(device, val2), mat: storageBuffer(device, mat2) },
          ],
          out,
          transposed,
        });
        const want = new Float64Array(COLS * d);
        for (let j = 0; j < COLS; j++) {
          for (let k = 0; k < d; k++) {
            let s = 0;
            for (let r = 0; r < ROWS; r++) {
              if (!keep(r * COLS + j)) continue;
              s += f[r * COLS + j] * left[r * d + k] + val2[r * COLS + j] * mat2[r * d + k];
            }
            want[transposed ? k * COLS + j : j * d + k] = s;
          }
        }
        const have = await readF32(device, [p], out, COLS * d);
        assert.ok(
          worst(have, want) <= 1e-5,
          `column product transposed=${transposed}: max |diff| ${worst(have, want)}`,
        );
      }
    } finally {
      device.destroy();
    }
  });
}

/** The parity variants whose code is k-sparse enough for the sparse products. */
function sparseCases(): { label: string; c: ParityCase }[] {
  return webgpuParityVariants().flatMap((v) => {
    const c = makeParityCase(v.arch, { sae: v.sae, gradClip: v.gradClip });
    const kernel = c.arch.kernels!.webgpu!;
    if (kernel.unsupported(c.sae)) return [];
    const step = kernel.step(c.sae, { d: c.dims.d, f: c.dims.f });
    const plan = sparsePlan(step, { f: c.dims.f, software: true, sparse: true });
    return plan.main ? [{ label: v.label, c }] : [];
  });
}

function options(c: ParityCase) {
  return { sae: c.sae, adamEps: 1e-8, gradClip: c.gradClip, batch: c.dims.b, sparse: true };
}

const CASES = sparseCases();

webgpuTest("some parity variants have k-sparse codes, with and without sparse AuxK", () => {
  const plans = CASES.map(({ c }) => {
    const step = c.arch.kernels!.webgpu!.step(c.sae, { d: c.dims.d, f: c.dims.f });
    return sparsePlan(step, { f: c.dims.f, software: true, sparse: true });
  });
  assert.ok(plans.some((p) => p.aux) && plans.some((p) => !p.aux));
  return Promise.resolve();
});

for (const { label, c } of CASES) {
  webgpuTest(`webgpu engine with sparse products matches the cpu engine: ${label}`, async () => {
    const want = await runEngine(
      c,
      (init) =>
        createEngine(c.arch, init, {
          sae: c.sae,
          adamEps: 1e-8,
          gradClip: c.gradClip,
          batch: c.dims.b,
          engine: "cpu",
        }),
    );
    const have = await runEngine(c, (init) => createWebGpuEngine(c.arch, init, options(c)));
    const report = compareRuns(have, want);
    assert.deepEqual(report.failures, [], `worst ${report.worst} at ${report.worstAt}`);
  });
}

for (const { label, c } of CASES.filter((x) => !x.c.gradClip && !x.label.includes(" "))) {
  webgpuTest(
    `webgpu engine encode() with sparse products matches the cpu engine: ${label}`,
    async () => {
      const want = await encodeAfterStep(
        c,
        await createEngine(c.arch, c.init, {
          sae: c.sae,
          adamEps: 1e-8,
          gradClip: c.gradClip,
          batch: c.dims.b,
          engine: "cpu",
        }),
        5,
      );
      const have = await encodeAfterStep(
        c,
        await createWebGpuEngine(c.arch, c.init, options(c)),
        5,
      );
      for (const e of compareEncodings(have, want)) {
        assert.ok(e.ratio <= 1, `${e.k}: max |diff| ${e.maxAbs}`);
      }
    },
  );
}

webgpuTest(
  "a sparse webgpu snapshot restored into a new engine continues bit-identically",
  async () => {
    const { c } = CASES[0];
    const hyper = { lr: c.lr, lambda: c.lambda };
    const more = makeParityCase(c.arch.name, { steps: 4 });
    const a = await createWebGpuEngine(c.arch, c.init, options(c));
    const b = await createWebGpuEngine(c.arch, c.init, options(c));
    try {
      for (const x of more.batches.slice(0, 2)) a.step(x, hyper);
      await a.readStats();
      b.restore(await a.snapshot());
      for (const x of more.batches.slice(2)) {
        a.step(x, hyper);
        b.step(x, hyper);
      }
      const [sa, sb] = [await a.snapshot(), await b.snapshot()];
      for (const group of ["params", "state"] as const) {
        for (const [n, t] of Object.entries(sa[group])) {
          assert.deepEqual(sb[group][n].data, t.data, `${group} ${n}`);
        }
      }
    } finally {
      a.dispose();
      b.dispose();
    }
  },
);
