// Float codecs for activation and weight files: float32 <-> float16 / bfloat16 (round to nearest
// even) and raw little-endian bytes <-> Float32Array. No I/O; file layouts are npy.ts/safetensors.ts.

/** Element types the readers decode into float32 (safetensors names). */
export type FloatDtype = "F64" | "F32" | "F16" | "BF16";

/** Bytes per element of each float dtype. */
export const FLOAT_BYTES: Record<FloatDtype, number> = { F64: 8, F32: 4, F16: 2, BF16: 2 };

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 value -> IEEE binary16 bits, round to nearest even (overflow gives infinity). */
export function f32ToF16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 | (mant >>> 13) : 0); // inf, NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half (or zero): |value| / 2^-24 < 1024 is exact in float64; round half to even.
    const scaled = Math.abs(f32[0]) * 16777216;
    let h = Math.floor(scaled);
    const rest = scaled - h;
    if (rest > 0.5 || (rest === 0.5 && (h & 1) === 1)) h++;
    return sign | h; // h = 1024 is the smallest normal, which is the right bit pattern
  }
  let h = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++; // a carry may reach infinity
  return sign | h;
}

let f16Table: Float32Array | null = null;

/** IEEE binary16 bits -> float32 value (exact). */
export function f16BitsToF32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

function halfTable(): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let b = 0; b < 65536; b++) f16Table[b] = f16BitsToF32(b);
  }
  return f16Table;
}

/** float32 value -> bfloat16 bits, round to nearest even (NaN stays a quiet NaN). */
export function f32ToBf16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 0x40) & 0xffff;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** bfloat16 bits -> float32 value (exact). */
export function bf16BitsToF32(bits: number): number {
  u32[0] = (bits & 0xffff) << 16;
  return f32[0];
}

/** Decodes little-endian `bytes` of `dtype` into a new Float32Array (F64 is rounded). */
export function decodeFloats(bytes: Uint8Array, dtype: FloatDtype): Float32Array {
  const size = FLOAT_BYTES[dtype];
  if (bytes.length % size !== 0) {
    throw new RangeError(`${bytes.length} bytes is not a whole number of ${dtype} values`);
  }
  const n = bytes.length / size;
  // Copy to a fresh, aligned buffer when the view is not aligned to the element size.
  const aligned = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
  const buf = aligned.buffer;
  const off = aligned.byteOffset;
  switch (dtype) {
    case "F32":
      return new Float32Array(buf.slice(off, off + n * 4) as ArrayBuffer);
    case "F64":
      return Float32Array.from(new Float64Array(buf, off, n));
    case "F16": {
      const table = halfTable();
      const src = new Uint16Array(buf, off, n);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = table[src[i]];
      return out;
    }
    case "BF16": {
      const src = new Uint16Array(buf, off, n);
      const out = new Float32Array(n);
      const outBits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) outBits[i] = src[i] << 16;
      return out;
    }
  }
}

/** Encodes float32 values as little-endian bytes of `dtype` (rounding to nearest even). */
export function encodeFloats(data: Float32Array, dtype: FloatDtype): Uint8Array {
  const n = data.length;
  switch (dtype) {
    case "F32":
      return new Uint8Array(data.slice().buffer);
    case "F64":
      return new Uint8Array(Float64Array.from(data).buffer);
    case "F16": {
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) out[i] = f32ToF16Bits(data[i]);
      return new Uint8Array(out.buffer);
    }
    case "BF16": {
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) out[i] = f32ToBf16Bits(data[i]);
      return new Uint8Array(out.buffer);
    }
  }
}

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  // Every platform Deno ships for is little-endian; the typed-array views above rely on it.
  throw new Error("saesweep's file readers need a little-endian host");
}
