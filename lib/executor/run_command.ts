// The command line that trains one entry of a sweep manifest (`deno run ... tasks/run.ts
// --manifest FILE --index N`), shared by the local and Slurm executors. Which entry script runs is
// the caller's choice (tests pass a stand-in with a fake trainer).
import { RUN_PERMISSION_FLAGS } from "./permissions.ts";

export interface RunCommandOptions {
  /** Entry script taking `--manifest FILE --index N` (tasks/run.ts in production). */
  runScript: string;
  /**
   * The project's deno.json (import map, node_modules), or null for a self-contained bundled
   * entry script, which runs with `--no-config` (the offline GPU bundle's run.js).
   */
  config: string | null;
  /** Extra flags for every run (e.g. `--backend wasm`). */
  extraArgs?: readonly string[];
}

/** argv (Deno executable first) training entries of `manifestPath`, without `--index N`. */
export function runCommand(manifestPath: string, options: RunCommandOptions): string[] {
  return [
    Deno.execPath(),
    "run",
    options.config === null ? "--no-config" : `--config=${options.config}`,
    ...RUN_PERMISSION_FLAGS,
    options.runScript,
    "--manifest",
    manifestPath,
    ...(options.extraArgs ?? []),
  ];
}
