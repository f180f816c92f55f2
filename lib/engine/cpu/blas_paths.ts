// Where a CBLAS may live, in the order they are tried: the system's (Debian/Ubuntu/Fedora,
// Homebrew, Accelerate), then OpenBLAS copies that other software ships: a conda environment's,
// and the ones bundled inside Python wheels (numpy, scipy, scipy-openblas32/64).

/** The system locations, tried first. */
export const SYSTEM_CANDIDATES: readonly string[] = [
  "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
  "/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0",
  "/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.so.0",
  "/usr/lib/aarch64-linux-gnu/openblas-openmp/libopenblas.so.0",
  "/usr/lib/x86_64-linux-gnu/libopenblas.so.0",
  "/usr/lib64/libopenblas.so.0",
  "/usr/lib/libopenblas.so.0",
  "/opt/homebrew/opt/openblas/lib/libopenblas.dylib",
  "/usr/local/opt/openblas/lib/libopenblas.dylib",
  "/System/Library/Frameworks/Accelerate.framework/Accelerate",
];

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

function list(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  } catch {
    return [];
  }
}

/** Library prefixes (`<prefix>/lib`) of conda, virtualenvs, pyenv, user and system Pythons. */
function pythonPrefixes(): string[] {
  const home = env("HOME");
  const out: string[] = [];
  for (const v of ["CONDA_PREFIX", "VIRTUAL_ENV"]) {
    const p = env(v);
    if (p) out.push(`${p}/lib`);
  }
  if (home) {
    out.push(`${home}/.local/lib`);
    for (const v of list(`${home}/.pyenv/versions`)) out.push(`${home}/.pyenv/versions/${v}/lib`);
    for (const c of ["miniconda3", "anaconda3", "miniforge3", "mambaforge"]) {
      out.push(`${home}/${c}/lib`);
    }
  }
  out.push("/usr/local/lib", "/usr/lib", "/opt/conda/lib");
  return out;
}

/** Folders inside site-packages that hold a bundled OpenBLAS. */
const WHEEL_DIRS = [
  "scipy_openblas32/lib",
  "scipy_openblas64/lib",
  "numpy.libs",
  "scipy.libs",
  "numpy/.dylibs",
  "scipy/.dylibs",
];

/** OpenBLAS copies outside the system locations (conda, then Python wheels), in search order. */
export function otherCandidates(): string[] {
  const out: string[] = [];
  const isLib = (n: string) => /openblas.*\.(so(\.\d+)*|dylib)$/.test(n);
  for (const prefix of pythonPrefixes()) {
    for (const n of ["libopenblas.so.0", "libopenblas.so", "libopenblas.dylib"]) {
      out.push(`${prefix}/${n}`);
    }
    for (const py of list(prefix).filter((n) => /^python3/.test(n))) {
      for (const site of ["site-packages", "dist-packages"]) {
        for (const dir of WHEEL_DIRS) {
          const d = `${prefix}/${py}/${site}/${dir}`;
          for (const n of list(d).filter(isLib)) out.push(`${d}/${n}`);
        }
      }
    }
  }
  return [...new Set(out)];
}
