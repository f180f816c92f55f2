// Smoke test of `deno task bench --quick --json` (fields only, never timings) and unit tests of
// the grid, shape parsing and ratio pairing.
import assert from "node:assert/strict";
import { benchGrid, parseShape } from "../../lib/bench/bench_config.ts";
import { benchRatios } from "../../lib/bench/ratios.ts";
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
    l0s: [32, 128],
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

Deno.test("deno task bench --quick --json prints one JSON document with the result fields last", async () => {
  const out = await Deno.makeTempFile({ suffix: ".json" });
  try {
    const res = await new Deno.Command(Deno.execPath(), {
      args: ["task", "-q", "bench", "--quick", "--json", "--arch", "jumprelu,topk", "--out", out],
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
    }
    assert.ok(Array.isArray(doc.ratios));
    assert.ok("gemm_gflops" in doc && "torch" in doc);
    if (!doc.torch.available) assert.match(doc.torch.hint, /python3-torch libopenblas0-pthread/);
    assert.deepEqual(JSON.parse(await Deno.readTextFile(out)).results.length, doc.results.length);
  } finally {
    await Deno.remove(out);
  }
});
