// The portable GEMM: sgemm.wasm (WebAssembly SIMD, built from assembly/sgemm.ts by
// `deno task build-wasm`) behind the Blas interface, on one or more threads that share one
// WebAssembly memory. The same instance runs the fast engine's sparse products
// (lib/engine/cpu/wasm_sparse.ts) and hands out buffers inside its memory (an Arena): operands that live
// there are used in place, others are copied in and C back out.
import { Worker } from "node:worker_threads";
import type { Blas, GemmOptions } from "../blas.ts";
import { Arena } from "./arena.ts";
import {
  ARGC,
  ARGS_AT,
  DONE,
  FAILED,
  JOB,
  KERNEL,
  type KernelName,
  KERNELS,
  MAX_ARGS,
  SLOT_BYTES,
} from "./_kernels.ts";

/** The committed module (rebuilt and compared by tests/engine/cpu/gemm/wasm_build_test.ts). */
export const WASM_URL = new URL("./sgemm.wasm", import.meta.url);

/** Bytes below this offset belong to the module itself (its stack and data). */
const RESERVED = 1 << 20;
const PAGE = 65536;
const MAX_PAGES = 65536; // 4 GiB, the wasm32 limit (must match --maximumMemory in the build)
/** Rows of the micro-kernel (MR in assembly/sgemm.ts): thread row ranges are multiples of it. */
const MR = 6;
/** Below this many FLOPs a GEMM runs on the calling thread alone (hand-off costs ~10-50 us). */
const MIN_PARALLEL_FLOPS = 4e6;
/**
 * A helper that has not finished its share this long after the calling thread finished its own
 * (and at least 20x as long as that took) is treated as crashed.
 */
const HELPER_GRACE_MS = 30_000;

type Kernel = (...args: number[]) => void;

/** A helper thread failed or stopped answering; the step that needed it cannot complete. */
export class WasmThreadError extends Error {
  override name = "WasmThreadError";
}

export interface WasmGemm extends Blas {
  /** Threads asked for (the calling thread plus helpers, which join once started). */
  readonly threads: number;
  /** Buffers inside the module's memory, used in place by the kernels. */
  readonly arena: Arena;
  /** Floats of each thread's scratch area (what `run` with `scratch` passes). */
  readonly scratchFloats: number;
  /** Resolves with the threads in use once every helper has started (or after `timeoutMs`). */
  started(timeoutMs?: number): Promise<number>;
  /** Threads a job can be split over now (1 + helpers that have started). */
  lanes(): number;
  /**
   * Runs `kernel(...args, start, end[, scratch])` for each [start, end) of `parts`, the first on
   * the calling thread and the others on helpers (at most lanes() parts), and waits for all.
   * With `scratch`, each part also gets its thread's scratch area (the GEMM's packing buffers).
   */
  run(kernel: KernelName, args: number[], parts: [number, number][], scratch?: boolean): void;
  /** Stops the helper threads; the kernels then run on the calling thread only. */
  close(): void;
}

interface Helper {
  slot: number;
  worker: Worker;
  ints: Int32Array;
  args: Float64Array;
  dead: boolean;
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
  const kernels = Object.fromEntries(KERNELS.map((k) => [k, exports[k] as Kernel])) as Record<
    KernelName,
    Kernel
  >;
  const scratchBytes = align((exports.scratchFloats as () => number)() * 4);
  const wanted = Math.max(1, Math.floor(options.threads ?? 1));
  const ctrl = new SharedArrayBuffer(SLOT_BYTES * wanted);
  const helpers: Helper[] = [];
  for (let slot = 1; slot < wanted; slot++) {
    const worker = new Worker(new URL("./_gemm_worker.ts", import.meta.url), {
      workerData: { memory, bytes, ctrl, slot },
    });
    worker.unref();
    const h: Helper = {
      slot,
      worker,
      ints: new Int32Array(ctrl, slot * SLOT_BYTES, ARGS_AT / 4),
      args: new Float64Array(ctrl, slot * SLOT_BYTES + ARGS_AT, MAX_ARGS),
      dead: false,
    };
    // Seen between calls (the event loop does not run while a call waits): skip it from then on.
    worker.on("error", () => h.dead = true);
    worker.on("exit", () => h.dead = true);
    helpers.push(h);
  }
  // Helpers start on their own threads and join the first call after they have their instance.
  const isReady = (h: Helper) => !h.dead && Atomics.load(h.ints, DONE) !== 0;
  const arena = new Arena(memory, {
    base: RESERVED + scratchBytes * wanted,
    maxBytes: MAX_PAGES * PAGE,
  });

  function wait(h: Helper, ownMs: number): void {
    // Wait on the value just compared: re-reading it for the wait could see the finished job's
    // number and then wait for a change that never comes.
    const job = Atomics.load(h.ints, JOB);
    const limit = Math.max(HELPER_GRACE_MS, 20 * ownMs);
    const deadline = performance.now() + limit;
    for (let done = Atomics.load(h.ints, DONE); done !== job; done = Atomics.load(h.ints, DONE)) {
      if (Atomics.wait(h.ints, DONE, done, 1000) === "timed-out" && performance.now() > deadline) {
        h.dead = true;
        throw new WasmThreadError(
          `wasm helper thread ${h.slot} did not finish its share of a job within ` +
            `${Math.round(limit)} ms (crashed or starved); it is not used again`,
        );
      }
    }
    if (Atomics.exchange(h.ints, FAILED, 0) !== 0) {
      throw new WasmThreadError(`wasm helper thread ${h.slot} failed while running a job`);
    }
  }

  function run(name: KernelName, args: number[], parts: [number, number][], scratch = false) {
    const ready = parts.length > 1 ? helpers.filter(isReady) : [];
    const n = Math.min(parts.length, ready.length + 1);
    const tail = (p: number) => scratch ? [RESERVED + p * scratchBytes] : [];
    const busy: Helper[] = [];
    try {
      for (let p = 1; p < n; p++) {
        const h = ready[p - 1];
        const all = [...args, ...parts[p], ...tail(h.slot)];
        h.args.set(all);
        h.ints[KERNEL] = KERNELS.indexOf(name);
        h.ints[ARGC] = all.length;
        Atomics.add(h.ints, JOB, 1);
        Atomics.notify(h.ints, JOB);
        busy.push(h);
      }
      const t0 = performance.now();
      const fn = kernels[name];
      fn(...args, ...parts[0], ...tail(0));
      // Parts beyond the ready helpers run here, after the caller's own.
      for (let p = n; p < parts.length; p++) fn(...args, ...parts[p], ...tail(0));
      const own = performance.now() - t0;
      for (const h of busy) wait(h, own);
    } catch (e) {
      // Let every started helper finish before the caller reuses the memory.
      for (const h of busy) {
        try {
          wait(h, 0);
        } catch { /* already reporting an error */ }
      }
      throw e;
    }
  }

  function bind(a: Float32Array, count: number, copyIn: boolean): { at: number; temp: boolean } {
    const at = arena.offsetOf(a);
    if (at >= 0) return { at, temp: false };
    const temp = arena.alloc(count * 4);
    if (temp < 0) {
      throw new RangeError(`GEMM operands need ${count * 4} more bytes, over the 4 GiB wasm limit`);
    }
    if (copyIn) new Float32Array(arena.buffer(), temp, count).set(a.subarray(0, count));
    return { at: temp, temp: true };
  }

  const gemm: WasmGemm = {
    name: `wasm-simd:${WASM_URL.pathname.split("/").slice(-3).join("/")}`,
    threads: wanted,
    arena,
    scratchFloats: scratchBytes / 4,
    async started(timeoutMs = 10_000): Promise<number> {
      const end = performance.now() + timeoutMs;
      while (!helpers.every(isReady) && performance.now() < end) {
        await new Promise((r) => setTimeout(r, 5));
      }
      return 1 + helpers.filter(isReady).length;
    },
    lanes: () => 1 + helpers.filter(isReady).length,
    run,
    sgemm(a: Float32Array, b: Float32Array, o: GemmOptions): void {
      const { c, m, n, k, transA = false, transB = false, alpha = 1, beta = 0 } = o;
      if (m === 0 || n === 0) return;
      const pa = bind(a, m * k, true);
      const pb = bind(b, k * n, true);
      const pc = bind(c, m * n, beta !== 0);
      try {
        const args = [pa.at, pb.at, pc.at, m, n, k, transA ? 1 : 0, transB ? 1 : 0, alpha, beta];
        const lanes = 2 * m * n * k < MIN_PARALLEL_FLOPS ? 1 : gemm.lanes();
        const count = Math.max(1, Math.min(lanes, Math.floor(m / MR)));
        // Row ranges in multiples of MR (the micro-kernel's height); the caller takes the first.
        const step = Math.ceil(m / count / MR) * MR;
        const parts: [number, number][] = [];
        for (let s = 0; s < m; s += step) parts.push([s, Math.min(m, s + step)]);
        run("sgemm", args, parts, true);
        if (pc.temp) c.set(new Float32Array(arena.buffer(), pc.at, m * n));
      } finally {
        for (const p of [pa, pb, pc]) if (p.temp) arena.release(p.at);
      }
    },
    close(): void {
      for (const h of helpers) void h.worker.terminate();
      helpers.length = 0;
    },
  };
  return gemm;
}
