// Atomic file writes for run directories: write a temp file in the same directory, fsync it,
// rename it over the target (readers see the old file or the new one, never half of one).
import { basename, dirname, join } from "node:path";

/** Temp files of writeFileAtomic (`.<name>.<tag>.tmp`) and of writeSafetensors (`<name>.tmp-<pid>-<id>`). */
const TEMP_NAME = /^\..+\.[0-9a-z]+\.tmp$|\.tmp-\d+-[0-9a-f]{8}$/;

function tempPath(path: string): string {
  const random = crypto.getRandomValues(new Uint32Array(2));
  const tag = Array.from(random, (n) => n.toString(36)).join("");
  return join(dirname(path), `.${basename(path)}.${tag}.tmp`);
}

/** Writes `data` to `path` atomically; on failure the old file is intact and no temp is left. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const tmp = tempPath(path);
  try {
    const file = await Deno.open(tmp, { write: true, createNew: true });
    try {
      let written = 0;
      while (written < bytes.length) written += await file.write(bytes.subarray(written));
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
  await syncDir(dirname(path));
}

/** Writes `value` as pretty JSON (2-space indent, trailing newline) atomically. */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value, null, 2) + "\n");
}

/** Appends one line (a newline is added) and fsyncs; used for metrics.jsonl. */
export async function appendLine(path: string, line: string): Promise<void> {
  const file = await Deno.open(path, { append: true, create: true });
  try {
    const bytes = new TextEncoder().encode(line.endsWith("\n") ? line : line + "\n");
    let written = 0;
    while (written < bytes.length) written += await file.write(bytes.subarray(written));
    await file.sync();
  } finally {
    file.close();
  }
}

/** Makes a rename durable by fsyncing the directory; best effort (not all platforms allow it). */
async function syncDir(dir: string): Promise<void> {
  if (Deno.build.os === "windows") return;
  try {
    const handle = await Deno.open(dir, { read: true });
    try {
      await handle.sync();
    } finally {
      handle.close();
    }
  } catch {
    // Some file systems refuse fsync on directories; the rename itself is still atomic.
  }
}

/**
 * Removes temp files left in `dir` and its subdirectories by atomic writes that were interrupted
 * (a killed process). Call only while holding the directory's lock. Returns how many it removed.
 */
export async function removeTempFiles(dir: string): Promise<number> {
  let removed = 0;
  try {
    for await (const e of Deno.readDir(dir)) {
      const path = join(dir, e.name);
      if (e.isDirectory) removed += await removeTempFiles(path);
      else if (e.isFile && TEMP_NAME.test(e.name)) {
        await Deno.remove(path).catch(() => {});
        removed++;
      }
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return removed;
}

/** Whether `path` exists (any kind of entry); errors other than "not found" propagate. */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}
