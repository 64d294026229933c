#!/usr/bin/env python3
"""PyTorch (CPU, float32, autograd BPTT) baseline of memspice's MEMprop training.

The same 784-100-10 network and equations as training/network.h: MIF neurons with the MSS
memristors M1/M2 of shared/spec/models.md (phi = 1), alpha input currents, ideal crossbar
W = G+ - G- with layer scales, the semi-implicit membrane update, NLL summed over time, and Adam on
the normalised conductances with clipping to [g_min, g_max]. Two forms:

  per-step    layer 1's crossbar applied every step, I_1[n] = s_1 (input_scale alpha[n] x) W_1, as a
              PyTorch user would write the circuit;
  factorised  D = s_1 input_scale x W_1 once per sample, I_1[n] = alpha[n] D (what memspice does).

Reads the configuration and initial conductances written by
`train_speed_bench --export-init FILE` (benchmarks/train_speed.cc), checks the loss of the first
batch against memspice's, then times training steps (forward + backward + Adam) on Fashion-MNIST
batches and prints one JSON line per form. Needs Debian's python3-torch
(scripts/install-bench-deps.sh); not needed to build or test memspice.

  pytorch_memprop.py --init init.json [--forms per-step,factorised] [--batches 2] [--threads 2]
"""
import argparse
import gzip
import json
import os
import statistics
import sys
import time

import numpy as np
import torch

FASHION = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def alpha_waveform(cfg):
    """Unit-weight alpha waveform alpha[n], n = 0..T-1 (forward Euler, as Network's constructor)."""
    a = i = 0.0
    r = cfg["dt"] / cfg["tau_a"]
    out = []
    for n in range(cfg["steps"]):
        if n % cfg["period"] == 0:
            a += 1.0
        out.append(i)
        a_next = a - r * a
        i += r * (a - i)
        a = a_next
    return torch.tensor(out, dtype=torch.float32)


class MemProp:
    def __init__(self, cfg, dtype=torch.float32):
        self.cfg = cfg
        m = cfg["mss"]
        self.ron, self.roff = m["ron"], m["roff"]
        self.von, self.voff, self.kvt, self.tau = m["von"], m["voff"], m["k"] * m["vt"], m["tau"]
        self.v1, self.v2 = cfg["v1"], cfg["v2"]
        self.h = cfg["dt"] / cfg["c_mem"]
        self.dt = cfg["dt"]
        self.rest = cfg["rest"]
        self.alpha = alpha_waveform(cfg).to(dtype)
        self.dtype = dtype
        if cfg["method"] != "semi-implicit":
            raise SystemExit("pytorch_memprop.py implements the semi-implicit update only")

    def conductance(self, x):
        return x / self.ron + (1 - x) / self.roff

    def rate(self, x, u):
        p_on = torch.sigmoid((u - self.von) / self.kvt)
        p_off = torch.sigmoid((self.voff - u) / self.kvt)
        return ((1 - x) * p_on - x * p_off) / self.tau

    def neuron_step(self, v, x1, x2, drive):
        g1, g2 = self.conductance(x1), self.conductance(x2)
        u1, u2 = v - self.v1, v - self.v2
        i = g1 * u1 + g2 * u2
        v_next = v + self.h * (drive - i) / (1 + self.h * (g1 + g2))
        return v_next, x1 + self.dt * self.rate(x1, u1), x2 + self.dt * self.rate(x2, u2)

    def loss(self, w1, w2, x, y, per_step):
        """Sum over samples and n = 1..T of the NLL of softmax(v_out[n] / v_scale)."""
        c = self.cfg
        s1, s2 = c["layer_scale"]
        b = x.shape[0]
        vr, x1r, x2r = self.rest
        full = lambda n, val: torch.full((b, n), val, dtype=self.dtype)
        h_v, h_x1, h_x2 = full(w1.shape[1], vr), full(w1.shape[1], x1r), full(w1.shape[1], x2r)
        o_v, o_x1, o_x2 = full(w2.shape[1], vr), full(w2.shape[1], x1r), full(w2.shape[1], x2r)
        if not per_step:
            d1 = (s1 * c["input_scale"]) * (x @ w1)
        total = torch.zeros((), dtype=self.dtype)
        inv_vs = 1.0 / c["v_scale"]
        for n in range(c["steps"]):
            a = self.alpha[n]
            if per_step:
                i1 = s1 * ((c["input_scale"] * a * x) @ w1)
            else:
                i1 = a * d1
            i2 = s2 * ((h_v - vr) @ w2)  # layer 1's state n drives layer 2 at step n
            h_v, h_x1, h_x2 = self.neuron_step(h_v, h_x1, h_x2, i1)
            o_v, o_x1, o_x2 = self.neuron_step(o_v, o_x1, o_x2, i2)
            logp = torch.log_softmax(o_v * inv_vs, dim=1)
            total = total - logp.gather(1, y[:, None]).sum()
        return total


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--init", required=True, help="JSON from train_speed_bench --export-init")
    ap.add_argument("--forms", default="per-step,factorised")
    ap.add_argument("--batches", type=int, default=2, help="timed training steps per form")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--no-check", action="store_true", help="skip the loss check against memspice")
    ap.add_argument("--dataset", default=FASHION)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = json.load(open(args.init))
    bs = cfg["batch_size"]
    images = read_idx(os.path.join(args.dataset, "train-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(args.dataset, "train-labels-idx1-ubyte.gz"))
    n_need = bs * max(args.batches, 1)
    xs = torch.tensor(images[:n_need].reshape(n_need, -1), dtype=torch.float32) / 255.0
    ys = torch.tensor(labels[:n_need], dtype=torch.int64)
    g_min, g_max = cfg["g_min"], cfg["g_max"]
    gp = [torch.tensor(l["g_plus"], dtype=torch.float64) for l in cfg["layers"]]
    gm = [torch.tensor(l["g_minus"], dtype=torch.float64) for l in cfg["layers"]]
    model = MemProp(cfg)

    if not args.no_check:
        with torch.no_grad():
            w = [(p - m).float() for p, m in zip(gp, gm)]
            for form in ("factorised", "per-step"):
                loss = model.loss(w[0], w[1], xs[:bs], ys[:bs], form == "per-step").item()
                rel = abs(loss - cfg["loss_sum_double"]) / abs(cfg["loss_sum_double"])
                print(json.dumps({"check": form, "pytorch_loss_sum_float32": loss,
                                  "memspice_loss_sum_float": cfg["loss_sum_float"],
                                  "memspice_loss_sum_double": cfg["loss_sum_double"],
                                  "rel_diff_vs_memspice_double": rel}), flush=True)

    for form in args.forms.split(","):
        per_step = form == "per-step"
        # Adam on g = (G - g_min) / (g_max - g_min) in [0, 1], clipped after each step (memspice's
        # optimiser); gradients of the batch-mean loss.
        g = [((t - g_min) / (g_max - g_min)).float().requires_grad_() for t in gp + gm]
        opt = torch.optim.Adam(g, lr=args.lr, betas=(0.9, 0.999), eps=1e-8)
        walls, cpus = [], []
        for b in range(args.batches):
            x, y = xs[b * bs:(b + 1) * bs], ys[b * bs:(b + 1) * bs]
            t0, c0 = time.perf_counter(), time.process_time()
            opt.zero_grad()
            cond = [g_min + (g_max - g_min) * t for t in g]
            w1, w2 = cond[0] - cond[2], cond[1] - cond[3]
            loss = model.loss(w1, w2, x, y, per_step) / bs
            loss.backward()
            opt.step()
            with torch.no_grad():
                for t in g:
                    t.clamp_(0.0, 1.0)
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
            print(f"{form} batch {b + 1}: {bs / walls[-1]:.2f} samples/s wall, "
                  f"{bs / cpus[-1]:.2f} samples/CPU-s, loss {loss.item():.6g}", file=sys.stderr,
                  flush=True)
        rates = [bs / t for t in walls]
        cpu_rates = [bs / t for t in cpus]
        print(json.dumps({"form": form, "threads": args.threads, "batch_size": bs,
                          "steps": cfg["steps"], "batches": args.batches,
                          "samples_per_s_wall": rates, "samples_per_cpu_s": cpu_rates,
                          "median_samples_per_s_wall": statistics.median(rates),
                          "median_samples_per_cpu_s": statistics.median(cpu_rates),
                          "epoch_seconds_60000_wall": 60000 / statistics.median(rates),
                          "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
