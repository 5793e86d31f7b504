#!/usr/bin/env python3
"""torchdiffeq on exactly the problem of `OdeDsl.Bench spiral` (same machine, same run), for like-for-like ratios.

Problem (tests/OdeDsl.Tests/Data/spiral_problem.json): f(y) = W2·tanh(W1·y³ + b1) + b2 with the seeded weights
`mlp_seed0`, dopri5 at rtol 1e-7, atol 1e-9 (torchdiffeq's defaults), float64.
  forward: B rows y0 = true_y[floor(b·990/B)] solved through all 1000 output times.
  grad:    B windows of 10 points from the same starts, loss mean |pred − true|, one forward and backward pass
           (odeint_adjoint, or odeint for backprop).
Needs python3-torch (Debian) and a torchdiffeq checkout on PYTHONPATH (it is pure Python; not vendored here).
Prints one JSON line per case, like the C# bench: median and fastest of the timed repeats, evaluation counts.
"""
import argparse, json, statistics, time
import torch
import torchdiffeq

p = argparse.ArgumentParser()
p.add_argument("--problem", default="tests/OdeDsl.Tests/Data/spiral_problem.json")
p.add_argument("--batch", type=int, default=1024)
p.add_argument("--mode", choices=["forward", "grad"], default="forward")
p.add_argument("--sensitivity", choices=["adjoint", "backprop"], default="adjoint")
p.add_argument("--repeats", type=int, default=11)
p.add_argument("--threads", type=int, default=2)
a = p.parse_args()
torch.set_num_threads(a.threads)
d = json.load(open(a.problem))
w = d["mlp_seed0"]
dt = torch.float64


class Field(torch.nn.Module):
    def __init__(self):
        super().__init__()
        t = lambda k: torch.nn.Parameter(torch.tensor(w[k], dtype=dt))
        self.W1, self.b1, self.W2, self.b2 = t("W1"), t("b1"), t("W2"), t("b2")
        self.nfe = 0

    def forward(self, t, y):
        self.nfe += 1
        return torch.tanh((y ** 3) @ self.W1.T + self.b1) @ self.W2.T + self.b2


f = Field()
t_all = torch.tensor(d["t"], dtype=dt)
true_y = torch.tensor(d["true_y"], dtype=dt).reshape(len(d["t"]), -1)
starts = [b * 990 // a.batch for b in range(a.batch)]
y0 = true_y[starts]
opts = dict(rtol=1e-7, atol=1e-9, method="dopri5")


def run():
    f.nfe = 0
    if a.mode == "forward":
        with torch.no_grad():
            torchdiffeq.odeint(f, y0, t_all, **opts)
        return f.nfe, 0
    target = torch.stack([true_y[[s + i for s in starts]] for i in range(10)])
    solve = torchdiffeq.odeint_adjoint if a.sensitivity == "adjoint" else torchdiffeq.odeint
    f.zero_grad()
    pred = solve(f, y0, t_all[:10], **opts)
    fwd = f.nfe
    (pred - target).abs().mean().backward()
    return fwd, f.nfe - fwd


counts = run()
times = []
for _ in range(a.repeats):
    t0 = time.perf_counter()
    run()
    times.append(time.perf_counter() - t0)
print(json.dumps({"bench": "spiral-torchdiffeq", "batch": a.batch, "mode": a.mode,
                  "sensitivity": a.sensitivity if a.mode == "grad" else "none", "dtype": "float64",
                  "nfe_forward": counts[0], "nfe_backward": counts[1], "seconds": statistics.median(times),
                  "min_seconds": min(times), "repeats": a.repeats, "threads": a.threads,
                  "torch": torch.__version__, "torchdiffeq": torchdiffeq.__version__}))
