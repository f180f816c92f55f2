// The DONE record of a finished run: written last, it lists the files a finished run must have
// with their sizes and sha256, so that a sweep or report can verify them cheaply (sizes always,
// checksums of the small files) instead of trusting the marker. A DONE that is not JSON (written
// by an older version) is trusted as before.
import { join } from "node:path";
import { writeJsonAtomic } from "./atomic.ts";
import { RUN_FILES } from "./records.ts";
import { sha256Hex } from "./checksum.ts";

/** Files (relative to the run directory) every finished run has. */
export const DONE_FILES = [
  RUN_FILES.summary,
  `${RUN_FILES.sae}/cfg.json`,
  `${RUN_FILES.sae}/sae_weights.safetensors`,
] as const;

/** Files smaller than this have their checksum verified on every status read (larger: size). */
const VERIFY_SHA_BELOW_BYTES = 1 << 20;

export interface DoneRecord {
  finished_at: string;
  /** Size and sha256 of each file in DONE_FILES; absent in a legacy (non-JSON) DONE. */
  files?: Record<string, { bytes: number; sha256: string }>;
}

/** Writes DONE (atomically) with the size and checksum of every file a finished run has. */
export async function writeDone(runDir: string): Promise<void> {
  const files: DoneRecord["files"] = {};
  for (const rel of DONE_FILES) {
    const bytes = await Deno.readFile(join(runDir, rel));
    files[rel] = { bytes: bytes.length, sha256: sha256Hex(bytes) };
  }
  const record: DoneRecord = { finished_at: new Date().toISOString(), files };
  await writeJsonAtomic(join(runDir, RUN_FILES.done), record);
}

/** The DONE record, undefined when there is none; a legacy DONE gives its text as finished_at. */
export async function readDone(runDir: string): Promise<DoneRecord | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(join(runDir, RUN_FILES.done));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
  try {
    const record = JSON.parse(text);
    if (typeof record?.finished_at === "string") return record as DoneRecord;
  } catch {
    // Legacy marker (a timestamp or empty), or garbage: trusted as a bare marker.
  }
  return { finished_at: text.trim() };
}

/**
 * What is wrong with a finished run's files (missing, wrong size, wrong checksum, summary.json
 * not a JSON object); empty when they match DONE or DONE is a legacy marker.
 */
export async function verifyDone(runDir: string, record: DoneRecord): Promise<string[]> {
  const problems: string[] = [];
  for (const [rel, want] of Object.entries(record.files ?? {})) {
    const path = join(runDir, rel);
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(path);
    } catch {
      problems.push(`${rel} is missing`);
      continue;
    }
    if (info.size !== want.bytes) {
      problems.push(`${rel} has ${info.size} bytes, DONE recorded ${want.bytes}`);
    } else if (info.size < VERIFY_SHA_BELOW_BYTES) {
      if (sha256Hex(await Deno.readFile(path)) !== want.sha256) {
        problems.push(`${rel} differs from the file DONE recorded (sha256 mismatch)`);
      }
    }
  }
  return problems;
}
