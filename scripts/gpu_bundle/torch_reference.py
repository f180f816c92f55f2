#!/usr/bin/env python3
# The PyTorch side of the GPU bench: times the training step of reference_torch.py (the project's
# one PyTorch reference, copied beside this file by `deno task gpu-bundle`; bench/ in the
# repository) per architecture and d_model/d_sae/batch shape, on CUDA when present. Prints a table
# and a JSON line; with --webgpu-json (gpu_bench.js's JSON) it also prints the webgpu engine, the
# tfjs reference engine where it was timed, and PyTorch side by side with webgpu / PyTorch; with
# --cuda-json (gpu_bench.js --engines cuda,cuda-tf32) the cuda engine's fp32 and tf32 steps beside
# PyTorch's (the goal: cuda fp32 / PyTorch fp32 at most 1.0x, PyTorch / cuda tf32 at least 3x).
import argparse, json, os, sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
import reference_torch as ref  # noqa: E402

SHAPES = "64/512/4096,256/2048/4096,512/4096/4096,768/16384/1024,2304/16384/4096"
ARCHS = ",".join(ref.ARCHITECTURES)
K = 32  # target_l0, as in gpu_bench.js


def bench_one(arch, d, f, b, args, dev):
    cfg = {"arch": arch, "d_model": d, "d_sae": f, "batch": b, "l0_target": K,
           "steps": args.steps * args.repeats, "warmup": args.warmup}
    r = ref.bench(cfg, threads=torch.get_num_threads(), device=dev)
    s = r["ms_per_step"] / 1000
    return {"arch": arch, "d": d, "f": f, "batch": b, "step_s": s, "tokens_per_s": b / s,
            "gflops": 6 * b * d * f * 2 / s / 1e9}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--shapes", default=SHAPES)
    ap.add_argument("--arch", default=ARCHS)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--webgpu-json", help="gpu_bench.js JSON line to print beside these results")
    ap.add_argument("--cuda-json", help="gpu_bench.js JSON (--engines cuda,cuda-tf32) to compare")
    args, _ = ap.parse_known_args()  # gpu_bench flags such as --backend are ignored
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    name = torch.cuda.get_device_name(0) if dev == "cuda" else "cpu"
    rows = []
    for shape in args.shapes.split(","):
        d, f, b = (int(n) for n in shape.split("/"))
        for arch in args.arch.split(","):
            try:
                rows.append(bench_one(arch, d, f, b, args, dev))
            except ValueError:  # an architecture the reference does not implement
                raise
            except Exception as e:  # e.g. out of memory: report and go on
                rows.append({"arch": arch, "d": d, "f": f, "batch": b, "step_s": None,
                             "error": str(e).splitlines()[0]})
    print(f"PyTorch {torch.__version__} on {name}")
    fmt = "{:>9} {:>7} {:>6} {:>6} {:>10} {:>10} {:>11} {:>10} {:>8}"
    print(fmt.format("arch", "d_model", "d_sae", "batch", "torch ms", "webgpu ms", "tfjs ref ms",
                     "torch tok/s", "wgpu/pt"))
    gpu = {}
    if args.webgpu_json:
        try:
            gpu = {(r["arch"], r["d"], r["f"], r["batch"]): r for r in json.load(open(args.webgpu_json))["rows"]}
        except (OSError, ValueError, KeyError) as e:
            print(f"cannot read {args.webgpu_json}: {e}")
    for r in rows:
        row = gpu.get((r["arch"], r["d"], r["f"], r["batch"]), {})
        g = row.get("step_s")
        tfjs = (row.get("engines") or {}).get("reference", {}).get("step_s")
        ms = lambda s: "-" if s is None else f"{s * 1000:.2f}"
        print(fmt.format(r["arch"], r["d"], r["f"], r["batch"], ms(r["step_s"]), ms(g), ms(tfjs),
                         "-" if r["step_s"] is None else round(r["tokens_per_s"]),
                         "-" if g is None or r["step_s"] is None else f"{g / r['step_s']:.1f}x"))
    if args.cuda_json:
        print_cuda(rows, args.cuda_json)
    print(json.dumps({"torch": torch.__version__, "device": name, "rows": rows}))


def print_cuda(rows, path):
    """The cuda engine (fp32, tf32) beside PyTorch eager fp32, per architecture and shape."""
    try:
        cuda = {(r["arch"], r["d"], r["f"], r["batch"]): r.get("engines") or {}
                for r in json.load(open(path))["rows"]}
    except (OSError, ValueError, KeyError) as e:
        print(f"cannot read {path}: {e}")
        return
    fmt = "{:>9} {:>7} {:>6} {:>6} {:>10} {:>10} {:>10} {:>12} {:>13}"
    print(fmt.format("arch", "d_model", "d_sae", "batch", "torch ms", "cuda ms", "tf32 ms",
                     "cuda/torch", "torch/tf32"))
    for r in rows:
        e = cuda.get((r["arch"], r["d"], r["f"], r["batch"]), {})
        fp32 = (e.get("cuda") or {}).get("step_s")
        tf32 = (e.get("cuda-tf32") or {}).get("step_s")
        t = r["step_s"]
        ms = lambda s: "-" if s is None else f"{s * 1000:.2f}"
        print(fmt.format(r["arch"], r["d"], r["f"], r["batch"], ms(t), ms(fp32), ms(tf32),
                         "-" if fp32 is None or t is None else f"{fp32 / t:.2f}x",
                         "-" if tf32 is None or t is None else f"{t / tf32:.2f}x"))


if __name__ == "__main__":
    main()
