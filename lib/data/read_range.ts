// Reads an exact byte range of a file (seek + read loop), so readers never load whole files.
// Knows no formats; callers pass offsets from a parsed header.
import { DataError } from "../errors.ts";

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
