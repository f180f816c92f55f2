// The fast CPU engine's kernel registry: one line per architecture it implements.
import type { ArchName } from "../spec/schema.ts";
import type { FastKernel } from "./fast_kernel.ts";
import { jumpreluKernel } from "./jumprelu_kernel.ts";
import { batchtopkKernel, topkKernel } from "./topk_kernel.ts";
import { reluKernel } from "./relu_kernel.ts";
import { gatedKernel } from "./gated_kernel.ts";

export const FAST_KERNELS: Readonly<Partial<Record<ArchName, FastKernel>>> = {
  jumprelu: jumpreluKernel,
  relu: reluKernel,
  gated: gatedKernel,
  topk: topkKernel,
  batchtopk: batchtopkKernel,
};
