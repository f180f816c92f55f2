// GpuSlots places cuda runs by memory: a run reserves its estimate + 10% + the CUDA context on the
// GPU with the most room, shares a GPU while the reservations fit its free memory, waits (null)
// otherwise, and gets room back on release; tooBigForGpus() names a run no GPU can hold.
import assert from "node:assert/strict";
import {
  CONTEXT_BYTES,
  type GpuDevice,
  GpuSlots,
  reservationBytes,
  tooBigForGpus,
} from "../../lib/executor/gpu_slots.ts";

const MiB = 2 ** 20;
const gpu = (index: number, freeMiB: number, visibleAs = String(index)): GpuDevice => ({
  index,
  name: "Test GPU",
  arch: "sm_90",
  free: freeMiB * MiB,
  total: 2 * freeMiB * MiB,
  visibleAs,
});

Deno.test("reservationBytes() is the estimate plus 10% plus the CUDA context", () => {
  assert.equal(CONTEXT_BYTES, 512 * MiB);
  assert.equal(reservationBytes(100 * MiB), 110 * MiB + 512 * MiB);
  assert.equal(reservationBytes(0), 512 * MiB);
});

Deno.test("two small runs share one GPU; a third that does not fit waits until one ends", () => {
  // Each reserves 100 + 10 + 512 = 622 MiB; 1300 MiB holds two.
  const slots = new GpuSlots([gpu(0, 1300)]);
  const a = slots.place("a", 100 * MiB);
  const b = slots.place("b", 100 * MiB);
  assert.equal(a?.device, 0);
  assert.equal(b?.device, 0);
  assert.deepEqual(a?.sharing_with, []);
  assert.deepEqual(b?.sharing_with, ["a"]);
  assert.equal(b?.reservation_bytes, 622 * MiB);
  assert.equal(b?.device_free_bytes, 1300 * MiB);
  assert.equal(slots.room(0), (1300 - 2 * 622) * MiB);
  assert.equal(slots.place("c", 100 * MiB), null);
  slots.release("a");
  const c = slots.place("c", 100 * MiB);
  assert.equal(c?.device, 0);
  assert.deepEqual(c?.sharing_with, ["b"]);
});

Deno.test("a big run waits until the GPU is empty enough, then starts", () => {
  const slots = new GpuSlots([gpu(0, 1300)]);
  assert.ok(slots.place("small", 10 * MiB));
  assert.equal(slots.place("big", 700 * MiB), null); // 1282 MiB: not beside 523 MiB
  slots.release("small");
  assert.deepEqual(slots.place("big", 700 * MiB)?.sharing_with, []);
});

Deno.test("with several GPUs runs go to the one with the most room: one run per GPU first", () => {
  const slots = new GpuSlots([gpu(0, 2000, "3"), gpu(1, 2000, "GPU-ab12")]);
  const a = slots.place("a", 100 * MiB);
  const b = slots.place("b", 100 * MiB);
  assert.equal(a?.device, 0);
  assert.equal(a?.cuda_visible_devices, "3");
  assert.equal(b?.device, 1);
  assert.equal(b?.cuda_visible_devices, "GPU-ab12");
  assert.deepEqual(b?.sharing_with, []);
  // A third shares the GPU with more room left (both equal: the first).
  assert.equal(slots.place("c", 100 * MiB)?.device, 0);
  // A run fitting only the larger GPU goes there even when the other has more runs.
  const uneven = new GpuSlots([gpu(0, 700), gpu(1, 3000)]);
  assert.equal(uneven.place("x", 100 * MiB)?.device, 1);
  assert.equal(uneven.place("y", 1100 * MiB)?.device, 1); // 1722 MiB; 656 MiB left there
  assert.equal(uneven.place("z", 100 * MiB)?.device, 0);
});

Deno.test("tooBigForGpus() names the run, its need and every GPU's memory", () => {
  const devices = [gpu(0, 1000), gpu(1, 600)];
  assert.equal(tooBigForGpus({ runId: "fits", estimate: 400 * MiB }, devices), null);
  assert.equal(
    tooBigForGpus({ runId: "topk-w_65536-1a2b3c4d", estimate: 1024 * MiB }, devices),
    "run topk-w_65536-1a2b3c4d needs about 1.6 GiB of GPU memory (the cuda engine's buffers " +
      "1.0 GiB, +10%, +512 MiB for the CUDA context); it fits no GPU: " +
      "GPU 0 (Test GPU): 1000 MiB free of 2.0 GiB, GPU 1 (Test GPU): 600 MiB free of 1.2 GiB",
  );
});

Deno.test("a run too big for every GPU (trained under --force) takes the largest GPU alone", () => {
  const slots = new GpuSlots([gpu(0, 1000), gpu(1, 600)]);
  const big = slots.place("big", 4000 * MiB);
  assert.equal(big?.device, 0);
  assert.equal(big?.reservation_bytes, 1000 * MiB);
  assert.equal(slots.room(0), 0);
  assert.equal(slots.place("small", 0)?.device, 1); // 512 MiB: only beside nothing on GPU 1
  assert.equal(slots.place("another", 0), null);
});
