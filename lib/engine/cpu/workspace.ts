// Named scratch buffers reused across steps, so a training step allocates nothing once warm.
import { type HostMemory, JS_MEMORY } from "./host_memory.ts";

export class Workspace {
  readonly #buffers = new Map<string, Float32Array>();
  readonly #memory: HostMemory;

  constructor(memory: HostMemory = JS_MEMORY) {
    this.#memory = memory;
  }

  /** A Float32Array of exactly `length` entries (contents undefined), reused between calls. */
  get(name: string, length: number): Float32Array {
    let buf = this.#buffers.get(name);
    if (!buf || buf.length < length) {
      if (buf) this.#memory.free(buf);
      buf = this.#memory.f32(length);
      this.#buffers.set(name, buf);
    }
    return buf.length === length ? buf : buf.subarray(0, length);
  }

  /** Bytes held by all buffers. */
  bytes(): number {
    let n = 0;
    for (const b of this.#buffers.values()) n += b.byteLength;
    return n;
  }

  /** Gives every buffer back to its memory. */
  dispose(): void {
    for (const b of this.#buffers.values()) this.#memory.free(b);
    this.#buffers.clear();
  }
}
