# PyTorch reference of the saesweep training step, the only one in the repository: `deno task
# bench` runs it on the CPU and the GPU bundle's torch_reference.py imports it for CUDA. The same
# maths as lib/sae/*/ + lib/train/tfjs_engine.ts (losses, JumpReLU STEs, AuxK, Adam with
# per-architecture betas, decoder-gradient projection and row renormalisation), written the way
# SAELens and dictionary_learning write it (dense tensors, autograd). An architecture it does not
# implement raises ValueError instead of being run as another. Prints one JSON line per config.
#
# usage: python3 bench/reference_torch.py '<json list of {arch, d_model, d_sae, batch, l0_target,
#        steps, warmup}>' [--threads 2]
# Shapes: B batch, D d_model, F latents.
import json
import math
import sys
import time

import torch

EPS_BANDWIDTH = 0.001  # JumpReLU STE bandwidth (sae.jumprelu.bandwidth default)
BETAS = {"jumprelu": (0.0, 0.999), "relu": (0.9, 0.999), "gated": (0.9, 0.999),
         "topk": (0.9, 0.999), "batchtopk": (0.9, 0.999)}
ARCHITECTURES = tuple(BETAS)  # the architectures this reference implements


def check_arch(arch):
    if arch not in BETAS:
        raise ValueError(f"reference_torch.py has no PyTorch reference for architecture {arch!r} "
                         f"(it implements {', '.join(ARCHITECTURES)})")
LR = 7e-5  # train.lr default
ADAM_EPS = 1e-8


def rect(z, theta, eps):
    u = (z - theta) / eps
    return ((u > -0.5) & (u < 0.5)).float()


class JumpReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z, theta, eps):
        ctx.save_for_backward(z, theta)
        ctx.eps = eps
        return z * (z > theta).float()

    @staticmethod
    def backward(ctx, g):
        z, theta = ctx.saved_tensors
        dz = g * (z > theta).float()
        dtheta = (g * rect(z, theta, ctx.eps) * (-theta / ctx.eps)).sum(0)
        return dz, dtheta, None


class Step(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z, theta, eps):
        ctx.save_for_backward(z, theta)
        ctx.eps = eps
        return (z > theta).float()

    @staticmethod
    def backward(ctx, g):
        z, theta = ctx.saved_tensors
        return torch.zeros_like(z), (g * rect(z, theta, ctx.eps) * (-1.0 / ctx.eps)).sum(0), None


def init_params(arch, d, f, gen):
    check_arch(arch)
    w_dec = (torch.rand(f, d, generator=gen) * 2 - 1) * math.sqrt(6 / f)
    w_dec /= w_dec.norm(dim=1, keepdim=True)
    p = {"W_dec": w_dec, "b_dec": torch.zeros(d)}
    if arch == "gated":
        p.update(W_gate=w_dec.T.clone(), b_gate=torch.zeros(f), r_mag=torch.zeros(f),
                 b_mag=torch.zeros(f))
    else:
        p.update(W_enc=w_dec.T.clone(), b_enc=torch.zeros(f))
    if arch == "jumprelu":
        p["log_threshold"] = torch.full((f,), math.log(0.001))
    return {k: v.contiguous().requires_grad_(True) for k, v in p.items()}


def calibrate(arch, p, x, l0):
    """Sets thresholds/biases so each latent fires on about l0 / F of the tokens (mean L0 ~ l0)."""
    check_arch(arch)
    if arch in ("topk", "batchtopk"):
        return
    with torch.no_grad():
        w = p["W_gate"] if arch == "gated" else p["W_enc"]
        pre = x @ w  # [B, F]
        q = torch.quantile(pre[: min(len(pre), 4096)], 1 - l0 / pre.shape[1], dim=0)  # [F]
        if arch == "jumprelu":
            p["log_threshold"].copy_(torch.log(q.clamp(min=1e-4)))
        elif arch == "relu":
            p["b_enc"].copy_(-q)
        else:
            p["b_gate"].copy_(-q)
            p["b_mag"].copy_(-q)


def loss_fn(arch, p, x, l0_target, since_fired):
    b, d = x.shape
    lam = 1e-3
    if arch == "jumprelu":
        pi = (x - p["b_dec"]) @ p["W_enc"] + p["b_enc"]
        theta = torch.exp(p["log_threshold"])
        f = JumpReLU.apply(pi, theta, EPS_BANDWIDTH)
        x_hat = f @ p["W_dec"] + p["b_dec"]
        l0 = Step.apply(pi, theta, EPS_BANDWIDTH).sum(1).mean()
        loss = ((x - x_hat) ** 2).sum(1).mean() + lam * l0
    elif arch == "relu":
        f = torch.relu(x @ p["W_enc"] + p["b_enc"])
        x_hat = f @ p["W_dec"] + p["b_dec"]
        sparsity = lam * (f * p["W_dec"].norm(dim=1)).sum(1).mean()
        loss = ((x - x_hat) ** 2).sum(1).mean() + sparsity
    elif arch == "gated":
        xin = x - p["b_dec"]
        gate = xin @ p["W_gate"] + p["b_gate"]
        mag = xin @ (p["W_gate"] * torch.exp(p["r_mag"])) + p["b_mag"]
        f = (gate > 0).float() * torch.relu(mag)
        x_hat = f @ p["W_dec"] + p["b_dec"]
        gate_act = torch.relu(gate)
        x_aux = gate_act @ p["W_dec"].detach() + p["b_dec"].detach()
        loss = (((x - x_hat) ** 2).sum(1).mean() + lam * gate_act.sum(1).mean()
                + ((x - x_aux) ** 2).sum(1).mean())
    elif arch in ("topk", "batchtopk"):
        r = torch.relu((x - p["b_dec"]) @ p["W_enc"] + p["b_enc"])
        k = int(l0_target)
        if arch == "topk":
            vals, idx = r.topk(k, dim=1)
            f = torch.zeros_like(r).scatter(1, idx, vals)
        else:
            flat = r.flatten()
            vals, idx = flat.topk(k * b)
            f = torch.zeros_like(flat).scatter(0, idx, vals).view_as(r)
        x_hat = f @ p["W_dec"] + p["b_dec"]
        loss = ((x - x_hat) ** 2).sum(1).mean()
        dead = since_fired >= 100000
        if dead.any():  # AuxK, as dictionary_learning: only when some latent is dead
            k_aux = min(512, d // 2)
            e = (x - x_hat).detach()
            vals, idx = (r * dead).topk(k_aux, dim=1)
            e_hat = torch.zeros_like(r).scatter(1, idx, vals) @ p["W_dec"]
            spread = ((e - e.mean(0)) ** 2).sum() + 1e-12
            loss = loss + (1 / 32) * ((e - e_hat) ** 2).sum() / spread
    else:
        check_arch(arch)
    return loss, f


def bench(cfg, threads, device="cpu"):
    """Times cfg["steps"] training steps after cfg["warmup"] on `device` ("cpu" or "cuda")."""
    torch.set_num_threads(threads)
    arch, d, fl, b = cfg["arch"], cfg["d_model"], cfg["d_sae"], cfg["batch"]
    gen = torch.Generator().manual_seed(0)
    p = {k: v.detach().to(device).requires_grad_(True) for k, v in init_params(arch, d, fl, gen).items()}
    xs = [(torch.randn(b, d, generator=gen) / math.sqrt(d)).to(device) for _ in range(2)]
    calibrate(arch, p, xs[0], cfg["l0_target"])
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    b1, b2 = BETAS[arch]
    opt = torch.optim.Adam(list(p.values()), lr=LR, betas=(b1, b2), eps=ADAM_EPS)
    since_fired = torch.zeros(fl, device=device)
    unit_norm = arch != "relu"
    times = {"forward": [], "backward": [], "update": [], "step": []}
    l0s = []
    for i in range(cfg["warmup"] + cfg["steps"]):
        x = xs[i % 2]
        sync()
        t0 = time.perf_counter()
        loss, f = loss_fn(arch, p, x, cfg["l0_target"], since_fired)
        sync()
        t1 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        sync()
        t2 = time.perf_counter()
        with torch.no_grad():
            w = p["W_dec"]
            if unit_norm:
                w.grad -= (w.grad * w).sum(1, keepdim=True) * w
            opt.step()
            if unit_norm:
                w /= w.norm(dim=1, keepdim=True).clamp(min=1e-12)
            fired = (f > 0).any(0)
            since_fired = torch.where(fired, torch.zeros_like(since_fired), since_fired + b)
            l0 = (f > 0).float().sum(1).mean().item()
        sync()
        t3 = time.perf_counter()
        if i >= cfg["warmup"]:
            times["forward"].append(t1 - t0)
            times["backward"].append(t2 - t1)
            times["update"].append(t3 - t2)
            times["step"].append(t3 - t0)
            l0s.append(l0)
    med = {k: sorted(v)[len(v) // 2] * 1000 for k, v in times.items()}
    return {
        **{k: cfg[k] for k in ("arch", "d_model", "d_sae", "batch", "l0_target")},
        "backend": "torch" if device == "cpu" else f"torch-{device}",
        "threads": threads,
        "tokens_per_s": b / (med["step"] / 1000),
        "ms_per_step": med["step"],
        "ms_forward": med["forward"],
        "ms_backward": med["backward"],
        "ms_update": med["update"],
        "l0": sum(l0s) / len(l0s),
        "steps": cfg["steps"],
    }


def gemm_gflops(threads):
    torch.set_num_threads(threads)
    a, b = torch.randn(2048, 512), torch.randn(512, 2048)
    a @ b
    t = time.perf_counter()
    for _ in range(5):
        a @ b
    return 2 * 2048 * 512 * 2048 * 5 / (time.perf_counter() - t) / 1e9


def main():
    configs = json.loads(sys.argv[1])
    threads = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else 2
    print(json.dumps({"torch": torch.__version__, "threads": threads,
                      "gemm_gflops": gemm_gflops(threads)}), flush=True)
    for cfg in configs:
        print(json.dumps(bench(cfg, threads)), flush=True)


if __name__ == "__main__":
    main()
