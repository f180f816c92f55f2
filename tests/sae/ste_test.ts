// Tests lib/sae/ste.ts: every pseudo-derivative against its formula on a hand-built batch,
// including the kernel window edges, the TopK selection gradient and the explicit-transpose matMul.
import * as tf from "@tensorflow/tfjs";

import assert from "node:assert/strict";
import {
  heaviside,
  jumpRelu,
  matMul,
  rectangle,
  stepSte,
  stopGradient,
  topkSelect,
} from "../../lib/sae/ste.ts";
import { closeness, gaussian, useBackend } from "../_tf.ts";

// theta = 0.5 and eps = 0.25 make the window (0.375, 0.625) exact in binary floating point:
// z = 0.375 and z = 0.625 sit exactly on its edges, where K = 0 (the window is open).
const EPS = 0.25;

/** Asserts float32 values equal expected numbers (float32-rounded, -0 == 0). */
function near(actual: tf.Tensor | number[][], expected: number[] | number[][]): void {
  const a = actual instanceof tf.Tensor ? Array.from(actual.dataSync()) : actual.flat();
  assert.ok(closeness(a, expected.flat(), { atol: 1e-7, rtol: 1e-6 }) <= 1, `${a} vs ${expected}`);
}
const Z = [
  [0.375, 0.4, 0.5, 0.625],
  [0.7, 0.374, 0.6, -1.0],
];
const THETA = [0.5, 0.5, 0.5, 0.5];
const DY = [
  [1, 2, 3, 4],
  [5, 6, 7, 8],
];

Deno.test("rectangle() is 1 strictly inside the window and 0 on its edges", async () => {
  await useBackend("cpu");
  const k = rectangle(tf.tensor2d(Z), tf.tensor1d(THETA), EPS).arraySync();
  assert.deepEqual(k, [[0, 1, 1, 0], [0, 0, 1, 0]]);
});

Deno.test("jumpRelu() forward is z * H(z - theta) and its gradients follow the paper's STE", async () => {
  await useBackend("cpu");
  const z = tf.tensor2d(Z);
  const theta = tf.tensor1d(THETA);
  const dy = tf.tensor2d(DY);
  near(jumpRelu(z, theta, EPS), [[0, 0, 0, 0.625], [0.7, 0, 0.6, 0]]);
  const [dz, dTheta] = tf.grads((a: tf.Tensor, b: tf.Tensor) => jumpRelu(a, b, EPS))(
    [z, theta],
    dy,
  );
  // d/dz = H(z - theta) dy
  near(dz, [[0, 0, 0, 4], [5, 0, 7, 0]]);
  // d/dtheta_j = sum_b -(theta/eps) K_bj dy_bj = -(0.5/0.25) * sum of dy inside the window = -2 * ...
  // column 0: no entry inside; column 1: dy 2 (row 0); column 2: 3 + 7; column 3: none.
  near(dTheta, [0, -4, -20, 0]);
});

Deno.test("stepSte() forward is H(z - theta); d/dz is 0 and d/dtheta is -(1/eps) K summed", async () => {
  await useBackend("cpu");
  const z = tf.tensor2d(Z);
  const theta = tf.tensor1d(THETA);
  const dy = tf.tensor2d(DY);
  near(stepSte(z, theta, EPS), [[0, 0, 0, 1], [1, 0, 1, 0]]);
  const [dz, dTheta] = tf.grads((a: tf.Tensor, b: tf.Tensor) => stepSte(a, b, EPS))([z, theta], dy);
  near(dz, new Array(8).fill(0));
  // -(1/0.25) = -4 times the window's dy sums: [0, 2, 10, 0]
  near(dTheta, [0, -8, -40, 0]);
});

Deno.test("jumpRelu() threshold gradient reaches log theta multiplied by theta (chain rule)", async () => {
  await useBackend("cpu");
  const z = tf.tensor2d(Z);
  const logTheta = tf.log(tf.tensor1d(THETA));
  const dy = tf.tensor2d(DY);
  const g = tf.grad((lt: tf.Tensor) => jumpRelu(z, tf.exp(lt), EPS))(logTheta, dy);
  const expected = [0, -4, -20, 0].map((v) => v * 0.5);
  assert.ok(closeness(g.dataSync(), expected, { atol: 1e-6, rtol: 1e-5 }) <= 1);
});

Deno.test("heaviside() is strict: H(0) = 0", async () => {
  await useBackend("cpu");
  near(heaviside(tf.tensor1d([-1, 0, 1]), tf.scalar(0)), [
    0,
    0,
    1,
  ]);
});

Deno.test("topkSelect() keeps the k largest positive entries per row, gradient dy * mask", async () => {
  await useBackend("cpu");
  const r = tf.tensor2d([[0.1, 0.5, 0.3, 0.0], [0.0, 0.0, 0.2, 0.0]]);
  near(topkSelect(r, 2), [[0, 0.5, 0.3, 0], [0, 0, 0.2, 0]]);
  const g = tf.grad((a: tf.Tensor) => topkSelect(a as tf.Tensor2D, 2))(r, tf.onesLike(r));
  near(g, [[0, 1, 1, 0], [0, 0, 1, 0]]);
});

Deno.test("topkSelect({batch}) keeps the k*B largest entries of the whole batch", async () => {
  await useBackend("cpu");
  const r = tf.tensor2d([[0.9, 0.8, 0.1], [0.2, 0.05, 0.3]]);
  // k = 2, B = 2: keep the 4 largest of the batch: 0.9, 0.8, 0.3, 0.2.
  near(topkSelect(r, 2, { batch: true }), [[0.9, 0.8, 0], [0.2, 0, 0.3]]);
});

Deno.test("matMul() matches tf.matMul in value and gradients", async () => {
  await useBackend("cpu");
  const a = tf.tensor2d(gaussian(12, { seed: 1 }), [3, 4]);
  const b = tf.tensor2d(gaussian(20, { seed: 2 }), [4, 5]);
  const dy = tf.tensor2d(gaussian(15, { seed: 3 }), [3, 5]);
  const tol = { atol: 1e-6, rtol: 1e-5 };
  assert.ok(closeness(matMul(a, b).dataSync(), tf.matMul(a, b).dataSync(), tol) <= 1);
  const ours = tf.grads((x: tf.Tensor, y: tf.Tensor) => matMul(x as tf.Tensor2D, y as tf.Tensor2D))(
    [a, b],
    dy,
  );
  const ref = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
    tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D)
  )([a, b], dy);
  assert.ok(closeness(ours[0].dataSync(), ref[0].dataSync(), tol) <= 1);
  assert.ok(closeness(ours[1].dataSync(), ref[1].dataSync(), tol) <= 1);
});

Deno.test("stopGradient() passes values and blocks gradients", async () => {
  await useBackend("cpu");
  const x = tf.tensor1d([1, 2, 3]);
  near(stopGradient(x), [1, 2, 3]);
  const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(stopGradient(v), v)))(x);
  near(g, [1, 2, 3]); // d/dv (c * v) with c = v frozen
});
