// NumPy .npy files (format versions 1.0-3.0): header parsing, chunked row reads of little-endian
// float16/32/64 C-order 1-D/2-D arrays, and a writer used by tests. Sharding is files.ts's job.
import { DataError } from "../errors.ts";
import { encodeFloats, FLOAT_BYTES, type FloatDtype } from "./float_codec.ts";
import { openForRead, readFloatRows, readRange } from "./read_range.ts";

/** Dtypes this module reads (numpy `descr` strings). */
export type NpyDtype = "<f2" | "<f4" | "<f8";

const DTYPES: Record<NpyDtype, FloatDtype> = { "<f2": "F16", "<f4": "F32", "<f8": "F64" };
const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
/** numpy refuses headers above this size unless asked; so do we. */
const MAX_HEADER_BYTES = 10_000_000;

/** A parsed .npy header. */
export interface NpyHeader {
  dtype: NpyDtype;
  /** The codec name of `dtype` (F16/F32/F64). */
  floatDtype: FloatDtype;
  shape: number[];
  /** Byte offset of the first element. */
  dataOffset: number;
  version: [number, number];
}

function headerError(path: string, what: string, hint: string): DataError {
  return new DataError(`${path}: ${what}`, { hint });
}

/** Parses the header dict text, e.g. `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`. */
function parseDict(
  text: string,
  path: string,
): { descr: string; fortran: boolean; shape: number[] } {
  const bad = (what: string) =>
    headerError(
      path,
      `malformed .npy header (${what}): ${text.trim()}`,
      "rewrite the file with numpy.save",
    );
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(text)?.[1];
  if (descr === undefined) throw bad("no descr");
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(text)?.[1];
  if (fortran === undefined) throw bad("no fortran_order");
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (shapeText === undefined) throw bad("no shape");
  const parts = shapeText.split(",").map((s) => s.trim()).filter((s) => s !== "");
  const shape = parts.map((s) => (/^\d+L?$/.test(s) ? Number.parseInt(s, 10) : NaN));
  if (shape.some((s) => !Number.isSafeInteger(s))) throw bad(`shape (${shapeText})`);
  return { descr, fortran: fortran === "True", shape };
}

/** Reads and validates the header of an open .npy file of `fileSize` bytes. */
async function readHeaderOf(
  file: Deno.FsFile,
  options: { path: string; fileSize: number },
): Promise<NpyHeader> {
  const { path, fileSize } = options;
  const notNpy = () =>
    headerError(path, "not a .npy file (bad magic string)", "write activations with numpy.save");
  if (fileSize < 10) throw notNpy();
  const pre = await readRange(file, { offset: 0, length: 12 <= fileSize ? 12 : 10, path });
  if (!MAGIC.every((b, i) => pre[i] === b)) throw notNpy();
  const major = pre[6], minor = pre[7];
  if (major < 1 || major > 3) {
    throw headerError(
      path,
      `unsupported .npy format version ${major}.${minor}`,
      "save with numpy >= 1.0 (versions 1-3)",
    );
  }
  const view = new DataView(pre.buffer);
  const lenBytes = major === 1 ? 2 : 4;
  if (pre.length < 8 + lenBytes) throw notNpy();
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataOffset = 8 + lenBytes + headerLen;
  if (headerLen > MAX_HEADER_BYTES || dataOffset > fileSize) {
    throw headerError(
      path,
      `.npy header length ${headerLen} exceeds the file size ${fileSize}`,
      "the file is truncated",
    );
  }
  const raw = await readRange(file, { offset: 8 + lenBytes, length: headerLen, path });
  const text = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(raw);
  const { descr, fortran, shape } = parseDict(text, path);
  if (!(descr in DTYPES)) {
    const hint = descr.startsWith(">")
      ? "big-endian data: save with arr.astype(arr.dtype.newbyteorder('<'))"
      : "store activations as float32 or float16 (arr.astype('<f4'))";
    throw headerError(path, `unsupported .npy dtype ${descr} (expected <f4, <f2 or <f8)`, hint);
  }
  if (fortran && shape.filter((s) => s !== 1).length > 1) {
    throw headerError(
      path,
      "Fortran-ordered .npy arrays are not supported",
      "save np.ascontiguousarray(arr) instead",
    );
  }
  const dtype = descr as NpyDtype;
  const floatDtype = DTYPES[dtype];
  const need = dataOffset + shape.reduce((a, b) => a * b, 1) * FLOAT_BYTES[floatDtype];
  if (fileSize < need) {
    throw headerError(
      path,
      `file is truncated: it has ${fileSize} bytes, its header promises ${need}`,
      "rewrite the file",
    );
  }
  return { dtype, floatDtype, shape, dataOffset, version: [major, minor] };
}

/** Reads and validates the header of a .npy file (no array data). */
export async function readNpyHeader(path: string): Promise<NpyHeader> {
  const file = await openForRead(path);
  try {
    return await readHeaderOf(file, { path, fileSize: (await file.stat()).size });
  } finally {
    file.close();
  }
}

/**
 * Reads rows [start, start + count) of a 2-D array ([count, cols] float32) or elements of a 1-D
 * array; only those bytes are read.
 */
export async function readNpyRows(
  path: string,
  options: { start: number; count: number },
): Promise<Float32Array> {
  const { start, count } = options;
  const file = await openForRead(path);
  try {
    const h = await readHeaderOf(file, { path, fileSize: (await file.stat()).size });
    if (h.shape.length < 1 || h.shape.length > 2) {
      throw new DataError(`${path}: array has shape (${h.shape}), expected 1-D or 2-D`, {
        hint: "store activations as [tokens, d_model]",
      });
    }
    return await readFloatRows(file, {
      offset: h.dataOffset,
      rows: h.shape[0],
      cols: h.shape.length === 2 ? h.shape[1] : 1,
      dtype: h.floatDtype,
      start,
      count,
      path,
      what: "",
    });
  } finally {
    file.close();
  }
}

/** Serialises a C-order array as .npy bytes (version 1.0, or 2.0 for huge headers). */
export function encodeNpy(
  data: Float32Array,
  options: { shape: number[]; dtype: NpyDtype },
): Uint8Array {
  const { shape, dtype } = options;
  if (shape.reduce((a, b) => a * b, 1) !== data.length) {
    throw new TypeError(`shape (${shape}) does not match ${data.length} values`);
  }
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let dict = `{'descr': '${dtype}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const v1 = dict.length + 11 <= 65535;
  const pre = v1 ? 10 : 12;
  // Pad with spaces and a final newline so the data starts 64-byte aligned, as numpy does.
  dict += " ".repeat((64 - ((pre + dict.length + 1) % 64)) % 64) + "\n";
  const body = encodeFloats(data, DTYPES[dtype]);
  const out = new Uint8Array(pre + dict.length + body.length);
  out.set(MAGIC, 0);
  out[6] = v1 ? 1 : 2;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (v1) view.setUint16(8, dict.length, true);
  else view.setUint32(8, dict.length, true);
  for (let i = 0; i < dict.length; i++) out[pre + i] = dict.charCodeAt(i);
  out.set(body, pre + dict.length);
  return out;
}

/** Writes a .npy file (reference writer for tests and small fixtures). */
export async function writeNpy(
  path: string,
  data: Float32Array,
  options: { shape: number[]; dtype: NpyDtype },
): Promise<void> {
  await Deno.writeFile(path, encodeNpy(data, options));
}
