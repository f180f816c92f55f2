// Tests of lib/engine/webgpu/gemm.ts against a float64 CPU product, on the WebGPU adapter (Mesa's
// software Vulkan in CI).
//
// Two references:
// - Small-integer inputs (A, B in -3..3, bias and C in -8..8, alpha a power of two): every product
//   and partial sum is an integer below 2^24, so float32 is exact in any summation order and the
//   kernel must equal the float64 reference exactly. A dropped or repeated term shows as >= 1.
// - Random floats in [-1, 1): |gpu - ref| <= (k + 4) * 2^-24 * (|alpha| sum_k |a b| + |C| + |bias|),
//   the rounding bound of a k-term float32 sum plus the alpha, C and bias operations.
import assert from "node:assert/strict";
import {
  chooseTile,
  createGemm,
  GEMM_TILES,
  type GemmOptions,
  type GemmTile,
  recordGemm,
  TEXTURE_TILES,
  tileExtent,
  tileFits,
  tileName,
} from "../../../lib/engine/webgpu/gemm.ts";
import { openDevice } from "../../../lib/engine/webgpu/device.ts";
import { webgpuTest } from "../_webgpu.ts";

let opened: Promise<GPUDevice> | undefined;
function device(): Promise<GPUDevice> {
  opened ??= openDevice().then((d) => d.device);
  return opened;
}

/** Deterministic values: integers in [-r, r] or floats in [-1, 1). */
function values(count: number, seed: number, r: number | "float"): Float32Array<ArrayBuffer> {
  const out = new Float32Array(count);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    s ^= s << 13, s >>>= 0, s ^= s >>> 17, s ^= s << 5, s >>>= 0;
    const u = s / 2 ** 32;
    out[i] = r === "float" ? 2 * u - 1 : Math.floor(u * (2 * r + 1)) - r;
  }
  return out;
}

function upload(d: GPUDevice, data: Float32Array<ArrayBuffer>, extra = 0): GPUBuffer {
  const buf = d.createBuffer({
    size: 4 * (data.length + extra),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
  d.queue.writeBuffer(buf, 0, data);
  return buf;
}

async function download(d: GPUDevice, buf: GPUBuffer, count: number): Promise<Float32Array> {
  const read = d.createBuffer({
    size: 4 * count,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const enc = d.createCommandEncoder();
  enc.copyBufferToBuffer(buf, 0, read, 0, 4 * count);
  d.queue.submit([enc.finish()]);
  await read.mapAsync(GPUMapMode.READ);
  const out = new Float32Array(read.getMappedRange().slice(0));
  read.unmap();
  read.destroy();
  return out;
}

interface Inputs {
  a: Float32Array<ArrayBuffer>;
  b: Float32Array<ArrayBuffer>;
  c0: Float32Array<ArrayBuffer>;
  bias: Float32Array<ArrayBuffer>;
}

function inputs(o: GemmOptions, kind: number | "float", seed = 1): Inputs {
  return {
    a: values(o.m * o.k, seed, kind === "float" ? "float" : kind),
    b: values(o.k * o.n, seed + 1, kind === "float" ? "float" : kind),
    c0: values(o.m * o.n, seed + 2, kind === "float" ? "float" : 8),
    bias: values(o.n, seed + 3, kind === "float" ? "float" : 8),
  };
}

/** float64 C and the bound's scale (|alpha| sum |a b| + |C| + |bias|) per element. */
function reference(o: GemmOptions, x: Inputs): { c: Float64Array; scale: Float64Array } {
  const { m, n, k } = o;
  const alpha = o.alpha ?? 1;
  const c = new Float64Array(m * n), scale = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0, abs = 0;
      for (let p = 0; p < k; p++) {
        const a = o.transA ? x.a[p * m + i] : x.a[i * k + p];
        const b = o.transB ? x.b[j * k + p] : x.b[p * n + j];
        s += a * b;
        abs += Math.abs(a * b);
      }
      let v = alpha * s, sc = Math.abs(alpha) * abs;
      if (o.beta === 1) v += x.c0[i * n + j], sc += Math.abs(x.c0[i * n + j]);
      if (o.bias) v += x.bias[j], sc += Math.abs(x.bias[j]);
      if (o.relu) v = Math.max(v, 0);
      c[i * n + j] = v;
      scale[i * n + j] = sc;
    }
  }
  return { c, scale };
}

/** Runs the kernel `times` times on fresh buffers (with `extra` spare floats each) and reads C. */
async function run(
  o: GemmOptions,
  x: Inputs,
  opts: { tile?: GemmTile; times?: number; extra?: number } = {},
): Promise<Float32Array> {
  const d = await device();
  const gemm = createGemm(d, o, opts.tile);
  const extra = opts.extra ?? 0;
  const bufs = {
    a: upload(d, x.a, extra),
    b: upload(d, x.b, extra),
    c: upload(d, x.c0, extra),
    bias: o.bias ? upload(d, x.bias, extra) : undefined,
  };
  const enc = d.createCommandEncoder();
  recordGemm(enc, gemm, bufs, opts.times ?? 1);
  d.queue.submit([enc.finish()]);
  const out = await download(d, bufs.c, o.m * o.n);
  for (const b of [bufs.a, bufs.b, bufs.c, bufs.bias]) b?.destroy();
  return out;
}

function label(o: GemmOptions, tile?: GemmTile): string {
  const t = tile ? ` tile ${tileName(tile)}` : "";
  return `${o.m}x${o.n}x${o.k} transA=${o.transA ?? false} transB=${o.transB ?? false} ` +
    `alpha=${o.alpha ?? 1} beta=${o.beta ?? 0} bias=${o.bias ?? false}${t}`;
}

function assertExact(what: string, got: Float32Array, want: Float64Array, n: number): void {
  for (let i = 0; i < want.length; i++) {
    if (got[i] !== want[i]) {
      assert.fail(`${what}: C[${Math.floor(i / n)}, ${i % n}] = ${got[i]}, want ${want[i]}`);
    }
  }
}

function assertWithinBound(what: string, o: GemmOptions, got: Float32Array, x: Inputs): void {
  const { c, scale } = reference(o, x);
  const u = 2 ** -24;
  for (let i = 0; i < c.length; i++) {
    const tol = (o.k + 4) * u * scale[i];
    if (!(Math.abs(got[i] - c[i]) <= tol)) {
      assert.fail(
        `${what}: C[${Math.floor(i / o.n)}, ${i % o.n}] = ${got[i]}, want ${c[i]} +- ${tol}`,
      );
    }
  }
}

const TRANSPOSES = [
  { transA: false, transB: false },
  { transA: false, transB: true },
  { transA: true, transB: false },
  { transA: true, transB: true },
];
// Odd shapes (no dimension a multiple of any tile), the engine's small test SAE (B=64, D=16, F=48)
// as its five products, a single element, and shapes one past a tile boundary.
const SHAPES = [
  { m: 37, n: 53, k: 29 },
  { m: 64, n: 48, k: 16 },
  { m: 64, n: 16, k: 48 },
  { m: 48, n: 16, k: 64 },
  { m: 16, n: 48, k: 64 },
  { m: 1, n: 1, k: 1 },
  { m: 65, n: 129, k: 17 },
  { m: 128, n: 64, k: 32 },
];

// Small tiles of every kernel family. The generators are the same for every tile size, and small
// tiles compile in a fraction of the time on llvmpipe, so they cover the grid of shapes.
const SMALL_TILES: GemmTile[] = [
  { kind: "tiled", wx: 8, wy: 8, tm: 4, tn: 4, tk: 16 },
  { kind: "direct", w: 8, tm: 4, tn: 8 },
  { kind: "unrolled", w: 8, tm: 8, tn: 4, kc: 16 },
];

webgpuTest(
  "every kernel family gives the exact product for every transpose and shape",
  async () => {
    for (const tile of SMALL_TILES) {
      for (const shape of SHAPES) {
        for (const t of TRANSPOSES) {
          const o = { ...shape, ...t };
          const x = inputs(o, 3);
          assertExact(label(o, tile), await run(o, x, { tile }), reference(o, x).c, o.n);
        }
      }
    }
  },
);

webgpuTest("every production tile that fits the device gives the exact product", async () => {
  const d = await device();
  for (const tile of GEMM_TILES.filter((t) => tileFits(t, d.limits))) {
    for (const t of TRANSPOSES) {
      // Ragged in m, vec4-aligned n and k, k past one 64-step chunk. Texture tiles need rows of
      // 64 floats: m 128 when A is transposed, n 128, k 320 (past one 256-step chunk).
      const textures = tile.kind === "unrolled" && tile.textures;
      const o = textures
        ? { m: t.transA ? 128 : 70, n: 128, k: 320, ...t }
        : { m: 70, n: 68, k: 72, ...t };
      const x = inputs(o, 3, 7);
      assertExact(label(o, tile), await run(o, x, { tile }), reference(o, x).c, o.n);
    }
  }
});

webgpuTest(
  "a texture tile reads A and B from the mirrors recordGemm refreshes, in every transpose",
  async () => {
    // kc 24: k 64 runs as chunks of 24, 24 and 16. Ragged m and n where the texture does not
    // hold that dimension along its rows (m of A [m, k], n of B^T [n, k]).
    const tile = { kind: "unrolled" as const, w: 8, tm: 8, tn: 4, kc: 24, textures: true };
    for (const t of TRANSPOSES) {
      for (
        const extra of [{}, { alpha: -0.5, beta: 1 as const, bias: true }, {
          bias: true,
          relu: true,
        }]
      ) {
        const o = { m: t.transA ? 128 : 37, n: t.transB ? 53 : 64, k: 64, ...t, ...extra };
        const x = inputs(o, 3, 41);
        assertExact(label(o, tile), await run(o, x, { tile }), reference(o, x).c, o.n);
      }
    }
    // A^T and B with k (a batch) not a multiple of 4 and below kc: one chunk of 22, A staged
    // value by value instead of in 4 x 4 blocks.
    for (const extra of [{}, { alpha: -0.5, beta: 1 as const, bias: true }]) {
      const o = { m: 128, n: 64, k: 22, transA: true, ...extra };
      const x = inputs(o, 3, 43);
      assertExact(label(o, tile), await run(o, x, { tile }), reference(o, x).c, o.n);
    }
  },
);

webgpuTest(
  "alpha scales the product, beta 1 adds C, bias adds a row vector, relu clips",
  async () => {
    for (const tile of SMALL_TILES) {
      for (const t of TRANSPOSES) {
        for (
          const extra of [
            { alpha: 0.5, bias: true },
            { alpha: -0.25, beta: 1 as const, bias: true },
            // n 56: C in vec4s, the last ones past n (53 above stores values one by one).
            { n: 56, alpha: -0.25, beta: 1 as const, bias: true, relu: true },
            { alpha: 0.5, relu: true },
          ]
        ) {
          const o = { m: 37, n: 53, k: 29, ...t, ...extra };
          const x = inputs(o, 3, 11);
          assertExact(label(o, tile), await run(o, x, { tile }), reference(o, x).c, o.n);
        }
      }
    }
  },
);

webgpuTest(
  "the unrolled kernel sums K-chunks, the last one short, applying beta, bias and relu once",
  async () => {
    const tile = { kind: "unrolled" as const, w: 8, tm: 8, tn: 4, kc: 8 };
    for (const t of TRANSPOSES) {
      // k = 29: chunks of 8, 8, 8 and 5; k = 32: four whole chunks with vec4 loads. m = 36: A^T
      // staged in 4 x 4 blocks with the last row block clamped. relu clips the whole sum only
      // (clipping a chunk's partial sum would differ wherever one is negative).
      for (const [m, k] of [[37, 29], [37, 32], [36, 29], [36, 32]]) {
        for (
          const extra of [{}, { alpha: -0.5, beta: 1 as const, bias: true }, {
            alpha: -0.5,
            beta: 1 as const,
            bias: true,
            relu: true,
          }]
        ) {
          const o = { m, n: 20, k, ...t, ...extra };
          const x = inputs(o, 3, 37);
          assertExact(label(o, tile), await run(o, x, { tile }), reference(o, x).c, o.n);
        }
      }
    }
  },
);

webgpuTest("beta 1 accumulates: two calls add the product twice to C's old values", async () => {
  const o = { m: 37, n: 53, k: 29, beta: 1 as const };
  const x = inputs(o, 3, 17);
  const once = reference(o, x).c;
  const twice = once.map((v, i) => 2 * v - x.c0[i]); // C0 + 2 AB
  assertExact("two accumulating calls", await run(o, x, { times: 2 }), twice, o.n);
  // Overwriting instead of adding would give AB, which differs from C0 + AB where C0 != 0.
  const c0NonZero = x.c0.filter((v) => v !== 0).length;
  assert.ok(c0NonZero > o.m * o.n / 2, `C0 has ${c0NonZero} non-zero entries`);
  const overwrite = await run({ ...o, beta: 0 }, x);
  assert.ok(overwrite.some((v, i) => v !== once[i]), "beta 0 and beta 1 gave the same C");
});

webgpuTest(
  "float inputs stay within the float32 rounding bound; buffers may be larger",
  async () => {
    for (const tile of SMALL_TILES) {
      for (const t of TRANSPOSES) {
        const o = { m: 37, n: 53, k: 29, ...t, alpha: 0.7, beta: 1 as const, bias: true };
        const x = inputs(o, "float", 19);
        assertWithinBound(label(o, tile), o, await run(o, x, { tile, extra: 1000 }), x);
      }
    }
  },
);

webgpuTest("a larger product (512 x 384 x 640) matches in the engine's transposes", async () => {
  for (const t of TRANSPOSES.slice(0, 3)) {
    const o = { m: 512, n: 384, k: 640, ...t };
    const x = inputs(o, 3, 23);
    assertExact(label(o), await run(o, x), reference(o, x).c, o.n);
  }
});

webgpuTest("encode() caches a bind group per buffer set and keeps sets apart", async () => {
  const d = await device();
  const o = { m: 37, n: 53, k: 29, bias: true };
  const x1 = inputs(o, 3, 29), x2 = inputs(o, 3, 31);
  const gemm = createGemm(d, o);
  const set = (x: Inputs) => ({
    a: upload(d, x.a),
    b: upload(d, x.b),
    c: upload(d, x.c0),
    bias: upload(d, x.bias),
  });
  const s1 = set(x1), s2 = set(x2);
  const mixed = { ...s1, bias: s2.bias };
  for (let round = 0; round < 2; round++) {
    const enc = d.createCommandEncoder();
    const pass = enc.beginComputePass();
    gemm.encode(pass, s1);
    gemm.encode(pass, s2);
    pass.end();
    d.queue.submit([enc.finish()]);
  }
  assertExact("set 1", await download(d, s1.c, o.m * o.n), reference(o, x1).c, o.n);
  assertExact("set 2", await download(d, s2.c, o.m * o.n), reference(o, x2).c, o.n);
  {
    const enc = d.createCommandEncoder();
    const pass = enc.beginComputePass();
    gemm.encode(pass, mixed);
    pass.end();
    d.queue.submit([enc.finish()]);
  }
  const want = reference(o, { ...x1, bias: x2.bias }).c;
  assertExact("set 1 with set 2's bias", await download(d, s1.c, o.m * o.n), want, o.n);
  assert.equal(gemm.flops, 2 * 37 * 53 * 29);
});

webgpuTest("chooseTile() picks a tile within the device's limits", async () => {
  const d = await device();
  const tile = chooseTile(d.limits, { m: 4096, n: 512, k: 64 });
  assert.ok(tileFits(tile, d.limits));
  const limits = (storage: number) =>
    ({
      maxComputeInvocationsPerWorkgroup: 256,
      maxComputeWorkgroupSizeX: 256,
      maxComputeWorkgroupSizeY: 256,
      maxComputeWorkgroupStorageSize: storage,
    }) as GPUSupportedLimits;
  const small = chooseTile(limits(4096), { m: 4096, n: 512, k: 64 });
  assert.ok(small.kind === "tiled" && tileFits(small, limits(4096)), JSON.stringify(small));
  assert.ok(4 * small.tk * (small.wy * small.tm + small.wx * small.tn) <= 4096);
  assert.equal(chooseTile(limits(16384), { m: 4096, n: 512, k: 64 }, true).kind, "unrolled");
  // On a software adapter, shapes whose rows are multiples of 64 floats get a texture tile, others
  // (and textures past maxTextureDimension2D) one reading storage buffers.
  const software = (o: GemmOptions, maxDim = 16384) =>
    chooseTile({ ...limits(65536), maxTextureDimension2D: maxDim } as GPUSupportedLimits, o, true);
  assert.ok(TEXTURE_TILES.includes(software({ m: 4096, n: 512, k: 64 }) as never));
  assert.ok(TEXTURE_TILES.includes(software({ m: 64, n: 512, k: 4096, transA: true }) as never));
  assert.ok(!TEXTURE_TILES.includes(software({ m: 4096, n: 500, k: 64 }) as never));
  assert.ok(!TEXTURE_TILES.includes(software({ m: 4096, n: 512, k: 64 }, 2048) as never));
  // A software adapter whose workgroup memory is too small for an unrolled tile gets a tiled one.
  assert.equal(chooseTile(limits(4096), { m: 4096, n: 512, k: 64 }, true).kind, "tiled");
  // A direct tile much wider than n would leave most lanes idle.
  const narrow = chooseTile(d.limits, { m: 512, n: 64, k: 4096 }, true);
  assert.ok(narrow.kind !== "tiled" && tileExtent(narrow).cols <= 64, JSON.stringify(narrow));
  assert.throws(() => chooseTile(limits(256), { m: 4, n: 4, k: 4 }), /no tile fits/);
});
