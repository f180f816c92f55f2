// Shared helpers of the command-line tasks: print `error: ...` / `hint: ...` for failures, pick
// exit codes (2 usage/spec, 1 failure, 130 interrupted) and run a task's main function.
import { CommanderError } from "commander";
import { SaeSweepError, UsageError } from "../lib/errors.ts";

/** Exit code of a run stopped by Ctrl-C (128 + SIGINT). */
export const EXIT_INTERRUPTED = 130;

/** What to do about the operating system errors a run meets. */
const OS_HINTS: Record<string, string> = {
  ENAMETOOLONG: "use a shorter --out path or experiment name (file names are limited to 255 bytes)",
  ENOSPC: "free disk space, then re-run the same command: finished runs are kept, others resume",
  EDQUOT: "free space within your disk quota, then re-run the same command to resume",
  EACCES: "check the permissions of the path named above",
  EPERM: "check the permissions of the path named above",
  EROFS: "the file system is read-only; choose another --out directory",
  EMFILE: "too many open files: lower --jobs or raise the limit (ulimit -n)",
};

/** Prints an error (and its hint) to stderr; returns the exit code it deserves. */
export function reportError(err: unknown): number {
  if (err instanceof SaeSweepError) {
    console.error(`error: ${err.message}`);
    if (err.hint) console.error(`hint: ${err.hint}`);
    return err.exitCode;
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (err instanceof Error && typeof code === "string" && /^E[A-Z0-9]+$/.test(code)) {
    // A refusal of the operating system (a path too long, a full disk) is not a bug: say which.
    console.error(`error: ${err.message}`);
    console.error(`hint: ${OS_HINTS[code] ?? "check the path named above and re-run"}`);
    return 1;
  }
  if (
    err instanceof RangeError &&
    /allocation failed|invalid (typed )?array( buffer)? length/i.test(err.message)
  ) {
    console.error(`error: out of memory: ${err.message}`);
    console.error(
      "hint: lower eval.tokens, sae.width or train.batch_size; the sweep checks an estimate " +
        "of each run's memory before training",
    );
    return 1;
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
 * Parses a path flag value (`--out runs`), refusing one that is another flag: `--out --dry-run`
 * (the directory forgotten) would otherwise train for real into `./--dry-run/`.
 */
export function parsePathFlag(flag: string): (value: string) => string {
  return (value: string) => {
    if (value.startsWith("-")) {
      throw new UsageError(`${flag} expects a path, got the flag "${value}"`, {
        hint:
          `give ${flag} a path (e.g. ${flag} runs); a path that starts with - is written ./${value}`,
      });
    }
    if (value === "") {
      throw new UsageError(`${flag} expects a path, got an empty string`, {
        hint: `give ${flag} a path, e.g. ${flag} runs`,
      });
    }
    return value;
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
