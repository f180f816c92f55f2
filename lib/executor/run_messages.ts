// The JSON lines a `tasks/run.ts --progress jsonl` child prints on stdout, and their parser: the
// protocol between one training subprocess and the local executor.
import type { TrainProgress } from "../train/progress.ts";

/** `busy`: another process holds the run's lock (nothing was trained; not a failure). */
export type RunResultStatus = "done" | "failed" | "interrupted" | "busy" | "skipped";

/** One line of a child's stdout. */
export type RunMessage =
  | ({ type: "progress" } & TrainProgress)
  | { type: "result"; status: RunResultStatus; error?: string };

/** Parses one stdout line; undefined for anything that is not a protocol message. */
export function parseRunMessage(line: string): RunMessage | undefined {
  const text = line.trim();
  if (!text.startsWith("{")) return undefined;
  try {
    const msg = JSON.parse(text);
    if (msg?.type === "progress" && typeof msg.step === "number") return msg;
    if (
      msg?.type === "result" &&
      ["done", "failed", "interrupted", "busy", "skipped"].includes(msg.status)
    ) {
      return msg;
    }
  } catch {
    // Not JSON: a stray log line.
  }
  return undefined;
}
