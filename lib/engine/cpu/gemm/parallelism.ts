// How a sweep splits the machine's cores: runs trained at once (`--jobs`) times GEMM threads per
// run (SAESWEEP_THREADS in each run's environment) stays within the cores. Pure.

export interface Parallelism {
  jobs: number;
  /** GEMM threads per run. */
  threads: number;
  /** Why, for the line the sweep prints at start. */
  why: string;
}

/**
 * Without `--jobs`, one run per core with one GEMM thread each (a sweep's small products gain
 * more from parallel runs than from threaded GEMMs), and the spare cores go to the runs' GEMMs
 * when there are fewer runs than cores. With `--jobs`, the cores are divided among the jobs.
 */
export function planParallelism(
  options: {
    cores: number;
    runs: number;
    jobs?: number;
    threads?: number;
    /**
     * The runs train on this machine's CUDA GPUs (`count` of them, the first named): without
     * --jobs, one run per GPU at a time, the cores shared among them for their host side, instead
     * of one run per core all on the GPUs; --jobs N runs N at once, placed by memory.
     */
    gpu?: { name: string; count: number };
  },
): Parallelism {
  const cores = Math.max(1, options.cores);
  const runs = Math.max(1, options.runs);
  const gpu = options.gpu;
  if (gpu !== undefined && options.jobs === undefined) {
    const jobs = Math.max(1, Math.min(gpu.count, runs));
    return {
      jobs,
      threads: options.threads ?? Math.max(1, Math.floor(cores / jobs)),
      why: gpu.count === 1
        ? `cuda engine on ${gpu.name}: one run at a time (--jobs N shares the GPU)`
        : `cuda engine on ${gpu.count} GPUs (${gpu.name}, ...): one run per GPU ` +
          "(--jobs N shares them)",
    };
  }
  if (options.jobs !== undefined) {
    const threads = options.threads ?? Math.max(1, Math.floor(cores / options.jobs));
    const placed = gpu
      ? `, runs placed on ${gpu.count} GPU${gpu.count === 1 ? "" : "s"} by memory`
      : "";
    return { jobs: options.jobs, threads, why: `--jobs, ${cores} cores${placed}` };
  }
  const threads = options.threads ?? Math.max(1, Math.floor(cores / Math.min(runs, cores)));
  const jobs = Math.max(1, Math.min(runs, Math.floor(cores / threads)));
  const per = `${threads} GEMM thread${threads === 1 ? "" : "s"} per run`;
  return { jobs, threads, why: `${cores} cores / ${per}` };
}
