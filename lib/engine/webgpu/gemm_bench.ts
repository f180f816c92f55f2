// Times one GEMM kernel on a device: `repeats` dispatches recorded into one pass and submitted
// together, timed to `onSubmittedWorkDone()`. Reused by tasks/gemm_bench.ts and by GPU probes.
import { createGemm, type GemmOptions, type GemmTile } from "./gemm.ts";

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
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
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
    const pass = encoder.beginComputePass();
    for (let i = 0; i < times; i++) gemm.encode(pass, buffers);
    pass.end();
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
