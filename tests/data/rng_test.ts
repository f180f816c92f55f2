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

Deno.test("Rng.normal() matches the normal CDF on 40 bins (chi-square), tails included", () => {
  // Bins of width 0.25 on [-5, 5] plus the two open tails; expected counts from Phi, computed with
  // erf (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7). Bins with expected count < 5 are merged
  // into their neighbours toward the centre.
  const n = 200000;
  const rng = new Rng(17);
  const edges = Array.from({ length: 41 }, (_, i) => -5 + i * 0.25);
  const counts = new Array(edges.length + 1).fill(0);
  let beyond3 = 0;
  for (let i = 0; i < n; i++) {
    const z = rng.normal();
    if (Math.abs(z) > 3) beyond3++;
    let b = 0;
    while (b < edges.length && z >= edges[b]) b++;
    counts[b]++;
  }
  const cdf = (x: number) => 0.5 * (1 + erf(x / Math.SQRT2));
  const probs = counts.map((_, b) =>
    (b === edges.length ? 1 : cdf(edges[b])) - (b === 0 ? 0 : cdf(edges[b - 1]))
  );
  let chi2 = 0, dof = -1, accO = 0, accE = 0;
  for (let b = 0; b < counts.length; b++) {
    accO += counts[b];
    accE += probs[b] * n;
    if (accE >= 5 && (b >= counts.length / 2 || probs[b + 1] * n >= 5)) {
      chi2 += (accO - accE) ** 2 / accE;
      dof++;
      accO = accE = 0;
    }
  }
  // 99.9% quantile of chi-square: about dof + 3.1 sqrt(2 dof) + 6 for dof ~ 30
  assert.ok(chi2 < dof + 3.1 * Math.sqrt(2 * dof) + 6, `chi2 ${chi2} on ${dof} dof`);
  // P(|z| > 3) = 0.0026998; count std sqrt(n p) = 23
  assert.ok(Math.abs(beyond3 - n * 0.0026998) < 5 * 23, `tail count ${beyond3}`);
});

function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 - t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 +
                    t * 1.061405429)))) *
      Math.exp(-x * x);
  return x >= 0 ? y : -y;
}

Deno.test("Rng.fillNormal() equals repeated normal() calls times std", () => {
  for (const len of [0, 1, 7, 1000]) {
    const a = new Rng(3), b = new Rng(3);
    const out = new Float64Array(len);
    a.fillNormal(out, 0.3);
    for (let i = 0; i < len; i++) assert.equal(out[i], b.normal() * 0.3);
    assert.equal(a.nextU32(), b.nextU32());
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

Deno.test("Rng.state() round-trips through JSON mid-sequence", () => {
  const a = new Rng(21, 4);
  a.normal();
  const b = Rng.fromState(JSON.parse(JSON.stringify(a.state())));
  for (let i = 0; i < 10; i++) assert.deepEqual(a.normal(), b.normal());
  for (let i = 0; i < 10; i++) assert.deepEqual(a.nextU32(), b.nextU32());
  assert.throws(() => Rng.fromState({ s: [1, 2, 3] }), TypeError);
  assert.throws(() => Rng.fromState(null), TypeError);
  assert.throws(() => Rng.fromState({ s: [0, 0, 0, 0] }), TypeError);
});
