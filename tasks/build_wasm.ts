// `deno task build-wasm`: rebuilds lib/engine/cpu/gemm/sgemm.wasm from lib/engine/cpu/gemm/assembly/sgemm.ts with
// AssemblyScript from npm; `--check` only says whether the committed file is up to date.
import { buildWasm } from "../lib/engine/cpu/gemm/build_wasm.ts";
import { WASM_URL } from "../lib/engine/cpu/gemm/wasm_gemm.ts";
import { runMain } from "./_cli.ts";

async function main(): Promise<number> {
  const bytes = await buildWasm();
  const path = WASM_URL.pathname;
  if (Deno.args.includes("--check")) {
    const old = await Deno.readFile(path).catch(() => new Uint8Array());
    const same = old.length === bytes.length && old.every((v, i) => v === bytes[i]);
    console.log(same ? `${path} is up to date` : `${path} differs from its source`);
    if (!same) console.error("hint: run `deno task build-wasm` and commit the result");
    return same ? 0 : 1;
  }
  await Deno.writeFile(path, bytes);
  console.log(`wrote ${path} (${bytes.length} bytes)`);
  return 0;
}

await runMain(main);
