// Test helper: builds the CPU stand-ins for the three CUDA libraries (tests/engine/cuda/emulator/)
// once per test file into a temporary folder removed at exit, for SAESWEEP_CUDA_LIB_DIR. Needs a
// C++ compiler (CI installs g++); HAS_CXX says whether there is one. The stand-ins load once per
// process, so tests run what uses them in a subprocess (runOnEmulator).
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const HERE = fileURLToPath(new URL("./emulator/", import.meta.url));

async function cxx(args: string[]): Promise<{ ok: boolean; err: string }> {
  try {
    const out = await new Deno.Command("c++", { args, stdout: "null", stderr: "piped" }).output();
    return { ok: out.success, err: new TextDecoder().decode(out.stderr) };
  } catch (e) {
    return { ok: false, err: String(e) };
  }
}

export const HAS_CXX = (await cxx(["--version"])).ok;

let built: Promise<string> | undefined;

/** The folder holding libcuda.so.1, libnvrtc.so.13 and libcublas.so.13 stand-ins. */
export function emulator(): Promise<string> {
  built ??= buildEmulator().then((dir) => {
    globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
    return dir;
  });
  return built;
}

async function buildEmulator(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "saesweep-cuda-emu-" });
  const builds: [string, string[]][] = [
    ["libcuda.so.1", [`${HERE}fake_cuda.cpp`, "-ldl"]],
    ["libnvrtc.so.13", [`-DEMU_HEADER="${HERE}cuda_emu.h"`, `${HERE}fake_nvrtc.cpp`]],
    ["libcublas.so.13", [`${HERE}fake_cublas.cpp`]],
  ];
  for (const [lib, args] of builds) {
    const r = await cxx(["-std=c++17", "-shared", "-fPIC", "-O1", "-o", `${dir}/${lib}`, ...args]);
    assert.ok(r.ok, `building ${lib}: ${r.err}`);
  }
  return dir;
}

/** The environment that loads the stand-ins from `dir`: no kernel cache, NVRTC's scratch in dir. */
export function emulatorEnv(dir: string): Record<string, string> {
  return { SAESWEEP_CUDA_LIB_DIR: dir, SAESWEEP_CUDA_CACHE: "off", SAESWEEP_EMU_WORK: dir };
}

/** `deno run -A ...args` in a subprocess on the stand-ins: its exit code and output. */
export async function runOnEmulator(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...args],
    env: emulatorEnv(await emulator()),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** The JSON lines a script run on the stand-ins printed; fails with its stderr unless it exited 0. */
export async function jsonOnEmulator(args: string[]): Promise<ReturnType<typeof JSON.parse>[]> {
  const out = await runOnEmulator(args);
  assert.equal(out.code, 0, out.stderr);
  return out.stdout.trim().split("\n").map((line) => JSON.parse(line));
}
