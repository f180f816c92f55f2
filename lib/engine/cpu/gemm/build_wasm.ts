// Compiles lib/engine/cpu/gemm/assembly/sgemm.ts into a WebAssembly module with AssemblyScript (from npm,
// loaded only here), with the flags that wasm_gemm.ts relies on. Used by `deno task build-wasm`
// and by the test that checks the committed sgemm.wasm is what its source builds to.
import { fileURLToPath } from "node:url";

/** AssemblyScript flags: shared imported memory (threads), SIMD with relaxed multiply-add. */
export const ASC_FLAGS: readonly string[] = [
  "-O3",
  "--noAssert",
  "--runtime",
  "stub",
  "--importMemory",
  "--sharedMemory",
  "--initialMemory",
  "16",
  "--maximumMemory",
  "65536",
  "--enable",
  "simd,threads,relaxed-simd",
  "--use",
  "abort=",
];

export const WASM_SOURCE = new URL("./assembly/sgemm.ts", import.meta.url);

/** Builds the module and returns its bytes (nothing is written). */
export async function buildWasm(): Promise<Uint8Array> {
  const { default: asc } = await import("assemblyscript/asc");
  const files = new Map<string, Uint8Array>();
  const errors: string[] = [];
  const { error } = await asc.main(
    [fileURLToPath(WASM_SOURCE), "--outFile", "sgemm.wasm", ...ASC_FLAGS],
    {
      writeFile: (name: string, contents: Uint8Array | string) => {
        files.set(
          name,
          typeof contents === "string" ? new TextEncoder().encode(contents) : contents,
        );
      },
      stderr: { write: (s: string) => errors.push(s) },
    },
  );
  const bytes = files.get("sgemm.wasm");
  if (error || !bytes) {
    throw new Error(`AssemblyScript build failed: ${error?.message ?? ""} ${errors.join("")}`);
  }
  return bytes;
}
