// Where the CUDA libraries may live, in the order they are tried, the way lib/engine/cpu/
// blas_paths.ts finds OpenBLAS: an explicit folder (SAESWEEP_CUDA_LIB_DIR), LD_LIBRARY_PATH, the
// system's (ldconfig's cache, the driver's folders in containers, /usr/local/cuda*), a conda
// environment's, and the nvidia-* Python wheels PyTorch installs (site-packages/nvidia/cu13/lib,
// nvidia/{cublas,cuda_nvrtc}/lib). Finds files only; loading them is ffi.ts's.

/** The three libraries the cuda engine loads. */
export type CudaLibrary = "cuda" | "cublas" | "nvrtc";

/** File names of each library, best first (the driver's ABI is fixed at .so.1). */
export const LIBRARY_FILES: Record<CudaLibrary, readonly string[]> = {
  cuda: ["libcuda.so.1", "libcuda.so"],
  cublas: ["libcublas.so.13", "libcublas.so.12", "libcublas.so"],
  nvrtc: ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"],
};

/** Folders inside site-packages where the nvidia-* wheels keep each library. */
const WHEEL_DIRS: Record<CudaLibrary, readonly string[]> = {
  cuda: [],
  cublas: ["nvidia/cu13/lib", "nvidia/cublas/lib"],
  nvrtc: ["nvidia/cu13/lib", "nvidia/cuda_nvrtc/lib"],
};

/** What the search reads of the machine (the real one by default; tests pass fake ones). */
export interface SearchEnv {
  env(name: string): string | undefined;
  /** Names in a folder, sorted ([] when it is absent). */
  list(dir: string): string[];
  exists(path: string): boolean;
  /** `ldconfig -p` output ("" when ldconfig is absent). */
  ldconfig(): string;
}

function realEnv(): SearchEnv {
  let ldcache: string | undefined;
  return {
    env(name) {
      try {
        return Deno.env.get(name);
      } catch {
        return undefined;
      }
    },
    list(dir) {
      try {
        return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
      } catch {
        return [];
      }
    },
    exists(path) {
      try {
        return Deno.statSync(path).isFile;
      } catch {
        return false;
      }
    },
    ldconfig() {
      if (ldcache !== undefined) return ldcache;
      ldcache = "";
      for (const cmd of ["ldconfig", "/sbin/ldconfig", "/usr/sbin/ldconfig"]) {
        try {
          const out = new Deno.Command(cmd, { args: ["-p"], stdout: "piped", stderr: "null" })
            .outputSync();
          if (out.success) return ldcache = new TextDecoder().decode(out.stdout);
        } catch {
          // not this one
        }
      }
      return ldcache;
    },
  };
}

/** site-packages and dist-packages folders of the Pythons a researcher may have. */
function sitePackages(e: SearchEnv): string[] {
  const prefixes: string[] = [];
  for (const v of ["VIRTUAL_ENV", "CONDA_PREFIX"]) {
    const p = e.env(v);
    if (p) prefixes.push(`${p}/lib`);
  }
  const home = e.env("HOME");
  if (home) {
    prefixes.push(`${home}/.local/lib`);
    for (const v of e.list(`${home}/.pyenv/versions`)) {
      prefixes.push(`${home}/.pyenv/versions/${v}/lib`);
    }
    for (const c of ["miniconda3", "anaconda3", "miniforge3", "mambaforge"]) {
      prefixes.push(`${home}/${c}/lib`);
    }
  }
  prefixes.push("/opt/conda/lib", "/usr/local/lib", "/usr/lib", "/usr/lib64");
  const out: string[] = [];
  for (const extra of (e.env("SAESWEEP_PYTHON_SITE") ?? "").split(":").filter(Boolean)) {
    out.push(extra);
  }
  for (const prefix of prefixes) {
    for (const py of e.list(prefix).filter((n) => /^python3/.test(n))) {
      for (const site of ["site-packages", "dist-packages"]) out.push(`${prefix}/${py}/${site}`);
    }
  }
  return out;
}

/** The folders searched for `lib`, in order (duplicates removed). */
export function searchDirs(lib: CudaLibrary, e: SearchEnv = realEnv()): string[] {
  const dirs: string[] = [];
  const explicit = e.env("SAESWEEP_CUDA_LIB_DIR");
  if (explicit) dirs.push(...explicit.split(":").filter(Boolean));
  dirs.push(...(e.env("LD_LIBRARY_PATH") ?? "").split(":").filter(Boolean));
  // ldconfig's cache: `\tlibcuda.so.1 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libcuda.so.1`;
  // 32-bit copies are listed as `(libc6)`, without this machine's word.
  const word = Deno.build.arch === "aarch64" ? "AArch64" : "x86-64";
  for (const line of e.ldconfig().split("\n")) {
    const m = line.match(/^\s*(\S+) \(([^)]*)\) => (\S+)$/);
    if (m && LIBRARY_FILES[lib].includes(m[1]) && m[2].includes(word)) {
      dirs.push(m[3].slice(0, m[3].lastIndexOf("/")));
    }
  }
  // The driver in containers (nvidia-container-toolkit), then the distributions' folders.
  dirs.push(
    "/usr/local/nvidia/lib64",
    "/usr/local/nvidia/lib",
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/lib64",
    "/usr/lib/wsl/lib",
  );
  if (lib !== "cuda") {
    const homes = [e.env("CUDA_HOME"), e.env("CUDA_PATH"), "/usr/local/cuda"]
      .filter((x): x is string => !!x);
    // /usr/local/cuda-13.0, cuda-12.8, ...: newest first.
    const versions = e.list("/usr/local").filter((n) => /^cuda-\d/.test(n))
      .sort((a, b) => b.localeCompare(a, undefined, { numeric: true }));
    for (const home of [...homes, ...versions.map((v) => `/usr/local/${v}`)]) {
      dirs.push(`${home}/lib64`, `${home}/lib`, `${home}/targets/x86_64-linux/lib`);
    }
    const conda = e.env("CONDA_PREFIX");
    if (conda) dirs.push(`${conda}/lib`);
    for (const site of sitePackages(e)) {
      for (const w of WHEEL_DIRS[lib]) dirs.push(`${site}/${w}`);
    }
  }
  return [...new Set(dirs)];
}

/** Where `lib` was found (or null), and every path looked at, for the error message. */
export interface Found {
  path: string | null;
  looked: string[];
}

/** The first file of `lib` in its search folders. */
export function findCudaLibrary(lib: CudaLibrary, e: SearchEnv = realEnv()): Found {
  const looked: string[] = [];
  for (const dir of searchDirs(lib, e)) {
    for (const file of LIBRARY_FILES[lib]) {
      const path = `${dir}/${file}`;
      looked.push(path);
      if (e.exists(path)) return { path, looked };
    }
  }
  return { path: null, looked };
}

/**
 * NVRTC's builtins library beside libnvrtc (`libnvrtc-builtins.so.13.0`), which NVRTC opens by
 * name at compile time: loading it first by full path lets a wheel's NVRTC compile without
 * LD_LIBRARY_PATH. Null when there is none beside it.
 */
export function nvrtcBuiltins(nvrtcPath: string, e: SearchEnv = realEnv()): string | null {
  const dir = nvrtcPath.slice(0, nvrtcPath.lastIndexOf("/"));
  const major = nvrtcPath.match(/\.so\.(\d+)/)?.[1];
  const names = e.list(dir).filter((n) =>
    /^libnvrtc-builtins\.so(\.\d+)*$/.test(n) &&
    (!major || n.startsWith(`libnvrtc-builtins.so.${major}`))
  );
  names.sort((a, b) => b.length - a.length);
  return names.length ? `${dir}/${names[0]}` : null;
}

/** A short summary of the places searched, for messages (`LD_LIBRARY_PATH, ldconfig, ...`). */
export function describeSearch(lib: CudaLibrary): string {
  return lib === "cuda"
    ? `${LIBRARY_FILES.cuda[0]} (the NVIDIA driver) in SAESWEEP_CUDA_LIB_DIR, LD_LIBRARY_PATH, ` +
      "ldconfig's cache, /usr/local/nvidia/lib64 and the system library folders"
    : `${LIBRARY_FILES[lib].join(" or ")} in SAESWEEP_CUDA_LIB_DIR, LD_LIBRARY_PATH, ldconfig's ` +
      "cache, the system library folders, CUDA_HOME, /usr/local/cuda*, CONDA_PREFIX and the " +
      `nvidia-* Python wheels (site-packages/${WHEEL_DIRS[lib].join(", site-packages/")})`;
}
