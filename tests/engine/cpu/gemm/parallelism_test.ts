// planParallelism() splits the cores between runs and GEMM threads: one run per core by default,
// spare cores to the GEMMs when runs are fewer, and `--jobs` dividing the cores among the jobs.
import assert from "node:assert/strict";
import { planParallelism } from "../../../../lib/engine/cpu/gemm/parallelism.ts";

const plan = (o: Parameters<typeof planParallelism>[0]) => {
  const { jobs, threads } = planParallelism(o);
  return { jobs, threads };
};

Deno.test("planParallelism() runs one job per core with one GEMM thread by default", () => {
  assert.deepEqual(plan({ cores: 2, runs: 20 }), { jobs: 2, threads: 1 });
  assert.deepEqual(plan({ cores: 16, runs: 20 }), { jobs: 16, threads: 1 });
  assert.match(planParallelism({ cores: 2, runs: 20 }).why, /^2 cores \/ 1 GEMM thread per run$/);
});

Deno.test("planParallelism() gives spare cores to the GEMMs when there are fewer runs than cores", () => {
  assert.deepEqual(plan({ cores: 2, runs: 1 }), { jobs: 1, threads: 2 });
  assert.deepEqual(plan({ cores: 16, runs: 3 }), { jobs: 3, threads: 5 });
});

Deno.test("planParallelism() divides the cores among --jobs, and honours SAESWEEP_THREADS", () => {
  assert.deepEqual(plan({ cores: 2, runs: 20, jobs: 1 }), { jobs: 1, threads: 2 });
  assert.deepEqual(plan({ cores: 8, runs: 20, jobs: 3 }), { jobs: 3, threads: 2 });
  assert.deepEqual(plan({ cores: 8, runs: 20, jobs: 16 }), { jobs: 16, threads: 1 });
  assert.deepEqual(plan({ cores: 8, runs: 20, threads: 4 }), { jobs: 2, threads: 4 });
  assert.deepEqual(plan({ cores: 1, runs: 5 }), { jobs: 1, threads: 1 });
});

Deno.test("planParallelism() runs cuda-engine runs one per GPU unless --jobs says otherwise", () => {
  const gpu = planParallelism({ cores: 16, runs: 12, gpu: { name: "NVIDIA H200", count: 1 } });
  assert.equal(gpu.jobs, 1);
  assert.equal(gpu.threads, 16);
  assert.match(gpu.why, /^cuda engine on NVIDIA H200: one run at a time/);
  const four = planParallelism({ cores: 16, runs: 12, gpu: { name: "NVIDIA H200", count: 4 } });
  assert.equal(four.jobs, 4);
  assert.equal(four.threads, 4);
  assert.match(four.why, /^cuda engine on 4 GPUs \(NVIDIA H200, \.\.\.\): one run per GPU/);
  const fewer = planParallelism({ cores: 16, runs: 2, gpu: { name: "NVIDIA H200", count: 4 } });
  assert.equal(fewer.jobs, 2);
  const shared = planParallelism({
    cores: 16,
    runs: 12,
    jobs: 3,
    gpu: { name: "NVIDIA H200", count: 1 },
  });
  assert.equal(shared.jobs, 3);
  assert.equal(shared.threads, 5);
  assert.match(shared.why, /^--jobs, 16 cores, runs placed on 1 GPU by memory$/);
});
