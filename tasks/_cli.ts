// Shared helpers of the command-line tasks: print `error: ...` / `hint: ...` for failures, pick
// exit codes (2 usage/spec, 1 failure, 130 interrupted) and run a task's main function.
import { CommanderError } from "commander";
import { SaeSweepError, UsageError } from "../lib/errors.ts";

/** Exit code of a run stopped by Ctrl-C (128 + SIGINT). */
export const EXIT_INTERRUPTED = 130;

/** Prints an error (and its hint) to stderr; returns the exit code it deserves. */
export function reportError(err: unknown): number {
  if (err instanceof SaeSweepError) {
    console.error(`error: ${err.message}`);
    if (err.hint) console.error(`hint: ${err.hint}`);
    return err.exitCode;
  }
  const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
  console.error(`error: ${message}`);
  console.error("hint: this is a bug in saesweep; please report it with the lines above");
  return 1;
}

/** Parses an integer flag value (`--jobs 2`), or throws a UsageError naming the flag. */
export function parseIntFlag(flag: string, min: number): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isInteger(n) || n < min) {
      throw new UsageError(`${flag} expects an integer >= ${min}, got "${value}"`, {
        hint: "--help lists every flag and its values",
      });
    }
    return n;
  };
}

/**
 * Runs `main` and exits with its code; commander's own usage errors exit 2 (help and version 0),
 * SaeSweepErrors print `error:`/`hint:` and exit with their code.
 */
export async function runMain(main: () => Promise<number>): Promise<never> {
  let code: number;
  try {
    code = await main();
  } catch (err) {
    if (err instanceof CommanderError) {
      code = err.exitCode === 0 ? 0 : 2;
    } else code = reportError(err);
  }
  Deno.exit(code);
}
