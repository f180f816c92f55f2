// Times one GEMM kernel on a device: `repeats` products recorded by recordGemm (a kernel that reads
// texture mirrors copies A and B before the first) and submitted together, timed to
// `onSubmittedWorkDone()`. Reused by tasks/gemm_bench.ts and by GPU probes.
import { createGemm, type GemmOptions, type GemmTile, recordGemm } from "./gemm.ts";

/** One product of a training step. */
export interface StepProduct {
  name: string;
  options: GemmOptions;
}

/** The five dense products of one training step at batch b, d_model d, latents f (row-major). */
export function stepProducts(b: number, d: number, f: number): StepProduct[] {
  return [
    { name: "pre = x W_enc + b_enc", options: { m: b, n: f, k: d, bias: true } },
    { name: "xHat = f W_dec + b_dec", options: { m: b, n: d, k: f, bias: true } },
    { name: "df = dxHat W_dec^T", options: { m: b, n: f, k: d, transB: true } },
    { name: "gW_dec = f^T dxHat", options: { m: f, n: d, k: b, transA: true } },
    { name: "gW_enc = x^T dpre", options: { m: d, n: f, k: b, transA: true } },
  ];
}

export interface GemmTiming {
  /** Wall milliseconds per product, averaged over the timed repeats. */
  msPerCall: number;
  /** 2 m n k / time per product. */
  gflops: number;
}

/** Fills a storage buffer of `count` floats with values in [-1, 1). */
function randomBuffer(device: GPUDevice, count: number, seed: number): GPUBuffer {
  const data = new Float32Array(count);
  let s = seed;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s / 2 ** 31 - 1;
  }
  const buffer = device.createBuffer({
    size: 4 * count,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
  });
  device.queue.writeBuffer(buffer, 0, data);
  return buffer;
}

/**
 * Milliseconds per product and GFLOP/s of `options` on `device`, after two untimed warm-up
 * products (pipeline compilation, first bind group). `tile` overrides the kernel's own choice.
 */
export async function benchGemm(
  device: GPUDevice,
  options: GemmOptions,
  repeats: number,
  tile?: GemmTile,
): Promise<GemmTiming> {
  const { m, n, k } = options;
  const gemm = createGemm(device, options, tile);
  const buffers = {
    a: randomBuffer(device, m * k, 1),
    b: randomBuffer(device, k * n, 2),
    c: randomBuffer(device, m * n, 3),
    bias: options.bias ? randomBuffer(device, n, 4) : undefined,
  };
  const dispatch = (times: number) => {
    const encoder = device.createCommandEncoder();
    recordGemm(encoder, gemm, buffers, times);
    device.queue.submit([encoder.finish()]);
    return device.queue.onSubmittedWorkDone();
  };
  try {
    await dispatch(2);
    const start = performance.now();
    await dispatch(repeats);
    const msPerCall = (performance.now() - start) / repeats;
    return { msPerCall, gflops: gemm.flops / (msPerCall * 1e6) };
  } finally {
    for (const b of Object.values(buffers)) b?.destroy();
  }
}
