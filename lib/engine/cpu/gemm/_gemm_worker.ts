// Helper thread of the WebAssembly kernels: instantiates sgemm.wasm on the shared memory and runs
// the jobs (a kernel and its arguments, one thread's share) that the main thread posts into its
// control block (layout in _kernels.ts). A job that throws marks the block failed, so the main
// thread reports the error instead of waiting forever.
import { workerData } from "node:worker_threads";
import { ARGC, ARGS_AT, DONE, FAILED, JOB, KERNEL, KERNELS, SLOT_BYTES } from "./_kernels.ts";

interface WorkerData {
  memory: WebAssembly.Memory;
  bytes: Uint8Array;
  ctrl: SharedArrayBuffer;
  slot: number;
}

type Kernel = (...args: number[]) => void;

const { memory, bytes, ctrl, slot } = workerData as WorkerData;
const module = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
const instance = new WebAssembly.Instance(module, { env: { memory } });
const kernels = KERNELS.map((name) => instance.exports[name] as Kernel);
const ints = new Int32Array(ctrl, slot * SLOT_BYTES, ARGS_AT / 4);
const args = new Float64Array(ctrl, slot * SLOT_BYTES + ARGS_AT, (SLOT_BYTES - ARGS_AT) / 8);

Atomics.store(ints, DONE, -1); // ready
Atomics.notify(ints, DONE);
let seen = 0;
for (;;) {
  while (Atomics.load(ints, JOB) === seen) Atomics.wait(ints, JOB, seen);
  seen = Atomics.load(ints, JOB);
  try {
    kernels[ints[KERNEL]](...args.subarray(0, ints[ARGC]));
  } catch {
    Atomics.store(ints, FAILED, 1);
  }
  Atomics.store(ints, DONE, seen);
  Atomics.notify(ints, DONE);
}
