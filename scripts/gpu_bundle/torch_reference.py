#!/usr/bin/env python3
# PyTorch reference of the training step gpu_bench.js times (lib/sae/*.ts + lib/train/tfjs_engine.ts):
# forward, loss, backward, hand-written Adam, decoder-gradient projection and row renormalisation,
# per architecture and d_model/d_sae/batch shape, on CUDA when present. Prints a table and a JSON
# line; with --webgpu-json it also prints webgpu and PyTorch side by side.
import argparse, json, math, statistics, time
import torch

SHAPES = "64/512/4096,256/2048/4096,512/4096/4096,768/16384/1024,2304/16384/4096"
ARCHS = "jumprelu,relu,gated,topk,batchtopk"
K = 32  # target_l0, as in gpu_bench.js
EPS = 0.001  # JumpReLU STE bandwidth


class JumpReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z, theta):
        ctx.save_for_backward(z, theta)
        return z * (z > theta)

    @staticmethod
    def backward(ctx, dy):
        z, theta = ctx.saved_tensors
        k = ((z - theta).abs() < EPS / 2).float()
        return dy * (z > theta), (dy * k * (-theta / EPS)).sum(0)


class StepSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z, theta):
        ctx.save_for_backward(z, theta)
        return (z > theta).float()

    @staticmethod
    def backward(ctx, dy):
        z, theta = ctx.saved_tensors
        k = ((z - theta).abs() < EPS / 2).float()
        return torch.zeros_like(z), (dy * k * (-1 / EPS)).sum(0)


def recon(x, x_hat):
    return (x - x_hat).pow(2).sum(1).mean()


def topk_select(r, k, batch=False):
    if batch:
        flat = r.flatten()
        vals, idx = flat.topk(min(k * r.shape[0], flat.numel()), sorted=False)
        return torch.zeros_like(flat).scatter(0, idx, vals).view_as(r)
    vals, idx = r.topk(k, dim=1, sorted=False)
    return torch.zeros_like(r).scatter(1, idx, vals)


def loss_fn(arch, p, x, dead, lam=1e-3):
    if arch == "gated":
        xin = x - p["b_dec"]
        gate = xin @ p["W_gate"] + p["b_gate"]
        mag = xin @ (p["W_gate"] * p["r_mag"].exp()) + p["b_mag"]
        f = (gate > 0).float() * torch.relu(mag)
        x_hat = f @ p["W_dec"] + p["b_dec"]
        aux = recon(x, torch.relu(gate) @ p["W_dec"].detach() + p["b_dec"].detach())
        return recon(x, x_hat) + lam * torch.relu(gate).sum(1).mean() + aux
    if arch == "relu":
        f = torch.relu(x @ p["W_enc"] + p["b_enc"])
        x_hat = f @ p["W_dec"] + p["b_dec"]
        return recon(x, x_hat) + lam * (f * p["W_dec"].norm(dim=1)).sum(1).mean()
    pre = (x - p["b_dec"]) @ p["W_enc"] + p["b_enc"]
    if arch == "jumprelu":
        theta = p["log_threshold"].exp()
        f = JumpReLU.apply(pre, theta)
        x_hat = f @ p["W_dec"] + p["b_dec"]
        return recon(x, x_hat) + lam * StepSTE.apply(pre, theta).sum(1).mean()
    r = torch.relu(pre)
    f = topk_select(r, K, batch=arch == "batchtopk")
    x_hat = f @ p["W_dec"] + p["b_dec"]
    # AuxK, computed as the engine does even when no latent is dead.
    e = (x - x_hat).detach()
    e_hat = topk_select(r * dead, min(512, x.shape[1] // 2)) @ p["W_dec"]
    aux = (e - e_hat).pow(2).sum() / ((e - e.mean(0)).pow(2).sum() + 1e-12)
    return recon(x, x_hat) + aux / 32


def init(arch, d, f, dev):
    w_dec = torch.empty(f, d, device=dev).uniform_(-math.sqrt(6 / f), math.sqrt(6 / f))
    w_dec /= w_dec.norm(dim=1, keepdim=True)
    z = lambda n: torch.zeros(n, device=dev)
    if arch == "gated":
        p = {"W_gate": w_dec.t().clone(), "b_gate": z(f), "r_mag": z(f), "b_mag": z(f)}
    else:
        p = {"W_enc": w_dec.t().clone(), "b_enc": z(f)}
    p.update({"W_dec": w_dec, "b_dec": z(d)})
    if arch == "jumprelu":
        p["log_threshold"] = torch.full((f,), math.log(0.001), device=dev)
    return {k: v.requires_grad_() for k, v in p.items()}


def bench_one(arch, d, f, b, args, dev):
    torch.manual_seed(0)
    p = init(arch, d, f, dev)
    m = {k: torch.zeros_like(v) for k, v in p.items()}
    v2 = {k: torch.zeros_like(v) for k, v in p.items()}
    beta1, beta2, lr = (0.0 if arch == "jumprelu" else 0.9), 0.999, 1e-4
    x = torch.randn(b, d, device=dev) / math.sqrt(d)
    dead = torch.zeros(f, device=dev)
    t = 0

    def step():
        nonlocal t
        t += 1
        loss = loss_fn(arch, p, x, dead)
        grads = torch.autograd.grad(loss, list(p.values()))
        with torch.no_grad():
            for (name, w), g in zip(p.items(), grads):
                if name == "W_dec" and arch != "relu":
                    g = g - (g * w).sum(1, keepdim=True) * w
                m[name].mul_(beta1).add_(g, alpha=1 - beta1)
                v2[name].mul_(beta2).addcmul_(g, g, value=1 - beta2)
                upd = (m[name] / (1 - beta1**t)) / ((v2[name] / (1 - beta2**t)).sqrt() + 1e-8)
                w.sub_(lr * upd)
            if arch != "relu":
                p["W_dec"].div_(p["W_dec"].norm(dim=1, keepdim=True).clamp_min(1e-12))
        return loss

    sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)
    for _ in range(args.warmup):
        step()
    sync()
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        for _ in range(args.steps):
            loss = step()
        sync()
        times.append((time.perf_counter() - t0) / args.steps)
        assert math.isfinite(loss.item())
    s = statistics.median(times)
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
    args, _ = ap.parse_known_args()  # gpu_bench flags such as --backend are ignored
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    name = torch.cuda.get_device_name(0) if dev == "cuda" else "cpu"
    rows = []
    for shape in args.shapes.split(","):
        d, f, b = (int(n) for n in shape.split("/"))
        for arch in args.arch.split(","):
            try:
                rows.append(bench_one(arch, d, f, b, args, dev))
            except Exception as e:  # e.g. out of memory: report and go on
                rows.append({"arch": arch, "d": d, "f": f, "batch": b, "step_s": None,
                             "error": str(e).splitlines()[0]})
    print(f"PyTorch {torch.__version__} on {name}")
    fmt = "{:>9} {:>7} {:>6} {:>6} {:>10} {:>10} {:>10} {:>8}"
    print(fmt.format("arch", "d_model", "d_sae", "batch", "torch ms", "webgpu ms", "torch tok/s", "wgpu/pt"))
    gpu = {}
    if args.webgpu_json:
        try:
            gpu = {(r["arch"], r["d"], r["f"], r["batch"]): r for r in json.load(open(args.webgpu_json))["rows"]}
        except (OSError, ValueError, KeyError) as e:
            print(f"cannot read {args.webgpu_json}: {e}")
    for r in rows:
        g = gpu.get((r["arch"], r["d"], r["f"], r["batch"]), {}).get("step_s")
        ms = lambda s: "-" if s is None else f"{s * 1000:.2f}"
        print(fmt.format(r["arch"], r["d"], r["f"], r["batch"], ms(r["step_s"]), ms(g),
                         "-" if r["step_s"] is None else round(r["tokens_per_s"]),
                         "-" if g is None or r["step_s"] is None else f"{g / r['step_s']:.1f}x"))
    print(json.dumps({"torch": torch.__version__, "device": name, "rows": rows}))


if __name__ == "__main__":
    main()
