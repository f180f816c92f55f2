// Finding the CUDA libraries, against fake directory layouts under a temporary root (the driver in
// a container's /usr/local/nvidia, ldconfig's cache, /usr/local/cuda-*, conda, the nvidia-* wheels
// of a pyenv Python in both the CUDA 13 (nvidia/cu13/lib) and the CUDA 12 layout), and loading the
// real cuBLAS and NVRTC where a wheel put them (pip install nvidia-cublas nvidia-cuda-nvrtc).
import assert from "node:assert/strict";
import {
  findCudaLibrary,
  nvrtcBuiltins,
  searchDirs,
  type SearchEnv,
} from "../../../lib/engine/cuda/libraries.ts";
import { loadCublas, loadNvrtc } from "../../../lib/engine/cuda/ffi.ts";

/** A SearchEnv over `root` (every absolute path is read under it) with `vars` as environment. */
function fakeEnv(root: string, vars: Record<string, string>, ldconfig = ""): SearchEnv {
  return {
    env: (n) => vars[n],
    list(dir) {
      try {
        return [...Deno.readDirSync(root + dir)].map((e) => e.name).sort();
      } catch {
        return [];
      }
    },
    exists(path) {
      try {
        return Deno.statSync(root + path).isFile;
      } catch {
        return false;
      }
    },
    ldconfig: () => ldconfig,
  };
}

async function layout(files: string[]): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "saesweep-cuda-libs-" });
  for (const f of files) {
    await Deno.mkdir(root + f.slice(0, f.lastIndexOf("/")), { recursive: true });
    await Deno.writeFile(root + f, new Uint8Array(0));
  }
  return root;
}

Deno.test("findCudaLibrary() reports every place it looked when nothing is there", async () => {
  const root = await layout([]);
  try {
    const found = findCudaLibrary("cuda", fakeEnv(root, { HOME: "/home/u" }));
    assert.equal(found.path, null);
    assert(found.looked.includes("/usr/local/nvidia/lib64/libcuda.so.1"));
    assert(found.looked.includes("/usr/lib/x86_64-linux-gnu/libcuda.so.1"));
    // The driver never comes from a toolkit or a wheel.
    assert(!found.looked.some((p) => p.includes("site-packages") || p.includes("/usr/local/cuda")));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("findCudaLibrary() finds the driver in a container's /usr/local/nvidia and via ldconfig", async () => {
  const root = await layout([
    "/usr/local/nvidia/lib64/libcuda.so.1",
    "/opt/drv/lib/libcuda.so.1",
    "/opt/drv32/libcuda.so.1",
  ]);
  try {
    assert.equal(
      findCudaLibrary("cuda", fakeEnv(root, {})).path,
      "/usr/local/nvidia/lib64/libcuda.so.1",
    );
    // ldconfig's cache comes before the fixed folders; its 32-bit entry is skipped.
    const cache = "\tlibcuda.so.1 (libc6) => /opt/drv32/libcuda.so.1\n" +
      "\tlibcuda.so.1 (libc6,x86-64) => /opt/drv/lib/libcuda.so.1\n";
    assert.equal(
      findCudaLibrary("cuda", fakeEnv(root, {}, cache)).path,
      "/opt/drv/lib/libcuda.so.1",
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("findCudaLibrary() prefers SAESWEEP_CUDA_LIB_DIR, then LD_LIBRARY_PATH", async () => {
  const root = await layout([
    "/usr/local/nvidia/lib64/libcuda.so.1",
    "/ld/libcuda.so.1",
    "/mine/libcuda.so.1",
  ]);
  try {
    assert.equal(
      findCudaLibrary("cuda", fakeEnv(root, { LD_LIBRARY_PATH: "/nothing:/ld" })).path,
      "/ld/libcuda.so.1",
    );
    assert.equal(
      findCudaLibrary(
        "cuda",
        fakeEnv(root, { LD_LIBRARY_PATH: "/ld", SAESWEEP_CUDA_LIB_DIR: "/mine" }),
      ).path,
      "/mine/libcuda.so.1",
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("findCudaLibrary() finds cuBLAS and NVRTC in the newest /usr/local/cuda-* and in conda", async () => {
  const root = await layout([
    "/usr/local/cuda-12.4/lib64/libcublas.so.12",
    "/usr/local/cuda-12.10/targets/x86_64-linux/lib/libcublas.so.12",
    "/conda/env/lib/libnvrtc.so.12",
  ]);
  try {
    const e = fakeEnv(root, { CONDA_PREFIX: "/conda/env" });
    // 12.10 is newer than 12.4 (numeric order, not string order).
    assert.equal(
      findCudaLibrary("cublas", e).path,
      "/usr/local/cuda-12.10/targets/x86_64-linux/lib/libcublas.so.12",
    );
    assert.equal(findCudaLibrary("nvrtc", e).path, "/conda/env/lib/libnvrtc.so.12");
    // CUDA_HOME comes before the versioned folders.
    assert.equal(
      searchDirs("cublas", fakeEnv(root, { CUDA_HOME: "/opt/cuda" })).indexOf("/opt/cuda/lib64") <
        searchDirs("cublas", fakeEnv(root, { CUDA_HOME: "/opt/cuda" })).indexOf(
          "/usr/local/cuda-12.4/lib64",
        ),
      true,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("findCudaLibrary() finds the nvidia-* wheels PyTorch installs (CUDA 13 and 12 layouts)", async () => {
  const site = "/home/u/.pyenv/versions/3.11.7/lib/python3.11/site-packages";
  const venv = "/work/venv/lib/python3.12/site-packages";
  const root = await layout([
    `${site}/nvidia/cu13/lib/libnvrtc.so.13`,
    `${site}/nvidia/cu13/lib/libnvrtc-builtins.so.13.0`,
    `${site}/nvidia/cu13/lib/libnvrtc-builtins.alt.so.13.0`,
    `${venv}/nvidia/cublas/lib/libcublas.so.12`,
  ]);
  try {
    const e = fakeEnv(root, { HOME: "/home/u", VIRTUAL_ENV: "/work/venv" });
    const nvrtc = findCudaLibrary("nvrtc", e).path;
    assert.equal(nvrtc, `${site}/nvidia/cu13/lib/libnvrtc.so.13`);
    assert.equal(findCudaLibrary("cublas", e).path, `${venv}/nvidia/cublas/lib/libcublas.so.12`);
    assert.equal(nvrtcBuiltins(nvrtc!, e), `${site}/nvidia/cu13/lib/libnvrtc-builtins.so.13.0`);
    assert.equal(findCudaLibrary("cuda", e).path, null, "the driver is not in a wheel");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

const CI = Boolean(Deno.env.get("CI"));
const wheels = findCudaLibrary("cublas").path !== null && findCudaLibrary("nvrtc").path !== null;

Deno.test({
  name: "the real cuBLAS and NVRTC load with every versioned symbol the engine calls",
  ignore: !wheels && !CI,
  fn() {
    // dlopen fails naming the first symbol it misses (cublasCreate_v2, cublasGemmEx, ...).
    const blas = loadCublas();
    assert.match(blas.path, /libcublas\.so\.\d+$/);
    const nvrtc = loadNvrtc();
    const major = new Int32Array(1);
    const minor = new Int32Array(1);
    assert.equal(nvrtc.symbols.nvrtcVersion(major, minor), 0);
    assert(major[0] >= 12, `NVRTC ${major[0]}.${minor[0]}`);
  },
});
