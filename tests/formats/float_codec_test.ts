import assert from "node:assert/strict";
import {
  bf16BitsToF32,
  decodeFloats,
  encodeFloats,
  f16BitsToF32,
  f32ToBf16Bits,
  f32ToF16Bits,
} from "../../lib/formats/float_codec.ts";
import { Rng } from "../../lib/data/rng.ts";

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function fromBits(bits: number): number {
  u32[0] = bits >>> 0;
  return f32[0];
}

Deno.test("f32ToF16Bits() agrees with the runtime's Float16Array on edge cases and random bits", () => {
  // Reference: V8's Float16Array (IEEE binary16, round to nearest even).
  const ref = new Float16Array(1);
  const refBits = new Uint16Array(ref.buffer);
  const check = (x: number) => {
    ref[0] = x;
    const got = f32ToF16Bits(x);
    if (Number.isNaN(x)) assert.ok(Number.isNaN(f16BitsToF32(got)), `NaN lost: ${got}`);
    else assert.equal(got, refBits[0], `f16 of ${x}`);
    if (!Number.isNaN(x)) assert.equal(f16BitsToF32(got), ref[0], `decode of ${got}`);
  };
  const edges = [
    0,
    -0,
    1,
    -1,
    65504,
    65519.99,
    65520,
    1e9,
    -Infinity,
    Infinity,
    NaN,
    2 ** -14,
    2 ** -24,
    2 ** -25,
    2 ** -25 * 1.0001,
    3 * 2 ** -25,
    2 ** -26,
    1 + 2 ** -11,
    1 + 3 * 2 ** -11,
    (1 - 2 ** -11) * 2 ** -14,
    0.1,
    1 / 3,
  ];
  for (const x of edges) check(Math.fround(x));
  const rng = new Rng(4);
  for (let i = 0; i < 200000; i++) check(fromBits(rng.nextU32()));
  // And numbers in the usual activation range, where most values live.
  for (let i = 0; i < 20000; i++) check(Math.fround(rng.normal() * 10));
});

Deno.test("f32ToBf16Bits() rounds to the nearest bfloat16, ties to even", () => {
  // bfloat16 keeps 7 mantissa bits: spacing 2^-7 in [1, 2).
  assert.equal(bf16BitsToF32(f32ToBf16Bits(1 + 2 ** -8)), 1); // tie, 1 is even
  assert.equal(bf16BitsToF32(f32ToBf16Bits(1 + 3 * 2 ** -8)), 1 + 2 ** -6); // tie, odd -> up
  assert.equal(bf16BitsToF32(f32ToBf16Bits(1 + 2 ** -8 + 2 ** -20)), 1 + 2 ** -7); // above tie
  assert.equal(f32ToBf16Bits(1), 0x3f80);
  assert.equal(f32ToBf16Bits(-2), 0xc000);
  assert.equal(bf16BitsToF32(f32ToBf16Bits(3.4028234663852886e38)), Infinity);
  assert.ok(Number.isNaN(bf16BitsToF32(f32ToBf16Bits(NaN))));
  // Random bit patterns: the result is at least as close as both neighbouring bfloat16 values.
  const rng = new Rng(6);
  for (let i = 0; i < 100000; i++) {
    const x = fromBits(rng.nextU32());
    if (!Number.isFinite(x)) continue;
    const b = f32ToBf16Bits(x);
    const err = Math.abs(bf16BitsToF32(b) - x);
    for (const nb of [b - 1, b + 1]) {
      const v = bf16BitsToF32(nb & 0xffff);
      if (Number.isFinite(v) && Math.sign(v) === Math.sign(x)) {
        assert.ok(err <= Math.abs(v - x), `bf16 of ${x}: ${b} is not nearest`);
      }
    }
  }
});

Deno.test("encodeFloats() and decodeFloats() round-trip every dtype", () => {
  const data = new Float32Array([0, 1, -2.5, 0.1, 65504, 1e-6, 3.14159]);
  for (const dtype of ["F32", "F64", "F16", "BF16"] as const) {
    const bytes = encodeFloats(data, dtype);
    const back = decodeFloats(bytes, dtype);
    const expected = dtype === "F16"
      ? data.map((v) => f16BitsToF32(f32ToF16Bits(v)))
      : dtype === "BF16"
      ? data.map((v) => bf16BitsToF32(f32ToBf16Bits(v)))
      : data;
    assert.deepEqual(back, expected, dtype);
    // Unaligned views decode too.
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    assert.deepEqual(decodeFloats(shifted.subarray(1), dtype), expected, `${dtype} unaligned`);
  }
  assert.deepEqual(Array.from(encodeFloats(new Float32Array([1]), "F16")), [0x00, 0x3c]); // LE
  assert.throws(() => decodeFloats(new Uint8Array(3), "F32"), RangeError);
});
