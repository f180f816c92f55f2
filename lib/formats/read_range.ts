// Reads an exact byte range of a file (seek + read loop), so readers never load whole files.
// Knows no formats; callers pass offsets from a parsed header.
import { DataError } from "../errors.ts";
import { decodeFloats, FLOAT_BYTES, type FloatDtype } from "./float_codec.ts";

/** Reads `length` bytes at `offset` of an open file; throws DataError if the file is shorter. */
export async function readRange(
  file: Deno.FsFile,
  range: { offset: number; length: number; path: string },
): Promise<Uint8Array> {
  const { offset, length, path } = range;
  const out = new Uint8Array(length);
  await file.seek(offset, Deno.SeekMode.Start);
  let got = 0;
  while (got < length) {
    const n = await file.read(out.subarray(got));
    if (n === null) {
      throw new DataError(
        `${path}: file ended at byte ${offset + got}, expected ${length} bytes from byte ${offset}`,
        { hint: "the file is truncated or its header is wrong; rewrite it" },
      );
    }
    got += n;
  }
  return out;
}

/**
 * Rows [start, start + count) of a row-major float block of `rows` x `cols` values starting at
 * byte `offset`, decoded to float32; only those bytes are read. `what` names the block in errors.
 */
export async function readFloatRows(
  file: Deno.FsFile,
  block: {
    offset: number;
    rows: number;
    cols: number;
    dtype: FloatDtype;
    start: number;
    count: number;
    path: string;
    what: string;
  },
): Promise<Float32Array> {
  const { offset, rows, cols, dtype, start, count, path, what } = block;
  if (
    !(Number.isSafeInteger(start) && Number.isSafeInteger(count) && start >= 0 && count >= 0 &&
      start + count <= rows)
  ) {
    throw new RangeError(`${path}: rows [${start}, ${start + count})${what} outside [0, ${rows})`);
  }
  const rowBytes = cols * FLOAT_BYTES[dtype];
  const bytes = await readRange(file, {
    offset: offset + start * rowBytes,
    length: count * rowBytes,
    path,
  });
  return decodeFloats(bytes, dtype);
}

/** Opens `path` for reading, turning "not found" and permission errors into DataError. */
export async function openForRead(path: string): Promise<Deno.FsFile> {
  try {
    return await Deno.open(path, { read: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new DataError(`${path}: no such file`, {
        hint: "check the path (relative paths in a spec are relative to the spec file)",
        cause: err,
      });
    }
    throw new DataError(`${path}: cannot open: ${(err as Error).message}`, { cause: err });
  }
}
