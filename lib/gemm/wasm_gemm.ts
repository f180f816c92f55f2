// The portable GEMM: sgemm.wasm (WebAssembly SIMD, built from assembly/sgemm.ts by
// `deno task build-wasm`) behind the Blas interface, on one or more threads that share one
// WebAssembly memory. Operands are copied into that memory and C back out on every call.
import { Worker } from "node:worker_threads";
import type { Blas, GemmOptions } from "../fast/blas.ts";

/** The committed module (rebuilt and compared by tests/gemm/wasm_build_test.ts). */
export const WASM_URL = new URL("./sgemm.wasm", import.meta.url);

/** Bytes below this offset belong to the module itself (its stack and data). */
const RESERVED = 1 << 20;
const PAGE = 65536;
const MAX_PAGES = 65536; // 4 GiB, the wasm32 limit (must match --maximumMemory in the build)
/** Rows of the micro-kernel (MR in assembly/sgemm.ts): thread row ranges are multiples of it. */
const MR = 6;
/** Below this many FLOPs a GEMM runs on the calling thread alone (hand-off costs ~10-50 us). */
const MIN_PARALLEL_FLOPS = 4e6;

type SgemmExport = (...args: number[]) => void;

export interface WasmGemm extends Blas {
  /** Threads asked for (the calling thread plus helpers, which join once started). */
  readonly threads: number;
  /** Resolves with the threads in use once every helper has started (or after `timeoutMs`). */
  started(timeoutMs?: number): Promise<number>;
  /** Stops the helper threads; the GEMM then runs on the calling thread only. */
  close(): void;
}

interface Helper {
  worker: Worker;
  ints: Int32Array;
  floats: Float32Array;
}

function align(n: number): number {
  return Math.ceil(n / 16) * 16;
}

/**
 * Instantiates sgemm.wasm with `threads` threads (the caller's plus threads - 1 helpers, default
 * 1). Throws when WebAssembly SIMD or the module is unavailable.
 */
export function createWasmGemm(options: { threads?: number; bytes?: Uint8Array } = {}): WasmGemm {
  const bytes = options.bytes ?? Deno.readFileSync(WASM_URL);
  const module = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
  const memory = new WebAssembly.Memory({
    initial: RESERVED / PAGE,
    maximum: MAX_PAGES,
    shared: true,
  });
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
  const sgemm = exports.sgemm as SgemmExport;
  const scratchBytes = align((exports.scratchFloats as () => number)() * 4);
  const wanted = Math.max(1, Math.floor(options.threads ?? 1));
  const ctrl = new SharedArrayBuffer(64 * wanted);
  const helpers: Helper[] = [];
  for (let slot = 1; slot < wanted; slot++) {
    const ints = new Int32Array(ctrl, slot * 64, 16);
    const worker = new Worker(new URL("./_gemm_worker.ts", import.meta.url), {
      workerData: { memory, bytes, ctrl, slot },
    });
    worker.unref();
    helpers.push({ worker, ints, floats: new Float32Array(ctrl, slot * 64, 16) });
  }
  // Helpers start on their own threads and join the first call after they have their instance.
  const isReady = (h: Helper) => Atomics.load(h.ints, 1) !== 0;
  const operands = RESERVED + scratchBytes * wanted;
  let heap = new Float32Array(memory.buffer);

  function ensure(bytesNeeded: number): void {
    const have = memory.buffer.byteLength;
    if (bytesNeeded > have) {
      const pages = Math.ceil((bytesNeeded - have) / PAGE);
      if (have / PAGE + pages > MAX_PAGES) {
        throw new RangeError(`GEMM operands need ${bytesNeeded} bytes, over the 4 GiB wasm limit`);
      }
      memory.grow(pages);
    }
    if (heap.byteLength !== memory.buffer.byteLength) heap = new Float32Array(memory.buffer);
  }

  const gemm: WasmGemm = {
    name: `wasm-simd:${WASM_URL.pathname.split("/").slice(-3).join("/")}`,
    threads: wanted,
    async started(timeoutMs = 10_000): Promise<number> {
      const end = performance.now() + timeoutMs;
      while (!helpers.every(isReady) && performance.now() < end) {
        await new Promise((r) => setTimeout(r, 5));
      }
      return 1 + helpers.filter(isReady).length;
    },
    sgemm(a: Float32Array, b: Float32Array, o: GemmOptions): void {
      const { c, m, n, k, transA = false, transB = false, alpha = 1, beta = 0 } = o;
      if (m === 0 || n === 0) return;
      const aOff = operands;
      const bOff = align(aOff + 4 * m * k);
      const cOff = align(bOff + 4 * k * n);
      ensure(cOff + 4 * m * n);
      heap.set(a.subarray(0, m * k), aOff / 4);
      heap.set(b.subarray(0, k * n), bOff / 4);
      if (beta !== 0) heap.set(c.subarray(0, m * n), cOff / 4);
      const args = [aOff, bOff, cOff, m, n, k, transA ? 1 : 0, transB ? 1 : 0];
      const ready = 2 * m * n * k < MIN_PARALLEL_FLOPS ? [] : helpers.filter(isReady);
      const parts = Math.min(ready.length + 1, Math.floor(m / MR));
      if (parts <= 1) {
        sgemm(...args, alpha, beta, 0, m, RESERVED);
      } else {
        // Row ranges in multiples of MR (the micro-kernel's height); the caller takes the first.
        const step = Math.ceil(m / parts / MR) * MR;
        const busy: Helper[] = [];
        for (let p = 1; p < parts && p * step < m; p++) {
          const h = ready[p - 1];
          h.ints.set(
            [...args, p * step, Math.min(m, (p + 1) * step), RESERVED + p * scratchBytes],
            2,
          );
          h.floats[13] = alpha;
          h.floats[14] = beta;
          Atomics.add(h.ints, 0, 1);
          Atomics.notify(h.ints, 0);
          busy.push(h);
        }
        sgemm(...args, alpha, beta, 0, Math.min(m, step), RESERVED);
        for (const h of busy) {
          // Wait on the value just compared: re-reading it for the wait could see the finished
          // job's number and then wait for a change that never comes.
          const job = Atomics.load(h.ints, 0);
          for (let done = Atomics.load(h.ints, 1); done !== job; done = Atomics.load(h.ints, 1)) {
            Atomics.wait(h.ints, 1, done);
          }
        }
      }
      c.set(heap.subarray(cOff / 4, cOff / 4 + m * n));
    },
    close(): void {
      for (const h of helpers) void h.worker.terminate();
      helpers.length = 0;
    },
  };
  return gemm;
}
