#!/usr/bin/env bash
# Runs the saesweep GPU bench on a bare Linux GPU machine with no network: unpacks the Deno runtime
# and (when the system has none) the Vulkan loader shipped beside this script, checks that a Vulkan
# driver (ICD) is visible, times webgpu training steps, then the same steps in PyTorch on CUDA.
# Usage: ./run.sh [gpu_bench flags, e.g. --shapes 512/4096/4096 --arch jumprelu]
# Results go to $OUT (the GPU machine's output folder) when set, else ./out.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-$here/out}"
work="${TMPDIR:-/tmp}/saesweep-gpu-bundle-$$"
mkdir -p "$out" "$work"
log() { echo "run.sh: $*" >&2; }

unxz_to() { # unxz_to FILE.xz DEST: xz when present, else Python's lzma
  if command -v xz >/dev/null; then xz -dc "$1" >"$2"
  else python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],"wb"))' "$1" "$2"
  fi
}

extract_deb() { # extract_deb FILE.deb DIR: dpkg-deb, else ar + tar, else Python
  if command -v dpkg-deb >/dev/null; then dpkg-deb -x "$1" "$2"; return; fi
  python3 - "$1" "$2" <<'PY'
import io, sys, tarfile
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"!<arch>\n", "not a .deb"
pos = 8
while pos < len(data):
    name = data[pos:pos + 16].decode().strip().rstrip("/")
    size = int(data[pos + 48:pos + 58].decode().strip())
    body = data[pos + 60:pos + 60 + size]
    if name.startswith("data.tar"):
        tarfile.open(fileobj=io.BytesIO(body)).extractall(sys.argv[2])
    pos += 60 + size + (size % 2)
PY
}

# 1. Deno runtime (xz-compressed in the bundle).
deno="$work/deno"
unxz_to "$here/deno.xz" "$deno" && chmod +x "$deno" || { log "cannot unpack deno.xz"; exit 1; }
log "$("$deno" --version | head -n 1)"

# 2. Vulkan loader: the system's libvulkan.so.1 if it has one, else the bundled Debian package.
if [ -n "${SAESWEEP_BUNDLED_LOADER:-}" ] || ! ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1 '; then
  for deb in "$here"/vulkan/*.deb; do extract_deb "$deb" "$work/vulkan"; done
  export LD_LIBRARY_PATH="$work/vulkan/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  log "using the bundled Vulkan loader ($(ls "$here"/vulkan/*.deb | xargs -n1 basename | tr '\n' ' '))"
else
  log "using the system Vulkan loader"
fi

# 3. Vulkan driver manifest (ICD). NVIDIA's driver ships nvidia_icd.json; containers started without
#    the "graphics" driver capability may have libGLX_nvidia.so.0 but no manifest: write one.
icd=""
for dir in /etc/vulkan/icd.d /usr/share/vulkan/icd.d /usr/local/share/vulkan/icd.d; do
  for f in "$dir"/nvidia_icd*.json; do [ -e "$f" ] && icd="$f" && break 2; done
done
if [ -z "$icd" ] && [ -z "${VK_ICD_FILENAMES:-}" ]; then
  glx=$(ldconfig -p 2>/dev/null | awk '/libGLX_nvidia.so.0 /{print $NF; exit}')
  if [ -n "$glx" ]; then
    icd="$work/nvidia_icd.json"
    printf '{"file_format_version":"1.0.0","ICD":{"library_path":"%s","api_version":"1.3"}}\n' "$glx" >"$icd"
    export VK_ICD_FILENAMES="$icd"
    log "no nvidia_icd.json installed; wrote $icd for $glx"
  else
    log "no NVIDIA Vulkan driver found (nvidia_icd.json or libGLX_nvidia.so.0); WebGPU may fall back to a software adapter or none"
  fi
else
  log "Vulkan ICD: ${VK_ICD_FILENAMES:-$icd}"
fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >&2

# 4. The webgpu bench, then the PyTorch reference of the same steps.
export XDG_RUNTIME_DIR="$work/xdg" DENO_DIR="$work/deno_dir" NO_COLOR=1
mkdir -p "$XDG_RUNTIME_DIR" && chmod 0700 "$XDG_RUNTIME_DIR"
"$deno" run -A --no-config "$here/gpu_bench.js" "$@" >"$out/webgpu.txt"
status=$?
cat "$out/webgpu.txt"
tail -n 1 "$out/webgpu.txt" >"$out/webgpu.json"
python=""
for p in "${PYTHON:-}" python3 /usr/bin/python3 python; do
  [ -n "$p" ] && "$p" -c 'import torch' 2>/dev/null && python="$p" && break
done
if [ -n "$python" ]; then
  "$python" "$here/torch_reference.py" "$@" --webgpu-json "$out/webgpu.json" | tee "$out/torch.txt"
else
  log "no python with torch found (set PYTHON=...): PyTorch reference skipped"
fi
rm -rf "$work"
exit "$status"
