// The checksum of stored files (DONE records, checkpoints): hex sha256 of bytes.
import { createHash } from "node:crypto";

/** Hex sha256 of `bytes`. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}
