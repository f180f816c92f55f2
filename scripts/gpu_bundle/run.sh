#!/usr/bin/env bash
# Runs saesweep's GPU checks on a bare Linux GPU machine with no network: unpacks the Deno runtime
# and (when the system has none) the Vulkan loader shipped beside this script, finds the NVIDIA
# Vulkan driver (ICD) and points VK_ICD_FILENAMES at it, then runs the stages in order, each under
# its own time limit; a failed stage does not stop the later ones, and a summary ends the output.
#   probe   adapter, limits, features, dispatch/submit/readback costs, WGSL GEMM GFLOP/s (gpu_probe.js)
#   parity  webgpu engine vs cpu engine over 3 Adam steps per architecture (gpu_probe.js --parity)
#   bench   webgpu engine vs tfjs reference on webgpu, ms/step per arch and shape (gpu_bench.js)
#   torch   the same steps in PyTorch (CUDA when present), beside the webgpu numbers
#   e2e     one sweep of e2e.yaml with --engine webgpu (bundled sweep.js -> run.js), tokens/s
# The cuda engine's stages (not in the default list: `--stages cuda` runs the three, ~7 minutes at
# most, so `timeout 500 bash run.sh --stages cuda` fits one 8-minute call):
#   cuda_parity  cuda engine vs cpu engine over 3 Adam steps per architecture variant (k-sparse
#                ones again with the sparse products forced on), and resume byte-identical once
#                per architecture and path (cuda_check.js)
#   cuda_bench   cuda engine ms/step, fp32 and tf32, for JumpReLU, TopK and BatchTopK at
#                512/4096/4096 and 2304/16384/4096 (gpu_bench.js --engines cuda,cuda-tf32)
#   cuda_torch   PyTorch eager fp32 at the same shapes, printed beside the cuda engine's numbers
# Usage: ./run.sh [--stages probe,parity,bench,torch,e2e|cuda] [--e2e-spec FILE] [--e2e-engine NAME]
#                 [--probe-shapes LIST] [--cuda-shapes LIST (default 512/4096/4096,2304/16384/4096)]
#                 [gpu_bench flags: --shapes LIST --reference-shapes LIST --arch LIST --steps N ...]
# Environment: STAGES (as --stages), OUT (results; default ./out), PYTHON (a python with torch),
# PARITY_ONLY (a regex: the parity stage checks only the variants whose label matches),
# TIMEOUT_<STAGE> seconds (defaults below: 50 + 50 + 170 + 60 + 100 = 430 s in all, so that
# `timeout 470 bash run.sh` fits an 8-minute call with the unpacking; the cuda stages 180 + 180 + 90).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-$here/out}"
work="${TMPDIR:-/tmp}/saesweep-gpu-bundle-$$"
mkdir -p "$out" "$work"
trap 'rm -rf "$work"' EXIT
log() { echo "run.sh: $*" >&2; }

stages="${STAGES:-probe,parity,bench,torch,e2e}"
e2e_spec="$here/e2e.yaml"
e2e_engine="webgpu"
# The cuda engine's goal shapes and architectures (issue 22).
cuda_shapes="512/4096/4096,2304/16384/4096"
cuda_archs="jumprelu,topk,batchtopk"
# The shapes of issue 21's goal (512/4096/4096, 2304/16384/4096) and of the tfjs reference
# (64/512/4096, 512/4096/4096), with fewer steps than gpu_bench's defaults, to fit the time limit;
# flags given to run.sh come after these and win.
shapes="64/512/4096,512/4096/4096,2304/16384/4096"
probe_shapes=""
bench_args=(--shapes "$shapes" --steps 10 --warmup 2 --repeats 3)
while [ $# -gt 0 ]; do
  case "$1" in
    --stages) stages="$2"; shift 2 ;;
    --stages=*) stages="${1#*=}"; shift ;;
    --e2e-spec) e2e_spec="$2"; shift 2 ;;
    --e2e-engine) e2e_engine="$2"; shift 2 ;;
    --cuda-shapes) cuda_shapes="$2"; shift 2 ;;
    --probe-shapes) probe_shapes="$2"; shift 2 ;;
    --shapes) shapes="$2"; bench_args+=("$1" "$2"); shift 2 ;;
    *) bench_args+=("$1"); shift ;;
  esac
done
case "$e2e_spec" in /*) ;; *) [ -e "$e2e_spec" ] || e2e_spec="$here/$e2e_spec" ;; esac
probe_shapes="${probe_shapes:-$shapes}"
case ",$stages," in *",cuda,"*) stages="$stages,cuda_parity,cuda_bench,cuda_torch" ;; esac
want() { case ",$stages," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }

unxz_to() { # unxz_to FILE.xz DEST: xz when present, else Python's lzma
  if command -v xz >/dev/null; then xz -dc "$1" >"$2"
  else python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],"wb"))' "$1" "$2"
  fi
}

extract_deb() { # extract_deb FILE.deb DIR: dpkg-deb, else Python (ar + tar)
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

# 3. Vulkan driver manifest (ICD). NVIDIA's driver ships nvidia_icd.json, in containers often under
#    /usr/local/nvidia/, where the loader does not look: find it and name it in VK_ICD_FILENAMES.
#    Containers started without the "graphics" driver capability may have libGLX_nvidia.so.0 but no
#    manifest: write one.
for lib in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do
  [ -d "$lib" ] && export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$lib"
done
icd=""
if [ -z "${VK_ICD_FILENAMES:-}" ]; then
  for dir in /usr/local/nvidia/share/vulkan/icd.d /usr/local/nvidia/etc/vulkan/icd.d \
    /usr/local/nvidia/vulkan/icd.d /etc/vulkan/icd.d /usr/share/vulkan/icd.d \
    /usr/local/share/vulkan/icd.d /usr/local/etc/vulkan/icd.d /etc/nvidia/vulkan/icd.d \
    /usr/share/nvidia /usr/local/nvidia/share/nvidia; do
    for f in "$dir"/nvidia_icd*.json; do [ -e "$f" ] && icd="$f" && break 2; done
  done
  if [ -z "$icd" ]; then
    glx=$(ldconfig -p 2>/dev/null | awk '/libGLX_nvidia.so.0 /{print $NF; exit}')
    for lib in /usr/local/nvidia/lib64 /usr/lib/x86_64-linux-gnu /usr/lib64; do
      [ -z "$glx" ] && [ -e "$lib/libGLX_nvidia.so.0" ] && glx="$lib/libGLX_nvidia.so.0"
    done
    if [ -n "$glx" ]; then
      icd="$work/nvidia_icd.json"
      printf '{"file_format_version":"1.0.0","ICD":{"library_path":"%s","api_version":"1.3"}}\n' "$glx" >"$icd"
      log "no nvidia_icd.json installed; wrote $icd for $glx"
    fi
  fi
  if [ -n "$icd" ]; then
    export VK_ICD_FILENAMES="$icd"
    log "Vulkan ICD: VK_ICD_FILENAMES=$icd"
  else
    log "no NVIDIA Vulkan driver found (nvidia_icd.json or libGLX_nvidia.so.0); WebGPU may fall back to a software adapter or none"
  fi
else
  log "Vulkan ICD: VK_ICD_FILENAMES=$VK_ICD_FILENAMES (from the environment)"
fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >&2

export XDG_RUNTIME_DIR="$work/xdg" DENO_DIR="$work/deno_dir" NO_COLOR=1
mkdir -p "$XDG_RUNTIME_DIR" && chmod 0700 "$XDG_RUNTIME_DIR"

# 4. The stages. stage NAME SECONDS FUNCTION: runs FUNCTION, whose commands run through `lim`
#    (under the stage's time limit), and records its outcome.
summary=()
failed=0
limit=0
lim() { if command -v timeout >/dev/null; then timeout -k 10 "$limit" "$@"; else "$@"; fi; }
stage() {
  local name="$1"; limit="$2"; shift 2
  local t0=$SECONDS status
  log "stage $name (limit ${limit}s)"
  "$@"
  status=$?
  local took=$((SECONDS - t0)) what
  case $status in
    0) what="ok" ;;
    124|137) what="TIMED OUT after ${limit}s"; failed=1 ;;
    *) what="FAILED (exit $status)"; failed=1 ;;
  esac
  summary+=("$(printf '%-7s %-28s %4ds' "$name" "$what" "$took")")
}
skip() { summary+=("$(printf '%-7s %-28s' "$1" "skipped: $2")"); }
limit_of() { local v="TIMEOUT_$1"; echo "${!v:-$2}"; }

run_probe() {
  lim "$deno" run -A --no-config "$here/gpu_probe.js" --shapes "$probe_shapes" \
    >"$out/probe.txt" 2>"$out/probe.log"
  local s=$?; cat "$out/probe.txt" "$out/probe.log"; tail -n 1 "$out/probe.txt" >"$out/probe.json"; return $s
}
run_parity() {
  lim "$deno" run -A --no-config "$here/gpu_probe.js" --parity --no-gemm --no-costs \
    ${PARITY_ONLY:+--only "$PARITY_ONLY"} >"$out/parity.txt" 2>"$out/parity.log"
  local s=$?; grep -v '^{' "$out/parity.txt"; cat "$out/parity.log"; return $s
}
run_bench() {
  # bench.json is rewritten after each row, so a stage that runs out of time keeps what it measured.
  lim "$deno" run -A --no-config "$here/gpu_bench.js" "${bench_args[@]}" --json-out "$out/bench.json" \
    >"$out/bench.txt" 2> >(tee "$out/bench.log" >&2)
  local s=$?; grep -v '^{' "$out/bench.txt"; return $s
}
run_torch() {
  lim "$python" "$here/torch_reference.py" "${bench_args[@]}" --webgpu-json "$out/bench.json" \
    >"$out/torch.txt"
  local s=$?; cat "$out/torch.txt"; return $s
}
run_e2e() {
  local runs="$work/runs" t0=$SECONDS s
  # The bundled sweep spawns this bundled run.js with --no-config (tasks/sweep.ts).
  export SAESWEEP_RUN_SCRIPT="$here/run.js"
  lim "$deno" run -A --no-config "$here/sweep.js" "$e2e_spec" \
    --engine "$e2e_engine" --jobs 1 --out "$runs" 2>&1 | tee "$out/e2e.log"
  s=${PIPESTATUS[0]}
  {
    echo "spec $(basename "$e2e_spec"), engine $e2e_engine, wall $((SECONDS - t0)) s"
    for dir in "$runs"/*/*/; do
      mkdir -p "$out/e2e/$(basename "$dir")"
      cp "$dir"/run.json "$dir"/summary.json "$dir"/metrics.jsonl "$out/e2e/$(basename "$dir")/" 2>/dev/null
      if [ ! -e "$dir/summary.json" ]; then # stopped early: the last logged step's speed
        echo "$(basename "$dir"): unfinished, last log: $(tail -n 1 "$dir/metrics.jsonl" 2>/dev/null |
          grep -o '"\(step\|tokens_per_s\|elapsed_s\)":[-0-9.e+]*' | tr '\n' ' ')"
        continue
      fi
      tr -d ' \n' <"$dir/summary.json" | grep -o '"\(tokens_per_s\|train_seconds\|fvu\|l0\)":[-0-9.e+]*' |
        tr '\n' ' ' | sed "s|^|$(basename "$dir"): |"
      echo
    done
  } | tee "$out/e2e.txt"
  return "$s"
}

run_cuda_parity() {
  lim "$deno" run -A --no-config "$here/cuda_check.js" --steps 3 \
    >"$out/cuda_parity.txt" 2>"$out/cuda_parity.log"
  local s=$?; grep -v '^{' "$out/cuda_parity.txt"; cat "$out/cuda_parity.log"
  tail -n 1 "$out/cuda_parity.txt" >"$out/cuda_parity.json"; return $s
}
run_cuda_bench() {
  lim "$deno" run -A --no-config "$here/gpu_bench.js" --engines cuda,cuda-tf32 \
    --shapes "$cuda_shapes" --arch "$cuda_archs" --steps 10 --warmup 3 --repeats 3 \
    --json-out "$out/cuda_bench.json" >"$out/cuda_bench.txt" 2> >(tee "$out/cuda_bench.log" >&2)
  local s=$?; grep -v '^{' "$out/cuda_bench.txt"; return $s
}
run_cuda_torch() {
  lim "$python" "$here/torch_reference.py" --shapes "$cuda_shapes" --arch "$cuda_archs" \
    --steps 10 --warmup 3 --repeats 1 --cuda-json "$out/cuda_bench.json" >"$out/cuda_torch.txt"
  local s=$?; cat "$out/cuda_torch.txt"; return $s
}

python=""
for p in "${PYTHON:-}" python3 /usr/bin/python3 python; do
  [ -n "$p" ] && "$p" -c 'import torch' 2>/dev/null && python="$p" && break
done
# The cuda engine finds cuBLAS and NVRTC in the nvidia-* wheels PyTorch installs: name that
# Python's site-packages, wherever it lives (lib/engine/cuda/libraries.ts reads the variable).
for p in "$python" python3; do
  [ -n "$p" ] || continue
  site=$("$p" -c 'import sys; print(":".join(x for x in sys.path if x.endswith("-packages")))' 2>/dev/null) || continue
  [ -n "$site" ] && export SAESWEEP_PYTHON_SITE="${SAESWEEP_PYTHON_SITE:+$SAESWEEP_PYTHON_SITE:}$site"
done
export SAESWEEP_CUDA_CACHE="$work/cuda_cache"

if want probe; then stage probe "$(limit_of PROBE 50)" run_probe; else skip probe "not in --stages"; fi
if want parity; then stage parity "$(limit_of PARITY 50)" run_parity; else skip parity "not in --stages"; fi
if want bench; then stage bench "$(limit_of BENCH 170)" run_bench; else skip bench "not in --stages"; fi
if ! want torch; then skip torch "not in --stages"
elif [ -z "$python" ]; then skip torch "no python with torch (set PYTHON=...)"
else stage torch "$(limit_of TORCH 60)" run_torch; fi
if want e2e; then stage e2e "$(limit_of E2E 100)" run_e2e; else skip e2e "not in --stages"; fi
if want cuda_parity; then stage cuda_parity "$(limit_of CUDA_PARITY 180)" run_cuda_parity
else skip cuda_parity "not in --stages"; fi
if want cuda_bench; then stage cuda_bench "$(limit_of CUDA_BENCH 180)" run_cuda_bench
else skip cuda_bench "not in --stages"; fi
if ! want cuda_torch; then skip cuda_torch "not in --stages"
elif [ -z "$python" ]; then skip cuda_torch "no python with torch (set PYTHON=...)"
else stage cuda_torch "$(limit_of CUDA_TORCH 90)" run_cuda_torch; fi

{
  echo "summary ($(date -u +%FT%TZ); results in $out):"
  for line in "${summary[@]}"; do echo "  $line"; done
} | tee "$out/summary.txt"
exit "$failed"
