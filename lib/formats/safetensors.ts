// Reads and writes safetensors files (8-byte LE header length, JSON header, raw LE tensor bytes)
// with F32/F16/BF16 tensors as Float32Arrays. Which tensors an SAE exports is the exporter's.
import { DataError } from "../errors.ts";
import { decodeFloats, encodeFloats, FLOAT_BYTES, type FloatDtype } from "./float_codec.ts";
import { openForRead, readFloatRows, readRange } from "./read_range.ts";

/** Dtypes this module writes. */
export type SafetensorsWriteDtype = "F32" | "F16" | "BF16";

/** A tensor as handed to the writer or returned by the reader (data always float32). */
export interface SafetensorsTensor {
  dtype: SafetensorsWriteDtype | "F64";
  shape: number[];
  /** Row-major values; length is the product of shape. */
  data: Float32Array;
}

/** One entry of a parsed header; `offset` is absolute in the file. */
export interface SafetensorsEntry {
  dtype: string;
  shape: number[];
  offset: number;
  byteLength: number;
}

/** A parsed, validated safetensors header. */
export interface SafetensorsHeader {
  tensors: Record<string, SafetensorsEntry>;
  metadata: Record<string, string>;
  /** Byte offset where the data buffer starts (8 + header length). */
  dataStart: number;
}

/** Every dtype of the safetensors specification, with its size in bytes. */
const DTYPE_BYTES: Record<string, number> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  I64: 8,
  U64: 8,
  F64: 8,
};
/** The reference implementation's limit on the header size. */
const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = "__metadata__";

function isFloatDtype(dtype: string): dtype is FloatDtype {
  return dtype in FLOAT_BYTES;
}

/** Serialises tensors (in the given key order) and optional string metadata into file bytes. */
export function encodeSafetensors(
  tensors: Record<string, SafetensorsTensor>,
  options: { metadata?: Record<string, string> } = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (options.metadata && Object.keys(options.metadata).length > 0) {
    for (const [k, v] of Object.entries(options.metadata)) {
      if (typeof v !== "string") {
        throw new TypeError(`safetensors metadata ${k} must be a string, got ${typeof v}`);
      }
    }
    header[METADATA_KEY] = options.metadata;
  }
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    if (name === METADATA_KEY) throw new TypeError(`a tensor cannot be named ${METADATA_KEY}`);
    if (!isFloatDtype(t.dtype)) throw new TypeError(`tensor ${name}: cannot write ${t.dtype}`);
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (!t.shape.every((s) => Number.isSafeInteger(s) && s >= 0) || count !== t.data.length) {
      throw new TypeError(
        `tensor ${name}: shape [${t.shape}] does not match ${t.data.length} values`,
      );
    }
    const bytes = encodeFloats(t.data, t.dtype);
    header[name] = {
      dtype: t.dtype,
      shape: t.shape,
      data_offsets: [offset, offset + bytes.length],
    };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  const jsonBytes = new TextEncoder().encode(json);
  const padded = Math.ceil(jsonBytes.length / 8) * 8; // data starts 8-byte aligned
  json += " ".repeat(padded - jsonBytes.length);
  const out = new Uint8Array(8 + padded + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(new TextEncoder().encode(json), 8);
  let at = 8 + padded;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Writes a safetensors file atomically (temporary file in the same directory, then rename). */
export async function writeSafetensors(
  path: string,
  tensors: Record<string, SafetensorsTensor>,
  options: { metadata?: Record<string, string> } = {},
): Promise<void> {
  const bytes = encodeSafetensors(tensors, options);
  const tmp = `${path}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  try {
    await Deno.writeFile(tmp, bytes);
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
}

/**
 * Parses and validates header bytes (everything after the 8-byte length) of a file of
 * `fileSize` bytes. Collects every problem before throwing one DataError.
 */
export function parseSafetensorsHeader(
  headerBytes: Uint8Array,
  options: { path: string; fileSize: number },
): SafetensorsHeader {
  const { path, fileSize } = options;
  const dataStart = 8 + headerBytes.length;
  const dataLength = fileSize - dataStart;
  const fail = (problems: string[]) =>
    new DataError(`${path}: invalid safetensors header: ${problems.join("; ")}`, {
      hint: "the file is not a valid safetensors file (truncated or written by a faulty tool)",
    });
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(headerBytes));
  } catch (err) {
    throw fail([`header is not UTF-8 JSON (${(err as Error).message})`]);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw fail(["header is not a JSON object"]);
  }
  const problems: string[] = [];
  const metadata: Record<string, string> = {};
  const tensors: Record<string, SafetensorsEntry> = {};
  const ranges: [number, number, string][] = [];
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    if (name === METADATA_KEY) {
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        problems.push(`${METADATA_KEY} is not an object`);
        continue;
      }
      for (const [k, v] of Object.entries(value)) {
        if (typeof v === "string") metadata[k] = v;
        else problems.push(`${METADATA_KEY}.${k} is not a string`);
      }
      continue;
    }
    const e = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    if (typeof e !== "object" || e === null) {
      problems.push(`tensor ${name} is not an object`);
      continue;
    }
    const size = typeof e.dtype === "string" ? DTYPE_BYTES[e.dtype] : undefined;
    if (size === undefined) {
      problems.push(`tensor ${name}: unknown dtype ${JSON.stringify(e.dtype)}`);
      continue;
    }
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((s) => Number.isSafeInteger(s) && s >= 0)) {
      problems.push(`tensor ${name}: shape ${JSON.stringify(shape)} is not a list of sizes`);
      continue;
    }
    const offs = e.data_offsets;
    if (
      !Array.isArray(offs) || offs.length !== 2 ||
      !offs.every((o) => Number.isSafeInteger(o) && o >= 0) || offs[0] > offs[1]
    ) {
      problems.push(`tensor ${name}: data_offsets ${JSON.stringify(offs)} is not [begin, end]`);
      continue;
    }
    const [begin, end] = offs as [number, number];
    const expected = shape.reduce((a: number, b: number) => a * b, 1) * size;
    if (end - begin !== expected) {
      problems.push(
        `tensor ${name}: data_offsets span ${
          end - begin
        } bytes, shape [${shape}] of ${e.dtype} needs ${expected}`,
      );
      continue;
    }
    if (end > dataLength) {
      problems.push(`tensor ${name}: data ends at ${end}, past the ${dataLength}-byte data buffer`);
      continue;
    }
    tensors[name] = {
      dtype: e.dtype as string,
      shape,
      offset: dataStart + begin,
      byteLength: end - begin,
    };
    ranges.push([begin, end, name]);
  }
  // As in the reference implementation: tensors tile the data buffer with no gap or overlap.
  ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let pos = 0;
  for (const [begin, end, name] of ranges) {
    if (begin < pos) problems.push(`tensor ${name} overlaps the previous tensor`);
    else if (begin > pos) problems.push(`gap in the data buffer before tensor ${name}`);
    pos = Math.max(pos, end);
  }
  if (problems.length === 0 && pos !== dataLength) {
    problems.push(`${dataLength - pos} bytes after the last tensor`);
  }
  if (problems.length > 0) throw fail(problems);
  return { tensors, metadata, dataStart };
}

async function readHeaderOf(file: Deno.FsFile, path: string): Promise<SafetensorsHeader> {
  const fileSize = (await file.stat()).size;
  if (fileSize < 8) {
    throw new DataError(`${path}: ${fileSize} bytes is too short for a safetensors file`, {
      hint: "the file is empty or truncated",
    });
  }
  const lenBytes = await readRange(file, { offset: 0, length: 8, path });
  const n = new DataView(lenBytes.buffer).getBigUint64(0, true);
  if (n > BigInt(Math.min(MAX_HEADER_BYTES, fileSize - 8))) {
    throw new DataError(
      `${path}: safetensors header length ${n} exceeds the file size (${fileSize} bytes)`,
      { hint: "the file is not a safetensors file, or it is truncated" },
    );
  }
  const headerBytes = await readRange(file, { offset: 8, length: Number(n), path });
  return parseSafetensorsHeader(headerBytes, { path, fileSize });
}

/** Reads and validates the header of a safetensors file (no tensor data). */
export async function readSafetensorsHeader(path: string): Promise<SafetensorsHeader> {
  const file = await openForRead(path);
  try {
    return await readHeaderOf(file, path);
  } finally {
    file.close();
  }
}

function decodableEntry(
  header: SafetensorsHeader,
  options: { path: string; name: string },
): SafetensorsEntry & { dtype: FloatDtype } {
  const { path, name } = options;
  const entry = header.tensors[name];
  if (!entry) {
    throw new DataError(`${path}: no tensor named ${name}`, {
      hint: `tensors in this file: ${Object.keys(header.tensors).join(", ") || "(none)"}`,
    });
  }
  if (!isFloatDtype(entry.dtype)) {
    throw new DataError(`${path}: tensor ${name} has dtype ${entry.dtype}, not a float type`, {
      hint: "store activations and weights as F32, F16 or BF16 (or F64)",
    });
  }
  return entry as SafetensorsEntry & { dtype: FloatDtype };
}

/** Reads tensors (all, or `names`) decoded to float32; only the requested bytes are read. */
export async function readSafetensors(
  path: string,
  options: { names?: string[] } = {},
): Promise<Record<string, SafetensorsTensor>> {
  const file = await openForRead(path);
  try {
    const header = await readHeaderOf(file, path);
    const out: Record<string, SafetensorsTensor> = {};
    for (const name of options.names ?? Object.keys(header.tensors)) {
      const entry = decodableEntry(header, { path, name });
      const bytes = await readRange(file, { offset: entry.offset, length: entry.byteLength, path });
      out[name] = {
        dtype: entry.dtype,
        shape: entry.shape,
        data: decodeFloats(bytes, entry.dtype),
      };
    }
    return out;
  } finally {
    file.close();
  }
}

/** Reads rows [start, start + count) of the 2-D tensor `name`, decoded to float32 [count, cols]. */
export async function readRows(
  path: string,
  options: { name: string; start: number; count: number },
): Promise<Float32Array> {
  const { name, start, count } = options;
  const file = await openForRead(path);
  try {
    const header = await readHeaderOf(file, path);
    const entry = decodableEntry(header, { path, name });
    if (entry.shape.length !== 2) {
      throw new DataError(`${path}: tensor ${name} has shape [${entry.shape}], expected 2-D`, {
        hint: "store activations as [tokens, d_model]",
      });
    }
    const [rows, cols] = entry.shape;
    return await readFloatRows(file, {
      offset: entry.offset,
      rows,
      cols,
      dtype: entry.dtype,
      start,
      count,
      path,
      what: ` of ${name}`,
    });
  } finally {
    file.close();
  }
}
