// Custom gradients: the JumpReLU straight-through estimators of Rajamanoharan et al. (2024, §3,
// Appendix J), the TopK mask gradient tfjs lacks, and stop-gradient. Each returns a float32
// gradient of its input's exact shape; threshold gradients are summed over the batch.
// Shapes: B batch, F latents.
import * as tf from "@tensorflow/tfjs";

/** Rectangle kernel K(u) = 1 if -1/2 < u < 1/2 else 0, evaluated at u = (z - theta) / eps. */
export function rectangle(z: tf.Tensor, theta: tf.Tensor, eps: number): tf.Tensor {
  return tf.tidy(() => {
    const u = tf.div(tf.sub(z, theta), eps);
    return tf.cast(tf.logicalAnd(tf.greater(u, -0.5), tf.less(u, 0.5)), "float32");
  });
}

/** Heaviside H(z - theta) as float32 (1 where z > theta). */
export function heaviside(z: tf.Tensor, theta: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.cast(tf.greater(z, theta), "float32"));
}

type Op1 = (x: tf.Tensor) => tf.Tensor;
type Op2 = (z: tf.Tensor, theta: tf.Tensor) => tf.Tensor;
type Forward2 = (
  a: tf.Tensor,
  b: tf.Tensor,
  save: tf.GradSaveFunc,
) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[] };

type CustomFn = Parameters<typeof tf.customGrad>[0];

/** tf.customGrad with its variadic signature narrowed to two tensor inputs. */
function customGrad2(f: Forward2): Op2 {
  return tf.customGrad(f as unknown as CustomFn) as unknown as Op2;
}

const jumpReluCache = new Map<number, Op2>();
const stepCache = new Map<number, Op2>();

/**
 * JumpReLU_theta(z) = z * H(z - theta), z [B, F], theta [F].
 * d/dz := H(z - theta) (no STE on the input); d/dtheta := -(theta / eps) K((z - theta) / eps),
 * summed over the batch.
 */
export function jumpRelu(z: tf.Tensor, theta: tf.Tensor, eps: number): tf.Tensor {
  let op = jumpReluCache.get(eps);
  if (!op) {
    op = customGrad2((zIn, thetaIn, save) => {
      const [zt, th] = [zIn, thetaIn];
      save([zt, th]);
      return {
        value: tf.mul(zt, heaviside(zt, th)),
        gradFunc: (dy, saved) => {
          const [zs, ts] = saved;
          const dz = tf.mul(dy, heaviside(zs, ts));
          const k = rectangle(zs, ts, eps);
          const dTheta = tf.sum(tf.mul(tf.mul(dy, k), tf.div(tf.neg(ts), eps)), 0); // [F]
          return [dz, dTheta];
        },
      };
    });
    jumpReluCache.set(eps, op);
  }
  return op(z, theta);
}

/**
 * Step H(z - theta), z [B, F], theta [F]. d/dz := 0 (the sparsity term trains only theta);
 * d/dtheta := -(1 / eps) K((z - theta) / eps), summed over the batch.
 */
export function stepSte(z: tf.Tensor, theta: tf.Tensor, eps: number): tf.Tensor {
  let op = stepCache.get(eps);
  if (!op) {
    op = customGrad2((zIn, thetaIn, save) => {
      save([zIn, thetaIn]);
      return {
        value: heaviside(zIn, thetaIn),
        gradFunc: (dy, saved) => {
          const [zs, ts] = saved;
          const k = rectangle(zs, ts, eps);
          const dTheta = tf.sum(tf.mul(tf.mul(dy, k), -1 / eps), 0); // [F]
          return [tf.zerosLike(zs), dTheta];
        },
      };
    });
    stepCache.set(eps, op);
  }
  return op(z, theta);
}

/** Row-wise mask of the k largest entries of r [B, F] (entries must also be > 0). */
function topkMask(r: tf.Tensor2D, k: number): tf.Tensor2D {
  // The k-th largest is the minimum of the top k: with sorted = false the cpu and wasm backends
  // return the top k in no particular order, so its last column is not the k-th largest.
  const kth = tf.min(tf.topk(r, k, false).values, 1, true); // [B, 1]
  return tf.cast(tf.logicalAnd(tf.greaterEqual(r, kth), tf.greater(r, 0)), "float32");
}

/** Mask of the `total` largest entries of r [B, F] across the whole batch (entries > 0). */
function batchTopkMask(r: tf.Tensor2D, total: number): tf.Tensor2D {
  const flat = tf.reshape(r, [-1]);
  const kth = tf.min(tf.topk(flat, Math.min(total, flat.size), false).values);
  return tf.cast(tf.logicalAnd(tf.greaterEqual(r, kth), tf.greater(r, 0)), "float32");
}

type Select = (r: tf.Tensor) => tf.Tensor;
const selectCache = new Map<string, Select>();

/**
 * Keeps the k largest non-negative entries of each row of r [B, F] and zeroes the rest; the
 * gradient is dy * mask (the selection itself has none: `tf.topk` registers no gradient, and ops
 * inside a custom-gradient forward pass are not taped). With `batch: true` the k * B largest
 * entries of the whole batch are kept (BatchTopK).
 */
export function topkSelect(
  r: tf.Tensor2D,
  k: number,
  options: { batch?: boolean } = {},
): tf.Tensor2D {
  const key = `${options.batch ? "batch" : "row"}:${k}`;
  let op = selectCache.get(key);
  if (!op) {
    op = tf.customGrad(
      ((rIn: tf.Tensor2D, save: tf.GradSaveFunc) => {
        const mask = options.batch ? batchTopkMask(rIn, k * rIn.shape[0]) : topkMask(rIn, k);
        save([mask]);
        return {
          value: tf.mul(rIn, mask),
          gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.mul(dy, saved[0])],
        };
      }) as unknown as CustomFn,
    ) as unknown as Select;
    selectCache.set(key, op);
  }
  return op(r) as tf.Tensor2D;
}

const stopGradientOp = tf.customGrad(
  ((x: tf.Tensor) => ({
    value: tf.clone(x),
    gradFunc: (dy: tf.Tensor) => [tf.zerosLike(dy)],
  })) as unknown as CustomFn,
) as unknown as Op1;

/** Identity in the forward pass, zero gradient (a frozen copy of a tensor). */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  return stopGradientOp(x) as T;
}

const matMulOp = customGrad2((a, b, save) => {
  save([a, b]);
  return {
    value: tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
    gradFunc: (dy, saved) => {
      const [as, bs] = saved as [tf.Tensor2D, tf.Tensor2D];
      return [
        tf.matMul(dy as tf.Tensor2D, tf.transpose(bs)),
        tf.matMul(tf.transpose(as), dy as tf.Tensor2D),
      ];
    },
  };
});

/**
 * a [M, K] @ b [K, N] with a gradient that transposes explicitly: tfjs's own matMul gradient uses
 * the transposeA/transposeB flags, which run 15-27x slower on the wasm backend (ENVIRONMENT.md).
 * Same values and gradients as tf.matMul.
 */
export function matMul(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return matMulOp(a, b) as tf.Tensor2D;
}
