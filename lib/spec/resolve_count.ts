// A test hook counting how often a process resolves a run config (resolve.ts) and builds its
// effective config (lib/sweep/effective_config.ts): with the environment variable
// SAESWEEP_COUNT_RESOLVE=<file> set, each call appends one line `<pid> <script> <kind> <key>` to
// <file>, `key` a hash of the run's resolved config (tests/tasks/resolve_count_test.ts checks that
// each run is resolved and built once per process). Unset, or without permission to read it, a
// call costs one cached lookup and writes nothing.
import { basename } from "node:path";
import { canonicalHash } from "./spec_hash.ts";

/** The environment variable naming the file the counts are appended to. */
export const COUNT_RESOLVE_ENV = "SAESWEEP_COUNT_RESOLVE";

/** What was counted: a grid point resolved into a RunConfig, or a RunConfig's effective config. */
export type CountedStep = "resolve" | "effective";

let file: string | null | undefined;

function countFile(): string | null {
  if (file === undefined) {
    const status = Deno.permissions.querySync({ name: "env", variable: COUNT_RESOLVE_ENV });
    file = status.state === "granted" ? Deno.env.get(COUNT_RESOLVE_ENV) || null : null;
  }
  return file;
}

/** Appends one count line for `config` (a resolved RunConfig) when counting is on. */
export function countResolve(kind: CountedStep, config: unknown): void {
  const path = countFile();
  if (path === null) return;
  const script = basename(Deno.mainModule);
  const line = `${Deno.pid} ${script} ${kind} ${canonicalHash(config, 12)}\n`;
  Deno.writeTextFileSync(path, line, { append: true });
}
