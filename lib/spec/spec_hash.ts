// Short content hashes: sha256 of canonical JSON (RFC 8785), so equal data hashes equally on any
// machine regardless of key order. Synchronous (node:crypto) so that expansion stays a pure function.
import { createHash } from "node:crypto";
import canonicalize from "canonicalize";

/** Hex sha256 of the canonical JSON of `value`, cut to `length` hex characters. */
export function canonicalHash(value: unknown, length: number): string {
  const json = canonicalize(value);
  if (json === undefined) throw new TypeError("value cannot be serialised as canonical JSON");
  return createHash("sha256").update(json, "utf8").digest("hex").slice(0, length);
}
