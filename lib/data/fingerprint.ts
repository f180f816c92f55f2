// Fingerprints of the files a run reads (activation shards; an LM's checkpoint file or folder,
// tokenizer and texts), recorded in run.json so that a resumed or finished run can tell that its data changed.
// Synthetic data has no files: its parameters are in the config, hence in the run id.
import { createHash } from "node:crypto";
import { isAbsolute, join } from "node:path";
import { type DataSpec, textFiles } from "./data_spec.ts";
import { listShardPaths } from "./files.ts";

/**
 * Files up to this size are hashed whole (sha256 reads about 0.5-1 GB/s, so at most ~0.1 s per
 * file); larger ones by SAMPLE_BLOCKS blocks, which bounds the cost of a check to ~4 MiB of reads
 * per file however large the shards are.
 */
export const FULL_HASH_BYTES = 64 * 1024 * 1024;
/** Blocks hashed in a larger file: the first, the last and evenly spaced ones between. */
export const SAMPLE_BLOCKS = 64;
/** Bytes per sampled block. */
export const SAMPLE_BLOCK_BYTES = 64 * 1024;

/** One file a run reads. */
export interface FileFingerprint {
  /** Absolute path. */
  path: string;
  /** Size in bytes; -1 when the file did not exist. */
  size: number;
  /** sha256 (hex) of the whole file, or of the size and the sampled blocks when `sampled`. */
  sha256: string;
  sampled: boolean;
}

/** Everything a run's data identity records (run.json `data_fingerprint`). */
export interface DataFingerprint {
  files: FileFingerprint[];
  /** Directories of shards and the shard names they held (a shard added or removed). */
  directories: { path: string; names: string[] }[];
}

// Fingerprints already computed by this process, keyed by path, size and mtime (a sweep checks
// every run's status, and runs of one experiment share their files).
const cache = new Map<string, FileFingerprint>();

/** The fingerprint of one file (a missing file gets size -1). */
export async function fingerprintFile(path: string): Promise<FileFingerprint> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return { path, size: -1, sha256: "", sampled: false };
    throw err;
  }
  const key = `${path}\0${info.size}\0${info.mtime?.getTime() ?? ""}`;
  const known = cache.get(key);
  if (known) return known;
  const hash = createHash("sha256");
  const sampled = info.size > FULL_HASH_BYTES;
  if (!sampled) hash.update(await Deno.readFile(path));
  else {
    hash.update(`size ${info.size}\n`);
    const file = await Deno.open(path, { read: true });
    try {
      const block = new Uint8Array(SAMPLE_BLOCK_BYTES);
      const last = info.size - SAMPLE_BLOCK_BYTES;
      for (let i = 0; i < SAMPLE_BLOCKS; i++) {
        await file.seek(Math.floor((last * i) / (SAMPLE_BLOCKS - 1)), Deno.SeekMode.Start);
        let got = 0;
        while (got < block.length) {
          const n = await file.read(block.subarray(got));
          if (n === null) break;
          got += n;
        }
        hash.update(block.subarray(0, got));
      }
    } finally {
      file.close();
    }
  }
  const found = { path, size: info.size, sha256: hash.digest("hex"), sampled };
  // A file written in the last seconds may be written again within the clock's resolution with
  // the same size and mtime: only files that have been left alone for a while are cached.
  const mtime = info.mtime?.getTime();
  if (mtime !== undefined && Date.now() - mtime > 2000) cache.set(key, found);
  return found;
}

function resolveIn(specDir: string, path: string): string {
  return isAbsolute(path) ? path : join(specDir, path);
}

/** The files and shard directories `data` reads (relative paths resolve against `specDir`). */
export async function dataFingerprint(data: DataSpec, specDir: string): Promise<DataFingerprint> {
  const paths: string[] = [];
  const directories: DataFingerprint["directories"] = [];
  if (data.source === "files") {
    for (const p of [data.path, ...(data.heldout_path == null ? [] : [data.heldout_path])]) {
      const root = resolveIn(specDir, p);
      let shards: string[] = [root];
      try {
        shards = await listShardPaths(root);
        if (shards.length !== 1 || shards[0] !== root) {
          directories.push({ path: root, names: shards.map((s) => s.slice(root.length + 1)) });
        }
      } catch {
        // Missing or empty: recorded as missing; opening the source says what is wrong.
      }
      paths.push(...shards);
    }
  } else if (data.source === "lm") {
    const lmPaths = [
      data.checkpoint,
      data.tokenizer,
      ...textFiles(data.train_text),
      ...textFiles(data.heldout_text),
    ];
    for (const p of lmPaths) {
      if (p === null) continue; // no data.tokenizer: the checkpoint folder's, listed below
      const path = resolveIn(specDir, p);
      // A Hugging Face checkpoint folder: each file in it (config, index and shards, tokenizer),
      // so a removed one is "missing"; an added shard changes the index, which is listed.
      const names = await folderFiles(path);
      paths.push(...(names === null ? [path] : names.map((n) => join(path, n))));
    }
  }
  const files: FileFingerprint[] = [];
  for (const path of [...new Set(paths)]) files.push(await fingerprintFile(path));
  return { files, directories };
}

/** Names of the regular files of `path` (sorted), or null when it is not a directory. */
async function folderFiles(path: string): Promise<string[] | null> {
  try {
    if (!(await Deno.stat(path)).isDirectory) return null;
  } catch {
    return null; // missing: recorded as a missing file
  }
  const names: string[] = [];
  for await (const e of Deno.readDir(path)) if (e.isFile) names.push(e.name);
  return names.sort();
}

/**
 * What differs between a recorded fingerprint and a current one, one line per file
 * (`/data/x.npy: content changed`); empty when the data is the same. Files are compared in order
 * (the same data section lists the same files), by size and hash.
 */
export function compareFingerprints(recorded: DataFingerprint, now: DataFingerprint): string[] {
  const changes: string[] = [];
  for (const dir of recorded.directories ?? []) {
    const names = now.directories?.find((d) => d.path === dir.path)?.names;
    if (!names) continue;
    const added = names.filter((n) => !dir.names.includes(n));
    const removed = dir.names.filter((n) => !names.includes(n));
    if (added.length) changes.push(`${dir.path}: shards added: ${added.join(", ")}`);
    if (removed.length) changes.push(`${dir.path}: shards removed: ${removed.join(", ")}`);
  }
  if (changes.length) return changes;
  const was = recorded.files ?? [];
  const is = now.files ?? [];
  for (let i = 0; i < Math.max(was.length, is.length); i++) {
    const a = was[i];
    const b = is[i];
    const path = b?.path ?? a.path;
    if (!a || !b) changes.push(`${path}: ${a ? "no longer read" : "not read before"}`);
    else if (a.size === b.size && a.sha256 === b.sha256) continue;
    else if (b.size < 0) changes.push(`${path}: missing`);
    else if (a.size < 0) changes.push(`${path}: appeared`);
    else if (a.size !== b.size) {
      changes.push(`${path}: size changed from ${a.size} to ${b.size} bytes`);
    } else changes.push(`${path}: content changed (same size, other bytes)`);
  }
  return changes;
}

/** What changed on disk since `recorded` was taken (compareFingerprints of its own paths). */
export async function dataChanges(recorded: DataFingerprint): Promise<string[]> {
  const directories: DataFingerprint["directories"] = [];
  for (const dir of recorded.directories ?? []) {
    try {
      const shards = await listShardPaths(dir.path);
      directories.push({ path: dir.path, names: shards.map((s) => s.slice(dir.path.length + 1)) });
    } catch {
      directories.push({ path: dir.path, names: [] });
    }
  }
  const files: FileFingerprint[] = [];
  for (const f of recorded.files ?? []) files.push(await fingerprintFile(f.path));
  return compareFingerprints(recorded, { files, directories });
}
