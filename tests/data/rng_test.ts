import assert from "node:assert/strict";
import { hashSeed, Rng } from "../../lib/data/rng.ts";

Deno.test("Rng.nextU32() matches the xoshiro128** reference implementation", () => {
  // Reference: the C code of Blackman & Vigna (prng.di.unimi.it/xoshiro128starstar.c) started from
  // the state {1, 2, 3, 4}, compiled with gcc; first output = rotl(2 * 5, 7) * 9 = 1280 * 9.
  const rng = Rng.fromState({ s: [1, 2, 3, 4], spare: null });
  const got = Array.from({ length: 6 }, () => rng.nextU32());
  assert.deepEqual(got, [11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
});

Deno.test("Rng gives the same numbers for the same seed and streams", () => {
  const a = new Rng(42, 7, 3);
  const b = new Rng(42, 7, 3);
  for (let i = 0; i < 100; i++) assert.deepEqual(a.uniform(), b.uniform());
  // Pinned values: a change here changes every synthetic data set (and so every result).
  const c = new Rng(1234);
  assert.deepEqual([c.nextU32(), c.nextU32()], [1410971357, 123067812]);
});

Deno.test("hashSeed() depends on every part, on order and on the number of parts", () => {
  const seen = new Set<number>();
  for (const parts of [[1], [2], [1, 2], [2, 1], [1, 2, 0], [0], [], [-1], [2 ** 32], [2 ** 40]]) {
    const h = hashSeed(...parts);
    assert.ok(Number.isInteger(h) && h >= 0 && h < 2 ** 32, `hash of ${parts} out of range`);
    seen.add(h);
  }
  assert.deepEqual(seen.size, 10);
  assert.throws(() => hashSeed(0.5), RangeError);
});

Deno.test("Rng streams of the same seed are uncorrelated", () => {
  // For independent uniforms the sample correlation of n pairs has std 1/sqrt(n) = 0.01.
  const n = 10000;
  const a = new Rng(5, 0);
  const b = new Rng(5, 1);
  let sa = 0, sb = 0, sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) {
    const x = a.uniform(), y = b.uniform();
    sa += x;
    sb += y;
    sab += x * y;
    saa += x * x;
    sbb += y * y;
  }
  const cov = sab / n - (sa / n) * (sb / n);
  const corr = cov / Math.sqrt((saa / n - (sa / n) ** 2) * (sbb / n - (sb / n) ** 2));
  assert.ok(Math.abs(corr) < 0.04, `correlation ${corr} exceeds 4 standard errors`);
  assert.notEqual(new Rng(5, 0).nextU32(), new Rng(5, 1).nextU32());
});

Deno.test("Rng.uniform() has mean 1/2 and variance 1/12 within 5 standard errors", () => {
  const n = 100000;
  const rng = new Rng(9);
  let s = 0, s2 = 0, min = 1, max = 0;
  for (let i = 0; i < n; i++) {
    const u = rng.uniform();
    s += u;
    s2 += u * u;
    min = Math.min(min, u);
    max = Math.max(max, u);
  }
  const mean = s / n, variance = s2 / n - mean * mean;
  // std of the mean: sqrt(1/12 / n) = 9.1e-4; std of the variance estimate: sqrt(1/180 / n) = 2.4e-4
  assert.ok(Math.abs(mean - 0.5) < 5 * 9.1e-4, `mean ${mean}`);
  assert.ok(Math.abs(variance - 1 / 12) < 5 * 2.4e-4, `variance ${variance}`);
  assert.ok(min >= 0 && max < 1);
});

Deno.test("Rng.normal() has mean 0, variance 1 and kurtosis 3 within tolerance", () => {
  const n = 100000;
  const rng = new Rng(11);
  let s = 0, s2 = 0, s4 = 0;
  for (let i = 0; i < n; i++) {
    const z = rng.normal();
    s += z;
    s2 += z * z;
    s4 += z ** 4;
  }
  // std errors: mean 1/sqrt(n) = 0.0032; variance sqrt(2/n) = 0.0045; E z^4 sqrt(96/n) = 0.031
  assert.ok(Math.abs(s / n) < 5 * 0.0032, `mean ${s / n}`);
  assert.ok(Math.abs(s2 / n - 1) < 5 * 0.0045, `variance ${s2 / n}`);
  assert.ok(Math.abs(s4 / n - 3) < 5 * 0.031, `fourth moment ${s4 / n}`);
});

Deno.test("Rng.fillNormal() equals repeated normal() calls times std", () => {
  for (const offset of [0, 1]) {
    for (const len of [0, 1, 2, 7, 8]) {
      const a = new Rng(3), b = new Rng(3);
      for (let i = 0; i < offset; i++) assert.deepEqual(a.normal(), b.normal());
      const out = new Float64Array(len);
      a.fillNormal(out, 0.3);
      for (let i = 0; i < len; i++) assert.deepEqual(out[i], b.normal() * 0.3);
      assert.deepEqual(a.normal(), b.normal());
    }
  }
});

Deno.test("Rng.int() is uniform over [0, n) and rejects bad n", () => {
  const rng = new Rng(13);
  const counts = new Array(7).fill(0);
  const n = 70000;
  for (let i = 0; i < n; i++) counts[rng.int(7)]++;
  // Chi-square with 6 degrees of freedom: P(chi2 > 22.5) = 0.001
  const chi2 = counts.reduce((acc, c) => acc + (c - n / 7) ** 2 / (n / 7), 0);
  assert.ok(chi2 < 22.5, `chi2 ${chi2} for counts ${counts}`);
  assert.deepEqual(new Rng(1).int(1), 0);
  assert.throws(() => rng.int(0), RangeError);
  assert.throws(() => rng.int(2.5), RangeError);
});

Deno.test("Rng.state() round-trips through JSON mid-sequence, spare normal included", () => {
  const a = new Rng(21, 4);
  a.normal(); // leaves a cached spare
  const b = Rng.fromState(JSON.parse(JSON.stringify(a.state())));
  for (let i = 0; i < 10; i++) assert.deepEqual(a.normal(), b.normal());
  for (let i = 0; i < 10; i++) assert.deepEqual(a.nextU32(), b.nextU32());
  assert.throws(() => Rng.fromState({ s: [1, 2, 3] }), TypeError);
  assert.throws(() => Rng.fromState(null), TypeError);
});
