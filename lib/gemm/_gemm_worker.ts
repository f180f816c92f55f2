// Helper thread of the WebAssembly GEMM: instantiates sgemm.wasm on the shared memory and runs
// the row ranges the main thread posts into its control block (see wasm_gemm.ts for the layout).
import { workerData } from "node:worker_threads";

interface WorkerData {
  memory: WebAssembly.Memory;
  bytes: Uint8Array;
  ctrl: SharedArrayBuffer;
  slot: number;
}

type SgemmExport = (...args: number[]) => void;

const { memory, bytes, ctrl, slot } = workerData as WorkerData;
const module = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
const instance = new WebAssembly.Instance(module, { env: { memory } });
const sgemm = instance.exports.sgemm as SgemmExport;
const ints = new Int32Array(ctrl, slot * 64, 16);
const floats = new Float32Array(ctrl, slot * 64, 16);

// ints [0] job sequence, [1] done sequence (-1: ready), [2, 13) the integer sgemm arguments;
// floats [13], [14]: alpha, beta.
Atomics.store(ints, 1, -1); // ready
Atomics.notify(ints, 1);
let seen = 0;
for (;;) {
  while (Atomics.load(ints, 0) === seen) Atomics.wait(ints, 0, seen);
  seen = Atomics.load(ints, 0);
  const [a, b, c, m, n, k, transA, transB, m0, m1, scratch] = ints.subarray(2, 13);
  sgemm(a, b, c, m, n, k, transA, transB, floats[13], floats[14], m0, m1, scratch);
  Atomics.store(ints, 1, seen);
  Atomics.notify(ints, 1);
}
