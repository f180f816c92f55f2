// Typed errors thrown by lib/. Each says what failed, where, and (as `hint`) what to do; tasks/
// print them as `error: ...` / `hint: ...` and choose the exit code from `exitCode`.

/** Base class: every error the library throws on purpose. */
export class SaeSweepError extends Error {
  /** One line telling the user what to do next (may be empty). */
  readonly hint: string;
  /** Exit code a command-line entry point should use: 2 usage/spec, 1 failure. */
  readonly exitCode: 1 | 2;
  constructor(message: string, options: { hint?: string; exitCode?: 1 | 2; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint ?? "";
    this.exitCode = options.exitCode ?? 1;
  }
}

/** One problem in a spec file, located by line and column (1-based). */
export interface SpecIssue {
  file: string;
  line: number;
  col: number;
  /** Dotted path of the offending value, e.g. `sweep.sae.target_l0[2]`. */
  path: string;
  message: string;
}

/** Formats a spec issue as `file:line:col: path: message`. */
export function formatSpecIssue(issue: SpecIssue): string {
  const where = `${issue.file}:${issue.line}:${issue.col}`;
  return issue.path ? `${where}: ${issue.path}: ${issue.message}` : `${where}: ${issue.message}`;
}

/** A spec that cannot be parsed or validated; carries every problem found, not just the first. */
export class SpecError extends SaeSweepError {
  readonly issues: SpecIssue[];
  constructor(issues: SpecIssue[], options: { hint?: string } = {}) {
    const n = issues.length;
    super(
      `${n} problem${n === 1 ? "" : "s"} in spec:\n` + issues.map(formatSpecIssue).join("\n"),
      {
        hint: options.hint ?? "fix the lines above; see experiments/README.md for every key",
        exitCode: 2,
      },
    );
    this.issues = issues;
  }
}

/** Bad command-line usage (unknown run id, conflicting flags, missing file argument). */
export class UsageError extends SaeSweepError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { ...options, exitCode: 2 });
  }
}

/** Activation data that cannot be read or is malformed. */
export class DataError extends SaeSweepError {}

/** A requested compute backend that is not available on this machine. */
export class BackendUnavailableError extends SaeSweepError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { ...options, exitCode: 2 });
  }
}

/** Training diverged: a non-finite loss or parameter, or a finite blow-up (FVU, collapsed L0). */
export class DivergenceError extends SaeSweepError {
  readonly step: number;
  readonly quantity: string;
  constructor(
    step: number,
    quantity: string,
    options: { hint?: string; detail?: string } = {},
  ) {
    super(`training diverged at step ${step}: ${quantity} ${options.detail ?? "is not finite"}`, {
      hint: options.hint ??
        "lower train.lr or the penalty coefficient, or enable train.grad_clip; the last good checkpoint is kept",
    });
    this.step = step;
    this.quantity = quantity;
  }
}

/** Another process holds the lock of a run directory. */
export class LockError extends SaeSweepError {}

/** A run that was interrupted on request (Ctrl-C); its checkpoint allows resuming. */
export class InterruptedError extends SaeSweepError {}

/** An executor could not start or follow runs (e.g. sbatch missing or refusing a job). */
export class ExecutorError extends SaeSweepError {}
