// Parity of the fast CPU engine with the tfjs reference engine on the pure-JS `cpu` backend, for
// every architecture and the JumpReLU options: loss terms, raw gradients, and parameters, state
// and statistics after 1 and 3 Adam steps. Run with the portable JS GEMM everywhere and with
// OpenBLAS where it loads (skipped without it, except under CI), and with the portable
// WebAssembly GEMM (lib/engine/cpu/gemm/), each in sparse and dense mode.
import assert from "node:assert/strict";
import { architectures } from "../../../lib/sae/registry.ts";
import { FastEngine } from "../../../lib/engine/cpu/fast_engine.ts";
import { JS_BLAS } from "../../../lib/engine/cpu/js_gemm.ts";
import { type Blas, loadBlas } from "../../../lib/engine/cpu/blas.ts";
import { portableGemm } from "../../../lib/engine/cpu/gemm/select_gemm.ts";
import type { WasmGemm } from "../../../lib/engine/cpu/gemm/wasm_gemm.ts";
import {
  excess,
  type FastCase,
  makeCase,
  referenceEngine,
  referenceGrads,
  runEngine,
} from "./_case.ts";
import { useBackend } from "../../_tf.ts";

/** float32 tolerances, relative to the largest reference magnitude of each tensor. */
const TERMS_RTOL = 1e-5;
const GRAD_TOL = { rtol: 2e-5, atol: 1e-8 };
/** After Adam (lr 1e-3) steps: |delta param| <= 1e-6 + 1e-5 max|param|. */
const PARAM_TOL = { rtol: 1e-5, atol: 1e-6 };

/**
 * Every architecture with a fast kernel, at its defaults and at each of its descriptor's
 * parityCases, plus engine-level variants (gradient clipping) on the two kernel families.
 */
interface Variant {
  label: string;
  arch: string;
  sae?: Record<string, unknown>;
  gradClip?: number;
}

const VARIANTS: Variant[] = [
  ...architectures().filter((a) => a.kernels?.cpu).flatMap((a): Variant[] => [
    { label: a.name, arch: a.name },
    ...(a.parityCases ?? []).map((p) => ({
      label: `${a.name} ${p.label}`,
      arch: a.name,
      sae: p.sae,
    })),
  ]),
  { label: "jumprelu with grad clip", arch: "jumprelu", gradClip: 0.5 },
  { label: "topk with grad clip", arch: "topk", gradClip: 0.3 },
];
const openblas = loadBlas();
const wasm = portableGemm(1);
const wasmGemm = wasm.blas as WasmGemm | null;
const PROVIDERS: { name: string; blas: Blas | null; reason?: string; wasm?: WasmGemm }[] = [
  { name: "js gemm", blas: JS_BLAS },
  { name: "openblas", blas: openblas.blas, reason: openblas.reason },
  { name: "wasm gemm", blas: wasm.blas, reason: wasm.reason },
  // The default fast path: sparse products on the wasm SIMD kernels, buffers in wasm memory.
  { name: "wasm kernels", blas: wasm.blas, reason: wasm.reason, wasm: wasmGemm ?? undefined },
];
const CI = Boolean(Deno.env.get("CI"));

function fastEngine(c: FastCase, blas: Blas, denseAbove: number, wasm?: WasmGemm) {
  return (init: FastCase["init"]) =>
    new FastEngine(c.arch, init, {
      sae: c.sae,
      kernel: c.arch.kernels?.cpu!,
      adamEps: 1e-8,
      gradClip: c.gradClip,
      blas,
      backend: "test",
      denseAbove,
      wasm,
    });
}

for (const v of VARIANTS) {
  for (const p of PROVIDERS) {
    for (const [mode, denseAbove] of [["sparse", Infinity], ["dense", 0]] as const) {
      const name = `fast engine matches the reference: ${v.label}, ${p.name}, ${mode} products`;
      Deno.test({
        name,
        ignore: p.blas === null && !CI,
        fn: async () => {
          if (!p.blas) throw new Error(`${p.name} is required under CI: ${p.reason}`);
          await useBackend("cpu");
          const c = makeCase(v.arch, { sae: v.sae, gradClip: v.gradClip ?? null });
          const ref = referenceGrads(c);
          const fast = fastEngine(c, p.blas, denseAbove, p.wasm)(c.init);
          const got = fast.gradients(c.batches[0], { lr: c.lr, lambda: c.lambda });
          ref.terms.forEach((t, i) => {
            const tol = TERMS_RTOL * Math.max(Math.abs(t), 1e-3);
            assert(
              Math.abs(got.terms[i] - t) <= tol,
              `term ${c.arch.termNames(c.sae)[i]}: ${got.terms[i]} vs ${t}`,
            );
          });
          for (const [n, g] of Object.entries(ref.grads)) {
            const e = excess(got.grads[n].data, g.data, GRAD_TOL);
            assert(
              e.ratio <= 1,
              `gradient ${n}: max |diff| ${e.maxAbs} at ${e.at} (ratio ${e.ratio})`,
            );
          }

          const want = await runEngine(c, (init) => referenceEngine(c, init));
          const have = await runEngine(c, fastEngine(c, p.blas, denseAbove, p.wasm));
          for (const step of [0, c.batches.length - 1]) {
            const [a, b] = [have.snapshots[step], want.snapshots[step]];
            assert.deepEqual(a.optimizer.t, b.optimizer.t);
            for (const group of ["params", "state"] as const) {
              for (const [n, t] of Object.entries(b[group])) {
                const e = excess(a[group][n].data, t.data, PARAM_TOL);
                assert(
                  e.ratio <= 1,
                  `step ${step + 1} ${group} ${n}: max |diff| ${e.maxAbs} (ratio ${e.ratio})`,
                );
              }
            }
            const [sa, sb] = [have.stats[step], want.stats[step]];
            assert(
              Math.abs(sa.loss - sb.loss) <= 1e-5 * Math.abs(sb.loss),
              `loss ${sa.loss} vs ${sb.loss}`,
            );
            assert(Math.abs(sa.l0 - sb.l0) <= 1e-4, `l0 ${sa.l0} vs ${sb.l0}`);
            assert(Math.abs(sa.fvu - sb.fvu) <= 1e-5 * sb.fvu, `fvu ${sa.fvu} vs ${sb.fvu}`);
            assert.deepEqual(sa.nonFinite, []);
          }
        },
      });
    }
  }
}

Deno.test("fast engine encode matches the reference encode for every architecture", async () => {
  await useBackend("cpu");
  for (const { name: archName } of architectures().filter((a) => a.kernels?.cpu)) {
    const c = makeCase(archName);
    const ref = referenceEngine(c, c.init);
    const fast = fastEngine(c, openblas.blas ?? JS_BLAS, 0.02)(c.init);
    const x = c.batches[1];
    const a = await fast.encode(x, c.dims.b);
    const b = await ref.encode(x, c.dims.b);
    ref.dispose();
    assert(excess(a.f, b.f, { rtol: 1e-5, atol: 1e-7 }).ratio <= 1, `${archName} latents`);
    assert(excess(a.xHat, b.xHat, { rtol: 1e-5, atol: 1e-7 }).ratio <= 1, `${archName} xHat`);
  }
});
