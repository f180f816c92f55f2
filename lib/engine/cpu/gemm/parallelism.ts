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
     * The runs train on this machine's one CUDA GPU (named here): without --jobs they run one
     * after another, each with every core for its host side, instead of one per core on the GPU.
     */
    gpu?: string;
  },
): Parallelism {
  const cores = Math.max(1, options.cores);
  const runs = Math.max(1, options.runs);
  if (options.gpu !== undefined && options.jobs === undefined) {
    return {
      jobs: 1,
      threads: options.threads ?? cores,
      why: `cuda engine on ${options.gpu}: one run at a time (--jobs N shares the GPU)`,
    };
  }
  if (options.jobs !== undefined) {
    const threads = options.threads ?? Math.max(1, Math.floor(cores / options.jobs));
    return { jobs: options.jobs, threads, why: `--jobs, ${cores} cores` };
  }
  const threads = options.threads ?? Math.max(1, Math.floor(cores / Math.min(runs, cores)));
  const jobs = Math.max(1, Math.min(runs, Math.floor(cores / threads)));
  const per = `${threads} GEMM thread${threads === 1 ? "" : "s"} per run`;
  return { jobs, threads, why: `${cores} cores / ${per}` };
}
