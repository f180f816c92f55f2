// The radix selections of lib/engine/webgpu/wgsl.ts against a sort in TypeScript: the key (f32
// bits) of the k-th largest positive value per row (rowKth, the workgroup kernel GPUs run, and
// rowKthSerial, the one software adapters run) with and without a column mask, and over a whole
// matrix (globalKth), on data with ties, negatives and rows with fewer than k positives. The row
// passes (rowPass on GPUs, rowPassSerial on software adapters) against a row normalisation in
// TypeScript. Both forms of the two-stage sum (partialSum: workgroup trees on GPUs, serial sums
// on software adapters) against a float64 sum, and the column sums (columnSum: through a texture
// mirror four columns at a time on a software adapter where the width is a multiple of 64, from
// the buffer otherwise) against sums in TypeScript. The engine tests on llvmpipe only reach the
// serial kernels, so the workgroup ones are checked here directly.
import assert from "node:assert/strict";
import { openDevice } from "../../../lib/engine/webgpu/device.ts";
import { isSoftwareDevice } from "../../../lib/engine/webgpu/adapter.ts";
import {
  columnSum,
  finishSum,
  globalKth,
  partialSum,
  PARTS,
  rowKth,
  rowKthSerial,
  rowPass,
  rowPassSerial,
} from "../../../lib/engine/webgpu/wgsl.ts";
import type { Program } from "../../../lib/engine/webgpu/program.ts";
import { Rng } from "../../../lib/data/rng.ts";
import { runAndRead, storageBuffer, webgpuTest } from "../_webgpu.ts";

const ROWS = 37;
const COLS = 300;

/** Values with ties (rounded to 1/8), negatives, and a last row of mostly non-positive values. */
function matrix(): Float32Array {
  const rng = new Rng(3, 0x5e1);
  const x = new Float32Array(ROWS * COLS);
  for (let i = 0; i < x.length; i++) x[i] = Math.round(rng.normal() * 8) / 8;
  for (let j = 0; j < COLS; j++) x[(ROWS - 1) * COLS + j] = j < 5 ? j / 4 : -1;
  return x;
}

/** The f32 bits of the k-th largest of `values` counting non-positive ones as 0. */
function refKey(values: number[], k: number): number {
  const sorted = values.map((v) => (v > 0 ? v : 0)).sort((a, b) => b - a);
  const v = sorted[Math.min(k, sorted.length) - 1] ?? 0;
  return new Uint32Array(new Float32Array([v]).buffer)[0];
}

async function readU32(device: GPUDevice, programs: Program[], out: GPUBuffer, words: number) {
  return new Uint32Array(await runAndRead(device, programs, out, words));
}

webgpuTest("rowKth and rowKthSerial give each row's k-th largest key, masked or not", async () => {
  const { device } = await openDevice();
  try {
    const x = matrix();
    const src = storageBuffer(device, x);
    const keep = new Float32Array(COLS).map((_, j) => (j % 3 === 0 ? 1 : 0));
    const maskBuf = storageBuffer(device, keep);
    for (const k of [1, 7, 64, 150]) {
      for (const masked of [false, true]) {
        const want = Array.from({ length: ROWS }, (_, r) => {
          const row = Array.from(x.subarray(r * COLS, (r + 1) * COLS));
          return refKey(row.map((v, j) => (masked && !keep[j] ? 0 : v)), k);
        });
        for (const [name, make] of [["rowKth", rowKth], ["rowKthSerial", rowKthSerial]] as const) {
          const kth = storageBuffer(device, new Uint32Array(ROWS));
          const p = make(device, {
            label: name,
            rows: ROWS,
            cols: COLS,
            k,
            src,
            kth,
            ...(masked ? { mask: "keep[j] > 0.0", extra: { keep: maskBuf } } : {}),
          });
          const have = await readU32(device, [p], kth, ROWS);
          assert.deepEqual(Array.from(have), want, `${name} k=${k} masked=${masked}`);
        }
      }
    }
  } finally {
    device.destroy();
  }
});

webgpuTest("rowKthSerial with out writes each row's kept entries and zeros elsewhere", async () => {
  const { device } = await openDevice();
  try {
    const x = matrix();
    const src = storageBuffer(device, x);
    const keep = new Float32Array(COLS).map((_, j) => (j % 3 === 0 ? 1 : 0));
    for (const masked of [false, true]) {
      const k = 7;
      const out = storageBuffer(device, new Float32Array(x.length).fill(9));
      const p = rowKthSerial(device, {
        label: "select",
        rows: ROWS,
        cols: COLS,
        k,
        src,
        kth: storageBuffer(device, new Uint32Array(ROWS)),
        out,
        ...(masked ? { mask: "keep[j] > 0.0", extra: { keep: storageBuffer(device, keep) } } : {}),
      });
      const have = new Float32Array(await runAndRead(device, [p], out, x.length));
      const want = new Float32Array(x.length);
      for (let r = 0; r < ROWS; r++) {
        const row = Array.from(x.subarray(r * COLS, (r + 1) * COLS));
        const allowed = row.map((v, j) => (masked && !keep[j] ? 0 : v));
        const kth = new Float32Array(new Uint32Array([refKey(allowed, k)]).buffer)[0];
        allowed.forEach((v, j) => want[r * COLS + j] = v > 0 && v >= kth ? v : 0);
      }
      assert.deepEqual(Array.from(have), Array.from(want), `masked=${masked}`);
    }
  } finally {
    device.destroy();
  }
});

webgpuTest("globalKth gives the k-th largest key of a whole matrix", async () => {
  const { device } = await openDevice();
  try {
    const x = matrix();
    const src = storageBuffer(device, x);
    for (const k of [1, 500, 4000, ROWS * COLS]) {
      const ctl = storageBuffer(device, new Uint32Array(258));
      const programs = globalKth(device, { label: "global", n: x.length, k, src, ctl });
      const have = await readU32(device, programs, ctl, 1);
      assert.equal(have[0], refKey(Array.from(x), k), `k=${k}`);
    }
  } finally {
    device.destroy();
  }
});

webgpuTest("rowPass and rowPassSerial normalise each row by its summed squares", async () => {
  const { device } = await openDevice();
  try {
    const x = matrix();
    const want = new Float32Array(x.length);
    for (let r = 0; r < ROWS; r++) {
      let t = 0;
      for (let k = 0; k < COLS; k++) t += x[r * COLS + k] ** 2;
      for (let k = 0; k < COLS; k++) want[r * COLS + k] = x[r * COLS + k] / Math.sqrt(t);
    }
    for (const [name, make] of [["rowPass", rowPass], ["rowPassSerial", rowPassSerial]] as const) {
      const w = storageBuffer(device, x);
      const out = storageBuffer(device, new Float32Array(x.length));
      const p = make(device, {
        label: name,
        rows: ROWS,
        cols: COLS,
        dot: `w[r * ${COLS}u + k] * w[r * ${COLS}u + k]`,
        body: `o[r * ${COLS}u + k] = w[r * ${COLS}u + k] / sqrt(t);`,
        buffers: { w, o: out },
      });
      const have = new Float32Array(await runAndRead(device, [p], out, x.length));
      const worst = have.reduce((m, v, i) => Math.max(m, Math.abs(v - want[i])), 0);
      assert.ok(worst <= 1e-6, `${name}: max |diff| ${worst}`);
    }
  } finally {
    device.destroy();
  }
});

webgpuTest("partialSum and finishSum add every term once, as trees or serial sums", async () => {
  const { device } = await openDevice();
  try {
    const x = matrix();
    const slot = 2;
    let want = 0;
    for (const v of x) want += v * v;
    for (const serial of [false, true]) {
      const w = storageBuffer(device, x);
      const sq = storageBuffer(device, new Float32Array(x.length));
      const part = storageBuffer(device, new Float32Array(4 * PARTS));
      const scal = storageBuffer(device, new Float32Array(4));
      const p = partialSum(device, {
        label: `sum of squares (serial ${serial})`,
        n: x.length,
        body: "let v = w[i]; sq[i] = v * v;",
        value: "v * v",
        slot,
        buffers: { w, sq, part },
        serial,
      });
      const programs = [p, finishSum(device, { slot, part, scal })];
      const have = new Float32Array(await runAndRead(device, programs, scal, 4));
      assert.ok(Math.abs(have[slot] - want) <= 1e-5 * want, `serial ${serial}: ${have[slot]}`);
      // The body ran once for every i: each square written.
      const squares = new Float32Array(await runAndRead(device, [], sq, x.length));
      assert.deepEqual(squares, x.map((v) => v * v), `serial ${serial}: element-wise writes`);
    }
  } finally {
    device.destroy();
  }
});

webgpuTest("columnSum gives every column's sum, from a texture mirror or the buffer", async () => {
  const { device } = await openDevice();
  try {
    // 100 rows: 64 chunks of 2 rows, the last 14 empty. 128 columns take a mirror on a software
    // adapter, 300 never do.
    const rows = 100;
    const forms = new Set<boolean>();
    for (const cols of [128, 300]) {
      const rng = new Rng(5, cols);
      const x = new Float32Array(rows * cols).map(() => Math.round(rng.normal() * 8) / 8);
      const want = new Float64Array(cols);
      for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) want[j] += x[r * cols + j];
      const out = storageBuffer(device, new Float32Array(cols));
      const programs = columnSum(device, {
        label: `column sums ${cols}`,
        rows,
        cols,
        src: storageBuffer(device, x),
        out,
        cpart: storageBuffer(device, new Float32Array(64 * cols)),
        combine: "s / 2.0",
      });
      const have = new Float32Array(await runAndRead(device, programs, out, cols));
      for (let j = 0; j < cols; j++) {
        assert.equal(have[j], want[j] / 2, `${cols} columns, column ${j}`);
      }
      forms.add((programs[0].mirrors ?? []).length > 0); // what the first pass binds
    }
    if (isSoftwareDevice(device)) assert.deepEqual([...forms].sort(), [false, true]);
  } finally {
    device.destroy();
  }
});
