// Smoke test of `deno task bench --quick --json` on a tiny shape (fields only, never timings) and
// unit tests of the grid, shape parsing, ratio pairing and the step / encoder-GEMM ratio.
import assert from "node:assert/strict";
import { benchGrid, parseShape } from "../../lib/bench/bench_config.ts";
import { benchRatios, encoderRatios } from "../../lib/bench/ratios.ts";
import type { BenchResult } from "../../lib/bench/measure_engine.ts";
import { UsageError } from "../../lib/errors.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("parseShape() reads d_model x d_sae x batch and rejects other text", () => {
  assert.deepEqual(parseShape("512x4096x4096"), { d_model: 512, d_sae: 4096, batch: 4096 });
  assert.throws(() => parseShape("512x4096"), UsageError);
});

Deno.test("benchGrid() yields arch x shape x l0 and drops L0 targets >= d_sae", () => {
  const grid = benchGrid(["jumprelu", "topk"], {
    shapes: [{ d_model: 8, d_sae: 64, batch: 16 }],
    targetL0s: [32, 128],
  });
  assert.deepEqual(grid.map((c) => `${c.arch}:${c.l0_target}`), ["jumprelu:32", "topk:32"]);
});

Deno.test("benchRatios() pairs the fast engine with each peer of the same configuration", () => {
  const base = { arch: "topk", d_model: 8, d_sae: 64, batch: 16, l0_target: 4 } as const;
  const r = (engine: BenchResult["engine"], backend: string, tps: number) =>
    ({ ...base, engine, backend, tokens_per_s: tps }) as BenchResult;
  const ratios = benchRatios([r("fast", "cpu-openblas", 300), r("torch", "torch", 100)]);
  assert.equal(ratios.length, 1);
  assert.equal(ratios[0].peer, "torch");
  assert.equal(ratios[0].ratio, 3);
});

Deno.test("benchRatios() pairs each fast row (system BLAS and portable GEMM) with torch", () => {
  const base = { arch: "topk", d_model: 8, d_sae: 64, batch: 16, l0_target: 4 } as const;
  const r = (engine: BenchResult["engine"], backend: string, tps: number) =>
    ({ ...base, engine, backend, tokens_per_s: tps }) as BenchResult;
  const ratios = benchRatios([
    r("fast", "cpu-openblas", 300),
    r("fast", "cpu-wasm-simd", 150),
    r("torch", "torch", 100),
  ]);
  assert.deepEqual(ratios.map((q) => [q.ours, q.peer, q.ratio]), [
    ["cpu-openblas", "torch", 3],
    ["cpu-wasm-simd", "torch", 1.5],
  ]);
});

Deno.test("encoderRatios() divides step time by 2 B D F FLOPs at the machine's and the row's own ceiling", () => {
  // B D F = 1000 x 100 x 500: 2 B D F = 1e8 FLOPs = 1 ms at 100 GFLOP/s, 4 ms at 25 GFLOP/s.
  const base = { arch: "topk", d_model: 100, d_sae: 500, batch: 1000, l0_target: 4 } as const;
  const rows = [
    { ...base, engine: "fast", backend: "cpu-openblas", ms_per_step: 7 },
    { ...base, engine: "fast", backend: "cpu-wasm-simd", ms_per_step: 12 },
    { ...base, engine: "torch", backend: "torch", ms_per_step: 20 },
  ] as BenchResult[];
  encoderRatios(rows, { ceiling: 100, ceilings: { system: 100, portable: 25 } });
  assert.deepEqual(rows.map((r) => [r.encoder_ratio, r.encoder_ratio_own]), [
    [7, 7],
    [12, 3],
    [20, null],
  ]);
});

Deno.test("deno task bench --quick --json prints one JSON document with the result fields last", async () => {
  const out = await Deno.makeTempFile({ suffix: ".json" });
  try {
    const res = await new Deno.Command(Deno.execPath(), {
      args: [
        "task",
        "-q",
        "bench",
        "--quick",
        "--shape",
        "32x256x256",
        "--l0",
        "16",
        "--json",
        "--out",
        out,
      ],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(res.stdout).trim();
    assert.equal(res.code, 0, new TextDecoder().decode(res.stderr));
    const doc = JSON.parse(stdout.split("\n").at(-1)!);
    assert.ok(Array.isArray(doc.results) && doc.results.length >= 2);
    for (const r of doc.results) {
      for (const k of ["arch", "backend", "d_model", "d_sae", "batch", "l0_target"]) {
        assert.ok(k in r, `result lacks ${k}`);
      }
      assert.equal(typeof r.tokens_per_s, "number");
      assert.equal(typeof r.ms_per_step, "number");
      assert.equal(typeof r.encoder_ratio, "number");
    }
    // --quick: JumpReLU and TopK, each on the portable GEMM, and on the system BLAS where it loads.
    const rows = (backend: string) =>
      doc.results.filter((r: BenchResult) => r.backend === backend).map((r: BenchResult) => r.arch);
    assert.deepEqual(rows("cpu-wasm-simd"), ["jumprelu", "topk"]);
    if (doc.blas !== null || Deno.env.get("CI")) {
      assert.deepEqual(rows("cpu-openblas"), ["jumprelu", "topk"]);
    }
    assert.equal(typeof doc.gemm_ceilings.portable, "number");
    assert.ok(Array.isArray(doc.ratios));
    assert.ok("gemm_gflops" in doc && "torch" in doc);
    if (!doc.torch.available) assert.match(doc.torch.hint, /python3-torch libopenblas0-pthread/);
    assert.deepEqual(JSON.parse(await Deno.readTextFile(out)).results.length, doc.results.length);
  } finally {
    await Deno.remove(out);
  }
});
