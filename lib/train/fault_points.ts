// Named points of the trainer where crash tests stop the process: a training step and each phase
// of a checkpoint write. Production code calls faultPoint() at those points and nothing happens;
// only a test entry script (tests/fixtures/kill_run.ts) installs a hook with setFaultHook().

/** Called at every fault point with its name and step; may never return (e.g. SIGKILL). */
export type FaultHook = (point: string, step: number) => Promise<void> | void;

let hook: FaultHook | null = null;

/** Installs the process's fault hook (tests only; replaces any earlier one). */
export function setFaultHook(next: FaultHook | null): void {
  hook = next;
}

/** Marks a point where a crash test may stop this process (a no-op without a hook). */
export async function faultPoint(point: string, step: number): Promise<void> {
  if (hook) await hook(point, step);
}
