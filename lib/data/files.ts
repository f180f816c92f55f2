// Activations from .npy / .safetensors files or a directory of such shards: deterministic
// train/held-out split, and a shuffled, resumable training stream read in chunks of rows.
// Parsing of each format is npy.ts / safetensors.ts; normalisation is the trainer's.
import { isAbsolute, join } from "node:path";
import type { ActivationSource } from "./source.ts";
import type { FilesData } from "./data_spec.ts";
import { DataError, SaeSweepError } from "../errors.ts";
import { decodeFloats, FLOAT_BYTES, type FloatDtype } from "../formats/float_codec.ts";
import { readNpyHeader } from "../formats/npy.ts";
import { readSafetensorsHeader } from "../formats/safetensors.ts";
import { openForRead, readRange } from "../formats/read_range.ts";
import { hashSeed, Rng } from "./rng.ts";
import { checkFinite } from "./check_sample.ts";

// Shapes: R rows of a shard, D d_model.

/** Rows per read; the unit the epoch order permutes. */
const CHUNK_ROWS = 1024;
/** Stream tags: the training stream and the (independent) stream `sample()` reads. */
const TAG_TRAIN = 1;
const TAG_SAMPLE = 2;

/** One file of activations: C-order [rows, D] floats at a byte offset. */
interface Shard {
  path: string;
  dtype: FloatDtype;
  rows: number;
  /** Absolute byte offset of row 0. */
  offset: number;
  /** Rows [0, trainRows) train; [trainRows, rows) are held out. */
  trainRows: number;
}

/** Header facts of one shard, or the problem that stops it being used. */
async function inspectShard(
  path: string,
  tensor: string | null,
): Promise<{ dtype: string; shape: number[]; offset: number }> {
  if (!path.endsWith(".npy") && !path.endsWith(".safetensors")) {
    throw new DataError(`${path}: not a .npy or .safetensors file`, {
      hint: "data.path must name .npy or .safetensors files (or a directory of them)",
    });
  }
  if (path.endsWith(".npy")) {
    const h = await readNpyHeader(path);
    return { dtype: h.floatDtype, shape: h.shape, offset: h.dataOffset };
  }
  const h = await readSafetensorsHeader(path);
  const names = Object.keys(h.tensors);
  const name = tensor ?? (names.length === 1 ? names[0] : null);
  if (name === null || !(name in h.tensors)) {
    throw new DataError(
      tensor === null
        ? `${path}: holds ${names.length} tensors, and data.tensor does not say which to use`
        : `${path}: no tensor named ${tensor}`,
      { hint: `set data.tensor to one of: ${names.join(", ") || "(none)"}` },
    );
  }
  const e = h.tensors[name];
  return { dtype: e.dtype, shape: e.shape, offset: e.offset };
}

/** What a symbolic link points at; a dangling link is a DataError naming it. */
async function linkTarget(path: string): Promise<Deno.FileInfo> {
  try {
    return await Deno.stat(path);
  } catch (err) {
    throw new DataError(`${path}: symbolic link to a file that does not exist`, {
      hint: "fix or remove the broken link",
      cause: err,
    });
  }
}

/** The shard files of `root`: itself when it is a file, else its .npy/.safetensors files by name. */
export async function listShardPaths(root: string): Promise<string[]> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(root);
  } catch (err) {
    throw new DataError(`data.path ${root} does not exist`, {
      hint: "check data.path (relative paths are relative to the spec file)",
      cause: err,
    });
  }
  if (!info.isDirectory) return [root];
  const names: string[] = [];
  for await (const e of Deno.readDir(root)) {
    if (!e.name.endsWith(".npy") && !e.name.endsWith(".safetensors")) continue;
    // Symlinked shards count like regular files: follow the link (stat, not the entry's type).
    const isFile = e.isFile || (e.isSymlink && (await linkTarget(join(root, e.name))).isFile);
    if (isFile) names.push(e.name);
  }
  names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (names.length === 0) {
    throw new DataError(`data.path ${root} holds no .npy or .safetensors files`, {
      hint: "point data.path at a file or at a directory of activation shards",
    });
  }
  return names.map((n) => join(root, n));
}

/** The shard files of data.heldout_path, with errors that name that key. */
async function listHeldoutPaths(root: string): Promise<string[]> {
  try {
    return await listShardPaths(root);
  } catch (err) {
    if (!(err instanceof DataError)) throw err;
    throw new DataError(err.message.replace(/^data\.path /, "data.heldout_path "), {
      hint: err.hint.replace(/data\.path/g, "data.heldout_path"),
      cause: err,
    });
  }
}

/**
 * Throws (exit 2) when a held-out shard is also a training shard, compared by real path (links
 * and `..` resolved), so no row can be in both parts.
 */
async function checkNoOverlap(
  root: string,
  paths: string[],
  heldRoot: string,
  heldPaths: string[],
): Promise<void> {
  const real = async (p: string) => await Deno.realPath(p);
  const train = new Map<string, string>();
  for (const p of paths) train.set(await real(p), p);
  const shared: string[] = [];
  for (const p of heldPaths) {
    const t = train.get(await real(p));
    if (t !== undefined) shared.push(t === p ? p : `${p} (= ${t})`);
  }
  if (shared.length === 0) return;
  throw new DataError(
    `data.heldout_path ${heldRoot} overlaps data.path ${root}: ${shared.length} file(s) in both: ` +
      shared.join(", "),
    {
      hint: "point data.heldout_path at files that are not training shards (move them out of " +
        "the data.path directory), or drop heldout_path to hold out a fraction of data.path",
      exitCode: 2,
    },
  );
}

/** Reads every shard's header; collects all problems before throwing one DataError. */
async function openShards(
  paths: string[],
  tensor: string | null,
): Promise<{ shards: Shard[]; dModel: number }> {
  const problems: string[] = [];
  const hints = new Set<string>();
  const shards: Shard[] = [];
  let dModel = -1;
  let dModelFrom = "";
  for (const path of paths) {
    try {
      const { dtype, shape, offset } = await inspectShard(path, tensor);
      if (!(dtype in FLOAT_BYTES)) {
        problems.push(`${path}: dtype ${dtype} is not a float type`);
        hints.add("store activations as float32, float16 or bfloat16");
        continue;
      }
      if (shape.length !== 2) {
        problems.push(`${path}: shape [${shape}] is not 2-D [tokens, d_model]`);
        hints.add("reshape activations to [tokens, d_model] before saving");
        continue;
      }
      if (dModel < 0) {
        dModel = shape[1];
        dModelFrom = path;
      } else if (shape[1] !== dModel) {
        problems.push(`${path}: d_model ${shape[1]} differs from ${dModel} in ${dModelFrom}`);
        hints.add("all shards of a directory must hold activations of the same width");
        continue;
      }
      shards.push({ path, dtype: dtype as FloatDtype, rows: shape[0], offset, trainRows: 0 });
    } catch (err) {
      if (!(err instanceof SaeSweepError)) throw err;
      problems.push(err.message);
      if (err.hint) hints.add(err.hint);
    }
  }
  if (problems.length > 0) {
    throw new DataError(problems.join("\n"), { hint: [...hints].join("; ") });
  }
  if (dModel < 1) throw new DataError(`${paths[0]}: activations have d_model 0`);
  return { shards, dModel };
}

/**
 * Splits rows into train and held-out parts, in place. With at least 1 / fraction shards, whole
 * final shards are held out (until ceil(fraction * total) rows are), keeping documents intact;
 * otherwise the last ceil(fraction * rows) rows of each shard (at least one training row is kept
 * where a shard has two or more).
 */
function splitShards(shards: Shard[], fraction: number): "final_shards" | "shard_tails" {
  const total = shards.reduce((a, s) => a + s.rows, 0);
  const target = Math.ceil(fraction * total);
  if (shards.length >= 2 && shards.length * fraction >= 1) {
    let held = 0;
    let k = shards.length;
    while (held < target && k > 1) held += shards[--k].rows;
    if (held <= 2 * target) {
      shards.forEach((s, i) => (s.trainRows = i < k ? s.rows : 0));
      return "final_shards";
    }
  }
  for (const s of shards) {
    const held = Math.ceil(fraction * s.rows);
    s.trainRows = s.rows - (s.rows >= 2 ? Math.min(held, s.rows - 1) : held);
  }
  return "shard_tails";
}

/** A contiguous run of training rows of one shard; the unit the epoch order permutes. */
interface Chunk {
  shard: number;
  start: number;
  count: number;
}

/** The order of one epoch of one stream: permuted chunks grouped into shuffle windows. */
interface EpochPlan {
  epoch: number;
  order: Int32Array;
  /** windowStart[w] = first position of window w; last entry = total rows. */
  windowStart: Float64Array;
  chunksPerWindow: number;
}

/** The shared, read-only state of a files source. */
interface Dataset {
  shards: Shard[];
  chunks: Chunk[];
  dModel: number;
  trainRows: number;
  chunksPerWindow: number;
  streamSeed: number;
}

function planEpoch(ds: Dataset, tag: number, epoch: number): EpochPlan {
  const n = ds.chunks.length;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const rng = new Rng(ds.streamSeed, tag, epoch);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  const k = ds.chunksPerWindow;
  const windows = Math.ceil(n / k);
  const windowStart = new Float64Array(windows + 1);
  for (let w = 0; w < windows; w++) {
    let rows = 0;
    for (let c = w * k; c < Math.min(n, (w + 1) * k); c++) rows += ds.chunks[order[c]].count;
    windowStart[w + 1] = windowStart[w] + rows;
  }
  return { epoch, order, windowStart, chunksPerWindow: k };
}

async function readShardRows(ds: Dataset, chunk: Chunk, out: Float32Array, at: number) {
  const s = ds.shards[chunk.shard];
  const rowBytes = ds.dModel * FLOAT_BYTES[s.dtype];
  const file = await openForRead(s.path);
  try {
    const bytes = await readRange(file, {
      offset: s.offset + chunk.start * rowBytes,
      length: chunk.count * rowBytes,
      path: s.path,
    });
    const rows = decodeFloats(bytes, s.dtype);
    checkFinite(rows, ds.dModel, (r) => `${s.path}: row ${chunk.start + r}`);
    out.set(rows, at * ds.dModel);
  } finally {
    file.close();
  }
}

/**
 * A resumable shuffled stream over the training rows. Epoch e permutes the chunks with
 * Rng(streamSeed, tag, e); consecutive permuted chunks form windows of about shuffle_buffer rows,
 * whose rows are permuted with Rng(streamSeed, tag, e, w). Everything is recomputable from
 * (epoch, position), which is the whole cursor.
 */
class RowStream {
  epoch = 0;
  position = 0;
  private plan: EpochPlan | null = null;
  private window = -1;
  private windowData = new Float32Array(0);
  private windowPerm = new Int32Array(0);

  constructor(private readonly ds: Dataset, private readonly tag: number) {}

  private planFor(epoch: number): EpochPlan {
    if (this.plan?.epoch !== epoch) {
      this.plan = planEpoch(this.ds, this.tag, epoch);
      this.window = -1;
    }
    return this.plan;
  }

  private async load(plan: EpochPlan, w: number): Promise<void> {
    if (this.window === w) return;
    const { ds } = this;
    const rows = plan.windowStart[w + 1] - plan.windowStart[w];
    const data = new Float32Array(rows * ds.dModel);
    let at = 0;
    const k = plan.chunksPerWindow;
    for (let c = w * k; c < Math.min(plan.order.length, (w + 1) * k); c++) {
      const chunk = ds.chunks[plan.order[c]];
      await readShardRows(ds, chunk, data, at);
      at += chunk.count;
    }
    const perm = new Int32Array(rows);
    for (let i = 0; i < rows; i++) perm[i] = i;
    const rng = new Rng(ds.streamSeed, this.tag, plan.epoch, w);
    for (let i = rows - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      const t = perm[i];
      perm[i] = perm[j];
      perm[j] = t;
    }
    this.windowData = data;
    this.windowPerm = perm;
    this.window = w;
  }

  /** Copies the next n rows into out ([n, D]) and advances. */
  async take(n: number, out: Float32Array): Promise<void> {
    const { dModel: d, trainRows } = this.ds;
    let i = 0;
    while (i < n) {
      const plan = this.planFor(this.epoch);
      const ws = plan.windowStart;
      let lo = 0, hi = ws.length - 2; // last window whose start <= position
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (ws[mid] <= this.position) lo = mid;
        else hi = mid - 1;
      }
      await this.load(plan, lo);
      const m = Math.min(n - i, ws[lo + 1] - this.position);
      const base = this.position - ws[lo];
      const src = this.windowData, perm = this.windowPerm;
      for (let r = 0; r < m; r++) {
        const from = perm[base + r] * d, to = (i + r) * d;
        for (let j = 0; j < d; j++) out[to + j] = src[from + j];
      }
      i += m;
      this.position += m;
      if (this.position >= trainRows) {
        this.epoch++;
        this.position = 0;
      }
    }
  }
}

function parseCursor(cursor: unknown, trainRows: number): { epoch: number; position: number } {
  const c = cursor as { epoch?: unknown; position?: unknown; rows?: unknown } | null;
  const ok = c !== null && typeof c === "object" && Number.isSafeInteger(c.epoch) &&
    (c.epoch as number) >= 0 && Number.isSafeInteger(c.position) && (c.position as number) >= 0 &&
    (c.position as number) < trainRows;
  if (!ok) {
    throw new DataError(`files data: not a cursor of this source: ${JSON.stringify(cursor)}`, {
      hint: "the checkpoint was written for a different data source; start the run afresh",
    });
  }
  if (c!.rows !== trainRows) {
    throw new DataError(
      `files data: the checkpoint saw ${c!.rows} training rows, the files now hold ${trainRows}`,
      { hint: "the activation files changed since the checkpoint; restore them or start afresh" },
    );
  }
  return { epoch: c!.epoch as number, position: c!.position as number };
}

/**
 * Opens `cfg.path` (relative to `specDir`): a .npy file, a .safetensors file (tensor
 * `cfg.tensor`, or its only tensor) or a directory of such shards, sorted by name. Only headers
 * are read here; rows are read in chunks as the stream needs them.
 */
export async function openFilesSource(
  cfg: FilesData,
  options: { specDir: string; streamSeed: number },
): Promise<ActivationSource> {
  const root = isAbsolute(cfg.path) ? cfg.path : join(options.specDir, cfg.path);
  const paths = await listShardPaths(root);
  const heldRoot = cfg.heldout_path == null // absent in configs recorded before it existed
    ? null
    : isAbsolute(cfg.heldout_path)
    ? cfg.heldout_path
    : join(options.specDir, cfg.heldout_path);
  const heldPaths = heldRoot === null ? [] : await listHeldoutPaths(heldRoot);
  if (heldRoot !== null) await checkNoOverlap(root, paths, heldRoot, heldPaths);
  const { shards, dModel } = await openShards([...paths, ...heldPaths], cfg.tensor);
  let mode: "final_shards" | "shard_tails" | "heldout_path";
  if (heldRoot === null) mode = splitShards(shards, cfg.heldout_fraction);
  else {
    // Training shards first, all rows train; then the held-out shards, all rows held out.
    shards.forEach((s, i) => (s.trainRows = i < paths.length ? s.rows : 0));
    mode = "heldout_path";
  }
  const trainRows = shards.reduce((a, s) => a + s.trainRows, 0);
  const heldRows = shards.reduce((a, s) => a + s.rows - s.trainRows, 0);
  if (trainRows === 0 || heldRows === 0) {
    throw new DataError(
      `${root}: ${
        trainRows + heldRows
      } rows give ${trainRows} training and ${heldRows} held-out rows`,
      {
        hint: heldRoot === null
          ? "provide more activation rows, or change data.heldout_fraction"
          : "data.path and data.heldout_path must each hold at least one row",
      },
    );
  }
  const chunkRows = Math.min(CHUNK_ROWS, cfg.shuffle_buffer);
  const chunks: Chunk[] = [];
  shards.forEach((s, shard) => {
    for (let start = 0; start < s.trainRows; start += chunkRows) {
      chunks.push({ shard, start, count: Math.min(chunkRows, s.trainRows - start) });
    }
  });
  const ds: Dataset = {
    shards,
    chunks,
    dModel,
    trainRows,
    chunksPerWindow: Math.max(1, Math.floor(cfg.shuffle_buffer / chunkRows)),
    streamSeed: hashSeed(options.streamSeed),
  };
  const train = new RowStream(ds, TAG_TRAIN);
  const sampler = new RowStream(ds, TAG_SAMPLE);
  let heldCache = new Float32Array(0);
  // Calls run one after another even if a caller does not await (e.g. prefetching).
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = queue.then(fn);
    queue = next.catch(() => {});
    return next;
  };

  async function readHeldout(n: number): Promise<Float32Array> {
    const want = Math.min(n, heldRows);
    if (heldCache.length < want * dModel) {
      const out = new Float32Array(want * dModel);
      let at = 0;
      for (let s = 0; s < shards.length && at < want; s++) {
        const sh = shards[s];
        const count = Math.min(sh.rows - sh.trainRows, want - at);
        for (let done = 0; done < count; done += CHUNK_ROWS) {
          const chunk = {
            shard: s,
            start: sh.trainRows + done,
            count: Math.min(CHUNK_ROWS, count - done),
          };
          await readShardRows(ds, chunk, out, at + done);
        }
        at += count;
      }
      heldCache = out;
    }
    return heldCache.slice(0, want * dModel);
  }

  return {
    dModel,
    nextBatch: (batchSize: number) =>
      serial(async () => {
        const out = new Float32Array(batchSize * dModel);
        await train.take(batchSize, out);
        return out;
      }),
    cursor: () => ({ epoch: train.epoch, position: train.position, rows: trainRows }),
    seek(cursor: unknown): void {
      const { epoch, position } = parseCursor(cursor, trainRows);
      train.epoch = epoch;
      train.position = position;
    },
    sample: (n: number) =>
      serial(async () => {
        sampler.epoch = 0;
        sampler.position = 0;
        const out = new Float32Array(n * dModel);
        await sampler.take(n, out);
        return out;
      }),
    heldout: (n: number) => serial(() => readHeldout(n)),
    describe: () => ({
      source: "files",
      path: root,
      ...(heldRoot === null ? {} : { heldout_path: heldRoot }),
      d_model: dModel,
      train_rows: trainRows,
      heldout_rows: heldRows,
      heldout_mode: mode,
      chunk_rows: chunkRows,
      window_rows: ds.chunksPerWindow * chunkRows,
      shards: shards.map((s) => ({
        file: s.path,
        dtype: s.dtype,
        rows: s.rows,
        heldout_rows: s.rows - s.trainRows,
      })),
    }),
    close(): void {
      heldCache = new Float32Array(0);
    },
  };
}
