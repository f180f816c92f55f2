// Named scratch buffers reused across steps, so a training step allocates nothing once warm.

export class Workspace {
  readonly #buffers = new Map<string, Float32Array>();

  /** A Float32Array of exactly `length` entries (contents undefined), reused between calls. */
  get(name: string, length: number): Float32Array {
    let buf = this.#buffers.get(name);
    if (!buf || buf.length < length) {
      buf = new Float32Array(length);
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
}
